// Gateway API HTTPRoute → routing rules.
//
// The route that fronts a Service is the one findRouteForService picks (the
// first by name in its namespace with a rule referencing it). Its rules that
// decide the Service's requests are the ones sending to the Service or to a
// Service it shares a rule with (so the canary-only rule of a header route
// counts, an unrelated "/api → api" rule does not). Their matches are ordered
// as the Gateway API specification orders them across a route: exact path
// first, then the longest path prefix, then regular-expression paths
// (implementation-specific; last here), then a method match, then the most
// header matches, then the most query-parameter matches, and on ties rule
// order, then match order. A rule without matches matches every path ("/"
// prefix). A RequestMirror filter (`percent`, or `fraction` with a default
// denominator of 100; 100% when neither is set) copies the rule's requests.
import type { BackendRefLike } from './split.ts';
import { findRouteForService, type HTTPRouteLike } from './split.ts';
import {
  clampPercent,
  finiteNumber,
  isValidRegex,
  objectKey,
  sameService,
  type HeaderMatch,
  type MirrorRef,
  type NamedMatch,
  type PathMatch,
  type RequestMatch,
  type Routing,
  type RoutingRule,
  type WeightedRef,
} from './rules.ts';

export interface HTTPRouteStringMatchLike {
  type?: string | undefined;
  name: string;
  value: string;
}

export interface HTTPRouteMatchLike {
  path?: { type?: string | undefined; value?: string | undefined } | undefined;
  headers?: HTTPRouteStringMatchLike[] | undefined;
  queryParams?: HTTPRouteStringMatchLike[] | undefined;
  method?: string | undefined;
}

export interface HTTPRouteFilterLike {
  type: string;
  requestMirror?:
    | {
        backendRef: BackendRefLike;
        percent?: number | undefined;
        fraction?: { numerator: number; denominator?: number | undefined } | undefined;
      }
    | undefined;
}

export interface HTTPRouteRuleLike {
  matches?: HTTPRouteMatchLike[] | undefined;
  filters?: HTTPRouteFilterLike[] | undefined;
  backendRefs?: BackendRefLike[] | undefined;
}

/** The part of a Gateway API HTTPRoute the routing model uses. */
export interface GatewayHTTPRouteLike extends HTTPRouteLike {
  spec?: { rules?: HTTPRouteRuleLike[] | undefined } | undefined;
}

function isServiceRef(ref: BackendRefLike): boolean {
  return (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service';
}

function serviceRefs(rule: HTTPRouteRuleLike, routeNamespace: string): WeightedRef[] {
  return (rule.backendRefs ?? []).filter(isServiceRef).map((ref) => ({
    name: ref.name,
    namespace: ref.namespace ?? routeNamespace,
    ...(ref.port === undefined ? {} : { port: ref.port }),
    weight: ref.weight ?? 1,
  }));
}

function toPathMatch(path: HTTPRouteMatchLike['path']): PathMatch {
  const value = path?.value ?? '/';
  switch (path?.type ?? 'PathPrefix') {
    case 'Exact':
      return { type: 'exact', value };
    case 'RegularExpression':
      return { type: 'regex', value };
    default:
      return { type: 'segmentPrefix', value };
  }
}

function toNamed(m: HTTPRouteStringMatchLike, lowerName: boolean): NamedMatch {
  const name = lowerName ? m.name.toLowerCase() : m.name;
  return { name, value: { type: m.type === 'RegularExpression' ? 'regex' : 'exact', value: m.value } };
}

function toRequestMatch(m: HTTPRouteMatchLike): RequestMatch {
  const match: RequestMatch = { path: toPathMatch(m.path) };
  if (m.method !== undefined) match.method = { type: 'exact', value: m.method.toUpperCase() };
  if ((m.headers ?? []).length > 0) match.headers = (m.headers ?? []).map((h): HeaderMatch => toNamed(h, true));
  if ((m.queryParams ?? []).length > 0) match.queryParams = (m.queryParams ?? []).map((q) => toNamed(q, false));
  return match;
}

function mirrorsOf(rule: HTTPRouteRuleLike, routeNamespace: string): MirrorRef[] {
  const mirrors: MirrorRef[] = [];
  for (const filter of rule.filters ?? []) {
    if (filter.type !== 'RequestMirror' || filter.requestMirror === undefined) continue;
    const { backendRef, percent, fraction } = filter.requestMirror;
    if (!isServiceRef(backendRef)) continue;
    let share = 100;
    if (finiteNumber(percent) !== undefined) share = clampPercent(percent, 100);
    else if (fraction !== undefined) {
      const denominator = finiteNumber(fraction.denominator) ?? 100;
      share = denominator > 0 ? clampPercent((finiteNumber(fraction.numerator) ?? 0) * (100 / denominator), 100) : 0;
    }
    mirrors.push({
      name: backendRef.name,
      namespace: backendRef.namespace ?? routeNamespace,
      ...(backendRef.port === undefined ? {} : { port: backendRef.port }),
      percent: share,
    });
  }
  return mirrors;
}

/** Sort key of a match by the Gateway API's precedence (lower sorts first). */
function precedence(m: RequestMatch): number[] {
  const path = m.path ?? { type: 'segmentPrefix', value: '/' };
  const pathRank = path.type === 'exact' ? 0 : path.type === 'regex' ? 2 : 1;
  const pathLength = path.type === 'regex' ? 0 : -path.value.length;
  return [pathRank, pathLength, m.method === undefined ? 1 : 0, -(m.headers?.length ?? 0), -(m.queryParams?.length ?? 0)];
}

function compareKeys(a: readonly number[], b: readonly number[]): number {
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    const d = (a[i] ?? 0) - (b[i] ?? 0);
    if (d !== 0) return d;
  }
  return 0;
}

/**
 * The routing rules `route` holds for traffic addressed to `target`;
 * undefined when no rule of the route sends to the Service.
 */
export function httpRouteRouting(route: GatewayHTTPRouteLike, target: { name: string; namespace: string }): Routing | undefined {
  const routeNamespace = route.metadata?.namespace ?? 'default';
  const rules = route.spec?.rules ?? [];
  const refsByRule = rules.map((rule) => serviceRefs(rule, routeNamespace));
  const group = refsByRule.filter((refs) => refs.some((r) => sameService(r, target))).flat();
  if (group.length === 0) return undefined;

  const name = objectKey(route);
  const problems: string[] = [];
  const flattened: { rule: RoutingRule; key: number[] }[] = [];
  rules.forEach((rule, i) => {
    const backends = refsByRule[i] ?? [];
    if (!backends.some((b) => group.some((g) => sameService(g, b)))) return;
    const mirrors = mirrorsOf(rule, routeNamespace);
    const matches = (rule.matches ?? []).length > 0 ? (rule.matches ?? []) : [{}];
    matches.forEach((m, j) => {
      const match = toRequestMatch(m);
      for (const re of [match.path, ...(match.headers ?? []).map((h) => h.value), ...(match.queryParams ?? []).map((q) => q.value)]) {
        if (re?.type === 'regex' && !isValidRegex(re.value)) {
          problems.push(`HTTPRoute ${name} rules[${i}].matches[${j}]: invalid regular expression ${JSON.stringify(re.value)}; it matches nothing`);
        }
      }
      flattened.push({
        rule: { source: `HTTPRoute ${name} rules[${i}].matches[${j}]`, match, backends: backends.map((b) => ({ ...b })), mirrors: mirrors.map((mm) => ({ ...mm })) },
        key: precedence(match),
      });
    });
  });
  // Array.prototype.sort is stable: ties keep rule order, then match order.
  flattened.sort((a, b) => compareKeys(a.key, b.key));
  return { kind: 'HTTPRoute', object: name, related: [], rules: flattened.map((f) => f.rule), problems };
}

/** The routing of the HTTPRoute fronting `target` (findRouteForService); undefined when none does. */
export function findHTTPRouteRouting(routes: readonly GatewayHTTPRouteLike[], target: { name: string; namespace: string }): Routing | undefined {
  const route = findRouteForService(routes, target);
  return route === undefined ? undefined : httpRouteRouting(route, target);
}
