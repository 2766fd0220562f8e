// What both strategies do with ReplicaSets: find the one of a template, the
// revision a template gets, create one from the Rollout's template, scale one
// (with annotations), count what is observed, and delete old ones beyond
// revisionHistoryLimit.
import type { CanaryStrategy, Rollout } from '../api/rollout.ts';

type PodMetadata = CanaryStrategy['canaryMetadata'];
import { byCreation } from './replicas.ts';
import { POD_TEMPLATE_HASH_LABEL, type Effect, type ObservedPod, type ObservedReplicaSet } from './types.ts';

export const DEFAULT_REVISION_HISTORY_LIMIT = 10;

/** The ReplicaSet of a pod-template hash (one not being deleted first). */
export function findRS(replicaSets: readonly ObservedReplicaSet[], hash: string | undefined): ObservedReplicaSet | undefined {
  if (hash === undefined) return undefined;
  return replicaSets.find((rs) => rs.podTemplateHash === hash && !rs.deleting) ?? replicaSets.find((rs) => rs.podTemplateHash === hash);
}

/** The revision of the desired template: its ReplicaSet's when that is the newest, else one past the newest (a rollback gets a new number). */
export function desiredRevision(replicaSets: readonly ObservedReplicaSet[], newRS: ObservedReplicaSet | undefined): { revision: number; maxRevision: number } {
  const maxRevision = replicaSets.reduce((m, rs) => Math.max(m, rs.revision), 0);
  const revision = newRS !== undefined && newRS.revision >= maxRevision && newRS.revision > 0 ? newRS.revision : maxRevision + 1;
  return { revision, maxRevision };
}

/** A scale effect when the replicas or annotations differ from what is observed. */
export function pushScale(effects: Effect[], rs: ObservedReplicaSet, replicas: number, annotations: Record<string, string | null>): void {
  const hasAnnotations = Object.keys(annotations).length > 0;
  if (rs.replicas === replicas && !hasAnnotations) return;
  effects.push({ type: 'scaleReplicaSet', name: rs.name, replicas, ...(hasAnnotations ? { annotations } : {}) });
}

/** A ReplicaSet of the Rollout's template: the hash label, the strategy's extra pod metadata, the Rollout's selector plus the hash. */
export function createReplicaSetEffect(rollout: Rollout, hash: string, replicas: number, revision: number, extra: PodMetadata | undefined): Effect {
  const template = structuredClone(rollout.spec.template ?? {}) as { metadata?: { labels?: Record<string, string>; annotations?: Record<string, string> } };
  const metadata = { ...(template.metadata ?? {}) };
  metadata.labels = { ...(metadata.labels ?? {}), ...(extra?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash };
  const annotations = { ...(metadata.annotations ?? {}), ...(extra?.annotations ?? {}) };
  if (Object.keys(annotations).length > 0) metadata.annotations = annotations;
  template.metadata = metadata;
  const selector = rollout.spec.selector ?? {};
  return {
    type: 'createReplicaSet',
    name: `${rollout.metadata.name ?? 'rollout'}-${hash}`,
    podTemplateHash: hash,
    replicas,
    revision,
    template,
    selector: { ...selector, matchLabels: { ...(selector.matchLabels ?? {}), [POD_TEMPLATE_HASH_LABEL]: hash } },
    minReadySeconds: rollout.spec.minReadySeconds ?? 0,
  };
}

/** Pods of all the Rollout's ReplicaSets, and of the desired one (updated). */
export function observedCounts(
  replicaSets: readonly ObservedReplicaSet[],
  newRS: ObservedReplicaSet | undefined,
): { replicas: number; updatedReplicas: number; readyReplicas: number; availableReplicas: number } {
  let replicas = 0;
  let ready = 0;
  let available = 0;
  for (const rs of replicaSets) {
    replicas += rs.currentReplicas;
    ready += rs.readyReplicas;
    available += rs.availableReplicas;
  }
  return { replicas, updatedReplicas: newRS?.currentReplicas ?? 0, readyReplicas: ready, availableReplicas: available };
}

/** Old ReplicaSets beyond revisionHistoryLimit, oldest first, once scaled to 0 (Argo's reconcileRevisionHistoryLimit). */
export function historyLimitDeletes(rollout: Rollout, others: readonly ObservedReplicaSet[]): Effect[] {
  const limit = rollout.spec.revisionHistoryLimit ?? DEFAULT_REVISION_HISTORY_LIMIT;
  const cleanable = others.filter((rs) => !rs.deleting).sort(byCreation);
  const diff = cleanable.length - limit;
  const effects: Effect[] = [];
  for (const rs of cleanable.slice(0, Math.max(0, diff))) {
    if (rs.replicas !== 0 || rs.currentReplicas !== 0) continue;
    effects.push({ type: 'deleteReplicaSet', name: rs.name });
  }
  return effects;
}

/** What differs between wanted metadata and what is there: keys to set, and managed keys to remove (null). */
function metadataChanges(
  wanted: Record<string, string> | undefined,
  managed: ReadonlySet<string>,
  current: Record<string, string> | undefined,
): Record<string, string | null> | undefined {
  const out: Record<string, string | null> = {};
  for (const [k, v] of Object.entries(wanted ?? {})) if (current?.[k] !== v) out[k] = v;
  for (const k of managed) if (wanted?.[k] === undefined && current?.[k] !== undefined) out[k] = null;
  return Object.keys(out).length > 0 ? out : undefined;
}

/**
 * Ephemeral pod metadata (Argo's canary/stable and preview/active metadata):
 * each ReplicaSet's pod template and running pods carry the labels and
 * annotations of its current role, and lose those of a role it no longer has
 * (a canary promoted to stable, a preview switched to active). `roles` maps a
 * pod-template hash to its role's metadata; hashes not in it carry none of
 * the managed keys. The pod-template-hash label is never touched.
 */
export function withEphemeralMetadata(
  effects: readonly Effect[],
  replicaSets: readonly ObservedReplicaSet[],
  pods: readonly ObservedPod[] | undefined,
  roles: ReadonlyMap<string, PodMetadata>,
  all: readonly PodMetadata[],
): Effect[] {
  const managedLabels = new Set(all.flatMap((m) => Object.keys(m?.labels ?? {})).filter((k) => k !== POD_TEMPLATE_HASH_LABEL));
  const managedAnnotations = new Set(all.flatMap((m) => Object.keys(m?.annotations ?? {})));
  if (managedLabels.size === 0 && managedAnnotations.size === 0) return [...effects];
  const out = [...effects];
  for (const rs of replicaSets) {
    if (rs.deleting || rs.podLabels === undefined) continue;
    const meta = roles.get(rs.podTemplateHash);
    const wantedLabels = Object.fromEntries(Object.entries(meta?.labels ?? {}).filter(([k]) => k !== POD_TEMPLATE_HASH_LABEL));
    const labels = metadataChanges(wantedLabels, managedLabels, rs.podLabels);
    const annotations = metadataChanges(meta?.annotations, managedAnnotations, rs.podAnnotations);
    if (labels !== undefined || annotations !== undefined) {
      const podMetadata = { ...(labels ? { labels } : {}), ...(annotations ? { annotations } : {}) };
      // One write per ReplicaSet: join the scale this plan already makes of it, if any.
      const i = out.findIndex((e) => e.type === 'scaleReplicaSet' && e.name === rs.name);
      const scale = out[i];
      if (scale?.type === 'scaleReplicaSet') out[i] = { ...scale, podMetadata };
      else out.push({ type: 'scaleReplicaSet', name: rs.name, replicas: rs.replicas, podMetadata });
    }
    for (const pod of pods ?? []) {
      if (pod.podTemplateHash !== rs.podTemplateHash || pod.deleting || pod.labels === undefined) continue;
      const podLabels = metadataChanges(wantedLabels, managedLabels, pod.labels);
      const podAnnotations = metadataChanges(meta?.annotations, managedAnnotations, pod.annotations);
      if (podLabels !== undefined || podAnnotations !== undefined) {
        out.push({ type: 'patchPodMetadata', name: pod.name, ...(podLabels ? { labels: podLabels } : {}), ...(podAnnotations ? { annotations: podAnnotations } : {}) });
      }
    }
  }
  return out;
}
