export { traefikRouter } from './router.ts';
export type { TraefikConfig } from './config.ts';
