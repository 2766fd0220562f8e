// Gateway API as a traffic router (Argo's argoproj-labs/gatewayAPI plugin
// configuration): the weighted rule of each named HTTPRoute and GRPCRoute
// holds the split; header routes and (HTTPRoute only) mirror routes are
// rules named after the managed route, placed first in managedRoutes order,
// in the routes marked useHeaderRoutes (a single httpRoute or grpcRoute is).
import { isDeepStrictEqual } from 'node:util';
import { describeRef, liveOf } from '../objects.ts';
import type { GitControlledObject, LiveObjects, ObservedTraffic, Router, TrafficContext, TrafficIntent, TrafficObject, TrafficObjectRef, TrafficWrite } from '../types.ts';
import { parseGatewayApiConfig, type GatewayApiConfig, type GatewayRoute } from './config.ts';
import { canaryWeightOf, headerRule, isManaged, isMirrorRule, mirrorRule, rulesOf, weightedRuleIndex, withWeight, type RouteRule } from './rules.ts';

export const GATEWAY_API_PLUGIN = 'argoproj-labs/gatewayAPI';
const GROUP_VERSION = 'gateway.networking.k8s.io/v1';
const PLURALS = { HTTPRoute: 'httproutes', GRPCRoute: 'grpcroutes' } as const;

function refOf(ctx: TrafficContext, config: GatewayApiConfig, route: GatewayRoute): TrafficObjectRef {
  return { apiVersion: GROUP_VERSION, kind: route.kind, plural: PLURALS[route.kind], namespace: config.namespace ?? ctx.rollout.namespace, name: route.name };
}

/** Whether the managed routes of this kind go into the route. */
function holds(route: GatewayRoute, what: 'header' | 'mirror'): boolean {
  return route.useHeaderRoutes && (what === 'header' || route.kind === 'HTTPRoute');
}

/** The rules the route should have for the intent: the managed ones first, then the user's with the weighted rule at the weight. */
function desiredRules(rules: readonly RouteRule[], ctx: TrafficContext, route: GatewayRoute, intent: TrafficIntent): RouteRule[] | undefined {
  const index = weightedRuleIndex(rules, ctx);
  const base = rules[index];
  if (base === undefined) return undefined;
  const weighted = withWeight(base, ctx, intent.canaryWeight);
  const own = rules.filter((rule) => !isManaged(rule, ctx)).map((rule) => (rule === base ? weighted : rule));
  const managed: RouteRule[] = [];
  for (const name of ctx.managedRoutes) {
    const header = holds(route, 'header') ? intent.headerRoutes.find((h) => h.name === name) : undefined;
    const mirror = holds(route, 'mirror') ? intent.mirrorRoutes.find((m) => m.name === name) : undefined;
    if (header) managed.push(headerRule(base, header, ctx, route.kind));
    else if (mirror) managed.push(mirrorRule(weighted, mirror, ctx));
  }
  return [...managed, ...own];
}

function observe(ctx: TrafficContext, config: GatewayApiConfig, live: LiveObjects): ObservedTraffic {
  const out: ObservedTraffic = { router: 'Gateway API', canaryWeight: undefined, headerRoutes: [], mirrorRoutes: [], verified: undefined, problems: [] };
  const weights = new Set<number | undefined>();
  const managedSets = new Set<string>();
  let consistent = true;
  for (const route of config.routes) {
    const ref = refOf(ctx, config, route);
    const obj = liveOf(live, ref);
    if (obj === undefined) {
      out.problems.push(`${describeRef(ref)} not found`);
      continue;
    }
    const rules = rulesOf(obj.spec);
    const index = weightedRuleIndex(rules, ctx);
    const weighted = rules[index];
    if (weighted === undefined) {
      out.problems.push(`${describeRef(ref)} has no rule with backendRefs to both ${ctx.stableService} and ${ctx.canaryService}`);
      continue;
    }
    const weight = canaryWeightOf(weighted, ctx);
    weights.add(weight);
    const managed = rules.filter((rule) => isManaged(rule, ctx));
    for (const rule of managed) {
      const name = rule.name ?? '';
      if (isMirrorRule(rule)) {
        if (!out.mirrorRoutes.includes(name)) out.mirrorRoutes.push(name);
        // A mirror rule answers as the weighted rule does: weights that lag behind are rewritten.
        if (weight === undefined || canaryWeightOf(rule, ctx) !== weight) consistent = false;
      } else if (!out.headerRoutes.includes(name)) out.headerRoutes.push(name);
    }
    if (!route.useHeaderRoutes && managed.length > 0) consistent = false;
    if (route.useHeaderRoutes) managedSets.add(JSON.stringify(managed.map((r) => r.name).sort()));
  }
  if (out.problems.length === 0 && weights.size === 1 && managedSets.size <= 1 && consistent) out.canaryWeight = [...weights][0];
  return out;
}

function writes(ctx: TrafficContext, config: GatewayApiConfig, live: LiveObjects, intent: TrafficIntent): TrafficWrite[] {
  const out: TrafficWrite[] = [];
  for (const route of config.routes) {
    const ref = refOf(ctx, config, route);
    const obj = liveOf(live, ref);
    if (obj === undefined) continue; // observe reports it; never created
    const rules = rulesOf(obj.spec);
    const desired = desiredRules(rules, ctx, route, intent);
    if (desired === undefined || isDeepStrictEqual(desired, rules)) continue;
    const spec = typeof obj.spec === 'object' && obj.spec !== null ? obj.spec : {};
    out.push({ op: 'update', ref, body: { ...obj, spec: { ...spec, rules: desired } } });
  }
  return out;
}

/** Git's route with the live weights of the weighted rule and the live managed rules: the Rollout controller's part. */
function yieldToLive(ctx: TrafficContext, desired: TrafficObject, live: TrafficObject): TrafficObject {
  const gitRules = rulesOf(desired.spec);
  const liveRules = rulesOf(live.spec);
  const gitIndex = weightedRuleIndex(gitRules, ctx);
  const liveWeighted = liveRules[weightedRuleIndex(liveRules, ctx)];
  const liveWeight = liveWeighted === undefined ? undefined : canaryWeightOf(liveWeighted, ctx);
  const own = gitRules.filter((rule) => !isManaged(rule, ctx));
  const rules = own.map((rule) => (rule === gitRules[gitIndex] && liveWeight !== undefined ? withWeight(rule, ctx, liveWeight) : rule));
  const managed = liveRules.filter((rule) => isManaged(rule, ctx));
  if (managed.length === 0 && isDeepStrictEqual(rules, gitRules)) return desired;
  const spec = typeof desired.spec === 'object' && desired.spec !== null ? desired.spec : {};
  return { ...desired, spec: { ...spec, rules: [...managed, ...rules] } };
}

export const gatewayApiRouter: Router<GatewayApiConfig> = {
  key: GATEWAY_API_PLUGIN,
  label: 'Gateway API',
  capabilities: {
    headerRoutes: true,
    headerMatchKinds: ['exact', 'regex'],
    maxHeaderMatches: undefined,
    maxHeaderRoutes: undefined,
    mirrorRoutes: true,
    mirrorMatchKinds: { method: ['exact'], path: ['exact', 'prefix', 'regex'], headers: ['exact', 'regex'] },
  },
  kinds: [
    { apiVersion: GROUP_VERSION, kind: 'HTTPRoute', plural: 'httproutes' },
    { apiVersion: GROUP_VERSION, kind: 'GRPCRoute', plural: 'grpcroutes' },
  ],
  parse: parseGatewayApiConfig,
  managedRouteProblem: (config, kind) =>
    config.routes.some((route) => holds(route, kind))
      ? undefined
      : kind === 'header'
        ? 'needs a route that takes header routes: a single httpRoute or grpcRoute, or an httpRoutes/grpcRoutes entry with useHeaderRoutes: true'
        : 'needs an HTTPRoute that takes mirror routes: a single httpRoute, or an httpRoutes entry with useHeaderRoutes: true',
  objects: (ctx, config) => config.routes.map((route) => refOf(ctx, config, route)),
  observe,
  writes,
  gitControlled: (ctx, config): GitControlledObject[] =>
    config.routes.map((route) => ({ ref: refOf(ctx, config, route), yieldToLive: (desired, live) => yieldToLive(ctx, desired, live) })),
};
