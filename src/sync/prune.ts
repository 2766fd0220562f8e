// Pruning: deleting what a source applied before and no longer has in Git.
// Only objects that still carry this source's label are deleted, so an
// object someone else took over (or that was never ours) is left alone.
//
// toPrune is pure. It orders deletions the reverse of applying (everything
// else, then Namespaces, then CustomResourceDefinitions) and never prunes a
// Namespace or CRD that objects still in Git need: deleting a Namespace
// deletes everything in it, and deleting a CRD deletes every object of its
// kind in the cluster.
import { KubeConfig, KubernetesObjectApi, type KubernetesObject, type V1DeleteOptions } from '@kubernetes/client-node';
import { kubeErrorCode, describeKubeError } from '../cluster/errors.ts';
import { SOURCE_LABEL, sourceLabelValue } from './apply.ts';
import { CRD_API_GROUP, isNamespace } from './prepare.ts';
import { formatRef, groupOf, isRecord, refKey, type ObjectRef, type SourceRef } from './types.ts';

/** What pruneObjects needs of a client: KubernetesObjectApi (and so ObjectApplier) has it. */
export interface PruneClient {
  read(header: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): Promise<KubernetesObject>;
  delete(
    spec: KubernetesObject,
    pretty?: string,
    dryRun?: string,
    gracePeriodSeconds?: number,
    orphanDependents?: boolean,
    propagationPolicy?: string,
    body?: V1DeleteOptions,
  ): Promise<unknown>;
}

export interface PruneResult {
  /** Deleted, or already gone. */
  deleted: ObjectRef[];
  /** Left alone, with why (not labelled as this source's). */
  kept: { ref: ObjectRef; reason: string }[];
  /** Could not be deleted: keep them in the inventory and try again. */
  failed: { ref: ObjectRef; message: string }[];
}

function isCrdRef(ref: ObjectRef): boolean {
  return groupOf(ref.apiVersion) === CRD_API_GROUP && ref.kind === 'CustomResourceDefinition';
}

/**
 * The objects of the old inventory that are not in the desired set (by
 * group, kind, namespace and name), in the order to delete them. A
 * Namespace that desired objects are in, and a CRD named `<plural>.<group>`
 * whose group desired objects use, are kept. Pure.
 */
export function toPrune(inventory: readonly ObjectRef[], desired: readonly ObjectRef[]): ObjectRef[] {
  const wanted = new Set(desired.map(refKey));
  const usedNamespaces = new Set(desired.map((r) => r.namespace).filter((n): n is string => n !== undefined));
  const usedGroups = new Set(desired.map((r) => groupOf(r.apiVersion)).filter((g) => g !== ''));
  const seen = new Set<string>();
  const out: ObjectRef[] = [];
  for (const ref of inventory) {
    const key = refKey(ref);
    if (wanted.has(key) || seen.has(key)) continue;
    seen.add(key);
    if (isNamespace(ref) && usedNamespaces.has(ref.name)) continue;
    if (isCrdRef(ref) && usedGroups.has(ref.name.slice(ref.name.indexOf('.') + 1))) continue;
    out.push(ref);
  }
  const rank = (r: ObjectRef): number => (isCrdRef(r) ? 2 : isNamespace(r) ? 1 : 0);
  return out.map((ref, i) => ({ ref, i })).sort((a, b) => rank(a.ref) - rank(b.ref) || a.i - b.i).map((e) => e.ref);
}

function header(ref: ObjectRef): { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } } {
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }) } };
}

type Outcome = { deleted: true } | { kept: string } | { failed: string };

async function pruneOne(client: PruneClient, ref: ObjectRef, label: string): Promise<Outcome> {
  // A precondition on uid and resourceVersion makes sure what is deleted is what was checked; on a conflict, look again.
  for (let attempt = 0; attempt < 3; attempt++) {
    let live: KubernetesObject;
    try {
      live = await client.read(header(ref));
    } catch (err) {
      if (kubeErrorCode(err) === 404) return { deleted: true };
      return { failed: describeKubeError(err) };
    }
    const metadata = isRecord(live.metadata) ? live.metadata : {};
    const labels = isRecord(metadata.labels) ? metadata.labels : {};
    const owner = labels[SOURCE_LABEL];
    if (owner !== label) {
      return { kept: owner === undefined ? `it has no ${SOURCE_LABEL} label` : `its ${SOURCE_LABEL} label is ${JSON.stringify(owner)}, not ${JSON.stringify(label)}` };
    }
    if (metadata.deletionTimestamp !== undefined && metadata.deletionTimestamp !== null) return { deleted: true };
    const preconditions = {
      ...(typeof metadata.uid === 'string' ? { uid: metadata.uid } : {}),
      ...(typeof metadata.resourceVersion === 'string' ? { resourceVersion: metadata.resourceVersion } : {}),
    };
    try {
      await client.delete(header(ref), undefined, undefined, undefined, undefined, 'Background', { preconditions, propagationPolicy: 'Background' });
      return { deleted: true };
    } catch (err) {
      const code = kubeErrorCode(err);
      if (code === 404) return { deleted: true };
      if (code !== 409) return { failed: describeKubeError(err) };
    }
  }
  return { failed: `${formatRef(ref)} kept changing while being pruned` };
}

/**
 * Deletes the objects (Background propagation) that still carry `source`'s
 * label; ones already gone count as deleted. Never throws: failures are in
 * the result.
 */
export async function pruneObjects(client: PruneClient | KubeConfig, refs: readonly ObjectRef[], source: SourceRef): Promise<PruneResult> {
  const api: PruneClient = client instanceof KubeConfig ? KubernetesObjectApi.makeApiClient(client) : client;
  const label = sourceLabelValue(source);
  const result: PruneResult = { deleted: [], kept: [], failed: [] };
  for (const ref of refs) {
    const outcome = await pruneOne(api, ref, label);
    if ('deleted' in outcome) result.deleted.push(ref);
    else if ('kept' in outcome) result.kept.push({ ref, reason: outcome.kept });
    else result.failed.push({ ref, message: outcome.failed });
  }
  return result;
}
