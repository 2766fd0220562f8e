// Istio VirtualService (networking.istio.io, any version: the versions share
// one schema) → routing rules.
//
// A VirtualService fronts a Service when one of its `hosts` names the Service,
// or else when one of its http routes has a destination on the Service. Host
// names take the forms `svc`, `svc.ns`, `svc.ns.svc` and
// `svc.ns.svc.cluster.local`, short forms relative to the object's
// namespace. Candidates: VirtualServices of the Service's namespace first,
// then the others, each group by namespace/name; the first that fronts it
// wins. Its http routes decide, in order (Istio's first-match semantics): all
// of them when a host names the Service; otherwise those with a destination
// on the Service or on a Service sharing a route with it (the canary-only
// route of a header route counts). A route's `match` list is OR-ed (one rule
// per entry, in order); no `match` matches every request. `gateways` is not
// consulted: the generator stands in for the mesh and the ingress gateway.
//
// Destinations: weight (a single destination without one gets 100, others
// 0); `subset` through the DestinationRule of the destination's host (one in
// the VirtualService's namespace first, then the Service's, then the others):
// its pods are the Service's selected pods that carry the subset's labels.
// Mirrors: `mirror` with `mirrorPercentage.value` (or the older
// `mirrorPercent`; 100 when neither), and `mirrors[]` with `percentage.value`.
import {
  byNamespaceAndName,
  clampPercent,
  finiteNumber,
  isValidRegex,
  objectKey,
  resolveServiceHost,
  sameService,
  type HeaderMatch,
  type MirrorRef,
  type NamedMatch,
  type RequestMatch,
  type Routing,
  type RoutingRule,
  type ServiceRef,
  type StringMatch,
  type WeightedRef,
} from './rules.ts';

export interface IstioStringMatchLike {
  exact?: string | undefined;
  prefix?: string | undefined;
  regex?: string | undefined;
}

export interface IstioDestinationLike {
  host: string;
  subset?: string | undefined;
  port?: { number?: number | undefined } | undefined;
}

export interface IstioMatchLike {
  name?: string | undefined;
  uri?: IstioStringMatchLike | undefined;
  method?: IstioStringMatchLike | undefined;
  headers?: Readonly<Record<string, IstioStringMatchLike>> | undefined;
  withoutHeaders?: Readonly<Record<string, IstioStringMatchLike>> | undefined;
  queryParams?: Readonly<Record<string, IstioStringMatchLike>> | undefined;
  ignoreUriCase?: boolean | undefined;
}

export interface IstioHTTPRouteLike {
  name?: string | undefined;
  match?: readonly IstioMatchLike[] | undefined;
  route?: readonly { destination: IstioDestinationLike; weight?: number | undefined }[] | undefined;
  mirror?: IstioDestinationLike | undefined;
  mirrorPercentage?: { value?: number | undefined } | undefined;
  mirrorPercent?: number | undefined;
  mirrors?: readonly { destination: IstioDestinationLike; percentage?: { value?: number | undefined } | undefined }[] | undefined;
}

export interface VirtualServiceLike {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?: { hosts?: readonly string[] | undefined; http?: readonly IstioHTTPRouteLike[] | undefined } | undefined;
}

export interface DestinationRuleLike {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?:
    | { host?: string | undefined; subsets?: readonly { name: string; labels?: Readonly<Record<string, string>> | undefined }[] | undefined }
    | undefined;
}

type Target = { name: string; namespace: string };

function toStringMatch(m: IstioStringMatchLike | undefined, ignoreCase = false): StringMatch | undefined {
  if (m === undefined) return undefined;
  const ic = ignoreCase ? { ignoreCase: true } : {};
  if (m.exact !== undefined) return { type: 'exact', value: m.exact, ...ic };
  if (m.prefix !== undefined) return { type: 'prefix', value: m.prefix, ...ic };
  if (m.regex !== undefined) return { type: 'regex', value: m.regex, ...ic };
  return undefined;
}

function toNamed(name: string, m: IstioStringMatchLike): NamedMatch {
  const value = toStringMatch(m);
  return value === undefined ? { name } : { name, value };
}

function toRequestMatch(m: IstioMatchLike): RequestMatch {
  const match: RequestMatch = {};
  const uri = toStringMatch(m.uri, m.ignoreUriCase === true);
  if (uri !== undefined) {
    match.path = { type: uri.type === 'regex' ? 'regex' : uri.type === 'exact' ? 'exact' : 'prefix', value: uri.value, ...(uri.ignoreCase === true ? { ignoreCase: true } : {}) };
  }
  const method = toStringMatch(m.method);
  if (method !== undefined) match.method = method;
  const headers: HeaderMatch[] = [
    ...Object.entries(m.headers ?? {}).map(([name, v]): HeaderMatch => toNamed(name.toLowerCase(), v)),
    ...Object.entries(m.withoutHeaders ?? {}).map(([name, v]): HeaderMatch => ({ ...toNamed(name.toLowerCase(), v), invert: true })),
  ];
  if (headers.length > 0) match.headers = headers;
  const query = Object.entries(m.queryParams ?? {}).map(([name, v]) => toNamed(name, v));
  if (query.length > 0) match.queryParams = query;
  return match;
}

function regexesOf(match: RequestMatch): string[] {
  const values = [match.path, match.method, ...(match.headers ?? []).map((h) => h.value), ...(match.queryParams ?? []).map((q) => q.value)];
  return values.flatMap((v) => (v?.type === 'regex' ? [v.value] : []));
}

/** The DestinationRule for `service`: in `preferNamespace` first, then the Service's namespace, then any; each by name. */
function destinationRuleFor(rules: readonly DestinationRuleLike[], service: Target, preferNamespace: string): DestinationRuleLike | undefined {
  const matching = byNamespaceAndName(rules).filter((dr) => {
    const host = resolveServiceHost(dr.spec?.host ?? '', dr.metadata?.namespace ?? 'default');
    return host !== undefined && sameService(host, service);
  });
  const ns = (dr: DestinationRuleLike): string => dr.metadata?.namespace ?? 'default';
  return matching.find((dr) => ns(dr) === preferNamespace) ?? matching.find((dr) => ns(dr) === service.namespace) ?? matching[0];
}

/**
 * The routing rules of the first VirtualService that fronts `target`;
 * undefined when none does.
 */
export function findVirtualServiceRouting(
  virtualServices: readonly VirtualServiceLike[],
  destinationRules: readonly DestinationRuleLike[],
  target: Target,
): Routing | undefined {
  const ordered = byNamespaceAndName(virtualServices);
  const candidates = [
    ...ordered.filter((vs) => (vs.metadata?.namespace ?? 'default') === target.namespace),
    ...ordered.filter((vs) => (vs.metadata?.namespace ?? 'default') !== target.namespace),
  ];
  for (const vs of candidates) {
    const routing = virtualServiceRouting(vs, destinationRules, target);
    if (routing !== undefined) return routing;
  }
  return undefined;
}

/** The routing rules `vs` holds for traffic addressed to `target`; undefined when it does not front the Service. */
export function virtualServiceRouting(vs: VirtualServiceLike, destinationRules: readonly DestinationRuleLike[], target: Target): Routing | undefined {
  const namespace = vs.metadata?.namespace ?? 'default';
  const name = objectKey(vs);
  const routes = vs.spec?.http ?? [];
  const resolve = (d: IstioDestinationLike): Target | undefined => resolveServiceHost(d.host, namespace);
  const hostFronts = (vs.spec?.hosts ?? []).some((h) => {
    const s = resolveServiceHost(h, namespace);
    return s !== undefined && sameService(s, target);
  });
  const destsByRoute = routes.map((r) => (r.route ?? []).flatMap((d) => resolve(d.destination) ?? []));
  const group = destsByRoute.filter((dests) => dests.some((d) => sameService(d, target))).flat();
  if (!hostFronts && group.length === 0) return undefined;

  const problems: string[] = [];
  const related = new Set<string>();
  const toRef = (d: IstioDestinationLike, where: string): ServiceRef | undefined => {
    const service = resolve(d);
    if (service === undefined) {
      problems.push(`VirtualService ${name} ${where}: host ${JSON.stringify(d.host)} is not a Service of the cluster; no traffic sent to it`);
      return undefined;
    }
    const ref: ServiceRef = { ...service, ...(d.port?.number === undefined ? {} : { port: d.port.number }) };
    if (d.subset !== undefined) {
      const dr = destinationRuleFor(destinationRules, service, namespace);
      const subset = dr?.spec?.subsets?.find((s) => s.name === d.subset);
      if (dr !== undefined) related.add(`DestinationRule ${objectKey(dr)}`);
      if (subset === undefined) {
        problems.push(
          `VirtualService ${name} ${where}: subset ${JSON.stringify(d.subset)} of ${service.namespace}/${service.name} is not defined by ${dr === undefined ? 'any DestinationRule' : `DestinationRule ${objectKey(dr)}`}; it has no endpoints`,
        );
      }
      ref.subset = { name: d.subset, labels: subset === undefined ? undefined : { ...(subset.labels ?? {}) } };
    }
    return ref;
  };

  const rules: RoutingRule[] = [];
  routes.forEach((route, i) => {
    const dests = destsByRoute[i] ?? [];
    if (!hostFronts && !dests.some((d) => group.some((g) => sameService(g, d)))) return;
    const label = `http[${i}]${route.name === undefined ? '' : ` (${route.name})`}`;
    if ((route.route ?? []).length === 0) {
      problems.push(`VirtualService ${name} ${label}: no route destinations (redirect, direct response or delegate are not modelled); matched requests are not sent`);
    }
    const single = (route.route ?? []).length === 1;
    const backends: WeightedRef[] = (route.route ?? []).flatMap((d, j) => {
      const ref = toRef(d.destination, `${label}.route[${j}]`);
      return ref === undefined ? [] : [{ ...ref, weight: finiteNumber(d.weight) ?? (single ? 100 : 0) }];
    });
    const mirrors: MirrorRef[] = [];
    if (route.mirror !== undefined) {
      const ref = toRef(route.mirror, `${label}.mirror`);
      const percent = route.mirrorPercentage !== undefined ? clampPercent(route.mirrorPercentage.value, 0) : clampPercent(route.mirrorPercent, 100);
      if (ref !== undefined) mirrors.push({ ...ref, percent });
    }
    (route.mirrors ?? []).forEach((m, j) => {
      const ref = toRef(m.destination, `${label}.mirrors[${j}]`);
      if (ref !== undefined) mirrors.push({ ...ref, percent: m.percentage === undefined ? 100 : clampPercent(m.percentage.value, 0) });
    });
    const matches = (route.match ?? []).length > 0 ? (route.match ?? []) : [{}];
    matches.forEach((m, j) => {
      const match = toRequestMatch(m);
      for (const re of regexesOf(match)) {
        if (!isValidRegex(re)) problems.push(`VirtualService ${name} ${label}.match[${j}]: invalid regular expression ${JSON.stringify(re)}; it matches nothing`);
      }
      rules.push({
        source: `VirtualService ${name} ${label}.match[${j}]`,
        match,
        backends: backends.map((b) => ({ ...b })),
        mirrors: mirrors.map((mm) => ({ ...mm })),
      });
    });
  });
  return { kind: 'VirtualService', object: name, related: [...related].sort(), rules, problems };
}
