// Which routing objects a Rollout names: read by the Rollout controller (to
// set their weights) and by Git sync (to leave those weights to it).
import type { Rollout } from './rollout.ts';
import { GATEWAY_API_PLUGIN } from './validate.ts';

/** The HTTPRoutes named by the Rollout's Gateway API routing (Argo's plugin config form). */
export function rolloutRoutes(rollout: Pick<Rollout, 'metadata' | 'spec'>): { name: string; namespace: string }[] {
  const plugin = rollout.spec.strategy.canary?.trafficRouting?.plugins?.[GATEWAY_API_PLUGIN] as
    | { httpRoute?: string; httpRoutes?: { name: string }[]; namespace?: string }
    | undefined;
  if (!plugin) return [];
  const namespace = plugin.namespace ?? rollout.metadata.namespace ?? 'default';
  const names = [...(plugin.httpRoute ? [plugin.httpRoute] : []), ...(plugin.httpRoutes ?? []).map((r) => r.name)];
  return [...new Set(names)].map((name) => ({ name, namespace }));
}
