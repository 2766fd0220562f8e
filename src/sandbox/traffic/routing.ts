// Which routing object decides a target Service's requests, and its rules.
// Pure: no I/O. The generator feeds it its informer caches.
//
// Sources, in this order; the first that fronts the Service wins:
// 1. `sandbox.weir.dev/traffic-via: <kind>/<name>` (or `<kind>/<namespace>/<name>`)
//    on the Service names the object explicitly; kinds: httproute, ingress,
//    virtualservice, trafficsplit, traefikservice. TraefikServices are only
//    reached this way (see traefik.ts). A named object that is missing or
//    does not front the Service gives a routing without rules: nothing is
//    sent, as a proxy answers 404, and a problem says why.
// 2. a Gateway API HTTPRoute (gateway.ts),
// 3. an NGINX Ingress and its canary (nginx.ts),
// 4. an Istio VirtualService (istio.ts),
// 5. an SMI TrafficSplit (smi.ts).
// None: the Service itself, over its ready pods (replica-proportional).
import { findHTTPRouteRouting, httpRouteRouting, type GatewayHTTPRouteLike } from './gateway.ts';
import { findVirtualServiceRouting, virtualServiceRouting, type DestinationRuleLike, type VirtualServiceLike } from './istio.ts';
import { findIngressRouting, type IngressLike } from './nginx.ts';
import { objectKey, type RouterKind, type Routing } from './rules.ts';
import { findTrafficSplitRouting, type TrafficSplitLike } from './smi.ts';
import { traefikServiceRouting, type TraefikServiceLike } from './traefik.ts';

/** Names the routing object of a target Service: `<kind>/<name>` or `<kind>/<namespace>/<name>`. */
export const TRAFFIC_VIA_ANNOTATION = 'sandbox.weir.dev/traffic-via';

export interface RoutingObjects {
  httpRoutes?: readonly GatewayHTTPRouteLike[] | undefined;
  ingresses?: readonly IngressLike[] | undefined;
  virtualServices?: readonly VirtualServiceLike[] | undefined;
  destinationRules?: readonly DestinationRuleLike[] | undefined;
  trafficSplits?: readonly TrafficSplitLike[] | undefined;
  traefikServices?: readonly TraefikServiceLike[] | undefined;
}

export interface TrafficVia {
  kind: RouterKind;
  namespace: string;
  name: string;
}

const VIA_KINDS: Record<string, RouterKind> = {
  httproute: 'HTTPRoute',
  ingress: 'Ingress',
  virtualservice: 'VirtualService',
  trafficsplit: 'TrafficSplit',
  traefikservice: 'TraefikService',
};

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS_SUBDOMAIN = /^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/;

/** Parses the traffic-via annotation of a Service in `namespace`. */
export function parseTrafficVia(value: string, namespace: string): { ok: true; via: TrafficVia } | { ok: false; reason: string } {
  const parts = value.trim().split('/');
  const kind = VIA_KINDS[(parts[0] ?? '').toLowerCase()];
  const bad = (why: string): { ok: false; reason: string } => ({
    ok: false,
    reason: `${TRAFFIC_VIA_ANNOTATION} must be <kind>/<name> or <kind>/<namespace>/<name> with kind one of ${Object.keys(VIA_KINDS).join(', ')}: ${why}, got ${JSON.stringify(value)}`,
  });
  if (kind === undefined) return bad('unknown kind');
  if (parts.length !== 2 && parts.length !== 3) return bad('wrong number of parts');
  const name = parts[parts.length - 1] ?? '';
  const ns = parts.length === 3 ? (parts[1] ?? '') : namespace;
  if (!DNS_SUBDOMAIN.test(name) || name.length > 253) return bad('invalid name');
  if (!DNS_LABEL.test(ns) || ns.length > 63) return bad('invalid namespace');
  return { ok: true, via: { kind, namespace: ns, name } };
}

function named<T extends { metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined }>(
  objects: readonly T[] | undefined,
  via: TrafficVia,
): T | undefined {
  return (objects ?? []).find((o) => objectKey(o) === `${via.namespace}/${via.name}`);
}

function viaRouting(target: { name: string; namespace: string }, via: TrafficVia, objects: RoutingObjects): Routing {
  const key = `${via.namespace}/${via.name}`;
  const empty = (problem: string): Routing => ({ kind: via.kind, object: key, related: [], rules: [], problems: [`${via.kind} ${key} ${problem}; nothing is sent`] });
  let routing: Routing | undefined;
  let exists: boolean;
  switch (via.kind) {
    case 'HTTPRoute': {
      const route = named(objects.httpRoutes, via);
      exists = route !== undefined;
      routing = route === undefined ? undefined : httpRouteRouting(route, target);
      break;
    }
    case 'Ingress':
      exists = named(objects.ingresses, via) !== undefined;
      routing = findIngressRouting(objects.ingresses ?? [], target, key);
      break;
    case 'VirtualService': {
      const vs = named(objects.virtualServices, via);
      exists = vs !== undefined;
      routing = vs === undefined ? undefined : virtualServiceRouting(vs, objects.destinationRules ?? [], target);
      break;
    }
    case 'TrafficSplit': {
      const split = named(objects.trafficSplits, via);
      exists = split !== undefined;
      routing = split === undefined ? undefined : findTrafficSplitRouting([split], target);
      break;
    }
    case 'TraefikService':
      routing = traefikServiceRouting(objects.traefikServices ?? [], via);
      exists = routing !== undefined;
      break;
  }
  if (routing !== undefined) return routing;
  return empty(exists ? `(named by ${TRAFFIC_VIA_ANNOTATION}) does not send to Service ${target.namespace}/${target.name}` : `(named by ${TRAFFIC_VIA_ANNOTATION}) not found`);
}

/**
 * The routing of requests addressed to `target`: from the object `via` names,
 * else from the first source that fronts it (order above); undefined when
 * none does (the Service answers itself).
 */
export function routingFor(target: { name: string; namespace: string }, via: TrafficVia | undefined, objects: RoutingObjects): Routing | undefined {
  if (via !== undefined) return viaRouting(target, via, objects);
  return (
    findHTTPRouteRouting(objects.httpRoutes ?? [], target) ??
    findIngressRouting(objects.ingresses ?? [], target) ??
    findVirtualServiceRouting(objects.virtualServices ?? [], objects.destinationRules ?? [], target) ??
    findTrafficSplitRouting(objects.trafficSplits ?? [], target)
  );
}
