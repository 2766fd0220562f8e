import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { judge } from './judge.ts';
import type { JudgeMetric } from './judge.ts';

// Clear-cut series: 20 values each (exact test). 1..20 against 101..120 is complete
// separation: exact two-sided p = 2/C(40, 20) ≈ 1.5e-11.
const base = Array.from({ length: 20 }, (_, i) => i + 1);
const up = base.map((v) => v + 100);

function passing(name: string, extra: Partial<JudgeMetric> = {}): JudgeMetric {
  return { name, baseline: base, canary: [...base].reverse(), config: { direction: 'increase' }, ...extra };
}
function high(name: string, extra: Partial<JudgeMetric> = {}): JudgeMetric {
  return { name, baseline: base, canary: up, config: { direction: 'increase' }, ...extra };
}
function noData(name: string, extra: Partial<JudgeMetric> = {}): JudgeMetric {
  return { name, baseline: base, canary: [], config: { direction: 'increase' }, ...extra };
}

describe('judge: score', () => {
  it('Kayenta-doc style: 10 metrics, 9 Pass → score 90', () => {
    // "the score is the percentage of metrics classified as Pass": 9/10 → 90.
    const metrics = [...Array.from({ length: 9 }, (_, i) => passing(`m${i}`)), high('latency')];
    const marginal = judge(metrics, { pass: 95, marginal: 75 });
    assert.equal(marginal.score, 90);
    assert.equal(marginal.verdict, 'marginal');
    assert.match(marginal.reason, /9 of 10 metrics pass/);
    assert.match(marginal.reason, /latency \(High\)/);
    assert.equal(judge(metrics, { pass: 90, marginal: 75 }).verdict, 'pass'); // equal to pass is pass
    assert.equal(judge(metrics, { pass: 95, marginal: 90 }).verdict, 'marginal'); // equal to marginal is marginal
    assert.equal(judge(metrics, { pass: 95, marginal: 90.01 }).verdict, 'fail');
  });

  it('weights: Pass weight 3, High weight 1 → 75', () => {
    const metrics = [passing('ok', { weight: 3 }), high('bad')];
    const r = judge(metrics, { pass: 75, marginal: 50 });
    assert.equal(r.score, 75);
    assert.equal(r.verdict, 'pass');
    assert.deepEqual(
      r.metrics.map((m) => [m.name, m.weight, m.classification]),
      [
        ['ok', 3, 'Pass'],
        ['bad', 1, 'High'],
      ],
    );
    assert.equal(judge(metrics, { pass: 75.01, marginal: 75 }).verdict, 'marginal');
  });

  it('rounds to two decimals: 2 of 3 → 66.67', () => {
    const r = judge([passing('a'), passing('b'), high('c')], { pass: 66.67, marginal: 0 });
    assert.equal(r.score, 66.67);
    assert.equal(r.verdict, 'pass');
  });

  it('NoData counts as not Pass', () => {
    const r = judge([passing('a'), passing('b'), noData('c')], { pass: 100, marginal: 60 });
    assert.equal(r.score, 66.67);
    assert.equal(r.verdict, 'marginal');
    assert.equal(r.metrics[2]?.classification, 'NoData');
  });

  it('half or more of the metrics NoData fails the canary', () => {
    const r = judge([passing('a'), noData('b')], { pass: 0, marginal: 0 });
    assert.equal(r.score, 50);
    assert.equal(r.verdict, 'fail');
    assert.match(r.reason, /1 of 2 metrics have no data/);
  });

  it('weight 0 leaves a metric out of the score', () => {
    const r = judge([passing('a'), high('ignored', { weight: 0 })], { pass: 100, marginal: 50 });
    assert.equal(r.score, 100);
    assert.equal(r.verdict, 'pass');
  });

  it('nothing to score fails', () => {
    const empty = judge([], { pass: 0, marginal: 0 });
    assert.equal(empty.verdict, 'fail');
    assert.equal(empty.score, 0);
    assert.equal(empty.reason, 'no metrics to judge');
    assert.equal(judge([passing('a', { weight: 0 })], { pass: 0, marginal: 0 }).verdict, 'fail');
  });
});

describe('judge: critical metrics', () => {
  it('a critical High fails the canary regardless of the score', () => {
    const metrics = [...Array.from({ length: 19 }, (_, i) => passing(`m${i}`)), high('errors', { critical: true })];
    const r = judge(metrics, { pass: 90, marginal: 75 });
    assert.equal(r.score, 95);
    assert.equal(r.verdict, 'fail');
    assert.deepEqual(r.criticalFailures, ['errors']);
    assert.match(r.reason, /critical metric failed: errors \(High\)/);
    const errors = r.metrics.find((m) => m.name === 'errors');
    assert.equal(errors?.criticalMetric, true);
    assert.equal(errors.critical, true);
  });

  it('a critical metric with no data fails the canary', () => {
    const metrics = [...Array.from({ length: 9 }, (_, i) => passing(`m${i}`)), noData('errors', { critical: true })];
    const r = judge(metrics, { pass: 80, marginal: 50 });
    assert.equal(r.score, 90);
    assert.equal(r.verdict, 'fail');
    assert.deepEqual(r.criticalFailures, ['errors']);
  });

  it('critical on the config counts too; weight 0 does not exempt it', () => {
    const r = judge([passing('a'), high('errors', { weight: 0, config: { direction: 'increase', critical: true } })], { pass: 50, marginal: 0 });
    assert.equal(r.score, 100);
    assert.equal(r.verdict, 'fail');
  });

  it('the metric-level flag overrides the config', () => {
    const r = judge([passing('a'), high('errors', { critical: false, config: { direction: 'increase', critical: true } })], { pass: 50, marginal: 0 });
    assert.equal(r.verdict, 'pass');
    assert.deepEqual(r.criticalFailures, []);
  });

  it('a critical metric that passes does not fail the canary', () => {
    const r = judge([passing('errors', { critical: true }), passing('b')], { pass: 100, marginal: 0 });
    assert.equal(r.verdict, 'pass');
  });
});

describe('judge: validation', () => {
  it('rejects bad thresholds and weights', () => {
    assert.throws(() => judge([], { pass: 50, marginal: 60 }), RangeError);
    assert.throws(() => judge([], { pass: 101, marginal: 0 }), RangeError);
    assert.throws(() => judge([], { pass: Number.NaN, marginal: 0 }), RangeError);
    assert.throws(() => judge([passing('a', { weight: -1 })], { pass: 50, marginal: 0 }), RangeError);
    assert.throws(() => judge([passing('a', { weight: Number.POSITIVE_INFINITY })], { pass: 50, marginal: 0 }), RangeError);
  });
});
