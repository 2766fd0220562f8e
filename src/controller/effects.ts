// Applies the engine's effects to the cluster. Every write is idempotent:
// creates adopt an existing object of ours, scales and selectors are merge
// patches of the desired value, the traffic routers' objects are written
// with a resourceVersion precondition and recomputed on conflict
// (traffic.ts).
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  PatchStrategy,
  setHeaderOptions,
  type KubeConfig,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION } from '../api/common.ts';
import type { Rollout } from '../api/rollout.ts';
import { kubeErrorCode } from '../cluster/errors.ts';
import type { EventRecorder } from '../cluster/events.ts';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, type Effect } from '../engine/types.ts';
import type { TrafficRouting } from './traffic.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const RUNS = { group: GROUP, version: VERSION, plural: 'analysisruns' } as const;

/** The controller reference every child of a Rollout carries. */
function ownerReference(rollout: Rollout): { apiVersion: string; kind: string; name: string; uid: string; controller: true; blockOwnerDeletion: true } {
  return { apiVersion: API_VERSION, kind: 'Rollout', name: rollout.metadata.name ?? '', uid: rollout.metadata.uid ?? '', controller: true, blockOwnerDeletion: true };
}
/** The Rollout controller's field manager: what it writes (ReplicaSets, selector hashes, route weights) is told apart from Git sync's "weir" in managedFields. */
export const FIELD_MANAGER = 'weir-rollouts';

export class EffectApplier {
  readonly #apps: AppsV1Api;
  readonly #core: CoreV1Api;
  readonly #custom: CustomObjectsApi;
  readonly #events: EventRecorder;
  readonly #traffic: TrafficRouting;

  constructor(kc: KubeConfig, events: EventRecorder, traffic: TrafficRouting) {
    this.#traffic = traffic;
    this.#apps = kc.makeApiClient(AppsV1Api);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#events = events;
  }

  async apply(rollout: Rollout, effect: Effect): Promise<void> {
    const namespace = rollout.metadata.namespace ?? 'default';
    switch (effect.type) {
      case 'createReplicaSet':
        return this.#createReplicaSet(rollout, namespace, effect);
      case 'scaleReplicaSet': {
        const metadata = effect.annotations ? { annotations: effect.annotations } : undefined;
        const template = effect.podMetadata ? { template: { metadata: effect.podMetadata } } : {};
        await this.#apps.patchNamespacedReplicaSet(
          { name: effect.name, namespace, fieldManager: FIELD_MANAGER, body: { ...(metadata ? { metadata } : {}), spec: { replicas: effect.replicas, ...template } } },
          mergePatch,
        );
        return;
      }
      case 'deleteReplicaSet':
        try {
          await this.#apps.deleteNamespacedReplicaSet({ name: effect.name, namespace, body: { propagationPolicy: 'Background' } });
        } catch (err) {
          if (kubeErrorCode(err) !== 404) throw err;
        }
        return;
      case 'evictPod':
        try {
          // policy/v1 Eviction (Kubernetes 1.22+), policy/v1beta1 before.
          await this.#core.createNamespacedPodEviction({ name: effect.name, namespace, body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: effect.name, namespace } } }).catch(async (err: unknown) => {
            if (kubeErrorCode(err) !== 400) throw err;
            await this.#core.createNamespacedPodEviction({ name: effect.name, namespace, body: { apiVersion: 'policy/v1beta1', kind: 'Eviction', metadata: { name: effect.name, namespace } } });
          });
        } catch (err) {
          // Gone already, or a PodDisruptionBudget says not now (429): the next reconcile tries again.
          const code = kubeErrorCode(err);
          if (code !== 404 && code !== 429) throw err;
        }
        return;
      case 'patchPodMetadata':
        try {
          await this.#core.patchNamespacedPod(
            { name: effect.name, namespace, fieldManager: FIELD_MANAGER, body: { metadata: { ...(effect.labels ? { labels: effect.labels } : {}), ...(effect.annotations ? { annotations: effect.annotations } : {}) } } },
            mergePatch,
          );
        } catch (err) {
          if (kubeErrorCode(err) !== 404) throw err; // gone: nothing to label
        }
        return;
      case 'setServiceSelector':
        await this.#core.patchNamespacedService(
          { name: effect.service, namespace, fieldManager: FIELD_MANAGER, body: { spec: { selector: { [POD_TEMPLATE_HASH_LABEL]: effect.podTemplateHash } } } },
          mergePatch,
        );
        return;
      case 'setTraffic':
        return this.#traffic.apply(rollout, effect.intent, { stable: effect.stableHash, canary: effect.canaryHash });
      case 'createAnalysisRun':
        return this.#createAnalysisRun(rollout, namespace, effect);
      case 'terminateAnalysisRun':
        try {
          await this.#custom.patchNamespacedCustomObject({ ...RUNS, namespace, name: effect.name, body: { spec: { terminate: true } } }, mergePatch);
        } catch (err) {
          if (kubeErrorCode(err) !== 404) throw err;
        }
        return;
      case 'deleteAnalysisRun':
        try {
          await this.#custom.deleteNamespacedCustomObject({ ...RUNS, namespace, name: effect.name });
        } catch (err) {
          if (kubeErrorCode(err) !== 404) throw err;
        }
        return;
      case 'event':
        return this.#events.record({ apiVersion: API_VERSION, kind: 'Rollout', metadata: rollout.metadata }, effect.eventType, effect.reason, effect.message);
    }
  }

  async #createReplicaSet(rollout: Rollout, namespace: string, effect: Extract<Effect, { type: 'createReplicaSet' }>): Promise<void> {
    const templateMeta = (effect.template.metadata ?? {}) as { labels?: Record<string, string> };
    const body: V1ReplicaSet = {
      apiVersion: 'apps/v1',
      kind: 'ReplicaSet',
      metadata: {
        name: effect.name,
        namespace,
        labels: { ...templateMeta.labels, [POD_TEMPLATE_HASH_LABEL]: effect.podTemplateHash },
        annotations: { [REVISION_ANNOTATION]: String(effect.revision) },
        ownerReferences: [ownerReference(rollout)],
      },
      spec: {
        replicas: effect.replicas,
        minReadySeconds: effect.minReadySeconds,
        selector: effect.selector,
        // The engine hands over the Rollout's core/v1 PodTemplateSpec as plain JSON.
        template: effect.template,
      },
    };
    try {
      await this.#apps.createNamespacedReplicaSet({ namespace, body, fieldManager: FIELD_MANAGER });
    } catch (err) {
      if (kubeErrorCode(err) !== 409) throw err;
      // Already there (a retried reconcile): adopt it if it is ours, and scale it.
      const existing = await this.#apps.readNamespacedReplicaSet({ name: effect.name, namespace });
      const owner = existing.metadata?.ownerReferences?.find((o) => o.controller === true);
      if (owner?.uid !== rollout.metadata.uid) {
        throw new Error(`ReplicaSet ${namespace}/${effect.name} exists and is not owned by rollout ${rollout.metadata.name ?? ''}`, { cause: err });
      }
      if (existing.spec?.replicas !== effect.replicas) {
        await this.#apps.patchNamespacedReplicaSet({ name: effect.name, namespace, body: { spec: { replicas: effect.replicas } } }, mergePatch);
      }
    }
  }

  async #createAnalysisRun(rollout: Rollout, namespace: string, effect: Extract<Effect, { type: 'createAnalysisRun' }>): Promise<void> {
    const body = {
      ...effect.run,
      metadata: { ...effect.run.metadata, namespace, ownerReferences: [ownerReference(rollout)] },
    };
    try {
      await this.#custom.createNamespacedCustomObject({ ...RUNS, namespace, body, fieldManager: FIELD_MANAGER });
    } catch (err) {
      if (kubeErrorCode(err) !== 409) throw err;
      // Already there: the cache had not seen our own create yet. Adopt it only if it is ours.
      const existing = (await this.#custom.getNamespacedCustomObject({ ...RUNS, namespace, name: effect.run.metadata.name })) as {
        metadata?: { ownerReferences?: { controller?: boolean; uid?: string }[] };
      };
      const owner = existing.metadata?.ownerReferences?.find((o) => o.controller === true);
      if (owner?.uid !== rollout.metadata.uid) {
        throw new Error(`AnalysisRun ${namespace}/${effect.run.metadata.name} exists and is not owned by rollout ${rollout.metadata.name ?? ''}`, { cause: err });
      }
    }
  }
}
