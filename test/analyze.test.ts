// `weir analyze` against the sandbox's Prometheus and the demo app: a
// success-rate template passes for a healthy app and fails for one with 30%
// errors, missing data is an Error (never a success), and the statistical
// judge passes two equal apps and fails one with clearly higher latency.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../src/util/wait.ts';
import { successRateTemplate } from './support/analysis.ts';
import { demoDeployment, demoService, namespace } from './support/demo-app.ts';
import { installCrds } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const TEMPLATES = { group: 'weir.dev', version: 'v1alpha1', plural: 'analysistemplates' } as const;

describe('weir analyze', () => {
  let sb: TestSandbox;
  const ns = uniqueName('analyze');
  const apps: Record<string, Record<string, string>> = {
    good: {},
    twin: {},
    bad: { ERROR_RATE: '0.3' },
    slow: { LATENCY_MS: '150', LATENCY_JITTER_MS: '20' },
  };

  before(async () => {
    sb = await testSandbox();
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
    for (const [name, env] of Object.entries(apps)) {
      await sb.apps.createNamespacedDeployment({ namespace: ns, body: demoDeployment({ name, namespace: ns, replicas: 1, env }) });
      await sb.core.createNamespacedService({ namespace: ns, body: demoService({ name, namespace: ns, selector: { app: name }, trafficRate: 20 }) });
    }
    const rate = (app: string): string => `sum(rate(http_requests_total{namespace="${ns}",app="${app}"}[10s]))`;
    await waitFor(
      async () => {
        for (const app of Object.keys(apps)) {
          const [s] = await sb.promQuery(rate(app));
          if (!s || !(s.value > 0)) return false;
        }
        return true;
      },
      { what: 'request rates for every app in Prometheus', timeoutMs: 90_000, intervalMs: 1000 },
    );
    await sb.custom.createNamespacedCustomObject({
      ...TEMPLATES,
      namespace: ns,
      body: successRateTemplate({ namespace: ns, name: 'success-rate', address: sb.state.prometheusUrl, label: 'app', arg: 'app' }),
    });
    const latency = (app: string): string =>
      `sum(rate(http_request_duration_seconds_sum{namespace="${ns}",app="${app}"}[3s])) / sum(rate(http_request_duration_seconds_count{namespace="${ns}",app="${app}"}[3s]))`;
    await sb.custom.createNamespacedCustomObject({
      ...TEMPLATES,
      namespace: ns,
      body: {
        apiVersion: 'weir.dev/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: { name: 'latency-judge', namespace: ns },
        spec: {
          args: [{ name: 'baseline' }, { name: 'canary' }],
          metrics: [
            {
              name: 'latency',
              provider: {
                judge: {
                  address: sb.state.prometheusUrl,
                  window: '30s',
                  step: '1s',
                  // Two processes of the same app on a busy 2-core machine differ
                  // by a significant ~10% in mean latency; like Kayenta users, the
                  // template allows a 1.5× increase before it counts as High.
                  metrics: [
                    {
                      name: 'mean latency',
                      baseline: { query: latency('{{args.baseline}}') },
                      canary: { query: latency('{{args.canary}}') },
                      direction: 'increase',
                      effectSize: { allowedIncrease: 1.5 },
                    },
                  ],
                },
              },
            },
          ],
        },
      },
    });
  });
  after(async () => {
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  function analyze(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
    return new Promise((resolve) => {
      execFile(process.execPath, ['bin/weir.js', 'analyze', ...args, '-n', ns, '--kubeconfig', sb.state.kubeconfig], (err, stdout, stderr) => {
        resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stdout, stderr });
      });
    });
  }

  it('passes a healthy app and prints the query with the argument, the result and the condition', async () => {
    const r = await analyze(['success-rate', '--arg', 'app=good']);
    assert.equal(r.code, 0, r.stdout + r.stderr);
    assert.match(r.stdout, /query: +sum\(rate\(http_requests_total\{namespace="[^"]+",app="good",code="200"\}/);
    assert.match(r.stdout, /success: +result\[0\] >= 0\.99 +→ +true/);
    assert.match(r.stdout, /verdict: +Successful/);
  });

  it('fails an app with a 30% error rate', async () => {
    const r = await analyze(['success-rate', '--arg', 'app=bad']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /→ +false/);
    assert.match(r.stdout, /verdict: +Failed/);
  });

  it('missing data is an Error, never a success', async () => {
    const r = await analyze(['success-rate', '--arg', 'app=nothing-here']);
    assert.equal(r.code, 1);
    assert.match(r.stdout, /result: +\[\]/);
    assert.match(r.stdout, /verdict: +Error — successCondition "result\[0\] >= 0\.99": .*index/i);
  });

  it('says which argument is missing or unknown', async () => {
    const missing = await analyze(['success-rate']);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /missing argument app/);
    const unknown = await analyze(['success-rate', '--arg', 'app=good', '--arg', 'nope=1']);
    assert.match(unknown.stderr, /--arg nope: the template declares no such argument/);
  });

  it('the judge passes two equal apps and fails one whose latency is clearly higher', async () => {
    // 30 s of samples at 1 s for each app.
    await waitFor(
      async () => {
        const [s] = await sb.promQuery(`count_over_time(up{namespace="${ns}",app="slow"}[30s])`);
        return s !== undefined && s.value >= 25;
      },
      { what: '30 s of samples', timeoutMs: 90_000, intervalMs: 1000 },
    );
    const equal = await analyze(['latency-judge', '--arg', 'baseline=good', '--arg', 'canary=twin']);
    assert.match(equal.stdout, /score: +100 \(pass\)/, equal.stdout + equal.stderr);
    assert.equal(equal.code, 0);
    const slower = await analyze(['latency-judge', '--arg', 'baseline=good', '--arg', 'canary=slow']);
    assert.match(slower.stdout, /mean latency: High/);
    assert.match(slower.stdout, /verdict: +Failed/);
    assert.equal(slower.code, 1);
  });
});
