import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalysisPhase, AnalysisRun, AnalysisRunSpec, AnalysisRunStatus, Measurement, Metric, MetricResult } from '../api/index.ts';
import {
  assessRun,
  dueMetrics,
  evaluationPhase,
  formatValue,
  isMissingData,
  isWorse,
  limitExceeded,
  measurementFromEvaluation,
  nextMeasurementTimes,
  nextRequeueAt,
  recordMeasurement,
  retentionLimit,
  runPhase,
} from './measurements.ts';

const T0 = Date.parse('2024-05-01T10:00:00Z');

/** T0 plus seconds, as RFC 3339. */
function t(seconds: number): string {
  return new Date(T0 + seconds * 1000).toISOString().replace('.000Z', 'Z');
}
function at(seconds: number): Date {
  return new Date(T0 + seconds * 1000);
}

function metric(name: string, fields: Partial<Metric> = {}): Metric {
  return { name, provider: { prometheus: { address: 'http://prometheus:9090', query: 'up' } }, ...fields };
}

function newRun(metrics: Metric[], spec: Partial<AnalysisRunSpec> = {}): AnalysisRun {
  const run: AnalysisRun = { apiVersion: 'weir.dev/v1alpha1', kind: 'AnalysisRun', metadata: { name: 'r', namespace: 'shop' }, spec: { metrics, ...spec } };
  return { ...run, status: assessRun(run, at(0)) };
}

function meas(phase: AnalysisPhase, seconds: number, message?: string): Measurement {
  return { phase, startedAt: t(seconds), finishedAt: t(seconds), ...(message !== undefined ? { message } : {}) };
}

/** Records measurements of one metric, one after the other. */
function record(run: AnalysisRun, name: string, ...measurements: Measurement[]): AnalysisRun {
  let current = run;
  for (const m of measurements) current = { ...current, status: recordMeasurement(current, name, m) };
  return current;
}

/** Records `phases` for `name`, each `interval` seconds after the previous, starting at `from`. */
function series(run: AnalysisRun, name: string, phases: AnalysisPhase[], from = 0, interval = 60): AnalysisRun {
  return record(run, name, ...phases.map((p, i) => meas(p, from + i * interval)));
}

function st(run: AnalysisRun): AnalysisRunStatus {
  assert.ok(run.status, 'the run has no status');
  return run.status;
}

function result(run: AnalysisRun, name: string): MetricResult {
  const r = st(run).metricResults?.find((x) => x.name === name);
  assert.ok(r, `no result for ${name}`);
  return r;
}

function deepFreeze<T>(value: T): T {
  if (typeof value === 'object' && value !== null) {
    for (const item of Object.values(value)) deepFreeze(item);
    Object.freeze(value);
  }
  return value;
}

describe('counting rules', () => {
  it('failureLimit 2: the metric is still Running after the 2nd failure and Failed after the 3rd', () => {
    const run = newRun([metric('m', { interval: '1m', failureLimit: 2 })]);
    const two = series(run, 'm', ['Failed', 'Failed']);
    assert.equal(result(two, 'm').phase, 'Running');
    assert.equal(st(two).phase, 'Running');
    const three = series(two, 'm', ['Failed'], 120);
    assert.equal(result(three, 'm').phase, 'Failed');
    assert.equal(result(three, 'm').failed, 3);
    assert.equal(st(three).phase, 'Failed');
    assert.equal(st(three).message, 'Metric "m" assessed Failed due to failed (3) > failureLimit (2)');
  });

  it('failureLimit defaults to 0: the first failure fails the metric', () => {
    const run = series(newRun([metric('m', { interval: '1m' })]), 'm', ['Successful', 'Failed']);
    assert.equal(result(run, 'm').phase, 'Failed');
    assert.equal(st(run).phase, 'Failed');
  });

  it('reads int-or-string limits given as strings', () => {
    const run = series(newRun([metric('m', { interval: '1m', failureLimit: '1' })]), 'm', ['Failed']);
    assert.equal(st(run).phase, 'Running');
    assert.equal(series(run, 'm', ['Failed'], 60).status?.phase, 'Failed');
  });

  it('inconclusiveLimit 1: Inconclusive at the 2nd inconclusive measurement, and so is the run', () => {
    const run = newRun([metric('m', { interval: '1m', inconclusiveLimit: 1 })]);
    const one = series(run, 'm', ['Inconclusive', 'Successful']);
    assert.equal(st(one).phase, 'Running');
    const two = series(one, 'm', ['Inconclusive'], 120);
    assert.equal(result(two, 'm').phase, 'Inconclusive');
    assert.equal(st(two).phase, 'Inconclusive');
    assert.equal(st(two).message, 'Metric "m" assessed Inconclusive due to inconclusive (2) > inconclusiveLimit (1)');
  });

  it('consecutiveErrorLimit defaults to 4: Error at the 5th error in a row, with the provider message', () => {
    const run = newRun([metric('m', { interval: '1m' })]);
    const four = record(run, 'm', ...[0, 10, 20, 30].map((s) => meas('Error', s, 'connection refused')));
    assert.equal(result(four, 'm').phase, 'Running');
    const five = record(four, 'm', meas('Error', 40, 'connection refused'));
    assert.equal(result(five, 'm').phase, 'Error');
    assert.equal(result(five, 'm').consecutiveError, 5);
    assert.equal(st(five).phase, 'Error');
    assert.equal(st(five).message, 'Metric "m" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): "Error Message: connection refused"');
  });

  it('consecutiveError goes back to 0 at a measurement that is not an Error', () => {
    const run = series(newRun([metric('m', { interval: '1m' })]), 'm', ['Error', 'Error', 'Error', 'Error', 'Successful', 'Error', 'Error', 'Error', 'Error']);
    const r = result(run, 'm');
    assert.equal(r.phase, 'Running');
    assert.equal(r.error, 8);
    assert.equal(r.consecutiveError, 4);
    assert.equal(r.count, 1, 'Errors do not count');
  });

  it('counts Errors apart from count: count 2 needs two measurements that are not Errors', () => {
    const run = newRun([metric('m', { interval: '1m', count: 2 })]);
    const partly = series(run, 'm', ['Error', 'Successful']);
    assert.equal(result(partly, 'm').phase, 'Running');
    const done = series(partly, 'm', ['Successful'], 120);
    assert.deepEqual(
      { phase: result(done, 'm').phase, count: result(done, 'm').count, successful: result(done, 'm').successful, error: result(done, 'm').error },
      { phase: 'Successful', count: 2, successful: 2, error: 1 },
    );
    assert.equal(st(done).phase, 'Successful');
  });

  it('is Successful at count with failures within the limit', () => {
    const run = series(newRun([metric('m', { interval: '1m', count: 3, failureLimit: 1 })]), 'm', ['Failed', 'Successful', 'Successful']);
    assert.equal(result(run, 'm').phase, 'Successful');
    assert.equal(st(run).phase, 'Successful');
    assert.deepEqual(st(run).runSummary, { count: 1, successful: 1, failed: 0, inconclusive: 0, error: 0 });
  });

  it('when several limits are exceeded the later check wins: Error over Inconclusive over Failed', () => {
    const base: MetricResult = { name: 'm', phase: 'Running', measurements: [], count: 2, successful: 0, failed: 1, inconclusive: 1, error: 5, consecutiveError: 5 };
    assert.equal(limitExceeded(metric('m'), base)?.phase, 'Error');
    assert.equal(limitExceeded(metric('m'), { ...base, consecutiveError: 0 })?.phase, 'Inconclusive');
    assert.equal(limitExceeded(metric('m'), { ...base, consecutiveError: 0, inconclusive: 0 })?.phase, 'Failed');
    assert.equal(limitExceeded(metric('m'), { ...base, consecutiveError: 0, inconclusive: 0, failed: 0 }), undefined);
  });

  it('keeps a completed metric phase: later measurements change nothing', () => {
    const run = series(newRun([metric('a', { interval: '1m' }), metric('b', { interval: '1m' })]), 'a', ['Failed']);
    assert.equal(st(run).phase, 'Failed');
    assert.deepEqual(recordMeasurement(run, 'a', meas('Successful', 60)), run.status);
    assert.deepEqual(recordMeasurement(run, 'b', meas('Successful', 60)), run.status);
  });

  it('throws for a metric the run does not have', () => {
    assert.throws(() => recordMeasurement(newRun([metric('m')]), 'other', meas('Successful', 0)), /no metric "other" \(metrics: m\)/);
  });

  it('replaces an in-flight measurement by what it became and counts it once', () => {
    const run = newRun([metric('m', { interval: '1m' })]);
    const flying = record(run, 'm', { phase: 'Running', startedAt: t(0), resumeAt: t(30) });
    assert.equal(result(flying, 'm').count, 0);
    assert.deepEqual(nextMeasurementTimes(flying, at(5)), [{ metric: 'm', at: t(30), resume: true }]);
    const done = record(flying, 'm', { phase: 'Successful', startedAt: t(0), finishedAt: t(31), value: '1' });
    assert.equal(result(done, 'm').measurements.length, 1);
    assert.equal(result(done, 'm').count, 1);
    assert.deepEqual(nextMeasurementTimes(done, at(40)), [{ metric: 'm', at: t(91) }]);
  });

  it('never modifies its input', () => {
    const run = deepFreeze(series(newRun([metric('m', { interval: '1m', failureLimit: 1 })]), 'm', ['Failed']));
    const next = recordMeasurement(run, 'm', meas('Failed', 60));
    assert.equal(next.phase, 'Failed');
    assert.equal(result(run, 'm').failed, 1);
  });
});

describe('consecutiveSuccessLimit (Argo 1.8)', () => {
  it('alone (failureLimit -1): failures do not end the metric; the 3rd success in a row does, at once', () => {
    const run = newRun([metric('m', { interval: '1m', failureLimit: -1, consecutiveSuccessLimit: 3 })]);
    const mixed = series(run, 'm', ['Successful', 'Successful', 'Failed', 'Failed', 'Successful', 'Successful']);
    assert.equal(result(mixed, 'm').phase, 'Running', 'a failure resets the run of successes and fails nothing');
    assert.equal(result(mixed, 'm').consecutiveSuccess, 2);
    const done = series(mixed, 'm', ['Successful'], 360);
    assert.equal(result(done, 'm').phase, 'Successful');
    assert.equal(result(done, 'm').consecutiveSuccess, 3);
    assert.equal(st(done).phase, 'Successful');
    assert.equal(nextRequeueAt(done, at(400)), undefined, 'nothing more is measured');
  });

  it('an Error or an Inconclusive measurement resets the successes in a row too', () => {
    const run = newRun([metric('m', { interval: '1m', failureLimit: -1, consecutiveSuccessLimit: 2, inconclusiveLimit: 5 })]);
    assert.equal(result(series(run, 'm', ['Successful', 'Error']), 'm').consecutiveSuccess, 0);
    const afterInconclusive = series(run, 'm', ['Successful', 'Inconclusive', 'Successful']);
    assert.equal(result(afterInconclusive, 'm').phase, 'Running');
    assert.equal(result(afterInconclusive, 'm').consecutiveSuccess, 1);
  });

  it('with failureLimit: the failure limit still wins when it is passed first', () => {
    const run = newRun([metric('m', { interval: '1m', failureLimit: 1, consecutiveSuccessLimit: 2 })]);
    const failed = series(run, 'm', ['Failed', 'Successful', 'Failed']);
    assert.equal(result(failed, 'm').phase, 'Failed');
    assert.equal(st(failed).message, 'Metric "m" assessed Failed due to failed (2) > failureLimit (1)');
    const passed = series(run, 'm', ['Failed', 'Successful', 'Successful']);
    assert.equal(result(passed, 'm').phase, 'Successful');
  });

  it('count reached short of it: Inconclusive with a failure limit, Failed without one, and the run says why', () => {
    const limited = series(newRun([metric('m', { interval: '1m', count: 4, failureLimit: 1, consecutiveSuccessLimit: 3 })]), 'm', ['Successful', 'Failed', 'Successful', 'Successful']);
    assert.equal(result(limited, 'm').phase, 'Inconclusive');
    assert.equal(st(limited).phase, 'Inconclusive');
    assert.equal(st(limited).message, 'Metric "m" assessed Inconclusive due to consecutiveSuccess (2) < consecutiveSuccessLimit (3) after count (4) measurements');
    assert.equal(st(limited).runSummary?.inconclusive, 1);
    assert.equal(st(limited).runSummary?.successful, 0);
    const unlimited = series(newRun([metric('m', { interval: '1m', count: 3, failureLimit: -1, consecutiveSuccessLimit: 3 })]), 'm', ['Successful', 'Failed', 'Successful']);
    assert.equal(result(unlimited, 'm').phase, 'Failed');
    assert.equal(st(unlimited).runSummary?.failed, 1);
  });

  it('count reached with the successes in a row: Successful', () => {
    const run = series(newRun([metric('m', { interval: '1m', count: 4, failureLimit: 1, consecutiveSuccessLimit: 3 })]), 'm', ['Failed', 'Successful', 'Successful', 'Successful']);
    assert.equal(result(run, 'm').phase, 'Successful');
  });

  it('a terminated run ends Successful whatever the successes in a row (Argo: it does not affect termination)', () => {
    const run = series(newRun([metric('m', { interval: '1m', failureLimit: -1, consecutiveSuccessLimit: 3 })]), 'm', ['Failed', 'Successful']);
    const terminated: AnalysisRun = { ...run, spec: { ...run.spec, terminate: true } };
    assert.equal(assessRun(terminated).phase, 'Successful');
  });
});

describe('scheduling', () => {
  it('takes the first measurement when the run starts', () => {
    const run = newRun([metric('m', { interval: '1m' })]);
    assert.equal(st(run).startedAt, t(0));
    assert.deepEqual(nextMeasurementTimes(run, at(0)), [{ metric: 'm', at: t(0) }]);
    assert.deepEqual(dueMetrics(run, at(0)), ['m']);
    assert.equal(nextRequeueAt(run, at(3)), t(3), 'overdue: requeue now, never in the past');
  });

  it('waits initialDelay after the start: due at exactly startedAt + 5m, not a second before', () => {
    const run = newRun([metric('m', { interval: '1m', initialDelay: '5m' })]);
    assert.deepEqual(nextMeasurementTimes(run, at(60)), [{ metric: 'm', at: t(300) }]);
    assert.deepEqual(dueMetrics(run, at(299)), []);
    assert.deepEqual(dueMetrics(run, at(300)), ['m']);
    assert.equal(nextRequeueAt(run, at(60)), t(300));
  });

  it('measures again one interval after the last measurement finished', () => {
    const run = record(newRun([metric('m', { interval: '90s' })]), 'm', { phase: 'Successful', startedAt: t(0), finishedAt: t(2) });
    assert.deepEqual(nextMeasurementTimes(run, at(10)), [{ metric: 'm', at: t(92) }]);
    assert.deepEqual(dueMetrics(run, at(91)), []);
    assert.deepEqual(dueMetrics(run, at(92)), ['m']);
  });

  it('retries 10s after an Error, whatever the interval', () => {
    const run = record(newRun([metric('m', { interval: '5m' })]), 'm', meas('Error', 7, 'timeout'));
    assert.deepEqual(nextMeasurementTimes(run, at(7)), [{ metric: 'm', at: t(17) }]);
  });

  it('without interval and count: one measurement, then the metric is Successful and nothing is scheduled', () => {
    const run = series(newRun([metric('m')]), 'm', ['Successful']);
    assert.equal(result(run, 'm').phase, 'Successful');
    assert.equal(st(run).phase, 'Successful');
    assert.deepEqual(nextMeasurementTimes(run, at(5)), []);
    assert.equal(nextRequeueAt(run, at(5)), undefined);
  });

  it('without interval and count, an Error is retried 10s later until it succeeds', () => {
    const errored = record(newRun([metric('m')]), 'm', meas('Error', 0));
    assert.deepEqual(nextMeasurementTimes(errored, at(1)), [{ metric: 'm', at: t(10) }]);
    const done = record(errored, 'm', meas('Successful', 10));
    assert.equal(st(done).phase, 'Successful');
  });

  it('count 3: done after the 3rd measurement, at interval spacing', () => {
    let run = newRun([metric('m', { interval: '1m', count: 3 })]);
    const times: string[] = [];
    for (let i = 0; i < 3; i++) {
      const next = nextMeasurementTimes(run, at(i * 60));
      assert.equal(next.length, 1);
      times.push(next[0]?.at ?? '');
      run = record(run, 'm', meas('Successful', i * 60));
    }
    assert.deepEqual(times, [t(0), t(60), t(120)]);
    assert.equal(st(run).phase, 'Successful');
    assert.deepEqual(nextMeasurementTimes(run, at(180)), []);
  });

  it('with only an interval, measures until the run ends', () => {
    const run = series(newRun([metric('m', { interval: '1m' })]), 'm', Array<AnalysisPhase>(15).fill('Successful'));
    assert.equal(result(run, 'm').phase, 'Running');
    assert.equal(st(run).phase, 'Running');
    assert.deepEqual(nextMeasurementTimes(run, at(900)), [{ metric: 'm', at: t(900) }]);
  });

  it('requeues at the earliest next measurement of all metrics', () => {
    let run = newRun([metric('slow', { interval: '5m' }), metric('fast', { interval: '30s' }), metric('late', { initialDelay: '10m' })]);
    run = record(run, 'slow', meas('Successful', 0));
    run = record(run, 'fast', meas('Successful', 0));
    assert.deepEqual(nextMeasurementTimes(run, at(1)), [
      { metric: 'slow', at: t(300) },
      { metric: 'fast', at: t(30) },
      { metric: 'late', at: t(600) },
    ]);
    assert.equal(nextRequeueAt(run, at(1)), t(30));
  });

  it('schedules nothing once the run is terminating', () => {
    const run = newRun([metric('m', { interval: '1m' })], { terminate: true });
    assert.deepEqual(nextMeasurementTimes({ ...run, status: { phase: 'Running', startedAt: t(0) } }, at(0)), []);
    assert.equal(nextRequeueAt(run, at(0)), undefined);
  });

  it('ends the run in Error when an interval does not parse, rather than waiting forever', () => {
    const run = newRun([metric('m', { interval: '5 minutes' })]);
    assert.equal(st(run).phase, 'Error');
    assert.match(st(run).message ?? '', /^Analysis spec invalid: metrics\[0\]\.interval: invalid duration "5 minutes"/);
    assert.deepEqual(nextMeasurementTimes(run, at(0)), []);
  });
});

describe('run phase', () => {
  function withResults(phases: AnalysisPhase[]): AnalysisRun {
    const metrics = phases.map((_, i) => metric(`m${i}`, { interval: '1m' }));
    const results: MetricResult[] = phases.map((phase, i) => ({
      name: `m${i}`,
      phase,
      measurements: [meas(phase === 'Running' ? 'Successful' : phase, 0)],
      count: 1,
      successful: 0,
      failed: 0,
      inconclusive: 0,
      error: 0,
      consecutiveError: 0,
    }));
    const status: AnalysisRunStatus = { phase: 'Running', startedAt: t(0), metricResults: results };
    return { apiVersion: 'weir.dev/v1alpha1', kind: 'AnalysisRun', metadata: { name: 'r' }, spec: { metrics }, status };
  }

  it('orders phases from best to worst: Successful, Inconclusive, Error, Failed', () => {
    assert.equal(isWorse('Successful', 'Inconclusive'), true);
    assert.equal(isWorse('Inconclusive', 'Error'), true);
    assert.equal(isWorse('Error', 'Failed'), true);
    assert.equal(isWorse('Failed', 'Error'), false);
  });

  it('is the worst phase of the completed metrics', () => {
    assert.equal(runPhase(withResults(['Successful', 'Inconclusive', 'Error', 'Failed'])).phase, 'Failed');
    assert.equal(runPhase(withResults(['Inconclusive', 'Error', 'Successful'])).phase, 'Error');
    assert.equal(runPhase(withResults(['Successful', 'Inconclusive'])).phase, 'Inconclusive');
    assert.equal(runPhase(withResults(['Successful', 'Successful'])).phase, 'Successful');
  });

  it('is Running while a metric still measures', () => {
    assert.deepEqual(runPhase(withResults(['Successful', 'Running'])), { phase: 'Running' });
  });

  it('is Running while a metric has not started (initialDelay)', () => {
    const run = series(newRun([metric('now'), metric('later', { initialDelay: '5m' })]), 'now', ['Successful']);
    assert.equal(st(run).phase, 'Running');
    assert.deepEqual(st(run).runSummary, { count: 2, successful: 1, failed: 0, inconclusive: 0, error: 0 });
  });

  it('ends at the first failure: the other metrics end Successful and measure no more', () => {
    let run = newRun([metric('errors', { interval: '1m' }), metric('latency', { interval: '1m' })]);
    run = series(run, 'latency', ['Successful']);
    run = series(run, 'errors', ['Failed']);
    assert.equal(st(run).phase, 'Failed');
    assert.equal(result(run, 'latency').phase, 'Successful');
    assert.deepEqual(nextMeasurementTimes(run, at(60)), []);
    assert.deepEqual(st(run).runSummary, { count: 2, successful: 1, failed: 1, inconclusive: 0, error: 0 });
  });

  it('ends early on Inconclusive too', () => {
    let run = newRun([metric('a', { interval: '1m' }), metric('b', { interval: '1m' })]);
    run = series(run, 'a', ['Inconclusive']);
    assert.equal(st(run).phase, 'Inconclusive');
  });
});

describe('terminate', () => {
  it('before any measurement: Successful, "Run Terminated"', () => {
    const run = newRun([metric('m', { interval: '1m' })], { terminate: true });
    assert.equal(st(run).phase, 'Successful');
    assert.equal(st(run).message, 'Run Terminated');
  });

  it('with every metric fine so far: Successful, the measuring metrics Successful', () => {
    let run = series(newRun([metric('a', { interval: '1m' }), metric('b', { interval: '1m', count: 5 })]), 'a', ['Successful']);
    run = series(run, 'b', ['Successful', 'Successful']);
    const status = assessRun({ ...run, spec: { ...run.spec, terminate: true } });
    assert.equal(status.phase, 'Successful');
    assert.deepEqual(
      status.metricResults?.map((r) => [r.name, r.phase]),
      [
        ['a', 'Successful'],
        ['b', 'Successful'],
      ],
    );
    assert.equal(status.message, 'Run Terminated');
  });

  it('failures within the limit do not stop a Successful end; a metric already Failed keeps the run Failed', () => {
    const within = series(newRun([metric('a', { interval: '1m', failureLimit: 1 })]), 'a', ['Failed']);
    assert.equal(assessRun({ ...within, spec: { ...within.spec, terminate: true } }).phase, 'Successful');
    const failed = series(newRun([metric('a', { interval: '1m' }), metric('b', { interval: '1m' })]), 'a', ['Failed']);
    assert.equal(assessRun({ ...failed, spec: { ...failed.spec, terminate: true } }).phase, 'Failed');
  });
});

describe('dry-run metrics', () => {
  it('a failing dry-run metric neither fails nor ends the run; it is counted in dryRunSummary', () => {
    let run = newRun([metric('real', { interval: '1m', count: 2 }), metric('shadow', { interval: '1m', count: 2 })], { dryRun: [{ metricName: 'shadow' }] });
    run = series(run, 'shadow', ['Failed']);
    assert.equal(result(run, 'shadow').phase, 'Failed');
    assert.equal(result(run, 'shadow').dryRun, true);
    assert.equal(result(run, 'shadow').message, 'Metric assessed Failed due to failed (1) > failureLimit (0)');
    assert.equal(st(run).phase, 'Running');
    assert.deepEqual(nextMeasurementTimes(run, at(60)), [{ metric: 'real', at: t(0) }]);
    run = series(run, 'real', ['Successful', 'Successful']);
    assert.equal(st(run).phase, 'Successful');
    assert.deepEqual(st(run).runSummary, { count: 1, successful: 1, failed: 0, inconclusive: 0, error: 0 });
    assert.deepEqual(st(run).dryRunSummary, { count: 1, successful: 0, failed: 1, inconclusive: 0, error: 0 });
  });

  it('matches metric names as regular expressions (".*": every metric)', () => {
    let run = newRun([metric('a'), metric('b')], { dryRun: [{ metricName: '.*' }] });
    run = series(run, 'a', ['Failed']);
    run = series(run, 'b', ['Error', 'Error', 'Error', 'Error', 'Error'], 0, 10);
    assert.equal(st(run).phase, 'Successful');
    assert.deepEqual(st(run).dryRunSummary, { count: 2, successful: 0, failed: 1, inconclusive: 0, error: 1 });
  });

  it('a dry-run metric still measuring keeps the run Running', () => {
    let run = newRun([metric('real'), metric('shadow', { interval: '1m' })], { dryRun: [{ metricName: 'shadow' }] });
    run = series(run, 'real', ['Successful']);
    run = series(run, 'shadow', ['Successful']);
    assert.equal(st(run).phase, 'Running');
  });
});

describe('measurement retention', () => {
  it('keeps the last 10 measurements by default; the counters keep counting', () => {
    const run = series(newRun([metric('m', { interval: '1m' })]), 'm', Array<AnalysisPhase>(12).fill('Successful'));
    const r = result(run, 'm');
    assert.equal(r.measurements.length, 10);
    assert.equal(r.measurements[0]?.startedAt, t(120));
    assert.equal(r.measurements.at(-1)?.startedAt, t(660));
    assert.equal(r.count, 12);
  });

  it('keeps `limit` measurements of the metrics a rule matches; limit 0 is the default', () => {
    const spec = { measurementRetention: [{ metricName: '^short', limit: 3 }] };
    let run = newRun([metric('short-term', { interval: '1m' }), metric('long', { interval: '1m' })], spec);
    run = series(run, 'short-term', Array<AnalysisPhase>(5).fill('Successful'));
    assert.equal(result(run, 'short-term').measurements.length, 3);
    assert.equal(retentionLimit(run, 'long'), 10);
    assert.equal(retentionLimit({ ...run, spec: { ...run.spec, measurementRetention: [{ metricName: 'long', limit: 0 }] } }, 'long'), 10);
    assert.equal(retentionLimit({ ...run, spec: { ...run.spec, measurementRetention: [{ metricName: '.*', limit: 20 }] } }, 'long'), 20);
  });
});

describe('measurementFromEvaluation', () => {
  const cases: [string, Parameters<typeof evaluationPhase>[0], AnalysisPhase][] = [
    ['an error is an Error', { successOk: true, error: 'parse error' }, 'Error'],
    ['failureCondition true is Failed (even with successCondition true)', { successOk: true, failureOk: true, value: 1 }, 'Failed'],
    ['successCondition true is Successful', { successOk: true, value: 0.99 }, 'Successful'],
    ['successCondition false without failureCondition is Failed', { successOk: false, value: 0.5 }, 'Failed'],
    ['both given, both false, is Inconclusive', { successOk: false, failureOk: false, value: 0.7 }, 'Inconclusive'],
    ['failureCondition false without successCondition is Successful', { failureOk: false, value: [3] }, 'Successful'],
    ['failureCondition false without successCondition on NaN is Inconclusive (Weir)', { failureOk: false, value: NaN }, 'Inconclusive'],
    ['failureCondition false without successCondition on an empty vector is Inconclusive (Weir)', { failureOk: false, value: [] }, 'Inconclusive'],
    ['successCondition true on NaN is Successful: the template says so', { successOk: true, value: NaN }, 'Successful'],
    ['no condition at all is Inconclusive', { value: 1 }, 'Inconclusive'],
  ];
  for (const [name, evaluation, phase] of cases) {
    it(name, () => {
      assert.equal(evaluationPhase(evaluation).phase, phase);
    });
  }

  it('builds the measurement: phase, value as text, times, message', () => {
    assert.deepEqual(measurementFromEvaluation({ successOk: true, value: [0.97, 0.95] }, { startedAt: t(0), finishedAt: t(1) }), {
      phase: 'Successful',
      startedAt: t(0),
      finishedAt: t(1),
      value: '[0.97,0.95]',
    });
    assert.deepEqual(measurementFromEvaluation({ error: 'no such host' }, { startedAt: t(0), metadata: { query: 'up' } }), {
      phase: 'Error',
      startedAt: t(0),
      finishedAt: t(0),
      message: 'no such host',
      metadata: { query: 'up' },
    });
  });

  it('keeps a provider note (the judge’s classifications) as the message unless the phase has its own', () => {
    assert.equal(measurementFromEvaluation({ failureOk: true, value: 0, note: 'score 0 (fail): latency: High' }, { startedAt: t(0) }).message, 'score 0 (fail): latency: High');
    assert.equal(measurementFromEvaluation({ error: 'timeout', note: 'ignored' }, { startedAt: t(0) }).message, 'timeout');
  });

  it('formats values as Argo shows them', () => {
    assert.equal(formatValue(NaN), 'NaN');
    assert.equal(formatValue(Infinity), '+Inf');
    assert.equal(formatValue([]), '[]');
    assert.equal(formatValue({ ok: true }), '{"ok":true}');
    assert.equal(formatValue(undefined), undefined);
  });

  it('knows missing data: nothing, NaN, empty, or a vector of NaN', () => {
    for (const v of [undefined, null, NaN, '', 'NaN', [], [NaN]]) assert.equal(isMissingData(v), true, JSON.stringify(v));
    for (const v of [0, '0', [0.5], { a: 1 }, false]) assert.equal(isMissingData(v), false, JSON.stringify(v));
  });
});
