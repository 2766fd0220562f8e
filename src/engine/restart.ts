// spec.restartAt (Argo Rollouts' restart): pods created before restartAt are
// evicted, oldest first, never more at once than maxUnavailable allows (at
// least one), and only while the Rollout is Healthy (no update in progress).
// When none is left, status.restartedAt records the restart. Pure.
import type { Rollout, RolloutStatus } from '../api/rollout.ts';
import type { Effect, ObservedPod, ObservedReplicaSet } from './types.ts';

export interface RestartPlan {
  effects: Effect[];
  /** Set when every pod is newer than restartAt. */
  restartedAt?: string;
  /** When to look again (a restartAt in the future). */
  requeueAt?: number;
  message?: string;
}

export function planRestart(
  rollout: Rollout,
  status: RolloutStatus,
  replicaSets: readonly ObservedReplicaSet[],
  pods: readonly ObservedPod[] | undefined,
  maxUnavailable: number,
  nowMs: number,
): RestartPlan {
  const restartAt = rollout.spec.restartAt;
  if (restartAt === undefined || pods === undefined) return { effects: [] };
  const restartMs = Date.parse(restartAt);
  if (Number.isNaN(restartMs) || restartAt === status.restartedAt) return { effects: [] };
  if (restartMs > nowMs) return { effects: [], requeueAt: restartMs };
  if (status.phase !== 'Healthy') return { effects: [] };

  const hashes = new Set(replicaSets.filter((rs) => rs.replicas > 0).map((rs) => rs.podTemplateHash));
  const ours = pods.filter((p) => hashes.has(p.podTemplateHash));
  const stale = ours.filter((p) => !p.deleting && Date.parse(p.creationTimestamp) < restartMs).sort((a, b) => a.creationTimestamp.localeCompare(b.creationTimestamp) || a.name.localeCompare(b.name));
  if (stale.length === 0) {
    // Done once every replica is back and ready.
    const desired = replicaSets.reduce((n, rs) => n + rs.replicas, 0);
    const ready = ours.filter((p) => p.ready && !p.deleting).length;
    return ready >= desired ? { effects: [{ type: 'event', eventType: 'Normal', reason: 'RolloutRestarted', message: `all pods restarted (restartAt ${restartAt})` }], restartedAt: restartAt } : { effects: [], message: 'waiting for restarted pods to be ready' };
  }
  const desired = replicaSets.reduce((n, rs) => n + rs.replicas, 0);
  const unavailable = Math.max(0, desired - ours.filter((p) => p.ready && !p.deleting).length);
  const budget = Math.max(1, maxUnavailable) - unavailable;
  const evict = stale.slice(0, Math.max(0, budget));
  return {
    effects: evict.map((p): Effect => ({ type: 'evictPod', name: p.name })),
    message: `restarting pods: ${stale.length} left`,
  };
}
