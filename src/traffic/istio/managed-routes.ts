// The managed HTTP routes: header routes (every matching request to the
// canary) and mirror routes (matching requests copied to the canary, the
// responses still from the weighted destinations). As Argo does, they sit
// above the user's routes, in managedRoutes order, and a mirror route's
// destinations are those of the first weighted HTTP route, weights included,
// so they follow every weight change.
import { isRecord } from '../objects.ts';
import type { HeaderRoute, MirrorRoute, RouteMatch, StringMatch, TrafficContext, TrafficIntent } from '../types.ts';
import { listAt, stringAt, type Json } from './json.ts';
import { destinationOf, roleOf, type Targets } from './virtual-service.ts';

/** The names of the routes the Rollout manages: ctx.managedRoutes, and any the intent holds. */
export function managedNames(ctx: TrafficContext, intent?: TrafficIntent): Set<string> {
  const names = new Set(ctx.managedRoutes);
  for (const r of [...(intent?.headerRoutes ?? []), ...(intent?.mirrorRoutes ?? [])]) names.add(r.name);
  return names;
}

/** Istio's StringMatch: exactly one of exact, prefix, regex (the CRD's oneOf). */
function stringMatch(m: StringMatch): Json {
  if (m.exact !== undefined) return { exact: m.exact };
  if (m.prefix !== undefined) return { prefix: m.prefix };
  if (m.regex !== undefined) return { regex: m.regex };
  return {};
}

/** Header names are case-insensitive; Istio matches them in lowercase. */
function headerMatches(headers: readonly [string, StringMatch][]): Json {
  const out: Json = {};
  for (const [name, value] of headers) {
    const key = name.toLowerCase();
    if (!(key in out)) out[key] = stringMatch(value);
  }
  return out;
}

/** The canary's destination (host, subset, port) of a weighted HTTP route. */
export function canaryDestination(route: Json, t: Targets): Json | undefined {
  const entry = (listAt(route, 'route') ?? []).find((e) => roleOf(e, t) === 'canary');
  const destination = destinationOf(entry);
  if (!destination) return undefined;
  const out: Json = { host: destination.host };
  if (typeof destination.subset === 'string') out.subset = destination.subset;
  if (isRecord(destination.port)) out.port = { ...destination.port };
  return out;
}

/** One match on all the headers (AND), every request matching it to the canary. */
export function headerRoute(route: HeaderRoute, canary: Json): Json {
  return {
    name: route.name,
    match: [{ headers: headerMatches(route.match.map((m) => [m.headerName, m.headerValue])) }],
    route: [{ destination: structuredClone(canary), weight: 100 }],
  };
}

function istioMatch(m: RouteMatch): Json {
  const out: Json = {};
  if (m.method) out.method = stringMatch(m.method);
  if (m.path) out.uri = stringMatch(m.path);
  if (m.headers && Object.keys(m.headers).length > 0) out.headers = headerMatches(Object.entries(m.headers));
  return out;
}

/** Any match (OR) is served by `weighted`'s destinations and weights, and copied to the canary at `percentage`. */
export function mirrorRoute(route: MirrorRoute, weighted: Json, canary: Json): Json {
  return {
    name: route.name,
    match: route.match.map(istioMatch),
    route: structuredClone(listAt(weighted, 'route') ?? []),
    mirror: structuredClone(canary),
    mirrorPercentage: { value: route.percentage },
  };
}

/** Whether a managed route present in a VirtualService is a mirror route. */
export function isMirrorRoute(route: unknown): boolean {
  return isRecord(route) && route.mirror !== undefined;
}

/** The intent's managed routes, in managedRoutes order (names not listed there last, in the intent's order). */
export function desiredManagedRoutes(ctx: TrafficContext, intent: TrafficIntent, weighted: Json | undefined, t: Targets): Json[] {
  const canary = weighted && canaryDestination(weighted, t);
  if (!weighted || !canary) return [];
  const routes = [...intent.headerRoutes.map((r) => ({ name: r.name, body: headerRoute(r, canary) })), ...intent.mirrorRoutes.map((r) => ({ name: r.name, body: mirrorRoute(r, weighted, canary) }))];
  const rank = (name: string): number => {
    const i = ctx.managedRoutes.indexOf(name);
    return i < 0 ? ctx.managedRoutes.length : i;
  };
  return routes
    .map((r, i) => ({ ...r, i }))
    .sort((a, b) => rank(a.name) - rank(b.name) || a.i - b.i)
    .map((r) => r.body);
}

/** The managed routes present in an HTTP route list, by name, in their order. */
export function presentManaged(http: readonly unknown[], managed: ReadonlySet<string>): { name: string; route: unknown; index: number }[] {
  return http.flatMap((route, index) => {
    const name = stringAt(route, 'name');
    return name !== undefined && managed.has(name) ? [{ name, route, index }] : [];
  });
}

/** Whether the managed routes of `http` come first, each once, in managedRoutes order. */
export function managedInOrder(http: readonly unknown[], managed: ReadonlySet<string>, ctx: TrafficContext): boolean {
  const present = presentManaged(http, managed);
  const ranks = present.map((p) => {
    const i = ctx.managedRoutes.indexOf(p.name);
    return i < 0 ? ctx.managedRoutes.length : i;
  });
  return present.every((p, k) => p.index === k) && ranks.every((r, k) => k === 0 || r > (ranks[k - 1] ?? -1)) && new Set(present.map((p) => p.name)).size === present.length;
}
