import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyMetric } from './classifier.ts';
import type { MetricConfig } from './classifier.ts';

/** Deterministic pseudo-random numbers in [0, 1) (a 32-bit LCG), for reproducible test data. */
function lcg(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32;
  };
}

/** n values uniform in [center − spread, center + spread). */
function series(seed: number, n: number, center: number, spread: number): number[] {
  const next = lcg(seed);
  return Array.from({ length: n }, () => center + spread * (2 * next() - 1));
}

const baseline = series(1, 60, 100, 10);
const higher = series(2, 60, 150, 10);
const lower = series(3, 60, 50, 10);
const similar = series(4, 60, 100, 10);

const increase: MetricConfig = { direction: 'increase' };
const decrease: MetricConfig = { direction: 'decrease' };
const either: MetricConfig = { direction: 'either' };

describe('classifyMetric: direction', () => {
  it('identical series → Pass', () => {
    const r = classifyMetric(baseline, [...baseline].reverse(), either);
    assert.equal(r.classification, 'Pass');
    assert.equal(r.critical, false);
    assert.match(r.reason, /identical/);
    assert.equal(r.ratio, 1);
  });

  it('same distribution → Pass, not significant', () => {
    const r = classifyMetric(baseline, similar, either);
    assert.equal(r.classification, 'Pass');
    assert.ok((r.pValue ?? 0) >= 0.02, `p = ${r.pValue}`);
    assert.match(r.reason, /no significant difference/);
  });

  it('canary clearly higher, direction increase → High', () => {
    const r = classifyMetric(baseline, higher, increase);
    assert.equal(r.classification, 'High');
    assert.equal(r.method, 'asymptotic');
    assert.ok((r.pValue ?? 1) < 1e-10);
    assert.ok((r.lower ?? 0) > 0.25 * (r.estimate ?? 0));
    assert.ok((r.ratio ?? 0) > 1.4 && (r.ratio ?? 0) < 1.6);
    assert.match(r.reason, /higher/);
  });

  it('canary clearly higher, direction decrease → Pass', () => {
    const r = classifyMetric(baseline, higher, decrease);
    assert.equal(r.classification, 'Pass');
    assert.match(r.reason, /only a decrease counts/);
  });

  it('canary clearly higher, direction either → High', () => {
    assert.equal(classifyMetric(baseline, higher, either).classification, 'High');
  });

  it('canary clearly lower: Low for decrease and either, Pass for increase', () => {
    assert.equal(classifyMetric(baseline, lower, decrease).classification, 'Low');
    assert.equal(classifyMetric(baseline, lower, either).classification, 'Low');
    const r = classifyMetric(baseline, lower, increase);
    assert.equal(r.classification, 'Pass');
    assert.match(r.reason, /only an increase counts/);
  });
});

describe('classifyMetric: effect size and tolerance', () => {
  // 200 values each, the canary shifted up by 2%: significant, but small.
  const wideBaseline = series(10, 200, 100, 5);
  const slightlyHigher = series(11, 200, 102, 5);

  it('a significant shift below the allowed increase → Pass', () => {
    const r = classifyMetric(wideBaseline, slightlyHigher, { direction: 'increase', effectSize: { allowedIncrease: 1.1 } });
    assert.ok((r.pValue ?? 1) < 0.02, `p = ${r.pValue}`);
    assert.ok((r.ratio ?? 0) > 1 && (r.ratio ?? 2) < 1.1);
    assert.equal(r.classification, 'Pass');
    assert.match(r.reason, /within the allowed increase 1\.1/);
  });

  it('the same shift without an allowance → High', () => {
    assert.equal(classifyMetric(wideBaseline, slightlyHigher, { direction: 'increase' }).classification, 'High');
  });

  it('allowed decrease', () => {
    const slightlyLower = series(12, 200, 98, 5);
    assert.equal(classifyMetric(wideBaseline, slightlyLower, { direction: 'decrease' }).classification, 'Low');
    assert.equal(classifyMetric(wideBaseline, slightlyLower, { direction: 'decrease', effectSize: { allowedDecrease: 0.9 } }).classification, 'Pass');
  });

  it('the interval must clear tolerance·|estimate|', () => {
    // With tolerance 1 the lower bound would have to exceed the estimate itself.
    const r = classifyMetric(baseline, higher, { direction: 'increase', tolerance: 1 });
    assert.equal(r.classification, 'Pass');
    assert.match(r.reason, /does not clear ±100% of the estimated shift/);
  });

  it('both sides constant: a deterministic High, the ratio skipped when the baseline mean is 0', () => {
    const r = classifyMetric(new Array<number>(30).fill(0), new Array<number>(30).fill(1), increase);
    assert.equal(r.classification, 'High');
    assert.deepEqual([r.lower, r.estimate, r.upper], [1, 1, 1]);
    assert.equal(r.ratio, undefined);
    assert.match(r.reason, /mean ratio not meaningful/);
  });

  it('too few values to reach significance → Pass', () => {
    // Exact test, m = n = 2, complete separation: p = 2/6.
    const r = classifyMetric([1, 2], [10, 11], increase);
    assert.equal(r.classification, 'Pass');
    assert.equal(r.method, 'exact');
    assert.ok(Math.abs((r.pValue ?? 0) - 1 / 3) < 1e-15);
  });
});

describe('classifyMetric: missing data', () => {
  it('empty → NoData', () => {
    const r = classifyMetric(baseline, [], increase);
    assert.equal(r.classification, 'NoData');
    assert.match(r.reason, /canary is empty/);
    assert.equal(classifyMetric([], baseline, increase).classification, 'NoData');
    assert.equal(classifyMetric([], [], increase).classification, 'NoData');
  });

  it('all-NaN → NoData, whatever the NaN strategy', () => {
    const nan = [Number.NaN, Number.NaN, Number.NaN];
    assert.equal(classifyMetric(baseline, nan, increase).classification, 'NoData');
    assert.equal(classifyMetric(baseline, nan, { direction: 'increase', nanStrategy: 'replace' }).classification, 'NoData');
    const r = classifyMetric([Number.POSITIVE_INFINITY], baseline, increase);
    assert.equal(r.classification, 'NoData');
    assert.match(r.reason, /baseline has no finite value/);
  });

  it('NoData of a critical metric is critical', () => {
    const r = classifyMetric(baseline, [], { direction: 'increase', critical: true });
    assert.equal(r.classification, 'NoData');
    assert.equal(r.critical, true);
  });

  it('NaN values: removed by default, replaced by 0 on request', () => {
    const mostlyMissing = similar.map((v, i) => (i % 3 === 0 ? v : Number.NaN));
    assert.equal(classifyMetric(baseline, mostlyMissing, either).classification, 'Pass');
    assert.equal(classifyMetric(baseline, mostlyMissing, { direction: 'either', nanStrategy: 'replace' }).classification, 'Low');
  });
});

describe('classifyMetric: outliers', () => {
  // The canary is 10% higher; one huge spike in the baseline drags its mean up.
  const spiky = [...series(20, 100, 100, 5), 1e6];
  const tenPercentHigher = series(21, 100, 110, 5);
  const config: MetricConfig = { direction: 'increase', effectSize: { allowedIncrease: 1.05 } };

  it('keep (default): the spike makes the mean ratio tiny, so the increase is allowed', () => {
    const r = classifyMetric(spiky, tenPercentHigher, config);
    assert.equal(r.classification, 'Pass');
    assert.ok((r.ratio ?? 1) < 0.1);
  });

  it('remove: the spike goes, the ratio is ~1.1 → High', () => {
    const r = classifyMetric(spiky, tenPercentHigher, { ...config, outliers: 'remove' });
    assert.equal(r.classification, 'High');
    assert.ok((r.ratio ?? 0) > 1.05 && (r.ratio ?? 2) < 1.15);
  });
});

describe('classifyMetric: critical', () => {
  it('a critical metric that is High is a critical failure', () => {
    const r = classifyMetric(baseline, higher, { direction: 'increase', critical: true });
    assert.equal(r.classification, 'High');
    assert.equal(r.critical, true);
    assert.match(r.reason, /\(critical\)/);
  });

  it('…unless the ratio stays under criticalIncrease', () => {
    const r = classifyMetric(baseline, higher, { direction: 'increase', critical: true, effectSize: { criticalIncrease: 2 } });
    assert.equal(r.classification, 'High');
    assert.equal(r.critical, false);
  });

  it('Low and criticalDecrease', () => {
    assert.equal(classifyMetric(baseline, lower, { direction: 'decrease', critical: true }).critical, true);
    assert.equal(classifyMetric(baseline, lower, { direction: 'decrease', critical: true, effectSize: { criticalDecrease: 0.2 } }).critical, false);
  });

  it('a non-critical metric is never critical', () => {
    assert.equal(classifyMetric(baseline, higher, increase).critical, false);
    assert.equal(classifyMetric(baseline, [], increase).critical, false);
  });
});

describe('classifyMetric: configuration', () => {
  it('rejects invalid settings', () => {
    assert.throws(() => classifyMetric([1], [2], { direction: 'up' } as unknown as MetricConfig), RangeError);
    assert.throws(() => classifyMetric([1], [2], { direction: 'increase', confidence: 1.2 }), RangeError);
    assert.throws(() => classifyMetric([1], [2], { direction: 'increase', effectSize: { allowedIncrease: -1 } }), RangeError);
    assert.throws(() => classifyMetric([1], [2], { direction: 'increase', outliers: 'drop' } as unknown as MetricConfig), RangeError);
    assert.throws(() => classifyMetric([1], [2], { direction: 'increase', outlierFactor: 0 }), RangeError);
  });

  it('confidence changes the interval width', () => {
    const a = classifyMetric(baseline, higher, { direction: 'increase', confidence: 0.9 });
    const b = classifyMetric(baseline, higher, { direction: 'increase', confidence: 0.999 });
    assert.ok((a.lower ?? 0) > (b.lower ?? 0));
    assert.ok((a.upper ?? 0) < (b.upper ?? 0));
    assert.equal(a.estimate, b.estimate);
  });
});
