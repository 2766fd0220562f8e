// Per-metric classification for Weir's `judge`: is the canary's series higher,
// lower or no different from the baseline's? Follows the published behaviour of
// Kayenta's NetflixACAJudge-v1.0 metric classifier (Mann–Whitney U with a
// confidence interval on the shift, a tolerance band, an effect-size check and
// critical thresholds), with Weir's rule that missing data is never a Pass.
//
// Rules (all defaults are Kayenta's unless marked Weir):
//
//  1. Cleaning. Non-finite values (NaN, ±Infinity — Weir treats infinities as
//     missing too) are removed (`nanStrategy: 'remove'`, default) or replaced by 0
//     (`'replace'`). If either side has no finite value at all, the metric is
//     NoData whatever the strategy (Weir: Kayenta's `replace` would compare
//     zeros, or even Pass an empty series; principle 7 forbids passing on
//     missing data). With `outliers: 'remove'` values outside Tukey's fences
//     Q1 − k·IQR, Q3 + k·IQR (k = `outlierFactor`, default 3) are dropped, the
//     fences widened to at least the 1st/99th percentiles (Kayenta's "reduced
//     sensitivity"). Default `outliers: 'keep'`.
//  2. Identical samples (same multiset), or every value the same → Pass.
//  3. Test. Mann–Whitney U of canary against baseline at `confidence` (default
//     0.98), with the Hodges–Lehmann shift estimate (canary − baseline) and its
//     confidence interval [lower, upper] (R's wilcox.test; exact for n < 50 per
//     side without ties, otherwise the normal approximation with tie and
//     continuity corrections). α = 1 − confidence.
//  4. A shift counts as an increase when p < α (Weir: the explicit p-value gate
//     only matters for tiny samples, where R's exact interval cannot reach the
//     requested confidence) and lower > tolerance·|estimate|; a decrease when
//     p < α and upper < −tolerance·|estimate| (tolerance default 0.25, Kayenta's
//     fixed value: the interval must clear a quarter of the estimated shift).
//  5. Effect size: ratio = mean(canary)/mean(baseline) (Kayenta's "meanRatio").
//     High needs ratio ≥ allowedIncrease, Low needs ratio ≤ allowedDecrease
//     (both default 1, i.e. no allowance). When the ratio is not meaningful —
//     baseline mean ≤ 0 or canary mean < 0 (Weir: Kayenta only skips it when it
//     is NaN) — the effect-size check is skipped, as Kayenta does for NaN.
//  6. Direction: 'increase' reports only High, 'decrease' only Low, 'either'
//     both. A shift the direction ignores is a Pass.
//  7. Critical: when the metric is critical, a High with ratio ≥ criticalIncrease,
//     a Low with ratio ≤ criticalDecrease (both default 1, so with the default
//     allowances every High/Low of a critical metric) or a NoData sets
//     `critical: true`, which fails the whole canary in `judge`.

import { mannWhitneyTest, mean, removeOutliers, sortAscending } from './statistics.ts';

export type MetricDirection = 'increase' | 'decrease' | 'either';
export type MetricClassificationLabel = 'Pass' | 'High' | 'Low' | 'NoData';

export interface EffectSizeConfig {
  /** High only when mean(canary)/mean(baseline) ≥ this. Default 1. */
  allowedIncrease?: number;
  /** Low only when mean(canary)/mean(baseline) ≤ this. Default 1. */
  allowedDecrease?: number;
  /** A critical metric's High is a critical failure when the ratio ≥ this. Default 1. */
  criticalIncrease?: number;
  /** A critical metric's Low is a critical failure when the ratio ≤ this. Default 1. */
  criticalDecrease?: number;
}

export interface MetricConfig {
  /** Which shifts are bad: an error rate is 'increase', a success rate 'decrease'. */
  direction: MetricDirection;
  /** Confidence level of the interval on the shift; α = 1 − confidence. Default 0.98 (Kayenta). */
  confidence?: number;
  /** The interval must clear tolerance·|estimate| to count as a shift. Default 0.25 (Kayenta). */
  tolerance?: number;
  effectSize?: EffectSizeConfig;
  /** Default 'keep'. */
  outliers?: 'keep' | 'remove';
  /** Tukey fence multiplier for `outliers: 'remove'`. Default 3 (Kayenta). */
  outlierFactor?: number;
  /** Default 'remove'. */
  nanStrategy?: 'remove' | 'replace';
  /** A critical metric fails the whole canary when it is High/Low beyond the critical thresholds, or NoData. */
  critical?: boolean;
}

export interface MetricClassification {
  classification: MetricClassificationLabel;
  /** True when this result fails the whole canary (critical metric only; see rule 7). */
  critical: boolean;
  reason: string;
  /** Two-sided p-value of the Mann–Whitney test. */
  pValue?: number;
  /** Confidence interval on the shift canary − baseline. */
  lower?: number;
  upper?: number;
  /** Hodges–Lehmann shift canary − baseline. */
  estimate?: number;
  /** mean(canary)/mean(baseline), when meaningful (baseline mean > 0, canary mean ≥ 0). */
  ratio?: number;
  method?: 'exact' | 'asymptotic';
}

export const DEFAULT_CONFIDENCE = 0.98;
export const DEFAULT_TOLERANCE = 0.25;
export const DEFAULT_OUTLIER_FACTOR = 3;
export const DEFAULT_EFFECT_SIZE = 1;

/** Whether an (untyped, e.g. parsed from YAML) value is one of the allowed strings. */
function oneOf(value: unknown, allowed: readonly string[]): boolean {
  return typeof value === 'string' && allowed.includes(value);
}

function show(value: unknown): string {
  return value === undefined ? 'undefined' : JSON.stringify(value);
}

// Configs may come from parsed documents, so they are checked at run time too.
function checkConfig(config: MetricConfig): void {
  const { direction, outliers, nanStrategy } = config as { direction: unknown; outliers?: unknown; nanStrategy?: unknown };
  if (!oneOf(direction, ['increase', 'decrease', 'either'])) throw new RangeError(`direction must be increase, decrease or either, got ${show(direction)}`);
  if (outliers !== undefined && !oneOf(outliers, ['keep', 'remove'])) throw new RangeError(`outliers must be keep or remove, got ${show(outliers)}`);
  if (nanStrategy !== undefined && !oneOf(nanStrategy, ['remove', 'replace'])) {
    throw new RangeError(`nanStrategy must be remove or replace, got ${show(nanStrategy)}`);
  }
  const c = config.confidence;
  if (c !== undefined && !(c > 0 && c < 1)) throw new RangeError(`confidence must be in (0, 1), got ${c}`);
  const t = config.tolerance;
  if (t !== undefined && !(t >= 0 && Number.isFinite(t))) throw new RangeError(`tolerance must be a finite number ≥ 0, got ${t}`);
  const k = config.outlierFactor;
  if (k !== undefined && !(k > 0 && Number.isFinite(k))) throw new RangeError(`outlierFactor must be a finite number > 0, got ${k}`);
  for (const [key, value] of Object.entries(config.effectSize ?? {}) as [string, unknown][]) {
    if (value !== undefined && !(typeof value === 'number' && value >= 0 && Number.isFinite(value))) {
      throw new RangeError(`effectSize.${key} must be a finite number ≥ 0, got ${show(value)}`);
    }
  }
}

/** Significant digits for reasons. */
function fmt(value: number): string {
  return Number.isFinite(value) ? String(Number(value.toPrecision(4))) : String(value);
}

function sameMultiset(a: readonly number[], b: readonly number[]): boolean {
  if (a.length !== b.length) return false;
  const sa = sortAscending(a);
  const sb = sortAscending(b);
  return sa.every((v, i) => v === sb[i]);
}

/**
 * Classify one metric: compare the canary's series with the baseline's over the
 * analysis window. See the rules at the top of this file.
 */
export function classifyMetric(baseline: readonly number[], canary: readonly number[], config: MetricConfig): MetricClassification {
  checkConfig(config);
  const isCritical = config.critical === true;
  const confidence = config.confidence ?? DEFAULT_CONFIDENCE;
  const tolerance = config.tolerance ?? DEFAULT_TOLERANCE;
  const allowedIncrease = config.effectSize?.allowedIncrease ?? DEFAULT_EFFECT_SIZE;
  const allowedDecrease = config.effectSize?.allowedDecrease ?? DEFAULT_EFFECT_SIZE;
  const criticalIncrease = config.effectSize?.criticalIncrease ?? DEFAULT_EFFECT_SIZE;
  const criticalDecrease = config.effectSize?.criticalDecrease ?? DEFAULT_EFFECT_SIZE;

  // 1. Cleaning.
  const missing: string[] = [];
  for (const [label, values] of [['baseline', baseline], ['canary', canary]] as const) {
    if (!values.some((v) => Number.isFinite(v))) {
      missing.push(values.length === 0 ? `${label} is empty` : `${label} has no finite value (${values.length} NaN/infinite)`);
    }
  }
  if (missing.length > 0) {
    return { classification: 'NoData', critical: isCritical, reason: `no data: ${missing.join(', ')}` };
  }
  const clean = (values: readonly number[]): number[] => {
    const cleaned = config.nanStrategy === 'replace' ? values.map((v) => (Number.isFinite(v) ? v : 0)) : values.filter((v) => Number.isFinite(v));
    return config.outliers === 'remove'
      ? removeOutliers(cleaned, { factor: config.outlierFactor ?? DEFAULT_OUTLIER_FACTOR, reduceSensitivity: true })
      : cleaned;
  };
  const b = clean(baseline);
  const c = clean(canary);
  if (b.length === 0 || c.length === 0) {
    // Unreachable (the fences always contain the median), kept so no path passes without data.
    return { classification: 'NoData', critical: isCritical, reason: 'no data left after cleaning' };
  }

  const baselineMean = mean(b);
  const canaryMean = mean(c);
  const ratioUsable = baselineMean > 0 && canaryMean >= 0 && Number.isFinite(baselineMean) && Number.isFinite(canaryMean);
  const ratio = canaryMean / baselineMean;
  const withRatio = ratioUsable ? { ratio } : {};

  // 2. Nothing to compare.
  if (sameMultiset(b, c)) {
    return { classification: 'Pass', critical: false, reason: 'baseline and canary data are identical', ...withRatio };
  }
  const first = b[0];
  if (first !== undefined && b.every((v) => v === first) && c.every((v) => v === first)) {
    return { classification: 'Pass', critical: false, reason: `every value is ${fmt(first)}`, ...withRatio };
  }

  // 3. The test.
  const test = mannWhitneyTest(c, b, { confLevel: confidence });
  const alpha = 1 - confidence;
  const band = tolerance * Math.abs(test.estimate);
  const significant = test.pValue < alpha;
  const increased = significant && test.lower > band;
  const decreased = significant && test.upper < -band;
  const stats = {
    pValue: test.pValue,
    lower: test.lower,
    upper: test.upper,
    estimate: test.estimate,
    method: test.method,
    ...withRatio,
  };
  const pct = `${fmt(confidence * 100)}%`;
  const summary = `shift ${fmt(test.estimate)} (${pct} CI [${fmt(test.lower)}, ${fmt(test.upper)}]), p = ${fmt(test.pValue)}${
    ratioUsable ? `, mean ratio ${fmt(ratio)}` : ', mean ratio not meaningful'
  }`;

  if (!increased && !decreased) {
    const why = !significant
      ? `no significant difference at α = ${fmt(alpha)}`
      : `the interval does not clear ±${fmt(tolerance * 100)}% of the estimated shift`;
    return { classification: 'Pass', critical: false, reason: `${why}: ${summary}`, ...stats };
  }

  // 4–6. Direction and effect size.
  if (increased) {
    if (config.direction === 'decrease') {
      return { classification: 'Pass', critical: false, reason: `canary is higher, but only a decrease counts: ${summary}`, ...stats };
    }
    if (ratioUsable && ratio < allowedIncrease) {
      return { classification: 'Pass', critical: false, reason: `canary is higher, within the allowed increase ${fmt(allowedIncrease)}: ${summary}`, ...stats };
    }
    const critical = isCritical && (!ratioUsable || ratio >= criticalIncrease);
    return { classification: 'High', critical, reason: `canary is higher than baseline${critical ? ' (critical)' : ''}: ${summary}`, ...stats };
  }
  if (config.direction === 'increase') {
    return { classification: 'Pass', critical: false, reason: `canary is lower, but only an increase counts: ${summary}`, ...stats };
  }
  if (ratioUsable && ratio > allowedDecrease) {
    return { classification: 'Pass', critical: false, reason: `canary is lower, within the allowed decrease ${fmt(allowedDecrease)}: ${summary}`, ...stats };
  }
  const critical = isCritical && (!ratioUsable || ratio <= criticalDecrease);
  return { classification: 'Low', critical, reason: `canary is lower than baseline${critical ? ' (critical)' : ''}: ${summary}`, ...stats };
}
