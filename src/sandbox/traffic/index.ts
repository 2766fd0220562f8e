// The sandbox's traffic generator (data-plane stand-in) and its pure routing and split logic.
export {
  startTrafficGenerator,
  DEFAULT_MAX_IN_FLIGHT_PER_TARGET,
  REQUEST_TIMEOUT_MS,
  HTTPROUTE_GROUP,
  HTTPROUTE_VERSION,
  HTTPROUTE_PLURAL,
  ROUTING_CRDS,
  type TrafficGenerator,
  type TrafficGeneratorOptions,
  type TrafficStats,
  type TargetStats,
  type InformerStatus,
  type RequestClassStats,
  type MirrorStats,
  type RuleSummary,
} from './generator.ts';
export {
  createWeightedPicker,
  routeBackendRefs,
  backendsFromRoute,
  findRouteForService,
  type Backend,
  type Pick,
  type WeightedPicker,
  type BackendRefLike,
  type HTTPRouteLike,
  type ResolvedBackendRef,
} from './split.ts';
export {
  TRAFFIC_RATE_ANNOTATION,
  TRAFFIC_PATH_ANNOTATION,
  TRAFFIC_HEADER_ANNOTATION,
  TRAFFIC_HEADER_SHARE_ANNOTATION,
  DEFAULT_MAX_RATE_PER_TARGET,
  parseTrafficTarget,
  selectorMatches,
  isPodReady,
  isLoopbackIPv4,
  findServicePort,
  resolveTargetPort,
  serviceEndpoints,
  planTraffic,
  planRouting,
  backendName,
  type TrafficTargetSpec,
  type TrafficHeader,
  type RoutingPlan,
  type PlannedRule,
  type PlannedMirror,
  type RejectedEndpoint,
  type ServiceEndpoints,
  type TrafficPlan,
  type PodLike,
  type ServiceLike,
  type ServicePortLike,
  type ContainerPortLike,
  type ObjectMetaLike,
} from './endpoints.ts';
export { TRAFFIC_VIA_ANNOTATION, parseTrafficVia, routingFor, type RoutingObjects, type TrafficVia } from './routing.ts';
export {
  requestMatches,
  selectRule,
  describeMatch,
  type RequestMatch,
  type StringMatch,
  type PathMatch,
  type HeaderMatch,
  type NamedMatch,
  type RequestInfo,
  type RoutingRule,
  type Routing,
  type RouterKind,
  type ServiceRef,
  type WeightedRef,
  type MirrorRef,
} from './rules.ts';
export { httpRouteRouting, findHTTPRouteRouting, type GatewayHTTPRouteLike } from './gateway.ts';
export { findIngressRouting, NGINX_ANNOTATION_PREFIX, type IngressLike } from './nginx.ts';
export { findVirtualServiceRouting, virtualServiceRouting, type VirtualServiceLike, type DestinationRuleLike } from './istio.ts';
export { findTrafficSplitRouting, parseQuantity, type TrafficSplitLike } from './smi.ts';
export { traefikServiceRouting, type TraefikServiceLike } from './traefik.ts';
export { createRequestRouter, selectedAt, targetRequest, type RequestRouter, type RoutedRequest } from './request-router.ts';
