// The Rollout controller's side of traffic routing, through the router
// contract only (src/traffic): which routers a Rollout configures, what
// their objects hold (from the shared informers), which Rollouts an object
// change concerns, and the writes that bring the objects to the engine's
// intent (read fresh, replaced with a resourceVersion precondition, recomputed
// on conflict).
import { CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import { API_VERSION } from '../api/common.ts';
import type { Rollout } from '../api/rollout.ts';
import { kubeErrorCode } from '../cluster/errors.ts';
import type { ResilientInformer } from '../cluster/informer.ts';
import type { InformerCache } from '../cluster/informer-cache.ts';
import { refKey, routersOf, type ConfiguredRouter, type LiveObjects, type ObservedTraffic, type TrafficContext, type TrafficIntent, type TrafficObject, type TrafficObjectRef, type TrafficWrite } from '../traffic/index.ts';
import { TRAFFIC_KINDS, type TrafficObjectOf } from './kit/kinds.ts';

/**
 * Parsed routers by spec object: every traffic object's event asks each
 * Rollout whether it concerns it, so the parse is done once per version of a
 * spec (informers replace the object on each change, never edit it).
 */
const parsed = new WeakMap<object, ConfiguredRouter[]>();

/** The routers a Rollout's canary configures (none when invalid: validation reports it). */
export function configuredRouters(rollout: Pick<Rollout, 'spec'>): ConfiguredRouter[] {
  const known = parsed.get(rollout.spec);
  if (known) return known;
  const routing = rollout.spec.strategy.canary?.trafficRouting;
  const { routers, problems } = routing === undefined ? { routers: [], problems: [] } : routersOf(routing);
  const out = problems.length > 0 ? [] : routers;
  parsed.set(rollout.spec, out);
  return out;
}

/** Who the routers route for; undefined without both canary Services. */
export function trafficContext(rollout: Pick<Rollout, 'metadata' | 'spec' | 'status'>, hashes?: { stable: string | undefined; canary: string | undefined }): TrafficContext | undefined {
  const canary = rollout.spec.strategy.canary;
  if (canary?.stableService === undefined || canary.canaryService === undefined) return undefined;
  const meta = rollout.metadata as Rollout['metadata'] & { uid?: string };
  return {
    rollout: { name: meta.name ?? '', namespace: meta.namespace ?? 'default', uid: meta.uid ?? '' },
    stableService: canary.stableService,
    canaryService: canary.canaryService,
    stableHash: hashes ? hashes.stable : rollout.status?.stableRS,
    canaryHash: hashes ? hashes.canary : rollout.status?.currentPodHash,
    managedRoutes: (canary.trafficRouting?.managedRoutes ?? []).map((m) => m.name),
    maxWeight: 100,
  };
}

function groupVersion(apiVersion: string): { group: string; version: string } {
  const slash = apiVersion.lastIndexOf('/');
  return slash < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, slash), version: apiVersion.slice(slash + 1) };
}

function kindKey(ref: Pick<TrafficObjectRef, 'apiVersion' | 'kind'>): string {
  return `${groupVersion(ref.apiVersion).group}/${ref.kind}`;
}

/** The controller reference a created router object carries: garbage-collected with the Rollout. */
function ownerReference(rollout: Rollout): NonNullable<TrafficObject['metadata']['ownerReferences']>[number] & { blockOwnerDeletion: true } {
  const meta = rollout.metadata as Rollout['metadata'] & { uid?: string };
  return { apiVersion: API_VERSION, kind: 'Rollout', name: meta.name ?? '', uid: meta.uid ?? '', controller: true, blockOwnerDeletion: true };
}

const MAX_CONFLICT_RETRIES = 4;

export class TrafficRouting {
  readonly #custom: CustomObjectsApi;
  readonly #informers = new Map<string, ResilientInformer<TrafficObjectOf>>();
  readonly #fieldManager: string;

  constructor(kc: KubeConfig, cache: InformerCache | undefined, fieldManager: string) {
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#fieldManager = fieldManager;
    if (cache) for (const { ref, kind } of TRAFFIC_KINDS) this.#informers.set(kindKey(ref), cache.informer(kind));
  }

  /** What each router's objects hold now, from the informers. */
  observe(rollout: Rollout): ObservedTraffic[] {
    const ctx = trafficContext(rollout);
    if (ctx === undefined) return [];
    return configuredRouters(rollout).map(({ router, config }) => {
      const live = new Map<string, TrafficObject | undefined>();
      for (const ref of router.objects(ctx, config)) live.set(refKey(ref), this.#informers.get(kindKey(ref))?.get(ref.name, ref.namespace));
      return router.observe(ctx, config, live);
    });
  }

  /** What each router's objects hold, read from the API server now (for views outside the controller). */
  async read(rollout: Rollout): Promise<ObservedTraffic[]> {
    const ctx = trafficContext(rollout);
    if (ctx === undefined) return [];
    const out: ObservedTraffic[] = [];
    for (const { router, config } of configuredRouters(rollout)) out.push(router.observe(ctx, config, await this.#read(router.objects(ctx, config))));
    return out;
  }

  /** Whether a change of `obj` concerns `rollout` (one of its routers reads it). */
  static concerns(rollout: Rollout, obj: TrafficObjectOf): boolean {
    const ctx = trafficContext(rollout);
    if (ctx === undefined) return false;
    const key = refKey({ apiVersion: obj.apiVersion ?? '', kind: obj.kind ?? '', namespace: obj.metadata.namespace ?? '', name: obj.metadata.name ?? '' });
    return configuredRouters(rollout).some(({ router, config }) => router.objects(ctx, config).some((ref) => refKey(ref) === key));
  }

  /** Brings every router's objects to the intent: read fresh, written, and on a conflict read and computed again. */
  async apply(rollout: Rollout, intent: TrafficIntent, hashes: { stable: string | undefined; canary: string | undefined }): Promise<void> {
    const ctx = trafficContext(rollout, hashes);
    if (ctx === undefined) return;
    for (const { router, config } of configuredRouters(rollout)) {
      for (let attempt = 0; ; attempt++) {
        const live = await this.#read(router.objects(ctx, config));
        try {
          for (const write of router.writes(ctx, config, live, intent)) await this.#write(rollout, write);
          break;
        } catch (err) {
          if (kubeErrorCode(err) !== 409 || attempt >= MAX_CONFLICT_RETRIES) throw err;
        }
      }
    }
  }

  async #read(refs: readonly TrafficObjectRef[]): Promise<LiveObjects> {
    const live = new Map<string, TrafficObject | undefined>();
    for (const ref of refs) {
      try {
        live.set(refKey(ref), (await this.#custom.getNamespacedCustomObject({ ...groupVersion(ref.apiVersion), plural: ref.plural, namespace: ref.namespace, name: ref.name })) as TrafficObject);
      } catch (err) {
        // Absent, or its kind not served (the router's CRDs not installed): the router reports it.
        if (kubeErrorCode(err) !== 404) throw err;
        live.set(refKey(ref), undefined);
      }
    }
    return live;
  }

  async #write(rollout: Rollout, write: TrafficWrite): Promise<void> {
    const { ref } = write;
    const target = { ...groupVersion(ref.apiVersion), plural: ref.plural, namespace: ref.namespace };
    switch (write.op) {
      case 'create': {
        const body = { ...write.body, apiVersion: ref.apiVersion, kind: ref.kind, metadata: { ...write.body.metadata, name: ref.name, namespace: ref.namespace, ownerReferences: [ownerReference(rollout)] } };
        await this.#custom.createNamespacedCustomObject({ ...target, body, fieldManager: this.#fieldManager });
        return;
      }
      case 'update':
        await this.#custom.replaceNamespacedCustomObject({ ...target, name: ref.name, body: write.body, fieldManager: this.#fieldManager });
        return;
      case 'delete':
        try {
          await this.#custom.deleteNamespacedCustomObject({ ...target, name: ref.name });
        } catch (err) {
          if (kubeErrorCode(err) !== 404) throw err;
        }
        return;
    }
  }
}
