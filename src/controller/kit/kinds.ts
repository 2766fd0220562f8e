// The kinds Weir's controllers watch, each as its informer lists and caches
// it, with the type of the objects the cache holds. One definition per kind:
// every controller that reads a kind names the same one, so the process's
// InformerCache watches it once.
import { AppsV1Api, CoreV1Api, CustomObjectsApi, type KubernetesListObject, type KubernetesObject, type V1Pod, type V1ReplicaSet, type V1Service } from '@kubernetes/client-node';
import type { AnalysisRun, AnalysisTemplateSpec } from '../../api/analysis.ts';
import { GROUP, VERSION } from '../../api/common.ts';
import type { GitSource } from '../../api/gitsource.ts';
import type { Rollout } from '../../api/rollout.ts';
import type { Kind } from '../../cluster/informer-cache.ts';
import { POD_TEMPLATE_HASH_LABEL } from '../../engine/types.ts';
import { routerKinds, type TrafficObject, type TrafficObjectRef } from '../../traffic/index.ts';

export interface OwnerReference {
  controller?: boolean;
  kind: string;
  apiVersion: string;
  name: string;
  uid: string;
}

/** A Rollout as stored: the schema's type with room for what the API server adds. */
export type RolloutObject = Rollout & { metadata: Rollout['metadata'] & { uid?: string; generation?: number } };
export type GitSourceObject = GitSource & { metadata: GitSource['metadata'] & { uid?: string; generation?: number } };
export type AnalysisRunObject = AnalysisRun & {
  metadata: { name?: string; namespace?: string; uid?: string; creationTimestamp?: Date; ownerReferences?: OwnerReference[] };
};
export type AnalysisTemplateObject = { metadata: { name?: string; namespace?: string }; spec: AnalysisTemplateSpec };

/** A kind served through CustomObjectsApi (Weir's own, Gateway API). */
function customKind<T extends KubernetesObject>(group: string, version: string, plural: string, opts: { clusterScoped?: boolean } = {}): Kind<T> {
  const ref = { group, version, plural };
  return {
    plural,
    apiPath: `/apis/${group}/${version}`,
    ...(opts.clusterScoped === true ? { clusterScoped: true } : {}),
    lister(kc, namespace) {
      const custom = kc.makeApiClient(CustomObjectsApi);
      return async () =>
        (namespace !== undefined ? await custom.listNamespacedCustomObject({ ...ref, namespace }) : await custom.listClusterCustomObject(ref)) as KubernetesListObject<T>;
    },
  };
}

export const ROLLOUTS: Kind<RolloutObject> = customKind(GROUP, VERSION, 'rollouts');
export const ANALYSIS_RUNS: Kind<AnalysisRunObject> = customKind(GROUP, VERSION, 'analysisruns');
export const ANALYSIS_TEMPLATES: Kind<AnalysisTemplateObject> = customKind(GROUP, VERSION, 'analysistemplates');
/** Not watched in namespaced mode (no cluster-wide read there). */
export const CLUSTER_ANALYSIS_TEMPLATES: Kind<AnalysisTemplateObject> = customKind(GROUP, VERSION, 'clusteranalysistemplates', { clusterScoped: true });
export const GIT_SOURCES: Kind<GitSourceObject> = customKind(GROUP, VERSION, 'gitsources');
/** An object of a traffic router's kind (HTTPRoute, Ingress, VirtualService, ...). */
export type TrafficObjectOf = TrafficObject & KubernetesObject & { metadata: TrafficObject['metadata'] };

/** The kinds the traffic routers read and write, each with its informer's Kind. Optional: a router's CRDs may not be installed. */
export const TRAFFIC_KINDS: readonly { ref: Pick<TrafficObjectRef, 'apiVersion' | 'kind' | 'plural'>; kind: Kind<TrafficObjectOf> }[] = routerKinds().map((ref) => {
  const slash = ref.apiVersion.lastIndexOf('/');
  return { ref, kind: customKind<TrafficObjectOf>(ref.apiVersion.slice(0, slash), ref.apiVersion.slice(slash + 1), ref.plural) };
});

/** Only the ReplicaSets of Rollouts (they carry the pod-template-hash label). */
export const REPLICA_SETS: Kind<V1ReplicaSet> = {
  plural: 'replicasets',
  apiPath: '/apis/apps/v1',
  labelSelector: POD_TEMPLATE_HASH_LABEL,
  lister(kc, namespace) {
    const apps = kc.makeApiClient(AppsV1Api);
    const labelSelector = POD_TEMPLATE_HASH_LABEL;
    return () => (namespace !== undefined ? apps.listNamespacedReplicaSet({ namespace, labelSelector }) : apps.listReplicaSetForAllNamespaces({ labelSelector }));
  },
};

/** Only the pods of Rollouts' ReplicaSets. */
export const PODS: Kind<V1Pod> = {
  plural: 'pods',
  apiPath: '/api/v1',
  labelSelector: POD_TEMPLATE_HASH_LABEL,
  lister(kc, namespace) {
    const core = kc.makeApiClient(CoreV1Api);
    const labelSelector = POD_TEMPLATE_HASH_LABEL;
    return () => (namespace !== undefined ? core.listNamespacedPod({ namespace, labelSelector }) : core.listPodForAllNamespaces({ labelSelector }));
  },
};

export const SERVICES: Kind<V1Service> = {
  plural: 'services',
  apiPath: '/api/v1',
  lister(kc, namespace) {
    const core = kc.makeApiClient(CoreV1Api);
    return () => (namespace !== undefined ? core.listNamespacedService({ namespace }) : core.listServiceForAllNamespaces());
  },
};
