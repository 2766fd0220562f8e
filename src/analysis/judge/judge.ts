// Weir's `judge`: classify every metric (classifier.ts) and turn the results
// into a score and a verdict, after Kayenta's NetflixACAJudge.
//
// Rules:
//  - score = 100 · Σ weight(Pass) / Σ weight, rounded to two decimals (Kayenta
//    rounds the same way). High, Low and NoData all count as not Pass (Weir:
//    Kayenta leaves NoData out of the ratio; principle 7 says missing data is
//    never a pass). Weight defaults to 1; a weight of 0 leaves a metric out of
//    the score but it can still fail the canary as a critical metric.
//  - verdict: 'pass' when score ≥ pass, 'marginal' when score ≥ marginal, else
//    'fail' — the boundaries are inclusive — except that the verdict is 'fail'
//    whatever the score when
//      · a critical metric's result is a critical failure (High/Low beyond its
//        critical effect size, or NoData), or
//      · 50% or more of the metrics (by count) are NoData (Kayenta's rule), or
//      · there is nothing to score (no metrics, or every weight 0).
//    The score is still reported in those cases (Kayenta reports 0 instead).

import { classifyMetric } from './classifier.ts';
import type { MetricClassification, MetricConfig } from './classifier.ts';

export interface JudgeMetric {
  name: string;
  baseline: readonly number[];
  canary: readonly number[];
  /** Default 1; must be finite and ≥ 0. */
  weight?: number;
  /** A critical metric fails the whole canary on High/Low/NoData. Overrides `config.critical`. */
  critical?: boolean;
  config: MetricConfig;
}

export interface ScoreThresholds {
  /** Score (0..100) at or above which the canary passes. */
  pass: number;
  /** Score (0..100, ≤ pass) at or above which the canary is marginal. */
  marginal: number;
}

export type Verdict = 'pass' | 'marginal' | 'fail';

export interface MetricResult extends MetricClassification {
  name: string;
  weight: number;
  /** Whether the metric was declared critical (`critical` on the result says whether it failed critically). */
  criticalMetric: boolean;
}

export interface JudgeResult {
  /** 0..100, two decimals. */
  score: number;
  verdict: Verdict;
  metrics: MetricResult[];
  /** Names of the critical metrics whose results fail the canary. */
  criticalFailures: string[];
  reason: string;
}

/** NoData in this percentage of the metrics or more fails the canary (Kayenta's NODATA_THRESHOLD). */
export const NODATA_FAIL_PERCENT = 50;

function checkThresholds(thresholds: ScoreThresholds): void {
  const { pass, marginal } = thresholds;
  const inRange = (v: number): boolean => v >= 0 && v <= 100;
  if (!inRange(pass) || !inRange(marginal)) throw new RangeError(`score thresholds must be in [0, 100], got pass ${pass}, marginal ${marginal}`);
  if (marginal > pass) throw new RangeError(`the marginal threshold (${marginal}) must not exceed the pass threshold (${pass})`);
}

/** Round half up to two decimals, ignoring binary noise below 1e-12 relative (66.666… → 66.67, 1.005 → 1.01). */
function round2(value: number): number {
  return Math.round(Number((value * 100).toPrecision(12))) / 100;
}

/** Judge a canary: classify each metric, score, and decide. See the rules at the top of this file. */
export function judge(metrics: readonly JudgeMetric[], thresholds: ScoreThresholds): JudgeResult {
  checkThresholds(thresholds);
  const results: MetricResult[] = metrics.map((metric) => {
    const weight = metric.weight ?? 1;
    if (!(weight >= 0 && Number.isFinite(weight))) throw new RangeError(`metric ${metric.name}: weight must be a finite number ≥ 0, got ${weight}`);
    const criticalMetric = metric.critical ?? metric.config.critical ?? false;
    const classification = classifyMetric(metric.baseline, metric.canary, { ...metric.config, critical: criticalMetric });
    return { name: metric.name, weight, criticalMetric, ...classification };
  });

  let totalWeight = 0;
  let passWeight = 0;
  for (const r of results) {
    totalWeight += r.weight;
    if (r.classification === 'Pass') passWeight += r.weight;
  }
  const score = totalWeight > 0 ? round2((100 * passWeight) / totalWeight) : 0;
  const passed = results.filter((r) => r.classification === 'Pass').length;
  const tally = `${passed} of ${results.length} metrics pass, weighted score ${score}`;

  const criticalFailures = results.filter((r) => r.critical).map((r) => r.name);
  const noData = results.filter((r) => r.classification === 'NoData');

  const fail = (reason: string): JudgeResult => ({ score, verdict: 'fail', metrics: results, criticalFailures, reason });
  if (totalWeight === 0) {
    return fail(results.length === 0 ? 'no metrics to judge' : 'every metric has weight 0: nothing to score');
  }
  if (criticalFailures.length > 0) {
    const which = results.filter((r) => r.critical).map((r) => `${r.name} (${r.classification})`);
    return fail(`critical metric${which.length > 1 ? 's' : ''} failed: ${which.join(', ')}; ${tally}`);
  }
  if ((noData.length / results.length) * 100 >= NODATA_FAIL_PERCENT) {
    return fail(`${noData.length} of ${results.length} metrics have no data (≥ ${NODATA_FAIL_PERCENT}%): ${noData.map((r) => r.name).join(', ')}; ${tally}`);
  }
  const notPassing = results.filter((r) => r.classification !== 'Pass').map((r) => `${r.name} (${r.classification})`);
  const detail = notPassing.length > 0 ? `; not passing: ${notPassing.join(', ')}` : '';
  if (score >= thresholds.pass) {
    return { score, verdict: 'pass', metrics: results, criticalFailures, reason: `${tally} ≥ pass ${thresholds.pass}${detail}` };
  }
  if (score >= thresholds.marginal) {
    return { score, verdict: 'marginal', metrics: results, criticalFailures, reason: `${tally} < pass ${thresholds.pass}, ≥ marginal ${thresholds.marginal}${detail}` };
  }
  return fail(`${tally} < marginal ${thresholds.marginal}${detail}`);
}
