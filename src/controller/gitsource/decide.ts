// The decisions of a GitSource reconcile, as pure functions of the GitSource,
// its managed Rollouts' status and what Git answered. The controller
// (../gitsource-controller.ts) gathers those facts, asks here what to
// do, performs it (reads of Git, applies, pushes, status writes) and asks
// again with what it learned. In reconcile order:
//
// 1. admission: an invalid or suspended source does nothing else;
// 2. rolloutVerdict / rejection / withRejection: a managed Rollout's abort
//    rejects its commit (or, an analysis Error with onAnalysisError retry,
//    records it Unverified and retries: unverifiedStep), durably, before
//    anything acts on it;
// 3. rollbackDecision / scopedRollbackDecision: the cluster still holds a
//    rejected commit (or a directory of one): back to the last good one;
// 4. pollDue: Git is asked at the interval, or now when a webhook or a new
//    spec asks;
// 5. gitDown: Git did not answer: keep what runs, back off, say so;
// 6. reopenedWriteBacks / headDecision: Git answered: settle the reverts it is
//    owed, then reject, apply or check the cluster for drift;
// 7. nextReconcileAt: when to look again.
import { parseDuration } from '../../api/duration.ts';
import { resolveGitSourceSpec, type GitSource, type GitSourceStatus, type ResolvedGitSourceSpec, type WriteBackMode } from '../../api/gitsource.ts';
import type { Rollout } from '../../api/rollout.ts';
import { validateGitSource } from '../../api/validate.ts';
import { healthyRevision, stillTrying } from '../../engine/outcome.ts';
import { sameHolds, type HeldBack } from './scope.ts';
import { findWholeRejection, gitOutOfSync, initialWriteBack, isRejectedFor, rolloutFailure, unverifiedRetryDelayMs, UNVERIFIED_RETRY_LIMIT, type RejectedRevision, type RolloutFailure } from './verdicts.ts';

/** The longest wait between reconciles while something fails (and between retries of a missing Secret). */
export const MAX_BACKOFF_MS = 5 * 60_000;

/** A condition to set on the GitSource's status (its times are the controller's). */
export interface ConditionChange {
  type: string;
  status: 'True' | 'False';
  reason: string;
  message: string;
}

type UnverifiedRevision = NonNullable<GitSourceStatus['unverifiedRevisions']>[number];
type HistoryEntry = NonNullable<GitSourceStatus['history']>[number];

export function short(sha: string | undefined): string {
  return (sha ?? '').slice(0, 7);
}

// --------------------------------------------------------------- 1. admission

/** Whether the source does anything this reconcile. */
export type Admission =
  | { kind: 'refused'; condition: ConditionChange }
  | { kind: 'admitted'; gitSource: GitSource; spec: ResolvedGitSourceSpec; intervalMs: number; timeoutMs: number; ref: string };

export function admission(object: unknown): Admission {
  const { gitSource, errors } = validateGitSource(object);
  if (!gitSource || errors.length > 0) {
    const message = errors.slice(0, 3).map((e) => `${e.path}: ${e.message}`).join('; ');
    return { kind: 'refused', condition: { type: 'Ready', status: 'False', reason: 'InvalidSpec', message } };
  }
  if (gitSource.spec.suspend === true) return { kind: 'refused', condition: { type: 'Ready', status: 'False', reason: 'Suspended', message: 'spec.suspend is true' } };
  const spec = resolveGitSourceSpec(gitSource.spec);
  const ref = gitSource.spec.ref?.commit ?? gitSource.spec.ref?.tag ?? gitSource.spec.ref?.branch ?? 'main';
  return { kind: 'admitted', gitSource, spec, intervalMs: parseDuration(spec.interval), timeoutMs: parseDuration(spec.timeout), ref };
}

/** The source's Git credentials could not be read: nothing else is done; look again within the interval. */
export function secretUnavailable(message: string, intervalMs: number, now: Date): { condition: ConditionChange; retryAt: number } {
  return { condition: { type: 'SourceUnavailable', status: 'True', reason: 'SecretUnavailable', message }, retryAt: now.getTime() + Math.min(intervalMs, MAX_BACKOFF_MS) };
}

// ---------------------------------------------------------------- 2. rollouts

/** What a managed Rollout's status asks of its GitSource: reject the commit, or (an analysis Error, onAnalysisError retry) treat it as unverified. */
export type RolloutVerdict = { kind: 'reject'; failure: RolloutFailure } | { kind: 'unverified'; failure: RolloutFailure };

/** What a managed Rollout's failure asks now (undefined: it did not fail, or its failure is recorded, its own or a whole rejection of the commit). */
export function rolloutVerdict(status: GitSourceStatus, rollout: Rollout, onAnalysisError: ResolvedGitSourceSpec['rollback']['onAnalysisError']): RolloutVerdict | undefined {
  const failure = rolloutFailure(rollout);
  if (failure === undefined || isRejectedFor(status, failure.revision, failure.rollout)) return undefined;
  return { kind: failure.verdict === 'unmeasured' && onAnalysisError === 'retry' ? 'unverified' : 'reject', failure };
}

/** What Git says about a rejected commit, read by the controller before it records the rejection. */
export interface RejectedCommitFacts {
  /** Its tree (a force-pushed copy of it is rejected too); undefined when the commit cannot be read. */
  tree?: string;
  /** It is Weir's own revert. */
  weirRevert: boolean;
  /** The directory the rejection holds back, with the digest of the rejected manifests there; undefined: the whole source. */
  scope?: { scope: string; scopeDigest: string };
}

/** Why a rejection will not be written back to Git although write-back is on. */
export type WriteBackSkip = 'weir-revert' | 'no-branch';

/** The rejection a failure records, and why its write-back is skipped (if it is). */
export function rejection(
  failure: RolloutFailure,
  facts: RejectedCommitFacts,
  spec: Pick<ResolvedGitSourceSpec, 'rollback'> & { branch: string | undefined },
  at: string,
): { entry: RejectedRevision; skipped?: WriteBackSkip } {
  let writeBack = initialWriteBack(spec.rollback.writeBack, spec.branch);
  let skipped: WriteBackSkip | undefined;
  if (spec.rollback.writeBack !== 'none' && spec.branch === undefined) skipped = 'no-branch';
  // Reverting Weir's own revert would put the release it rejected back into Git (and the cluster).
  if (writeBack === 'pending' && facts.weirRevert) {
    writeBack = 'none';
    skipped = 'weir-revert';
  }
  const entry: RejectedRevision = {
    revision: failure.revision,
    ...(facts.tree !== undefined ? { tree: facts.tree } : {}),
    rollout: failure.rollout,
    reason: failure.reason,
    at,
    ...(failure.good !== undefined ? { rollbackTo: failure.good } : {}),
    ...(facts.scope ?? {}),
    writeBack,
  };
  return { entry, ...(skipped !== undefined ? { skipped } : {}) };
}

/** The status with a new rejection recorded: the commit is no longer unverified, and its history entry says rejected. */
export function withRejection(status: GitSourceStatus, entry: RejectedRevision): GitSourceStatus {
  const next: GitSourceStatus = { ...status, rejectedRevisions: [...(status.rejectedRevisions ?? []), entry] };
  const unverified = status.unverifiedRevisions?.filter((u) => u.revision !== entry.revision) ?? [];
  if (unverified.length > 0) next.unverifiedRevisions = unverified;
  else delete next.unverifiedRevisions;
  if (status.history !== undefined) {
    next.history = status.history.map((h): HistoryEntry => (h.revision === entry.revision ? { ...h, outcome: 'rejected', reason: entry.reason } : h));
  }
  return next;
}

/** What to do about a release its analysis could not measure (onAnalysisError: retry). */
export type UnverifiedStep =
  /** First seen: record it, retry after the first delay. */
  | { kind: 'record'; status: GitSourceStatus; delayMs: number }
  /** Recorded, and its next retry is not due (or the retries are used up). */
  | { kind: 'wait'; status: GitSourceStatus }
  /** Due: count the attempt (durably, before it is made), then retry the Rollout. */
  | { kind: 'retry'; status: GitSourceStatus; attempt: number; last: boolean };

export function unverifiedStep(status: GitSourceStatus, failure: RolloutFailure, now: Date): UnverifiedStep {
  const at = now.toISOString();
  const list = status.unverifiedRevisions ?? [];
  const existing = list.find((u) => u.revision === failure.revision && u.rollout === failure.rollout);
  if (existing === undefined) {
    const delayMs = unverifiedRetryDelayMs(0);
    const entry: UnverifiedRevision = { revision: failure.revision, rollout: failure.rollout, reason: failure.reason, at, attempts: 0, nextRetryAt: new Date(now.getTime() + delayMs).toISOString() };
    const next: GitSourceStatus = { ...status, unverifiedRevisions: [...list.filter((u) => u.rollout !== failure.rollout), entry] };
    if (status.history !== undefined) {
      next.history = status.history.map((h): HistoryEntry => (h.revision === failure.revision && h.outcome !== 'rejected' ? { ...h, outcome: 'unverified', reason: failure.reason } : h));
    }
    return { kind: 'record', status: next, delayMs };
  }
  const replace = (entry: UnverifiedRevision): GitSourceStatus => ({ ...status, unverifiedRevisions: list.map((u) => (u === existing ? entry : u)) });
  const updated: UnverifiedRevision = { ...existing, reason: failure.reason };
  if (updated.nextRetryAt === undefined || now.getTime() < Date.parse(updated.nextRetryAt)) return { kind: 'wait', status: replace(updated) };
  const attempts = updated.attempts + 1;
  const last = attempts >= UNVERIFIED_RETRY_LIMIT;
  const { nextRetryAt: _due, ...rest } = updated;
  const entry: UnverifiedRevision = last ? { ...rest, attempts } : { ...rest, attempts, nextRetryAt: new Date(now.getTime() + unverifiedRetryDelayMs(attempts)).toISOString() };
  return { kind: 'retry', status: replace(entry), attempt: attempts, last };
}

/** The status with what the managed Rollouts finished: a Healthy one promotes its revision; unverified revisions no longer being tried are dropped. */
export function withRolloutOutcomes(status: GitSourceStatus, managed: readonly Rollout[]): GitSourceStatus {
  const next: GitSourceStatus = { ...status };
  const healthy = new Set(managed.flatMap((r) => healthyRevision(r.status) ?? []));
  if (status.history !== undefined) {
    next.history = status.history.map((h): HistoryEntry =>
      healthy.has(h.revision) && (h.outcome === 'applied' || h.outcome === 'superseded' || h.outcome === 'unverified') ? { ...h, outcome: 'promoted' } : h,
    );
  }
  if (status.unverifiedRevisions !== undefined) {
    const kept = status.unverifiedRevisions.filter((u) => stillTrying(managed.find((m) => m.metadata.name === u.rollout)?.status, u.revision));
    if (kept.length > 0) next.unverifiedRevisions = kept;
    else delete next.unverifiedRevisions;
  }
  return next;
}

// --------------------------------------------------------------- 3. rollback

/** Whether the cluster must go back, and to what. */
export type RollbackDecision =
  | { kind: 'none' }
  /** The applied commit was rejected as a whole: apply its last good commit. */
  | { kind: 'rollback'; to: string }
  /** The applied commit was rejected and nothing before it finished Healthy. */
  | { kind: 'noLastGood'; condition: ConditionChange }
  /** Scoped rejections exist: the controller composes the applied commit with its holds and asks scopedRollbackDecision. */
  | { kind: 'checkHolds' }
  /** The holds the applied commit needs changed: apply it again, each held directory from its last good commit. */
  | { kind: 'reapply' };

export function rollbackDecision(status: GitSourceStatus): RollbackDecision {
  const applied = status.lastAppliedRevision;
  if (applied === undefined) return { kind: 'none' };
  const rejected = findWholeRejection(status, applied);
  if (rejected !== undefined) {
    if (rejected.rollbackTo !== undefined) return { kind: 'rollback', to: rejected.rollbackTo };
    const message = `${short(applied)} was rejected and no earlier revision of rollout ${rejected.rollout} finished Healthy: nothing to roll back to`;
    return { kind: 'noLastGood', condition: { type: 'Ready', status: 'False', reason: 'NoLastGoodRevision', message } };
  }
  return (status.rejectedRevisions ?? []).some((r) => r.scope !== undefined) ? { kind: 'checkHolds' } : { kind: 'none' };
}

/** Why the directories of scoped rejections with nothing to go back to keep the source not Ready. */
export function noLastGoodCondition(stuck: readonly RejectedRevision[]): ConditionChange {
  const message = stuck
    .map((r) => `${r.scope ?? '.'} holds ${short(r.revision)}, which rollout ${r.rollout} rejected, and no earlier revision of it finished Healthy: nothing to roll back to`)
    .join('; ');
  return { type: 'Ready', status: 'False', reason: 'NoLastGoodRevision', message };
}

/**
 * With the holds the applied commit needs now (`holds`, and the scoped
 * rejections with nothing to go back to, `stuck`): re-apply it when they are
 * not the ones the cluster holds (`heldBack`).
 */
export function scopedRollbackDecision(holds: readonly HeldBack[], heldBack: readonly HeldBack[] | undefined, stuck: readonly RejectedRevision[]): RollbackDecision {
  if (!sameHolds(holds, heldBack)) return { kind: 'reapply' };
  if (stuck.length > 0) return { kind: 'noLastGood', condition: noLastGoodCondition(stuck) };
  return { kind: 'none' };
}

// ------------------------------------------------------------ 4.–5. polling

/** Whether this reconcile asks Git: when asked to (webhook, new or changed spec), or once the interval is up. */
export function pollDue(now: Date, pollAt: number | undefined, asked: boolean): boolean {
  return asked || now.getTime() >= (pollAt ?? 0);
}

/** Git did not answer. */
export interface GitDown {
  conditions: ConditionChange[];
  /** The Warning to record (only when Git was answering until now). */
  event?: string;
  /** When to ask Git again: exponential backoff from 1 s, capped by the interval. */
  nextPollAt: number;
}

export function gitDown(status: GitSourceStatus, input: { message: string; failures: number; intervalMs: number; now: Date; writeBack: WriteBackMode }): GitDown {
  const wasUnavailable = status.conditions?.some((c) => c.type === 'SourceUnavailable' && c.status === 'True') === true;
  const conditions: ConditionChange[] = [{ type: 'SourceUnavailable', status: 'True', reason: 'FetchFailed', message: input.message }];
  // What the cluster runs stays; only a revert still owed to Git is news.
  const outOfSync = gitOutOfSync(status, undefined, input.writeBack);
  if (outOfSync !== undefined) conditions.push(outOfSync);
  return {
    conditions,
    ...(wasUnavailable ? {} : { event: `${input.message}; keeping revision ${short(status.lastAppliedRevision)}` }),
    nextPollAt: input.now.getTime() + Math.min(input.intervalMs, 1000 * 2 ** Math.min(Math.max(input.failures, 1) - 1, 8)),
  };
}

// ------------------------------------------------------------- 6. Git's head

/**
 * The rejections whose write-back Git is owed now that it answers: those
 * pending, and (write-back revert) those whose rejected commit is back at
 * the tip (force-pushed again), which need reverting again.
 */
export function reopenedWriteBacks(status: GitSourceStatus, head: string, mode: WriteBackMode): { status: GitSourceStatus; settle: RejectedRevision[] } {
  const entries = (status.rejectedRevisions ?? []).map((e): RejectedRevision => {
    const back = mode === 'revert' && e.revision === head && (e.writeBack === 'pushed' || e.writeBack === 'superseded');
    return back ? { ...e, writeBack: 'pending' } : e;
  });
  const next = status.rejectedRevisions === undefined ? status : { ...status, rejectedRevisions: entries };
  return { status: next, settle: entries.filter((e) => e.writeBack === 'pending') };
}

/** What to do with the commit Git's branch points at. */
export type HeadDecision =
  /**
   * It is rejected as a whole: nothing is applied; the condition says so
   * unless the cluster is itself on a rejected commit. `copy`: the head is a
   * new commit with a rejected one's tree (force-pushed again, or rebased),
   * rejected for the same reason: record it (its write-back too) first.
   */
  | { kind: 'rejected'; rejection: RejectedRevision; copy?: RejectedRevision; condition?: ConditionChange }
  /** A new commit, and some rejection was recorded with its tree: read the head's tree and ask again with it. */
  | { kind: 'readTree' }
  /** A new commit: validate it whole and apply it. */
  | { kind: 'apply' }
  /** The applied commit: check the cluster still matches it. */
  | { kind: 'checkDrift' };

export interface HeadFacts {
  head: string;
  /** The head's tree, once headDecision asked for it. */
  tree?: string;
  writeBack: WriteBackMode;
  branch: string | undefined;
  at: string;
}

export function headDecision(status: GitSourceStatus, facts: HeadFacts): HeadDecision {
  const { head, tree } = facts;
  let rejected = findWholeRejection(status, head);
  let copy: RejectedRevision | undefined;
  if (rejected === undefined && head !== status.lastAppliedRevision && tree !== undefined) {
    const same = findWholeRejection(status, head, tree);
    if (same !== undefined) {
      copy = {
        revision: head,
        tree,
        rollout: same.rollout,
        reason: `same content as rejected ${short(same.revision)}: ${same.reason}`,
        at: facts.at,
        ...(same.rollbackTo !== undefined ? { rollbackTo: same.rollbackTo } : {}),
        writeBack: initialWriteBack(facts.writeBack, facts.branch),
      };
      rejected = copy;
    }
  }
  if (rejected !== undefined) {
    const applied = status.lastAppliedRevision === undefined ? undefined : findWholeRejection(status, status.lastAppliedRevision);
    const condition: ConditionChange = {
      type: 'Ready',
      status: 'True',
      reason: 'RevisionRejected',
      message: `${short(head)} was rejected (${rejected.reason}); running ${short(status.lastAppliedRevision)} until a new commit`,
    };
    return { kind: 'rejected', rejection: rejected, ...(copy !== undefined ? { copy } : {}), ...(applied === undefined ? { condition } : {}) };
  }
  if (head === status.lastAppliedRevision) return { kind: 'checkDrift' };
  // A scoped rejection needs no copy: its directory's digest holds it back whatever the commit.
  const byTree = (status.rejectedRevisions ?? []).some((r) => r.tree !== undefined && r.scope === undefined);
  return byTree && tree === undefined ? { kind: 'readTree' } : { kind: 'apply' };
}

// ---------------------------------------------------------------- 7. timing

/** When the next automatic retry of an unverified release is due (ms since the epoch). */
export function nextRetryAt(status: GitSourceStatus): number | undefined {
  const due = (status.unverifiedRevisions ?? []).flatMap((u) => (u.nextRetryAt === undefined ? [] : [Date.parse(u.nextRetryAt)]));
  return due.length === 0 ? undefined : Math.min(...due);
}

/** When to reconcile again: the next poll, or an unverified retry if one is due sooner (at least 1 s away). */
export function nextReconcileAt(now: Date, pollAt: number, status: GitSourceStatus): number {
  const retryAt = nextRetryAt(status);
  return retryAt === undefined ? pollAt : Math.min(pollAt, Math.max(retryAt, now.getTime() + 1000));
}
