// Drift: a live object that no longer matches Git on the fields Git sets.
//
// For each desired object, a server-side dry-run apply says what the object
// would be after applying it (with the server's defaults and normal forms:
// "500m" for "0.5", targetPort defaulted to port, ...). Where that differs
// from the live object on a field the desired object sets, the object has
// drifted. Fields Git does not set (defaults, other controllers' fields,
// status, server metadata) are not drift. If the dry run fails — a change to
// a list item's key can make the merged object invalid — the desired object
// itself is compared.
//
// Correcting drift is applying again, with one extra step: server-side apply
// never removes what another field manager owns, so a list item someone
// else added (say, a Service port changed from 8080 to 80 by a merge patch:
// port 80 is a new item, owned by that patch) would survive the re-apply
// next to Weir's. Before re-applying, correctDrift hands Weir the ownership
// of the drifted lists, so the apply replaces them with what Git says.
import type { KubernetesObject } from '@kubernetes/client-node';
import { formatFieldPath, type PathSegment } from '../api/validate.ts';
import { describeKubeError, kubeErrorCode, kubeErrorInfo } from '../cluster/errors.ts';
import { decorate, type Applier, type DecorateOptions } from './apply.ts';
import { FIELD_MANAGER } from './validate.ts';
import { formatRef, isRecord, refKey, refOf, type ObjectRef, type SyncDocument } from './types.ts';

/** One field where the live object differs from the desired one. */
export interface Difference {
  path: PathSegment[];
  /** undefined: the field is absent. */
  desired: unknown;
  live: unknown;
}

/** Metadata the API server writes: never drift. */
const SERVER_METADATA = new Set(['managedFields', 'resourceVersion', 'generation', 'uid', 'creationTimestamp', 'selfLink', 'deletionTimestamp', 'deletionGracePeriodSeconds']);

function ignored(path: readonly PathSegment[]): boolean {
  if (path.length === 1 && path[0] === 'status') return true;
  return path.length === 2 && path[0] === 'metadata' && typeof path[1] === 'string' && SERVER_METADATA.has(path[1]);
}

/** JSON's view of a value: Dates as their text (typed client models turn timestamps into Dates). */
function normal(value: unknown): unknown {
  return value instanceof Date ? value.toISOString() : value;
}

function isNamedList(value: unknown[]): boolean {
  return value.length > 0 && value.every((item) => isRecord(item) && typeof item.name === 'string');
}

/**
 * Where `desired` is not a subset of `live`: every field desired sets must
 * have the same value in live; live may have more (server defaults, fields
 * of other managers, map entries desired does not name). Lists of objects
 * that all have a `name` are matched by name (live may have more items);
 * other lists item by item, and must be as long. Absent and null fields of
 * desired are not compared, nor status and the metadata the server writes.
 * Pure.
 */
export function subsetDiff(desired: unknown, live: unknown, path: PathSegment[] = []): Difference[] {
  const d = normal(desired);
  const l = normal(live);
  if (d === undefined || d === null || ignored(path)) return [];
  if (Array.isArray(d)) {
    if (!Array.isArray(l)) return [{ path, desired: d, live: l }];
    if (isNamedList(d)) {
      const out: Difference[] = [];
      d.forEach((item: unknown, i) => {
        const name = (item as { name: string }).name;
        const match: unknown = l.find((x: unknown) => isRecord(x) && x.name === name);
        if (match === undefined) out.push({ path: [...path, i], desired: item, live: undefined });
        else out.push(...subsetDiff(item, match, [...path, i]));
      });
      return out;
    }
    if (d.length !== l.length) return [{ path, desired: d, live: l }];
    return d.flatMap((item: unknown, i) => subsetDiff(item, l[i], [...path, i]));
  }
  if (isRecord(d)) {
    if (!isRecord(l)) return [{ path, desired: d, live: l }];
    return Object.entries(d).flatMap(([key, value]) => subsetDiff(value, l[key], [...path, key]));
  }
  if (d === l) return [];
  return [{ path, desired: d, live: l }];
}

/**
 * The part of `source` at the fields `shape` sets (named lists matched by
 * name, other lists taken whole): what the dry-run result says about the
 * fields Git sets. Pure.
 */
export function projectOnto(shape: unknown, source: unknown): unknown {
  const s = normal(source);
  if (Array.isArray(shape)) {
    if (!Array.isArray(s)) return s;
    if (!isNamedList(shape)) return s;
    return shape.map((item: unknown) => {
      const name = (item as { name: string }).name;
      const match: unknown = s.find((x: unknown) => isRecord(x) && x.name === name);
      return match === undefined ? undefined : projectOnto(item, match);
    });
  }
  if (isRecord(shape)) {
    if (!isRecord(s)) return s;
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(shape)) {
      const value = projectOnto(shape[key], s[key]);
      if (value !== undefined) out[key] = value;
    }
    return out;
  }
  return s;
}

function short(value: unknown): string {
  if (value === undefined) return '(absent)';
  const text = JSON.stringify(value);
  return text.length > 60 ? `${text.slice(0, 57)}…` : text;
}

/** Secret values never go into a description (status, events, logs). */
function secretField(kind: string, path: readonly PathSegment[]): boolean {
  return kind === 'Secret' && (path[0] === 'data' || path[0] === 'stringData');
}

/** `spec.ports[0].port: 8080 → 80`; list lengths as counts; Secret data as "changed". */
export function describeDifference(diff: Difference, kind = ''): string {
  const path = formatFieldPath(diff.path);
  if (secretField(kind, diff.path)) return `${path}: changed (value hidden)`;
  if (Array.isArray(diff.desired) && Array.isArray(diff.live)) return `${path}: ${diff.desired.length} items → ${diff.live.length} items`;
  return `${path}: ${short(diff.desired)} → ${short(diff.live)}`;
}

export interface DriftedObject {
  ref: ObjectRef;
  file: string;
  line: number;
  /** The object is not in the cluster at all. */
  missing: boolean;
  differences: Difference[];
  /** describeDifference of each difference ("the object is missing" when it is). */
  description: string[];
  /** Why the dry run failed, when it did (the desired object was compared instead). */
  dryRunError?: string;
}

/** The live object, or undefined when there is none (an informer cache, or liveReader). */
export type LiveGetter = (ref: ObjectRef) => Promise<KubernetesObject | undefined>;

/** A LiveGetter that reads from the API server (404: undefined). */
export function liveReader(client: Pick<Applier, 'read'>): LiveGetter {
  return async (ref) => {
    try {
      return await client.read({ apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }) } });
    } catch (err) {
      if (kubeErrorCode(err) === 404) return undefined;
      throw err;
    }
  };
}

/** `read`, asked at most once per object (by refKey): for one pass that reads an object in two steps. */
export function onceEach(read: LiveGetter): LiveGetter {
  const seen = new Map<string, Promise<KubernetesObject | undefined>>();
  return (ref) => {
    const k = refKey(ref);
    let got = seen.get(k);
    if (!got) {
      got = read(ref);
      seen.set(k, got);
    }
    return got;
  };
}

function transient(err: unknown): boolean {
  const info = kubeErrorInfo(err);
  if (info.code === undefined) return !info.message.startsWith("Unrecognized API version and kind");
  return info.code === 401 || info.code === 429 || (info.code >= 500 && !/failed to create typed (patch )?object/.test(info.message));
}

export interface DetectDriftOptions {
  /** Decorate the documents first (as applyDocuments does); leave out when they are decorated already. */
  decorate?: DecorateOptions;
  fieldManager?: string;
}

/**
 * The documents whose live objects have drifted from them (see the top of
 * this file). Throws when the API server cannot be asked (network, 5xx).
 */
export async function detectDrift(applier: Pick<Applier, 'apply'>, live: LiveGetter, documents: readonly SyncDocument[], opts: DetectDriftOptions = {}): Promise<DriftedObject[]> {
  const drifted: DriftedObject[] = [];
  for (const doc of documents) {
    const desired = opts.decorate ? decorate(doc.object, opts.decorate) : doc.object;
    const ref = refOf(desired);
    const current = await live(ref);
    const base = { ref, file: doc.file, line: doc.line };
    if (current === undefined) {
      drifted.push({ ...base, missing: true, differences: [], description: ['the object is missing'] });
      continue;
    }
    let expected: unknown;
    let dryRunError: string | undefined;
    try {
      const result = await applier.apply(structuredClone(desired), { fieldManager: opts.fieldManager ?? FIELD_MANAGER, dryRun: true, force: true });
      expected = projectOnto(desired, result);
    } catch (err) {
      if (transient(err)) throw err;
      dryRunError = describeKubeError(err);
      expected = desired;
    }
    const differences = subsetDiff(expected, current);
    if (differences.length === 0) continue;
    drifted.push({
      ...base,
      missing: false,
      differences,
      description: differences.map((d) => describeDifference(d, ref.kind)),
      ...(dryRunError === undefined ? {} : { dryRunError }),
    });
  }
  return drifted;
}

// ---------------------------------------------------------------------------
// Ownership (metadata.managedFields, FieldsV1)

/** An entry of metadata.managedFields. */
export interface ManagedFieldsEntry {
  manager?: string;
  operation?: string;
  apiVersion?: string;
  time?: string | Date;
  fieldsType?: string;
  fieldsV1?: Record<string, unknown>;
  subresource?: string;
  [key: string]: unknown;
}

/** What to take over: the field at `path` whole, or, with `item`, only the list items under it that are `item` (by their keys). */
export interface OwnershipTarget {
  path: string[];
  item?: Record<string, unknown>;
}

/**
 * The ownership to take over to correct a difference in `live`: for a field
 * in a named list item (`spec.ports[0].port`), that item of the live list,
 * found by the desired item's name; for a list matched item by item, or a
 * list of another length, the whole list; for a plain field, nothing (a
 * forced apply takes it back). Undefined when nothing needs taking.
 */
export function ownershipTarget(diff: Difference, desired: unknown, live: unknown): OwnershipTarget | undefined {
  const index = diff.path.findIndex((s) => typeof s === 'number');
  if (index < 0) return Array.isArray(diff.desired) ? { path: diff.path as string[] } : undefined;
  const listPath = diff.path.slice(0, index) as string[];
  const at = (root: unknown): unknown => listPath.reduce<unknown>((node, key) => (isRecord(node) ? node[key] : undefined), root);
  const desiredList = at(desired);
  const liveList = at(live);
  if (!Array.isArray(desiredList) || !isNamedList(desiredList)) return { path: listPath };
  const name = (desiredList[diff.path[index] as number] as { name?: unknown } | undefined)?.name;
  const item = Array.isArray(liveList) ? (liveList as unknown[]).find((x) => isRecord(x) && x.name === name) : undefined;
  return isRecord(item) ? { path: listPath, item } : undefined;
}

function mergeFields(into: Record<string, unknown>, from: Record<string, unknown>): void {
  for (const [key, value] of Object.entries(from)) {
    const existing = into[key];
    if (isRecord(existing) && isRecord(value)) mergeFields(existing, value);
    else into[key] = structuredClone(value);
  }
}

/** Whether a FieldsV1 list-item key (`k:{"port":80,"protocol":"TCP"}`) names `item`. */
function keyMatches(key: string, item: Record<string, unknown>): boolean {
  if (!key.startsWith('k:')) return false;
  let fields: unknown;
  try {
    fields = JSON.parse(key.slice(2));
  } catch {
    return false;
  }
  return isRecord(fields) && Object.entries(fields).every(([k, v]) => JSON.stringify(normal(item[k])) === JSON.stringify(v));
}

/** Moves what `target` names from `fields` into `taken` (same FieldsV1 shape); returns whether anything moved. */
function moveOwnership(fields: Record<string, unknown>, target: OwnershipTarget, taken: Record<string, unknown>): boolean {
  if (target.path.length === 0) return false;
  const parents: [Record<string, unknown>, string][] = [];
  let node = fields;
  for (const name of target.path) {
    const next = node[`f:${name}`];
    if (!isRecord(next)) return false;
    parents.push([node, `f:${name}`]);
    node = next;
  }
  let into = taken;
  for (const name of target.path.slice(0, -1)) {
    const key = `f:${name}`;
    const next = isRecord(into[key]) ? (into[key]) : {};
    into[key] = next;
    into = next;
  }
  const leafKey = `f:${target.path[target.path.length - 1] ?? ''}`;
  let moved = false;
  if (target.item === undefined) {
    const parent: Record<string, unknown> = parents[parents.length - 1]?.[0] ?? {};
    const existing = into[leafKey];
    if (isRecord(existing)) mergeFields(existing, node);
    else into[leafKey] = structuredClone(node);
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
    delete parent[leafKey];
    moved = true;
  } else {
    const list = isRecord(into[leafKey]) ? (into[leafKey]) : {};
    for (const [key, value] of Object.entries(node)) {
      if (!keyMatches(key, target.item)) continue;
      list[key] = structuredClone(value);
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
      delete node[key];
      moved = true;
    }
    if (moved) into[leafKey] = list;
  }
  // Drop what is left empty on the way up.
  for (let i = parents.length - 1; i >= 0; i--) {
    const [parent, key] = parents[i] ?? [{}, ''];
    const child = parent[key];
    // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
    if (isRecord(child) && Object.keys(child).length === 0) delete parent[key];
  }
  return moved;
}

/**
 * managedFields with what `targets` name owned by `manager`'s Apply entry
 * instead of whoever owned it, so that the manager's next apply removes
 * what it does not set there. Other managers' entries left owning nothing
 * are dropped; entries for subresources are left alone. Pure.
 */
export function takeOwnership(entries: readonly ManagedFieldsEntry[], targets: readonly OwnershipTarget[], manager: string, apiVersion: string): ManagedFieldsEntry[] {
  const taken: Record<string, unknown> = {};
  let any = false;
  const out: ManagedFieldsEntry[] = [];
  for (const entry of entries) {
    const mine = entry.manager === manager && entry.operation === 'Apply';
    if (mine || entry.subresource !== undefined || !isRecord(entry.fieldsV1)) {
      out.push(structuredClone(entry));
      continue;
    }
    const fields = structuredClone(entry.fieldsV1);
    for (const target of targets) if (moveOwnership(fields, target, taken)) any = true;
    if (Object.keys(fields).length > 0) out.push({ ...structuredClone(entry), fieldsV1: fields });
  }
  if (!any) return out;
  const index = out.findIndex((e) => e.manager === manager && e.operation === 'Apply' && e.subresource === undefined);
  const own = out[index];
  if (own) {
    const fields = isRecord(own.fieldsV1) ? own.fieldsV1 : {};
    mergeFields(fields, taken);
    out[index] = { ...own, fieldsV1: fields };
  } else {
    out.push({ manager, operation: 'Apply', apiVersion, fieldsType: 'FieldsV1', fieldsV1: taken });
  }
  return out;
}

/** What correctDrift needs: SyncClient has it. */
export interface DriftCorrectionClient extends Applier {
  /** Replaces metadata.managedFields, if the object is still at `resourceVersion`. */
  replaceManagedFields(ref: ObjectRef, resourceVersion: string, entries: ManagedFieldsEntry[]): Promise<void>;
}

export interface CorrectDriftOptions {
  /** Decorate the documents first; leave out when they are decorated already. */
  decorate?: DecorateOptions;
  fieldManager?: string;
}

/**
 * Puts drifted objects back to what Git says: takes over the drifted list
 * items (takeOwnership) and applies the desired object again. Returns the
 * corrected refs with what had drifted; throws on the first failure, naming
 * the object.
 */
export async function correctDrift(
  client: DriftCorrectionClient,
  drifted: readonly DriftedObject[],
  documents: readonly SyncDocument[],
  opts: CorrectDriftOptions,
): Promise<{ ref: ObjectRef; fields: string[] }[]> {
  const manager = opts.fieldManager ?? FIELD_MANAGER;
  const corrected: { ref: ObjectRef; fields: string[] }[] = [];
  for (const drift of drifted) {
    const doc = documents.find((d) => refKey(refOf(d.object)) === refKey(drift.ref));
    if (!doc) continue;
    const desired = opts.decorate ? decorate(doc.object, opts.decorate) : doc.object;
    if (!drift.missing) {
      const live = await client.read({
        apiVersion: drift.ref.apiVersion,
        kind: drift.ref.kind,
        metadata: { name: drift.ref.name, ...(drift.ref.namespace === undefined ? {} : { namespace: drift.ref.namespace }) },
      });
      const targets = drift.differences.map((d) => ownershipTarget(d, desired, live)).filter((t): t is OwnershipTarget => t !== undefined);
      const metadata = isRecord(live.metadata) ? live.metadata : {};
      const entries = Array.isArray(metadata.managedFields) ? (metadata.managedFields as ManagedFieldsEntry[]) : [];
      const next = takeOwnership(entries, targets, manager, desired.apiVersion);
      if (targets.length > 0 && typeof metadata.resourceVersion === 'string' && JSON.stringify(next) !== JSON.stringify(entries)) {
        try {
          await client.replaceManagedFields(drift.ref, metadata.resourceVersion, next);
        } catch (err) {
          throw new Error(`${drift.file}:${drift.line}: ${formatRef(drift.ref)}: taking over drifted fields failed: ${describeKubeError(err)}`, { cause: err });
        }
      }
    }
    try {
      await client.apply(structuredClone(desired), { fieldManager: manager, force: true });
    } catch (err) {
      throw new Error(`${drift.file}:${drift.line}: ${formatRef(drift.ref)}: re-apply failed: ${describeKubeError(err)}`, { cause: err });
    }
    corrected.push({ ref: drift.ref, fields: drift.description });
  }
  return corrected;
}
