// What both strategies do with ReplicaSets: find the one of a template, the
// revision a template gets, create one from the Rollout's template, scale one
// (with annotations), count what is observed, and delete old ones beyond
// revisionHistoryLimit.
import type { CanaryStrategy, Rollout } from '../api/rollout.ts';

type PodMetadata = CanaryStrategy['canaryMetadata'];
import { byCreation } from './replicas.ts';
import { POD_TEMPLATE_HASH_LABEL, type Effect, type ObservedReplicaSet } from './types.ts';

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
