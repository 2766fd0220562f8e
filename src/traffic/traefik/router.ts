// Traefik: a TraefikService (traefik.io/v1alpha1, the user's, usually in Git)
// whose weighted round robin lists the stable and canary Services. The router
// sets those two entries' weights and leaves everything else as it is.
import { describeRef, isRecord, liveOf } from '../objects.ts';
import type {
  GitControlledObject,
  LiveObjects,
  ObservedTraffic,
  Router,
  TrafficContext,
  TrafficIntent,
  TrafficObject,
  TrafficObjectRef,
  TrafficWrite,
} from '../types.ts';
import { parseTraefikConfig, type TraefikConfig } from './config.ts';

/** Traefik v3's group (Traefik v2's traefik.containo.us is not spoken). */
const API_VERSION = 'traefik.io/v1alpha1';
const KIND = 'TraefikService';
const PLURAL = 'traefikservices';
const LABEL = 'Traefik';

function serviceRef(ctx: TrafficContext, config: TraefikConfig): TrafficObjectRef {
  return { apiVersion: API_VERSION, kind: KIND, plural: PLURAL, namespace: ctx.rollout.namespace, name: config.weightedTraefikServiceName };
}

type Role = 'stable' | 'canary';

/** spec.weighted.services of a TraefikService, undefined when absent or not a list. */
function weightedServices(obj: TrafficObject): unknown[] | undefined {
  const spec = obj.spec;
  if (!isRecord(spec) || !isRecord(spec.weighted)) return undefined;
  const services = spec.weighted.services;
  return Array.isArray(services) ? services : undefined;
}

/** Whether `entry` names the Kubernetes Service `name` of the Rollout's namespace (kind defaults to Service, namespace to the TraefikService's). */
function names(entry: unknown, name: string, namespace: string): entry is Record<string, unknown> {
  return (
    isRecord(entry) &&
    entry.name === name &&
    (entry.kind === undefined || entry.kind === 'Service') &&
    (entry.namespace === undefined || entry.namespace === namespace)
  );
}

/** The indexes of the entries naming `service`. */
function entriesOf(services: readonly unknown[], service: string, namespace: string): number[] {
  return services.flatMap((entry, i) => (names(entry, service, namespace) ? [i] : []));
}

type Analysis = { ok: true; services: unknown[]; stable: number; canary: number } | { ok: false; problems: string[] };

/** Where the stable and canary entries are, or why the TraefikService cannot be routed. */
function analyse(ctx: TrafficContext, ref: TrafficObjectRef, obj: TrafficObject | undefined): Analysis {
  const what = describeRef(ref);
  if (obj === undefined) return { ok: false, problems: [`${what} not found`] };
  const services = weightedServices(obj);
  if (services === undefined || services.length === 0) return { ok: false, problems: [`${what} has no weighted services (spec.weighted.services)`] };
  const problems: string[] = [];
  const at: Partial<Record<Role, number>> = {};
  for (const [role, service] of [['stable', ctx.stableService], ['canary', ctx.canaryService]] as const) {
    const found = entriesOf(services, service, ctx.rollout.namespace);
    const [index] = found;
    if (index === undefined) problems.push(`${what} does not list the ${role} Service "${service}" in spec.weighted.services`);
    else if (found.length > 1) problems.push(`${what} lists the ${role} Service "${service}" ${found.length} times in spec.weighted.services: which one to weigh is ambiguous`);
    else at[role] = index;
  }
  if (problems.length > 0 || at.stable === undefined || at.canary === undefined) return { ok: false, problems };
  return { ok: true, services, stable: at.stable, canary: at.canary };
}

function weightAt(services: readonly unknown[], index: number): unknown {
  const entry = services[index];
  return isRecord(entry) ? entry.weight : undefined;
}

/** `entry` with its weight set (in place of the old one) or, for undefined, removed. */
function withWeight(entry: unknown, weight: unknown): unknown {
  if (!isRecord(entry)) return entry;
  if (weight !== undefined) return { ...entry, weight };
  const { weight: _removed, ...rest } = entry;
  return rest;
}

function observe(ctx: TrafficContext, config: TraefikConfig, live: LiveObjects): ObservedTraffic {
  const ref = serviceRef(ctx, config);
  const analysis = analyse(ctx, ref, liveOf(live, ref));
  const observed: ObservedTraffic = { router: LABEL, canaryWeight: undefined, headerRoutes: [], mirrorRoutes: [], verified: undefined, problems: [] };
  if (!analysis.ok) return { ...observed, problems: analysis.problems };
  const canary = weightAt(analysis.services, analysis.canary);
  const stable = weightAt(analysis.services, analysis.stable);
  // Weights out of the router's shape (absent, as Argo's docs suggest writing them in Git, or not summing to maxWeight) are written.
  const canonical =
    typeof canary === 'number' && typeof stable === 'number' && Number.isInteger(canary) && Number.isInteger(stable) && canary >= 0 && stable >= 0 && canary + stable === ctx.maxWeight;
  return { ...observed, canaryWeight: canonical ? canary : undefined };
}

function writes(ctx: TrafficContext, config: TraefikConfig, live: LiveObjects, intent: TrafficIntent): TrafficWrite[] {
  const ref = serviceRef(ctx, config);
  const obj = liveOf(live, ref);
  const analysis = analyse(ctx, ref, obj);
  // Nothing to write to (observe names why); the router never creates the user's TraefikService.
  if (obj === undefined || !analysis.ok) return [];
  const canaryWeight = intent.canaryWeight;
  const stableWeight = ctx.maxWeight - canaryWeight;
  if (weightAt(analysis.services, analysis.canary) === canaryWeight && weightAt(analysis.services, analysis.stable) === stableWeight) return [];
  const body = structuredClone(obj);
  const services = weightedServices(body);
  // The clone has the analysed list at the same indexes; the guard only narrows the type.
  if (services === undefined) return [];
  services[analysis.canary] = withWeight(services[analysis.canary], canaryWeight);
  services[analysis.stable] = withWeight(services[analysis.stable], stableWeight);
  return [{ op: 'update', ref, body: { ...body, apiVersion: API_VERSION, kind: KIND } }];
}

/** The TraefikService of Git with the weights of its stable and canary entries taken from the live object. */
function yieldToLive(ctx: TrafficContext, desired: TrafficObject, live: TrafficObject): TrafficObject {
  const result = structuredClone(desired);
  const desiredServices = weightedServices(result);
  const liveServices = weightedServices(live);
  if (desiredServices === undefined || liveServices === undefined) return result;
  for (const service of [ctx.stableService, ctx.canaryService]) {
    const inLive = entriesOf(liveServices, service, ctx.rollout.namespace);
    // Absent or ambiguous in the live object: nothing the Rollout controls to keep.
    if (inLive.length !== 1 || inLive[0] === undefined) continue;
    const weight = weightAt(liveServices, inLive[0]);
    for (const i of entriesOf(desiredServices, service, ctx.rollout.namespace)) desiredServices[i] = withWeight(desiredServices[i], weight);
  }
  return result;
}

function gitControlled(ctx: TrafficContext, config: TraefikConfig): GitControlledObject[] {
  const { apiVersion, kind, namespace, name } = serviceRef(ctx, config);
  return [{ ref: { apiVersion, kind, namespace, name }, yieldToLive: (desired, live) => yieldToLive(ctx, desired, live) }];
}

export const traefikRouter: Router<TraefikConfig> = {
  key: 'traefik',
  label: LABEL,
  capabilities: { headerRoutes: false, headerMatchKinds: [], maxHeaderMatches: undefined, maxHeaderRoutes: undefined, mirrorRoutes: false },
  kinds: [{ apiVersion: API_VERSION, kind: KIND, plural: PLURAL }],
  parse: parseTraefikConfig,
  objects: (ctx, config) => [serviceRef(ctx, config)],
  observe,
  writes,
  gitControlled,
};
