// The canary's desired state and its effects: the replica counts of the
// current step (basic canary within maxSurge/maxUnavailable, or a traffic
// router's weights and setCanaryScale), the Services' selectors and the route
// weights, computed once from the state the machine settled in; then the
// effects that differ from what is observed, the scale-down of older
// ReplicaSets and the history limit.
import type { Canary, CanaryReconcile } from './canary.ts';
import { DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS, DEFAULT_SCALE_DOWN_DELAY_SECONDS } from './constants.ts';
import { replicaSetEffects, selectedHash, selectorEffects, type ServiceTarget } from './desired-effects.ts';
import type { LifecycleState } from './machine.ts';
import { basicCanaryReplicaCounts, byRevisionDesc, scaleDownOlderReplicaSets, trafficRoutedReplicaCounts, type ReplicaCounts } from './replicas.ts';
import { historyLimitDeletes, pushScale } from './replicasets.ts';
import { abortScaleDown, scaleDownOld } from './scale-down.ts';
import { canaryScaleAt, previousSetWeight, setWeightAt } from './steps.ts';
import { routesAt } from '../traffic/steps.ts';
import type { ObservedTraffic, TrafficIntent } from '../traffic/types.ts';
import type { Effect } from './types.ts';

/** What a degraded rollout would be doing if it were not late. */
export function degradedMode(r: CanaryReconcile): LifecycleState {
  const ctx = r.run.snapshot.context;
  if (ctx.fullyPromoted) return 'healthy';
  return ctx.stepIndex < ctx.stepCount ? 'progressing' : 'completing';
}

export interface Desired {
  newReplicas: number | undefined;
  stableReplicas: number | undefined;
  /** Canary weight for the routes; undefined: leave them. */
  routeWeight: number | undefined;
  /** The managed routes the routers hold with that weight. */
  routes: Pick<TrafficIntent, 'headerRoutes' | 'mirrorRoutes'>;
  /** Pod-template hash each Service should select; undefined: leave it. */
  canaryTarget: string | undefined;
  stableTarget: string | undefined;
  /** Aborted with a router: the canary's scale-down deadline still ahead. */
  abortDeadline: number | undefined;
}

export function blockersOf(c: Canary): string[] {
  const blockers: string[] = [];
  for (const svc of [c.canary.canaryService, c.canary.stableService]) {
    if (svc !== undefined && c.f.observed.services[svc] === undefined) blockers.push(`Service "${svc}" not found`);
  }
  if (c.router) for (const t of c.f.observed.traffic) blockers.push(...t.problems);
  return blockers;
}

const NO_ROUTES: Pick<TrafficIntent, 'headerRoutes' | 'mirrorRoutes'> = { headerRoutes: [], mirrorRoutes: [] };

/** The managed routes in force in a mode: those the steps so far set, while a canary with pods available runs its steps. */
export function managedRoutesFor(c: Canary, r: CanaryReconcile, mode: LifecycleState): Pick<TrafficIntent, 'headerRoutes' | 'mirrorRoutes'> {
  if (mode !== 'progressing' && mode !== 'pausedStep' && mode !== 'completing') return NO_ROUTES;
  if (r.promoteFull || r.stableHash === undefined || r.stableHash === c.f.hash || (c.f.newRS?.availableReplicas ?? 0) === 0) return NO_ROUTES;
  return routesAt(c.steps, r.stepIndex, (c.canary.trafficRouting?.managedRoutes ?? []).map((m) => m.name));
}

function sameNames(held: readonly string[], wanted: readonly { name: string }[]): boolean {
  return held.length === wanted.length && wanted.every((w) => held.includes(w.name));
}

/** Whether every router's objects hold the managed routes. */
export function routesHeld(observed: readonly ObservedTraffic[], routes: Pick<TrafficIntent, 'headerRoutes' | 'mirrorRoutes'>): boolean {
  return observed.every((t) => sameNames(t.headerRoutes, routes.headerRoutes) && sameNames(t.mirrorRoutes, routes.mirrorRoutes));
}

/** Whether every router's objects hold the weight and the managed routes of the intent. */
export function trafficHolds(observed: readonly ObservedTraffic[], intent: TrafficIntent): boolean {
  return observed.every((t) => t.canaryWeight === intent.canaryWeight) && routesHeld(observed, intent);
}

const ZERO: ReplicaCounts = { replicas: 0, currentReplicas: 0, availableReplicas: 0 };

/** The weight the replica counts aim at in a mode (Argo's GetCanaryReplicasOrWeight). */
function weightFor(c: Canary, r: CanaryReconcile, mode: LifecycleState): number {
  return mode === 'aborted' ? 0 : mode === 'progressing' || mode === 'pausedStep' ? setWeightAt(c.steps, r.stepIndex) : 100;
}

/**
 * The replica counts of the current step, and whether they are reached
 * (Argo's AtDesiredReplicaCountsForCanary). The step decisions ask this of
 * each step they evaluate; desiredFor builds the rest once, on it.
 */
export function replicaTargets(c: Canary, r: CanaryReconcile, mode: LifecycleState): { canary: number; stable: number; atDesired: boolean } {
  const f = c.f;
  const stable = r.stableRS;
  const newRS = f.newRS;
  const weight = weightFor(c, r, mode);
  let counts: { canary: number; stable: number };
  let othersDown = true;
  if (c.router) {
    const scs = mode === 'progressing' || mode === 'pausedStep' ? canaryScaleAt(c.steps, r.stepIndex) : undefined;
    counts = trafficRoutedReplicaCounts(f.replicas, scs?.weight ?? weight, { fixedCanaryReplicas: scs?.replicas, minPodsPerReplicaSet: c.canary.minPodsPerReplicaSet });
  } else {
    const others = r.others.filter((rs) => !rs.deleting);
    counts = basicCanaryReplicaCounts({ replicas: f.replicas, weight, maxSurge: c.maxSurge, maxUnavailable: c.maxUnavailable }, newRS ?? ZERO, stable, others);
    othersDown = others.every((rs) => rs.availableReplicas === 0);
  }
  const atDesired =
    newRS?.replicas === counts.canary && newRS.availableReplicas === counts.canary && stable?.replicas === counts.stable && stable.currentReplicas === counts.stable && othersDown;
  return { ...counts, atDesired };
}

export function desiredFor(c: Canary, r: CanaryReconcile): Desired {
  const f = c.f;
  const s = r.state;
  const mode = s === 'degraded' ? degradedMode(r) : s;
  const stable = r.stableRS;
  const newRS = f.newRS;
  const out: Desired = { newReplicas: undefined, stableReplicas: undefined, routeWeight: undefined, routes: NO_ROUTES, canaryTarget: undefined, stableTarget: undefined, abortDeadline: undefined };
  if (mode === 'pausedUser' || mode === 'pending') return out;

  // Services: the canary Service follows the desired ReplicaSet once it has a
  // pod available (Argo's ensureSVCTargets), back to stable on abort; the
  // stable Service follows status.stableRS.
  const newAvailable = newRS?.availableReplicas ?? 0;
  const stableAvailable = (r.stableHash === f.hash ? newRS : stable)?.availableReplicas ?? 0;
  if (r.stableHash !== undefined && stableAvailable > 0) out.stableTarget = r.stableHash;
  if (mode === 'aborted') {
    if (r.stableHash !== undefined && stableAvailable > 0) out.canaryTarget = r.stableHash;
  } else if (newRS !== undefined && newAvailable > 0) {
    out.canaryTarget = f.hash;
  }

  const targets = replicaTargets(c, r, mode);
  if (!c.router) {
    out.newReplicas = targets.canary;
    out.stableReplicas = stable !== undefined ? targets.stable : undefined;
    return out;
  }
  out.stableReplicas = stable !== undefined ? f.replicas : undefined;
  if (mode === 'aborted') {
    const abort = abortScaleDown(f, c.canary.abortScaleDownDelaySeconds ?? DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS);
    out.newReplicas = abort.replicas;
    out.abortDeadline = abort.deadline;
    out.routeWeight = 0;
    return out;
  }
  out.newReplicas = mode === 'healthy' || mode === 'completing' ? f.replicas : targets.canary;
  if (mode === 'healthy' || newAvailable === 0) out.routeWeight = 0; // never weight to a canary with no pod available
  else if (mode === 'completing') {
    // All steps done: the last setWeight holds until promotion (Argo, minus its brief 100%); a first deploy has no canary
    // traffic; promote --full keeps the weight it found.
    out.routeWeight = r.stableHash === undefined ? 0 : r.promoteFull ? (f.prev.canary?.weights?.canary.weight ?? 0) : previousSetWeight(c.steps, c.steps.length);
  } else out.routeWeight = targets.atDesired ? setWeightAt(c.steps, r.stepIndex) : previousSetWeight(c.steps, r.stepIndex);
  out.routes = managedRoutesFor(c, r, mode);
  return out;
}

function serviceTargets(c: Canary, d: Desired): ServiceTarget[] {
  const out: ServiceTarget[] = [];
  if (c.canary.canaryService !== undefined) out.push([c.canary.canaryService, d.canaryTarget]);
  if (c.canary.stableService !== undefined && c.canary.stableService !== c.canary.canaryService) out.push([c.canary.stableService, d.stableTarget]);
  return out;
}

export function effectsFor(c: Canary, r: CanaryReconcile, d: Desired): Effect[] {
  const f = c.f;
  const isCanary = r.stableHash !== undefined && r.stableHash !== f.hash;
  const effects = replicaSetEffects(f, r, {
    newReplicas: d.newReplicas,
    stableReplicas: d.stableReplicas,
    abortScaleDown: r.state === 'aborted' && c.router,
    abortDeadline: d.abortDeadline,
    metadata: isCanary ? c.canary.canaryMetadata : c.canary.stableMetadata,
  });
  // Services, then routes: at promotion the stable Service moves to the new pods before the canary weight drops to 0.
  const targets = serviceTargets(c, d);
  effects.push(...selectorEffects(f, targets));
  if (c.router && d.routeWeight !== undefined) {
    const intent: TrafficIntent = { canaryWeight: d.routeWeight, ...d.routes };
    if (!trafficHolds(f.observed.traffic, intent)) effects.push({ type: 'setTraffic', intent, stableHash: r.stableHash, canaryHash: f.hash });
  }
  // Other ReplicaSets: scaled down (with the scale-down delay for a router), then deleted beyond revisionHistoryLimit.
  if (!r.halted) effects.push(...scaleDownOthers(c, r, targets));
  effects.push(...historyLimitDeletes(f.rollout, r.others));
  return effects;
}

/**
 * ReplicaSets that are neither desired nor stable (Argo's
 * scaleDownOldReplicaSetsForCanary). Basic canary: scaled down within
 * maxUnavailable. Router: one still selected by a Service is left alone; a
 * previous stable (fully promoted, or already given a deadline) keeps its
 * pods for scaleDownDelaySeconds (deadline annotation, then 0); an
 * intermediate canary goes to 0 at once.
 */
function scaleDownOthers(c: Canary, r: CanaryReconcile, targets: ServiceTarget[]): Effect[] {
  const f = c.f;
  const others = r.others.filter((rs) => !rs.deleting);
  if (others.length === 0) return [];
  const totalAvailable = f.replicaSets.reduce((n, rs) => n + rs.availableReplicas, 0);
  if (!c.router) {
    const effects: Effect[] = [];
    const next = scaleDownOlderReplicaSets(others, totalAvailable, f.replicas, c.maxUnavailable);
    for (const rs of [...others].sort(byRevisionDesc)) {
      const replicas = next.get(rs.name);
      if (replicas !== undefined) pushScale(effects, rs, replicas, {});
    }
    return effects;
  }
  if (totalAvailable - (f.replicas - c.maxUnavailable) <= 0) return [];
  const referenced = new Set(targets.map((t) => selectedHash(f, t)).filter((h) => h !== undefined));
  const fullyPromoted = r.stableHash === f.hash;
  return scaleDownOld(
    f,
    others,
    {
      delaySeconds: c.canary.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS,
      revisionLimit: c.canary.scaleDownDelayRevisionLimit,
      skip: (rs) => referenced.has(rs.podTemplateHash) || rs.replicas === 0,
      delayable: (_rs, deadline) => fullyPromoted || deadline !== undefined,
      expiredCounts: false,
      trimUnavailable: true,
    },
    r.requeue,
  );
}
