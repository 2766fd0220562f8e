// Rollout conditions as Argo Rollouts keeps them: a condition's
// lastTransitionTime moves only when its status changes, its lastUpdateTime
// when anything about it changes (or progress is recorded).
import type { Condition } from '../api/common.ts';

export const PROGRESSING = 'Progressing';
export const AVAILABLE = 'Available';
export const PAUSED = 'Paused';
export const COMPLETED = 'Completed';

/** Reasons, as Argo Rollouts names them. */
export const Reason = {
  NewReplicaSetCreated: 'NewReplicaSetCreated',
  ReplicaSetUpdated: 'ReplicaSetUpdated',
  NewReplicaSetAvailable: 'NewReplicaSetAvailable',
  RolloutPaused: 'RolloutPaused',
  RolloutResumed: 'RolloutResumed',
  RolloutRetry: 'RolloutRetry',
  RolloutAborted: 'RolloutAborted',
  ProgressDeadlineExceeded: 'ProgressDeadlineExceeded',
  Available: 'AvailableReason',
  RolloutCompleted: 'RolloutCompleted',
} as const;

export type ConditionStatus = Condition['status'];

export function findCondition(conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find((c) => c.type === type);
}

/**
 * Set a condition (returns a new list; order kept, new types appended). An
 * identical status, reason and message leave it untouched unless `touch`
 * (recorded progress) asks for a new lastUpdateTime.
 */
export function setCondition(
  conditions: readonly Condition[],
  next: { type: string; status: ConditionStatus; reason: string; message: string },
  now: string,
  touch = false,
): Condition[] {
  const index = conditions.findIndex((c) => c.type === next.type);
  const existing = index >= 0 ? conditions[index] : undefined;
  if (existing?.status === next.status && existing.reason === next.reason && existing.message === next.message && !touch) {
    return [...conditions];
  }
  const lastTransitionTime = existing?.status === next.status && existing.lastTransitionTime !== undefined ? existing.lastTransitionTime : now;
  const condition: Condition = { type: next.type, status: next.status, reason: next.reason, message: next.message, lastTransitionTime, lastUpdateTime: now };
  const out = [...conditions];
  if (index >= 0) out[index] = condition;
  else out.push(condition);
  return out;
}

export function removeCondition(conditions: readonly Condition[], type: string): Condition[] {
  return conditions.filter((c) => c.type !== type);
}
