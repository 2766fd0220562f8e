// Where the sandbox's traffic goes, computed from plain Kubernetes objects.
// Pure: no I/O. The generator feeds it its informer caches.
//
// Kubernetes Endpoints/EndpointSlices are deliberately not used: the sandbox's
// pods live on 127.x.y.z, which Endpoints validation rejects, so Services are
// resolved here from the Pod cache, the way the endpoints controller would.
import type { GatewayHTTPRouteLike } from './gateway.ts';
import { TRAFFIC_VIA_ANNOTATION, parseTrafficVia, routingFor, type RoutingObjects, type TrafficVia } from './routing.ts';
import { selectRule, type RequestMatch, type RouterKind, type ServiceRef } from './rules.ts';
import type { Backend } from './split.ts';

/** Requests per second to send to a Service. Its presence makes the Service a target. */
export const TRAFFIC_RATE_ANNOTATION = 'sandbox.weir.dev/traffic-rate';
/** HTTP path to request (default "/"). */
export const TRAFFIC_PATH_ANNOTATION = 'sandbox.weir.dev/traffic-path';
/** A header some requests carry: `"<Name>: <value>"`. */
export const TRAFFIC_HEADER_ANNOTATION = 'sandbox.weir.dev/traffic-header';
/** Share of the requests, 0..1, that carry the header (default 1: all). */
export const TRAFFIC_HEADER_SHARE_ANNOTATION = 'sandbox.weir.dev/traffic-header-share';

export const DEFAULT_MAX_RATE_PER_TARGET = 200;

// Structural subsets of PodLike / ServiceLike: client-node's model classes are
// assignable to them, and so are the plain JSON objects a watch delivers and
// the object literals tests build.

export interface ObjectMetaLike {
  name?: string | undefined;
  namespace?: string | undefined;
  labels?: Readonly<Record<string, string>> | undefined;
  annotations?: Readonly<Record<string, string>> | undefined;
  deletionTimestamp?: unknown;
}

export interface ContainerPortLike {
  name?: string | undefined;
  containerPort: number;
  protocol?: string | undefined;
}

export interface PodLike {
  metadata?: ObjectMetaLike | undefined;
  spec?: { containers?: readonly { name?: string | undefined; ports?: readonly ContainerPortLike[] | undefined }[] | undefined } | undefined;
  status?:
    | {
        phase?: string | undefined;
        podIP?: string | undefined;
        conditions?: readonly { type: string; status: string }[] | undefined;
      }
    | undefined;
}

export interface ServicePortLike {
  name?: string | undefined;
  port: number;
  /** Number, numeric string or container port name. */
  targetPort?: number | string | undefined;
  protocol?: string | undefined;
}

export interface ServiceLike {
  metadata?: ObjectMetaLike | undefined;
  spec?:
    | {
        selector?: Readonly<Record<string, string>> | undefined;
        ports?: readonly ServicePortLike[] | undefined;
      }
    | undefined;
}

export interface TrafficHeader {
  /** As written in the annotation. */
  name: string;
  value: string;
  /** 0..1 */
  share: number;
}

export type TrafficTargetSpec =
  | { ok: true; rate: number; path: string; capped: boolean; header?: TrafficHeader; via?: TrafficVia }
  | { ok: false; reason: string };

/** An HTTP field name (RFC 9110 token). */
const HEADER_NAME = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

function parseTrafficHeader(annotations: Readonly<Record<string, string>>): { ok: true; header: TrafficHeader | undefined } | { ok: false; reason: string } {
  const raw = annotations[TRAFFIC_HEADER_ANNOTATION];
  const rawShare = annotations[TRAFFIC_HEADER_SHARE_ANNOTATION];
  if (raw === undefined) {
    if (rawShare !== undefined) return { ok: false, reason: `${TRAFFIC_HEADER_SHARE_ANNOTATION} is set without ${TRAFFIC_HEADER_ANNOTATION}` };
    return { ok: true, header: undefined };
  }
  const colon = raw.indexOf(':');
  const name = colon < 0 ? '' : raw.slice(0, colon).trim();
  const value = colon < 0 ? '' : raw.slice(colon + 1).trim();
  if (!HEADER_NAME.test(name) || /[\r\n\0]/.test(value)) {
    return { ok: false, reason: `${TRAFFIC_HEADER_ANNOTATION} must be "<Name>: <value>" with a valid header name, got ${JSON.stringify(raw)}` };
  }
  let share = 1;
  if (rawShare !== undefined) {
    share = rawShare.trim() === '' ? NaN : Number(rawShare.trim());
    if (!Number.isFinite(share) || share < 0 || share > 1) {
      return { ok: false, reason: `${TRAFFIC_HEADER_SHARE_ANNOTATION} must be a number from 0 to 1, got ${JSON.stringify(rawShare)}` };
    }
  }
  return { ok: true, header: { name, value, share } };
}

/**
 * Reads a Service's traffic annotations. Returns undefined when the Service
 * is not a target, `{ ok: false }` with a reason when the annotations are
 * invalid, and the rate (capped at `maxRate`) and path otherwise.
 */
export function parseTrafficTarget(
  service: ServiceLike,
  maxRate: number = DEFAULT_MAX_RATE_PER_TARGET,
): TrafficTargetSpec | undefined {
  const annotations = service.metadata?.annotations ?? {};
  const rawRate = annotations[TRAFFIC_RATE_ANNOTATION];
  if (rawRate === undefined) return undefined;
  const trimmed = rawRate.trim();
  const rate = trimmed === '' ? NaN : Number(trimmed);
  if (!Number.isFinite(rate) || rate < 0) {
    return { ok: false, reason: `${TRAFFIC_RATE_ANNOTATION} must be a non-negative number of requests per second, got ${JSON.stringify(rawRate)}` };
  }
  const path = annotations[TRAFFIC_PATH_ANNOTATION] ?? '/';
  if (!path.startsWith('/') || /[\s#]/.test(path)) {
    return { ok: false, reason: `${TRAFFIC_PATH_ANNOTATION} must be an absolute path without spaces or '#', got ${JSON.stringify(path)}` };
  }
  const header = parseTrafficHeader(annotations);
  if (!header.ok) return header;
  const rawVia = annotations[TRAFFIC_VIA_ANNOTATION];
  let via: TrafficVia | undefined;
  if (rawVia !== undefined) {
    const parsed = parseTrafficVia(rawVia, service.metadata?.namespace ?? 'default');
    if (!parsed.ok) return parsed;
    via = parsed.via;
  }
  const capped = rate > maxRate;
  return {
    ok: true,
    rate: capped ? maxRate : rate,
    path,
    capped,
    ...(header.header === undefined ? {} : { header: header.header }),
    ...(via === undefined ? {} : { via }),
  };
}


/**
 * Whether a Service selector selects a pod with `labels`. A missing or empty
 * selector selects nothing (such Services have manually managed endpoints).
 */
export function selectorMatches(
  selector: Readonly<Record<string, string>> | undefined,
  labels: Readonly<Record<string, string>> | undefined,
): boolean {
  if (selector === undefined) return false;
  const entries = Object.entries(selector);
  if (entries.length === 0) return false;
  return entries.every(([key, value]) => labels?.[key] === value);
}

/** A pod that may receive traffic: has an IP, Running, Ready=True, not being deleted. */
export function isPodReady(pod: PodLike): boolean {
  if (pod.metadata?.deletionTimestamp !== undefined) return false;
  if (pod.status?.podIP === undefined || pod.status.podIP === '') return false;
  if (pod.status.phase !== 'Running') return false;
  return (pod.status.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True');
}

/** Whether `ip` is an IPv4 address in 127.0.0.0/8, the only addresses the sandbox may target. */
export function isLoopbackIPv4(ip: string): boolean {
  const parts = ip.split('.');
  if (parts.length !== 4) return false;
  for (const part of parts) {
    if (!/^\d{1,3}$/.test(part) || Number(part) > 255) return false;
  }
  return parts[0] === '127';
}

/**
 * The Service port traffic goes to: the one whose `port` is `port` (or whose
 * name is `port`, when a string), or the first port when `port` is undefined.
 */
export function findServicePort(service: ServiceLike, port?: number | string): ServicePortLike | undefined {
  const ports = service.spec?.ports ?? [];
  if (port === undefined) return ports[0];
  if (typeof port === 'string') return ports.find((p) => p.name === port);
  return ports.find((p) => p.port === port);
}

/**
 * The pod port a Service port sends to: `targetPort` when it is a number (or
 * a numeric string), the pod's container port with that name (and protocol)
 * when it is a name, `port` when unset. Undefined when a named port does not
 * exist on the pod.
 */
export function resolveTargetPort(servicePort: ServicePortLike, pod: PodLike): number | undefined {
  const target = servicePort.targetPort;
  if (target === undefined || target === '' || target === 0) return servicePort.port;
  if (typeof target === 'number') return target;
  if (/^\d+$/.test(target)) return Number(target);
  const protocol = servicePort.protocol ?? 'TCP';
  for (const container of pod.spec?.containers ?? []) {
    for (const p of container.ports ?? []) {
      if (p.name === target && (p.protocol ?? 'TCP') === protocol) return p.containerPort;
    }
  }
  return undefined;
}

export interface RejectedEndpoint {
  /** namespace/name of the pod. */
  pod: string;
  ip: string;
  reason: string;
}

export interface ServiceEndpoints {
  /** "ip:port", sorted, without duplicates. */
  endpoints: string[];
  /** Ready, selected pods that were left out (non-loopback address, unknown named port). */
  rejected: RejectedEndpoint[];
}

/**
 * The endpoints of `service` on its port `port` (first port when undefined):
 * ready pods of its namespace matching its selector (and `subsetLabels`,
 * when given: an Istio subset), on loopback addresses.
 */
export function serviceEndpoints(
  service: ServiceLike,
  pods: readonly PodLike[],
  port?: number | string,
  subsetLabels?: Readonly<Record<string, string>>,
): ServiceEndpoints {
  const namespace = service.metadata?.namespace ?? 'default';
  const servicePort = findServicePort(service, port);
  const endpoints = new Set<string>();
  const rejected: RejectedEndpoint[] = [];
  if (servicePort === undefined) return { endpoints: [], rejected };
  for (const pod of pods) {
    if ((pod.metadata?.namespace ?? 'default') !== namespace) continue;
    if (!selectorMatches(service.spec?.selector, pod.metadata?.labels)) continue;
    if (subsetLabels !== undefined && !Object.entries(subsetLabels).every(([k, v]) => pod.metadata?.labels?.[k] === v)) continue;
    if (!isPodReady(pod)) continue;
    const ip = pod.status?.podIP ?? '';
    const podName = `${namespace}/${pod.metadata?.name ?? ''}`;
    if (!isLoopbackIPv4(ip)) {
      rejected.push({ pod: podName, ip, reason: 'pod IP is not in 127.0.0.0/8' });
      continue;
    }
    const targetPort = resolveTargetPort(servicePort, pod);
    if (targetPort === undefined || !Number.isInteger(targetPort) || targetPort < 1 || targetPort > 65535) {
      rejected.push({ pod: podName, ip, reason: `no valid target port for service port ${servicePort.port}` });
      continue;
    }
    endpoints.add(`${ip}:${targetPort}`);
  }
  return { endpoints: [...endpoints].sort(compareEndpoints), rejected };
}

function compareEndpoints(a: string, b: string): number {
  return endpointKey(a).localeCompare(endpointKey(b));
}

/** Sort key that orders "127.0.0.10:80" after "127.0.0.9:80". */
function endpointKey(endpoint: string): string {
  const [ip = '', port = ''] = endpoint.split(':');
  return `${ip.split('.').map((o) => o.padStart(3, '0')).join('.')}:${port.padStart(5, '0')}`;
}

/** A mirror of a planned rule: a copy of `percent` of its requests goes to `backend`. */
export interface PlannedMirror {
  backend: Backend;
  percent: number;
}

/** A routing rule with its backends' endpoints. */
export interface PlannedRule {
  source: string;
  match: RequestMatch;
  backends: Backend[];
  mirrors: PlannedMirror[];
}

export interface RoutingPlan {
  /** The kind of object that decided; absent when the Service answers itself. */
  router?: RouterKind;
  /** namespace/name of that object. */
  object?: string;
  /** Other objects that took part ("Kind namespace/name"). */
  related: string[];
  /** In order: the first whose match matches a request decides it. */
  rules: PlannedRule[];
  /** What the sandbox could not honour (see the routers). */
  problems: string[];
  rejected: RejectedEndpoint[];
}

/**
 * The backend name of `ref` for traffic of a Service in `targetNamespace`:
 * the Service name, prefixed with its namespace when it differs, suffixed
 * with ":<subset>" for an Istio subset.
 */
export function backendName(ref: ServiceRef, targetNamespace: string): string {
  const base = ref.namespace === targetNamespace ? ref.name : `${ref.namespace}/${ref.name}`;
  return ref.subset === undefined ? base : `${base}:${ref.subset.name}`;
}

/**
 * Where requests addressed to `service` go: the rules of its routing object
 * (routing.ts: `via`, else the first object of `objects` that fronts it),
 * each backend a Service resolved against `services` and `pods` (an unknown
 * Service has no endpoints); without one, a single rule matching every
 * request, the Service itself over its ready pods (replica-proportional).
 */
export function planRouting(
  service: ServiceLike,
  services: readonly ServiceLike[],
  pods: readonly PodLike[],
  objects: RoutingObjects,
  via?: TrafficVia,
): RoutingPlan {
  const name = service.metadata?.name ?? '';
  const namespace = service.metadata?.namespace ?? 'default';
  const rejected: RejectedEndpoint[] = [];
  const seenRejected = new Set<string>();
  const routing = routingFor({ name, namespace }, via, objects);
  if (routing === undefined) {
    const resolved = serviceEndpoints(service, pods);
    return {
      related: [],
      rules: [{ source: `Service ${namespace}/${name}`, match: {}, backends: [{ name, weight: 1, endpoints: resolved.endpoints }], mirrors: [] }],
      problems: [],
      rejected: resolved.rejected,
    };
  }
  const cache = new Map<string, string[]>();
  const endpointsOf = (ref: ServiceRef): string[] => {
    const key = `${backendName(ref, namespace)}|${String(ref.port ?? '')}`;
    const known = cache.get(key);
    if (known !== undefined) return known;
    const backendService =
      ref.name === name && ref.namespace === namespace
        ? service
        : services.find((s) => s.metadata?.name === ref.name && (s.metadata.namespace ?? 'default') === ref.namespace);
    let endpoints: string[] = [];
    // A subset no DestinationRule defines has no endpoints.
    if (backendService !== undefined && (ref.subset === undefined || ref.subset.labels !== undefined)) {
      const resolved = serviceEndpoints(backendService, pods, ref.port, ref.subset?.labels);
      for (const r of resolved.rejected) {
        const k = `${r.pod}|${r.reason}`;
        if (!seenRejected.has(k)) {
          seenRejected.add(k);
          rejected.push(r);
        }
      }
      endpoints = resolved.endpoints;
    }
    cache.set(key, endpoints);
    return endpoints;
  };
  const backend = (ref: ServiceRef, weight: number): Backend => ({ name: backendName(ref, namespace), weight, endpoints: [...endpointsOf(ref)] });
  return {
    router: routing.kind,
    object: routing.object,
    related: routing.related,
    rules: routing.rules.map((rule) => ({
      source: rule.source,
      match: rule.match,
      backends: rule.backends.map((b) => backend(b, b.weight)),
      mirrors: rule.mirrors.map((m) => ({ backend: backend(m, 1), percent: m.percent })),
    })),
    problems: routing.problems,
    rejected,
  };
}

export interface TrafficPlan {
  backends: Backend[];
  /** namespace/name of the HTTPRoute that decided the split, if any. */
  route?: string;
  rejected: RejectedEndpoint[];
}

/**
 * Where a plain request (GET /, no headers) addressed to `service` goes,
 * considering HTTPRoutes only: the backends of the rule planRouting selects
 * for it (none when no rule matches). Kept for callers of the weight-only
 * view; the generator uses planRouting.
 */
export function planTraffic(
  service: ServiceLike,
  services: readonly ServiceLike[],
  pods: readonly PodLike[],
  routes: readonly GatewayHTTPRouteLike[],
): TrafficPlan {
  const plan = planRouting(service, services, pods, { httpRoutes: routes });
  const rule = plan.rules[selectRule(plan.rules, { method: 'GET', path: '/', headers: {} })];
  const backends = rule?.backends ?? [];
  if (plan.router === 'HTTPRoute' && plan.object !== undefined) return { backends, route: plan.object, rejected: plan.rejected };
  return { backends, rejected: plan.rejected };
}
