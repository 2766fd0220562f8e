// SMI: one TrafficSplit (split.smi-spec.io) that the Rollout creates and owns,
// splitting its root Service between the canary and stable Services.
//
// The TrafficSplit is never deleted: when the root Service is not the stable
// one, it selects every pod, and without a TrafficSplit the mesh would send
// traffic to the canary's pods too. At the end of a rollout and on abort it
// stays, at weight 0: its shape after a rollout equals its shape before.
import { MANAGED_BY, MANAGED_BY_LABEL } from '../../api/common.ts';
import { describeRef, isRecord, liveOf, ownedByRollout } from '../objects.ts';
import type { LiveObjects, ObservedTraffic, Router, TrafficContext, TrafficIntent, TrafficObject, TrafficObjectRef, TrafficWrite } from '../types.ts';
import { parseSmiConfig, type SmiConfig } from './config.ts';

/**
 * The only version smi-sdk-go v0.5.0's CRD (crds/split.yaml) serves: v1alpha1
 * to v1alpha3 are declared `served: false` there, v1alpha4 is served and stored.
 */
const API_VERSION = 'split.smi-spec.io/v1alpha4';
const KIND = 'TrafficSplit';
const PLURAL = 'trafficsplits';
const LABEL = 'SMI TrafficSplit';

/** The label on the TrafficSplit Weir creates (the well-known managed-by label). */
const MANAGED_BY_LABELS: Readonly<Record<string, string>> = { [MANAGED_BY_LABEL]: MANAGED_BY };

interface Backend {
  service: string;
  weight: number;
}
interface SplitSpec {
  service: string;
  backends: Backend[];
}

function splitRef(ctx: TrafficContext, config: SmiConfig): TrafficObjectRef {
  return { apiVersion: API_VERSION, kind: KIND, plural: PLURAL, namespace: ctx.rollout.namespace, name: config.trafficSplitName ?? ctx.rollout.name };
}

function rootService(ctx: TrafficContext, config: SmiConfig): string {
  return config.rootService ?? ctx.stableService;
}

/** The spec the router writes for `canaryWeight`: the canary first, then the stable with the rest. */
function desiredSpec(ctx: TrafficContext, config: SmiConfig, canaryWeight: number): SplitSpec {
  return {
    service: rootService(ctx, config),
    backends: [
      { service: ctx.canaryService, weight: canaryWeight },
      { service: ctx.stableService, weight: ctx.maxWeight - canaryWeight },
    ],
  };
}

/** The canary weight `spec` holds when it is exactly in the router's shape; undefined otherwise. */
function canonicalWeight(ctx: TrafficContext, config: SmiConfig, spec: unknown): number | undefined {
  if (!isRecord(spec) || !Array.isArray(spec.backends)) return undefined;
  const first: unknown = spec.backends[0];
  if (!isRecord(first)) return undefined;
  const weight = first.weight;
  if (typeof weight !== 'number' || !Number.isInteger(weight) || weight < 0 || weight > ctx.maxWeight) return undefined;
  return sameJson(spec, desiredSpec(ctx, config, weight)) ? weight : undefined;
}

/** Deep equality of JSON values, key order ignored. */
function sameJson(a: unknown, b: unknown): boolean {
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (isRecord(a) || isRecord(b)) {
    if (!isRecord(a) || !isRecord(b)) return false;
    const keys = Object.keys(a);
    return keys.length === Object.keys(b).length && keys.every((k) => Object.hasOwn(b, k) && sameJson(a[k], b[k]));
  }
  return a === b;
}

function notOwnedProblem(ctx: TrafficContext, ref: TrafficObjectRef): string {
  return `${describeRef(ref)} exists but is not controlled by Rollout ${ctx.rollout.namespace}/${ctx.rollout.name}: Weir does not overwrite it (rename it, or set trafficRouting.smi.trafficSplitName to another name)`;
}

function observe(ctx: TrafficContext, config: SmiConfig, live: LiveObjects): ObservedTraffic {
  const ref = splitRef(ctx, config);
  const split = liveOf(live, ref);
  const observed: ObservedTraffic = { router: LABEL, canaryWeight: undefined, headerRoutes: [], mirrorRoutes: [], verified: undefined, problems: [] };
  // Missing: the weight is undefined, so the engine writes and the router creates it.
  if (split === undefined) return observed;
  if (!ownedByRollout(split, ctx)) return { ...observed, problems: [notOwnedProblem(ctx, ref)] };
  return { ...observed, canaryWeight: canonicalWeight(ctx, config, split.spec) };
}

function writes(ctx: TrafficContext, config: SmiConfig, live: LiveObjects, intent: TrafficIntent): TrafficWrite[] {
  const ref = splitRef(ctx, config);
  const split = liveOf(live, ref);
  const spec = desiredSpec(ctx, config, intent.canaryWeight);
  if (split === undefined) {
    const body: TrafficObject = {
      apiVersion: API_VERSION,
      kind: KIND,
      metadata: { name: ref.name, namespace: ref.namespace, labels: { ...MANAGED_BY_LABELS } },
      spec,
    };
    return [{ op: 'create', ref, body }];
  }
  // Never overwrite a TrafficSplit the Rollout does not control (observe reports it).
  if (!ownedByRollout(split, ctx)) return [];
  if (sameJson(split.spec, spec)) return [];
  // The Rollout owns the whole spec: anything else in it (matches) would change the split.
  return [{ op: 'update', ref, body: { ...split, apiVersion: API_VERSION, kind: KIND, spec } }];
}

export const smiRouter: Router<SmiConfig> = {
  key: 'smi',
  label: LABEL,
  capabilities: { headerRoutes: false, headerMatchKinds: [], maxHeaderMatches: undefined, maxHeaderRoutes: undefined, mirrorRoutes: false },
  kinds: [{ apiVersion: API_VERSION, kind: KIND, plural: PLURAL }],
  parse: parseSmiConfig,
  objects: (ctx, config) => [splitRef(ctx, config)],
  observe,
  writes,
  // The TrafficSplit is created by the Rollout, never taken from Git.
  gitControlled: () => [],
};
