// The configuration of Argo's argoproj-labs/gatewayAPI plugin, as Weir reads
// it: the HTTPRoutes and GRPCRoutes whose weights it sets, which of them hold
// the managed (header and mirror) routes, and their namespace.
import { labelNameProblem, subdomainProblem, unknownFieldMessage } from '../../api/names.ts';
import { isRecord } from '../objects.ts';
import type { ConfigProblem } from '../types.ts';

export type RouteKind = 'HTTPRoute' | 'GRPCRoute';

export interface GatewayRoute {
  kind: RouteKind;
  name: string;
  /** Whether the managed routes (header, mirror) go into this route. */
  useHeaderRoutes: boolean;
}

export interface GatewayApiConfig {
  /** Namespace of the routes; undefined: the Rollout's. */
  namespace: string | undefined;
  routes: GatewayRoute[];
}

const FIELDS = ['httpRoute', 'httpRoutes', 'grpcRoute', 'grpcRoutes', 'namespace'] as const;

/** The plugin's fields Weir does not implement, and why. */
const UNSUPPORTED: Readonly<Record<string, string>> = {
  tcpRoute: 'TCPRoutes are not supported by Weir',
  tcpRoutes: 'TCPRoutes are not supported by Weir',
  tlsRoute: 'TLSRoutes are not supported by Weir',
  tlsRoutes: 'TLSRoutes are not supported by Weir',
  httpRouteSelector: 'route selectors are not supported by Weir: name the routes',
  grpcRouteSelector: 'route selectors are not supported by Weir: name the routes',
  tcpRouteSelector: 'route selectors are not supported by Weir: name the routes',
  tlsRouteSelector: 'route selectors are not supported by Weir: name the routes',
  configMap: 'not needed by Weir: managed routes are rules named after them in the route itself',
  disableInProgressLabel: 'not supported by Weir: Weir does not label routes during a rollout',
  inProgressLabelKey: 'not supported by Weir: Weir does not label routes during a rollout',
  inProgressLabelValue: 'not supported by Weir: Weir does not label routes during a rollout',
};

function nameProblem(name: unknown): string | undefined {
  if (typeof name !== 'string') return 'must be a string';
  return name === '' ? 'must not be empty' : subdomainProblem(name);
}

function readList(raw: unknown, field: 'httpRoutes' | 'grpcRoutes', kind: RouteKind, problems: ConfigProblem[]): GatewayRoute[] {
  if (!Array.isArray(raw)) {
    problems.push({ path: [field], message: 'must be a list of {name, useHeaderRoutes}' });
    return [];
  }
  if (raw.length === 0) problems.push({ path: [field], message: `must list at least one ${kind}` });
  const out: GatewayRoute[] = [];
  raw.forEach((item: unknown, i) => {
    if (!isRecord(item)) {
      problems.push({ path: [field, i], message: 'must be an object {name, useHeaderRoutes}' });
      return;
    }
    for (const key of Object.keys(item)) {
      if (key !== 'name' && key !== 'useHeaderRoutes') problems.push({ path: [field, i, key], message: unknownFieldMessage(key, ['name', 'useHeaderRoutes']) });
    }
    const problem = nameProblem(item.name);
    if (problem) problems.push({ path: [field, i, 'name'], message: problem });
    if (item.useHeaderRoutes !== undefined && typeof item.useHeaderRoutes !== 'boolean') problems.push({ path: [field, i, 'useHeaderRoutes'], message: 'must be a boolean' });
    if (typeof item.name === 'string') out.push({ kind, name: item.name, useHeaderRoutes: item.useHeaderRoutes === true });
  });
  return out;
}

export function parseGatewayApiConfig(raw: unknown): { config: GatewayApiConfig } | { problems: ConfigProblem[] } {
  if (!isRecord(raw)) return { problems: [{ path: [], message: 'must be an object naming httpRoute or httpRoutes (or grpcRoute, grpcRoutes)' }] };
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(raw)) {
    const why = UNSUPPORTED[key];
    if (why !== undefined) problems.push({ path: [key], message: why });
    else if (!(FIELDS as readonly string[]).includes(key)) problems.push({ path: [key], message: unknownFieldMessage(key, FIELDS) });
  }
  const routes: GatewayRoute[] = [];
  for (const [one, many, kind] of [
    ['httpRoute', 'httpRoutes', 'HTTPRoute'],
    ['grpcRoute', 'grpcRoutes', 'GRPCRoute'],
  ] as const) {
    if (raw[one] !== undefined && raw[many] !== undefined) problems.push({ path: [many], message: `must set either ${one} or ${many}, not both` });
    if (raw[one] !== undefined) {
      const problem = nameProblem(raw[one]);
      if (problem) problems.push({ path: [one], message: problem });
      else routes.push({ kind, name: raw[one] as string, useHeaderRoutes: true });
    }
    if (raw[many] !== undefined) routes.push(...readList(raw[many], many, kind, problems));
  }
  if (raw.httpRoute === undefined && raw.httpRoutes === undefined && raw.grpcRoute === undefined && raw.grpcRoutes === undefined) {
    problems.push({ path: [], message: 'must name the routes whose weights Weir sets: httpRoute (one) or httpRoutes (several), or grpcRoute / grpcRoutes' });
  }
  for (const field of ['httpRoutes', 'grpcRoutes'] as const) {
    const list: unknown = raw[field];
    if (!Array.isArray(list)) continue;
    const seen = new Map<string, number>();
    list.forEach((item: unknown, i) => {
      const name = isRecord(item) ? item.name : undefined;
      if (typeof name !== 'string') return;
      const first = seen.get(name);
      if (first !== undefined) problems.push({ path: [field, i, 'name'], message: `${JSON.stringify(name)} is listed twice (also ${field}[${first}])` });
      else seen.set(name, i);
    });
  }
  let namespace: string | undefined;
  if (raw.namespace !== undefined) {
    const problem = typeof raw.namespace !== 'string' ? 'must be a string' : raw.namespace === '' ? 'must not be empty' : labelNameProblem(raw.namespace);
    if (problem) problems.push({ path: ['namespace'], message: problem });
    else namespace = raw.namespace as string;
  }
  if (problems.length > 0) return { problems };
  return { config: { namespace, routes } };
}
