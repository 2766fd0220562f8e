// The Istio router (Argo Rollouts' trafficRouting.istio): VirtualService weights, DestinationRule subsets, managed header and mirror routes.
export { istioRouter } from './router.ts';
export type { IstioConfig, IstioDestinationRuleConfig, IstioTcpRouteSelector, IstioTlsRouteSelector, IstioVirtualServiceConfig } from './config.ts';
