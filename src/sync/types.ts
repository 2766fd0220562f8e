// What the sync steps pass between them: documents read from Git with their
// positions, problems that point at a file and line, and object references.
import type { ObjectRef } from '../api/gitsource.ts';

export type { ObjectRef };

/** A Kubernetes object as read from Git: apiVersion, kind and metadata.name are known to be there. */
export type SyncObject = Record<string, unknown> & {
  apiVersion: string;
  kind: string;
  metadata: Record<string, unknown> & {
    name: string;
    namespace?: string;
    labels?: Record<string, string>;
    annotations?: Record<string, string>;
  };
};

/** One manifest document from Git, with where it came from. */
export interface SyncDocument {
  /** Path of the file in the repository. */
  file: string;
  /** Position of the document in the file, from 0 (empty documents count). */
  index: number;
  /** 1-based line where the document starts. */
  line: number;
  object: SyncObject;
  /** 1-based line of each field path (formatFieldPath), for problems in fields. */
  lines: ReadonlyMap<string, number>;
}

/** Something wrong with a commit's manifests, for the GitSource's status and events. */
export interface SyncProblem {
  file: string;
  /** 1-based line: of the field when the problem is in one, else of the document. */
  line: number;
  /** The document's position in the file; absent for YAML syntax errors, which may span documents. */
  index?: number;
  /** Field path, e.g. `spec.ports[0].port`, when the problem is in a field. */
  field?: string;
  message: string;
}

/** The source objects belong to, as recorded on them. */
export interface SourceRef {
  namespace: string;
  name: string;
}

/** `apps/v1` → `apps`; `v1` → `` (the core group). */
export function groupOf(apiVersion: string): string {
  const slash = apiVersion.indexOf('/');
  return slash < 0 ? '' : apiVersion.slice(0, slash);
}

export function refOf(obj: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): ObjectRef {
  const ref: ObjectRef = { apiVersion: obj.apiVersion, kind: obj.kind, name: obj.metadata.name };
  if (obj.metadata.namespace !== undefined && obj.metadata.namespace !== '') ref.namespace = obj.metadata.namespace;
  return ref;
}

/**
 * The identity of an object: group (not version, since one object is served
 * in several versions), kind, namespace and name.
 */
export function refKey(ref: ObjectRef): string {
  return `${groupOf(ref.apiVersion)}/${ref.kind}/${ref.namespace ?? ''}/${ref.name}`;
}

/** `Service shop/web`, `Namespace shop`, `Rollout.weir.dev shop/app`. */
export function formatRef(ref: ObjectRef): string {
  const group = groupOf(ref.apiVersion);
  return `${ref.kind}${group === '' ? '' : `.${group}`} ${ref.namespace === undefined ? '' : `${ref.namespace}/`}${ref.name}`;
}

/** `apps/web.yaml:12: spec.ports[0].port: must be between 1 and 65535`. */
export function formatProblem(problem: SyncProblem): string {
  return `${problem.file}:${problem.line}: ${problem.field === undefined || problem.field === '' ? '' : `${problem.field}: `}${problem.message}`;
}

export function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
