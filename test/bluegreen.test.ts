// Blue/green on the sandbox, with the demo app and real traffic on the active
// Service: the preview comes up while the active Service keeps every request
// on the old pods until promotion (manual, or after autoPromotionSeconds);
// a failed pre-promotion analysis measured on the preview aborts and Git
// returns to the last good commit; a failed post-promotion analysis puts the
// active Service back on the previous ReplicaSet before it is scaled down;
// and a controller killed between the switch and the scale-down still scales
// down on time after its restart.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Watch, type V1ReplicaSet, type V1Service } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import type { AnalysisRun } from '../src/api/analysis.ts';
import type { GitSource } from '../src/api/gitsource.ts';
import type { Rollout } from '../src/api/rollout.ts';
import { createSandboxRepository } from '../src/sandbox/index.ts';
import { waitFor } from '../src/util/wait.ts';
import { successRateTemplate } from './support/analysis.ts';
import { startController, type ControllerProcess } from './support/controller.ts';
import { demoPodTemplate, namespace } from './support/demo-app.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { getRollout, installCrds, ROLLOUTS, waitForRollout, weir } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const HASH = 'rollouts-pod-template-hash';
const TEMPLATES = { group: 'weir.dev', version: 'v1alpha1', plural: 'analysistemplates' } as const;
const RUNS = { group: 'weir.dev', version: 'v1alpha1', plural: 'analysisruns' } as const;
const GITSOURCES = { group: 'weir.dev', version: 'v1alpha1', plural: 'gitsources' } as const;

interface BlueGreenOptions {
  autoPromotionEnabled?: boolean;
  autoPromotionSeconds?: number;
  scaleDownDelaySeconds?: number;
  prePromotionAnalysis?: unknown;
  postPromotionAnalysis?: unknown;
  activeMetadata?: { labels: Record<string, string> };
  previewMetadata?: { labels: Record<string, string> };
}

function services(ns: string, name: string, previewTraffic: boolean): string {
  const svc = (role: string, traffic: boolean): string => `apiVersion: v1
kind: Service
metadata:
  name: ${name}-${role}
  namespace: ${ns}
${traffic ? `  annotations:\n    sandbox.weir.dev/traffic-rate: "20"\n` : ''}spec:
  selector: { app: ${name} }
  ports: [{ name: http, port: 80, targetPort: http }]
`;
  return `${svc('active', true)}---\n${svc('preview', previewTraffic)}`;
}

function blueGreenRollout(ns: string, name: string, version: string, env: Record<string, string>, o: BlueGreenOptions): Rollout {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name, namespace: ns },
    spec: {
      replicas: 2,
      selector: { matchLabels: { app: name } },
      template: demoPodTemplate({ name, version, env, terminationGracePeriodSeconds: 2 }),
      strategy: {
        blueGreen: {
          activeService: `${name}-active`,
          previewService: `${name}-preview`,
          scaleDownDelaySeconds: o.scaleDownDelaySeconds ?? 5,
          abortScaleDownDelaySeconds: 2,
          ...(o.autoPromotionEnabled !== undefined ? { autoPromotionEnabled: o.autoPromotionEnabled } : {}),
          ...(o.autoPromotionSeconds !== undefined ? { autoPromotionSeconds: o.autoPromotionSeconds } : {}),
          ...(o.prePromotionAnalysis !== undefined ? { prePromotionAnalysis: o.prePromotionAnalysis } : {}),
          ...(o.postPromotionAnalysis !== undefined ? { postPromotionAnalysis: o.postPromotionAnalysis } : {}),
          ...(o.activeMetadata !== undefined ? { activeMetadata: o.activeMetadata } : {}),
          ...(o.previewMetadata !== undefined ? { previewMetadata: o.previewMetadata } : {}),
        } as NonNullable<Rollout['spec']['strategy']['blueGreen']>,
      },
    },
  };
}

const LATEST_HASH_ARG = { templates: [{ templateName: 'success-rate' }], args: [{ name: 'hash', valueFrom: { podTemplateHashValue: 'Latest' } }] };

describe('blue/green', () => {
  let sb: TestSandbox;
  let controller: ControllerProcess | undefined;
  const ns = uniqueName('bluegreen');
  let restarts = 0;

  before(async () => {
    sb = await testSandbox();
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
    controller = await startController(sb, { namespace: ns, logName: ns });
    const metric = { initialDelay: '5s', interval: '2s', count: 4, failureLimit: 1 };
    const template = successRateTemplate({ namespace: ns, name: 'success-rate', address: sb.state.prometheusUrl, label: 'rollouts_pod_template_hash', arg: 'hash', metric });
    await sb.custom.createNamespacedCustomObject({ ...TEMPLATES, namespace: ns, body: template });
  });
  after(async () => {
    await controller?.stop();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  async function applyServices(name: string, previewTraffic = false): Promise<void> {
    for (const doc of services(ns, name, previewTraffic).split('---\n')) await sb.core.createNamespacedService({ namespace: ns, body: load(doc) as V1Service });
  }

  async function create(name: string, o: BlueGreenOptions, env: Record<string, string> = {}, previewTraffic = false): Promise<Rollout> {
    await applyServices(name, previewTraffic);
    await sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body: blueGreenRollout(ns, name, 'v1', env, o) });
    return waitForRollout(sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 2, 120_000);
  }

  async function release(name: string, version: string, env: Record<string, string> = {}): Promise<void> {
    const current = await getRollout(sb, ns, name);
    await sb.custom.replaceNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, name, body: { ...current, spec: { ...current.spec, template: demoPodTemplate({ name, version, env, terminationGracePeriodSeconds: 2 }) } } });
  }

  async function serviceHash(svc: string): Promise<string | undefined> {
    return (await sb.core.readNamespacedService({ name: svc, namespace: ns })).spec?.selector?.[HASH];
  }

  /** Requests each pod of a hash has served, read from the pods themselves (no scrape lag). */
  async function served(hash: string): Promise<number> {
    const pods = await sb.core.listNamespacedPod({ namespace: ns, labelSelector: `${HASH}=${hash}` });
    let total = 0;
    for (const pod of pods.items) {
      if (pod.status?.podIP === undefined || pod.metadata?.deletionTimestamp !== undefined) continue;
      const text = await (await fetch(`http://${pod.status.podIP}:8080/metrics`)).text();
      for (const line of text.split('\n')) {
        const m = /^http_requests_total\{[^}]*\} (\d+(?:\.\d+)?)$/.exec(line);
        if (m) total += Number(m[1]);
      }
    }
    return total;
  }

  /** The `role` label of each running pod of a hash. */
  async function roles(hash: string): Promise<string[]> {
    const pods = await sb.core.listNamespacedPod({ namespace: ns, labelSelector: `${HASH}=${hash}` });
    return pods.items.filter((p) => p.metadata?.deletionTimestamp === undefined).map((p) => p.metadata?.labels?.role ?? '').sort();
  }

  async function events(reason: string): Promise<{ message: string; at: number }[]> {
    const list = await sb.core.listNamespacedEvent({ namespace: ns });
    return list.items
      .filter((e) => e.reason === reason)
      .map((e) => ({ message: e.message ?? '', at: new Date(e.lastTimestamp ?? e.firstTimestamp ?? e.eventTime ?? 0).getTime() }));
  }

  it('the preview comes up while the active Service keeps every request on the old pods; weir promote switches them all to the new', async () => {
    const name = 'manual';
    const v1 = await create(name, { autoPromotionEnabled: false, activeMetadata: { labels: { role: 'active' } }, previewMetadata: { labels: { role: 'preview' } } });
    const oldHash = v1.status?.stableRS ?? '';
    assert.equal(await serviceHash(`${name}-active`), oldHash);
    await release(name, 'v2');
    const paused = await waitForRollout(sb, ns, name, 'paused for promotion', (s) => s.phase === 'Paused' && (s.pauseConditions ?? []).some((p) => p.reason === 'BlueGreenPause'), 90_000);
    const newHash = paused.status?.currentPodHash ?? '';
    assert.notEqual(newHash, oldHash);
    assert.equal(await serviceHash(`${name}-preview`), newHash, 'the preview Service selects the new pods');
    assert.equal(await serviceHash(`${name}-active`), oldHash, 'the active Service is untouched');
    assert.deepEqual(await roles(newHash), ['preview', 'preview'], 'the preview pods carry previewMetadata');

    // While paused: the active Service's traffic reaches only the old pods.
    const oldBefore = await served(oldHash);
    await waitFor(async () => (await served(oldHash)) >= oldBefore + 40, { what: '40 more requests on the old pods', timeoutMs: 30_000, intervalMs: 250 });
    assert.equal(await served(newHash), 0, 'no request reached the preview pods through the active Service');

    await weir(sb, ['promote', name, '-n', ns]);
    await waitForRollout(sb, ns, name, 'promoted', (s) => s.phase === 'Healthy' && s.stableRS === newHash, 90_000);
    assert.equal(await serviceHash(`${name}-active`), newHash);
    await waitFor(async () => JSON.stringify(await roles(newHash)) === '["active","active"]', { what: 'the new pods relabelled with activeMetadata', timeoutMs: 10_000, intervalMs: 100 });
    // After the switch: every request goes to the new pods.
    await waitFor(async () => (await served(newHash)) > 0, { what: 'requests on the new pods', timeoutMs: 30_000, intervalMs: 100 });
    const oldAfter = await served(oldHash);
    const newAfter = await served(newHash);
    await waitFor(async () => (await served(newHash)) >= newAfter + 40, { what: '40 more requests on the new pods', timeoutMs: 30_000, intervalMs: 250 });
    assert.equal(await served(oldHash), oldAfter, 'no request reached the old pods after the switch');
  });

  it('auto-promotion after autoPromotionSeconds, counted from the preview being available', async () => {
    const name = 'timed';
    await create(name, { autoPromotionSeconds: 6 });
    await release(name, 'v2');
    const paused = await waitForRollout(sb, ns, name, 'paused for autoPromotionSeconds', (s) => (s.pauseConditions ?? []).some((p) => p.reason === 'BlueGreenPause'), 90_000);
    const start = Date.parse(paused.status?.pauseConditions?.[0]?.startTime ?? '');
    const newHash = paused.status?.currentPodHash ?? '';
    const done = await waitForRollout(sb, ns, name, 'promoted by itself', (s) => s.phase === 'Healthy' && s.stableRS === newHash, 60_000);
    assert.equal(done.status?.pauseConditions, undefined);
    const promoting = (await events('RolloutPromoting')).find((e) => e.message.includes('autoPromotionSeconds (6s)'));
    assert.ok(promoting, 'promoted by autoPromotionSeconds');
    assert.ok(promoting.at >= start + 6000 - 1000, `promoted at ${new Date(promoting.at).toISOString()}, 6 s after ${new Date(start).toISOString()}`);
    assert.equal(await serviceHash(`${name}-active`), newHash);
  });

  it('a failed post-promotion analysis puts the active Service back on the previous ReplicaSet, which was never scaled down', async () => {
    const name = 'post';
    const v1 = await create(name, { postPromotionAnalysis: LATEST_HASH_ARG, scaleDownDelaySeconds: 5 });
    const oldHash = v1.status?.stableRS ?? '';
    const oldRS = `${name}-${oldHash}`;
    const sizes: number[] = [];
    const watch = await new Watch(sb.kc).watch(
      `/apis/apps/v1/namespaces/${ns}/replicasets`,
      { fieldSelector: `metadata.name=${oldRS}` },
      (_type: string, rs: V1ReplicaSet) => {
        sizes.push(rs.spec?.replicas ?? -1);
      },
      () => undefined,
    );
    try {
      await release(name, 'v2', { ERROR_RATE: '0.3' });
      const switched = await waitForRollout(sb, ns, name, 'switched, post-promotion analysis running', (s) => s.blueGreen?.activeSelector === s.currentPodHash && s.currentPodHash !== oldHash, 90_000);
      const newHash = switched.status?.currentPodHash ?? '';
      const aborted = await waitForRollout(sb, ns, name, 'aborted by post-promotion analysis', (s) => s.abort === true, 90_000);
      assert.match(aborted.status?.message ?? '', /post-promotion analysis run ".*-post" Failed/);
      await waitFor(async () => (await serviceHash(`${name}-active`)) === oldHash, { what: 'the active Service back on the previous ReplicaSet', timeoutMs: 10_000, intervalMs: 100 });
      assert.equal(aborted.status?.stableRS, oldHash);
      const rs = await sb.apps.readNamespacedReplicaSet({ name: oldRS, namespace: ns });
      assert.equal(rs.status?.availableReplicas, 2, 'the previous ReplicaSet serves at full size');
      assert.ok(sizes.length > 0 && sizes.every((n) => n === 2), `the previous ReplicaSet was never scaled down: ${sizes.join(',')}`);
      const run = (await sb.custom.getNamespacedCustomObject({ ...RUNS, namespace: ns, name: `${name}-${newHash}-2-post` })) as AnalysisRun;
      assert.equal(run.status?.phase, 'Failed');
    } finally {
      watch.abort();
    }
  });

  it('killed between the switch and the scale-down, the restarted controller still scales down on time', async () => {
    const name = 'killed';
    const v1 = await create(name, { scaleDownDelaySeconds: 12 });
    const oldRS = `${name}-${v1.status?.stableRS ?? ''}`;
    let scaledAt: number | undefined;
    const watch = await new Watch(sb.kc).watch(
      `/apis/apps/v1/namespaces/${ns}/replicasets`,
      { fieldSelector: `metadata.name=${oldRS}` },
      (_type: string, rs: V1ReplicaSet) => {
        if (rs.spec?.replicas === 0) scaledAt ??= Date.now();
      },
      () => undefined,
    );
    try {
      await release(name, 'v2');
      const deadlineText = await waitFor(
        async () => (await sb.apps.readNamespacedReplicaSet({ name: oldRS, namespace: ns })).metadata?.annotations?.['scale-down-deadline'],
        { what: 'the scale-down deadline on the previous ReplicaSet', timeoutMs: 90_000, intervalMs: 100 },
      );
      assert.equal(await serviceHash(`${name}-active`), (await getRollout(sb, ns, name)).status?.currentPodHash, 'switched');
      await controller?.kill();
      restarts++;
      controller = await startController(sb, { namespace: ns, logName: `${ns}-${restarts}` });
      const at = await waitFor(() => scaledAt, { what: 'the previous ReplicaSet scaled to 0', timeoutMs: 60_000, intervalMs: 100 });
      const deadline = Date.parse(deadlineText);
      assert.ok(at >= deadline - 1000, `not before the deadline (${deadlineText}); scaled at ${new Date(at).toISOString()}`);
      assert.ok(at <= deadline + 5000, `on time after the restart (deadline ${deadlineText}); scaled at ${new Date(at).toISOString()}`);
      const rs = await sb.apps.readNamespacedReplicaSet({ name: oldRS, namespace: ns });
      assert.equal(rs.metadata?.annotations?.['scale-down-deadline'], undefined, 'the deadline is cleared once done');
    } finally {
      watch.abort();
    }
  });

  it('a failed pre-promotion analysis on the preview (30% errors): no switch, abort, and Git returns to the last good commit', async () => {
    const name = 'shop';
    const w = await GitWorkspace.create(await createSandboxRepository(sb.state, `${ns}-${name}`));
    try {
      const write = async (version: string, env: Record<string, string>): Promise<void> => {
        await w.write('app/services.yaml', services(ns, name, true));
        await w.write('app/rollout.yaml', JSON.stringify(blueGreenRollout(ns, name, version, env, { prePromotionAnalysis: LATEST_HASH_ARG, autoPromotionEnabled: false })));
      };
      await write('v1', {});
      const good = await w.commit('shop v1');
      await sb.custom.createNamespacedCustomObject({
        ...GITSOURCES,
        namespace: ns,
        body: {
          apiVersion: 'weir.dev/v1alpha1',
          kind: 'GitSource',
          metadata: { name, namespace: ns },
          spec: { url: w.url, ref: { branch: 'main' }, paths: ['app'], interval: '2s', rollback: { writeBack: 'revert' } },
        },
      });
      const v1 = await waitForRollout(sb, ns, name, 'v1 healthy from Git', (s) => s.phase === 'Healthy' && s.git?.stableRevision === good, 120_000);
      const oldHash = v1.status?.stableRS ?? '';
      await write('v2', { ERROR_RATE: '0.3' });
      const bad = await w.commit('shop v2: 30% errors');
      // The abort lasts only until the GitSource rolls back: wait for the revert in Git, then read what happened.
      const source = await waitFor(
        async () => {
          const s = (await sb.custom.getNamespacedCustomObject({ ...GITSOURCES, namespace: ns, name })) as GitSource;
          return s.status?.revertRevisions?.some((r) => r.rejected === bad) === true ? s : undefined;
        },
        { what: 'the bad commit rejected and reverted in Git', timeoutMs: 150_000, intervalMs: 500 },
      );
      const aborted = (await events('RolloutAborted')).find((e) => /pre-promotion analysis run ".*-pre" Failed/.test(e.message));
      assert.ok(aborted, 'aborted by the pre-promotion analysis');
      const runs = (await sb.custom.listNamespacedCustomObject({ ...RUNS, namespace: ns, labelSelector: `weir.dev/rollout=${name},rollout-type=PrePromotion` })) as { items: AnalysisRun[] };
      const failedRun = runs.items.find((r) => r.status?.phase === 'Failed');
      const badHash = failedRun?.metadata.labels?.[HASH] ?? '?';
      assert.notEqual(badHash, oldHash);
      const switches = (await events('SwitchService')).filter((e) => e.message.includes(`'${name}-active'`) && e.message.includes(badHash));
      assert.deepEqual(switches, [], 'the active Service never selected the failing version');
      assert.ok(source.status?.rejectedRevisions?.some((r) => r.revision === bad));
      const back = await waitForRollout(sb, ns, name, 'back on the last good revision', (s) => s.phase === 'Healthy' && s.currentPodHash === oldHash, 90_000);
      assert.equal(back.status?.stableRS, oldHash);
      assert.equal(await serviceHash(`${name}-active`), oldHash);
      assert.equal(await serviceHash(`${name}-preview`), oldHash);
    } finally {
      await w.dispose();
    }
  });
});
