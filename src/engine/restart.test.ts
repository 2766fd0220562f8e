import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rollout, RolloutStatus } from '../api/rollout.ts';
import { planRestart } from './restart.ts';
import type { ObservedPod, ObservedReplicaSet } from './types.ts';

const now = Date.parse('2026-11-22T10:00:00Z');
const restartAt = '2026-11-22T09:59:00Z';

function rollout(at: string | undefined): Rollout {
  return { apiVersion: 'weir.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { ...(at ? { restartAt: at } : {}), strategy: { canary: {} } } };
}
const rs: ObservedReplicaSet = {
  name: 'r-abc', podTemplateHash: 'abc', replicas: 3, currentReplicas: 3, readyReplicas: 3, availableReplicas: 3, revision: 1, creationTimestamp: '2026-11-22T09:00:00Z', deleting: false,
};
function pod(name: string, created: string, extra: Partial<ObservedPod> = {}): ObservedPod {
  return { name, podTemplateHash: 'abc', creationTimestamp: created, ready: true, deleting: false, ...extra };
}
const healthy: RolloutStatus = { phase: 'Healthy' };
const old = [pod('p3', '2026-11-22T09:03:00Z'), pod('p1', '2026-11-22T09:01:00Z'), pod('p2', '2026-11-22T09:02:00Z')];

describe('planRestart', () => {
  it('does nothing without restartAt, or once restartedAt records it', () => {
    assert.deepEqual(planRestart(rollout(undefined), healthy, [rs], old, 1, now), { effects: [] });
    assert.deepEqual(planRestart(rollout(restartAt), { ...healthy, restartedAt: restartAt }, [rs], old, 1, now), { effects: [] });
  });

  it('waits for a restartAt in the future', () => {
    const later = '2026-11-22T10:05:00Z';
    assert.deepEqual(planRestart(rollout(later), healthy, [rs], old, 1, now), { effects: [], requeueAt: Date.parse(later) });
  });

  it('waits while an update is in progress', () => {
    assert.deepEqual(planRestart(rollout(restartAt), { phase: 'Progressing' }, [rs], old, 1, now).effects, []);
  });

  it('evicts the oldest pod first, as many as maxUnavailable allows', () => {
    assert.deepEqual(planRestart(rollout(restartAt), healthy, [rs], old, 1, now).effects, [{ type: 'evictPod', name: 'p1' }]);
    assert.deepEqual(planRestart(rollout(restartAt), healthy, [rs], old, 2, now).effects, [
      { type: 'evictPod', name: 'p1' },
      { type: 'evictPod', name: 'p2' },
    ]);
  });

  it('evicts at least one pod when maxUnavailable is 0, but none while that one is not back', () => {
    assert.equal(planRestart(rollout(restartAt), healthy, [rs], old, 0, now).effects.length, 1);
    const replaced = [pod('p1', '2026-11-22T09:01:00Z', { deleting: true }), pod('p2', '2026-11-22T09:02:00Z'), pod('new', '2026-11-22T09:59:30Z', { ready: false })];
    assert.deepEqual(planRestart(rollout(restartAt), healthy, [rs], replaced, 1, now).effects, []);
  });

  it('records restartedAt once every pod is newer and ready', () => {
    const fresh = [pod('a', '2026-11-22T09:59:10Z'), pod('b', '2026-11-22T09:59:20Z'), pod('c', '2026-11-22T09:59:30Z')];
    const plan = planRestart(rollout(restartAt), healthy, [rs], fresh, 1, now);
    assert.equal(plan.restartedAt, restartAt);
    assert.equal(plan.effects[0]?.type, 'event');
    const notReady = [...fresh.slice(0, 2), pod('c', '2026-11-22T09:59:30Z', { ready: false })];
    assert.equal(planRestart(rollout(restartAt), healthy, [rs], notReady, 1, now).restartedAt, undefined);
  });

  it('ignores pods of ReplicaSets scaled to zero', () => {
    const oldRs = { ...rs, name: 'r-old', podTemplateHash: 'old', replicas: 0 };
    const pods = [pod('stale-old', '2026-11-22T08:00:00Z', { podTemplateHash: 'old' }), ...old];
    assert.deepEqual(planRestart(rollout(restartAt), healthy, [rs, oldRs], pods, 1, now).effects, [{ type: 'evictPod', name: 'p1' }]);
  });
});
