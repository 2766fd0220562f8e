export { GATEWAY_API_PLUGIN, gatewayApiRouter } from './router.ts';
export type { GatewayApiConfig } from './config.ts';
