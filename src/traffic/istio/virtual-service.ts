// Reading a VirtualService: which of its routes the Rollout weights (Argo's
// rules for routes, tlsRoutes and tcpRoutes), which destination of a route is
// the canary or the stable, and the weights each route must hold.
import { isRecord } from '../objects.ts';
import type { IstioTcpRouteSelector, IstioTlsRouteSelector, IstioVirtualServiceConfig } from './config.ts';
import { listAt, stringAt, type Json } from './json.ts';

export const ISTIO_API_VERSION = 'networking.istio.io/v1';

export type RouteKind = 'http' | 'tls' | 'tcp';
const KIND_LABEL: Record<RouteKind, string> = { http: 'HTTP', tls: 'TLS', tcp: 'TCP' };

/** A route whose stable and canary destinations the Rollout weights. */
export interface WeightedRoute {
  kind: RouteKind;
  /** Position in spec[kind]. */
  index: number;
  /** Which selection picked it, to find "the same" route in another copy of the object (Git's, live). */
  key: string;
  /** For messages: 'HTTP route "primary"', 'TLS route spec.tls[0]'. */
  label: string;
}

/** What a destination must name to be the canary or the stable. */
export interface Targets {
  /** The VirtualService's namespace: short hosts resolve in it. */
  vsNamespace: string;
  /** The Rollout's namespace, where its Services and DestinationRule are. */
  rolloutNamespace: string;
  /** Host-level: the Services' names. */
  canaryService: string;
  stableService: string;
  /** Subset-level (a destinationRule is configured): the subsets, on the DestinationRule's host. */
  subsets: SubsetTargets | undefined;
}

export interface SubsetTargets {
  canary: string;
  stable: string;
  additional: readonly string[];
  /** The DestinationRule's host as written; undefined: not known (then not checked). */
  host: string | undefined;
}

export type Role = 'canary' | 'stable' | 'additional' | 'other';

/**
 * The Service a host names, as "name.namespace": "svc" (in `namespace`),
 * "svc.ns", "svc.ns.svc" and "svc.ns.svc.cluster.local". Undefined for
 * any other host (external, wildcard).
 */
export function serviceOfHost(host: string, namespace: string): string | undefined {
  const parts = host.split('.');
  if (parts.some((p) => p === '' || p === '*')) return undefined;
  const [name, ns, ...rest] = parts;
  if (name === undefined) return undefined;
  if (ns === undefined) return `${name}.${namespace}`;
  const suffix = rest.join('.');
  return suffix === '' || suffix === 'svc' || suffix === 'svc.cluster.local' ? `${name}.${ns}` : undefined;
}

/** The `destination` of a route entry, when it names a host. */
export function destinationOf(entry: unknown): Json | undefined {
  const destination = isRecord(entry) ? entry.destination : undefined;
  return isRecord(destination) && typeof destination.host === 'string' ? destination : undefined;
}

export function roleOf(entry: unknown, t: Targets): Role {
  const destination = destinationOf(entry);
  if (!destination) return 'other';
  const host = String(destination.host);
  const subset = stringAt(destination, 'subset');
  if (t.subsets) {
    const s = t.subsets;
    if (subset !== undefined && s.additional.includes(subset)) return 'additional';
    const sameHost = s.host === undefined || sameService(host, t.vsNamespace, s.host, t.rolloutNamespace);
    if (sameHost && subset === s.canary) return 'canary';
    if (sameHost && subset === s.stable) return 'stable';
    return 'other';
  }
  const service = serviceOfHost(host, t.vsNamespace);
  if (service === `${t.canaryService}.${t.rolloutNamespace}`) return 'canary';
  if (service === `${t.stableService}.${t.rolloutNamespace}`) return 'stable';
  return 'other';
}

/** Whether two hosts, each read in its object's namespace, name the same Service (or are the same host). */
function sameService(a: string, aNamespace: string, b: string, bNamespace: string): boolean {
  const sa = serviceOfHost(a, aNamespace);
  return sa !== undefined ? sa === serviceOfHost(b, bNamespace) : a === b;
}

/** A route entry's weight; Istio's default 0 when unset. */
export function weightOf(entry: unknown): number {
  return isRecord(entry) && typeof entry.weight === 'number' ? entry.weight : 0;
}

function stableWeight(entries: readonly unknown[], t: Targets, canaryWeight: number, maxWeight: number): number {
  const additional = entries.filter((e) => roleOf(e, t) === 'additional').reduce((sum: number, e) => sum + weightOf(e), 0);
  return Math.max(0, maxWeight - canaryWeight - additional);
}

/** `route` with its canary destinations at `canaryWeight` and its stable ones at the rest (less the additional subsets' weights). */
export function reweigh(route: Json, t: Targets, canaryWeight: number, maxWeight: number): Json {
  const entries = listAt(route, 'route');
  if (!entries) return route;
  const stable = stableWeight(entries, t, canaryWeight, maxWeight);
  return {
    ...route,
    route: entries.map((e) => {
      const role = roleOf(e, t);
      const weight = role === 'canary' ? canaryWeight : role === 'stable' ? stable : undefined;
      return weight === undefined || !isRecord(e) || weightOf(e) === weight ? e : { ...e, weight };
    }),
  };
}

/** The canary weight `route` holds, when its canary and stable destinations agree on one; undefined otherwise. */
export function heldCanaryWeight(route: unknown, t: Targets, maxWeight: number): number | undefined {
  const entries = listAt(route, 'route') ?? [];
  const canary = entries.filter((e) => roleOf(e, t) === 'canary').map(weightOf);
  const stable = entries.filter((e) => roleOf(e, t) === 'stable').map(weightOf);
  const c = canary[0];
  if (c === undefined || stable.length === 0 || canary.some((w) => w !== c)) return undefined;
  const expected = stableWeight(entries, t, c, maxWeight);
  return stable.every((w) => w === expected) ? c : undefined;
}

function matchPorts(route: unknown): { ports: Set<number>; sniHosts: Set<string> } {
  const ports = new Set<number>();
  const sniHosts = new Set<string>();
  for (const m of listAt(route, 'match') ?? []) {
    ports.add(isRecord(m) && typeof m.port === 'number' ? m.port : 0);
    for (const h of listAt(m, 'sniHosts') ?? []) if (typeof h === 'string') sniHosts.add(h);
  }
  return { ports, sniHosts };
}

/** Argo's rule: the route's matches name one port (none: 0) equal to the selector's and, for TLS, exactly its SNI hosts. */
function selects(route: unknown, selector: IstioTlsRouteSelector | IstioTcpRouteSelector): boolean {
  const { ports, sniHosts } = matchPorts(route);
  if (ports.size > 1 || ([...ports][0] ?? 0) !== selector.port) return false;
  if (!('sniHosts' in selector)) return true;
  return sniHosts.size === selector.sniHosts.length && selector.sniHosts.every((h) => sniHosts.has(h));
}

function describeSelector(kind: RouteKind, selector: IstioTlsRouteSelector | IstioTcpRouteSelector): string {
  const port = selector.port === 0 ? 'no port' : `port ${selector.port}`;
  if (!('sniHosts' in selector)) return `${KIND_LABEL[kind]} route matching ${port}`;
  const hosts = selector.sniHosts.length === 0 ? 'no SNI hosts' : `SNI hosts ${selector.sniHosts.join(', ')}`;
  return `${KIND_LABEL[kind]} route matching ${port} and ${hosts}`;
}

function routeLabel(kind: RouteKind, route: unknown, index: number): string {
  const name = stringAt(route, 'name');
  return name !== undefined && name !== '' ? `${KIND_LABEL[kind]} route "${name}"` : `${KIND_LABEL[kind]} route spec.${kind}[${index}]`;
}

/**
 * The routes of `spec` the Rollout weights, by Argo's rules: HTTP routes by
 * name, or the one HTTP route that is not a managed route when `routes` is
 * omitted; TLS and TCP routes by their selectors, or the one route of the
 * kind when none is given. `what` names the object in the problems.
 */
export function selectRoutes(spec: unknown, cfg: IstioVirtualServiceConfig, managed: ReadonlySet<string>, what: string): { weighted: WeightedRoute[]; problems: string[] } {
  const weighted: WeightedRoute[] = [];
  const problems: string[] = [];
  const add = (kind: RouteKind, index: number, key: string, route: unknown): void => {
    if (!weighted.some((w) => w.kind === kind && w.index === index)) weighted.push({ kind, index, key, label: routeLabel(kind, route, index) });
  };
  for (const kind of ['http', 'tls', 'tcp'] as const) {
    if (isRecord(spec) && spec[kind] !== undefined && !Array.isArray(spec[kind])) problems.push(`${what}: spec.${kind} is not a list`);
  }
  const http = listAt(spec, 'http') ?? [];
  if (cfg.routes.length > 0) {
    for (const name of cfg.routes) {
      const index = http.findIndex((r) => stringAt(r, 'name') === name);
      if (managed.has(name)) problems.push(`${what}: route "${name}" is both in virtualService.routes and in managedRoutes`);
      else if (index < 0) problems.push(`${what} has no HTTP route named "${name}"`);
      else add('http', index, `http:${name}`, http[index]);
    }
  } else {
    const unmanaged = http.map((r, i) => ({ r, i })).filter(({ r }) => !managed.has(stringAt(r, 'name') ?? ''));
    const only = unmanaged[0];
    if (unmanaged.length > 1) problems.push(`${what} has ${unmanaged.length} HTTP routes: name the ones to weight in virtualService.routes`);
    else if (only) add('http', only.i, 'http:', only.r);
  }
  const selections: [RouteKind, readonly (IstioTlsRouteSelector | IstioTcpRouteSelector)[]][] = [
    ['tls', cfg.tlsRoutes],
    ['tcp', cfg.tcpRoutes],
  ];
  for (const [kind, selectors] of selections) {
    const routes = listAt(spec, kind) ?? [];
    if (selectors.length === 0) {
      const only = routes[0];
      if (routes.length > 1) problems.push(`${what} has ${routes.length} ${KIND_LABEL[kind]} routes: select the ones to weight in virtualService.${kind}Routes`);
      else if (only !== undefined) add(kind, 0, `${kind}:`, only);
      continue;
    }
    selectors.forEach((selector, s) => {
      const found = routes.map((r, i) => ({ r, i })).filter(({ r }) => selects(r, selector));
      if (found.length === 0) problems.push(`${what} has no ${describeSelector(kind, selector)}`);
      found.forEach(({ r, i }, k) => {
        add(kind, i, `${kind}:${s}:${k}`, r);
      });
    });
  }
  if (weighted.length === 0 && problems.length === 0) problems.push(`${what} has no HTTP, TLS or TCP route to weight`);
  return { weighted, problems };
}

/** The route of `spec` that `w` points at. */
export function routeAt(spec: unknown, w: Pick<WeightedRoute, 'kind' | 'index'>): Json | undefined {
  const route = listAt(spec, w.kind)?.[w.index];
  return isRecord(route) ? route : undefined;
}

/** Problems of weighted routes that lack the canary or the stable destination. */
export function destinationProblems(spec: unknown, weighted: readonly WeightedRoute[], t: Targets, what: string): string[] {
  const problems: string[] = [];
  const names = (role: 'canary' | 'stable'): string => {
    if (!t.subsets) return `the ${role} Service ${role === 'canary' ? t.canaryService : t.stableService}`;
    const subset = role === 'canary' ? t.subsets.canary : t.subsets.stable;
    return `the ${role} subset "${subset}"${t.subsets.host === undefined ? '' : ` of host ${t.subsets.host}`}`;
  };
  for (const w of weighted) {
    const entries = listAt(routeAt(spec, w), 'route') ?? [];
    for (const role of ['canary', 'stable'] as const) {
      if (!entries.some((e) => roleOf(e, t) === role)) problems.push(`${what} ${w.label} has no destination for ${names(role)}`);
    }
  }
  return problems;
}
