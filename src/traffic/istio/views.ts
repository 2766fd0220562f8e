// One VirtualService as the router reads it (its weighted routes, what they
// must name, its problems) and as it must be for an intent.
import { describeRef, isRecord } from '../objects.ts';
import type { TrafficContext, TrafficIntent, TrafficObject, TrafficObjectRef } from '../types.ts';
import type { IstioConfig, IstioVirtualServiceConfig } from './config.ts';
import { listAt, stringAt, type Json } from './json.ts';
import { desiredManagedRoutes, managedNames } from './managed-routes.ts';
import { destinationProblems, ISTIO_API_VERSION, reweigh, routeAt, selectRoutes, type Targets, type WeightedRoute } from './virtual-service.ts';

export function virtualServiceRef(ctx: TrafficContext, cfg: IstioVirtualServiceConfig): TrafficObjectRef {
  return { apiVersion: ISTIO_API_VERSION, kind: 'VirtualService', plural: 'virtualservices', namespace: cfg.namespace ?? ctx.rollout.namespace, name: cfg.name };
}

/** What a destination must name in a VirtualService of `vsNamespace`; `drHost`: the DestinationRule's host when known. */
export function targetsFor(ctx: TrafficContext, config: IstioConfig, vsNamespace: string, drHost: string | undefined): Targets {
  const dr = config.destinationRule;
  return {
    vsNamespace,
    rolloutNamespace: ctx.rollout.namespace,
    canaryService: ctx.canaryService,
    stableService: ctx.stableService,
    subsets: dr && { canary: dr.canarySubsetName, stable: dr.stableSubsetName, additional: dr.additionalSubsetNames, host: drHost },
  };
}

export interface VirtualServiceView {
  ref: TrafficObjectRef;
  live: TrafficObject | undefined;
  targets: Targets;
  weighted: WeightedRoute[];
  problems: string[];
}

export function viewVirtualService(ctx: TrafficContext, config: IstioConfig, cfg: IstioVirtualServiceConfig, live: TrafficObject | undefined, drHost: string | undefined): VirtualServiceView {
  const ref = virtualServiceRef(ctx, cfg);
  const targets = targetsFor(ctx, config, ref.namespace, drHost);
  const what = describeRef(ref);
  if (!live) return { ref, live, targets, weighted: [], problems: [`${what} not found`] };
  if (!isRecord(live.spec)) return { ref, live, targets, weighted: [], problems: [`${what} has no spec`] };
  const { weighted, problems } = selectRoutes(live.spec, cfg, managedNames(ctx), what);
  return { ref, live, targets, weighted, problems: [...problems, ...destinationProblems(live.spec, weighted, targets, what)] };
}

/** The first weighted HTTP route (in the configuration's order): the one managed routes copy their destinations from. */
export function firstWeightedHttp(spec: unknown, weighted: readonly WeightedRoute[]): Json | undefined {
  const first = weighted.find((w) => w.kind === 'http');
  return first && routeAt(spec, first);
}

/**
 * The VirtualService as it must be for `intent`: the weighted routes at the
 * weight, the intent's managed routes above the user's routes (in
 * managedRoutes order), every other managed route gone. Everything else as read.
 */
export function desiredVirtualService(ctx: TrafficContext, view: VirtualServiceView, live: TrafficObject, intent: TrafficIntent): TrafficObject {
  const spec: Json = isRecord(live.spec) ? { ...live.spec } : {};
  for (const w of view.weighted) {
    const list = [...(listAt(spec, w.kind) ?? [])];
    const route = list[w.index];
    if (!isRecord(route)) continue;
    list[w.index] = reweigh(route, view.targets, intent.canaryWeight, ctx.maxWeight);
    spec[w.kind] = list;
  }
  const managed = managedNames(ctx, intent);
  const http = listAt(spec, 'http');
  const wanted = desiredManagedRoutes(ctx, intent, firstWeightedHttp(spec, view.weighted), view.targets);
  if (http || wanted.length > 0) {
    spec.http = [...wanted, ...(http ?? []).filter((r) => !managed.has(stringAt(r, 'name') ?? ''))];
  }
  return { ...live, spec };
}
