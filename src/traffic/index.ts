// The traffic routers Weir drives, and how a Rollout's trafficRouting selects
// them. The engine and the controller know routers only through this module
// and the contract in types.ts (test: ../traffic/layout.test.ts).
import { gatewayApiRouter, GATEWAY_API_PLUGIN } from './gateway-api/index.ts';
import { unknownFieldMessage } from '../api/names.ts';
import { isRecord } from './objects.ts';
import { istioRouter } from './istio/index.ts';
import { nginxRouter } from './nginx/index.ts';
import { smiRouter } from './smi/index.ts';
import { traefikRouter } from './traefik/index.ts';
import type { ConfigProblem, Router, TrafficContext, TrafficObjectRef } from './types.ts';

export type * from './types.ts';
export { refKey } from './types.ts';
export { GATEWAY_API_PLUGIN };

/** The built-in routers, by their key under trafficRouting. */
const BUILT_IN: readonly Router<unknown>[] = [nginxRouter, istioRouter, smiRouter, traefikRouter];
/** The routers configured as plugins (trafficRouting.plugins.<name>). */
const PLUGINS: readonly Router<unknown>[] = [gatewayApiRouter];

/** Argo Rollouts' routers Weir does not drive, with their names for messages. */
export const UNSUPPORTED_ROUTERS: Readonly<Record<string, string>> = {
  alb: 'AWS ALB',
  ambassador: 'Ambassador',
  appMesh: 'AWS App Mesh',
  apisix: 'Apache APISIX',
};

/** trafficRouting's own fields, beside the routers. */
const ROUTING_FIELDS = ['plugins', 'managedRoutes', 'maxTrafficWeight'] as const;

export const ROUTERS: readonly Router<unknown>[] = [...BUILT_IN, ...PLUGINS];

/** A router with its parsed configuration, and where that configuration is (relative to trafficRouting). */
export interface ConfiguredRouter {
  router: Router<unknown>;
  config: unknown;
  path: (string | number)[];
}

function supportedList(): string {
  return [...BUILT_IN.map((r) => `${r.key} (${r.label})`), ...PLUGINS.map((r) => `plugins["${r.key}"] (${r.label})`)].join(', ');
}

/**
 * The routers a trafficRouting configures, and the problems of their
 * configuration (paths relative to trafficRouting). Unknown and unsupported
 * routers and plugins are problems, never skipped.
 */
export function routersOf(routing: unknown): { routers: ConfiguredRouter[]; problems: ConfigProblem[] } {
  const routers: ConfiguredRouter[] = [];
  const problems: ConfigProblem[] = [];
  if (!isRecord(routing)) return { routers, problems: [{ path: [], message: 'must be an object' }] };
  const take = (router: Router<unknown>, raw: unknown, path: (string | number)[]): void => {
    const parsed = router.parse(raw);
    if ('problems' in parsed) for (const p of parsed.problems) problems.push({ path: [...path, ...p.path], message: p.message });
    else routers.push({ router, config: parsed.config, path });
  };
  for (const [key, raw] of Object.entries(routing)) {
    const router = BUILT_IN.find((r) => r.key === key);
    if (router) take(router, raw, [key]);
    else if (UNSUPPORTED_ROUTERS[key] !== undefined) problems.push({ path: [key], message: `the ${UNSUPPORTED_ROUTERS[key]} traffic router is not supported by Weir; it drives ${supportedList()}` });
    else if (!(ROUTING_FIELDS as readonly string[]).includes(key)) {
      problems.push({ path: [key], message: `${unknownFieldMessage(key, [...ROUTING_FIELDS, ...BUILT_IN.map((r) => r.key)])}; the traffic routers Weir drives are ${supportedList()}` });
    }
  }
  const plugins = routing.plugins;
  if (plugins !== undefined && !isRecord(plugins)) problems.push({ path: ['plugins'], message: 'must be an object of plugin configurations by name' });
  for (const [name, raw] of Object.entries(isRecord(plugins) ? plugins : {})) {
    const router = PLUGINS.find((r) => r.key === name);
    if (router) take(router, raw, ['plugins', name]);
    else problems.push({ path: ['plugins', name], message: `the traffic router plugin ${JSON.stringify(name)} is not supported by Weir; it drives ${supportedList()}` });
  }
  if (routers.length === 0 && problems.length === 0) problems.push({ path: [], message: `must configure a traffic router: ${supportedList()}` });
  return { routers, problems };
}

/** The API kinds every router reads or writes, once each (for the controller's informers). */
export function routerKinds(): Pick<TrafficObjectRef, 'apiVersion' | 'kind' | 'plural'>[] {
  const seen = new Map<string, Pick<TrafficObjectRef, 'apiVersion' | 'kind' | 'plural'>>();
  for (const router of ROUTERS) for (const kind of router.kinds) seen.set(`${kind.apiVersion}/${kind.kind}`, kind);
  return [...seen.values()];
}

/** Every object the configured routers read, for the given context. */
export function routedObjects(routers: readonly ConfiguredRouter[], ctx: TrafficContext): TrafficObjectRef[] {
  return routers.flatMap(({ router, config }) => router.objects(ctx, config));
}
