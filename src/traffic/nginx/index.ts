// The NGINX Ingress router (trafficRouting.nginx).
export { nginxRouter, canaryIngressName } from './router.ts';
export type { NginxConfig } from './config.ts';
