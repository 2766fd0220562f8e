// The NGINX Ingress router. For each stable Ingress the Rollout names, a
// canary Ingress (`<rollout>-<stable>-canary`, as Argo names it) copied from
// it with its stable-Service backends turned to the canary Service and
// ingress-nginx's canary annotations: `canary: "true"`, `canary-weight`
// (and `canary-weight-total` when maxWeight is not 100), the user's
// annotations, and `canary-by-header` with `canary-by-header-value` (exact)
// or `canary-by-header-pattern` (regex) while a header route is on.
//
// Unlike Argo, the canary Ingress exists only while it is needed: at weight
// 0 without a header route it is deleted, so a rollout's end and an abort
// leave the namespace as it was before the rollout. A missing canary Ingress
// therefore observes as weight 0 with no routes. The stable Ingress is only
// read.
import { SOURCE_LABEL } from '../../api/common.ts';
import { describeRef, isRecord, liveOf, ownedByRollout } from '../objects.ts';
import type {
  HeaderRoute,
  LiveObjects,
  ObservedTraffic,
  Router,
  RouterCapabilities,
  TrafficContext,
  TrafficIntent,
  TrafficObject,
  TrafficObjectRef,
  TrafficWrite,
} from '../types.ts';
import { HEADER_ANNOTATIONS, HEADER_ROUTE_ANNOTATION, parseNginxConfig, type NginxConfig } from './config.ts';

export const LABEL = 'NGINX Ingress';
const INGRESS = { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses' } as const;
/** The legacy class annotation: the one annotation of the stable Ingress a canary Ingress must carry (as Argo). */
export const INGRESS_CLASS_ANNOTATION = 'kubernetes.io/ingress.class';
/** Git sync's label (sync/apply.ts SOURCE_LABEL): not copied, since the canary Ingress is the Rollout's, not Git's. */
const CANARY_SUFFIX = '-canary';

export const CAPABILITIES: RouterCapabilities = {
  headerRoutes: true,
  headerMatchKinds: ['exact', 'regex'],
  maxHeaderMatches: 1,
  maxHeaderRoutes: 1,
  mirrorRoutes: false,
};

/** Argo's name for the canary Ingress of a stable Ingress: `<rollout>-<stable>-canary`, the start cut to fit 253 characters. */
export function canaryIngressName(rolloutName: string, stableIngress: string): string {
  const start = `${rolloutName}-${stableIngress}`;
  return `${start.slice(0, 253 - CANARY_SUFFIX.length)}${CANARY_SUFFIX}`;
}

function ingressRef(ctx: TrafficContext, name: string): TrafficObjectRef {
  return { ...INGRESS, namespace: ctx.rollout.namespace, name };
}

/** The one header route NGINX serves, as the canary Ingress holds it. */
interface CanaryHeaderRoute {
  name: string;
  header: string;
  kind: 'exact' | 'regex';
  value: string;
}

/** What the router manages on a canary Ingress. */
interface CanaryShape {
  /** Must be present with these values (copied from the stable Ingress). */
  labels: Record<string, string>;
  /** The managed annotations, exactly (see managedAnnotation). */
  annotations: Record<string, string>;
  /** The whole spec. */
  spec: Record<string, unknown>;
}

/** The stable Ingress's rules whose paths name the stable Service, those paths only, each turned to the canary Service (same port). */
function canaryRules(stable: TrafficObject, ctx: TrafficContext): unknown[] {
  const spec = isRecord(stable.spec) ? stable.spec : {};
  const rules = Array.isArray(spec.rules) ? (spec.rules as unknown[]) : [];
  const out: unknown[] = [];
  for (const rule of rules) {
    if (!isRecord(rule) || !isRecord(rule.http) || !Array.isArray(rule.http.paths)) continue;
    const paths: unknown[] = [];
    for (const path of rule.http.paths as unknown[]) {
      if (!isRecord(path) || !isRecord(path.backend) || !isRecord(path.backend.service) || path.backend.service.name !== ctx.stableService) continue;
      const copy = structuredClone(path);
      // The shape was checked on `path`; the copy has it too.
      (copy.backend as { service: { name: string } }).service.name = ctx.canaryService;
      paths.push(copy);
    }
    if (paths.length > 0) out.push({ ...structuredClone(rule), http: { ...structuredClone(rule.http), paths } });
  }
  return out;
}

/** Whether an annotation key of a canary Ingress is the router's to set and remove; others (another controller's) are kept as read. */
function managedAnnotation(key: string, config: NginxConfig): boolean {
  return key.startsWith(`${config.annotationPrefix}/`) || key === INGRESS_CLASS_ANNOTATION || key === HEADER_ROUTE_ANNOTATION || Object.hasOwn(config.annotations, key);
}

/**
 * What the canary Ingress of `stable` holds at `weight` with `route`;
 * undefined when the stable Ingress has no path to the stable Service.
 * `liveClass` is the live canary Ingress's ingressClassName, kept when the
 * stable Ingress names none (the API server may have set the default class
 * on create).
 */
function canaryShape(
  ctx: TrafficContext,
  config: NginxConfig,
  stable: TrafficObject,
  weight: number,
  route: CanaryHeaderRoute | undefined,
  liveClass: unknown,
): CanaryShape | undefined {
  const rules = canaryRules(stable, ctx);
  if (rules.length === 0) return undefined;
  const stableSpec = isRecord(stable.spec) ? stable.spec : {};
  const spec: Record<string, unknown> = {};
  const ingressClassName = stableSpec.ingressClassName ?? liveClass;
  if (typeof ingressClassName === 'string') spec.ingressClassName = ingressClassName;
  if (Array.isArray(stableSpec.tls) && stableSpec.tls.length > 0) spec.tls = structuredClone(stableSpec.tls);
  spec.rules = rules;

  const labels = Object.fromEntries(Object.entries(stable.metadata.labels ?? {}).filter(([k]) => k !== SOURCE_LABEL));

  const prefix = config.annotationPrefix;
  const stableClass = stable.metadata.annotations?.[INGRESS_CLASS_ANNOTATION];
  // A header route of the steps wins over the user's canary-by-header annotations, which come back when it is removed.
  const suspended = new Set<string>(route === undefined ? [] : HEADER_ANNOTATIONS.map((a) => `${prefix}/${a}`));
  const annotations: Record<string, string> = {
    ...(stableClass === undefined ? {} : { [INGRESS_CLASS_ANNOTATION]: stableClass }),
    ...Object.fromEntries(Object.entries(config.annotations).filter(([k]) => !suspended.has(k))),
  };
  if (route !== undefined) {
    annotations[`${prefix}/canary-by-header`] = route.header;
    annotations[`${prefix}/${route.kind === 'exact' ? 'canary-by-header-value' : 'canary-by-header-pattern'}`] = route.value;
    annotations[HEADER_ROUTE_ANNOTATION] = route.name;
  }
  annotations[`${prefix}/canary`] = 'true';
  annotations[`${prefix}/canary-weight`] = String(weight);
  if (ctx.maxWeight !== 100) annotations[`${prefix}/canary-weight-total`] = String(ctx.maxWeight);
  return { labels, annotations, spec };
}

/** `live` holding `shape`: other controllers' annotations and extra labels kept, the managed annotations and the spec replaced. */
function withShape(live: TrafficObject, shape: CanaryShape, config: NginxConfig): TrafficObject {
  const annotations: Record<string, string> = {};
  for (const [k, v] of Object.entries(live.metadata.annotations ?? {})) if (!managedAnnotation(k, config)) annotations[k] = v;
  Object.assign(annotations, shape.annotations);
  const labels = { ...live.metadata.labels, ...shape.labels };
  const metadata = { ...live.metadata, annotations };
  if (live.metadata.labels !== undefined || Object.keys(labels).length > 0) metadata.labels = labels;
  return { ...live, metadata, spec: shape.spec };
}

/** JSON equality, a key holding undefined counting as absent. */
function sameJson(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a) || Array.isArray(b)) {
    return Array.isArray(a) && Array.isArray(b) && a.length === b.length && a.every((x, i) => sameJson(x, b[i]));
  }
  if (!isRecord(a) || !isRecord(b)) return false;
  const keys = new Set([...Object.keys(a), ...Object.keys(b)]);
  for (const k of keys) if (!sameJson(a[k], b[k])) return false;
  return true;
}

/** The header route a canary Ingress holds: undefined for none, 'broken' when its annotations are incomplete. */
function liveRoute(canary: TrafficObject, config: NginxConfig): CanaryHeaderRoute | 'broken' | undefined {
  const a = canary.metadata.annotations ?? {};
  const name = a[HEADER_ROUTE_ANNOTATION];
  if (name === undefined) return undefined;
  const prefix = config.annotationPrefix;
  const header = a[`${prefix}/canary-by-header`];
  const exact = a[`${prefix}/canary-by-header-value`];
  const regex = a[`${prefix}/canary-by-header-pattern`];
  if (header === undefined) return 'broken';
  if (exact !== undefined && regex === undefined) return { name, header, kind: 'exact', value: exact };
  if (regex !== undefined && exact === undefined) return { name, header, kind: 'regex', value: regex };
  return 'broken';
}

function liveWeight(canary: TrafficObject, ctx: TrafficContext, config: NginxConfig): number | undefined {
  const text = canary.metadata.annotations?.[`${config.annotationPrefix}/canary-weight`];
  if (text === undefined || !/^(0|[1-9][0-9]*)$/.test(text)) return undefined;
  const weight = Number(text);
  return weight <= ctx.maxWeight ? weight : undefined;
}

/** The intent's header route as NGINX holds it; throws on what the capabilities refuse (the engine validates steps against them first). */
function intentRoute(intent: TrafficIntent): CanaryHeaderRoute | undefined {
  if (intent.mirrorRoutes.length > 0) throw new Error(`${LABEL} cannot mirror traffic (route "${intent.mirrorRoutes[0]?.name ?? ''}")`);
  const [route, extra]: (HeaderRoute | undefined)[] = intent.headerRoutes;
  if (route === undefined) return undefined;
  if (extra !== undefined) throw new Error(`${LABEL} serves one header route at a time, not "${route.name}" and "${extra.name}"`);
  const [match] = route.match;
  if (match === undefined || route.match.length > 1) throw new Error(`${LABEL} header route "${route.name}" must match exactly one header`);
  const { exact, regex, prefix } = match.headerValue;
  if (prefix !== undefined) throw new Error(`${LABEL} header route "${route.name}" cannot match a prefix (only exact or regex)`);
  if (exact !== undefined && regex === undefined && exact !== '') return { name: route.name, header: match.headerName, kind: 'exact', value: exact };
  if (regex !== undefined && exact === undefined && regex !== '') return { name: route.name, header: match.headerName, kind: 'regex', value: regex };
  throw new Error(`${LABEL} header route "${route.name}" needs one non-empty exact or regex value`);
}

function objects(ctx: TrafficContext, config: NginxConfig): TrafficObjectRef[] {
  return config.stableIngresses.flatMap((name) => [ingressRef(ctx, name), ingressRef(ctx, canaryIngressName(ctx.rollout.name, name))]);
}

function notOwnedProblem(ctx: TrafficContext, ref: TrafficObjectRef): string {
  return `${describeRef(ref)} exists and is not controlled by Rollout ${ctx.rollout.namespace}/${ctx.rollout.name}: Weir will not overwrite it (rename or delete it)`;
}

function observe(ctx: TrafficContext, config: NginxConfig, live: LiveObjects): ObservedTraffic {
  const problems: string[] = [];
  const headerRoutes: string[] = [];
  const weights: (number | undefined)[] = [];
  for (const name of config.stableIngresses) {
    const stableRef = ingressRef(ctx, name);
    const canaryRef = ingressRef(ctx, canaryIngressName(ctx.rollout.name, name));
    const stable = liveOf(live, stableRef);
    const canary = liveOf(live, canaryRef);
    let stableOk = false;
    if (stable === undefined) problems.push(`${describeRef(stableRef)} not found`);
    else if (canaryRules(stable, ctx).length === 0) problems.push(`${describeRef(stableRef)} has no rule path whose backend is Service ${ctx.stableService}`);
    else stableOk = true;

    if (canary === undefined) {
      weights.push(stableOk ? 0 : undefined);
      continue;
    }
    if (!ownedByRollout(canary, ctx)) {
      problems.push(notOwnedProblem(ctx, canaryRef));
      weights.push(undefined);
      continue;
    }
    const route = liveRoute(canary, config);
    const routeName = canary.metadata.annotations?.[HEADER_ROUTE_ANNOTATION];
    if (routeName !== undefined && !headerRoutes.includes(routeName)) headerRoutes.push(routeName);
    const weight = liveWeight(canary, ctx, config);
    if (!stableOk || stable === undefined || weight === undefined || route === 'broken' || (weight === 0 && route === undefined)) {
      // At weight 0 without a header route Weir deletes the canary Ingress: one still there is out of shape.
      weights.push(undefined);
      continue;
    }
    const shape = canaryShape(ctx, config, stable, weight, route, isRecord(canary.spec) ? canary.spec.ingressClassName : undefined);
    weights.push(shape !== undefined && sameJson(withShape(canary, shape, config), canary) ? weight : undefined);
  }
  const [first] = weights;
  const canaryWeight = first !== undefined && weights.every((w) => w === first) ? first : undefined;
  return { router: LABEL, canaryWeight, headerRoutes, mirrorRoutes: [], verified: undefined, problems };
}

function writes(ctx: TrafficContext, config: NginxConfig, live: LiveObjects, intent: TrafficIntent): TrafficWrite[] {
  if (!Number.isInteger(intent.canaryWeight) || intent.canaryWeight < 0 || intent.canaryWeight > ctx.maxWeight) {
    throw new Error(`${LABEL} weight must be a whole number from 0 to ${ctx.maxWeight}, not ${intent.canaryWeight}`);
  }
  const route = intentRoute(intent);
  const out: TrafficWrite[] = [];
  for (const name of config.stableIngresses) {
    const stableRef = ingressRef(ctx, name);
    const canaryRef = ingressRef(ctx, canaryIngressName(ctx.rollout.name, name));
    const canary = liveOf(live, canaryRef);
    // Never touch an Ingress of that name the Rollout does not own (observe reports it).
    if (canary !== undefined && !ownedByRollout(canary, ctx)) continue;
    if (intent.canaryWeight === 0 && route === undefined) {
      if (canary !== undefined) out.push({ op: 'delete', ref: canaryRef });
      continue;
    }
    const stable = liveOf(live, stableRef);
    if (stable === undefined) continue;
    const shape = canaryShape(ctx, config, stable, intent.canaryWeight, route, isRecord(canary?.spec) ? canary.spec.ingressClassName : undefined);
    if (shape === undefined) continue;
    if (canary === undefined) {
      const metadata: TrafficObject['metadata'] = { name: canaryRef.name, namespace: canaryRef.namespace, annotations: shape.annotations };
      if (Object.keys(shape.labels).length > 0) metadata.labels = shape.labels;
      out.push({ op: 'create', ref: canaryRef, body: { apiVersion: INGRESS.apiVersion, kind: INGRESS.kind, metadata, spec: shape.spec } });
      continue;
    }
    const body = withShape(canary, shape, config);
    if (!sameJson(body, canary)) out.push({ op: 'update', ref: canaryRef, body });
  }
  return out;
}

export const nginxRouter: Router<NginxConfig> = {
  key: 'nginx',
  label: LABEL,
  capabilities: CAPABILITIES,
  kinds: [{ apiVersion: INGRESS.apiVersion, kind: INGRESS.kind, plural: INGRESS.plural }],
  parse: parseNginxConfig,
  objects,
  observe,
  writes,
  gitControlled: () => [],
};
