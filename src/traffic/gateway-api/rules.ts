// Rules of an HTTPRoute or GRPCRoute as Weir reads and writes them: the
// weighted rule (the first one, not managed, whose Service backendRefs name
// both the stable and the canary Service), its weights, and the managed rules
// (header and mirror routes, named after them) built from it. Everything Weir
// writes spells out the API server's defaults, so that what it reads back
// compares equal to what it wrote.
import { isRecord } from '../objects.ts';
import type { HeaderMatch, HeaderRoute, MirrorRoute, RouteMatch, StringMatch, TrafficContext } from '../types.ts';
import type { RouteKind } from './config.ts';

export interface BackendRef {
  name: string;
  namespace?: string;
  kind?: string;
  group?: string;
  port?: number;
  weight?: number;
  [key: string]: unknown;
}

export interface RouteHeaderMatch {
  type?: string;
  name: string;
  value: string;
}

export interface RouteRuleMatch {
  path?: { type?: string; value?: string };
  method?: unknown;
  headers?: RouteHeaderMatch[];
  [key: string]: unknown;
}

export interface RouteRule {
  name?: string;
  matches?: RouteRuleMatch[];
  filters?: Record<string, unknown>[];
  backendRefs?: BackendRef[];
  [key: string]: unknown;
}

/** Whether a backendRef names a core Service (group "" and kind Service, the defaults). */
export function isServiceRef(ref: BackendRef): boolean {
  return (ref.kind ?? 'Service') === 'Service' && (ref.group ?? '') === '';
}

export function rulesOf(spec: unknown): RouteRule[] {
  if (!isRecord(spec) || !Array.isArray(spec.rules)) return [];
  return spec.rules.filter(isRecord);
}

export function isManaged(rule: RouteRule, ctx: TrafficContext): boolean {
  return rule.name !== undefined && ctx.managedRoutes.includes(rule.name);
}

/** Index of the weighted rule, -1 without one. */
export function weightedRuleIndex(rules: readonly RouteRule[], ctx: TrafficContext): number {
  return rules.findIndex((rule) => {
    if (isManaged(rule, ctx)) return false;
    const names = (rule.backendRefs ?? []).filter(isServiceRef).map((r) => r.name);
    return names.includes(ctx.stableService) && names.includes(ctx.canaryService);
  });
}

/** The canary's weight in a rule, or undefined when stable + canary is not the whole (maxWeight). */
export function canaryWeightOf(rule: RouteRule, ctx: TrafficContext): number | undefined {
  const refs = (rule.backendRefs ?? []).filter(isServiceRef);
  const canary = refs.find((r) => r.name === ctx.canaryService);
  const stable = refs.find((r) => r.name === ctx.stableService);
  if (!canary || !stable) return undefined;
  const c = canary.weight ?? 1;
  const s = stable.weight ?? 1;
  return c + s === ctx.maxWeight ? c : undefined;
}

/** `rule` with the canary at `weight` and the stable at the rest; other backendRefs untouched. */
export function withWeight(rule: RouteRule, ctx: TrafficContext, weight: number): RouteRule {
  return {
    ...rule,
    backendRefs: (rule.backendRefs ?? []).map((ref) => {
      if (!isServiceRef(ref)) return ref;
      if (ref.name === ctx.canaryService) return { ...ref, weight };
      if (ref.name === ctx.stableService) return { ...ref, weight: ctx.maxWeight - weight };
      return ref;
    }),
  };
}

/** The Gateway API header match of a StringMatch (prefix cannot be expressed: validation refuses it for this router). */
function headerMatch(name: string, value: StringMatch): RouteHeaderMatch {
  if (value.regex !== undefined) return { type: 'RegularExpression', name, value: value.regex };
  return { type: 'Exact', name, value: value.exact ?? '' };
}

function pathMatch(value: StringMatch): { type: string; value: string } {
  if (value.regex !== undefined) return { type: 'RegularExpression', value: value.regex };
  if (value.prefix !== undefined) return { type: 'PathPrefix', value: value.prefix };
  return { type: 'Exact', value: value.exact ?? '' };
}

/** The base rule's matches, with the default (every path) when it has none. */
function baseMatches(base: RouteRule, kind: RouteKind): RouteRuleMatch[] {
  if (base.matches !== undefined && base.matches.length > 0) return base.matches;
  return kind === 'HTTPRoute' ? [{ path: { type: 'PathPrefix', value: '/' } }] : [{}];
}

function canaryRefOf(base: RouteRule, ctx: TrafficContext): BackendRef {
  const ref = (base.backendRefs ?? []).find((r) => isServiceRef(r) && r.name === ctx.canaryService);
  const { weight: _weight, ...rest } = ref ?? { name: ctx.canaryService };
  return { group: '', kind: 'Service', ...rest, name: ctx.canaryService };
}

/** A rule sending every request of the base rule's matches that also carries the headers to the canary. */
export function headerRule(base: RouteRule, route: HeaderRoute, ctx: TrafficContext, kind: RouteKind): RouteRule {
  const extra = route.match.map((m: HeaderMatch) => headerMatch(m.headerName, m.headerValue));
  const rule: RouteRule = {
    name: route.name,
    matches: baseMatches(base, kind).map((m) => ({ ...m, headers: [...(m.headers ?? []), ...extra] })),
    backendRefs: [{ ...canaryRefOf(base, ctx), weight: 1 }],
  };
  if (base.filters !== undefined) rule.filters = base.filters;
  return rule;
}

function mirrorMatch(base: RouteRuleMatch, m: RouteMatch): RouteRuleMatch {
  const out: RouteRuleMatch = { ...base };
  if (m.path !== undefined) out.path = pathMatch(m.path);
  if (m.method?.exact !== undefined) out.method = m.method.exact.toUpperCase();
  const headers = [...(base.headers ?? []), ...Object.entries(m.headers ?? {}).map(([name, value]) => headerMatch(name, value))];
  if (headers.length > 0) out.headers = headers;
  return out;
}

/** A rule answering the matched requests as the weighted rule does (same backends and weights) and copying them to the canary. */
export function mirrorRule(weighted: RouteRule, route: MirrorRoute, ctx: TrafficContext): RouteRule {
  const mirror: Record<string, unknown> = { backendRef: canaryRefOf(weighted, ctx) };
  if (route.percentage < 100) mirror.percent = route.percentage;
  const matches = baseMatches(weighted, 'HTTPRoute').flatMap((b) => route.match.map((m) => mirrorMatch(b, m)));
  const rule: RouteRule = {
    name: route.name,
    matches,
    filters: [...(weighted.filters ?? []), { type: 'RequestMirror', requestMirror: mirror }],
    backendRefs: weighted.backendRefs ?? [],
  };
  return rule;
}

export function isMirrorRule(rule: RouteRule): boolean {
  return (rule.filters ?? []).some((f) => f.type === 'RequestMirror');
}
