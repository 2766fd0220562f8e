// Small pure helpers the routers share for reading and writing objects.
import { refKey, type LiveObjects, type TrafficContext, type TrafficObject, type TrafficObjectRef } from './types.ts';

/** The live object of `ref`, undefined when absent. */
export function liveOf(live: LiveObjects, ref: TrafficObjectRef): TrafficObject | undefined {
  return live.get(refKey(ref));
}

/** Whether the Rollout of `ctx` is the controller owner of `obj`. */
export function ownedByRollout(obj: TrafficObject, ctx: TrafficContext): boolean {
  return (obj.metadata.ownerReferences ?? []).some((o) => o.controller === true && o.uid === ctx.rollout.uid);
}

/** "Kind namespace/name", as messages name an object. */
export function describeRef(ref: Pick<TrafficObjectRef, 'kind' | 'namespace' | 'name'>): string {
  return `${ref.kind} ${ref.namespace}/${ref.name}`;
}

/** Whether a value is a plain object (JSON). */
export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
