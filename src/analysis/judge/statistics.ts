// Pure statistics for the canary judge: ranks, the Mann–Whitney U (Wilcoxon
// rank-sum) test with R's wilcox.test semantics, the Hodges–Lehmann shift and its
// distribution-free confidence interval, descriptive statistics, IQR outlier
// removal and the standard normal distribution.
//
// Nothing here reads a clock, draws a random number or does I/O. Functions that
// take samples never modify them.
//
// Conventions follow R (`stats::wilcox.test`, `stats::quantile` type 7,
// `stats::qnorm`) so results can be checked against R. Where R is only
// approximate (its asymptotic confidence interval and estimate are found with
// `uniroot(tol = 1e-4)` on a step function) this module returns the exact point
// that R's root finder converges to; the two agree to within R's tolerance.

/** Arithmetic mean; NaN for an empty sample. */
export function mean(values: readonly number[]): number {
  if (values.length === 0) return Number.NaN;
  let sum = 0;
  for (const v of values) sum += v;
  return sum / values.length;
}

/** A sorted copy (ascending, numeric). */
export function sortAscending(values: readonly number[]): number[] {
  return [...values].sort((a, b) => a - b);
}

/**
 * Sample quantile, R's default definition (type 7, also numpy's "linear"):
 * with the sample sorted as x[0..n-1], h = (n − 1)·p and the result is
 * x[⌊h⌋] + (h − ⌊h⌋)·(x[⌊h⌋+1] − x[⌊h⌋]). NaN for an empty sample.
 */
export function quantile(values: readonly number[], p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`quantile: p must be in [0, 1], got ${p}`);
  if (values.length === 0) return Number.NaN;
  return quantileSorted(sortAscending(values), p);
}

function quantileSorted(sorted: ArrayLike<number>, p: number): number {
  const h = (sorted.length - 1) * p;
  const lo = Math.floor(h);
  const hi = Math.min(lo + 1, sorted.length - 1);
  const a = at(sorted, lo);
  const b = at(sorted, hi);
  return a + (h - lo) * (b - a);
}

/** Median (type-7 quantile at 0.5: the mean of the two middle values for even n); NaN for empty. */
export function median(values: readonly number[]): number {
  return quantile(values, 0.5);
}

/** Median of an already-sorted array. */
function medianSorted(sorted: ArrayLike<number>): number {
  return quantileSorted(sorted, 0.5);
}

export interface OutlierOptions {
  /** Tukey's fence multiplier k: fences at Q1 − k·IQR and Q3 + k·IQR. Default 1.5 (3 = "far out"). */
  factor?: number;
  /**
   * Kayenta's "reduce sensitivity": widen the fences to at least the 1st and 99th
   * percentiles, so a sample whose IQR is 0 (say an error count that is mostly
   * zero) does not lose every non-zero value. Default false.
   */
  reduceSensitivity?: boolean;
}

/** The fences [lower, upper] outside which a value is an outlier. Quartiles are type-7 quantiles. */
export function outlierFences(values: readonly number[], options: OutlierOptions = {}): { lower: number; upper: number } {
  const factor = options.factor ?? 1.5;
  if (!(factor > 0) || !Number.isFinite(factor)) throw new RangeError(`outlier factor must be a positive number, got ${factor}`);
  if (values.length === 0) return { lower: Number.NaN, upper: Number.NaN };
  const sorted = sortAscending(values);
  const q1 = quantileSorted(sorted, 0.25);
  const q3 = quantileSorted(sorted, 0.75);
  const iqr = q3 - q1;
  let lower = q1 - factor * iqr;
  let upper = q3 + factor * iqr;
  if (options.reduceSensitivity === true) {
    lower = Math.min(lower, quantileSorted(sorted, 0.01));
    upper = Math.max(upper, quantileSorted(sorted, 0.99));
  }
  return { lower, upper };
}

/** The values inside the fences (inclusive), in their original order. */
export function removeOutliers(values: readonly number[], options: OutlierOptions = {}): number[] {
  if (values.length === 0) return [];
  const { lower, upper } = outlierFences(values, options);
  return values.filter((v) => v >= lower && v <= upper);
}

/**
 * Ranks 1..n in input order; tied values share the average of the ranks they
 * span (R's `rank(ties.method = "average")`). Values must not be NaN.
 */
export function rank(values: readonly number[]): number[] {
  const order = values.map((_, i) => i).sort((a, b) => at(values, a) - at(values, b));
  const ranks = new Array<number>(values.length).fill(0);
  let i = 0;
  while (i < order.length) {
    let j = i;
    const v = at(values, at(order, i));
    while (j + 1 < order.length && at(values, at(order, j + 1)) === v) j++;
    const avg = (i + j + 2) / 2; // ranks i+1 .. j+1
    for (let k = i; k <= j; k++) ranks[at(order, k)] = avg;
    i = j + 1;
  }
  return ranks;
}

/** Σ (t³ − t) over the groups of tied values (t = group size). */
export function tieSum(values: readonly number[]): number {
  const sorted = sortAscending(values);
  let sum = 0;
  let i = 0;
  while (i < sorted.length) {
    let j = i;
    while (j + 1 < sorted.length && at(sorted, j + 1) === at(sorted, i)) j++;
    const t = j - i + 1;
    sum += t * t * t - t;
    i = j + 1;
  }
  return sum;
}

/**
 * The Mann–Whitney statistic of x against y, R's W: the number of pairs with
 * x_i > y_j plus half the number of pairs with x_i = y_j. Equals the rank sum of
 * x in the pooled sample minus m(m+1)/2.
 */
export function mannWhitneyU(x: readonly number[], y: readonly number[]): number {
  const r = rank([...x, ...y]);
  let sum = 0;
  for (let i = 0; i < x.length; i++) sum += at(r, i);
  return sum - (x.length * (x.length + 1)) / 2;
}

/** All m·n differences x_i − y_j, sorted ascending. */
export function pairwiseDifferences(x: readonly number[], y: readonly number[]): number[] {
  return Array.from(sortedDifferences(x, y));
}

function sortedDifferences(x: readonly number[], y: readonly number[]): Float64Array {
  const d = new Float64Array(x.length * y.length);
  let k = 0;
  for (const a of x) for (const b of y) d[k++] = a - b;
  return d.sort(); // typed arrays sort numerically
}

/** Hodges–Lehmann two-sample shift: the median of the differences x_i − y_j. NaN if either is empty. */
export function hodgesLehmann(x: readonly number[], y: readonly number[]): number {
  if (x.length === 0 || y.length === 0) return Number.NaN;
  return medianSorted(sortedDifferences(x, y));
}

/** Effect size "meanRatio" (Kayenta): mean(canary) / mean(baseline). */
export function meanRatio(baseline: readonly number[], canary: readonly number[]): number {
  return mean(canary) / mean(baseline);
}

/** Effect size as the ratio of medians: median(canary) / median(baseline). */
export function medianRatio(baseline: readonly number[], canary: readonly number[]): number {
  return median(canary) / median(baseline);
}

// ---------------------------------------------------------------------------
// Standard normal distribution

const SQRT_PI = Math.sqrt(Math.PI);
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/**
 * e^(−x²) with x² split as xr² + (x − xr)(x + xr), xr = x rounded to 1/16, so the
 * rounding error of x² is not amplified by the exponential in the far tail.
 */
function expMinusSquare(x: number): number {
  const xr = Math.round(x * 16) / 16;
  return Math.exp(-xr * xr) * Math.exp(-(x - xr) * (x + xr));
}

/**
 * Complementary error function, accurate to about 1e-15 relative (far below the
 * 1e-9 this module promises). For 0 ≤ x < 1 it is 1 − erf(x) with erf from the
 * all-positive series erf(x) = 2/√π·e^(−x²)·Σ 2ⁿx^(2n+1)/(1·3·…·(2n+1)) (there
 * erfc > 0.15, so the subtraction loses nothing); for x ≥ 1 the continued
 * fraction erfc(x) = e^(−x²)/√π · 1/(x + ½/(x + 1/(x + 3/2/(x + …)))) by the
 * modified Lentz method (under 200 terms at x = 1, fewer beyond); negative x by
 * erfc(−x) = 2 − erfc(x).
 */
export function erfc(x: number): number {
  if (Number.isNaN(x)) return Number.NaN;
  if (x === 0) return 1;
  if (x < 0) return 2 - erfc(-x);
  if (x < 1) {
    const x2 = x * x;
    let term = x;
    let sum = x;
    for (let n = 0; n < 100; n++) {
      term *= (2 * x2) / (2 * n + 3);
      sum += term;
      if (term < sum * 1e-17) break;
    }
    return 1 - (2 / SQRT_PI) * expMinusSquare(x) * sum;
  }
  if (x > 27) return 0; // e^(−x²) underflows
  const tiny = 1e-300;
  let f = x;
  let c = x;
  let d = 0;
  for (let k = 1; k < 1000; k++) {
    const a = k / 2;
    d = x + a * d;
    d = Math.abs(d) < tiny ? 1 / tiny : 1 / d;
    c = x + a / c;
    if (Math.abs(c) < tiny) c = tiny;
    const delta = c * d;
    f *= delta;
    if (Math.abs(delta - 1) < 1e-16) break;
  }
  return expMinusSquare(x) / (SQRT_PI * f);
}

/** Standard normal density φ(x). */
export function normalPdf(x: number): number {
  return INV_SQRT_2PI * Math.exp(-0.5 * x * x);
}

/** Standard normal CDF Φ(x) = P(Z ≤ x); accurate in the lower tail to ~1e-15 relative. */
export function normalCdf(x: number): number {
  return 0.5 * erfc(-x / Math.SQRT2);
}

/** Upper tail 1 − Φ(x) = P(Z > x), computed without cancellation. */
export function normalSf(x: number): number {
  return 0.5 * erfc(x / Math.SQRT2);
}

/**
 * Standard normal quantile Φ⁻¹(p) (R's qnorm). Starts from Abramowitz & Stegun
 * 26.2.23 (error < 4.5e-4) and refines with Halley's method on the tail
 * probability until the step is below 1e-15 relative, so the result is exact to
 * about the last bit. −Infinity at 0, +Infinity at 1, NaN outside [0, 1].
 */
export function normalQuantile(p: number): number {
  if (Number.isNaN(p) || p < 0 || p > 1) return Number.NaN;
  if (p === 0) return Number.NEGATIVE_INFINITY;
  if (p === 1) return Number.POSITIVE_INFINITY;
  if (p === 0.5) return 0;
  // Work with the smaller tail q (1 − p is exact for p ≥ 0.5) and find z > 0 with Q(z) = q.
  const q = p < 0.5 ? p : 1 - p;
  const t = Math.sqrt(-2 * Math.log(q));
  let z = t - (2.515517 + 0.802853 * t + 0.010328 * t * t) / (1 + 1.432788 * t + 0.189269 * t * t + 0.001308 * t * t * t);
  for (let i = 0; i < 20; i++) {
    const density = normalPdf(z);
    if (density === 0) break;
    const u = (normalSf(z) - q) / density;
    const step = u / (1 - (z * u) / 2);
    z += step;
    if (Math.abs(step) <= 1e-15 * Math.abs(z)) break;
  }
  return p < 0.5 ? -z : z;
}

// ---------------------------------------------------------------------------
// Exact null distribution of the Mann–Whitney statistic (no ties)

/**
 * The exact null distribution of U for sample sizes m and n without ties:
 * element u is P(U = u), u = 0..m·n. Built by the recurrence on the largest
 * pooled observation (it is an x, adding n to U, or a y, adding nothing):
 * c(u; i, j) = c(u − j; i − 1, j) + c(u; i, j − 1). All terms are positive, so
 * the counts (up to C(98, 49) ≈ 2.5e28 for m = n = 49) keep full relative precision.
 */
export function mannWhitneyDistribution(m: number, n: number): Float64Array {
  if (!Number.isInteger(m) || !Number.isInteger(n) || m < 0 || n < 0) {
    throw new RangeError(`sample sizes must be non-negative integers, got ${m} and ${n}`);
  }
  // prev[j] = counts for sizes (i − 1, j)
  let prev: Float64Array[] = Array.from({ length: n + 1 }, () => Float64Array.of(1));
  for (let i = 1; i <= m; i++) {
    const cur: Float64Array[] = [Float64Array.of(1)];
    for (let j = 1; j <= n; j++) {
      const fromY = at(cur, j - 1); // sizes (i, j − 1), length i(j − 1) + 1
      const fromX = at(prev, j); // sizes (i − 1, j), length (i − 1)j + 1
      const out = new Float64Array(i * j + 1);
      for (let u = 0; u < fromY.length; u++) out[u] = at(fromY, u);
      for (let u = 0; u < fromX.length; u++) out[u + j] = at(out, u + j) + at(fromX, u);
      cur.push(out);
    }
    prev = cur;
  }
  const counts = at(prev, n);
  let total = 0;
  for (const c of counts) total += c;
  return counts.map((c) => c / total);
}

/** P(U ≤ q) under the exact null (R's pwilcox(q, m, n)). */
export function mannWhitneyCdf(q: number, m: number, n: number): number {
  return cdfFrom(mannWhitneyDistribution(m, n), q);
}

function cdfFrom(dist: Float64Array, q: number): number {
  const top = Math.min(Math.floor(q), dist.length - 1);
  let p = 0;
  for (let u = 0; u <= top; u++) p += at(dist, u);
  return Math.min(p, 1);
}

function upperTailFrom(dist: Float64Array, w: number): number {
  let p = 0;
  for (let u = Math.max(0, Math.ceil(w)); u < dist.length; u++) p += at(dist, u);
  return Math.min(p, 1);
}

/** R's qwilcox for p ≤ 0.5: the smallest q with P(U ≤ q) ≥ p (with R's 10·ε fuzz). */
function lowerQuantileFrom(dist: Float64Array, p: number): number {
  const target = p - 10 * Number.EPSILON;
  let cum = 0;
  for (let q = 0; q < dist.length; q++) {
    cum += at(dist, q);
    if (cum >= target) return q;
  }
  return dist.length - 1;
}

// ---------------------------------------------------------------------------
// The test

/** Largest m·n for which the exact distribution is computed. */
const MAX_EXACT_CELLS = 10_000;

export interface MannWhitneyOptions {
  /** Confidence level of the interval for the shift. Default 0.95 (R's default). */
  confLevel?: number;
  /** Continuity correction in the normal approximation (p-value and interval). Default true (R). */
  correct?: boolean;
  /**
   * Use the exact distribution. Default (undefined): as R, exact when both samples
   * have fewer than 50 values. Either way the exact distribution is used only when
   * the pooled sample has no ties (R falls back to the normal approximation), and
   * `exact: true` only up to m·n ≤ 10 000 (the computation grows as m²n²; R has
   * no such cap): beyond that the normal approximation is as good as exact.
   */
  exact?: boolean;
}

export interface MannWhitneyResult {
  /** R's W for x: #{x_i > y_j} + ½·#{x_i = y_j}. */
  statistic: number;
  /** Two-sided p-value for "no location shift". */
  pValue: number;
  method: 'exact' | 'asymptotic';
  /** Hodges–Lehmann shift x − y: the median of the pairwise differences. */
  estimate: number;
  /** Confidence interval for the shift x − y. */
  lower: number;
  upper: number;
  /** The interval's confidence: the requested level, or for the exact method 1 − the achieved α. */
  confLevel: number;
}

/**
 * Two-sample, two-sided Mann–Whitney U (Wilcoxon rank-sum) test of x against y
 * with a confidence interval and estimate for the shift x − y, reproducing R's
 * `wilcox.test(x, y, conf.int = TRUE, conf.level, exact, correct)`:
 *
 * - exact (no ties, both n < 50 unless `exact` says otherwise): p = min(1, 2·P(U ≤ W))
 *   when W ≤ mn/2, else min(1, 2·P(U ≥ W)); the interval is [D(k), D(mn + 1 − k)]
 *   over the sorted differences D with k = qwilcox(α/2, m, n) (at least 1); the
 *   estimate is median(D).
 * - asymptotic: z = (W − mn/2 − c·sign(W − mn/2)·½)/σ with
 *   σ² = mn/12·((N + 1) − Σ(t³ − t)/(N(N − 1))), c = 1 with continuity correction;
 *   p = 2·P(Z > |z|). The interval bounds are where the same statistic computed
 *   for x − d crosses ±z_{1−α/2}, i.e. pairwise differences (R finds them with
 *   uniroot to 1e-4; here they are exact). The estimate is the Hodges–Lehmann
 *   median, which lies in the zero set R's uniroot searches.
 *
 * When every pairwise difference is the same (both samples constant), R stops with
 * "cannot compute confidence interval when all observations are tied"; here the
 * interval and estimate are that one difference.
 *
 * A p-value that R reports as NaN (all pooled values equal) is reported as 1.
 */
export function mannWhitneyTest(x: readonly number[], y: readonly number[], options: MannWhitneyOptions = {}): MannWhitneyResult {
  const confLevel = options.confLevel ?? 0.95;
  const correct = options.correct ?? true;
  if (!(confLevel > 0 && confLevel < 1)) throw new RangeError(`confLevel must be in (0, 1), got ${confLevel}`);
  const m = x.length;
  const n = y.length;
  if (m === 0 || n === 0) throw new RangeError('mannWhitneyTest needs at least one value in each sample');
  for (const v of [...x, ...y]) {
    if (!Number.isFinite(v)) throw new RangeError(`mannWhitneyTest needs finite values, got ${v}`);
  }
  const alpha = 1 - confLevel;
  const pooled = [...x, ...y];
  const statistic = mannWhitneyU(x, y);
  const pooledTies = tieSum(pooled);
  const wantExact = (options.exact ?? (m < 50 && n < 50)) && m * n <= MAX_EXACT_CELLS;
  const diffs = sortedDifferences(x, y);
  const estimate = medianSorted(diffs);
  const mn = m * n;

  if (wantExact && pooledTies === 0) {
    const dist = mannWhitneyDistribution(m, n);
    const tail = statistic > mn / 2 ? upperTailFrom(dist, statistic) : cdfFrom(dist, statistic);
    const pValue = Math.min(1, 2 * tail);
    let qu = lowerQuantileFrom(dist, alpha / 2);
    if (qu === 0) qu = 1;
    const achievedAlpha = 2 * cdfFrom(dist, qu - 1);
    return {
      statistic,
      pValue,
      method: 'exact',
      estimate,
      lower: at(diffs, qu - 1),
      upper: at(diffs, mn - qu),
      confLevel: 1 - achievedAlpha,
    };
  }

  const N = m + n;
  const sigmaAt = (ties: number): number => Math.sqrt((mn / 12) * (N + 1 - ties / (N * (N - 1))));
  const z0 = statistic - mn / 2;
  const sigma = sigmaAt(pooledTies);
  let pValue = 1;
  if (sigma > 0) {
    const zStat = (z0 - (correct ? Math.sign(z0) * 0.5 : 0)) / sigma;
    pValue = Math.min(1, 2 * normalSf(Math.abs(zStat)));
  }

  const first = at(diffs, 0);
  const last = at(diffs, mn - 1);
  if (first === last) {
    return { statistic, pValue, method: 'asymptotic', estimate: first, lower: first, upper: first, confLevel };
  }

  // R's wdiff(d, zq): the standardized statistic of (x − d) against y, minus zq.
  const wdiff = (d: number, zq: number): number => {
    const shifted = x.map((v) => v - d);
    const dz = mannWhitneyU(shifted, y) - mn / 2;
    const s = sigmaAt(tieSum([...shifted, ...y]));
    return (dz - (correct ? Math.sign(dz) * 0.5 : 0)) / s - zq;
  };
  // Between consecutive distinct differences no x − d ties a y, so the statistic
  // is #{D > d} − mn/2 and σ only counts ties within x and within y: σ0. There
  // the function is non-increasing in d; its sign change is at a difference.
  const sigma0 = sigmaAt(tieSum(x) + tieSum(y));
  const root = (zq: number): number => {
    if (wdiff(first, zq) <= 0) return first;
    if (wdiff(last, zq) >= 0) return last;
    let i = 0;
    while (i < mn) {
      const v = at(diffs, i);
      let j = i;
      while (j + 1 < mn && at(diffs, j + 1) === v) j++;
      if (j === mn - 1) return v;
      const dz = mn - (j + 1) - mn / 2; // #{D > d} − mn/2 just above v
      const g = (dz - (correct ? Math.sign(dz) * 0.5 : 0)) / sigma0 - zq;
      if (g <= 0) return v;
      i = j + 1;
    }
    return last;
  };
  const zq = normalQuantile(1 - alpha / 2);
  return { statistic, pValue, method: 'asymptotic', estimate, lower: root(zq), upper: root(-zq), confLevel };
}

/** Indexed read for arrays whose bounds the caller has already established. */
function at<T>(array: ArrayLike<T>, index: number): T {
  return array[index] as T;
}
