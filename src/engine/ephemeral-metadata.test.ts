// Ephemeral pod metadata: a ReplicaSet's pod template and running pods carry
// the labels and annotations of its role (canary/stable, preview/active) and
// drop those of a role it lost, in the same write as any resize.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { healthyWorld, reconcile, rsByHash, runUntilSteady, setImage, status, updateSpec, type World } from './testkit.ts';
import type { Effect } from './types.ts';

function podPatches(world: World): Extract<Effect, { type: 'patchPodMetadata' }>[] {
  return world.effects.flatMap((e) => (e.type === 'patchPodMetadata' ? [e] : []));
}

describe('ephemeral pod metadata', () => {
  it('canary: the canary ReplicaSet carries canaryMetadata, and at promotion trades it for stableMetadata', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ setWeight: 50 }, { pause: {} }] });
    updateSpec(world, (r) => {
      const canary = r.spec.strategy.canary;
      assert.ok(canary);
      canary.canaryMetadata = { labels: { role: 'canary' }, annotations: { 'weir.dev/track': 'canary' } };
      canary.stableMetadata = { labels: { role: 'stable' } };
    });
    runUntilSteady(world);
    const v1 = status(world).stableRS;
    assert.equal(rsByHash(world, v1)?.podLabels?.role, 'stable', 'a running stable ReplicaSet gets stableMetadata');
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const v2 = status(world).currentPodHash;
    assert.equal(rsByHash(world, v2)?.podLabels?.role, 'canary');
    assert.equal(rsByHash(world, v2)?.podAnnotations?.['weir.dev/track'], 'canary');
    // A pod of the canary that was started before the change of role.
    world.observed.pods = [{ name: 'demo-v2-a', podTemplateHash: v2 ?? '', creationTimestamp: world.now.toISOString(), ready: true, deleting: false, labels: { app: 'demo', role: 'canary', 'rollouts-pod-template-hash': v2 ?? '' }, annotations: { 'weir.dev/track': 'canary' } }];
    const start = world.effects.length;
    const plan = reconcile(world);
    assert.deepEqual(plan.effects.filter((e) => e.type === 'patchPodMetadata'), [], 'nothing to change while it stays the canary');
    world.effects.splice(start);
    promote(world);
    runUntilSteady(world);
    assert.equal(status(world).stableRS, v2);
    assert.equal(rsByHash(world, v2)?.podLabels?.role, 'stable');
    assert.equal(rsByHash(world, v2)?.podAnnotations?.['weir.dev/track'], undefined, 'canary-only annotations are removed');
    assert.deepEqual(podPatches(world).at(-1), { type: 'patchPodMetadata', name: 'demo-v2-a', labels: { role: 'stable' }, annotations: { 'weir.dev/track': null } });
    const scales = world.effects.filter((e) => e.type === 'scaleReplicaSet' && e.name.endsWith(v2 ?? '?') && e.podMetadata !== undefined);
    assert.ok(scales.length > 0);
    assert.equal(rsByHash(world, v2)?.podLabels?.['rollouts-pod-template-hash'], v2, 'the hash label is never touched');
  });

  it('blue/green: the preview carries previewMetadata, and at the switch activeMetadata', () => {
    const world = healthyWorld({ replicas: 2, blueGreen: { previewMetadata: { labels: { role: 'preview' } }, activeMetadata: { labels: { role: 'active' } } } });
    const v1 = status(world).stableRS;
    assert.equal(rsByHash(world, v1)?.podLabels?.role, 'active');
    setImage(world, 'demo:v2');
    reconcile(world);
    const v2 = status(world).currentPodHash;
    assert.equal(rsByHash(world, v2)?.podLabels?.role, 'preview');
    runUntilSteady(world);
    assert.equal(rsByHash(world, v2)?.podLabels?.role, 'active');
    assert.equal(rsByHash(world, v1)?.podLabels?.role, undefined, 'the previous ReplicaSet is no longer active');
  });
});

function promote(world: World): void {
  // weir promote: clear the pause.
  const r = structuredClone(world.rollout);
  if (r.status) delete r.status.pauseConditions;
  world.rollout = r;
}
