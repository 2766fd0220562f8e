// Replica math of Argo Rollouts' canary strategy: how many pods the canary
// and the stable ReplicaSet get for a weight, within maxSurge and
// maxUnavailable (the basic, replica-proportional canary), or for a traffic
// router (the stable stays at full scale; dynamicStableScale is not offered).
import type { IntOrString } from '../api/common.ts';

export const DEFAULT_MAX_SURGE = '25%';
export const DEFAULT_MAX_UNAVAILABLE = '25%';

/** The counts of a ReplicaSet the math looks at. */
export interface ReplicaCounts {
  /** spec.replicas */
  replicas: number;
  /** status.replicas */
  currentReplicas: number;
  /** status.availableReplicas */
  availableReplicas: number;
}

/** An int, or a percentage of `total` rounded up (surge) or down (unavailable), as Kubernetes' GetScaledValueFromIntOrPercent. */
export function scaledValue(value: IntOrString, total: number, roundUp: boolean): number {
  if (typeof value === 'number') return value;
  const s = value.trim();
  if (s.endsWith('%')) {
    const percent = Number(s.slice(0, -1));
    if (!Number.isFinite(percent)) return 0;
    const exact = (percent * total) / 100;
    return roundUp ? Math.ceil(exact) : Math.floor(exact);
  }
  const n = Number(s);
  return Number.isFinite(n) ? Math.trunc(n) : 0;
}

/**
 * maxSurge and maxUnavailable in pods for `replicas` (Argo's resolveFenceposts,
 * MaxSurge, MaxUnavailable): surge rounds up, unavailable down; when both come
 * to 0, one pod may be unavailable; unavailable never exceeds replicas.
 */
export function resolveSurgeAndUnavailable(
  replicas: number,
  maxSurge: IntOrString = DEFAULT_MAX_SURGE,
  maxUnavailable: IntOrString = DEFAULT_MAX_UNAVAILABLE,
): { maxSurge: number; maxUnavailable: number } {
  const surge = Math.max(0, scaledValue(maxSurge, replicas, true));
  let unavailable = Math.max(0, scaledValue(maxUnavailable, replicas, false));
  if (surge === 0 && unavailable === 0) unavailable = 1;
  if (replicas === 0) unavailable = 0;
  if (unavailable > replicas) unavailable = replicas;
  return { maxSurge: surge, maxUnavailable: unavailable };
}

/** ceil(weight% of replicas): the canary pods a traffic weight needs. */
export function trafficWeightToReplicas(replicas: number, weight: number): number {
  return Math.ceil((weight * replicas) / 100);
}

function fraction(x: number): number {
  return x - Math.trunc(x);
}

/** Whether floor and ceiling of weight% of total are equally far from the weight (e.g. 3 replicas at 50%). */
function floorCeilingTied(weight: number, total: number): boolean {
  return fraction(total * (weight / 100)) === 0.5;
}

function weightDelta(weight: number, canary: number, total: number): number {
  return Math.abs((canary * 100) / total - weight);
}

/**
 * The canary and stable counts that best approximate `weight` (Argo's
 * approximateWeightedCanaryStableReplicaCounts): they sum to replicas, or
 * replicas + 1 when a surge is allowed and that is closer; with a weight
 * strictly between 0 and 100 neither side is 0 when there are 2+ pods.
 */
export function approximateWeightedCounts(replicas: number, weight: number, maxSurge: number): { canary: number; stable: number } {
  if (replicas === 0) return { canary: 0, stable: 0 };
  const options: { canary: number; total: number }[] = [];
  const ceil = Math.ceil((replicas * weight) / 100);
  const floor = Math.floor((replicas * weight) / 100);
  const tied = floorCeilingTied(weight, replicas);
  const zeroAllowed = weight === 100 || weight === 0 || (replicas === 1 && maxSurge === 0);
  if (ceil < replicas || zeroAllowed) options.push({ canary: ceil, total: replicas });
  if (!tied && (floor !== 0 || zeroAllowed)) options.push({ canary: floor, total: replicas });
  if (maxSurge > 0) {
    options.push({ canary: ceil, total: replicas + 1 });
    if (!floorCeilingTied(weight, replicas + 1) && (floor !== 0 || zeroAllowed)) options.push({ canary: floor, total: replicas + 1 });
  }
  const first = options[0];
  if (first === undefined) return { canary: 0, stable: replicas };
  let best = first;
  let bestDelta = weightDelta(weight, best.canary, best.total);
  for (const option of options.slice(1)) {
    const delta = weightDelta(weight, option.canary, option.total);
    if (delta < bestDelta) {
      best = option;
      bestDelta = delta;
    }
  }
  return { canary: best.canary, stable: best.total - best.canary };
}

/** Pods of a ReplicaSet that count when deciding how far others may scale down (Argo's GetReplicasForScaleDown). */
function replicasForScaleDown(rs: ReplicaCounts | undefined, ignoreAvailability: boolean): number {
  if (rs === undefined) return 0;
  if (rs.replicas < rs.availableReplicas) return rs.replicas;
  return ignoreAvailability ? rs.replicas : rs.availableReplicas;
}

function scaleDownTowards(rs: ReplicaCounts | undefined, desired: number, scaleDownCount: number, current: number): number {
  return rs !== undefined && rs.replicas > desired ? Math.max(desired, rs.replicas - scaleDownCount) : current;
}

/** Keep the pair within maxSurge, giving availability back to `adjust` first (Argo's adjustReplicaWithinLimits). */
function adjustWithinLimits(
  drain: ReplicaCounts | undefined,
  adjust: ReplicaCounts | undefined,
  drainCount: number,
  adjustCount: number,
  maxAllowed: number,
  minAvailable: number,
): [drain: number, adjust: number] {
  let overLimit = Math.max(0, adjustCount + drainCount - maxAllowed);
  let totalAvailable = 0;
  if (drain !== undefined) totalAvailable += Math.min(drain.availableReplicas, drainCount);
  if (adjust !== undefined) {
    adjustCount -= overLimit;
    totalAvailable += Math.min(adjust.availableReplicas, adjustCount);
    const extraAvailable = Math.max(0, adjust.availableReplicas - adjustCount);
    const missing = Math.max(0, minAvailable - totalAvailable);
    adjustCount += Math.min(extraAvailable, missing);
    overLimit = Math.max(0, adjustCount + drainCount - maxAllowed);
    drainCount -= overLimit;
  }
  return [drainCount, adjustCount];
}

export interface BasicCanaryInput {
  /** spec.replicas (defaulted). */
  replicas: number;
  /** The canary weight being aimed at (0-100). */
  weight: number;
  maxSurge: number;
  maxUnavailable: number;
}

/**
 * The next canary and stable spec.replicas for a basic (no traffic router)
 * canary, Argo's CalculateReplicaCountsForBasicCanary: scale up (stable first)
 * within replicas + maxSurge, then, once older ReplicaSets are gone, scale down
 * without going under replicas - maxUnavailable available pods. `stable` must
 * be undefined when there is no stable ReplicaSet distinct from the canary:
 * the canary then aims at all replicas. A canary about to be created is
 * passed as all zeros, as Argo sizes a new ReplicaSet.
 */
export function basicCanaryReplicaCounts(
  input: BasicCanaryInput,
  canary: ReplicaCounts | undefined,
  stable: ReplicaCounts | undefined,
  older: readonly ReplicaCounts[],
): { canary: number; stable: number } {
  const { replicas, maxSurge, maxUnavailable } = input;
  let { canary: desiredCanary, stable: desiredStable } = approximateWeightedCounts(replicas, input.weight, maxSurge);
  let canaryCount = canary?.replicas ?? 0;
  let stableCount = 0;
  if (stable !== undefined) {
    stableCount = stable.replicas;
  } else {
    desiredCanary = replicas;
    desiredStable = 0;
  }
  const maxAllowed = replicas + maxSurge;
  const olderReplicas = older.reduce((n, rs) => n + rs.replicas, 0);
  const total = olderReplicas + (canary?.replicas ?? 0) + (stable?.replicas ?? 0);
  let scaleUp = maxAllowed - total;

  if (stable !== undefined && stable.replicas < desiredStable && scaleUp > 0) {
    if (stable.replicas + scaleUp < desiredStable) {
      stableCount = stable.replicas + scaleUp;
      scaleUp = 0;
    } else {
      stableCount = desiredStable;
      scaleUp -= desiredStable - stable.replicas;
    }
  }
  if (canary !== undefined && canary.replicas < desiredCanary && scaleUp > 0) {
    canaryCount = canary.replicas + scaleUp < desiredCanary ? canary.replicas + scaleUp : desiredCanary;
  }

  if (olderReplicas > 0) return { canary: canaryCount, stable: stableCount };

  const minAvailable = replicas - maxUnavailable;
  const increasing = canary === undefined || desiredCanary >= canary.replicas;
  const countable = replicasForScaleDown(canary, !increasing) + replicasForScaleDown(stable, increasing);
  if (countable <= minAvailable) return { canary: canaryCount, stable: stableCount };
  const scaleDown = countable - minAvailable;
  if (!increasing) {
    canaryCount = scaleDownTowards(canary, desiredCanary, scaleDown, canaryCount);
    [canaryCount, stableCount] = adjustWithinLimits(canary, stable, canaryCount, stableCount, maxAllowed, minAvailable);
  } else if (stable !== undefined) {
    stableCount = scaleDownTowards(stable, desiredStable, scaleDown, stableCount);
    [stableCount, canaryCount] = adjustWithinLimits(stable, canary, stableCount, canaryCount, maxAllowed, minAvailable);
  }
  return { canary: canaryCount, stable: stableCount };
}

/**
 * Canary and stable counts with a traffic router (Argo's
 * CalculateReplicaCountsForTrafficRoutedCanary, dynamicStableScale off): the
 * canary gets ceil(weight% of replicas), or setCanaryScale's replicas, at least
 * minPodsPerReplicaSet when not 0; the stable stays at full scale.
 */
export function trafficRoutedReplicaCounts(
  replicas: number,
  weight: number,
  options: { fixedCanaryReplicas?: number | undefined; minPodsPerReplicaSet?: number | undefined } = {},
): { canary: number; stable: number } {
  let canary = options.fixedCanaryReplicas ?? trafficWeightToReplicas(replicas, weight);
  if (options.fixedCanaryReplicas === undefined && canary !== 0 && options.minPodsPerReplicaSet !== undefined) {
    canary = Math.max(canary, options.minPodsPerReplicaSet);
  }
  return { canary, stable: replicas };
}

/** An older ReplicaSet as the scale-down of old ReplicaSets sees it. */
export interface OlderReplicaSet extends ReplicaCounts {
  name: string;
  revision: number;
  creationTimestamp: string;
}

/**
 * Scale-down of ReplicaSets that are neither canary nor stable in a basic
 * canary (Argo's scaleDownOldReplicaSetsForCanary): first drop their
 * unavailable pods, then take away available pods, newest revision first,
 * only as far as replicas - maxUnavailable pods stay available overall.
 * Returns the new spec.replicas of each ReplicaSet that changes.
 */
export function scaleDownOlderReplicaSets(
  older: readonly OlderReplicaSet[],
  totalAvailable: number,
  replicas: number,
  maxUnavailable: number,
): Map<string, number> {
  const next = new Map<string, number>();
  const current = (rs: OlderReplicaSet): number => next.get(rs.name) ?? rs.replicas;
  for (const rs of [...older].sort(byCreation)) {
    if (rs.replicas > 0 && rs.availableReplicas < rs.replicas) next.set(rs.name, rs.availableReplicas);
  }
  let maxScaleDown = totalAvailable - (replicas - maxUnavailable);
  if (maxScaleDown <= 0) return next;
  for (const rs of [...older].sort(byRevisionDesc)) {
    if (maxScaleDown <= 0) break;
    const count = current(rs);
    if (count === 0) continue;
    const desired = count > maxScaleDown ? count - maxScaleDown : 0;
    next.set(rs.name, desired);
    maxScaleDown -= count - desired;
  }
  return next;
}

export function byCreation(a: { creationTimestamp: string; name: string }, b: { creationTimestamp: string; name: string }): number {
  const ta = Date.parse(a.creationTimestamp);
  const tb = Date.parse(b.creationTimestamp);
  if (ta !== tb) return (Number.isNaN(ta) ? 0 : ta) - (Number.isNaN(tb) ? 0 : tb);
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}

export function byRevisionDesc(a: { revision: number; name: string }, b: { revision: number; name: string }): number {
  if (a.revision !== b.revision) return b.revision - a.revision;
  return a.name < b.name ? -1 : a.name > b.name ? 1 : 0;
}
