// Applying a validated commit: CustomResourceDefinitions first, then
// Namespaces, then everything else in file order; each object labelled with
// its source and annotated with the commit, and applied with server-side
// apply as Weir's field manager. An object of a kind a CRD in the same
// commit defines waits for that CRD to be Established. The first failure
// stops the apply, naming the file and object; what was applied before it
// is in the error, for the inventory.
import { createHash } from 'node:crypto';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ApplyOptions } from '../cluster/apply.ts';
import { describeKubeError, kubeErrorInfo } from '../cluster/errors.ts';
import { MANAGED_BY, MANAGED_BY_LABEL, SOURCE_LABEL } from '../api/common.ts';
import { GIT_REVISION_ANNOTATION } from '../engine/types.ts';
import { GiveUp, waitFor } from '../util/wait.ts';
import { crdDefines, isCrd, isNamespace } from './prepare.ts';
import { FIELD_MANAGER } from './validate.ts';
import { formatRef, groupOf, isRecord, refOf, type ObjectRef, type SourceRef, type SyncDocument, type SyncObject } from './types.ts';

/** SOURCE_LABEL is on every object Weir applies: `<namespace>.<name>` of its GitSource. Pruning deletes only objects that carry it. */
export { GIT_REVISION_ANNOTATION, MANAGED_BY, MANAGED_BY_LABEL, SOURCE_LABEL };

/** What applyDocuments needs of a client: ObjectApplier has it. */
export interface Applier {
  apply(obj: KubernetesObject, opts: ApplyOptions): Promise<KubernetesObject>;
  read(header: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): Promise<KubernetesObject>;
}

export interface DecorateOptions {
  source: SourceRef;
  /** The commit being applied. */
  revision: string;
}

export interface ApplyDocumentsOptions {
  /** Decorate each object first (decorate); leave out when the documents are decorated already. */
  decorate?: DecorateOptions;
  /** Default "weir". */
  fieldManager?: string;
  /** How long to wait for a CRD to be Established, and for its kind to be served (default 60 s). */
  crdTimeoutMs?: number;
  signal?: AbortSignal;
}

/**
 * The value of SOURCE_LABEL for a source: `<namespace>.<name>` (a namespace
 * has no dots, so this is unambiguous), or, when that exceeds a label
 * value's 63 characters, its start and a hash of the whole.
 */
export function sourceLabelValue(source: SourceRef): string {
  const full = `${source.namespace}.${source.name}`;
  if (full.length <= 63) return full;
  const hash = createHash('sha256').update(full).digest('hex').slice(0, 10);
  const start = full.slice(0, 63 - hash.length - 1).replace(/[^A-Za-z0-9]+$/, '');
  return `${start}-${hash}`;
}

function rank(obj: { apiVersion: string; kind: string }): number {
  if (isCrd(obj)) return 0;
  if (isNamespace(obj)) return 1;
  return 2;
}

/** CustomResourceDefinitions first, then Namespaces, then everything else, each group in the given order. Pure. */
export function orderForApply<T extends { object: { apiVersion: string; kind: string } }>(documents: readonly T[]): T[] {
  return documents
    .map((doc, i) => ({ doc, i, rank: rank(doc.object) }))
    .sort((a, b) => a.rank - b.rank || a.i - b.i)
    .map((e) => e.doc);
}

function stringMap(value: unknown): Record<string, string> {
  if (!isRecord(value)) return {};
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(value)) if (typeof v === 'string') out[k] = v;
  return out;
}

/**
 * A copy of `obj` labelled with its source (SOURCE_LABEL, MANAGED_BY_LABEL)
 * and annotated with the commit (GIT_REVISION_ANNOTATION, which the engine
 * reads on Rollouts). Pure; decorating twice gives the same object.
 */
export function decorate<T extends SyncObject>(obj: T, opts: DecorateOptions): T {
  const copy = structuredClone(obj);
  copy.metadata.labels = { ...stringMap(obj.metadata.labels), [SOURCE_LABEL]: sourceLabelValue(opts.source), [MANAGED_BY_LABEL]: MANAGED_BY };
  copy.metadata.annotations = { ...stringMap(obj.metadata.annotations), [GIT_REVISION_ANNOTATION]: opts.revision };
  return copy;
}

export function decorateDocuments(documents: readonly SyncDocument[], opts: DecorateOptions): SyncDocument[] {
  return documents.map((doc) => ({ ...doc, object: decorate(doc.object, opts) }));
}

/** Applying stopped at `document`: the API server refused it (or its CRD never became Established). */
export class ApplyError extends Error {
  override name = 'ApplyError';
  readonly document: SyncDocument;
  readonly ref: ObjectRef;
  /** Objects applied before the failure (they are in the cluster now). */
  readonly applied: ObjectRef[];
  constructor(message: string, document: SyncDocument, ref: ObjectRef, applied: ObjectRef[], cause: unknown) {
    super(message, { cause });
    this.document = document;
    this.ref = ref;
    this.applied = applied;
  }
}

function established(crd: unknown): boolean {
  const conditions = isRecord(crd) && isRecord(crd.status) && Array.isArray(crd.status.conditions) ? crd.status.conditions : [];
  return conditions.some((c: unknown) => isRecord(c) && c.type === 'Established' && c.status === 'True');
}

/** Whether an apply failed because the kind is not served (yet): discovery has not caught up with a new CRD. */
function unserved(err: unknown): boolean {
  const info = kubeErrorInfo(err);
  return (info.code === undefined && info.message.startsWith("Unrecognized API version and kind")) || (info.code === 404 && info.reason === undefined);
}

/**
 * Applies the documents in orderForApply's order (decorated first when
 * `opts.decorate` is given) and returns what was applied, in that order.
 * Stops at the first failure with an ApplyError naming the file, line and
 * object.
 */
export async function applyDocuments(applier: Applier, documents: readonly SyncDocument[], opts: ApplyDocumentsOptions): Promise<ObjectRef[]> {
  const fieldManager = opts.fieldManager ?? FIELD_MANAGER;
  const timeoutMs = opts.crdTimeoutMs ?? 60_000;
  /** CRDs applied here and not yet seen Established, by the `group/Kind` they define. */
  const pendingCrds = new Map<string, string>();
  const applied: ObjectRef[] = [];
  for (const doc of orderForApply(documents)) {
    const obj = opts.decorate ? decorate(doc.object, opts.decorate) : doc.object;
    const ref = refOf(obj);
    const where = `${doc.file}:${doc.line}: ${formatRef(ref)}`;
    const groupKind = `${groupOf(obj.apiVersion)}/${obj.kind}`;
    const crdName = pendingCrds.get(groupKind);
    if (crdName !== undefined) {
      try {
        await waitFor(
          async () => {
            const crd = await applier.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: crdName } });
            return established(crd);
          },
          { what: `CustomResourceDefinition ${crdName} to be Established`, timeoutMs, intervalMs: 200, ...(opts.signal ? { signal: opts.signal } : {}) },
        );
      } catch (err) {
        throw new ApplyError(`${where}: not applied: ${err instanceof Error ? err.message : String(err)}`, doc, ref, [...applied], err);
      }
      pendingCrds.delete(groupKind);
    }
    let result: KubernetesObject;
    try {
      // Right after its CRD is Established a kind can take a moment to appear in discovery.
      const deadline = crdName === undefined ? 0 : Date.now() + timeoutMs;
      result = await waitFor(
        async () => {
          try {
            // A copy: the client fills in defaults (namespace, apiVersion) in what it is given.
            return await applier.apply(structuredClone(obj), { fieldManager, force: true });
          } catch (err) {
            if (unserved(err) && Date.now() < deadline) throw err; // try again
            throw new GiveUp(describeKubeError(err), { cause: err });
          }
        },
        { what: `${formatRef(ref)} to be applied`, timeoutMs: Math.max(0, deadline - Date.now()), intervalMs: 200, ...(opts.signal ? { signal: opts.signal } : {}) },
      );
    } catch (err) {
      const cause = err instanceof GiveUp ? err.cause : err;
      throw new ApplyError(`${where}: apply failed: ${describeKubeError(cause)}`, doc, ref, [...applied], cause);
    }
    const metadata = isRecord(result.metadata) ? result.metadata : {};
    const namespace = typeof metadata.namespace === 'string' && metadata.namespace !== '' ? metadata.namespace : ref.namespace;
    applied.push({ apiVersion: ref.apiVersion, kind: ref.kind, ...(namespace === undefined ? {} : { namespace }), name: ref.name });
    if (isCrd(obj)) {
      const defined = crdDefines(obj);
      const name = obj.metadata.name;
      if (defined && !established(result)) pendingCrds.set(defined.groupKind, name);
    }
  }
  return applied;
}
