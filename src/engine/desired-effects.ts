// The effects that bring the desired ReplicaSet, the stable one and the
// Services to a strategy's desired state, for both strategies: create or
// scale the desired ReplicaSet (its revision annotation, an abort's
// scale-down deadline), scale the stable one, point each Service's selector
// at its pod-template hash. Nothing changes scale while spec.paused holds.
import type { CanaryStrategy } from '../api/rollout.ts';
import type { Frame } from './frame.ts';
import { createReplicaSetEffect, pushScale } from './replicasets.ts';
import { rfc3339 } from './time.ts';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, SCALE_DOWN_DEADLINE_ANNOTATION, type Effect, type ObservedReplicaSet } from './types.ts';

type PodMetadata = CanaryStrategy['canaryMetadata'];

/** What the effects read of a reconcile (frame.ts' Reconcile). */
export interface EffectTarget {
  readonly halted: boolean;
  readonly stableRS: ObservedReplicaSet | undefined;
  requeue: number[];
}

export interface ReplicaSetTargets {
  /** spec.replicas of the desired ReplicaSet; undefined: leave it. */
  newReplicas: number | undefined;
  /** spec.replicas of the stable ReplicaSet (when distinct); undefined: leave it. */
  stableReplicas: number | undefined;
  /** Aborted with a scale-down delay: the desired ReplicaSet's deadline is the strategy's to keep. */
  abortScaleDown: boolean;
  /** The scale-down deadline still ahead, to annotate and look again at. */
  abortDeadline: number | undefined;
  /** The pod metadata of a ReplicaSet created now (its role). */
  metadata: PodMetadata;
}

export function replicaSetEffects(f: Frame, r: EffectTarget, t: ReplicaSetTargets): Effect[] {
  const effects: Effect[] = [];
  if (r.halted) return effects;
  const rs = f.newRS;
  if (t.newReplicas !== undefined && rs === undefined) {
    effects.push(createReplicaSetEffect(f.rollout, f.hash, t.newReplicas, f.revision, t.metadata));
  } else if (rs !== undefined) {
    const annotations: Record<string, string | null> = {};
    if (rs.revision !== f.revision) annotations[REVISION_ANNOTATION] = String(f.revision);
    if (t.abortScaleDown) {
      if (t.abortDeadline !== undefined) {
        if (rs.scaleDownDeadline === undefined) annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = rfc3339(t.abortDeadline);
        r.requeue.push(t.abortDeadline);
      }
    } else if (rs.scaleDownDeadline !== undefined) {
      annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = null; // wanted again (retry, or back to a ReplicaSet being scaled down)
    }
    pushScale(effects, rs, t.newReplicas ?? rs.replicas, annotations);
  }
  const stable = r.stableRS;
  if (stable !== undefined) {
    pushScale(effects, stable, t.stableReplicas ?? stable.replicas, stable.scaleDownDeadline !== undefined ? { [SCALE_DOWN_DEADLINE_ANNOTATION]: null } : {});
  }
  return effects;
}

/** A Service and the pod-template hash it should select (undefined: leave it). */
export type ServiceTarget = readonly [service: string | undefined, hash: string | undefined];

/** One selector write per Service that selects something else. */
export function selectorEffects(f: Frame, targets: readonly ServiceTarget[]): Effect[] {
  const effects: Effect[] = [];
  for (const [svc, target] of targets) {
    const observed = svc === undefined ? undefined : f.observed.services[svc];
    if (svc === undefined || target === undefined || observed === undefined) continue;
    if (observed.selector[POD_TEMPLATE_HASH_LABEL] !== target) effects.push({ type: 'setServiceSelector', service: svc, podTemplateHash: target });
  }
  return effects;
}

/** The hash a Service selects once this plan is applied: the target, else what it selects now. */
export function selectedHash(f: Frame, [svc, target]: ServiceTarget): string | undefined {
  return target ?? (svc === undefined ? undefined : f.observed.services[svc]?.selector[POD_TEMPLATE_HASH_LABEL]);
}
