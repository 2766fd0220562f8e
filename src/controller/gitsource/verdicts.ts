// What a GitSource makes of its Rollouts and of Git, as pure functions: which
// failed rollout rejects which commit (and whether its analysis measured the
// release bad, or could not measure it at all), whether a commit is one
// already rejected (by sha, or by tree for a force-pushed copy), what is left
// to do for a rejection's write-back, and the GitOutOfSync condition.
//
// The controller (../gitsource-controller.ts) does the I/O around them; the order
// of its writes is what makes a rejection durable: the rejection is in the
// GitSource's status before the last good commit is re-applied.
import type { GitSourceStatus, WriteBackMode, WriteBackState } from '../../api/gitsource.ts';
import type { Rollout } from '../../api/rollout.ts';
import { abortedRelease, type AbortedRelease } from '../../engine/outcome.ts';

export type RejectedRevision = NonNullable<GitSourceStatus['rejectedRevisions']>[number];

/** A managed Rollout that aborted on a revision, as the GitSource sees it (the engine's reading of its status, with its name). */
export interface RolloutFailure extends AbortedRelease {
  rollout: string;
}

/**
 * The failure a Rollout reports, once the engine has acted on the abort
 * (engine/outcome.ts says when that is), on a revision that is not its last
 * good one.
 */
export function rolloutFailure(rollout: Rollout): RolloutFailure | undefined {
  const aborted = abortedRelease(rollout.status);
  return aborted === undefined ? undefined : { rollout: rollout.metadata.name ?? '', ...aborted };
}

/** The rejection `revision` falls under: its own, or one of a commit with the same tree (a force-pushed copy). */
export function findRejection(status: GitSourceStatus, revision: string, tree?: string): RejectedRevision | undefined {
  const rejected = status.rejectedRevisions ?? [];
  return rejected.find((r) => r.revision === revision) ?? (tree === undefined ? undefined : rejected.find((r) => r.tree === tree));
}

/**
 * The rejection of the whole of `revision` (the failed Rollout's file at a
 * root of the source): the commit is never applied. A scoped rejection
 * (gitsource-scope.ts) holds back only its directory, so it is not one.
 */
export function findWholeRejection(status: GitSourceStatus, revision: string, tree?: string): RejectedRevision | undefined {
  return findRejection({ rejectedRevisions: (status.rejectedRevisions ?? []).filter((r) => r.scope === undefined) }, revision, tree);
}

/** Whether `rollout`'s failure on `revision` is recorded already (a whole rejection of the revision counts for every rollout). */
export function isRejectedFor(status: GitSourceStatus, revision: string, rollout: string): boolean {
  return (status.rejectedRevisions ?? []).some((r) => r.revision === revision && (r.scope === undefined || r.rollout === rollout));
}

/** The write-back state a new rejection starts in. */
export function initialWriteBack(mode: WriteBackMode, branch: string | undefined): WriteBackState {
  return mode === 'none' || branch === undefined ? 'none' : 'pending';
}

/**
 * What to do about a pending write-back, knowing where the followed branch
 * points now (`head`; undefined when Git was not asked in this reconcile)
 * and the commits just below it (`recent`: head first, only what is local).
 * - `push`: the branch still holds the rejected commit (or Git was not asked): push the revert (idempotent: no commit when the tip already undoes it).
 * - `pushed`: the branch moved to a revert of it (Weir's, pushed before a restart): record it, once.
 * - `superseded`: the branch moved on to something else: a newer commit replaces the rejected one, no revert.
 */
export function writeBackStep(
  entry: RejectedRevision,
  mode: Exclude<WriteBackMode, 'none'>,
  head: string | undefined,
  recent: readonly { sha: string; message: string }[] = [],
  scoped?: { unchanged: boolean; rollout: string },
): { action: 'push' } | { action: 'pushed'; revert: string } | { action: 'superseded' } {
  if (head === undefined || head === entry.revision) return { action: 'push' };
  // A scoped rejection: newer commits that leave the app's directory as rejected (a neighbour's release, another app's revert) supersede nothing.
  if (scoped?.unchanged === true) return { action: 'push' };
  // A revert to a branch of its own leaves the followed branch alone: it only moved if someone pushed to it.
  if (mode === 'branch') return { action: 'superseded' };
  const marker = `This reverts commit ${entry.revision}.`;
  const revert = recent.find((c) => c.message.includes(marker) && (scoped === undefined || c.message.includes(`rollout ${scoped.rollout} failed`)));
  return revert === undefined ? { action: 'superseded' } : { action: 'pushed', revert: revert.sha };
}

/** GitOutOfSync: True while Git's branch holds a commit the cluster rejected, with what is being done about it. */
export function gitOutOfSync(
  status: GitSourceStatus,
  head: string | undefined,
  mode: WriteBackMode,
): { type: 'GitOutOfSync'; status: 'True' | 'False'; reason: string; message: string } | undefined {
  const pending = (status.rejectedRevisions ?? []).filter((r) => r.writeBack === 'pending');
  if (pending.length > 0) {
    const shown = pending
      .map((r) => `revert of ${r.revision.slice(0, 7)} pending${r.writeBackError !== undefined ? ` (${r.writeBackError})` : ''}`)
      .join('; ');
    return { type: 'GitOutOfSync', status: 'True', reason: 'RevertPending', message: shown };
  }
  if (head === undefined) return undefined;
  const rejected = findWholeRejection(status, head);
  if (rejected !== undefined) {
    const why =
      mode === 'none'
        ? 'rollback.writeBack is none'
        : mode === 'branch'
          ? `the revert waits on its own branch for a merge`
          : `the revert is ${rejected.writeBack ?? 'not written'}`;
    return { type: 'GitOutOfSync', status: 'True', reason: 'RejectedRevisionInGit', message: `Git points at ${head.slice(0, 7)}, which the cluster rejected (${why})` };
  }
  const held = status.lastAppliedRevision === head ? (status.heldBack ?? []) : [];
  if (held.length > 0) {
    const shown = held.map((h) => `${h.path} is rejected ${h.rejected.slice(0, 7)}'s (held at ${h.revision.slice(0, 7)})`).join('; ');
    return { type: 'GitOutOfSync', status: 'True', reason: 'RejectedContentInGit', message: `Git points at ${head.slice(0, 7)}, where ${shown}` };
  }
  return { type: 'GitOutOfSync', status: 'False', reason: 'InSync', message: `Git points at ${head.slice(0, 7)}, which the cluster does not reject` };
}

/** Automatic retries of an unverified release, and the wait before each (doubling from 15 s, at most 5 min). */
export const UNVERIFIED_RETRY_LIMIT = 10;
export function unverifiedRetryDelayMs(attempts: number): number {
  return Math.min(15_000 * 2 ** Math.max(0, attempts), 5 * 60_000);
}
