// Fields Git holds but another controller owns once the object is live.
//
// An HTTPRoute in Git names the weights of a Rollout's stable and canary
// Services (100 and 0, say); during a canary the Rollout controller moves
// them step by step. Were Git sync to apply or "correct" them, every poll
// would send the traffic back to Git's weights mid-rollout. The same holds
// for the pod-template-hash the Rollout controller adds to its Services'
// selectors (a selector is replaced whole by server-side apply, so applying
// Git's would make the Service select every ReplicaSet), and for the
// replicas of anything a HorizontalPodAutoscaler scales. So, as Argo CD's
// ignoreDifferences with RespectIgnoreDifferences does by hand, Git sync
// takes those fields from the live object before it applies or compares:
// Git's values are used to create the object, the owner's from then on.
// Every other field stays Git's, drift included.
//
// Owned by another controller (README, "Which fields belong to whom"):
//   The routing objects in Git a Rollout's traffic routers write (a
//     Gateway API route's weights and managed rules, an Istio
//     VirtualService's weights and managed routes and DestinationRule's
//     subset hashes, a TraefikService's weights): each router says which
//     fields (GitControlledObject in src/traffic).
//   Service named by a Rollout (stable, canary, active, preview):
//     `spec.selector.rollouts-pod-template-hash`.
//   Any object an HPA's scaleTargetRef names (in Git or live):
//     `spec.replicas`.
// Pure, but for the live lookups it is given.
import { convertArgoObject, isArgoKind } from '../api/convert.ts';
import type { Rollout } from '../api/rollout.ts';
import { routersOf, type GitControlledObject, type TrafficContext, type TrafficObject } from '../traffic/index.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../engine/types.ts';
import { groupOf, isRecord, type ObjectRef, type SyncDocument, type SyncObject } from './types.ts';

const AUTOSCALING_GROUP = 'autoscaling';

/** What other controllers own in the objects of a set of documents. */
export interface ControlledFields {
  /** Per routing object's key, what the Rollouts' routers take from its live state. */
  readonly routed: ReadonlyMap<string, readonly GitControlledObject[]>;
  /** Keys of the Services whose selector's pod-template-hash a Rollout sets. */
  readonly services: ReadonlySet<string>;
  /** Keys of the objects an autoscaler scales (spec.replicas). */
  readonly scaled: ReadonlySet<string>;
}

/** `group/Kind/namespace/name`; Argo's Rollout group counts as Weir's (Git sync converts Argo's kinds). */
function key(group: string, kind: string, namespace: string, name: string): string {
  return `${group === 'argoproj.io' ? 'weir.dev' : group}/${kind}/${namespace}/${name}`;
}

function keyOf(obj: SyncObject): string {
  return key(groupOf(obj.apiVersion), obj.kind, obj.metadata.namespace ?? 'default', obj.metadata.name);
}

function asRollout(obj: SyncObject): Rollout | undefined {
  const converted = isArgoKind(obj) ? (convertArgoObject(obj) as SyncObject) : obj;
  if (converted.kind !== 'Rollout' || groupOf(converted.apiVersion) !== 'weir.dev') return undefined;
  return converted as unknown as Rollout;
}

function nonEmpty(names: readonly (string | undefined)[]): string[] {
  return names.filter((s): s is string => typeof s === 'string' && s !== '');
}

/** The key of the object an HPA scales, or undefined when `obj` is not an HPA with a complete target. */
export function scaleTargetOf(obj: unknown): string | undefined {
  if (!isRecord(obj) || obj.kind !== 'HorizontalPodAutoscaler' || typeof obj.apiVersion !== 'string' || groupOf(obj.apiVersion) !== AUTOSCALING_GROUP) return undefined;
  const meta = isRecord(obj.metadata) ? obj.metadata : {};
  const target = isRecord(obj.spec) && isRecord(obj.spec.scaleTargetRef) ? obj.spec.scaleTargetRef : undefined;
  if (!target || typeof target.kind !== 'string' || typeof target.name !== 'string') return undefined;
  const apiVersion = typeof target.apiVersion === 'string' ? target.apiVersion : '';
  return key(groupOf(apiVersion), target.kind, typeof meta.namespace === 'string' ? meta.namespace : 'default', target.name);
}

/**
 * What the Rollouts and HPAs among `documents` control, and `liveScaled`:
 * the targets of HPAs that are live but not in Git. `documents` are
 * prepared (prepareDocuments): namespaces filled in.
 */
export function controlledFields(documents: readonly SyncDocument[], liveScaled: Iterable<string> = []): ControlledFields {
  const routed = new Map<string, GitControlledObject[]>();
  const services = new Set<string>();
  const scaled = new Set<string>(liveScaled);
  for (const doc of documents) {
    const target = scaleTargetOf(doc.object);
    if (target) scaled.add(target);
    const rollout = asRollout(doc.object);
    if (!rollout) continue;
    const ns = rollout.metadata.namespace ?? 'default';
    const { canary, blueGreen } = rollout.spec.strategy;
    const named = nonEmpty([canary?.stableService, canary?.canaryService, blueGreen?.activeService, blueGreen?.previewService]);
    for (const s of named) services.add(key('', 'Service', ns, s));
    if (canary?.trafficRouting === undefined || !canary.stableService || !canary.canaryService) continue;
    const ctx: TrafficContext = {
      rollout: { name: rollout.metadata.name ?? '', namespace: ns, uid: '' },
      stableService: canary.stableService,
      canaryService: canary.canaryService,
      stableHash: undefined,
      canaryHash: undefined,
      managedRoutes: (canary.trafficRouting.managedRoutes ?? []).map((m) => m.name),
      maxWeight: 100,
    };
    for (const { router, config } of routersOf(canary.trafficRouting).routers) {
      for (const controlled of router.gitControlled(ctx, config)) {
        const r = controlled.ref;
        const k = key(groupOf(r.apiVersion), r.kind, r.namespace, r.name);
        routed.set(k, [...(routed.get(k) ?? []), controlled]);
      }
    }
  }
  return { routed, services, scaled };
}

function hasReplicas(obj: SyncObject): boolean {
  return isRecord(obj.spec) && typeof obj.spec.replicas === 'number';
}

/** Whether Git sync must read `obj`'s live state before applying or comparing it. */
export function hasControlledFields(obj: SyncObject, controlled: ControlledFields): boolean {
  const k = keyOf(obj);
  return controlled.routed.has(k) || controlled.services.has(k) || (controlled.scaled.has(k) && hasReplicas(obj));
}

/** Git's selector plus the live pod-template-hash, when live has one and Git does not name it. */
function withLiveSelectorHash(desired: SyncObject, live: Record<string, unknown>): SyncObject {
  const spec = desired.spec;
  const hash = isRecord(live.spec) && isRecord(live.spec.selector) ? live.spec.selector[POD_TEMPLATE_HASH_LABEL] : undefined;
  if (typeof hash !== 'string' || !isRecord(spec) || !isRecord(spec.selector) || POD_TEMPLATE_HASH_LABEL in spec.selector) return desired;
  return { ...desired, spec: { ...spec, selector: { ...spec.selector, [POD_TEMPLATE_HASH_LABEL]: hash } } };
}

function withLiveReplicas(desired: SyncObject, live: Record<string, unknown>): SyncObject {
  const replicas = isRecord(live.spec) ? live.spec.replicas : undefined;
  if (typeof replicas !== 'number' || !isRecord(desired.spec) || !hasReplicas(desired)) return desired;
  return { ...desired, spec: { ...desired.spec, replicas } };
}

/**
 * `desired` with the controlled fields taken from `live`. Anything live
 * does not have (no such rule, backend, hash or count) stays as Git says;
 * so does every other field. `desired` is not changed in place.
 */
export function withLiveControlledFields(desired: SyncObject, live: unknown, controlled: ControlledFields): SyncObject {
  if (!isRecord(live)) return desired;
  const k = keyOf(desired);
  let out = desired;
  for (const routed of controlled.routed.get(k) ?? []) out = routed.yieldToLive(out, live as TrafficObject) as unknown as SyncObject;
  if (controlled.services.has(k)) out = withLiveSelectorHash(out, live);
  if (controlled.scaled.has(k)) out = withLiveReplicas(out, live);
  return out;
}

/** What Git sync reads of the cluster to yield controlled fields. */
export interface LiveLookup {
  /** The live object of a ref, or undefined when it does not exist. */
  read(ref: ObjectRef): Promise<unknown>;
  /** The HorizontalPodAutoscalers of a namespace, live. */
  autoscalers(namespace: string): Promise<unknown[]>;
}

/**
 * The documents as Git sync applies and compares them: those with
 * controlled fields carry the live values of those fields. Only those are
 * read live, and the HPAs only of namespaces where Git sets replicas.
 */
export async function yieldControlledFields(documents: readonly SyncDocument[], live: LiveLookup): Promise<SyncDocument[]> {
  const namespaces = new Set(documents.filter((d) => hasReplicas(d.object)).map((d) => d.object.metadata.namespace ?? 'default'));
  const liveScaled: string[] = [];
  for (const ns of namespaces) {
    for (const hpa of await live.autoscalers(ns)) {
      const target = scaleTargetOf(hpa);
      if (target) liveScaled.push(target);
    }
  }
  const controlled = controlledFields(documents, liveScaled);
  const out: SyncDocument[] = [];
  for (const doc of documents) {
    const obj = doc.object;
    if (!hasControlledFields(obj, controlled)) {
      out.push(doc);
      continue;
    }
    const current = await live.read({ apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name, namespace: obj.metadata.namespace ?? 'default' });
    out.push(current === undefined ? doc : { ...doc, object: withLiveControlledFields(obj, current, controlled) });
  }
  return out;
}
