// The GitSource controller: pulls a repository, validates a whole commit
// before applying any of it, applies with server-side apply, prunes what left
// Git, corrects drift, and returns the cluster to the last good revision when
// a rollout fails (optionally writing the revert back to Git).
import { isDeepStrictEqual } from 'node:util';
import { CoreV1Api, CustomObjectsApi, PatchStrategy, setHeaderOptions, type KubeConfig } from '@kubernetes/client-node';
import { Counter, type Registry } from 'prom-client';
import { GROUP, VERSION } from '../api/common.ts';
import type { GitSource, GitSourceStatus, ResolvedGitSourceSpec } from '../api/gitsource.ts';
import { describeKubeError, kubeErrorCode } from '../cluster/errors.ts';
import { EventRecorder } from '../cluster/events.ts';
import { filteredCache, type CacheReader, type InformerEvent, type ResilientInformer } from '../cluster/informer.ts';
import type { InformerCache } from '../cluster/informer-cache.ts';
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
import { planRetry, statusPatchBody } from '../engine/user-actions.ts';
import {
  MAX_BACKOFF_MS,
  UNVERIFIED_RETRY_LIMIT,
  activeHolds,
  admission,
  composeRevisions,
  fileHash,
  gitDown,
  gitOutOfSync,
  headDecision,
  isWeirRevert,
  nextReconcileAt,
  noLastGoodCondition,
  pollDue,
  rejection,
  reopenedWriteBacks,
  rollbackDecision,
  rolloutScope,
  rolloutVerdict,
  scopeDigest,
  scopedRollbackDecision,
  secretUnavailable,
  short,
  unverifiedStep,
  withRejection,
  withRolloutOutcomes,
  writeBackStep,
  type ConditionChange,
  type HeldBack,
  type RejectedRevision,
  type RevisionPart,
  type RolloutFailure,
} from './gitsource/index.ts';
import { Controller, GIT_SOURCES, ROLLOUTS as ROLLOUT_KIND, watches, type GitSourceObject, type Keys, type RolloutObject } from './kit/index.ts';

/** Conditions as the engine keeps them (transition time kept while the status stays). */
function setCondition(conditions: GitSourceStatus['conditions'], next: Parameters<typeof setConditionIn>[1], at: string): NonNullable<GitSourceStatus['conditions']> {
  return setConditionIn(conditions ?? [], next, at);
}

const GITSOURCES = { group: GROUP, version: VERSION, plural: 'gitsources' } as const;
const ROLLOUTS = { group: GROUP, version: VERSION, plural: 'rollouts' } as const;
const HISTORY_LIMIT = 50;
const MERGE_PATCH = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

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


export interface GitSourceControllerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  registry: Registry;
  /** Where fetched repositories are kept between polls. */
  cacheDir: string;
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

/** What the cluster should hold for a commit: its documents, with each held-back directory's from its last good commit. */
interface DesiredState {
  parts: RevisionPart<SyncDocument>[];
  problems: SyncProblem[];
  holds: HeldBack[];
  /** Scoped rejections Git still holds with no good commit to go back to. */
  stuck: RejectedRevision[];
}

/** One reconcile of one GitSource: what it read at its start, and the status it builds (written at most once per change). */
interface Pass {
  key: string;
  /** This reconcile's copy of the object (its resourceVersion moves on with each status write). */
  stored: GitSourceObject;
  /** The validated object. */
  gs: GitSource;
  spec: ResolvedGitSourceSpec;
  /** The branch followed, when the ref is one (write-back needs it). */
  branch: string | undefined;
  remote: GitRemote;
  /** The ref asked of Git: the commit, tag or branch of the spec. */
  ref: string;
  now: Date;
  /** `now` as the status records times. */
  at: string;
  status: GitSourceStatus;
}

export class GitSourceController {
  readonly #opts: GitSourceControllerOptions;
  readonly #log: Logger;
  readonly #controller: Controller;
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
  /** The Rollouts a GitSource manages (with its label), from the process's one Rollout informer. */
  readonly rollouts: CacheReader<RolloutObject>;

  /** `informers`: the process's shared informers (their namespace scope is this controller's). */
  constructor(opts: GitSourceControllerOptions, informers: InformerCache) {
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
    this.sources = informers.informer(GIT_SOURCES);
    const allRollouts = informers.informer(ROLLOUT_KIND);
    this.rollouts = filteredCache(allRollouts, (r) => r.metadata.labels?.[SOURCE_LABEL] !== undefined);
    /** Reconcile now, polling Git (a new or changed source). */
    const poll = (s: GitSourceObject): string => {
      const key = keyOf(s.metadata.namespace, s.metadata.name);
      this.#pollNow.add(key);
      return key;
    };
    const onSource = (s: GitSourceObject, event: InformerEvent): Keys => {
      const key = keyOf(s.metadata.namespace, s.metadata.name);
      if (event === 'add') return poll(s);
      if (event === 'update') {
        // Our own status writes do not need a reconcile; spec changes do.
        const generation = s.metadata.generation;
        return generation === undefined || generation !== s.status?.observedGeneration ? poll(s) : undefined;
      }
      this.#documents.delete(key);
      this.#pinned.delete(key);
      this.#pollAt.delete(key);
      this.#fetchFailures.delete(key);
      return undefined;
    };
    /** A managed Rollout changed: reconcile its source without polling Git (only rollbacks and history). */
    const sourcesOfRollout = (r: RolloutObject): Keys => {
      const label = r.metadata.labels?.[SOURCE_LABEL];
      if (!label) return undefined;
      // The label may be shortened with a hash for long names: match it against the sources.
      return this.sources
        .list(r.metadata.namespace)
        .filter((s) => sourceLabelValue(this.#source(s)) === label)
        .map((s) => keyOf(s.metadata.namespace, s.metadata.name));
    };
    this.#controller = new Controller(informers, {
      name: 'gitsource',
      kind: GIT_SOURCES,
      watches: [watches(GIT_SOURCES, onSource), watches(ROLLOUT_KIND, sourcesOfRollout, { events: ['update'] })],
      backoff: { baseDelayMs: 1000, maxDelayMs: MAX_BACKOFF_MS },
      workers: opts.workers ?? 2,
      reconcile: (key) => this.reconcile(key),
      onFailure: (key, err, retryInMs) => {
        (kubeErrorCode(err) === 409 ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log))({ gitsource: key, err: describeKubeError(err), retryInMs }, 'reconcile failed; retrying');
      },
      logger: this.#log,
    });
  }

  get ready(): boolean {
    return this.#controller.ready;
  }

  start(): Promise<void> {
    return this.#controller.start();
  }

  stop(): Promise<void> {
    return this.#controller.stop();
  }

  /** Webhook: fetch now every GitSource whose URL is one of `urls` (all of them when `urls` is empty). */
  triggerByUrl(urls: readonly string[], normalize: (u: string) => string): number {
    const wanted = new Set(urls.map(normalize));
    let n = 0;
    for (const s of this.sources.list()) {
      if (wanted.size === 0 || wanted.has(normalize(s.spec.url))) {
        const key = keyOf(s.metadata.namespace, s.metadata.name);
        this.#pollNow.add(key);
        this.#controller.enqueue(key);
        n++;
      }
    }
    return n;
  }

  async #remote(gs: GitSourceObject, timeoutMs: number): Promise<GitRemote> {
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

  /**
   * One reconcile; returns when to look again (ms since the epoch). Each step
   * asks gitsource/decide.ts what to do with what is known so far, then does it.
   */
  async reconcile(key: string): Promise<number | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const cached = this.sources.get(name, namespace);
    if (!cached) return undefined;
    // A copy: status writes within this reconcile move its resourceVersion on.
    const stored = structuredClone(cached);
    const now = this.#opts.now?.() ?? new Date();
    const at = now.toISOString();
    const status: GitSourceStatus = structuredClone(stored.status ?? {});
    if (stored.metadata.generation !== undefined) status.observedGeneration = stored.metadata.generation;

    const admitted = admission(stored);
    if (admitted.kind === 'refused') {
      status.conditions = setCondition(status.conditions, admitted.condition, at);
      await this.#writeStatusOf(stored, status);
      return undefined;
    }
    const { spec, intervalMs } = admitted;
    let remote: GitRemote;
    try {
      remote = await this.#remote(stored, admitted.timeoutMs);
    } catch (err) {
      const unavailable = secretUnavailable(describeKubeError(err), intervalMs, now);
      status.conditions = setCondition(status.conditions, unavailable.condition, at);
      await this.#writeStatusOf(stored, status);
      return unavailable.retryAt;
    }
    const pass: Pass = { key, stored, gs: admitted.gitSource, spec, branch: admitted.gitSource.spec.ref?.branch, remote, ref: admitted.ref, now, at, status };

    // A failed rollout sends the cluster back to the last good revision first.
    await this.#handleRollouts(pass);

    // Git is polled at the interval (or now, when asked); a Rollout's status changing does not poll.
    const pollAt = this.#pollAt.get(key);
    if (!pollDue(now, pollAt, this.#pollNow.delete(key))) {
      await this.#writeStatus(pass);
      return nextReconcileAt(now, pollAt ?? 0, pass.status);
    }
    let head: string;
    try {
      head = await this.#mirror.resolveRef(remote, pass.ref);
    } catch (err) {
      const failures = (this.#fetchFailures.get(key) ?? 0) + 1;
      this.#fetchFailures.set(key, failures);
      const down = gitDown(pass.status, { message: err instanceof Error ? err.message : String(err), failures, intervalMs, now, writeBack: spec.rollback.writeBack });
      for (const c of down.conditions) this.#setCondition(pass, c);
      if (down.event !== undefined) await this.#event(stored, 'Warning', 'SourceUnavailable', down.event);
      this.#pollAt.set(key, down.nextPollAt);
      await this.#writeStatus(pass);
      return nextReconcileAt(now, down.nextPollAt, pass.status);
    }
    this.#fetchFailures.delete(key);
    pass.status.lastFetchedRevision = head;
    this.#setCondition(pass, { type: 'SourceUnavailable', status: 'False', reason: 'Fetched', message: `fetched ${short(head)}` });

    // Git answers: what a rejection still owes it (a revert that could not be pushed) is done now.
    const owed = reopenedWriteBacks(pass.status, head, spec.rollback.writeBack);
    pass.status = owed.status;
    for (const entry of owed.settle) await this.#settleWriteBack(pass, entry, head);

    const facts = { head, writeBack: spec.rollback.writeBack, branch: pass.branch, at };
    let decision = headDecision(pass.status, facts);
    if (decision.kind === 'readTree') {
      await this.#mirror.fetch(remote, pass.ref, head);
      decision = headDecision(pass.status, { ...facts, tree: (await this.#mirror.commitInfo(remote, head)).tree });
    }
    switch (decision.kind) {
      case 'rejected':
        if (decision.copy !== undefined) await this.#rejectCopy(pass, decision.copy, head);
        if (decision.condition !== undefined) this.#setCondition(pass, decision.condition);
        break;
      case 'apply':
        await this.#applyRevision(pass, head, 'apply');
        break;
      case 'checkDrift':
        await this.#correctDrift(pass, head);
        break;
      case 'readTree':
        throw new Error(`the tree of ${short(head)} was read, and asked for again`);
    }
    const outOfSync = gitOutOfSync(pass.status, head, spec.rollback.writeBack);
    if (outOfSync !== undefined) this.#setCondition(pass, outOfSync);
    await this.#pin(pass);
    await this.#writeStatus(pass);
    const next = now.getTime() + intervalMs;
    this.#pollAt.set(key, next);
    return nextReconcileAt(now, next, pass.status);
  }

  /** A new head with a rejected commit's tree (force-pushed again, or rebased): rejected too, recorded and reported, never applied. */
  async #rejectCopy(pass: Pass, entry: RejectedRevision, head: string): Promise<void> {
    pass.status = withRejection(pass.status, entry);
    await this.#writeStatus(pass);
    await this.#event(pass.stored, 'Warning', 'RevisionRejected', `${short(head)} rejected without applying it: ${entry.reason}`);
    const recorded = pass.status.rejectedRevisions?.at(-1);
    if (recorded?.writeBack === 'pending') await this.#settleWriteBack(pass, recorded, head);
  }

  /** Keeps what a rollback or a revert may need in the local mirror, whatever the remote does: the applied commit, each managed Rollout's last good one, and rejected commits still to revert. */
  async #pin(pass: Pass): Promise<void> {
    const { status, stored } = pass;
    const keep = new Set<string>();
    if (status.lastAppliedRevision !== undefined) keep.add(status.lastAppliedRevision);
    for (const r of this.#managed(stored)) {
      const good = r.status?.git?.stableRevision;
      if (good !== undefined) keep.add(good);
    }
    for (const e of status.rejectedRevisions ?? []) {
      if (e.rollbackTo !== undefined) keep.add(e.rollbackTo);
      if (e.writeBack === 'pending') keep.add(e.revision);
    }
    const commits = [...keep].filter((c) => /^[0-9a-f]{40}$/.test(c)).sort();
    if (this.#pinned.get(pass.key) === commits.join(',')) return;
    try {
      await this.#mirror.pin(pass.remote, mirrorOwner(stored), commits);
      this.#pinned.set(pass.key, commits.join(','));
    } catch (err) {
      this.#log.warn({ gitsource: pass.key, err: err instanceof Error ? err.message : String(err) }, 'could not pin the commits a rollback needs in the local mirror');
    }
  }

  /** The Rollouts this source manages (labelled with it). */
  #managed(gs: GitSourceObject): RolloutObject[] {
    const label = sourceLabelValue(this.#source(gs));
    return this.rollouts.list(gs.metadata.namespace).filter((r) => r.metadata.labels?.[SOURCE_LABEL] === label);
  }

  async #documentsAt(pass: Pass, revision: string, ref = pass.ref): Promise<LoadedRevision> {
    const { stored: gs, remote } = pass;
    const loaded = this.#documents.get(pass.key) ?? new Map<string, LoadedRevision>();
    this.#documents.set(pass.key, loaded);
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
  async #desiredAt(pass: Pass, revision: string): Promise<DesiredState> {
    const target = await this.#documentsAt(pass, revision);
    const scoped = (pass.status.rejectedRevisions ?? []).filter((r) => r.scope !== undefined);
    const digestAt = (dir: string): string => digestOf(target, dir);
    const holds = scoped.length === 0 ? [] : activeHolds(scoped, digestAt);
    const stuck = scoped.filter((r) => r.rollbackTo === undefined && r.scope !== undefined && digestAt(r.scope) === r.scopeDigest && !holds.some((h) => h.path === r.scope));
    const held: { hold: HeldBack; documents: SyncDocument[] }[] = [];
    const problems = [...target.problems];
    for (const hold of holds) {
      const good = await this.#documentsAt(pass, hold.revision);
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
  async #applyRevision(pass: Pass, revision: string, mode: 'apply' | 'rollback'): Promise<boolean> {
    const { stored, gs, status } = pass;
    status.lastAttemptedRevision = revision;
    let desired: DesiredState;
    try {
      desired = await this.#desiredAt(pass, revision);
    } catch (err) {
      // A new commit that cannot be read yet: the cluster still matches the applied one; the reconcile is retried with backoff.
      if (mode === 'apply') throw err;
      // A rollback target that cannot be read (gone from Git and from the mirror): nothing is applied, and the source is not Ready.
      const message = `cannot roll back: ${short(revision)} cannot be read: ${err instanceof Error ? err.message : String(err)}; running ${short(status.lastAppliedRevision)}`;
      const reported = status.conditions?.some((c) => c.type === 'Ready' && c.status === 'False' && c.message === message) === true;
      this.#setCondition(pass, { type: 'Ready', status: 'False', reason: 'RollbackFailed', message });
      if (!reported) await this.#event(stored, 'Warning', 'RollbackFailed', message);
      return false;
    }
    const documents = desired.parts.flatMap((p) => p.documents);
    const problems = [
      ...desired.problems,
      ...(await validateDocuments(documents, serverDryRun(this.#client), {
        fallbackNamespace: stored.metadata.namespace ?? 'default',
        // A template the commit lacks must be in the cluster (and not one this commit's prune would delete).
        templateExists: clusterTemplateLookup(this.#client, { source: this.#source(stored), prune: pass.spec.prune }),
      })),
    ];
    const heldText = desired.holds.map((h) => `${h.path} held at ${short(h.revision)} (rollout ${h.rollout} rejected ${short(h.rejected)})`).join(', ');
    if (problems.length > 0) {
      const message = `${short(revision)}${heldText === '' ? '' : ` with ${heldText}`}: ${formatProblems(problems)}`;
      // The same commit is checked again at each poll (the cluster may have changed); it is reported once.
      const reported = status.conditions?.some((c) => c.type === 'ValidationFailed' && c.status === 'True' && c.message === message) === true;
      this.#setCondition(pass, { type: 'ValidationFailed', status: 'True', reason: 'InvalidManifests', message });
      const what = mode === 'rollback' ? `cannot roll back: nothing from ${short(revision)} applied` : `nothing from ${short(revision)} applied`;
      this.#setCondition(pass, { type: 'Ready', status: 'False', reason: mode === 'rollback' ? 'RollbackFailed' : 'ValidationFailed', message: `${what}; running ${short(status.lastAppliedRevision)}` });
      if (!reported) await this.#event(stored, 'Warning', 'ValidationFailed', message);
      return false;
    }
    this.#setCondition(pass, { type: 'ValidationFailed', status: 'False', reason: 'Valid', message: `${short(revision)}: ${documents.length} documents valid` });
    let applied: ObjectRef[];
    try {
      // What the Rollout controller and HPAs own stays as it is live (sync/controlled-fields.ts).
      const toApply = await yieldControlledFields(this.#decorated(stored, desired.parts), this.#liveLookup());
      applied = await applyDocuments(this.#client, toApply, { fieldManager: 'weir' });
    } catch (err) {
      const message = `${short(revision)}: ${err instanceof Error ? err.message : String(err)}`;
      this.#setCondition(pass, { type: 'ApplyFailed', status: 'True', reason: 'ApplyFailed', message });
      this.#setCondition(pass, { type: 'Ready', status: 'False', reason: mode === 'rollback' ? 'RollbackFailed' : 'ApplyFailed', message });
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
    const loaded = this.#documents.get(pass.key);
    for (const r of loaded?.keys() ?? []) if (!used.has(r)) loaded?.delete(r);
    this.#setCondition(pass, { type: 'ApplyFailed', status: 'False', reason: 'Applied', message: `${short(revision)} applied` });
    // A rollback of only some directories says which; the rest is the commit Git holds.
    const scopedRollback = mode === 'rollback' && desired.holds.length > 0;
    const done = scopedRollback
      ? `rolled back ${newlyHeld.map((h) => `${h.path} to ${short(h.revision)}`).join(', ') || 'held directories'}; the rest stays at ${short(revision)} (${applied.length} objects)`
      : `${mode === 'rollback' ? 'rolled back to' : 'applied'} ${short(revision)}${heldText === '' ? '' : ` with ${heldText}`} (${applied.length} objects)`;
    if (desired.stuck.length > 0) {
      this.#setCondition(pass, noLastGoodCondition(desired.stuck));
    } else {
      this.#setCondition(pass, { type: 'Ready', status: 'True', reason: mode === 'rollback' ? 'RolledBack' : 'Applied', message: done });
    }
    await this.#recordHistory(pass, revision, mode);
    await this.#event(stored, 'Normal', mode === 'rollback' ? 'RolledBack' : 'Applied', done);
    return true;
  }

  async #recordHistory(pass: Pass, revision: string, mode: 'apply' | 'rollback'): Promise<void> {
    const { status } = pass;
    const history = status.history ?? [];
    // A revision still rolling out when a newer one is applied was superseded.
    for (const h of history) if (h.outcome === 'applied' && h.revision !== revision) h.outcome = 'superseded';
    if (mode === 'rollback' && history.some((h) => h.revision === revision)) {
      status.history = history;
      return;
    }
    const info = await this.#mirror.commitInfo(pass.remote, revision).catch(() => undefined);
    history.push({
      revision,
      appliedAt: pass.at,
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

  async #correctDrift(pass: Pass, revision: string): Promise<void> {
    const { stored } = pass;
    const desired = await this.#desiredAt(pass, revision);
    // What the Rollout controller and HPAs own (weights, selector hashes, replicas) is never drift.
    // One read of each object serves both steps of this pass.
    const read = onceEach(liveReader(this.#client));
    const documents = await yieldControlledFields(this.#decorated(stored, desired.parts), this.#liveLookup(read));
    const drifted = await detectDrift(this.#client, read, documents, {});
    if (drifted.length === 0) return;
    const corrected = await correctDrift(this.#client, drifted, documents, {});
    this.#driftCorrections.inc({ namespace: stored.metadata.namespace ?? 'default', gitsource: stored.metadata.name ?? '' }, corrected.length);
    pass.status.lastDriftCorrection = { time: pass.at, objects: corrected.map((c) => ({ ...c.ref, fields: c.fields })) };
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
  async #handleRollouts(pass: Pass): Promise<void> {
    const { stored, spec, remote } = pass;
    const managed = this.#managed(stored);
    const fresh: RejectedRevision[] = [];
    for (const rollout of managed) {
      const verdict = rolloutVerdict(pass.status, rollout, spec.rollback.onAnalysisError);
      if (verdict === undefined) continue;
      const failure = verdict.failure;
      if (verdict.kind === 'unverified') {
        await this.#unverified(pass, rollout, failure);
        continue;
      }
      const info = await this.#mirror.commitInfo(remote, failure.revision).catch(() => undefined);
      const scope = await this.#scopeOf(pass, failure);
      const facts = { ...(info !== undefined ? { tree: info.tree } : {}), weirRevert: info !== undefined && isWeirRevert(info), ...(scope !== undefined ? { scope } : {}) };
      const { entry, skipped } = rejection(failure, facts, { rollback: spec.rollback, branch: pass.branch }, pass.at);
      if (skipped === 'weir-revert') {
        await this.#event(stored, 'Warning', 'WriteBackSkipped', `${short(failure.revision)} is Weir's own revert: it is rejected but not reverted (that would restore the release it undid); fix forward in Git`);
      }
      pass.status = withRejection(pass.status, entry);
      fresh.push(entry);
      if (skipped === 'no-branch') await this.#event(stored, 'Warning', 'WriteBackSkipped', 'write-back needs spec.ref.branch');
    }
    if (fresh.length > 0) {
      // Durable before it takes effect.
      await this.#writeStatus(pass);
      for (const e of fresh) {
        const only = e.scope === undefined ? '' : ` (only ${e.scope} goes back; its neighbours stay)`;
        await this.#event(stored, 'Warning', 'RevisionRejected', `${short(e.revision)} rejected: rollout ${e.rollout}: ${e.reason}${only}`);
      }
    }
    // The cluster still holds a rejected commit (or a directory of one): go back to its last good one (again, after a restart; idempotent).
    let rollback = rollbackDecision(pass.status);
    const applied = pass.status.lastAppliedRevision;
    if (rollback.kind === 'checkHolds' && applied !== undefined) {
      const desired = await this.#desiredAt(pass, applied);
      rollback = scopedRollbackDecision(desired.holds, pass.status.heldBack, desired.stuck);
    }
    switch (rollback.kind) {
      case 'rollback':
        await this.#applyRevision(pass, rollback.to, 'rollback');
        break;
      case 'reapply':
        if (applied !== undefined) await this.#applyRevision(pass, applied, 'rollback');
        break;
      case 'noLastGood':
        this.#setCondition(pass, rollback.condition);
        break;
      case 'none':
      case 'checkHolds':
        break;
    }
    for (const e of fresh) if (e.writeBack === 'pending') await this.#settleWriteBack(pass, e, undefined);
    pass.status = withRolloutOutcomes(pass.status, managed);
  }

  /** The directory a failed Rollout's rejection is scoped to, with the digest of the rejected manifests there; undefined: the whole source. */
  async #scopeOf(pass: Pass, failure: RolloutFailure): Promise<{ scope: string; scopeDigest: string } | undefined> {
    const { stored } = pass;
    let loaded: LoadedRevision;
    try {
      loaded = await this.#documentsAt(pass, failure.revision);
    } catch (err) {
      this.#log.warn({ gitsource: pass.key, revision: failure.revision, err: err instanceof Error ? err.message : String(err) }, 'cannot read the rejected commit: its rejection covers the whole source');
      return undefined;
    }
    const namespace = stored.metadata.namespace ?? 'default';
    const doc = loaded.documents.find((d) => d.object.kind === 'Rollout' && d.object.metadata.name === failure.rollout && (d.object.metadata.namespace ?? namespace) === namespace);
    const scope = doc === undefined ? undefined : rolloutScope(doc.file, pass.spec.paths);
    return scope === undefined ? undefined : { scope, scopeDigest: digestOf(loaded, scope) };
  }

  /**
   * A rollout aborted on an analysis Error: nothing measured the release.
   * The commit stays applied (the rollout serves stable), is recorded
   * Unverified, and the rollout is retried with backoff up to a limit.
   */
  async #unverified(pass: Pass, rollout: RolloutObject, failure: RolloutFailure): Promise<void> {
    const { stored } = pass;
    const step = unverifiedStep(pass.status, failure, pass.now);
    pass.status = step.status;
    if (step.kind === 'wait') return;
    // Recorded, and each attempt counted before it is made: a restart never retries more often than the backoff says.
    await this.#writeStatus(pass);
    if (step.kind === 'record') {
      await this.#event(stored, 'Warning', 'RevisionUnverified', `${short(failure.revision)} unverified: rollout ${failure.rollout}: ${failure.reason}; retrying in ${step.delayMs / 1000}s (onAnalysisError: retry)`);
      return;
    }
    try {
      const plan = planRetry(rollout);
      const body = statusPatchBody(plan, rollout.metadata.resourceVersion);
      await this.#custom.patchNamespacedCustomObjectStatus({ ...ROLLOUTS, namespace: rollout.metadata.namespace ?? 'default', name: failure.rollout, body, fieldManager: 'weir-gitsource' }, MERGE_PATCH);
      const last = step.last ? ` (the last of ${UNVERIFIED_RETRY_LIMIT} automatic retries; then weir retry by hand)` : '';
      await this.#event(stored, 'Normal', 'UnverifiedRetried', `retrying rollout ${failure.rollout} on ${short(failure.revision)}, attempt ${step.attempt}${last}`);
    } catch (err) {
      await this.#event(stored, 'Warning', 'RetryFailed', `could not retry rollout ${failure.rollout}: ${describeKubeError(err)}`);
    }
  }

  /**
   * One step of a pending write-back: push the revert (or find that it was
   * pushed before a restart, or that a newer commit superseded it). A failure
   * keeps it pending, to be tried again after the next successful fetch.
   */
  async #settleWriteBack(pass: Pass, entry: RejectedRevision, head: string | undefined): Promise<void> {
    const { stored, remote, status, at } = pass;
    const mode = pass.spec.rollback.writeBack;
    const branch = pass.branch;
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
        const atHead = await this.#documentsAt(pass, head, branch);
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

  /** Sets a condition decided for this reconcile, at its time. */
  #setCondition(pass: Pass, condition: ConditionChange): void {
    pass.status.conditions = setCondition(pass.status.conditions, condition, pass.at);
  }

  async #writeStatus(pass: Pass): Promise<void> {
    await this.#writeStatusOf(pass.stored, pass.status);
  }

  /** Writes the status when it changed; `stored` (this reconcile's copy) takes the new resourceVersion, so a later write in the same reconcile does not conflict. */
  async #writeStatusOf(stored: GitSourceObject, status: GitSourceStatus): Promise<void> {
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
