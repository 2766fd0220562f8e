// Where the sandbox's traffic goes, computed from plain Kubernetes objects.
// Pure: no I/O. The generator feeds it its informer caches.
//
// Kubernetes Endpoints/EndpointSlices are deliberately not used: the sandbox's
// pods live on 127.x.y.z, which Endpoints validation rejects, so Services are
// resolved here from the Pod cache, the way the endpoints controller would.
import { backendsFromRoute, findRouteForService, type Backend, type HTTPRouteLike, type ResolvedBackendRef } from './split.ts';

/** Requests per second to send to a Service. Its presence makes the Service a target. */
export const TRAFFIC_RATE_ANNOTATION = 'sandbox.weir.dev/traffic-rate';
/** HTTP path to request (default "/"). */
export const TRAFFIC_PATH_ANNOTATION = 'sandbox.weir.dev/traffic-path';

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

export type TrafficTargetSpec =
  | { ok: true; rate: number; path: string; capped: boolean }
  | { ok: false; reason: string };

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
  const capped = rate > maxRate;
  return { ok: true, rate: capped ? maxRate : rate, path, capped };
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
 * The Service port traffic goes to: the one whose `port` is `port`, or the
 * first port when `port` is undefined.
 */
export function findServicePort(service: ServiceLike, port?: number): ServicePortLike | undefined {
  const ports = service.spec?.ports ?? [];
  if (port === undefined) return ports[0];
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
 * ready pods of its namespace matching its selector, on loopback addresses.
 */
export function serviceEndpoints(service: ServiceLike, pods: readonly PodLike[], port?: number): ServiceEndpoints {
  const namespace = service.metadata?.namespace ?? 'default';
  const servicePort = findServicePort(service, port);
  const endpoints = new Set<string>();
  const rejected: RejectedEndpoint[] = [];
  if (servicePort === undefined) return { endpoints: [], rejected };
  for (const pod of pods) {
    if ((pod.metadata?.namespace ?? 'default') !== namespace) continue;
    if (!selectorMatches(service.spec?.selector, pod.metadata?.labels)) continue;
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

export interface TrafficPlan {
  backends: Backend[];
  /** namespace/name of the HTTPRoute that decided the split, if any. */
  route?: string;
  rejected: RejectedEndpoint[];
}

/**
 * Where traffic addressed to `service` goes. With an HTTPRoute in its
 * namespace whose rule references it: that rule's backendRefs, by weight, each
 * a Service resolved against `services` and `pods` (an unknown Service has no
 * endpoints). Otherwise: one backend, the Service itself, over its ready pods
 * (replica-proportional).
 */
export function planTraffic(
  service: ServiceLike,
  services: readonly ServiceLike[],
  pods: readonly PodLike[],
  routes: readonly HTTPRouteLike[],
): TrafficPlan {
  const name = service.metadata?.name ?? '';
  const namespace = service.metadata?.namespace ?? 'default';
  const rejected: RejectedEndpoint[] = [];
  const route = findRouteForService(routes, { name, namespace });
  if (route !== undefined) {
    const endpointsOf = (ref: ResolvedBackendRef): string[] => {
      const backendService =
        ref.name === name && ref.namespace === namespace
          ? service
          : services.find((s) => s.metadata?.name === ref.name && (s.metadata.namespace ?? 'default') === ref.namespace);
      if (backendService === undefined) return [];
      const resolved = serviceEndpoints(backendService, pods, ref.port);
      rejected.push(...resolved.rejected);
      return resolved.endpoints;
    };
    const backends = backendsFromRoute(route, { name, namespace }, endpointsOf);
    if (backends !== undefined) {
      return { backends, route: `${route.metadata?.namespace ?? 'default'}/${route.metadata?.name ?? ''}`, rejected };
    }
  }
  const resolved = serviceEndpoints(service, pods);
  return { backends: [{ name, weight: 1, endpoints: resolved.endpoints }], rejected: resolved.rejected };
}
