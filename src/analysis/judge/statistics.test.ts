import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  erfc,
  hodgesLehmann,
  mannWhitneyCdf,
  mannWhitneyDistribution,
  mannWhitneyTest,
  mannWhitneyU,
  mean,
  meanRatio,
  median,
  medianRatio,
  normalCdf,
  normalQuantile,
  normalSf,
  outlierFences,
  pairwiseDifferences,
  quantile,
  rank,
  removeOutliers,
  tieSum,
} from './statistics.ts';

// Reference values: each constant says where it comes from. "R:" values are R's
// documented outputs or were derived by hand from R's definitions and
// cross-checked offline with an independent Python re-implementation of
// wilcox.test (scipy.stats.mannwhitneyu for the p-values, scipy.stats.norm for
// the normal distribution, brute-force enumeration for exact distributions).
// Nothing here is produced by the code under test.

function close(actual: number, expected: number, tolerance: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= tolerance, `${what} expected ${expected} ± ${tolerance}, got ${actual}`);
}

function relClose(actual: number, expected: number, rel: number, what = ''): void {
  assert.ok(Math.abs(actual - expected) <= rel * Math.abs(expected), `${what} expected ${expected} (rel ${rel}), got ${actual}`);
}

/** Deterministic pseudo-random numbers in [0, 1) (a 32-bit LCG), for reproducible test data. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** Brute force: U = #{x > y} + ½#{x = y} over all pairs. */
function bruteU(x: readonly number[], y: readonly number[]): number {
  let u = 0;
  for (const a of x) for (const b of y) u += a > b ? 1 : a === b ? 0.5 : 0;
  return u;
}

/** Brute force: every way of choosing which m of the m + n pooled positions are x; counts of U. */
function bruteDistribution(m: number, n: number): number[] {
  const counts = new Array<number>(m * n + 1).fill(0);
  let total = 0;
  const choose = (start: number, picked: number[]): void => {
    if (picked.length === m) {
      // U = Σ over x positions of the number of y's before it.
      const u = picked.reduce((sum, pos, i) => sum + pos - i, 0);
      counts[u] = (counts[u] ?? 0) + 1;
      total++;
      return;
    }
    for (let p = start; p < m + n; p++) choose(p + 1, [...picked, p]);
  };
  choose(0, []);
  return counts.map((c) => c / total);
}

/** Brute-force permutation two-sided p-value of R's exact test (no ties). */
function brutePermutationP(x: readonly number[], y: readonly number[]): number {
  const dist = bruteDistribution(x.length, y.length);
  const w = bruteU(x, y);
  const mn = x.length * y.length;
  let tail = 0;
  dist.forEach((p, u) => {
    if (w > mn / 2 ? u >= w : u <= w) tail += p;
  });
  return Math.min(1, 2 * tail);
}

function bruteMedianOfDifferences(x: readonly number[], y: readonly number[]): number {
  const d: number[] = [];
  for (const a of x) for (const b of y) d.push(a - b);
  d.sort((a, b) => a - b);
  const k = d.length;
  return k % 2 === 1 ? (d[(k - 1) / 2] ?? Number.NaN) : ((d[k / 2 - 1] ?? Number.NaN) + (d[k / 2] ?? Number.NaN)) / 2;
}

// R's ?wilcox.test example (Hollander & Wolfe 1973, p. 69: permeability constants).
// R: wilcox.test(x, y, alternative = "g") prints W = 35, p-value = 0.1272
//    (exactly 382/3003: P(U >= 35) for m = 10, n = 5); two-sided doubles it.
const HW_X = [0.8, 0.83, 1.89, 1.04, 1.45, 1.38, 1.91, 1.64, 0.73, 1.46];
const HW_Y = [1.15, 0.88, 0.9, 0.74, 1.21];

// R's ?wilcox.test formula example: Ozone in May (x) and August (y), airquality with NAs dropped.
// R: wilcox.test(Ozone ~ Month, data = airquality, subset = Month %in% c(5, 8))
//    prints W = 127.5, p-value = 0.0001208 (normal approximation: there are ties).
const OZONE_MAY = [41, 36, 12, 18, 28, 23, 19, 8, 7, 16, 11, 14, 18, 14, 34, 6, 30, 11, 1, 11, 4, 32, 23, 45, 115, 37];
const OZONE_AUG = [39, 9, 16, 78, 35, 66, 122, 89, 110, 44, 28, 65, 22, 59, 23, 31, 44, 21, 9, 45, 168, 73, 76, 118, 84, 85];

describe('descriptive statistics', () => {
  it('mean, median and type-7 quantiles', () => {
    assert.equal(mean([1, 2, 3, 4]), 2.5);
    assert.ok(Number.isNaN(mean([])));
    assert.equal(median([3, 1, 2]), 2);
    assert.equal(median([4, 1, 3, 2]), 2.5);
    assert.ok(Number.isNaN(median([])));
    // R: quantile(1:4, 0.25) == 1.75 (h = 3·0.25 = 0.75 → 1 + 0.75·(2 − 1))
    assert.equal(quantile([4, 3, 2, 1], 0.25), 1.75);
    assert.equal(quantile([4, 3, 2, 1], 0), 1);
    assert.equal(quantile([4, 3, 2, 1], 1), 4);
    assert.equal(quantile([7], 0.9), 7);
    // R: quantile(c(1:9, 100), 0.75) == 7.75 (h = 9·0.75 = 6.75 → 7 + 0.75·(8 − 7))
    assert.equal(quantile([1, 2, 3, 4, 5, 6, 7, 8, 9, 100], 0.75), 7.75);
    assert.throws(() => quantile([1], 1.5), RangeError);
  });

  it('does not modify its input', () => {
    const values = [3, 1, 2];
    median(values);
    rank(values);
    removeOutliers(values);
    assert.deepEqual(values, [3, 1, 2]);
  });

  it('ratios of means and medians (canary / baseline)', () => {
    assert.equal(meanRatio([1, 2, 3], [2, 4, 6]), 2);
    assert.equal(medianRatio([1, 2, 100], [2, 4, 5]), 2);
  });
});

describe('rank', () => {
  it('gives tied values the average of their ranks', () => {
    assert.deepEqual(rank([3, 1, 4, 1, 5]), [3, 1.5, 4, 1.5, 5]);
    assert.deepEqual(rank([2, 2, 2]), [2, 2, 2]);
    assert.deepEqual(rank([10, 20, 20, 20, 5]), [2, 4, 4, 4, 1]);
    assert.deepEqual(rank([]), []);
  });

  it('tieSum is Σ(t³ − t) over tie groups', () => {
    assert.equal(tieSum([1, 1, 2, 2, 2, 3]), 6 + 24);
    assert.equal(tieSum([1, 2, 3]), 0);
  });
});

describe('outlier removal (Tukey fences)', () => {
  // Sorted 1..9, X: Q1 = 3.25 (h = 2.25), Q3 = 7.75 (h = 6.75), IQR = 4.5.
  it('k = 1.5: fences [−3.5, 14.5]', () => {
    const data = [5, 1, 18, 2, 3, 4, 6, 7, 8, 9];
    assert.deepEqual(outlierFences(data), { lower: 3.25 - 1.5 * 4.5, upper: 7.75 + 1.5 * 4.5 });
    assert.deepEqual(removeOutliers(data), [5, 1, 2, 3, 4, 6, 7, 8, 9]);
  });

  it('k = 3: fences [−10.25, 21.25] keep 18 and drop 100', () => {
    assert.deepEqual(removeOutliers([5, 1, 18, 2, 3, 4, 6, 7, 8, 9], { factor: 3 }), [5, 1, 18, 2, 3, 4, 6, 7, 8, 9]);
    assert.deepEqual(removeOutliers([5, 1, 100, 2, 3, 4, 6, 7, 8, 9], { factor: 3 }), [5, 1, 2, 3, 4, 6, 7, 8, 9]);
  });

  it('reduced sensitivity widens zero-IQR fences to the 1st/99th percentiles', () => {
    // 20 zeros, a 1 and a 3: Q1 = Q3 = 0, so plain fences are [0, 0].
    const errors = [...new Array<number>(20).fill(0), 1, 3];
    assert.deepEqual(removeOutliers(errors, { factor: 3 }), new Array<number>(20).fill(0));
    // p99: h = 21·0.99 = 20.79 → 1 + 0.79·(3 − 1) = 2.58, so the 1 stays.
    const fences = outlierFences(errors, { factor: 3, reduceSensitivity: true });
    close(fences.upper, 2.58, 1e-12);
    assert.equal(fences.lower, 0);
    assert.deepEqual(removeOutliers(errors, { factor: 3, reduceSensitivity: true }), [...new Array<number>(20).fill(0), 1]);
  });

  it('rejects a non-positive factor and handles empty input', () => {
    assert.throws(() => removeOutliers([1, 2], { factor: 0 }), RangeError);
    assert.deepEqual(removeOutliers([]), []);
  });
});

describe('standard normal distribution', () => {
  // R pnorm / scipy.stats.norm.cdf, checked against mpmath.ncdf at 40 digits (which gives Φ(−10) =
  // 7.6198530241605260659…e-24 and Φ(−5) = 2.8665157187919391…e-7).
  const cdf: [number, number][] = [
    [0, 0.5],
    [-1, 0.15865525393145707],
    [-3, 0.0013498980316300933],
    [-5, 2.866515718791939e-7],
    [-10, 7.619853024160525e-24],
    [-37.5, 4.605353009581954e-308],
    [0.3, 0.6179114221889526],
    [2.5, 0.9937903346742238],
    [1.959963984540054, 0.975],
  ];
  for (const [x, p] of cdf) {
    // Far out the rounding of x/√2 alone costs ~2x²·1e-16 relative.
    const rel = Math.max(1e-13, x * x * 4e-16);
    it(`Φ(${x}) = ${p}`, () => {
      relClose(normalCdf(x), p, rel);
      relClose(normalSf(-x), p, rel);
    });
  }

  it('erfc at known points (scipy.special.erfc)', () => {
    relClose(erfc(0.5), 0.4795001221869535, 1e-14);
    relClose(erfc(1), 0.15729920705028516, 1e-14);
    relClose(erfc(3), 2.2090496998585445e-5, 1e-14);
    relClose(erfc(-1), 2 - 0.15729920705028516, 1e-15);
    assert.equal(erfc(0), 1);
  });

  // R: qnorm(...)
  const quantiles: [number, number][] = [
    [0.975, 1.959963984540054],
    [0.025, -1.959963984540054],
    [0.99, 2.326347874040841],
    [0.9, 1.2815515655446004],
    [1e-10, -6.361340902404056],
    [1 - 1e-12, 7.034486910047836],
    [0.5, 0],
  ];
  for (const [p, x] of quantiles) {
    it(`Φ⁻¹(${p}) = ${x}`, () => {
      close(normalQuantile(p), x, 1e-12);
    });
  }

  it('quantile inverts the CDF across the range', () => {
    for (let p = 0.0005; p < 1; p += 0.0173) close(normalCdf(normalQuantile(p)), p, 1e-15);
    for (const p of [1e-300, 1e-100, 1e-20]) relClose(normalCdf(normalQuantile(p)), p, 1e-12);
  });

  it('edges', () => {
    assert.equal(normalQuantile(0), Number.NEGATIVE_INFINITY);
    assert.equal(normalQuantile(1), Number.POSITIVE_INFINITY);
    assert.ok(Number.isNaN(normalQuantile(1.5)));
    assert.ok(Number.isNaN(normalQuantile(Number.NaN)));
  });
});

describe('Mann–Whitney U statistic', () => {
  it('matches pair counting', () => {
    const next = lcg(7);
    for (let trial = 0; trial < 20; trial++) {
      const x = Array.from({ length: 3 + trial }, () => Math.round(next() * 10));
      const y = Array.from({ length: 2 + (trial % 5) }, () => Math.round(next() * 10));
      assert.equal(mannWhitneyU(x, y), bruteU(x, y));
    }
  });

  it('Hollander & Wolfe: W = 35', () => {
    assert.equal(mannWhitneyU(HW_X, HW_Y), 35);
  });
});

describe('exact null distribution', () => {
  it('m = n = 2 by hand: U ∈ 0..4 with counts 1, 1, 2, 1, 1 of 6', () => {
    assert.deepEqual(Array.from(mannWhitneyDistribution(2, 2)), [1 / 6, 1 / 6, 2 / 6, 1 / 6, 1 / 6]);
  });

  it('m = n = 5 starts with the partition counts 1, 1, 2, 3, 5, 7, 9 of 252', () => {
    const d = mannWhitneyDistribution(5, 5);
    [1, 1, 2, 3, 5, 7, 9].forEach((c, u) => {
      close(d[u] ?? Number.NaN, c / 252, 1e-15);
    });
  });

  it('matches brute-force enumeration', () => {
    for (const [m, n] of [[1, 6], [3, 4], [4, 3], [6, 2], [5, 5], [7, 6]] as const) {
      const d = mannWhitneyDistribution(m, n);
      const b = bruteDistribution(m, n);
      assert.equal(d.length, b.length);
      b.forEach((p, u) => {
        close(d[u] ?? Number.NaN, p, 1e-15, `m=${m} n=${n} u=${u}`);
      });
    }
  });

  it('pwilcox: P(U ≤ 34) for m = 10, n = 5 is 1 − 382/3003', () => {
    close(mannWhitneyCdf(34, 10, 5), 1 - 382 / 3003, 1e-14);
  });

  it('large samples keep probabilities summing to 1', () => {
    const d = mannWhitneyDistribution(49, 49);
    let sum = 0;
    for (const p of d) sum += p;
    close(sum, 1, 1e-12);
    close(d[0] ?? Number.NaN, 1 / 2.547761225898086e28, 1e-40); // 1 / C(98, 49)
  });
});

describe('Hodges–Lehmann estimate', () => {
  it('by hand: [1, 2, 3] − [0, 1] has differences 0, 1, 1, 2, 2, 3 → 1.5', () => {
    assert.equal(hodgesLehmann([1, 2, 3], [0, 1]), 1.5);
    assert.deepEqual(pairwiseDifferences([1, 2, 3], [0, 1]), [0, 1, 1, 2, 2, 3]);
  });

  it('matches the brute-force median of pairwise differences', () => {
    const next = lcg(42);
    for (let trial = 0; trial < 30; trial++) {
      const x = Array.from({ length: 1 + (trial % 13) }, () => next() * 100);
      const y = Array.from({ length: 1 + (trial % 7) }, () => next() * 100 - 20);
      assert.equal(hodgesLehmann(x, y), bruteMedianOfDifferences(x, y));
    }
  });

  it('is NaN for an empty sample', () => {
    assert.ok(Number.isNaN(hodgesLehmann([], [1])));
  });
});

describe('mannWhitneyTest, exact (no ties, n < 50)', () => {
  it('Hollander & Wolfe (R ?wilcox.test): W = 35, p = 2·382/3003', () => {
    const r = mannWhitneyTest(HW_X, HW_Y);
    assert.equal(r.method, 'exact');
    assert.equal(r.statistic, 35);
    close(r.pValue, 764 / 3003, 1e-15);
    close(r.pValue, brutePermutationP(HW_X, HW_Y), 1e-15);
  });

  it('Hollander & Wolfe confidence intervals: R wilcox.test(x, y, conf.int = TRUE)', () => {
    // Exact interval [D(k), D(mn + 1 − k)], k = qwilcox(α/2, 10, 5), from brute-force enumeration:
    // α = 0.05 → k = 9 (P(U ≤ 8) = 60/3003 < 0.025 ≤ P(U ≤ 9)), achieved confidence 1 − 120/3003.
    // α = 0.02 → k = 7, achieved confidence 1 − 2·P(U ≤ 6) = 0.9806859806859807.
    // R: ... $conf.int == c(-0.15, 0.76) and c(-0.17, 0.90); $estimate == 0.305
    const d = pairwiseDifferences(HW_X, HW_Y);
    const dist = bruteDistribution(10, 5);
    const qwilcox = (p: number): number => {
      let cum = 0;
      for (let q = 0; ; q++) {
        cum += dist[q] ?? 0;
        if (cum >= p) return q;
      }
    };
    assert.equal(qwilcox(0.025), 9);
    assert.equal(qwilcox(0.01), 7);
    const r95 = mannWhitneyTest(HW_X, HW_Y, { confLevel: 0.95 });
    assert.equal(r95.lower, d[8]);
    assert.equal(r95.upper, d[41]);
    close(r95.lower, -0.15, 1e-12);
    close(r95.upper, 0.76, 1e-12);
    close(r95.estimate, 0.305, 1e-12);
    close(r95.confLevel, 1 - 120 / 3003, 1e-14);
    const r98 = mannWhitneyTest(HW_X, HW_Y, { confLevel: 0.98 });
    close(r98.lower, -0.17, 1e-12);
    close(r98.upper, 0.9, 1e-12);
    close(r98.confLevel, 0.9806859806859807, 1e-14);
  });

  it('5 vs 5 by hand', () => {
    // x − y differences, sorted: -0.9 0.3 0.6 1.2 1.8 2.0 2.4 2.7 2.9 3.2 3.9 3.9 4.1 4.1 4.1
    //                            5.0 5.3 5.3 5.4 6.2 6.2 6.8 7.4 7.7 8.9
    // W = 24 (only 5.1 < 6.0), p = 2·P(U ≥ 24) = 2·2/252 = 1/63.
    // qwilcox(0.025, 5, 5) = 3 (P(U ≤ 2) = 4/252 < 0.025 ≤ P(U ≤ 3) = 7/252): CI [D(3), D(23)] = [0.6, 7.4].
    // Estimate: D(13) = 4.1. Achieved confidence 1 − 2·4/252.
    // R: wilcox.test(c(5.1,6.3,7.2,8.4,9.9), c(1,2.2,3.1,4.5,6), conf.int=TRUE): p = 0.01587, CI 0.6 7.4, 4.1
    const x = [5.1, 6.3, 7.2, 8.4, 9.9];
    const y = [1.0, 2.2, 3.1, 4.5, 6.0];
    const r = mannWhitneyTest(x, y);
    assert.equal(r.statistic, 24);
    close(r.pValue, 1 / 63, 1e-15);
    close(r.lower, 0.6, 1e-12);
    close(r.upper, 7.4, 1e-12);
    close(r.estimate, 4.1, 1e-12);
    close(r.confLevel, 1 - 8 / 252, 1e-15);
  });

  it('p-values match brute-force permutation', () => {
    const next = lcg(2024);
    for (let trial = 0; trial < 25; trial++) {
      const m = 1 + (trial % 8);
      const n = 1 + ((trial * 3) % 7);
      const x = Array.from({ length: m }, () => next() + 0.3 * (trial % 3));
      const y = Array.from({ length: n }, () => next());
      const r = mannWhitneyTest(x, y);
      assert.equal(r.method, 'exact');
      close(r.pValue, brutePermutationP(x, y), 1e-13, `trial ${trial}`);
    }
  });

  it('tiny samples: the interval falls back to the extreme differences (R: qu = 0 → 1)', () => {
    // m = n = 2: P(U ≤ 0) = 1/6 ≥ 0.01, so k = 1 and the interval is [min D, max D].
    const r = mannWhitneyTest([10, 11], [1, 2], { confLevel: 0.98 });
    assert.equal(r.lower, 8);
    assert.equal(r.upper, 10);
    close(r.pValue, 2 / 6, 1e-15);
    close(r.confLevel, 1 - 2 / 6, 1e-15);
  });
});

describe('mannWhitneyTest, normal approximation', () => {
  it('airquality Ozone May vs August (R ?wilcox.test): W = 127.5, p = 0.0001208', () => {
    // By hand: m = n = 26, N = 52, Σ(t³ − t) = 90 over the tie groups,
    // σ = √(26·26/12·(53 − 90/(52·51))) = 54.62375766972448,
    // z = (127.5 − 338 + 0.5)/σ = −3.8444810272800702, p = 2Φ(z).
    // scipy.stats.mannwhitneyu(may, aug, method='asymptotic') → 0.00012080783076877434
    const r = mannWhitneyTest(OZONE_MAY, OZONE_AUG);
    assert.equal(r.method, 'asymptotic');
    assert.equal(r.statistic, 127.5);
    relClose(r.pValue, 0.00012080783076877434, 1e-12);
    // R: wilcox.test(..., conf.int = TRUE) → CI −53 −15 (uniroot, to 1e-4), estimate −31.99996 (uniroot
    // to 1e-4 in the flat region around the Hodges–Lehmann median −32).
    assert.equal(r.lower, -53);
    assert.equal(r.upper, -15);
    assert.equal(r.estimate, -32);
    close(r.estimate, -31.99996, 1e-4);
  });

  it('airquality at 98% and without continuity correction', () => {
    // Independent re-implementation of R's wdiff + root search: 98% CI [−55, −12].
    const r98 = mannWhitneyTest(OZONE_MAY, OZONE_AUG, { confLevel: 0.98 });
    assert.equal(r98.lower, -55);
    assert.equal(r98.upper, -12);
    // scipy.stats.mannwhitneyu(may, aug, use_continuity=False, method='asymptotic') → 0.00011637726004353342
    const raw = mannWhitneyTest(OZONE_MAY, OZONE_AUG, { correct: false });
    relClose(raw.pValue, 0.00011637726004353342, 1e-12);
  });

  it('small sample with ties, by hand', () => {
    // x = 2 3 3 5, y = 1 2 2 4. Pooled ranks: 1→1, 2→3 (×3), 3→5.5 (×2), 4→7, 5→8.
    // Rank sum of x = 3 + 5.5 + 5.5 + 8 = 22, W = 22 − 10 = 12, W − mn/2 = 4.
    // Σ(t³ − t) = 24 + 6 = 30, σ² = 16/12·(9 − 30/56) = 11.285714…, σ = 3.3594217189442417.
    // z = (4 − 0.5)/σ = 1.0418463, p = 2(1 − Φ(z)) = 0.2974830944159319 (scipy).
    // R: wilcox.test(c(2,3,3,5), c(1,2,2,4), conf.int = TRUE) → CI −2 4 (to 1e-4), estimate 1.
    const r = mannWhitneyTest([2, 3, 3, 5], [1, 2, 2, 4]);
    assert.equal(r.method, 'asymptotic');
    assert.equal(r.statistic, 12);
    relClose(r.pValue, 0.2974830944159319, 1e-13);
    assert.equal(r.lower, -2);
    assert.equal(r.upper, 4);
    assert.equal(r.estimate, 1);
  });

  it('Hollander & Wolfe with exact = FALSE', () => {
    // scipy.stats.mannwhitneyu(x, y, method='asymptotic') → 0.24462360512698333; interval as the exact one.
    const r = mannWhitneyTest(HW_X, HW_Y, { exact: false });
    assert.equal(r.method, 'asymptotic');
    relClose(r.pValue, 0.24462360512698333, 1e-13);
    close(r.lower, -0.15, 1e-12);
    close(r.upper, 0.76, 1e-12);
  });

  it('both samples constant: one difference, p by hand', () => {
    // m = n = 3, W = 9, W − mn/2 = 4.5, Σ(t³ − t) = 48, σ² = 9/12·(7 − 48/30) = 4.05,
    // z = 4/√4.05 = 1.9876159799998128, p = 0.04685417760387376 (scipy). R stops: "all observations are tied".
    const r = mannWhitneyTest([2, 2, 2], [1, 1, 1]);
    relClose(r.pValue, 0.04685417760387376, 1e-13);
    assert.deepEqual([r.lower, r.estimate, r.upper], [1, 1, 1]);
  });

  it('all values equal: p = 1 (R: NaN)', () => {
    const r = mannWhitneyTest([3, 3], [3, 3, 3]);
    assert.equal(r.pValue, 1);
    assert.deepEqual([r.lower, r.estimate, r.upper], [0, 0, 0]);
  });

  it('interval bounds are where R’s wdiff changes sign (bisection on R’s own function)', () => {
    // Independent: R's wdiff(d, zq) evaluated literally and bisected to the jump.
    const wdiff = (x: readonly number[], y: readonly number[], d: number, zq: number): number => {
      const m = x.length;
      const n = y.length;
      const pooled = [...x.map((v) => v - d), ...y];
      const sorted = [...pooled].sort((a, b) => a - b);
      const r = pooled.map((v) => {
        const first = sorted.indexOf(v);
        const last = sorted.lastIndexOf(v);
        return (first + last + 2) / 2;
      });
      const counts = new Map<number, number>();
      for (const v of pooled) counts.set(v, (counts.get(v) ?? 0) + 1);
      let ties = 0;
      for (const t of counts.values()) ties += t ** 3 - t;
      const dz = r.slice(0, m).reduce((a, b) => a + b, 0) - (m * (m + 1)) / 2 - (m * n) / 2;
      const sigma = Math.sqrt(((m * n) / 12) * (m + n + 1 - ties / ((m + n) * (m + n - 1))));
      return (dz - Math.sign(dz) * 0.5) / sigma - zq;
    };
    const bisect = (x: readonly number[], y: readonly number[], zq: number): number => {
      let lo = Math.min(...x) - Math.max(...y);
      let hi = Math.max(...x) - Math.min(...y);
      if (wdiff(x, y, lo, zq) <= 0) return lo;
      if (wdiff(x, y, hi, zq) >= 0) return hi;
      for (let i = 0; i < 200; i++) {
        const mid = (lo + hi) / 2;
        if (wdiff(x, y, mid, zq) > 0) lo = mid;
        else hi = mid;
      }
      return (lo + hi) / 2;
    };
    const next = lcg(99);
    for (let trial = 0; trial < 12; trial++) {
      // Integer data: plenty of ties within and across samples; 50+ values force the normal approximation.
      const x = Array.from({ length: 50 + trial }, () => Math.floor(next() * 20) + (trial % 4));
      const y = Array.from({ length: 55 - trial }, () => Math.floor(next() * 20));
      for (const conf of [0.95, 0.98]) {
        const r = mannWhitneyTest(x, y, { confLevel: conf });
        const z = conf === 0.95 ? 1.959963984540054 : 2.326347874040841; // R: qnorm(0.975), qnorm(0.99)
        close(r.lower, bisect(x, y, z), 1e-9, `trial ${trial} lower`);
        close(r.upper, bisect(x, y, -z), 1e-9, `trial ${trial} upper`);
      }
    }
  });

  it('chooses the method as R does, with a size cap on exact: true', () => {
    const next = lcg(5);
    const sample = (n: number): number[] => Array.from({ length: n }, () => next());
    assert.equal(mannWhitneyTest(sample(49), sample(49)).method, 'exact');
    assert.equal(mannWhitneyTest(sample(50), sample(10)).method, 'asymptotic');
    assert.equal(mannWhitneyTest(sample(60), sample(60), { exact: true }).method, 'exact');
    assert.equal(mannWhitneyTest(sample(101), sample(100), { exact: true }).method, 'asymptotic');
    assert.equal(mannWhitneyTest([1, 2, 2], [3, 4], { exact: true }).method, 'asymptotic'); // ties
  });

  it('rejects empty or non-finite samples and bad confidence levels', () => {
    assert.throws(() => mannWhitneyTest([], [1]), RangeError);
    assert.throws(() => mannWhitneyTest([Number.NaN], [1]), RangeError);
    assert.throws(() => mannWhitneyTest([1], [Number.POSITIVE_INFINITY]), RangeError);
    assert.throws(() => mannWhitneyTest([1], [2], { confLevel: 1 }), RangeError);
  });
});
