// Canary without a traffic router: the canary's share of ready replicas
// follows the step weights (replica-proportional traffic), and an abort puts
// everything back on stable; retry runs the steps again.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useControllerNamespace } from './support/controller.ts';
import { ROLLOUTS, createRolloutNetworking, demoRollout, setImage, waitForRollout, weir } from './support/rollouts.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../src/engine/types.ts';
import { waitFor } from '../src/util/wait.ts';

describe('canary without a router', () => {
  const cx = useControllerNamespace('basic');
  const ns = cx.ns;


  async function readyByHash(app: string): Promise<Record<string, number>> {
    const pods = (await cx.sb.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items;
    const counts: Record<string, number> = {};
    for (const p of pods) {
      const ready = p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') && !p.metadata?.deletionTimestamp;
      const hash = p.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL] ?? '';
      if (ready) counts[hash] = (counts[hash] ?? 0) + 1;
    }
    return counts;
  }

  it("the canary's ready-replica share follows the weights", async () => {
    const name = 'shares';
    await createRolloutNetworking(cx.sb, { name, namespace: ns, router: false });
    await cx.sb.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns,
      body: demoRollout({ name, namespace: ns, replicas: 10, steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] }),
    });
    const first = await waitForRollout(cx.sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 10);
    const stableHash = first.status?.stableRS ?? '';
    await setImage(cx.sb, ns, name, 'v2');
    for (const [step, weight] of [[1, 20], [3, 50]] as const) {
      const paused = await waitForRollout(cx.sb, ns, name, `paused after setWeight ${weight}`, (s) => s.currentStepIndex === step && s.phase === 'Paused');
      const canaryHash = paused.status?.currentPodHash ?? '';
      const counts = await waitFor(
        async () => {
          const c = await readyByHash(name);
          return (c[canaryHash] ?? 0) + (c[stableHash] ?? 0) === 10 ? c : undefined;
        },
        { what: 'ten ready pods', timeoutMs: 30_000 },
      );
      assert.equal(counts[canaryHash], weight / 10, `setWeight ${weight}: ${weight}% of 10 replicas are canary`);
      assert.equal(counts[stableHash], 10 - weight / 10);
      assert.equal(paused.status?.canary?.weights?.canary.weight, weight);
      await weir(cx.sb, ['promote', name, '-n', ns]);
    }
    await waitForRollout(cx.sb, ns, name, 'Healthy on v2', (s) => s.phase === 'Healthy' && s.stableRS !== stableHash && s.availableReplicas === 10);
  });

  it('abort returns everything to stable, scales the canary down after the delay; retry restarts the steps', async () => {
    const name = 'aborts';
    await createRolloutNetworking(cx.sb, { name, namespace: ns, router: false });
    await cx.sb.custom.createNamespacedCustomObject({
      ...ROLLOUTS,
      namespace: ns,
      body: demoRollout({ name, namespace: ns, replicas: 4, steps: [{ setWeight: 50 }, { pause: {} }], abortScaleDownDelaySeconds: 3 }),
    });
    const first = await waitForRollout(cx.sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 4);
    const stableHash = first.status?.stableRS ?? '';
    await setImage(cx.sb, ns, name, 'v2');
    const paused = await waitForRollout(cx.sb, ns, name, 'paused at 50%', (s) => s.currentStepIndex === 1 && s.phase === 'Paused');
    const canaryHash = paused.status?.currentPodHash ?? '';

    await weir(cx.sb, ['abort', name, '-n', ns]);
    const aborted = await waitForRollout(cx.sb, ns, name, 'Degraded after abort', (s) => s.phase === 'Degraded' && s.abort === true);
    assert.match(aborted.status?.message ?? '', /abort/i);
    const canarySvc = await cx.sb.core.readNamespacedService({ name: `${name}-canary`, namespace: ns });
    const stableSvc = await cx.sb.core.readNamespacedService({ name: `${name}-stable`, namespace: ns });
    assert.equal(stableSvc.spec?.selector?.[POD_TEMPLATE_HASH_LABEL], stableHash);
    assert.ok(canarySvc.spec?.selector);
    // Stable back to full size, canary scaled to 0 once abortScaleDownDelaySeconds passed.
    await waitFor(async () => (await readyByHash(name))[stableHash] === 4, { what: 'stable at 4 ready pods', timeoutMs: 30_000 });
    await waitFor(
      async () => (await cx.sb.apps.readNamespacedReplicaSet({ name: `${name}-${canaryHash}`, namespace: ns })).spec?.replicas === 0,
      { what: 'canary ReplicaSet scaled to 0', timeoutMs: 30_000 },
    );

    await weir(cx.sb, ['retry', name, '-n', ns]);
    const retried = await waitForRollout(cx.sb, ns, name, 'steps again after retry', (s) => s.abort !== true && s.currentStepIndex === 1 && s.phase === 'Paused');
    assert.equal(retried.status?.currentPodHash, canaryHash);
  });

  it('weir restart replaces every pod, never more than maxUnavailable at once, and records restartedAt', async () => {
    const name = 'restarts';
    await createRolloutNetworking(cx.sb, { name, namespace: ns, router: false });
    await cx.sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body: demoRollout({ name, namespace: ns, replicas: 3, steps: [{ setWeight: 50 }] }) });
    await waitForRollout(cx.sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 3);
    const before = new Set((await cx.sb.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${name}` })).items.map((p) => p.metadata?.name));
    let minReady = 3;
    const sampler = setInterval(() => {
      void readyByHash(name).then((c) => {
        minReady = Math.min(minReady, Object.values(c).reduce((a, b) => a + b, 0));
      });
    }, 100);
    try {
      assert.match(await weir(cx.sb, ['restart', name, '-n', ns]), /restarted/);
      const done = await waitForRollout(cx.sb, ns, name, 'restartedAt recorded', (s, r) => s.restartedAt !== undefined && s.restartedAt === r.spec.restartAt, 120_000);
      assert.equal(done.status?.phase, 'Healthy');
    } finally {
      clearInterval(sampler);
    }
    const after = (await cx.sb.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${name}` })).items.filter((p) => !p.metadata?.deletionTimestamp);
    assert.equal(after.length, 3);
    for (const p of after) assert.ok(!before.has(p.metadata?.name), `pod ${p.metadata?.name ?? ''} is new`);
    // maxUnavailable defaults to 25% of 3, rounded down, and at least one: one pod at a time.
    assert.ok(minReady >= 2, `at most one pod was unavailable at a time (lowest ready count seen: ${minReady})`);
  });
});
