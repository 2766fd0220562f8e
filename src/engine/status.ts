// The part of a Rollout's status both strategies write the same way: the
// Available, Paused and Completed conditions, the phase and message, the
// stable and desired hashes, pause and abort bookkeeping, replica counts, and
// the Git revisions (the last good revision is the last commit the Rollout
// finished Healthy under). Each planner adds its own section after this.
import type { Condition } from '../api/common.ts';
import type { PauseCondition, Rollout, RolloutStatus } from '../api/rollout.ts';
import { AVAILABLE, COMPLETED, findCondition, PAUSED, Reason, setCondition } from './conditions.ts';
import { formatLabelSelector } from './selector.ts';
import { GIT_REVISION_ANNOTATION, REVISION_ANNOTATION, type Effect, type ObservedReplicaSet } from './types.ts';

export interface CommonStatus {
  rollout: Rollout;
  prev: RolloutStatus;
  now: string;
  hash: string;
  replicas: number;
  phase: NonNullable<RolloutStatus['phase']>;
  message: string;
  /** The Progressing condition already set in this list. */
  conditions: Condition[];
  counts: { replicas: number; updatedReplicas: number; readyReplicas: number; availableReplicas: number };
  /** Whether the minimum availability counts as reached (beyond the available count). */
  availableGate?: boolean;
  paused: boolean;
  aborted: boolean;
  abortedAt: string | undefined;
  stableHash: string | undefined;
  pauseConditions: PauseCondition[];
  controllerPause: boolean;
  promoteFull: boolean;
  /** Healthy and nothing left to do. */
  complete: boolean;
  gitCurrent: string | undefined;
  /** Status fields of the other strategy, dropped. */
  drop: readonly (keyof RolloutStatus)[];
}

export function commonStatus(i: CommonStatus): RolloutStatus {
  let conditions = setCondition(
    i.conditions,
    i.counts.availableReplicas >= i.replicas && i.availableGate !== false
      ? { type: AVAILABLE, status: 'True', reason: Reason.Available, message: 'Rollout has minimum availability' }
      : { type: AVAILABLE, status: 'False', reason: Reason.Available, message: 'Rollout does not have minimum availability' },
    i.now,
  );
  if (i.paused) conditions = setCondition(conditions, { type: PAUSED, status: 'True', reason: Reason.RolloutPaused, message: 'Rollout is paused' }, i.now);
  else if (findCondition(conditions, PAUSED) !== undefined) {
    conditions = setCondition(conditions, { type: PAUSED, status: 'False', reason: Reason.RolloutPaused, message: 'Rollout is not paused' }, i.now);
  }
  const healthy = i.complete && i.phase === 'Healthy';
  conditions = setCondition(conditions, { type: COMPLETED, status: healthy ? 'True' : 'False', reason: Reason.RolloutCompleted, message: Reason.RolloutCompleted }, i.now);

  const status: RolloutStatus = { ...i.prev };
  for (const key of ['message', 'abort', 'abortedAt', 'promoteFull', 'pauseConditions', 'controllerPause', 'stableRS', 'observedGeneration', ...i.drop] as const) {
    Reflect.deleteProperty(status, key);
  }
  status.phase = i.phase;
  if (i.message !== '') status.message = i.message;
  if (i.rollout.metadata.generation !== undefined) status.observedGeneration = String(i.rollout.metadata.generation);
  status.currentPodHash = i.hash;
  if (i.stableHash !== undefined) status.stableRS = i.stableHash;
  // spec.paused leaves the pause conditions as they are (Argo): they still hold once it is resumed.
  if (i.pauseConditions.length > 0 && i.paused) status.pauseConditions = i.pauseConditions;
  if (i.controllerPause && i.paused) status.controllerPause = true;
  if (i.aborted) {
    status.abort = true;
    status.abortedAt = i.abortedAt ?? i.now;
  }
  if (i.promoteFull && i.stableHash !== i.hash) status.promoteFull = true;
  status.replicas = i.counts.replicas;
  status.updatedReplicas = i.counts.updatedReplicas;
  status.readyReplicas = i.counts.readyReplicas;
  status.availableReplicas = i.counts.availableReplicas;
  status.HPAReplicas = i.counts.replicas;
  status.selector = formatLabelSelector(i.rollout.spec.selector);
  status.conditions = conditions;

  const git = { ...(i.prev.git ?? {}) };
  if (i.gitCurrent !== undefined) git.currentRevision = i.gitCurrent;
  else delete git.currentRevision;
  // The last good revision: the commit that introduced the template, or a later one that changed
  // something else (a ConfigMap) and is running.
  const running = i.rollout.metadata.annotations?.[GIT_REVISION_ANNOTATION] ?? i.gitCurrent;
  if (healthy && running !== undefined) git.stableRevision = running;
  if (Object.keys(git).length > 0) status.git = git;
  else delete status.git;
  return status;
}

/** Events for ReplicaSets created and scaled. */
export function replicaSetEvents(replicaSets: readonly ObservedReplicaSet[], effects: readonly Effect[]): Effect[] {
  const events: Effect[] = [];
  for (const e of effects) {
    if (e.type === 'createReplicaSet') {
      events.push({ type: 'event', eventType: 'Normal', reason: 'NewReplicaSetCreated', message: `Created ReplicaSet ${e.name} (revision ${e.revision}) with size ${e.replicas}` });
    } else if (e.type === 'scaleReplicaSet') {
      const rs = replicaSets.find((r) => r.name === e.name);
      if (rs !== undefined && rs.replicas !== e.replicas) {
        const revision = e.annotations?.[REVISION_ANNOTATION] ?? String(rs.revision);
        events.push({
          type: 'event',
          eventType: 'Normal',
          reason: 'ScalingReplicaSet',
          message: `Scaled ${e.replicas > rs.replicas ? 'up' : 'down'} ReplicaSet ${e.name} (revision ${revision}) from ${rs.replicas} to ${e.replicas}`,
        });
      }
    }
  }
  return events;
}
