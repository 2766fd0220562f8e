// The routing model of the sandbox's data plane: the rules that decide where a
// request addressed to a target Service goes, whatever router object they came
// from (HTTPRoute, Ingress, VirtualService, TrafficSplit, TraefikService).
// Pure: no I/O, no clock, no randomness.
//
// A rule is one request match, the weighted backends that answer the requests
// it matches and the mirrors that receive copies of them. Rules are tried in
// order; the first whose match matches the request decides it. A request that
// matches no rule is not routed (a real proxy answers 404 for it).

/** How a string (header, query parameter, cookie, method) is compared. */
export interface StringMatch {
  /**
   * - exact: equal
   * - prefix: starts with the value
   * - regex: the whole string matches the regular expression (Envoy's RE2 semantics, as Gateway API and Istio implementations use)
   * - regexSearch: the regular expression matches somewhere in the string (PCRE's ngx.re.match, as ingress-nginx uses)
   */
  type: 'exact' | 'prefix' | 'regex' | 'regexSearch';
  value: string;
  ignoreCase?: boolean;
}

/** How the request path (without its query) is compared. */
export interface PathMatch {
  /**
   * - exact: equal
   * - prefix: plain string prefix (Istio's uri.prefix, ingress-nginx's ImplementationSpecific)
   * - segmentPrefix: element-wise prefix, a trailing "/" ignored: "/foo" matches "/foo" and "/foo/bar", not "/foobar" (Gateway API PathPrefix, Ingress Prefix)
   * - regex: the whole path matches
   */
  type: 'exact' | 'prefix' | 'segmentPrefix' | 'regex';
  value: string;
  ignoreCase?: boolean;
}

export interface HeaderMatch {
  /** Lower-case header name. */
  name: string;
  /** Absent: the header is present, with any value. */
  value?: StringMatch;
  /** Matches when the header is absent or does not match (Istio's withoutHeaders). */
  invert?: boolean;
}

export interface NamedMatch {
  name: string;
  /** Absent: present with any value. */
  value?: StringMatch;
}

/** Every part given must match (AND). An empty match matches every request. */
export interface RequestMatch {
  path?: PathMatch;
  method?: StringMatch;
  headers?: readonly HeaderMatch[];
  queryParams?: readonly NamedMatch[];
  cookies?: readonly NamedMatch[];
}

/** A Service a rule sends to, before its endpoints are known. */
export interface ServiceRef {
  name: string;
  namespace: string;
  /** Service port number or name; absent: the Service's first port. */
  port?: number | string;
  /**
   * An Istio subset: its pods are the Service's selected pods that also carry
   * these labels. `labels` is undefined when no DestinationRule defines the
   * subset (then the backend has no endpoints, as Envoy has no such cluster).
   */
  subset?: { name: string; labels: Readonly<Record<string, string>> | undefined };
}

export interface WeightedRef extends ServiceRef {
  weight: number;
}

export interface MirrorRef extends ServiceRef {
  /** Share of the rule's matched requests copied to this backend, 0..100. */
  percent: number;
}

export interface RoutingRule {
  /** Where the rule comes from, for messages and stats: "HTTPRoute shop/web rules[1].matches[0]". */
  source: string;
  match: RequestMatch;
  backends: WeightedRef[];
  mirrors: MirrorRef[];
}

export type RouterKind = 'HTTPRoute' | 'Ingress' | 'VirtualService' | 'TrafficSplit' | 'TraefikService';

/** The rules of the object that fronts a target Service. */
export interface Routing {
  kind: RouterKind;
  /** namespace/name of the deciding object (for Ingress: the main Ingress). */
  object: string;
  /** Other objects that took part (the canary Ingress, DestinationRules, nested TraefikServices), "Kind namespace/name". */
  related: string[];
  rules: RoutingRule[];
  /** What the sandbox could not honour, each naming its object (an unknown subset, a bad regex). */
  problems: string[];
}

/** A request as the generator sends it. */
export interface RequestInfo {
  method: string;
  /** Path with an optional "?query". */
  path: string;
  /** Lower-case names. */
  headers: Readonly<Record<string, string>>;
}

// ---------------------------------------------------------------------------
// Matching

const regexCache = new Map<string, RegExp | null>();

/** A compiled regular expression, null when it does not compile (then nothing matches it). */
export function compileRegex(source: string, anchored: boolean, ignoreCase = false): RegExp | null {
  const key = `${anchored ? 'a' : 's'}${ignoreCase ? 'i' : '-'}:${source}`;
  const cached = regexCache.get(key);
  if (cached !== undefined) return cached;
  let compiled: RegExp | null;
  try {
    compiled = new RegExp(anchored ? `^(?:${source})$` : source, ignoreCase ? 'iu' : 'u');
  } catch {
    try {
      // Without the u flag some RE2/PCRE-valid patterns (e.g. "\-") compile.
      compiled = new RegExp(anchored ? `^(?:${source})$` : source, ignoreCase ? 'i' : '');
    } catch {
      compiled = null;
    }
  }
  if (regexCache.size > 1000) regexCache.clear();
  regexCache.set(key, compiled);
  return compiled;
}

/** Whether a regular expression compiles (for problems reported by the routers). */
export function isValidRegex(source: string): boolean {
  return compileRegex(source, false) !== null;
}

export function stringMatches(m: StringMatch, value: string): boolean {
  const ic = m.ignoreCase === true;
  const v = ic ? value.toLowerCase() : value;
  const want = ic ? m.value.toLowerCase() : m.value;
  switch (m.type) {
    case 'exact':
      return v === want;
    case 'prefix':
      return v.startsWith(want);
    case 'regex':
      return compileRegex(m.value, true, ic)?.test(value) ?? false;
    case 'regexSearch':
      return compileRegex(m.value, false, ic)?.test(value) ?? false;
  }
}

export function pathMatches(m: PathMatch, path: string): boolean {
  const ic = m.ignoreCase === true;
  const p = ic ? path.toLowerCase() : path;
  const want = ic ? m.value.toLowerCase() : m.value;
  switch (m.type) {
    case 'exact':
      return p === want;
    case 'prefix':
      return p.startsWith(want);
    case 'segmentPrefix': {
      const base = want.replace(/\/+$/, '');
      if (base === '') return p.startsWith('/');
      return p === base || p.startsWith(`${base}/`);
    }
    case 'regex':
      return compileRegex(m.value, true, ic)?.test(path) ?? false;
  }
}

function splitPath(path: string): { path: string; query: URLSearchParams } {
  const q = path.indexOf('?');
  if (q < 0) return { path, query: new URLSearchParams() };
  return { path: path.slice(0, q), query: new URLSearchParams(path.slice(q + 1)) };
}

function parseCookies(header: string | undefined): Map<string, string> {
  const cookies = new Map<string, string>();
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    const name = part.slice(0, eq).trim();
    if (name !== '' && !cookies.has(name)) cookies.set(name, part.slice(eq + 1).trim());
  }
  return cookies;
}

function namedMatches(m: NamedMatch, value: string | undefined): boolean {
  if (value === undefined) return false;
  return m.value === undefined || stringMatches(m.value, value);
}

export function requestMatches(match: RequestMatch, request: RequestInfo): boolean {
  const { path, query } = splitPath(request.path);
  if (match.path !== undefined && !pathMatches(match.path, path)) return false;
  if (match.method !== undefined && !stringMatches(match.method, request.method.toUpperCase())) return false;
  for (const h of match.headers ?? []) {
    const present = namedMatches(h, request.headers[h.name.toLowerCase()]);
    if (present === (h.invert === true)) return false;
  }
  for (const q of match.queryParams ?? []) {
    if (!namedMatches(q, query.get(q.name) ?? undefined)) return false;
  }
  if ((match.cookies ?? []).length > 0) {
    const cookies = parseCookies(request.headers.cookie);
    for (const c of match.cookies ?? []) {
      if (!namedMatches(c, cookies.get(c.name))) return false;
    }
  }
  return true;
}

/** The index of the first rule whose match matches `request`; -1 when none does. */
export function selectRule(rules: readonly Pick<RoutingRule, 'match'>[], request: RequestInfo): number {
  return rules.findIndex((r) => requestMatches(r.match, request));
}

/** A short description of a match, for stats: `header x-canary=yes, path prefix /`; "*" when it matches everything. */
export function describeMatch(match: RequestMatch): string {
  const str = (m: StringMatch): string => (m.type === 'exact' ? `=${m.value}` : ` ${m.type} ${m.value}`);
  const parts: string[] = [];
  if (match.path !== undefined) parts.push(`path ${match.path.type} ${match.path.value}`);
  if (match.method !== undefined) parts.push(`method${str(match.method)}`);
  for (const h of match.headers ?? []) parts.push(`${h.invert === true ? 'without ' : ''}header ${h.name}${h.value === undefined ? ' present' : str(h.value)}`);
  for (const q of match.queryParams ?? []) parts.push(`query ${q.name}${q.value === undefined ? ' present' : str(q.value)}`);
  for (const c of match.cookies ?? []) parts.push(`cookie ${c.name}${c.value === undefined ? ' present' : str(c.value)}`);
  return parts.length === 0 ? '*' : parts.join(', ');
}

// ---------------------------------------------------------------------------
// Helpers the routers share

/**
 * A Kubernetes DNS name of a Service, resolved against `namespace`: `svc`,
 * `svc.ns`, `svc.ns.svc` and `svc.ns.svc.<cluster domain>`. Undefined for
 * wildcards and names that cannot be a Service.
 */
export function resolveServiceHost(host: string, namespace: string): { name: string; namespace: string } | undefined {
  if (host === '' || host.includes('*')) return undefined;
  const parts = host.split('.');
  const [name = '', ns] = parts;
  if (name === '') return undefined;
  if (parts.length === 1) return { name, namespace };
  if (ns === undefined || ns === '') return undefined;
  if (parts.length === 2 || parts[2] === 'svc') return { name, namespace: ns };
  return undefined;
}

export function sameService(a: { name: string; namespace: string }, b: { name: string; namespace: string }): boolean {
  return a.name === b.name && a.namespace === b.namespace;
}

export function serviceKey(s: { name: string; namespace: string }): string {
  return `${s.namespace}/${s.name}`;
}

/** Objects in a stable order: by namespace, then name. */
export function byNamespaceAndName<T extends { metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined }>(
  objects: readonly T[],
): T[] {
  const key = (o: T): string => `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
  return [...objects].sort((a, b) => key(a).localeCompare(key(b)));
}

export function objectKey(o: { metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined }): string {
  return `${o.metadata?.namespace ?? 'default'}/${o.metadata?.name ?? ''}`;
}

/** A value as a finite number, or undefined. */
export function finiteNumber(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) ? value : undefined;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** A percentage clamped to 0..100 (non-numbers: `fallback`). */
export function clampPercent(value: unknown, fallback: number): number {
  const n = finiteNumber(value);
  if (n === undefined) return fallback;
  return Math.min(100, Math.max(0, n));
}

function gcd(a: number, b: number): number {
  let x = Math.abs(a);
  let y = Math.abs(b);
  while (y !== 0) [x, y] = [y, x % y];
  return x;
}

/** Integer weights divided by their greatest common divisor ([50, 50] → [1, 1]); non-integers unchanged. */
export function reduceWeights(weights: readonly number[]): number[] {
  if (!weights.every((w) => Number.isInteger(w))) return [...weights];
  const g = weights.reduce((acc, w) => gcd(acc, w), 0);
  return g > 1 ? weights.map((w) => w / g) : [...weights];
}
