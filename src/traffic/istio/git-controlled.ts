// What Git sync takes from the live VirtualService: the weights of the stable
// and canary destinations of the weighted routes, and the managed routes
// present (a VirtualService's route lists are replaced whole by an apply, so
// Git's copy must carry them). Everything else stays Git's.
import { isRecord } from '../objects.ts';
import type { TrafficContext, TrafficObject } from '../types.ts';
import type { IstioConfig, IstioVirtualServiceConfig } from './config.ts';
import { jsonEqual, listAt, stringAt } from './json.ts';
import { managedNames, presentManaged } from './managed-routes.ts';
import { targetsFor } from './views.ts';
import { destinationOf, roleOf, routeAt, selectRoutes, type Targets } from './virtual-service.ts';

function yieldWeights(gitRoute: unknown, liveRoute: unknown, t: Targets): void {
  const gitEntries = listAt(gitRoute, 'route') ?? [];
  const liveEntries = listAt(liveRoute, 'route') ?? [];
  for (const entry of gitEntries) {
    const role = roleOf(entry, t);
    if (!isRecord(entry) || (role !== 'canary' && role !== 'stable')) continue;
    const sameRole = liveEntries.filter((l) => roleOf(l, t) === role);
    const match = sameRole.find((l) => jsonEqual(destinationOf(l), destinationOf(entry))) ?? sameRole[0];
    if (isRecord(match) && typeof match.weight === 'number') entry.weight = match.weight;
  }
}

/** `desired` (Git's VirtualService) with the Rollout's fields from `live`; neither argument is changed. */
export function yieldVirtualService(ctx: TrafficContext, config: IstioConfig, cfg: IstioVirtualServiceConfig, desired: TrafficObject, live: TrafficObject): TrafficObject {
  const out = structuredClone(desired);
  const spec = out.spec;
  if (!isRecord(spec) || !isRecord(live.spec)) return out;
  const managed = managedNames(ctx);
  const t = targetsFor(ctx, config, desired.metadata.namespace ?? cfg.namespace ?? ctx.rollout.namespace, undefined);
  const liveWeighted = selectRoutes(live.spec, cfg, managed, '').weighted;
  for (const w of selectRoutes(spec, cfg, managed, '').weighted) {
    const l = liveWeighted.find((x) => x.key === w.key);
    if (l) yieldWeights(routeAt(spec, w), routeAt(live.spec, l), t);
  }
  const liveManaged = presentManaged(listAt(live.spec, 'http') ?? [], managed).map((p) => structuredClone(p.route));
  const gitHttp = listAt(spec, 'http');
  if (gitHttp || liveManaged.length > 0) {
    spec.http = [...liveManaged, ...(gitHttp ?? []).filter((r) => !managed.has(stringAt(r, 'name') ?? ''))];
  }
  return out;
}
