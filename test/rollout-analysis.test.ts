// Analysis gating real canaries on the sandbox: the demo app's metrics in
// Prometheus decide. A healthy canary passes a success-rate analysis at each
// step and is promoted; 30% errors abort right after the failureLimit+1-th
// failed measurement and Git brings back the last good commit; a Prometheus
// that stops makes the run Error and aborts, and `weir retry` completes once
// it is back; an inconclusive result pauses until `weir promote`; the judge
// promotes an equal canary and fails a slower one.
import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { AnalysisRun } from '../src/api/analysis.ts';
import type { CanaryStep, Rollout } from '../src/api/rollout.ts';
import type { GitSource } from '../src/api/gitsource.ts';
import { freePort } from '../src/sandbox/ports.ts';
import { spawnManaged, type ManagedProcess } from '../src/sandbox/processes.ts';
import { createSandboxRepository, sandboxBinary } from '../src/sandbox/index.ts';
import { GiveUp, waitFor } from '../src/util/wait.ts';
import { appFiles } from './support/app-repo.ts';
import { successRateTemplate } from './support/analysis.ts';
import { useControllerNamespace } from './support/controller.ts';
import { demoPodTemplate } from './support/demo-app.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { createRolloutNetworking, demoRollout, getRollout, ROLLOUTS, waitForRollout, weir } from './support/rollouts.ts';
import type { TestSandbox } from './support/sandbox.ts';

const RUNS = { group: 'weir.dev', version: 'v1alpha1', plural: 'analysisruns' } as const;
const TEMPLATES = { group: 'weir.dev', version: 'v1alpha1', plural: 'analysistemplates' } as const;
const GITSOURCES = { group: 'weir.dev', version: 'v1alpha1', plural: 'gitsources' } as const;

interface MetricOptions {
  address: string;
  interval?: string;
  count?: number;
  failureLimit?: number;
  consecutiveErrorLimit?: number;
  failureCondition?: string;
}

/** The canary's success rate, 3 measurements 2 s apart after 5 s unless told otherwise: its pods carry the rollout's pod-template hash. */
function canarySuccessRate(ns: string, name: string, o: MetricOptions): Record<string, unknown> {
  const { address, ...metric } = o;
  return successRateTemplate({ namespace: ns, name, address, label: 'rollouts_pod_template_hash', arg: 'canary-hash', metric: { interval: '2s', count: 3, initialDelay: '5s', ...metric } });
}

const CANARY_HASH_ARG = [{ name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' as const } }];

function analysisStep(template: string): CanaryStep {
  return { analysis: { templates: [{ templateName: template }], args: CANARY_HASH_ARG } };
}

async function runsOf(sb: TestSandbox, ns: string, rollout: string): Promise<AnalysisRun[]> {
  const list = (await sb.custom.listNamespacedCustomObject({ ...RUNS, namespace: ns, labelSelector: `weir.dev/rollout=${rollout}` })) as { items: AnalysisRun[] };
  return list.items.sort((a, b) => ((a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : 1));
}

async function getRun(sb: TestSandbox, ns: string, name: string): Promise<AnalysisRun> {
  return (await sb.custom.getNamespacedCustomObject({ ...RUNS, namespace: ns, name })) as AnalysisRun;
}

function stepRecord(r: Rollout): { name: string; status: string; message?: string } | undefined {
  return r.status?.canary?.currentStepAnalysisRunStatus as { name: string; status: string; message?: string } | undefined;
}

async function createRollout(sb: TestSandbox, ns: string, name: string, steps: CanaryStep[], env?: Record<string, string>): Promise<void> {
  await createRolloutNetworking(sb, { name, namespace: ns, router: true, trafficRate: 20 });
  const body = demoRollout({ name, namespace: ns, replicas: 2, steps, router: true, scaleDownDelaySeconds: 2, abortScaleDownDelaySeconds: 2 });
  if (env !== undefined) body.spec.template = demoPodTemplate({ name, env, terminationGracePeriodSeconds: 2 });
  await sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body });
  await waitForRollout(sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy');
}

/** A new revision of the demo app: another version tag and the given environment. */
async function release(sb: TestSandbox, ns: string, name: string, version: string, env: Record<string, string> = {}): Promise<void> {
  const current = await getRollout(sb, ns, name);
  const template = demoPodTemplate({ name, version, env, terminationGracePeriodSeconds: 2 });
  await sb.custom.replaceNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, name, body: { ...current, spec: { ...current.spec, template } } });
}

describe('analysis in rollouts', () => {
  const ctx = useControllerNamespace('analysis-ro');
  const ns = ctx.ns;
  const sbOf = (): TestSandbox => ctx.sb;

  it('a healthy canary passes the success-rate analysis at each step and is promoted', async () => {
    const sb = sbOf();
    await sb.custom.createNamespacedCustomObject({ ...TEMPLATES, namespace: ns, body: canarySuccessRate(ns, 'success-rate', { address: sb.state.prometheusUrl }) });
    await createRollout(sb, ns, 'good', [{ setWeight: 25 }, analysisStep('success-rate'), { setWeight: 50 }, analysisStep('success-rate')]);
    const before = await getRollout(sb, ns, 'good');
    await release(sb, ns, 'good', 'v2');
    const done = await waitForRollout(sb, ns, 'good', 'promoted by analysis', (s) => s.phase === 'Healthy' && s.stableRS !== before.status?.stableRS, 150_000);
    const hash = done.status?.stableRS ?? '';
    const runs = (await runsOf(sb, ns, 'good')).filter((r) => r.metadata.labels?.['rollouts-pod-template-hash'] === hash);
    assert.deepEqual(
      runs.map((r) => [r.metadata.labels?.['rollout-type'], r.metadata.labels?.['step-index'], r.status?.phase]),
      [
        ['Step', '1', 'Successful'],
        ['Step', '3', 'Successful'],
      ],
    );
    for (const run of runs) {
      assert.deepEqual(run.spec.args, [{ name: 'canary-hash', value: hash }], 'the canary hash is the argument');
      const m = run.status?.metricResults?.[0];
      assert.equal(m?.successful, 3, `three successful measurements in ${run.metadata.name ?? ''}`);
      assert.equal(m.failed, 0);
    }
  });

  it('an inconclusive result pauses with the reason, and weir promote continues', async () => {
    const sb = sbOf();
    // 20% errors: neither ≥ 99% success nor below 50%: inconclusive.
    await sb.custom.createNamespacedCustomObject({
      ...TEMPLATES,
      namespace: ns,
      body: canarySuccessRate(ns, 'success-rate-banded', { address: sb.state.prometheusUrl, count: 1, failureCondition: 'result[0] < 0.5' }),
    });
    await createRollout(sb, ns, 'unsure', [{ setWeight: 50 }, analysisStep('success-rate-banded')]);
    await release(sb, ns, 'unsure', 'v2', { ERROR_RATE: '0.2' });
    const paused = await waitForRollout(sb, ns, 'unsure', 'paused on the inconclusive run', (s) => s.phase === 'Paused', 120_000);
    assert.deepEqual(paused.status?.pauseConditions?.map((p) => p.reason), ['AnalysisRunInconclusive']);
    assert.match(paused.status.message ?? '', /^AnalysisRunInconclusive: analysis run ".+" is inconclusive/);
    assert.equal(stepRecord(paused)?.status, 'Inconclusive');
    const shown = await weir(sb, ['get', 'rollout', 'unsure', '-n', ns]);
    assert.match(shown, /AnalysisRunInconclusive/);
    await weir(sb, ['promote', 'unsure', '-n', ns]);
    const done = await waitForRollout(sb, ns, 'unsure', 'promoted after the person’s decision', (s) => s.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.stableRS !== paused.status?.stableRS);
    assert.equal(done.status?.pauseConditions, undefined);
  });

  describe('Prometheus stopped during an analysis', () => {
    // A Prometheus of this test's own (federating the sandbox's), so stopping it disturbs no other test.
    let prometheus: ManagedProcess | undefined;
    let dir = '';
    let port = 0;

    async function startOwnPrometheus(sb: TestSandbox): Promise<void> {
      const upstream = new URL(sb.state.prometheusUrl);
      await writeFile(
        join(dir, 'prometheus.yml'),
        `global: { scrape_interval: 1s }
scrape_configs:
  - job_name: federate
    scrape_interval: 1s
    scrape_timeout: 1s
    honor_labels: true
    metrics_path: /federate
    params: { 'match[]': ['{namespace="${ns}"}'] }
    static_configs: [{ targets: ['${upstream.host}'] }]
`,
      );
      prometheus = spawnManaged({
        name: 'prometheus',
        command: sandboxBinary('prometheus'),
        args: [`--config.file=${join(dir, 'prometheus.yml')}`, `--storage.tsdb.path=${join(dir, 'data')}`, `--web.listen-address=127.0.0.1:${port}`, '--log.level=warn'],
        logFile: join(dir, 'prometheus.log'),
      });
      const started = prometheus;
      await waitFor(
        async () => {
          if (started.hasExited()) throw new GiveUp(`own Prometheus exited during start-up; see ${join(dir, 'prometheus.log')}`);
          return (await fetch(`http://127.0.0.1:${port}/-/ready`).catch(() => undefined))?.status === 200;
        },
        { what: 'own Prometheus ready', timeoutMs: 60_000, intervalMs: 200 },
      );
    }

    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'weir-prom-'));
      port = await freePort();
    });
    after(async () => {
      await prometheus?.stop();
      await rm(dir, { recursive: true, force: true });
    });

    it('measurements become errors, the run is Error past consecutiveErrorLimit and the rollout aborts; with Prometheus back, weir retry completes', async () => {
      const sb = sbOf();
      await startOwnPrometheus(sb);
      const address = `http://127.0.0.1:${port}`;
      await sb.custom.createNamespacedCustomObject({
        ...TEMPLATES,
        namespace: ns,
        body: canarySuccessRate(ns, 'success-rate-own', { address, interval: '1s', count: 12, consecutiveErrorLimit: 2 }),
      });
      await createRollout(sb, ns, 'blind', [{ setWeight: 50 }, analysisStep('success-rate-own')]);
      const before = await getRollout(sb, ns, 'blind');
      await release(sb, ns, 'blind', 'v2');
      const measuring = await waitForRollout(sb, ns, 'blind', 'the analysis measuring', (s) => stepRecord({ status: s } as Rollout)?.status === 'Running', 60_000);
      const runName = stepRecord(measuring)?.name ?? '';
      await waitFor(async () => ((await getRun(sb, ns, runName)).status?.metricResults?.[0]?.successful ?? 0) >= 1, { what: 'a first successful measurement', timeoutMs: 60_000 });

      await prometheus?.stop();
      const aborted = await waitForRollout(sb, ns, 'blind', 'aborted on the Error run', (s) => s.abort === true && s.phase === 'Degraded', 60_000);
      assert.equal(aborted.status?.stableRS, before.status?.stableRS, 'not promoted');
      assert.match(aborted.status?.message ?? '', new RegExp(`step analysis run "${runName}" Error`));
      const run = await getRun(sb, ns, runName);
      const m = run.status?.metricResults?.[0];
      assert.equal(run.status?.phase, 'Error');
      assert.equal(m?.consecutiveError, 3, 'Error on the consecutiveErrorLimit+1-th error in a row');
      assert.ok(m.measurements.slice(-3).every((x) => x.phase === 'Error' && /ECONNREFUSED|connect|unreachable/i.test(x.message ?? '')), JSON.stringify(m.measurements.slice(-3)));

      await startOwnPrometheus(sb);
      await waitFor(
        async () => {
          const res = await fetch(`${address}/api/v1/query?query=${encodeURIComponent(`count(up{namespace="${ns}"})`)}`);
          const body = (await res.json()) as { data?: { result?: unknown[] } };
          return (body.data?.result?.length ?? 0) > 0;
        },
        { what: 'Prometheus back with data', timeoutMs: 60_000, intervalMs: 500 },
      );
      await weir(sb, ['retry', 'blind', '-n', ns]);
      const done = await waitForRollout(sb, ns, 'blind', 'completed after the retry', (s) => s.phase === 'Healthy' && s.stableRS !== before.status?.stableRS, 120_000);
      const retried = stepRecord(done);
      assert.equal(retried?.name, `${runName}.2`, 'the retry measured with a new run');
      assert.equal(retried.status, 'Successful');
    });
  });

  it('the judge promotes a canary statistically equal to stable and fails one whose latency is clearly higher', async () => {
    const sb = sbOf();
    const latency = (arg: string): string =>
      `sum(rate(http_request_duration_seconds_sum{namespace="${ns}",rollouts_pod_template_hash="{{args.${arg}}}"}[3s])) / sum(rate(http_request_duration_seconds_count{namespace="${ns}",rollouts_pod_template_hash="{{args.${arg}}}"}[3s]))`;
    await sb.custom.createNamespacedCustomObject({
      ...TEMPLATES,
      namespace: ns,
      body: {
        apiVersion: 'weir.dev/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: { name: 'latency-judge', namespace: ns },
        spec: {
          args: [{ name: 'baseline-hash' }, { name: 'canary-hash' }],
          metrics: [
            {
              name: 'latency',
              // 30 s of canary samples first.
              initialDelay: '30s',
              provider: {
                judge: {
                  address: sb.state.prometheusUrl,
                  window: '25s',
                  step: '1s',
                  metrics: [{ name: 'mean latency', baseline: { query: latency('baseline-hash') }, canary: { query: latency('canary-hash') }, direction: 'increase', effectSize: { allowedIncrease: 1.5 } }],
                },
              },
            },
          ],
        },
      },
    });
    const step: CanaryStep = {
      analysis: {
        templates: [{ templateName: 'latency-judge' }],
        args: [
          { name: 'baseline-hash', valueFrom: { podTemplateHashValue: 'Stable' } },
          { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
        ],
      },
    };
    await createRollout(sb, ns, 'judged', [{ setWeight: 50 }, step]);
    const v1 = await getRollout(sb, ns, 'judged');

    await release(sb, ns, 'judged', 'v2');
    const equal = await waitForRollout(sb, ns, 'judged', 'the equal canary promoted', (s) => s.phase === 'Healthy' && s.stableRS !== v1.status?.stableRS, 150_000);
    assert.equal(stepRecord(equal)?.status, 'Successful');

    await release(sb, ns, 'judged', 'v3', { LATENCY_MS: '150', LATENCY_JITTER_MS: '20' });
    const slower = await waitForRollout(sb, ns, 'judged', 'the slower canary aborted', (s) => s.abort === true && s.phase === 'Degraded', 150_000);
    assert.equal(slower.status?.stableRS, equal.status?.stableRS, 'the slower canary is not promoted');
    const run = await getRun(sb, ns, stepRecord(slower)?.name ?? '');
    assert.equal(run.status?.phase, 'Failed');
    assert.match(run.status.metricResults?.[0]?.measurements.at(-1)?.message ?? '', /^score 0 \(fail\): mean latency: High/);
  });

  it('30% errors: the rollout aborts right after the failureLimit+1-th failed measurement and Git returns to the last good commit', async () => {
    const sb = sbOf();
    const w = await GitWorkspace.create(await createSandboxRepository(sb.state, `${ns}-shop`));
    try {
      const steps = [{ setWeight: 50 }, analysisStep('shop-success-rate')];
      const template = canarySuccessRate(ns, 'shop-success-rate', { address: sb.state.prometheusUrl, interval: '2s', count: 10, failureLimit: 1 });
      const writeApp = async (version: string, greeting: string, appEnv?: Record<string, string>): Promise<void> => {
        for (const [path, content] of Object.entries(appFiles({ name: 'shop', namespace: ns, version, greeting, steps, ...(appEnv ? { env: appEnv } : {}) }))) await w.write(path, content);
        await w.write('apps/shop/analysis.yaml', JSON.stringify(template));
      };
      await writeApp('v1', 'hello');
      const good = await w.commit('shop v1');
      await sb.custom.createNamespacedCustomObject({
        ...GITSOURCES,
        namespace: ns,
        body: {
          apiVersion: 'weir.dev/v1alpha1',
          kind: 'GitSource',
          metadata: { name: 'shop', namespace: ns },
          spec: { url: w.url, ref: { branch: 'main' }, paths: ['apps/shop'], interval: '2s', rollback: { writeBack: 'revert' } },
        },
      });
      const v1 = await waitForRollout(sb, ns, 'shop', 'v1 healthy from Git', (s) => s.phase === 'Healthy' && s.git?.stableRevision === good, 120_000);

      await writeApp('v2', 'bad-release', { ERROR_RATE: '0.3' });
      const bad = await w.commit('shop v2: 30% errors');
      // The abort lasts only until the GitSource rolls back (about a second): wait for the durable outcome, the
      // revert in Git, and read the abort from its Event and the run from the cluster.
      const source = await waitFor(
        async () => {
          const s = (await sb.custom.getNamespacedCustomObject({ ...GITSOURCES, namespace: ns, name: 'shop' })) as GitSource;
          return s.status?.revertRevisions?.some((r) => r.rejected === bad) === true ? s : undefined;
        },
        { what: 'the bad commit rejected and reverted in Git', timeoutMs: 150_000, intervalMs: 500 },
      );
      const failedRuns = (await runsOf(sb, ns, 'shop')).filter((r) => r.status?.phase === 'Failed');
      assert.equal(failedRuns.length, 1, 'one failed step run');
      const run = failedRuns[0];
      assert.ok(run);
      const m = run.status?.metricResults?.[0];
      assert.ok(m, 'the run has its metric result');
      assert.equal(m.failed, 2, 'failed on the failureLimit+1-th failure');
      const failed = m.measurements.filter((x) => x.phase === 'Failed');
      assert.equal(failed.length, 2);
      const decisive = failed.at(-1);
      assert.ok(decisive?.finishedAt);
      // Nothing was measured after the decisive failure, and the abort came before the next measurement was due.
      assert.equal(m.measurements.at(-1), decisive);
      const abortEvent = (await sb.core.listNamespacedEvent({ namespace: ns })).items.find(
        (e) => e.involvedObject.kind === 'Rollout' && e.involvedObject.name === 'shop' && e.reason === 'RolloutAborted',
      );
      assert.ok(abortEvent, 'a RolloutAborted Event');
      assert.match(abortEvent.message ?? '', new RegExp(`step analysis run "${run.metadata.name ?? ''}" Failed`));
      const abortedAt = new Date(abortEvent.firstTimestamp ?? 0).getTime();
      const finished = Date.parse(decisive.finishedAt);
      // Event times have whole seconds.
      assert.ok(abortedAt >= Math.floor(finished / 1000) * 1000, `aborted at ${new Date(abortedAt).toISOString()}, before the decisive measurement ${decisive.finishedAt}`);
      assert.ok(abortedAt < finished + 2000, `aborted at ${new Date(abortedAt).toISOString()}, later than the next measurement would have been due`);

      assert.match(source.status?.rejectedRevisions?.find((r) => r.revision === bad)?.reason ?? '', /analysis run/);
      const back = await waitForRollout(sb, ns, 'shop', 'back on the last good revision', (s) => s.phase === 'Healthy' && s.currentPodHash === v1.status?.stableRS, 90_000);
      assert.equal(back.status?.stableRS, v1.status?.stableRS);
      const cm = await sb.core.readNamespacedConfigMap({ name: 'shop-config', namespace: ns });
      assert.equal(cm.data?.GREETING, 'hello', 'the ConfigMap of the last good commit');
    } finally {
      await w.dispose();
    }
  });
});
