// Validating a commit's documents in full before anything is applied
// (DESIGN principle 5): Weir's own kinds with Weir's validators (an
// argoproj.io Rollout converted to weir.dev first; PromQL queries parsed),
// then every object Weir's validators accept, of Weir's kinds too, through a
// server-side dry-run apply (the CRDs of Weir's kinds are on the server, so
// it refuses what the real apply would: a namespace that does not exist,
// RBAC, the CRD's schema); plus objects defined twice, and analysis
// templates a Rollout names that are neither in the commit nor in the
// cluster. Every problem points at a file, a line and, where known, a field.
//
// The dry run and the cluster's templates are plain function parameters:
// the real ones are serverDryRun (ObjectApplier.apply with dryRun) and
// clusterTemplateLookup, tests pass their own. Without a template lookup
// only the commit is consulted: a template it does not hold is a problem.
// Bad input never throws; an error that says nothing about the commit (the
// API server unreachable, 5xx, 429, 401) is rethrown, so the caller retries
// instead of rejecting a good commit.
//
// What a dry run cannot check before anything is applied, and how it is handled:
// - an object in a namespace this revision creates: the namespace does not
//   exist yet, so the object is dry-run in `fallbackNamespace` instead (the
//   GitSource's, which exists); without one it is not dry-run;
// - an object of a kind a CustomResourceDefinition in this revision defines,
//   while the API server does not serve it yet: not dry-run (it is applied
//   after its CRD, and a failure then is an ApplyFailed);
// - an object of Weir's kinds that Weir's validators refuse: not dry-run
//   (the server would only repeat the problems, in its own words).
import type { KubernetesObject } from '@kubernetes/client-node';
import { API_VERSION } from '../api/common.ts';
import { convertArgoObject, isArgoKind } from '../api/convert.ts';
import { annotationsProblem, kindProblem } from '../api/kinds.ts';
import { lineOf } from '../api/manifests.ts';
import { checkCondition } from '../analysis/conditions.ts';
import { checkQuery } from '../analysis/promql.ts';
import {
  formatFieldPath,
  templateReferences,
  validateAnalysisRun,
  validateAnalysisTemplate,
  validateClusterAnalysisTemplate,
  validateGitSource,
  validateRollout,
  type FieldError,
  type PathSegment,
  type TemplateReference,
} from '../api/validate.ts';
import type { ApplyOptions } from '../cluster/apply.ts';
import { describeKubeError, kubeErrorInfo } from '../cluster/errors.ts';
import { SOURCE_LABEL, sourceLabelValue } from './apply.ts';
import { isNamespace, kindsDefinedBy } from './prepare.ts';
import { formatRef, groupOf, isRecord, refKey, refOf, type SourceRef, type SyncDocument, type SyncObject, type SyncProblem } from './types.ts';

/** Validates an object on the server without persisting it; rejects with the API server's error. */
export type DryRun = (obj: SyncObject) => Promise<void>;

export type TemplateKind = TemplateReference['kind'];

/**
 * Whether the cluster has the analysis template (weir.dev/v1alpha1) a
 * Rollout names: an AnalysisTemplate in `namespace`, or a
 * ClusterAnalysisTemplate (`namespace` undefined). Rejects with the API
 * server's error when it cannot tell: a 403 is reported as a problem of the
 * commit, anything else rethrown (see the top of this file).
 */
export type TemplateLookup = (kind: TemplateKind, namespace: string | undefined, name: string) => Promise<boolean>;

export interface ValidateOptions {
  /** An existing namespace to dry-run objects in whose own namespace this revision creates (the GitSource's). */
  fallbackNamespace?: string;
  /** Dry runs (and template lookups) in flight at once (default 8). */
  concurrency?: number;
  /**
   * The cluster's analysis templates, for those a Rollout names that the
   * documents do not define (clusterTemplateLookup). Without it only the
   * documents are consulted, and a template they lack is a problem.
   */
  templateExists?: TemplateLookup;
}

/** The field manager Weir applies with. */
export const FIELD_MANAGER = 'weir';

/** The real dry run: server-side apply with dryRun=All, as Weir's field manager, forcing conflicts as the real apply does. */
export function serverDryRun(applier: { apply(obj: KubernetesObject, opts: ApplyOptions): Promise<KubernetesObject> }): DryRun {
  return async (obj) => {
    await applier.apply(structuredClone(obj), { fieldManager: FIELD_MANAGER, dryRun: true, force: true });
  };
}

/**
 * The real template lookup: reads the template from the API server (404:
 * not there). With `source` and `prune` (the GitSource's; prune defaults to
 * true as spec.prune does), a template labelled as this source's counts as
 * absent: it is only asked about when the commit no longer holds it, so
 * applying the commit prunes it.
 */
export function clusterTemplateLookup(
  client: { read(header: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): Promise<KubernetesObject> },
  opts: { source?: SourceRef; prune?: boolean } = {},
): TemplateLookup {
  const ours = opts.source === undefined || opts.prune === false ? undefined : sourceLabelValue(opts.source);
  return async (kind, namespace, name) => {
    try {
      const found = await client.read({ apiVersion: API_VERSION, kind, metadata: { name, ...(namespace === undefined ? {} : { namespace }) } });
      return ours === undefined || found.metadata?.labels?.[SOURCE_LABEL] !== ours;
    } catch (err) {
      const info = kubeErrorInfo(err);
      if (info.code === 404) return false;
      // Discovery does not know the kind: Weir's CRDs are not installed, so neither is the template.
      if (info.code === undefined && info.message.startsWith('Unrecognized API version and kind')) return false;
      throw err;
    }
  };
}

/** Validators for Weir's own kinds, by kind (apiVersion weir.dev/v1alpha1); `weir lint` uses them too. */
export const WEIR_VALIDATORS: Readonly<Record<string, (obj: unknown) => { errors: FieldError[] }>> = {
  Rollout: validateRollout,
  GitSource: validateGitSource,
  AnalysisTemplate: (obj) => validateAnalysisTemplate(obj, checkCondition, checkQuery),
  ClusterAnalysisTemplate: (obj) => validateClusterAnalysisTemplate(obj, checkCondition, checkQuery),
  AnalysisRun: (obj) => validateAnalysisRun(obj, checkCondition, checkQuery),
};

/** An analysis template some documents define: kind, name, and namespace (as written; none for a ClusterAnalysisTemplate). */
export interface DefinedTemplate {
  kind: TemplateKind;
  name: string;
  namespace?: string | undefined;
}

/** The analysis template an object is (weir.dev, or argoproj.io read as weir.dev), else undefined. */
export function definedTemplate(obj: unknown): DefinedTemplate | undefined {
  if (!isRecord(obj) || (obj.apiVersion !== API_VERSION && !isArgoKind(obj))) return undefined;
  if (obj.kind !== 'AnalysisTemplate' && obj.kind !== 'ClusterAnalysisTemplate') return undefined;
  const meta = obj.metadata;
  if (!isRecord(meta) || typeof meta.name !== 'string' || meta.name === '') return undefined;
  const namespace = obj.kind === 'AnalysisTemplate' && typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  return { kind: obj.kind, name: meta.name, namespace };
}

/**
 * Whether `templates` hold what `ref` names for a Rollout in `namespace`: a
 * ClusterAnalysisTemplate by name; an AnalysisTemplate by name in the
 * Rollout's namespace (a namespace left unset on either side matches: it is
 * decided where the files are applied).
 */
export function holdsTemplate(templates: readonly DefinedTemplate[], ref: Pick<TemplateReference, 'kind' | 'name'>, namespace: string | undefined): boolean {
  return templates.some(
    (t) => t.kind === ref.kind && t.name === ref.name && (t.kind === 'ClusterAnalysisTemplate' || t.namespace === undefined || namespace === undefined || t.namespace === namespace),
  );
}

/** What a reference nearly matches (the other scope, another namespace), to say with a missing template; '' when nothing. */
export function templateHint(templates: readonly DefinedTemplate[], ref: Pick<TemplateReference, 'kind' | 'name'>, namespace: string | undefined, where: string): string {
  const other: TemplateKind = ref.kind === 'AnalysisTemplate' ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate';
  if (holdsTemplate(templates, { kind: other, name: ref.name }, namespace)) {
    return ref.kind === 'AnalysisTemplate'
      ? ` (in ${where} there is a ClusterAnalysisTemplate ${JSON.stringify(ref.name)}: name it with clusterScope: true)`
      : ` (in ${where} there is an AnalysisTemplate ${JSON.stringify(ref.name)}: name it without clusterScope: true)`;
  }
  const elsewhere = templates.filter((t) => t.kind === ref.kind && t.name === ref.name && t.namespace !== undefined).map((t) => JSON.stringify(t.namespace));
  if (elsewhere.length > 0) {
    return ` (in ${where} it is in namespace ${elsewhere.join(', ')}: a Rollout runs AnalysisTemplates of its own namespace only)`;
  }
  return '';
}

function problemAt(doc: SyncDocument, field: string | readonly PathSegment[] | undefined, message: string): SyncProblem {
  const path = field === undefined ? undefined : typeof field === 'string' ? field : formatFieldPath(field);
  return {
    file: doc.file,
    index: doc.index,
    line: path === undefined || path === '' ? doc.line : lineOf(doc, field ?? ''),
    ...(path === undefined || path === '' ? {} : { field: path }),
    message,
  };
}

/**
 * A server-side-apply path as the API server prints it in "failed to create
 * typed patch object" errors — `.spec.ports[port="abc",protocol="TCP"].port`,
 * `.data.a`, `.spec.ports: element 0` — as segments into `obj` (list items by
 * their index in `obj`). Undefined when the text holds no such path.
 */
export function parseApplyPath(message: string, obj: unknown): PathSegment[] | undefined {
  const m = /typed (?:patch )?object(?: \([^)]*\))?: (\.[^\s]*?)(?:: element (\d+))?:\s/.exec(message);
  if (!m?.[1]) return undefined;
  const text = m[1];
  const segments: PathSegment[] = [];
  let node: unknown = obj;
  const token = /\.([^.[]+)|\[([^\]]*)\]/y;
  token.lastIndex = 0;
  while (token.lastIndex < text.length) {
    const t = token.exec(text);
    if (!t) break;
    if (t[1] !== undefined) {
      segments.push(t[1]);
      node = isRecord(node) ? node[t[1]] : undefined;
      continue;
    }
    const selector = t[2] ?? '';
    if (!Array.isArray(node)) break;
    let index: number;
    if (/^\d+$/.test(selector)) index = Number(selector);
    else {
      // key=value pairs (values JSON-encoded), or "=value" for an element of a set
      const pairs = selector.split(/,(?=[^,=]*=)/).map((p) => {
        const eq = p.indexOf('=');
        const raw = p.slice(eq + 1);
        let value: unknown = raw;
        try {
          value = JSON.parse(raw);
        } catch {
          // unquoted: keep as text
        }
        return { key: p.slice(0, eq), value };
      });
      index = node.findIndex((item: unknown) =>
        pairs.every(({ key, value }) => (key === '' ? item === value : isRecord(item) && (item[key] === value || String(item[key]) === String(value)))),
      );
    }
    if (index < 0) break;
    segments.push(index);
    node = node[index] as unknown;
  }
  if (m[2] !== undefined) segments.push(Number(m[2]));
  return segments;
}

interface StatusCause {
  field?: string;
  message?: string;
}

function causesOf(err: unknown): StatusCause[] {
  if (!isRecord(err)) return [];
  let body: unknown = err.body;
  if (typeof body === 'string') {
    try {
      body = JSON.parse(body);
    } catch {
      return [];
    }
  }
  if (!isRecord(body) || !isRecord(body.details) || !Array.isArray(body.details.causes)) return [];
  return body.details.causes.filter(isRecord).map((c) => ({
    ...(typeof c.field === 'string' ? { field: c.field } : {}),
    ...(typeof c.message === 'string' ? { message: c.message } : {}),
  }));
}

type DryRunOutcome =
  /** the object is wrong: report it */
  | 'invalid'
  /** the kind is not served (yet) */
  | 'unserved'
  /** its namespace does not exist */
  | 'namespace-missing'
  /** says nothing about the object */
  | 'transient';

function classify(err: unknown, namespace: string | undefined): DryRunOutcome {
  const info = kubeErrorInfo(err);
  if (info.code === undefined) return info.message.startsWith("Unrecognized API version and kind") ? 'unserved' : 'transient';
  if (info.code === 404) {
    if (namespace !== undefined && info.message === `namespaces "${namespace}" not found`) return 'namespace-missing';
    if (info.reason === undefined) return 'unserved'; // "404 page not found": the group/version is not served
    return 'invalid';
  }
  if ([400, 403, 405, 409, 410, 413, 415, 422].includes(info.code)) return 'invalid';
  // Server-side apply's schema check answers 500 for a value of the wrong type or an unknown field.
  if (info.code === 500 && /failed to create typed (patch )?object/.test(info.message)) return 'invalid';
  return 'transient';
}

function dryRunProblems(doc: SyncDocument, obj: SyncObject, err: unknown): SyncProblem[] {
  const causes = causesOf(err).filter((c) => c.message !== undefined);
  if (causes.length > 0) {
    const info = kubeErrorInfo(err);
    const what = `${String(info.code)}${info.reason ? ` ${info.reason}` : ''}`;
    return causes.map((c) => problemAt(doc, c.field, `${c.message ?? ''} (the API server's dry run: ${what})`));
  }
  const described = describeKubeError(err);
  const path = parseApplyPath(described, obj);
  return [problemAt(doc, path && path.length > 0 ? path : undefined, `the API server's dry run refused it: ${described}`)];
}

/**
 * The ReplicaSet the Rollout controller would create from a Rollout's pod
 * template (no replicas), to dry-run what Kubernetes checks only there: the
 * Rollout's CRD keeps the template as written. Its template is at the same
 * path as the Rollout's (spec.template), so the server's field paths point
 * at the Rollout's lines. Undefined without a template (workloadRef).
 */
export function podTemplateProbe(rollout: SyncObject): SyncObject | undefined {
  if (rollout.kind !== 'Rollout' || rollout.apiVersion !== API_VERSION) return undefined;
  const spec = isRecord(rollout.spec) ? rollout.spec : undefined;
  if (spec === undefined || !isRecord(spec.template) || !isRecord(spec.selector)) return undefined;
  return {
    apiVersion: 'apps/v1',
    kind: 'ReplicaSet',
    metadata: { name: `${rollout.metadata.name}-weir-template-check`.slice(0, 253), ...(rollout.metadata.namespace !== undefined ? { namespace: rollout.metadata.namespace } : {}) },
    spec: { replicas: 0, selector: spec.selector, template: spec.template },
  };
}

/** Runs `tasks` with at most `limit` in flight; results in order. */
async function pool<T>(tasks: (() => Promise<T>)[], limit: number): Promise<T[]> {
  const results = new Array<T>(tasks.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < tasks.length) {
      const i = next++;
      const task = tasks[i];
      if (task) results[i] = await task();
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, Math.min(limit, tasks.length)) }, worker));
  return results;
}

/** Objects defined more than once (same group, kind, namespace and name): a problem at each repeat. */
export function duplicateProblems(documents: readonly SyncDocument[]): SyncProblem[] {
  const seen = new Map<string, SyncDocument>();
  const problems: SyncProblem[] = [];
  for (const doc of documents) {
    const object = isArgoKind(doc.object) ? (convertArgoObject(doc.object) as SyncObject) : doc.object;
    const key = refKey(refOf(object));
    const first = seen.get(key);
    if (first) problems.push(problemAt(doc, undefined, `${formatRef(refOf(object))} is defined twice: also at ${first.file}:${first.line}`));
    else seen.set(key, doc);
  }
  return problems;
}

function describeTemplate(kind: TemplateKind, name: string): string {
  return `${kind} ${JSON.stringify(name)}`;
}

/**
 * Every problem with the documents, in document order: duplicates, Weir's
 * validation of its kinds, analysis templates Rollouts name that neither the
 * documents nor the cluster (opts.templateExists) hold, the server's dry run.
 * Pass prepared documents (prepareDocuments) so namespaces are what will be
 * applied. Never throws for bad input; rethrows errors that are not about
 * the objects (see the top of this file).
 */
export async function validateDocuments(documents: readonly SyncDocument[], dryRun: DryRun, opts: ValidateOptions = {}): Promise<SyncProblem[]> {
  const definedKinds = kindsDefinedBy(documents);
  const createdNamespaces = new Set(documents.filter((d) => isNamespace(d.object)).map((d) => d.object.metadata.name));
  const objects = documents.map((doc) => (isArgoKind(doc.object) ? (convertArgoObject(doc.object) as SyncObject) : doc.object));
  const templates = objects.map(definedTemplate).filter((t): t is DefinedTemplate => t !== undefined);
  const lookups = new Map<string, Promise<boolean>>();

  /** The cluster's answer for a template, asked once per template. */
  const inCluster = (lookup: TemplateLookup, kind: TemplateKind, namespace: string | undefined, name: string): Promise<boolean> => {
    const key = `${kind}/${namespace ?? ''}/${name}`;
    let answer = lookups.get(key);
    if (!answer) {
      answer = lookup(kind, namespace, name);
      lookups.set(key, answer);
    }
    return answer;
  };

  const templateProblems = async (doc: SyncDocument, rollout: SyncObject): Promise<SyncProblem[]> => {
    const namespace = rollout.metadata.namespace;
    const problems: SyncProblem[] = [];
    for (const ref of templateReferences(rollout)) {
      if (holdsTemplate(templates, ref, namespace)) continue;
      const what = describeTemplate(ref.kind, ref.name);
      const clusterNamespace = ref.kind === 'AnalysisTemplate' ? namespace : undefined;
      const hint = templateHint(templates, ref, namespace, 'this revision');
      const lookup = opts.templateExists;
      if (lookup === undefined) {
        const where = clusterNamespace === undefined ? '' : ` (in namespace ${JSON.stringify(clusterNamespace)})`;
        problems.push(problemAt(doc, ref.path, `${what} is not in this revision${where}, and only this revision was consulted${hint}`));
        continue;
      }
      try {
        if (await inCluster(lookup, ref.kind, clusterNamespace, ref.name)) continue;
      } catch (err) {
        if (kubeErrorInfo(err).code !== 403) throw err;
        problems.push(problemAt(doc, ref.path, `${what} is not in this revision, and the cluster refused to say whether it has it: ${describeKubeError(err)}`));
        continue;
      }
      const where = clusterNamespace === undefined ? 'the cluster' : `namespace ${JSON.stringify(clusterNamespace)} of the cluster`;
      problems.push(problemAt(doc, ref.path, `${what} is in neither this revision nor ${where}: the Rollout could not run this analysis${hint}`));
    }
    return problems;
  };

  const serverProblems = async (doc: SyncDocument, object: SyncObject): Promise<SyncProblem[]> => {
    const namespace = object.metadata.namespace;
    try {
      await dryRun(object);
      return [];
    } catch (err) {
      const outcome = classify(err, namespace);
      if (outcome === 'invalid') return dryRunProblems(doc, object, err);
      if (outcome === 'unserved') {
        if (definedKinds.has(`${groupOf(object.apiVersion)}/${object.kind}`)) return [];
        return [problemAt(doc, 'kind', `the API server does not serve ${object.kind} in ${object.apiVersion}: ${describeKubeError(err)}`)];
      }
      if (outcome === 'namespace-missing' && namespace !== undefined && createdNamespaces.has(namespace)) {
        const fallback = opts.fallbackNamespace;
        if (fallback === undefined || fallback === namespace) return [];
        const standIn = { ...object, metadata: { ...object.metadata, namespace: fallback } };
        try {
          await dryRun(standIn);
          return [];
        } catch (again) {
          const second = classify(again, fallback);
          if (second === 'invalid') return dryRunProblems(doc, object, again);
          if (second === 'transient') throw again;
          return [];
        }
      }
      if (outcome === 'namespace-missing') {
        return [problemAt(doc, 'metadata.namespace', `namespace ${JSON.stringify(namespace)} does not exist and no Namespace in this revision creates it`)];
      }
      throw err;
    }
  };

  const check = async (doc: SyncDocument, object: SyncObject): Promise<SyncProblem[]> => {
    const validator = object.apiVersion === API_VERSION ? WEIR_VALIDATORS[object.kind] : undefined;
    const problems = validator ? validator(object).errors.map((e) => problemAt(doc, e.path, e.message)) : [];
    // What weir lint says too, before the server says it less clearly: a kind of Weir's or Argo's group Weir does not know, annotations over the limit.
    for (const own of [kindProblem(doc.object.apiVersion, doc.object.kind), annotationsProblem(object)]) if (own !== undefined) problems.push(problemAt(doc, own.field, own.message));
    const references = validator && object.kind === 'Rollout' ? await templateProblems(doc, object) : [];
    // What Weir's validators refuse is not dry-run: the server would only say it again.
    const server = problems.length === 0 ? await serverProblems(doc, object) : [];
    // The pod template is validated only in the ReplicaSet the Rollout controller creates from it, mid-rollout: dry-run that one now.
    const probe = problems.length === 0 && server.length === 0 && validator !== undefined ? podTemplateProbe(object) : undefined;
    const pods = probe === undefined ? [] : (await serverProblems(doc, probe)).map((p) => ({ ...p, message: `the ReplicaSet of this template would be refused: ${p.message}` }));
    return [...problems, ...references, ...server, ...pods];
  };

  const results = await pool(
    documents.map((doc, i) => () => check(doc, objects[i] ?? doc.object)),
    opts.concurrency ?? 8,
  );
  const byDocument = new Map<SyncDocument, SyncProblem[]>();
  documents.forEach((doc, i) => byDocument.set(doc, results[i] ?? []));
  for (const problem of duplicateProblems(documents)) {
    const doc = documents.find((d) => d.file === problem.file && d.index === problem.index);
    if (doc) byDocument.get(doc)?.unshift(problem);
  }
  return documents.flatMap((doc) => byDocument.get(doc) ?? []);
}
