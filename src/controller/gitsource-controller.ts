// The GitSource controller: pulls a repository, validates a whole commit
// before applying any of it, applies with server-side apply, prunes what left
// Git, corrects drift, and returns the cluster to the last good revision when
// a rollout fails (optionally writing the revert back to Git).
import { isDeepStrictEqual } from 'node:util';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { GROUP, VERSION } from '../api/common.ts';
import { resolveGitSourceSpec, type GitSource, type GitSourceStatus } from '../api/gitsource.ts';
import { parseDuration } from '../api/duration.ts';
import type { Rollout } from '../api/rollout.ts';
import { validateGitSource } from '../api/validate.ts';
import { describeKubeError, kubeErrorCode } from '../cluster/errors.ts';
import { EventRecorder } from '../cluster/events.ts';
import { ResilientInformer } from '../cluster/informer.ts';
import { GitMirror, revertBranchName, revertMessage, type GitRemote } from '../source/index.ts';
import {
  SOURCE_LABEL,
  SyncClient,
  applyDocuments,
  clusterTemplateLookup,
  correctDrift,
  decorateDocuments,
  detectDrift,
  formatProblem,
  formatRef,
  liveReader,
  onceEach,
  parseDocuments,
  prepareDocuments,
  pruneObjects,
  serverDryRun,
  sourceLabelValue,
  toPrune,
  validateDocuments,
  yieldControlledFields,
  type LiveGetter,
  type LiveLookup,
  type ObjectRef,
  type SourceRef,
  type SyncDocument,
  type SyncProblem,
} from '../sync/index.ts';
import type { Logger } from '../util/log.ts';
import { setCondition as setConditionIn } from '../engine/conditions.ts';
import { planRetry, statusPatchBody } from '../cli/rollout-actions.ts';
import { activeHolds, composeRevisions, fileHash, isWeirRevert, rolloutScope, sameHolds, scopeDigest, type HeldBack, type RevisionPart } from './gitsource-scope.ts';
import {
  UNVERIFIED_RETRY_LIMIT,
  findWholeRejection,
  gitOutOfSync,
  isRejectedFor,
  initialWriteBack,
  rolloutFailure,
  unverifiedRetryDelayMs,
  writeBackStep,
  type RejectedRevision,
  type RolloutFailure,
} from './gitsource-verdicts.ts';
import { WorkQueue, runWorkers } from './queue.ts';

/** Conditions as the engine keeps them (transition time kept while the status stays). */
function setCondition(conditions: GitSourceStatus['conditions'], next: Parameters<typeof setConditionIn>[1], at: string): NonNullable<GitSourceStatus['conditions']> {
  return setConditionIn(conditions ?? [], next, at);
}

const GITSOURCES = { group: GROUP, version: VERSION, plural: 'gitsources' } as const;
const ROLLOUTS = { group: GROUP, version: VERSION, plural: 'rollouts' } as const;
const HISTORY_LIMIT = 50;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const MAX_BACKOFF_MS = 5 * 60_000;

/** A commit's manifests as read from the mirror, with each file's content hash (for the digests of scoped rejections). */
interface LoadedRevision {
  documents: SyncDocument[];
  problems: SyncProblem[];
  fileHashes: Map<string, string>;
  /** scopeDigest by directory, worked out once (a hold is checked at every reconcile). */
  digests: Map<string, string>;
}

/** Revisions of a source kept parsed at most: the applied one and a rollback target (after an apply, only what it used stays). */
const LOADED_REVISIONS = 2;

type GitSourceObject = GitSource & { metadata: GitSource['metadata'] & { uid?: string; generation?: number } };
type RolloutObject = Rollout & { metadata: Rollout['metadata'] & { uid?: string } };

export interface GitSourceControllerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  registry: Registry;
  /** Where fetched repositories are kept between polls. */
  cacheDir: string;
  namespace?: string;
  workers?: number;
  now?: () => Date;
  /** With leader election: whether this process may write now. Gates the Git push of write-back (Kubernetes writes are gated by the KubeConfig). */
  mayWrite?: () => boolean;
}

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

/** The owner name of a GitSource's pins in a mirror shared by every source of the same URL. */
function mirrorOwner(gs: GitSourceObject): string {
  return `${gs.metadata.namespace ?? 'default'}.${gs.metadata.name ?? ''}`.replace(/[^A-Za-z0-9._-]/g, '_').slice(0, 100);
}

function short(sha: string | undefined): string {
  return (sha ?? '').slice(0, 7);
}

function formatProblems(problems: readonly SyncProblem[]): string {
  const shown = problems.slice(0, 5).map(formatProblem);
  return shown.join('; ') + (problems.length > 5 ? ` (and ${problems.length - 5} more)` : '');
}

/** The digest of the manifests under `dir` in a loaded commit. */
function digestOf(loaded: LoadedRevision, dir: string): string {
  let digest = loaded.digests.get(dir);
  if (digest === undefined) {
    digest = scopeDigest(loaded.fileHashes, dir);
    loaded.digests.set(dir, digest);
  }
  return digest;
}

/** Why the directories of scoped rejections with nothing to go back to keep the source not Ready. */
function noLastGoodMessage(stuck: readonly RejectedRevision[]): string {
  return stuck.map((r) => `${r.scope ?? '.'} holds ${short(r.revision)}, which rollout ${r.rollout} rejected, and no earlier revision of it finished Healthy: nothing to roll back to`).join('; ');
}

/** What the cluster should hold for a commit: its documents, with each held-back directory's from its last good commit. */
interface DesiredState {
  parts: RevisionPart<SyncDocument>[];
  problems: SyncProblem[];
  holds: HeldBack[];
  /** Scoped rejections Git still holds with no good commit to go back to. */
  stuck: RejectedRevision[];
}

export class GitSourceController {
  readonly #opts: GitSourceControllerOptions;
  readonly #log: Logger;
  readonly #queue = new WorkQueue({ baseDelayMs: 1000, maxDelayMs: MAX_BACKOFF_MS });
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly #client: SyncClient;
  readonly #events: EventRecorder;
  readonly #mirror: GitMirror;
  readonly #driftCorrections: Counter<'namespace' | 'gitsource'>;
  /** Parsed documents by source key and revision (the last few read): drift checks and holds do not re-read Git. */
  readonly #documents = new Map<string, Map<string, LoadedRevision>>();
  /** When each source's next Git poll is due (ms since the epoch). */
  readonly #pollAt = new Map<string, number>();
  /** Sources whose next reconcile polls Git whatever the time (webhook, new or changed spec). */
  readonly #pollNow = new Set<string>();
  /** What each source last pinned in the mirror: a poll that changes nothing writes no refs. */
  readonly #pinned = new Map<string, string>();
  /** Fetch failures in a row, for the backoff while Git is unreachable. */
  readonly #fetchFailures = new Map<string, number>();
  readonly sources: ResilientInformer<GitSourceObject>;
  readonly rollouts: ResilientInformer<RolloutObject>;
  #workers: Promise<void>[] = [];
  #running = false;

  constructor(opts: GitSourceControllerOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ controller: 'gitsource' });
    const kc = opts.kubeConfig;
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#client = SyncClient.forConfig(kc);
    this.#events = new EventRecorder(kc, this.#log);
    this.#mirror = new GitMirror({ cacheDir: opts.cacheDir, logger: this.#log });
    this.#driftCorrections = new Counter({
      name: 'weir_drift_corrections_total',
      help: 'Objects a GitSource found changed in the cluster and set back to Git.',
      labelNames: ['namespace', 'gitsource'] as const,
      registers: [opts.registry],
    });
    const ns = opts.namespace;
    const path = (plural: string): string => `/apis/${GROUP}/${VERSION}${ns ? `/namespaces/${ns}` : ''}/${plural}`;
    const list = async <T extends KubernetesObject>(plural: string): Promise<KubernetesListObject<T>> =>
      (ns
        ? await this.#custom.listNamespacedCustomObject({ group: GROUP, version: VERSION, plural, namespace: ns })
        : await this.#custom.listClusterCustomObject({ group: GROUP, version: VERSION, plural })) as KubernetesListObject<T>;
    this.sources = new ResilientInformer<GitSourceObject>({ kubeConfig: kc, logger: this.#log, name: 'gitsources', path: path('gitsources'), list: () => list('gitsources') });
    this.rollouts = new ResilientInformer<RolloutObject>({
      kubeConfig: kc,
      logger: this.#log,
      name: 'managed-rollouts',
      path: path('rollouts'),
      labelSelector: SOURCE_LABEL,
      list: async () =>
        (ns
          ? await this.#custom.listNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, labelSelector: SOURCE_LABEL })
          : await this.#custom.listClusterCustomObject({ ...ROLLOUTS, labelSelector: SOURCE_LABEL })) as KubernetesListObject<RolloutObject>,
    });
    /** Reconcile now, polling Git (a new or changed source). */
    const poll = (s: GitSourceObject): void => {
      const key = keyOf(s.metadata.namespace, s.metadata.name);
      this.#pollNow.add(key);
      this.#queue.add(key);
    };
    /** Reconcile now without polling Git (a managed Rollout changed: only rollbacks and history). */
    const enqueue = (s: GitSourceObject): void => {
      this.#queue.add(keyOf(s.metadata.namespace, s.metadata.name));
    };
    this.sources.on('add', poll);
    this.sources.on('update', (s) => {
      // Our own status writes do not need a reconcile; spec changes do.
      const generation = s.metadata.generation;
      if (generation === undefined || generation !== s.status?.observedGeneration) poll(s);
    });
    this.sources.on('delete', (s) => {
      const key = keyOf(s.metadata.namespace, s.metadata.name);
      this.#documents.delete(key);
      this.#pinned.delete(key);
      this.#pollAt.delete(key);
      this.#fetchFailures.delete(key);
    });
    const onRollout = (r: RolloutObject): void => {
      const label = r.metadata.labels?.[SOURCE_LABEL];
      if (!label) return;
      // The label may be shortened with a hash for long names: match it against the sources.
      for (const s of this.sources.list(r.metadata.namespace)) if (sourceLabelValue(this.#source(s)) === label) enqueue(s);
    };
    this.rollouts.on('update', onRollout);
  }

  get ready(): boolean {
    return this.#running && this.sources.synced && this.rollouts.synced;
  }

  async start(): Promise<void> {
    await Promise.all([this.sources.start(), this.rollouts.start()]);
    this.#running = true;
    this.#workers = runWorkers(this.#queue, this.#opts.workers ?? 2, (key) => this.reconcile(key), (key, err, retryInMs) => {
      (kubeErrorCode(err) === 409 ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log))({ gitsource: key, err: describeKubeError(err), retryInMs }, 'reconcile failed; retrying');
    });
    this.#log.info({ namespace: this.#opts.namespace ?? '(all)' }, 'gitsource controller started');
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#queue.shutDown();
    await Promise.all(this.#workers);
    await Promise.all([this.sources.stop(), this.rollouts.stop()]);
  }

  /** Webhook: fetch now every GitSource whose URL is one of `urls` (all of them when `urls` is empty). */
  triggerByUrl(urls: readonly string[], normalize: (u: string) => string): number {
    const wanted = new Set(urls.map(normalize));
    let n = 0;
    for (const s of this.sources.list()) {
      if (wanted.size === 0 || wanted.has(normalize(s.spec.url))) {
        const key = keyOf(s.metadata.namespace, s.metadata.name);
        this.#pollNow.add(key);
        this.#queue.add(key);
        n++;
      }
    }
    return n;
  }

  async #remote(gs: GitSourceObject): Promise<GitRemote> {
    const timeoutMs = parseDuration(gs.spec.timeout ?? '60s');
    const secretName = gs.spec.secretRef?.name;
    if (!secretName) return { url: gs.spec.url, timeoutMs };
    const secret = await this.#core.readNamespacedSecret({ name: secretName, namespace: gs.metadata.namespace ?? 'default' });
    const data = Object.fromEntries(Object.entries(secret.data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
    const auth = {
      ...(data.username ? { username: data.username } : {}),
      ...(data.password ? { password: data.password } : {}),
      ...(data.token ? { token: data.token } : {}),
    };
    return { url: gs.spec.url, timeoutMs, auth };
  }

  /** One reconcile; returns when to look again (ms since the epoch). */
  async reconcile(key: string): Promise<number | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.sources.get(name, namespace);
    if (!cached) return undefined;
    // A copy: status writes within this reconcile move its resourceVersion on.
    const stored = structuredClone(cached);
    const now = this.#opts.now?.() ?? new Date();
    const status: GitSourceStatus = structuredClone(stored.status ?? {});
    if (stored.metadata.generation !== undefined) status.observedGeneration = stored.metadata.generation;
    const at = now.toISOString();

    const { gitSource, errors } = validateGitSource(stored);
    if (!gitSource || errors.length > 0) {
      const message = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'InvalidSpec', message }, at);
      await this.#writeStatus(stored, status);
      return undefined;
    }
    if (gitSource.spec.suspend === true) {
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'Suspended', message: 'spec.suspend is true' }, at);
      await this.#writeStatus(stored, status);
      return undefined;
    }
    const intervalMs = parseDuration(gitSource.spec.interval ?? '1m');
    let remote: GitRemote;
    try {
      remote = await this.#remote(stored);
    } catch (err) {
      status.conditions = setCondition(status.conditions, { type: 'SourceUnavailable', status: 'True', reason: 'SecretUnavailable', message: describeKubeError(err) }, at);
      await this.#writeStatus(stored, status);
      return now.getTime() + Math.min(intervalMs, MAX_BACKOFF_MS);
    }
    const ref = this.#ref(gitSource);

    // A failed rollout sends the cluster back to the last good revision first.
    await this.#handleRollouts(stored, gitSource, status, remote, ref, now);
    const retryAt = this.#nextRetryAt(status);
    const soonest = (t: number): number => (retryAt === undefined ? t : Math.min(t, Math.max(retryAt, now.getTime() + 1000)));

    // Git is polled at the interval (or now, when asked); a Rollout's status changing does not poll.
    const pollAt = this.#pollAt.get(key) ?? 0;
    if (!this.#pollNow.delete(key) && now.getTime() < pollAt) {
      await this.#writeStatus(stored, status);
      return soonest(pollAt);
    }
    let head: string;
    try {
      head = await this.#mirror.resolveRef(remote, ref);
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const wasUnavailable = status.conditions?.some((c) => c.type === 'SourceUnavailable' && c.status === 'True');
      status.conditions = setCondition(status.conditions, { type: 'SourceUnavailable', status: 'True', reason: 'FetchFailed', message }, at);
      if (!wasUnavailable) await this.#event(stored, 'Warning', 'SourceUnavailable', `${message}; keeping revision ${short(status.lastAppliedRevision)}`);
      // Exponential backoff from 1 s, capped by the interval.
      const failures = (this.#fetchFailures.get(key) ?? 0) + 1;
      this.#fetchFailures.set(key, failures);
      const next = now.getTime() + Math.min(intervalMs, 1000 * 2 ** Math.min(failures - 1, 8));
      this.#pollAt.set(key, next);
      const outOfSync = gitOutOfSync(status, undefined, resolveGitSourceSpec(gitSource.spec).rollback.writeBack);
      if (outOfSync !== undefined) status.conditions = setCondition(status.conditions, outOfSync, at);
      await this.#writeStatus(stored, status);
      return soonest(next);
    }
    this.#fetchFailures.delete(key);
    status.lastFetchedRevision = head;
    status.conditions = setCondition(status.conditions, { type: 'SourceUnavailable', status: 'False', reason: 'Fetched', message: `fetched ${short(head)}` }, at);

    // Git answers: what a rejection still owes it (a revert that could not be pushed) is done now.
    const writeBackMode = resolveGitSourceSpec(gitSource.spec).rollback.writeBack;
    for (const e of status.rejectedRevisions ?? []) {
      // The rejected commit is back at the tip (a force-push): it needs reverting again.
      if (writeBackMode === 'revert' && e.revision === head && (e.writeBack === 'pushed' || e.writeBack === 'superseded')) e.writeBack = 'pending';
      if (e.writeBack === 'pending') await this.#settleWriteBack(stored, gitSource, status, remote, e, head, at);
    }

    let rejected = findWholeRejection(status, head);
    if (rejected === undefined && head !== status.lastAppliedRevision) rejected = await this.#sameTreeAsRejected(stored, gitSource, status, remote, ref, head, at);
    if (rejected) {
      const applied = status.lastAppliedRevision === undefined ? undefined : findWholeRejection(status, status.lastAppliedRevision);
      if (applied === undefined) {
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: 'RevisionRejected', message: `${short(head)} was rejected (${rejected.reason}); running ${short(status.lastAppliedRevision)} until a new commit` }, at);
      }
    } else if (head !== status.lastAppliedRevision) {
      await this.#applyRevision(stored, gitSource, status, remote, ref, head, at, 'apply');
    } else {
      await this.#correctDrift(stored, status, remote, ref, head, at);
    }
    const outOfSync = gitOutOfSync(status, head, writeBackMode);
    if (outOfSync !== undefined) status.conditions = setCondition(status.conditions, outOfSync, at);
    await this.#pin(stored, remote, status);
    await this.#writeStatus(stored, status);
    const next = now.getTime() + intervalMs;
    this.#pollAt.set(key, next);
    return soonest(next);
  }

  /**
   * A new head whose tree is that of a rejected commit (the same content
   * force-pushed again, or rebased): rejected too, for the same reason,
   * without applying anything.
   */
  async #sameTreeAsRejected(stored: GitSourceObject, gs: GitSource, status: GitSourceStatus, remote: GitRemote, ref: string, head: string, at: string): Promise<RejectedRevision | undefined> {
    if ((status.rejectedRevisions ?? []).every((r) => r.tree === undefined || r.scope !== undefined)) return undefined;
    await this.#mirror.fetch(remote, ref, head);
    const tree = (await this.#mirror.commitInfo(remote, head)).tree;
    // A scoped rejection needs no copy: its directory's digest holds it back whatever the commit.
    const same = findWholeRejection(status, head, tree);
    if (same === undefined) return undefined;
    const entry: RejectedRevision = {
      revision: head,
      tree,
      rollout: same.rollout,
      reason: `same content as rejected ${short(same.revision)}: ${same.reason}`,
      at,
      ...(same.rollbackTo !== undefined ? { rollbackTo: same.rollbackTo } : {}),
      writeBack: initialWriteBack(resolveGitSourceSpec(gs.spec).rollback.writeBack, gs.spec.ref?.branch),
    };
    status.rejectedRevisions = [...(status.rejectedRevisions ?? []), entry];
    await this.#writeStatus(stored, status);
    await this.#event(stored, 'Warning', 'RevisionRejected', `${short(head)} rejected without applying it: ${entry.reason}`);
    if (entry.writeBack === 'pending') await this.#settleWriteBack(stored, gs, status, remote, entry, head, at);
    return entry;
  }

  /** Keeps what a rollback or a revert may need in the local mirror, whatever the remote does: the applied commit, each managed Rollout's last good one, and rejected commits still to revert. */
  async #pin(stored: GitSourceObject, remote: GitRemote, status: GitSourceStatus): Promise<void> {
    const label = sourceLabelValue(this.#source(stored));
    const keep = new Set<string>();
    if (status.lastAppliedRevision !== undefined) keep.add(status.lastAppliedRevision);
    for (const r of this.rollouts.list(stored.metadata.namespace)) {
      const good = r.metadata.labels?.[SOURCE_LABEL] === label ? r.status?.git?.stableRevision : undefined;
      if (good !== undefined) keep.add(good);
    }
    for (const e of status.rejectedRevisions ?? []) {
      if (e.rollbackTo !== undefined) keep.add(e.rollbackTo);
      if (e.writeBack === 'pending') keep.add(e.revision);
    }
    const commits = [...keep].filter((c) => /^[0-9a-f]{40}$/.test(c)).sort();
    const key = keyOf(stored.metadata.namespace, stored.metadata.name);
    if (this.#pinned.get(key) === commits.join(',')) return;
    try {
      await this.#mirror.pin(remote, mirrorOwner(stored), commits);
      this.#pinned.set(key, commits.join(','));
    } catch (err) {
      this.#log.warn({ gitsource: key, err: err instanceof Error ? err.message : String(err) }, 'could not pin the commits a rollback needs in the local mirror');
    }
  }

  #ref(gs: GitSource): string {
    return gs.spec.ref?.commit ?? gs.spec.ref?.tag ?? gs.spec.ref?.branch ?? 'main';
  }

  async #documentsAt(gs: GitSourceObject, remote: GitRemote, ref: string, revision: string): Promise<LoadedRevision> {
    const key = keyOf(gs.metadata.namespace, gs.metadata.name);
    const loaded = this.#documents.get(key) ?? new Map<string, LoadedRevision>();
    this.#documents.set(key, loaded);
    const cached = loaded.get(revision);
    if (cached !== undefined) {
      // Most recently used last.
      loaded.delete(revision);
      loaded.set(revision, cached);
      return cached;
    }
    // Reading needs only the commit itself: a rollback target kept in the mirror needs no remote (it may be gone from it, force-pushed away).
    if (!(await this.#mirror.hasCommit(remote, revision))) await this.#mirror.fetch(remote, ref, revision);
    const files = await this.#mirror.readFiles(remote, revision, gs.spec.paths ?? ['.']);
    const fileHashes = new Map(files.files.map((f) => [f.path, fileHash(f.content)]));
    const parsed = parseDocuments(files.files);
    const prepared = await prepareDocuments(parsed.documents, {
      namespace: gs.metadata.namespace ?? 'default',
      namespaced: (apiVersion, kind) => this.#client.isNamespaced(apiVersion, kind),
    });
    const problems: SyncProblem[] = [...files.problems.map((p) => ({ file: p.path, line: 1, message: p.message })), ...parsed.problems, ...prepared.problems];
    const result: LoadedRevision = { documents: prepared.documents, problems, fileHashes, digests: new Map() };
    loaded.set(revision, result);
    for (const old of loaded.keys()) if (loaded.size > LOADED_REVISIONS) loaded.delete(old);
    return result;
  }

  /**
   * What the cluster should hold for `revision`: its manifests, except the
   * directories a scoped rejection holds back while Git still holds the
   * rejected content there; those come from their last good commit.
   */
  async #desiredAt(gs: GitSourceObject, status: GitSourceStatus, remote: GitRemote, ref: string, revision: string): Promise<DesiredState> {
    const target = await this.#documentsAt(gs, remote, ref, revision);
    const scoped = (status.rejectedRevisions ?? []).filter((r) => r.scope !== undefined);
    const digestAt = (dir: string): string => digestOf(target, dir);
    const holds = scoped.length === 0 ? [] : activeHolds(scoped, digestAt);
    const stuck = scoped.filter((r) => r.rollbackTo === undefined && r.scope !== undefined && digestAt(r.scope) === r.scopeDigest && !holds.some((h) => h.path === r.scope));
    const held: { hold: HeldBack; documents: SyncDocument[] }[] = [];
    const problems = [...target.problems];
    for (const hold of holds) {
      const good = await this.#documentsAt(gs, remote, ref, hold.revision);
      held.push({ hold, documents: good.documents });
      problems.push(...good.problems.filter((p) => p.file === hold.path || p.file.startsWith(`${hold.path}/`)));
    }
    return { parts: composeRevisions({ revision, documents: target.documents }, held), problems, holds, stuck };
  }

  /** Each part's documents decorated with the commit it comes from (a held-back directory carries its good commit). */
  #decorated(gs: GitSourceObject, parts: readonly RevisionPart<SyncDocument>[]): SyncDocument[] {
    return parts.flatMap((p) => decorateDocuments(p.documents, { source: this.#source(gs), revision: p.revision }));
  }

  /**
   * Validates the whole commit (with its held-back directories from their
   * good commits), then applies it (CRDs and Namespaces first) and prunes what
   * left Git. The GitSource is Ready only when the cluster then matches.
   */
  async #applyRevision(stored: GitSourceObject, gs: GitSource, status: GitSourceStatus, remote: GitRemote, ref: string, revision: string, at: string, mode: 'apply' | 'rollback'): Promise<boolean> {
    status.lastAttemptedRevision = revision;
    let desired: DesiredState;
    try {
      desired = await this.#desiredAt(stored, status, remote, ref, revision);
    } catch (err) {
      // A new commit that cannot be read yet: the cluster still matches the applied one; the reconcile is retried with backoff.
      if (mode === 'apply') throw err;
      // A rollback target that cannot be read (gone from Git and from the mirror): nothing is applied, and the source is not Ready.
      const message = `cannot roll back: ${short(revision)} cannot be read: ${err instanceof Error ? err.message : String(err)}; running ${short(status.lastAppliedRevision)}`;
      const reported = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.message === message) === true;
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'RollbackFailed', message }, at);
      if (!reported) await this.#event(stored, 'Warning', 'RollbackFailed', message);
      return false;
    }
    const documents = desired.parts.flatMap((p) => p.documents);
    const problems = [
      ...desired.problems,
      ...(await validateDocuments(documents, serverDryRun(this.#client), {
        fallbackNamespace: stored.metadata.namespace ?? 'default',
        // A template the commit lacks must be in the cluster (and not one this commit's prune would delete).
        templateExists: clusterTemplateLookup(this.#client, { source: this.#source(stored), prune: gs.spec.prune !== false }),
      })),
    ];
    const heldText = desired.holds.map((h) => `${h.path} held at ${short(h.revision)} (rollout ${h.rollout} rejected ${short(h.rejected)})`).join(', ');
    if (problems.length > 0) {
      const message = `${short(revision)}${heldText === '' ? '' : ` with ${heldText}`}: ${formatProblems(problems)}`;
      // The same commit is checked again at each poll (the cluster may have changed); it is reported once.
      const reported = status.conditions?.some((c) => c.type === 'ValidationFailed' && c.status === 'True' && c.message === message) === true;
      status.conditions = setCondition(status.conditions, { type: 'ValidationFailed', status: 'True', reason: 'InvalidManifests', message }, at);
      const what = mode === 'rollback' ? `cannot roll back: nothing from ${short(revision)} applied` : `nothing from ${short(revision)} applied`;
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: mode === 'rollback' ? 'RollbackFailed' : 'ValidationFailed', message: `${what}; running ${short(status.lastAppliedRevision)}` }, at);
      if (!reported) await this.#event(stored, 'Warning', 'ValidationFailed', message);
      return false;
    }
    status.conditions = setCondition(status.conditions, { type: 'ValidationFailed', status: 'False', reason: 'Valid', message: `${short(revision)}: ${documents.length} documents valid` }, at);
    let applied: ObjectRef[];
    try {
      // What the Rollout controller and HPAs own stays as it is live (sync/controlled-fields.ts).
      const toApply = await yieldControlledFields(this.#decorated(stored, desired.parts), this.#liveLookup());
      applied = await applyDocuments(this.#client, toApply, { fieldManager: 'weir' });
    } catch (err) {
      const message = `${short(revision)}: ${err instanceof Error ? err.message : String(err)}`;
      status.conditions = setCondition(status.conditions, { type: 'ApplyFailed', status: 'True', reason: 'ApplyFailed', message }, at);
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: mode === 'rollback' ? 'RollbackFailed' : 'ApplyFailed', message }, at);
      await this.#event(stored, 'Warning', 'ApplyFailed', message);
      return false;
    }
    const previous = status.inventory ?? [];
    if (gs.spec.prune !== false) {
      const gone = toPrune(previous, applied);
      if (gone.length > 0) {
        const pruned = await pruneObjects(this.#client, gone, this.#source(stored));
        if (pruned.deleted.length > 0) await this.#event(stored, 'Normal', 'Pruned', `${short(revision)}: deleted ${pruned.deleted.map(formatRef).join(', ')}`);
        if (pruned.failed.length > 0) await this.#event(stored, 'Warning', 'PruneFailed', `${short(revision)}: could not delete ${pruned.failed.map((f) => formatRef(f.ref)).join(', ')}`);
      }
    }
    const newlyHeld = desired.holds.filter((h) => !(status.heldBack ?? []).some((o) => o.path === h.path && o.rejected === h.rejected && o.revision === h.revision));
    status.inventory = applied;
    status.lastAppliedRevision = revision;
    status.lastAppliedShortRevision = short(revision);
    if (desired.holds.length > 0) status.heldBack = desired.holds;
    else delete status.heldBack;
    // Only what the cluster now holds stays parsed (a large repository's documents are not kept twice).
    const used = new Set([revision, ...desired.holds.map((h) => h.revision)]);
    const loaded = this.#documents.get(keyOf(stored.metadata.namespace, stored.metadata.name));
    for (const r of loaded?.keys() ?? []) if (!used.has(r)) loaded?.delete(r);
    status.conditions = setCondition(status.conditions, { type: 'ApplyFailed', status: 'False', reason: 'Applied', message: `${short(revision)} applied` }, at);
    // A rollback of only some directories says which; the rest is the commit Git holds.
    const scopedRollback = mode === 'rollback' && desired.holds.length > 0;
    const done = scopedRollback
      ? `rolled back ${newlyHeld.map((h) => `${h.path} to ${short(h.revision)}`).join(', ') || 'held directories'}; the rest stays at ${short(revision)} (${applied.length} objects)`
      : `${mode === 'rollback' ? 'rolled back to' : 'applied'} ${short(revision)}${heldText === '' ? '' : ` with ${heldText}`} (${applied.length} objects)`;
    if (desired.stuck.length > 0) {
      const message = noLastGoodMessage(desired.stuck);
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'NoLastGoodRevision', message }, at);
    } else {
      status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'True', reason: mode === 'rollback' ? 'RolledBack' : 'Applied', message: done }, at);
    }
    await this.#recordHistory(status, remote, revision, at, mode);
    await this.#event(stored, 'Normal', mode === 'rollback' ? 'RolledBack' : 'Applied', done);
    return true;
  }

  async #recordHistory(status: GitSourceStatus, remote: GitRemote, revision: string, at: string, mode: 'apply' | 'rollback'): Promise<void> {
    const history = status.history ?? [];
    // A revision still rolling out when a newer one is applied was superseded.
    for (const h of history) if (h.outcome === 'applied' && h.revision !== revision) h.outcome = 'superseded';
    if (mode === 'rollback' && history.some((h) => h.revision === revision)) {
      status.history = history;
      return;
    }
    const info = await this.#mirror.commitInfo(remote, revision).catch(() => undefined);
    history.push({
      revision,
      appliedAt: at,
      outcome: 'applied',
      ...(info ? { author: `${info.author.name} <${info.author.email}>`, message: info.message.split('\n')[0] ?? '', committedAt: info.time } : {}),
    });
    status.history = history.slice(-HISTORY_LIMIT);
  }

  /** The live reads yieldControlledFields needs. Without permission to list HPAs, none are known (and that is logged). */
  #liveLookup(read: LiveGetter = liveReader(this.#client)): LiveLookup {
    return {
      read,
      autoscalers: async (namespace) => {
        try {
          return (await this.#client.list('autoscaling/v2', 'HorizontalPodAutoscaler', namespace)).items;
        } catch (err) {
          const code = kubeErrorCode(err);
          if (code !== 403 && code !== 404) throw err;
          this.#log.warn({ namespace, err: describeKubeError(err) }, 'cannot list HorizontalPodAutoscalers: Git sync will set the replicas of autoscaled objects to what Git says');
          return [];
        }
      },
    };
  }

  #source(gs: GitSourceObject): SourceRef {
    return { namespace: gs.metadata.namespace ?? 'default', name: gs.metadata.name ?? '' };
  }

  async #correctDrift(stored: GitSourceObject, status: GitSourceStatus, remote: GitRemote, ref: string, revision: string, at: string): Promise<void> {
    const desired = await this.#desiredAt(stored, status, remote, ref, revision);
    // What the Rollout controller and HPAs own (weights, selector hashes, replicas) is never drift.
    // One read of each object serves both steps of this pass.
    const read = onceEach(liveReader(this.#client));
    const documents = await yieldControlledFields(this.#decorated(stored, desired.parts), this.#liveLookup(read));
    const drifted = await detectDrift(this.#client, read, documents, {});
    if (drifted.length === 0) return;
    const corrected = await correctDrift(this.#client, drifted, documents, {});
    this.#driftCorrections.inc({ namespace: stored.metadata.namespace ?? 'default', gitsource: stored.metadata.name ?? '' }, corrected.length);
    status.lastDriftCorrection = { time: at, objects: corrected.map((c) => ({ ...c.ref, fields: c.fields })) };
    const described = drifted.map((d) => `${formatRef(d.ref)} (${d.description.join('; ')})`).join(', ');
    await this.#event(stored, 'Warning', 'DriftCorrected', `set back to ${short(revision)}: ${described}`);
  }

  /**
   * What the managed Rollouts say: a failed one rejects its revision and the
   * cluster goes back to the last good one; an unmeasured one (analysis
   * Error, onAnalysisError retry) is Unverified and retried; a finished one
   * marks its revision promoted. Each rejection is written to the status
   * before anything acts on it, so a restart at any point resumes from it and
   * never applies or rolls out the rejected commit again.
   */
  async #handleRollouts(stored: GitSourceObject, gs: GitSource, status: GitSourceStatus, remote: GitRemote, ref: string, now: Date): Promise<void> {
    const at = now.toISOString();
    const label = sourceLabelValue(this.#source(stored));
    const managed = this.rollouts.list(stored.metadata.namespace).filter((r) => r.metadata.labels?.[SOURCE_LABEL] === label);
    const rollback = resolveGitSourceSpec(gs.spec).rollback;
    const fresh: RejectedRevision[] = [];
    for (const rollout of managed) {
      const failure = rolloutFailure(rollout);
      if (failure === undefined || isRejectedFor(status, failure.revision, failure.rollout)) continue;
      if (failure.verdict === 'unmeasured' && rollback.onAnalysisError === 'retry') {
        await this.#unverified(stored, status, rollout, failure, now);
        continue;
      }
      const info = await this.#mirror.commitInfo(remote, failure.revision).catch(() => undefined);
      const scope = await this.#scopeOf(stored, remote, ref, failure);
      let writeBack = initialWriteBack(rollback.writeBack, gs.spec.ref?.branch);
      if (writeBack === 'pending' && info !== undefined && isWeirRevert(info)) {
        // Reverting Weir's own revert would put the release it rejected back into Git (and the cluster).
        writeBack = 'none';
        await this.#event(stored, 'Warning', 'WriteBackSkipped', `${short(failure.revision)} is Weir's own revert: it is rejected but not reverted (that would restore the release it undid); fix forward in Git`);
      }
      const entry: RejectedRevision = {
        revision: failure.revision,
        ...(info !== undefined ? { tree: info.tree } : {}),
        rollout: failure.rollout,
        reason: failure.reason,
        at,
        ...(failure.good !== undefined ? { rollbackTo: failure.good } : {}),
        ...(scope ?? {}),
        writeBack,
      };
      status.rejectedRevisions = [...(status.rejectedRevisions ?? []), entry];
      const unverified = status.unverifiedRevisions?.filter((u) => u.revision !== failure.revision) ?? [];
      if (unverified.length > 0) status.unverifiedRevisions = unverified;
      else delete status.unverifiedRevisions;
      for (const h of status.history ?? []) if (h.revision === failure.revision) Object.assign(h, { outcome: 'rejected', reason: failure.reason });
      fresh.push(entry);
      if (rollback.writeBack !== 'none' && gs.spec.ref?.branch === undefined) await this.#event(stored, 'Warning', 'WriteBackSkipped', 'write-back needs spec.ref.branch');
    }
    if (fresh.length > 0) {
      // Durable before it takes effect.
      await this.#writeStatus(stored, status);
      for (const e of fresh) {
        const only = e.scope === undefined ? '' : ` (only ${e.scope} goes back; its neighbours stay)`;
        await this.#event(stored, 'Warning', 'RevisionRejected', `${short(e.revision)} rejected: rollout ${e.rollout}: ${e.reason}${only}`);
      }
    }
    // The cluster still holds a rejected commit: go back to its last good one (again, after a restart; idempotent).
    const lastApplied = status.lastAppliedRevision;
    const applied = lastApplied === undefined ? undefined : findWholeRejection(status, lastApplied);
    if (applied !== undefined && lastApplied !== undefined) {
      if (applied.rollbackTo !== undefined) {
        await this.#applyRevision(stored, gs, status, remote, ref, applied.rollbackTo, at, 'rollback');
      } else {
        const message = `${short(lastApplied)} was rejected and no earlier revision of rollout ${applied.rollout} finished Healthy: nothing to roll back to`;
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'NoLastGoodRevision', message }, at);
      }
    } else if (lastApplied !== undefined && (status.rejectedRevisions ?? []).some((r) => r.scope !== undefined)) {
      // Scoped rejections: the failed apps' directories go back, the rest stays (again, after a restart; idempotent).
      const desired = await this.#desiredAt(stored, status, remote, ref, lastApplied);
      if (!sameHolds(desired.holds, status.heldBack)) {
        await this.#applyRevision(stored, gs, status, remote, ref, lastApplied, at, 'rollback');
      } else if (desired.stuck.length > 0) {
        const message = noLastGoodMessage(desired.stuck);
        status.conditions = setCondition(status.conditions, { type: 'Ready', status: 'False', reason: 'NoLastGoodRevision', message }, at);
      }
    }
    for (const e of fresh) if (e.writeBack === 'pending') await this.#settleWriteBack(stored, gs, status, remote, e, undefined, at);
    for (const rollout of managed) this.#promoted(status, rollout);
    this.#pruneUnverified(status, managed);
  }

  /** The directory a failed Rollout's rejection is scoped to, with the digest of the rejected manifests there; undefined: the whole source. */
  async #scopeOf(stored: GitSourceObject, remote: GitRemote, ref: string, failure: RolloutFailure): Promise<{ scope: string; scopeDigest: string } | undefined> {
    let loaded: LoadedRevision;
    try {
      loaded = await this.#documentsAt(stored, remote, ref, failure.revision);
    } catch (err) {
      this.#log.warn({ gitsource: keyOf(stored.metadata.namespace, stored.metadata.name), revision: failure.revision, err: err instanceof Error ? err.message : String(err) }, 'cannot read the rejected commit: its rejection covers the whole source');
      return undefined;
    }
    const namespace = stored.metadata.namespace ?? 'default';
    const doc = loaded.documents.find((d) => d.object.kind === 'Rollout' && d.object.metadata.name === failure.rollout && (d.object.metadata.namespace ?? namespace) === namespace);
    const scope = doc === undefined ? undefined : rolloutScope(doc.file, stored.spec.paths ?? ['.']);
    return scope === undefined ? undefined : { scope, scopeDigest: digestOf(loaded, scope) };
  }

  /** A Healthy managed Rollout marks its revision promoted. */
  #promoted(status: GitSourceStatus, rollout: RolloutObject): void {
    if (rollout.status?.phase !== 'Healthy') return;
    const stable = rollout.status.git?.stableRevision;
    for (const h of status.history ?? []) if (h.revision === stable && (h.outcome === 'applied' || h.outcome === 'superseded' || h.outcome === 'unverified')) h.outcome = 'promoted';
  }

  /** Unverified revisions stay while their Rollout is still on them and has not finished Healthy on them (promoted, or moved on: no more retries). */
  #pruneUnverified(status: GitSourceStatus, managed: readonly RolloutObject[]): void {
    if (status.unverifiedRevisions === undefined) return;
    const kept = status.unverifiedRevisions.filter((u) => {
      const r = managed.find((m) => m.metadata.name === u.rollout);
      const git = r?.status?.git;
      if (git?.currentRevision !== u.revision) return false;
      return !(r?.status?.phase === 'Healthy' && git.stableRevision === u.revision);
    });
    if (kept.length > 0) status.unverifiedRevisions = kept;
    else delete status.unverifiedRevisions;
  }

  /**
   * A rollout aborted on an analysis Error: nothing measured the release.
   * The commit stays applied (the rollout serves stable), is recorded
   * Unverified, and the rollout is retried with backoff up to a limit.
   */
  async #unverified(stored: GitSourceObject, status: GitSourceStatus, rollout: RolloutObject, failure: RolloutFailure, now: Date): Promise<void> {
    const at = now.toISOString();
    const list = status.unverifiedRevisions ?? [];
    let entry = list.find((u) => u.revision === failure.revision && u.rollout === failure.rollout);
    if (entry === undefined) {
      entry = { revision: failure.revision, rollout: failure.rollout, reason: failure.reason, at, attempts: 0, nextRetryAt: new Date(now.getTime() + unverifiedRetryDelayMs(0)).toISOString() };
      status.unverifiedRevisions = [...list.filter((u) => u.rollout !== failure.rollout), entry];
      for (const h of status.history ?? []) if (h.revision === failure.revision && h.outcome !== 'rejected') Object.assign(h, { outcome: 'unverified', reason: failure.reason });
      await this.#writeStatus(stored, status);
      await this.#event(stored, 'Warning', 'RevisionUnverified', `${short(failure.revision)} unverified: rollout ${failure.rollout}: ${failure.reason}; retrying in ${unverifiedRetryDelayMs(0) / 1000}s (onAnalysisError: retry)`);
      return;
    }
    entry.reason = failure.reason;
    if (entry.nextRetryAt === undefined || now.getTime() < Date.parse(entry.nextRetryAt)) return;
    entry.attempts += 1;
    if (entry.attempts >= UNVERIFIED_RETRY_LIMIT) delete entry.nextRetryAt;
    else entry.nextRetryAt = new Date(now.getTime() + unverifiedRetryDelayMs(entry.attempts)).toISOString();
    // The attempt is counted before it is made: a restart never retries more often than the backoff says.
    await this.#writeStatus(stored, status);
    try {
      const plan = planRetry(rollout);
      const body = statusPatchBody(plan, rollout.metadata.resourceVersion);
      await this.#custom.patchNamespacedCustomObjectStatus({ ...ROLLOUTS, namespace: rollout.metadata.namespace ?? 'default', name: failure.rollout, body, fieldManager: 'weir-gitsource' }, MERGE_PATCH);
      const last = entry.nextRetryAt === undefined ? ` (the last of ${UNVERIFIED_RETRY_LIMIT} automatic retries; then weir retry by hand)` : '';
      await this.#event(stored, 'Normal', 'UnverifiedRetried', `retrying rollout ${failure.rollout} on ${short(failure.revision)}, attempt ${entry.attempts}${last}`);
    } catch (err) {
      await this.#event(stored, 'Warning', 'RetryFailed', `could not retry rollout ${failure.rollout}: ${describeKubeError(err)}`);
    }
  }

  /** When the next automatic retry of an unverified release is due (ms since the epoch). */
  #nextRetryAt(status: GitSourceStatus): number | undefined {
    const due = (status.unverifiedRevisions ?? []).flatMap((u) => (u.nextRetryAt === undefined ? [] : [Date.parse(u.nextRetryAt)]));
    return due.length === 0 ? undefined : Math.min(...due);
  }

  /**
   * One step of a pending write-back: push the revert (or find that it was
   * pushed before a restart, or that a newer commit superseded it). A failure
   * keeps it pending, to be tried again after the next successful fetch.
   */
  async #settleWriteBack(stored: GitSourceObject, gs: GitSource, status: GitSourceStatus, remote: GitRemote, entry: RejectedRevision, head: string | undefined, at: string): Promise<void> {
    const mode = resolveGitSourceSpec(gs.spec).rollback.writeBack;
    const branch = gs.spec.ref?.branch;
    if (mode === 'none' || branch === undefined) {
      entry.writeBack = 'none';
      return;
    }
    try {
      let recent: { sha: string; message: string }[] = [];
      if (head !== undefined && head !== entry.revision && mode === 'revert') {
        await this.#mirror.fetch(remote, branch, head);
        recent = (await this.#mirror.log(remote, head, 2)).map((c) => ({ sha: c.sha, message: c.message }));
      }
      const rolloutRef = `${stored.metadata.namespace ?? 'default'}/${entry.rollout}`;
      let scoped: { unchanged: boolean; rollout: string } | undefined;
      if (entry.scope !== undefined && head !== undefined && head !== entry.revision) {
        // Does Git still hold, in the app's directory, what was rejected? Then newer commits (its neighbours') supersede nothing.
        const atHead = await this.#documentsAt(stored, remote, branch, head);
        scoped = { unchanged: digestOf(atHead, entry.scope) === entry.scopeDigest, rollout: rolloutRef };
      }
      const step = writeBackStep(entry, mode, head, recent, scoped);
      if (step.action === 'superseded') {
        entry.writeBack = 'superseded';
        delete entry.writeBackError;
        await this.#event(stored, 'Normal', 'WriteBackSuperseded', `no revert of ${short(entry.revision)}: ${branch} moved on to ${short(head)}`);
        return;
      }
      let revert: string;
      const target = mode === 'branch' ? revertBranchName(entry.revision) : branch;
      if (step.action === 'pushed') {
        revert = step.revert;
      } else {
        if (this.#opts.mayWrite?.() === false) throw new Error('not the leader: no write-back to Git');
        const subject = (await this.#mirror.commitInfo(remote, entry.revision).catch(() => undefined))?.message.split('\n')[0];
        const paths = entry.scope === undefined ? {} : { paths: [entry.scope] };
        const message = revertMessage({ commit: entry.revision, rollout: rolloutRef, reason: entry.reason, ...(subject ? { subject } : {}), ...paths });
        revert = await this.#mirror.revert(remote, { branch, commit: entry.revision, message, ...paths, ...(mode === 'branch' ? { targetBranch: target } : {}) });
      }
      entry.writeBack = 'pushed';
      delete entry.writeBackError;
      if (!(status.revertRevisions ?? []).some((r) => r.rejected === entry.revision && r.revert === revert)) {
        status.revertRevisions = [...(status.revertRevisions ?? []), { rejected: entry.revision, revert, branch: target, at }];
        await this.#event(stored, 'Normal', 'RevertPushed', `pushed ${short(revert)} reverting ${short(entry.revision)} to ${target}`);
      }
    } catch (err) {
      const message = err instanceof Error ? err.message : String(err);
      const repeated = entry.writeBackError === message;
      entry.writeBackError = message;
      if (!repeated) await this.#event(stored, 'Warning', 'WriteBackFailed', `could not write the revert of ${short(entry.revision)} back (will retry after the next successful fetch): ${message}`);
    }
  }

  async #event(gs: GitSourceObject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    await this.#events.record({ apiVersion: `${GROUP}/${VERSION}`, kind: 'GitSource', metadata: gs.metadata }, type, reason, message);
    (type === 'Warning' ? this.#log.warn.bind(this.#log) : this.#log.info.bind(this.#log))({ gitsource: keyOf(gs.metadata.namespace, gs.metadata.name), reason }, message);
  }

  /** Writes the status when it changed; `stored` (this reconcile's copy) takes the new resourceVersion, so a later write in the same reconcile does not conflict. */
  async #writeStatus(stored: GitSourceObject, status: GitSourceStatus): Promise<void> {
    if (isDeepStrictEqual(stored.status, status)) return;
    const written = (await this.#custom.replaceNamespacedCustomObjectStatus({
      ...GITSOURCES,
      namespace: stored.metadata.namespace ?? 'default',
      name: stored.metadata.name ?? '',
      body: { ...stored, status },
    })) as GitSourceObject;
    if (written.metadata.resourceVersion !== undefined) stored.metadata.resourceVersion = written.metadata.resourceVersion;
    stored.status = structuredClone(status);
  }
}
