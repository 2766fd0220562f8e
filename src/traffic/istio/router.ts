// The Istio router: Argo Rollouts' trafficRouting.istio. It weights the
// stable and canary destinations of a VirtualService's routes (host-level:
// two Services; subset-level: two subsets of a DestinationRule, whose labels
// it keeps on the stable and canary pod-template hashes), and places the
// managed header and mirror routes above the user's HTTP routes. It only
// updates objects the configuration names; it creates and deletes nothing.
import { liveOf } from '../objects.ts';
import type { GitControlledObject, LiveObjects, ObservedTraffic, Router, TrafficContext, TrafficIntent, TrafficWrite } from '../types.ts';
import { parseIstioConfig, type IstioConfig } from './config.ts';
import { destinationRuleHolds, desiredDestinationRule, destinationRuleRef, viewDestinationRule, yieldDestinationRule, type DestinationRuleView } from './destination-rule.ts';
import { yieldVirtualService } from './git-controlled.ts';
import { jsonEqual, listAt } from './json.ts';
import { isMirrorRoute, managedInOrder, managedNames, presentManaged } from './managed-routes.ts';
import { desiredVirtualService, viewVirtualService, virtualServiceRef, type VirtualServiceView } from './views.ts';
import { heldCanaryWeight, ISTIO_API_VERSION, routeAt } from './virtual-service.ts';

const LABEL = 'Istio';

interface Views {
  dr: DestinationRuleView | undefined;
  vss: VirtualServiceView[];
  problems: string[];
}

function views(ctx: TrafficContext, config: IstioConfig, live: LiveObjects): Views {
  const problems: string[] = [];
  const dr = config.destinationRule && viewDestinationRule(ctx, config.destinationRule, liveOf(live, destinationRuleRef(ctx, config.destinationRule)));
  if (!config.destinationRule && (ctx.stableService === '' || ctx.canaryService === '')) {
    problems.push('Istio host-level routing needs the Rollout\'s canaryService and stableService (or a destinationRule for subset-level routing)');
  }
  const vss = config.virtualServices.map((cfg) => viewVirtualService(ctx, config, cfg, liveOf(live, virtualServiceRef(ctx, cfg)), dr?.host));
  for (const v of vss) problems.push(...v.problems);
  if (dr) problems.push(...dr.problems);
  const found = vss.every((v) => v.live !== undefined && v.problems.length === 0);
  if (found && ctx.managedRoutes.length > 0 && !vss.some((v) => v.weighted.some((w) => w.kind === 'http'))) {
    problems.push(`managedRoutes need an HTTP route to sit above, and no VirtualService has a weighted HTTP route (${vss.map((v) => `${v.ref.namespace}/${v.ref.name}`).join(', ')})`);
  }
  return { dr, vss, problems };
}

/** The canary weight every weighted route (and managed mirror route) agrees on and that the objects' shape confirms, or undefined. */
function agreedWeight(ctx: TrafficContext, config: IstioConfig, v: Views): number | undefined {
  if (v.problems.length > 0) return undefined;
  const managed = managedNames(ctx);
  const weights: (number | undefined)[] = [];
  const sets: string[] = [];
  for (const vs of v.vss) {
    const spec = vs.live?.spec;
    const http = listAt(spec, 'http') ?? [];
    for (const w of vs.weighted) weights.push(heldCanaryWeight(routeAt(spec, w), vs.targets, ctx.maxWeight));
    const present = presentManaged(http, managed);
    for (const p of present) if (isMirrorRoute(p.route)) weights.push(heldCanaryWeight(p.route, vs.targets, ctx.maxWeight));
    if (!managedInOrder(http, managed, ctx)) return undefined;
    const names = present.map((p) => p.name).join('\n');
    if (vs.weighted.some((w) => w.kind === 'http')) sets.push(names);
    else if (names !== '') return undefined;
  }
  if (sets.some((s) => s !== sets[0])) return undefined;
  const dr = v.dr;
  if (config.destinationRule && (!dr?.live || !destinationRuleHolds(ctx, config.destinationRule, dr.live))) return undefined;
  const first = weights[0];
  return first !== undefined && weights.every((w) => w === first) ? first : undefined;
}

function observe(ctx: TrafficContext, config: IstioConfig, live: LiveObjects): ObservedTraffic {
  const v = views(ctx, config, live);
  const managed = managedNames(ctx);
  const headerRoutes = new Set<string>();
  const mirrorRoutes = new Set<string>();
  for (const vs of v.vss) {
    for (const p of presentManaged(listAt(vs.live?.spec, 'http') ?? [], managed)) (isMirrorRoute(p.route) ? mirrorRoutes : headerRoutes).add(p.name);
  }
  const ordered = (names: Set<string>): string[] => ctx.managedRoutes.filter((n) => names.has(n));
  return {
    router: LABEL,
    canaryWeight: agreedWeight(ctx, config, v),
    headerRoutes: ordered(headerRoutes),
    mirrorRoutes: ordered(mirrorRoutes),
    verified: undefined,
    problems: v.problems,
  };
}

function writes(ctx: TrafficContext, config: IstioConfig, live: LiveObjects, intent: TrafficIntent): TrafficWrite[] {
  const v = views(ctx, config, live);
  const out: TrafficWrite[] = [];
  const dr = v.dr;
  if (config.destinationRule && dr?.live && dr.problems.length === 0 && !destinationRuleHolds(ctx, config.destinationRule, dr.live)) {
    const body = desiredDestinationRule(ctx, config.destinationRule, dr.live);
    out.push({ op: 'update', ref: dr.ref, body: { ...body, apiVersion: ISTIO_API_VERSION, kind: 'DestinationRule' } });
  }
  for (const vs of v.vss) {
    if (!vs.live || vs.problems.length > 0) continue;
    const body = desiredVirtualService(ctx, vs, vs.live, intent);
    if (!jsonEqual(body.spec, vs.live.spec)) out.push({ op: 'update', ref: vs.ref, body: { ...body, apiVersion: ISTIO_API_VERSION, kind: 'VirtualService' } });
  }
  return out;
}

function gitControlled(ctx: TrafficContext, config: IstioConfig): GitControlledObject[] {
  const out: GitControlledObject[] = config.virtualServices.map((cfg) => {
    const { apiVersion, kind, namespace, name } = virtualServiceRef(ctx, cfg);
    return { ref: { apiVersion, kind, namespace, name }, yieldToLive: (desired, live) => yieldVirtualService(ctx, config, cfg, desired, live) };
  });
  const dr = config.destinationRule;
  if (dr) {
    const { apiVersion, kind, namespace, name } = destinationRuleRef(ctx, dr);
    out.push({ ref: { apiVersion, kind, namespace, name }, yieldToLive: (desired, live) => yieldDestinationRule(dr, desired, live) });
  }
  return out;
}

export const istioRouter: Router<IstioConfig> = {
  key: 'istio',
  label: LABEL,
  capabilities: { headerRoutes: true, headerMatchKinds: ['exact', 'prefix', 'regex'], maxHeaderMatches: undefined, maxHeaderRoutes: undefined, mirrorRoutes: true },
  kinds: [
    { apiVersion: ISTIO_API_VERSION, kind: 'VirtualService', plural: 'virtualservices' },
    { apiVersion: ISTIO_API_VERSION, kind: 'DestinationRule', plural: 'destinationrules' },
  ],
  parse: parseIstioConfig,
  objects: (ctx, config) => [...config.virtualServices.map((cfg) => virtualServiceRef(ctx, cfg)), ...(config.destinationRule ? [destinationRuleRef(ctx, config.destinationRule)] : [])],
  observe,
  writes,
  gitControlled,
};
