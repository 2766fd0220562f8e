// AnalysisRuns measured by the controller against the sandbox's Prometheus:
// a healthy app's run succeeds after its count of measurements; a run on an
// app with 30% errors fails on the failureLimit+1-th failed measurement; a
// Prometheus that cannot be reached gives Error measurements and, past
// consecutiveErrorLimit, an Error run; range queries and
// consecutiveSuccessLimit work as Argo documents them.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import type { AnalysisRun } from '../src/api/analysis.ts';
import { waitFor } from '../src/util/wait.ts';
import { useControllerNamespace } from './support/controller.ts';
import { demoDeployment, demoService } from './support/demo-app.ts';
import { weir } from './support/rollouts.ts';

const RUNS = { group: 'weir.dev', version: 'v1alpha1', plural: 'analysisruns' } as const;

describe('AnalysisRuns', () => {
  const cx = useControllerNamespace('runs');
  const ns = cx.ns;

  before(async () => {
    for (const [name, env] of [['good', {}], ['bad', { ERROR_RATE: '0.3' }]] as const) {
      await cx.sb.apps.createNamespacedDeployment({ namespace: ns, body: demoDeployment({ name, namespace: ns, replicas: 1, env }) });
      await cx.sb.core.createNamespacedService({ namespace: ns, body: demoService({ name, namespace: ns, selector: { app: name }, trafficRate: 30 }) });
    }
    await waitFor(
      async () => {
        for (const app of ['good', 'bad']) {
          const [s] = await cx.sb.promQuery(`sum(rate(http_requests_total{namespace="${ns}",app="${app}"}[10s]))`);
          if (!s || !(s.value > 0)) return false;
        }
        return true;
      },
      { what: 'request rates in Prometheus', timeoutMs: 90_000, intervalMs: 1000 },
    );
  });

  /** A run of the success-rate metric on `app`: `metric` overrides its fields, `opts.prometheus` its provider's, `opts.args` add arguments. */
  async function createRun(
    name: string,
    app: string,
    metric: Record<string, unknown>,
    opts: { address?: string; args?: { name: string; value: string }[]; prometheus?: Record<string, unknown> } = {},
  ): Promise<void> {
    await cx.sb.custom.createNamespacedCustomObject({
      ...RUNS,
      namespace: ns,
      body: {
        apiVersion: 'weir.dev/v1alpha1',
        kind: 'AnalysisRun',
        metadata: { name, namespace: ns },
        spec: {
          args: [{ name: 'app', value: app }, ...(opts.args ?? [])],
          metrics: [
            {
              name: 'success-rate',
              successCondition: 'result[0] >= 0.99',
              provider: {
                prometheus: {
                  address: opts.address ?? cx.sb.state.prometheusUrl,
                  query: `sum(rate(http_requests_total{namespace="${ns}",app="{{args.app}}",code="200"}[10s])) / sum(rate(http_requests_total{namespace="${ns}",app="{{args.app}}"}[10s]))`,
                  ...opts.prometheus,
                },
              },
              ...metric,
            },
          ],
        },
      },
    });
  }

  function waitForRun(name: string, what: string, predicate: (r: AnalysisRun) => boolean, timeoutMs = 60_000): Promise<AnalysisRun> {
    return waitFor(
      async () => {
        const r = (await cx.sb.custom.getNamespacedCustomObject({ ...RUNS, namespace: ns, name })) as AnalysisRun;
        return predicate(r) ? r : undefined;
      },
      { what: `AnalysisRun ${name}: ${what}`, timeoutMs, intervalMs: 300 },
    );
  }

  it('a healthy app succeeds after its count of measurements', async () => {
    await createRun('good', 'good', { count: 3, interval: '1s' });
    const run = await waitForRun('good', 'Successful', (r) => r.status?.phase === 'Successful');
    const result = run.status?.metricResults?.[0];
    assert.equal(result?.count, 3);
    assert.equal(result.successful, 3);
    assert.deepEqual(result.measurements.map((m) => m.phase), ['Successful', 'Successful', 'Successful']);
    assert.equal(run.status?.runSummary?.successful, 1);
  });

  it('30% errors: the run fails on the failureLimit+1-th failed measurement', async () => {
    await createRun('bad', 'bad', { count: 10, interval: '1s', failureLimit: 1 });
    const run = await waitForRun('bad', 'Failed', (r) => r.status?.phase === 'Failed');
    const result = run.status?.metricResults?.[0];
    assert.equal(result?.failed, 2, 'failed at the second failure with failureLimit 1');
    assert.equal(result.measurements.filter((m) => m.phase === 'Failed').length, 2);
    assert.ok(result.count < 10, 'the run ended early, before its count');
    for (const m of result.measurements) assert.match(m.value ?? '', /^\[0\.[0-9]+\]$/, 'the measured success rate is recorded');

    const shown = await weir(cx.sb, ['get', 'analysisrun', 'bad', '-n', ns]);
    assert.match(shown, /^Status: +Failed/m);
    assert.match(shown, /^ {2}counts: +\d+ measured, \d+ successful, 2 failed/m);
    assert.equal(shown.split('\n').filter((l) => / Failed +\[0\./.test(l)).length, 2, 'both failed measurements listed');
  });

  it('a range query (rangeQuery) measures every sample of its window, as Argo documents it: the healthy app passes all(result, …), the 30% one fails', async () => {
    const rangeRun = (name: string, app: string, start: string): Promise<void> =>
      createRun(name, app, { successCondition: 'len(result) >= 2 && all(result, # >= 0.99)' }, { args: [{ name: 'lookback', value: '20s' }], prometheus: { rangeQuery: { start, end: 'now()', step: '5s' } } });
    // The window must hold data: each app's rate at (at least) 3 of the 5 steps of the last 20 s.
    await waitFor(
      async () => {
        for (const app of ['good', 'bad']) {
          const [s] = await cx.sb.promQuery(`count_over_time((sum(rate(http_requests_total{namespace="${ns}",app="${app}"}[10s])))[20s:5s])`);
          if (!s || s.value < 3) return false;
        }
        return true;
      },
      { what: 'request rates over the last 20 s in Prometheus', timeoutMs: 60_000, intervalMs: 1000 },
    );
    await rangeRun('range-good', 'good', 'now() - duration("{{args.lookback}}")');
    await rangeRun('range-bad', 'bad', 'now() - duration("{{args.lookback}}")');
    const ended = (r: AnalysisRun): boolean => ['Successful', 'Failed', 'Error', 'Inconclusive'].includes(r.status?.phase ?? '');
    const good = await waitForRun('range-good', 'ended', ended);
    const measured = good.status?.metricResults?.[0]?.measurements[0];
    assert.equal(good.status?.phase, 'Successful', `measured ${measured?.value ?? '(nothing)'}: ${measured?.message ?? ''}`);
    const samples = (run: AnalysisRun): number[] => JSON.parse(run.status?.metricResults?.[0]?.measurements[0]?.value ?? 'null') as number[];
    // 20 s at a 5 s step: up to 5 samples of the one series, each the success rate at that point.
    const goodSamples = samples(good);
    assert.ok(goodSamples.length >= 2 && goodSamples.length <= 5, `samples of the window: ${JSON.stringify(goodSamples)}`);
    assert.ok(goodSamples.every((v) => v >= 0.99));
    const bad = await waitForRun('range-bad', 'ended', ended);
    assert.equal(bad.status?.phase, 'Failed');
    assert.ok(samples(bad).some((v) => v < 0.99), 'the failing samples are recorded');

    await rangeRun('range-wrong', 'good', 'duration("{{args.lookback}}")');
    const wrong = await waitForRun('range-wrong', 'an Error measurement', (r) => r.status?.metricResults?.[0]?.measurements[0]?.phase === 'Error');
    assert.match(wrong.status?.metricResults?.[0]?.measurements[0]?.message ?? '', /rangeQuery\.start "duration\(\\"20s\\"\)": must be a time/);
  });

  it('consecutiveSuccessLimit: without a failure limit the run waits for successes in a row; count reached short of them fails it', async () => {
    await createRun('streak', 'good', { interval: '1s', failureLimit: -1, consecutiveSuccessLimit: 2 });
    const streak = await waitForRun('streak', 'Successful', (r) => r.status?.phase === 'Successful');
    const streakResult = streak.status?.metricResults?.[0];
    assert.equal(streakResult?.consecutiveSuccess, 2);
    assert.equal(streakResult.count, 2, 'ended at once, at the 2nd success in a row');
    await createRun('no-streak', 'bad', { interval: '1s', count: 3, failureLimit: -1, consecutiveSuccessLimit: 3 });
    const none = await waitForRun('no-streak', 'Failed', (r) => r.status?.phase === 'Failed');
    assert.equal(none.status?.metricResults?.[0]?.count, 3, 'its failures did not end it before its count');
    assert.match(none.status.message ?? '', /consecutiveSuccess \(0\) < consecutiveSuccessLimit \(3\) after count \(3\) measurements/);
  });

  it('an unreachable Prometheus gives Error measurements, then an Error run past consecutiveErrorLimit', async () => {
    await createRun('down', 'good', { count: 10, interval: '1s', consecutiveErrorLimit: 1 }, { address: 'http://127.0.0.1:1' });
    const run = await waitForRun('down', 'Error', (r) => r.status?.phase === 'Error', 60_000);
    const result = run.status?.metricResults?.[0];
    assert.equal(result?.consecutiveError, 2);
    assert.deepEqual(result.measurements.map((m) => m.phase), ['Error', 'Error']);
    assert.match(result.measurements[0]?.message ?? '', /unreachable: ECONNREFUSED/);
    assert.notEqual(run.status?.phase, 'Successful');
  });
});
