// Delayed scale-down, for both strategies: an aborted canary or preview keeps
// its pods for abortScaleDownDelaySeconds, and a previous stable ReplicaSet
// for scaleDownDelaySeconds after a promotion (at most
// scaleDownDelayRevisionLimit of them), through a deadline annotation so a
// restarted controller keeps the deadline; then they go to 0. Which old
// ReplicaSets may wait is the strategy's call (its ScaleDownPolicy).
import { byRevisionDesc } from './replicas.ts';
import { pushScale } from './replicasets.ts';
import type { Frame } from './frame.ts';
import { parseTime, rfc3339 } from './time.ts';
import { SCALE_DOWN_DEADLINE_ANNOTATION, type Effect, type ObservedReplicaSet } from './types.ts';

/** A scale-down deadline starting now: whole seconds, as the annotation keeps it. */
function deadlineFrom(f: Frame, delaySeconds: number): number {
  return Math.floor(f.nowMs / 1000) * 1000 + delaySeconds * 1000;
}

/**
 * Aborted: the desired ReplicaSet keeps its pods for `delaySeconds` (0: for
 * good), then goes to 0. `replicas`: 0 once the deadline passed (undefined:
 * leave it); `deadline`: the deadline still ahead, to annotate and look again at.
 */
export function abortScaleDown(f: Frame, delaySeconds: number): { replicas: number | undefined; deadline: number | undefined } {
  const rs = f.newRS;
  if (rs === undefined || rs.replicas === 0 || delaySeconds <= 0) return { replicas: undefined, deadline: undefined };
  const deadline = parseTime(rs.scaleDownDeadline);
  if (deadline === undefined) return { replicas: undefined, deadline: deadlineFrom(f, delaySeconds) };
  return f.nowMs >= deadline ? { replicas: 0, deadline: undefined } : { replicas: undefined, deadline };
}

export interface ScaleDownPolicy {
  delaySeconds: number;
  revisionLimit: number | undefined;
  /** Left as it is (a Service still selects it, it has no pods). */
  skip(rs: ObservedReplicaSet, deadline: number | undefined): boolean;
  /** May keep its pods until a deadline (a previous stable, or one given a deadline already). */
  delayable(rs: ObservedReplicaSet, deadline: number | undefined): boolean;
  /** A deadline that passed still counts against revisionLimit. */
  expiredCounts: boolean;
  /** Unavailable pods go first: one kept is trimmed to its available pods (Argo's cleanupUnhealthyReplicas). */
  trimUnavailable: boolean;
}

/** Scale old ReplicaSets (neither desired nor stable) down, newest first, as the policy allows; requeue times go to `requeue`. */
export function scaleDownOld(f: Frame, old: readonly ObservedReplicaSet[], policy: ScaleDownPolicy, requeue: number[]): Effect[] {
  const effects: Effect[] = [];
  let delayed = 0;
  for (const rs of [...old].sort(byRevisionDesc)) {
    const deadline = parseTime(rs.scaleDownDeadline);
    if (policy.skip(rs, deadline)) continue;
    let replicas = rs.replicas;
    const annotations: Record<string, string | null> = {};
    if (rs.replicas > 0 && policy.delayable(rs, deadline) && policy.delaySeconds > 0 && (policy.revisionLimit === undefined || delayed < policy.revisionLimit)) {
      if (deadline === undefined) {
        const at = deadlineFrom(f, policy.delaySeconds);
        annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = rfc3339(at);
        requeue.push(at);
        delayed++;
      } else if (f.nowMs < deadline) {
        requeue.push(deadline);
        delayed++;
      } else {
        if (policy.expiredCounts) delayed++;
        replicas = 0;
      }
    } else {
      replicas = 0;
    }
    if (replicas === 0 && rs.scaleDownDeadline !== undefined) annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = null;
    if (replicas !== 0 && policy.trimUnavailable && rs.availableReplicas < replicas) replicas = rs.availableReplicas;
    pushScale(effects, rs, replicas, annotations);
  }
  return effects;
}
