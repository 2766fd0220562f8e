// Gateway API HTTPRoutes as the canary router: which routes a Rollout uses,
// what weights they hold, and the route with new weights.
import type { ObservedRoute } from '../engine/types.ts';

export { GATEWAY_API_PLUGIN } from '../api/validate.ts';
export { rolloutRoutes } from '../api/traffic-routing.ts';

export interface BackendRef {
  name: string;
  namespace?: string;
  kind?: string;
  group?: string;
  port?: number;
  weight?: number;
}

export interface HttpRoute {
  apiVersion?: string;
  kind?: string;
  metadata: { name?: string; namespace?: string; resourceVersion?: string };
  spec?: { rules?: { backendRefs?: BackendRef[] }[] };
}

function isService(ref: BackendRef): boolean {
  return (ref.kind ?? 'Service') === 'Service' && (ref.group ?? '') === '';
}

function ruleIndex(route: HttpRoute, stable: string, canary: string): number {
  return (route.spec?.rules ?? []).findIndex((rule) => {
    const names = (rule.backendRefs ?? []).filter(isService).map((r) => r.name);
    return names.includes(stable) && names.includes(canary);
  });
}

export function observeRoute(route: HttpRoute, stable: string, canary: string): ObservedRoute {
  const index = ruleIndex(route, stable, canary);
  const rule = route.spec?.rules?.[index];
  const weights: Record<string, number> = {};
  for (const ref of rule?.backendRefs ?? []) if (isService(ref)) weights[ref.name] = ref.weight ?? 1;
  return { name: route.metadata.name ?? '', namespace: route.metadata.namespace ?? '', weights, hasRule: index >= 0 };
}

/** A copy of `route` whose rule for the two Services sends `canaryWeight`% to the canary; undefined without such a rule. */
export function setRuleWeights(route: HttpRoute, stable: string, canary: string, canaryWeight: number): HttpRoute | undefined {
  const index = ruleIndex(route, stable, canary);
  if (index < 0) return undefined;
  const copy = structuredClone(route);
  const rule = copy.spec?.rules?.[index];
  for (const ref of rule?.backendRefs ?? []) {
    if (!isService(ref)) continue;
    if (ref.name === canary) ref.weight = canaryWeight;
    else if (ref.name === stable) ref.weight = 100 - canaryWeight;
  }
  return copy;
}
