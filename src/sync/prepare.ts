// Turning documents from Git into the objects Weir applies, before they are
// validated: argoproj.io kinds become their weir.dev counterparts, and
// namespaced objects without a namespace get the GitSource's.
//
// Namespaces: a namespaced object without metadata.namespace lands in the
// GitSource's namespace, as `kubectl apply -n <ns>` would put it; a
// cluster-scoped object never gets one (a namespace in it is removed: the
// API server refuses a Namespace whose body names a namespace). Which kinds
// are namespaced comes from the CustomResourceDefinitions in the same set
// (their spec.scope) and otherwise from API discovery. Leaving the namespace
// unset for the server to fill in is not an option: the request path needs
// one, and client libraries fill in their own default ("default" or the
// kubeconfig's), not the GitSource's.
import { convertArgoObject, isArgoKind } from '../api/convert.ts';
import { lineOf } from '../api/manifests.ts';
import { withApplyDefaults } from './defaults.ts';
import { groupOf, isRecord, type SyncDocument, type SyncObject, type SyncProblem } from './types.ts';

/** Whether a kind is namespaced: true/false, or undefined when the API server does not serve it. */
export type ScopeLookup = (apiVersion: string, kind: string) => Promise<boolean | undefined>;

export interface PrepareOptions {
  /** The GitSource's namespace: where namespaced objects without a namespace go. */
  namespace: string;
  /** API discovery (SyncClient.isNamespaced). Throws only when discovery itself fails. */
  namespaced: ScopeLookup;
}

export interface PreparedDocuments {
  documents: SyncDocument[];
  problems: SyncProblem[];
}

export const CRD_API_GROUP = 'apiextensions.k8s.io';

export function isCrd(obj: { apiVersion: string; kind: string }): boolean {
  return groupOf(obj.apiVersion) === CRD_API_GROUP && obj.kind === 'CustomResourceDefinition';
}

export function isNamespace(obj: { apiVersion: string; kind: string }): boolean {
  return obj.apiVersion === 'v1' && obj.kind === 'Namespace';
}

/** The kind a CRD defines, `group/Kind`, and whether it is namespaced; undefined for a CRD missing those fields. */
export function crdDefines(obj: SyncObject): { groupKind: string; namespaced: boolean } | undefined {
  const spec = obj.spec;
  if (!isRecord(spec) || typeof spec.group !== 'string' || !isRecord(spec.names) || typeof spec.names.kind !== 'string') return undefined;
  return { groupKind: `${spec.group}/${spec.names.kind}`, namespaced: spec.scope !== 'Cluster' };
}

/** `group/Kind` of each CustomResourceDefinition in the documents, with its scope. */
export function kindsDefinedBy(documents: readonly SyncDocument[]): Map<string, boolean> {
  const kinds = new Map<string, boolean>();
  for (const doc of documents) {
    if (!isCrd(doc.object)) continue;
    const defined = crdDefines(doc.object);
    if (defined) kinds.set(defined.groupKind, defined.namespaced);
  }
  return kinds;
}

/**
 * The documents as Weir applies them: argoproj.io kinds converted to
 * weir.dev, namespaces defaulted or removed by scope, and the defaults
 * server-side apply needs filled in (withApplyDefaults). Objects of kinds the
 * API server does not serve and no CRD in the set defines are problems (at
 * their `kind` line) and left out. The input is not modified. Throws only
 * when `namespaced` throws (discovery failed: nothing is known about the
 * commit then).
 */
export async function prepareDocuments(documents: readonly SyncDocument[], opts: PrepareOptions): Promise<PreparedDocuments> {
  const fromSet = kindsDefinedBy(documents);
  const discovered = new Map<string, Promise<boolean | undefined>>();
  const out: SyncDocument[] = [];
  const problems: SyncProblem[] = [];
  for (const doc of documents) {
    const object = (isArgoKind(doc.object) ? convertArgoObject(doc.object) : doc.object) as SyncObject;
    const { apiVersion, kind } = object;
    let namespaced = fromSet.get(`${groupOf(apiVersion)}/${kind}`);
    if (namespaced === undefined) {
      const key = `${apiVersion}/${kind}`;
      let lookup = discovered.get(key);
      if (!lookup) {
        lookup = opts.namespaced(apiVersion, kind);
        discovered.set(key, lookup);
      }
      namespaced = await lookup;
    }
    if (namespaced === undefined) {
      problems.push({
        file: doc.file,
        index: doc.index,
        line: lineOf(doc, 'kind'),
        field: 'kind',
        message: `the API server does not serve ${kind} in ${apiVersion}, and no CustomResourceDefinition in this revision defines it`,
      });
      continue;
    }
    const namespace = object.metadata.namespace;
    let prepared = object;
    if (namespaced && (namespace === undefined || namespace === '')) {
      prepared = { ...object, metadata: { ...object.metadata, namespace: opts.namespace } };
    } else if (!namespaced && namespace !== undefined) {
      const { namespace: _dropped, ...metadata } = object.metadata;
      prepared = { ...object, metadata };
    }
    prepared = withApplyDefaults(prepared);
    out.push(prepared === doc.object ? doc : { ...doc, object: prepared });
  }
  return { documents: out, problems };
}
