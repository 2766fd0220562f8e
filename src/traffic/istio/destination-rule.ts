// The DestinationRule of subset-level splitting: its stable and canary
// subsets select the stable and canary ReplicaSets by their
// rollouts-pod-template-hash label, and it carries Argo's managed-by
// annotation naming the Rollout. Every other subset and field stays as read.
import { describeRef, isRecord } from '../objects.ts';
import type { TrafficContext, TrafficObject, TrafficObjectRef } from '../types.ts';
import type { IstioDestinationRuleConfig } from './config.ts';
import { jsonEqual, listAt, stringAt, type Json } from './json.ts';
import { ISTIO_API_VERSION } from './virtual-service.ts';

export const POD_TEMPLATE_HASH_LABEL = 'rollouts-pod-template-hash';
/** Argo's annotation on the DestinationRule it updates: the Rollout's name. */
export const MANAGED_BY_ANNOTATION = 'argo-rollouts.argoproj.io/managed-by-rollouts';

export function destinationRuleRef(ctx: TrafficContext, cfg: IstioDestinationRuleConfig): TrafficObjectRef {
  return { apiVersion: ISTIO_API_VERSION, kind: 'DestinationRule', plural: 'destinationrules', namespace: ctx.rollout.namespace, name: cfg.name };
}

export interface DestinationRuleView {
  ref: TrafficObjectRef;
  live: TrafficObject | undefined;
  /** spec.host, when the object has one. */
  host: string | undefined;
  problems: string[];
}

export function viewDestinationRule(ctx: TrafficContext, cfg: IstioDestinationRuleConfig, live: TrafficObject | undefined): DestinationRuleView {
  const ref = destinationRuleRef(ctx, cfg);
  const what = describeRef(ref);
  if (!live) return { ref, live, host: undefined, problems: [`${what} not found`] };
  const subsets = listAt(live.spec, 'subsets') ?? [];
  const problems: string[] = [];
  for (const name of [cfg.canarySubsetName, cfg.stableSubsetName]) {
    if (!subsets.some((s) => stringAt(s, 'name') === name)) problems.push(`${what} has no subset named "${name}"`);
  }
  return { ref, live, host: stringAt(live.spec, 'host'), problems };
}

/**
 * The hash each subset selects: the canary's (the stable's when there is no
 * canary ReplicaSet) and the stable's; undefined drops the label, as Argo does
 * for an empty hash.
 */
function hashes(ctx: TrafficContext): { canary: string | undefined; stable: string | undefined } {
  return { canary: ctx.canaryHash ?? ctx.stableHash, stable: ctx.stableHash };
}

function withHash(subset: Json, hash: string | undefined): Json {
  const labels = isRecord(subset.labels) ? subset.labels : {};
  if (hash === undefined) {
    if (!(POD_TEMPLATE_HASH_LABEL in labels)) return subset;
    return { ...subset, labels: Object.fromEntries(Object.entries(labels).filter(([k]) => k !== POD_TEMPLATE_HASH_LABEL)) };
  }
  if (labels[POD_TEMPLATE_HASH_LABEL] === hash) return subset;
  return { ...subset, labels: { ...labels, [POD_TEMPLATE_HASH_LABEL]: hash } };
}

/** The DestinationRule as it must be: `live` with the two subsets' hashes and the annotation set. */
export function desiredDestinationRule(ctx: TrafficContext, cfg: IstioDestinationRuleConfig, live: TrafficObject): TrafficObject {
  const { canary, stable } = hashes(ctx);
  const spec = isRecord(live.spec) ? live.spec : {};
  const subsets = (listAt(spec, 'subsets') ?? []).map((s) => {
    if (!isRecord(s)) return s;
    if (s.name === cfg.canarySubsetName) return withHash(s, canary);
    if (s.name === cfg.stableSubsetName) return withHash(s, stable);
    return s;
  });
  const annotations = { ...live.metadata.annotations, [MANAGED_BY_ANNOTATION]: ctx.rollout.name };
  return { ...live, metadata: { ...live.metadata, annotations }, spec: { ...spec, subsets } };
}

/** Whether `live` already is as it must be. */
export function destinationRuleHolds(ctx: TrafficContext, cfg: IstioDestinationRuleConfig, live: TrafficObject): boolean {
  const desired = desiredDestinationRule(ctx, cfg, live);
  return jsonEqual(desired.spec, live.spec) && jsonEqual(desired.metadata.annotations, live.metadata.annotations);
}

/** Git's DestinationRule with the two subsets' hash labels taken from the live one (where it has them). */
export function yieldDestinationRule(cfg: IstioDestinationRuleConfig, desired: TrafficObject, live: TrafficObject): TrafficObject {
  const liveSubsets = listAt(live.spec, 'subsets') ?? [];
  const gitSubsets = listAt(desired.spec, 'subsets');
  if (!gitSubsets || !isRecord(desired.spec)) return structuredClone(desired);
  const subsets = gitSubsets.map((s) => {
    const name = stringAt(s, 'name');
    if (!isRecord(s) || (name !== cfg.canarySubsetName && name !== cfg.stableSubsetName)) return structuredClone(s);
    const match = liveSubsets.find((l) => stringAt(l, 'name') === name);
    const hash = isRecord(match) && isRecord(match.labels) ? match.labels[POD_TEMPLATE_HASH_LABEL] : undefined;
    const copy = structuredClone(s);
    return typeof hash === 'string' ? withHash(copy, hash) : copy;
  });
  return { ...structuredClone(desired), spec: { ...structuredClone(desired.spec), subsets } };
}
