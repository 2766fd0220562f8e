import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { resolveGitSourceSpec, type GitSourceStatus } from '../../api/gitsource.ts';
import type { Rollout, RolloutStatus } from '../../api/rollout.ts';
import {
  MAX_BACKOFF_MS,
  admission,
  gitDown,
  headDecision,
  nextReconcileAt,
  pollDue,
  rejection,
  reopenedWriteBacks,
  rollbackDecision,
  rolloutVerdict,
  scopedRollbackDecision,
  secretUnavailable,
  unverifiedStep,
  withRejection,
  withRolloutOutcomes,
  type HeadFacts,
} from './decide.ts';
import type { RejectedRevision } from './verdicts.ts';
import { UNVERIFIED_RETRY_LIMIT } from './verdicts.ts';

const GOOD = 'a'.repeat(40);
const BAD = 'b'.repeat(40);
const NEXT = 'c'.repeat(40);
const COPY = 'd'.repeat(40);
const NOW = new Date('2026-12-07T12:00:00.000Z');
const AT = NOW.toISOString();

function rollout(name: string, status: RolloutStatus): Rollout {
  return { apiVersion: 'weir.dev/v1alpha1', kind: 'Rollout', metadata: { name, namespace: 'shop' }, spec: { strategy: { canary: {} } }, status };
}

const failedOnBad: RolloutStatus = { abort: true, phase: 'Degraded', message: 'step analysis run "web-1" Failed: error rate', git: { currentRevision: BAD, stableRevision: GOOD } };
const erredOnBad: RolloutStatus = { ...failedOnBad, canary: { currentStepAnalysisRunStatus: { name: 'web-1', status: 'Error', message: 'connection refused' } } };

function source(spec: Record<string, unknown> = {}): unknown {
  return { apiVersion: 'weir.dev/v1alpha1', kind: 'GitSource', metadata: { name: 'shop', namespace: 'shop' }, spec: { url: 'https://git.example/shop.git', ...spec } };
}

const revertSpec = { rollback: resolveGitSourceSpec({ url: 'x', rollback: { writeBack: 'revert' } }).rollback, branch: 'main' };
const headFacts = (head: string, extra: Partial<HeadFacts> = {}): HeadFacts => ({ head, writeBack: 'revert', branch: 'main', at: AT, ...extra });

function rejected(revision: string, extra: Partial<RejectedRevision> = {}): RejectedRevision {
  return { revision, rollout: 'web', reason: 'error rate', at: AT, rollbackTo: GOOD, writeBack: 'none', ...extra };
}

/** A rejection of a commit before which nothing finished Healthy. */
function rejectedFirst(revision: string, extra: Partial<RejectedRevision> = {}): RejectedRevision {
  const { rollbackTo: _none, ...entry } = rejected(revision, extra);
  return entry;
}

describe('GitSource decisions: admission', () => {
  it('refuses an invalid spec and a suspended source, and admits the rest with its interval, timeout and ref', () => {
    const invalid = admission(source({ url: 'not a url', interval: 'soon' }));
    assert.equal(invalid.kind, 'refused');
    assert.equal(invalid.condition.reason, 'InvalidSpec');
    assert.match(invalid.condition.message, /spec\./);
    const suspended = admission(source({ suspend: true }));
    assert.deepEqual(suspended.kind === 'refused' && suspended.condition, { type: 'Ready', status: 'False', reason: 'Suspended', message: 'spec.suspend is true' });
    const admitted = admission(source({ interval: '30s', timeout: '5s', ref: { tag: 'v1.2.0' } }));
    assert.equal(admitted.kind, 'admitted');
    assert.equal(admitted.intervalMs, 30_000);
    assert.equal(admitted.timeoutMs, 5_000);
    assert.equal(admitted.ref, 'v1.2.0');
    const defaults = admission(source());
    assert.equal(defaults.kind === 'admitted' && defaults.ref, 'main');
    assert.equal(defaults.kind === 'admitted' && defaults.intervalMs, 60_000);
  });

  it('a missing Secret: SourceUnavailable, and a retry within the interval, at most the backoff cap', () => {
    const short = secretUnavailable('secrets "git" not found', 10_000, NOW);
    assert.deepEqual(short.condition, { type: 'SourceUnavailable', status: 'True', reason: 'SecretUnavailable', message: 'secrets "git" not found' });
    assert.equal(short.retryAt, NOW.getTime() + 10_000);
    assert.equal(secretUnavailable('x', 60 * 60_000, NOW).retryAt, NOW.getTime() + MAX_BACKOFF_MS);
  });
});

describe('GitSource decisions: apply', () => {
  it('a new commit Git points at is applied; the applied one is checked for drift', () => {
    assert.deepEqual(headDecision({}, headFacts(NEXT)), { kind: 'apply' }, 'nothing applied yet');
    assert.deepEqual(headDecision({ lastAppliedRevision: GOOD }, headFacts(NEXT)), { kind: 'apply' });
  });

  it('a new commit is applied without reading its tree when no rejection could match it by tree', () => {
    const scopedOnly: GitSourceStatus = { lastAppliedRevision: GOOD, rejectedRevisions: [rejected(BAD, { tree: 't1', scope: 'apps/web', scopeDigest: 'x' })] };
    assert.deepEqual(headDecision(scopedOnly, headFacts(NEXT)), { kind: 'apply' });
  });

  it('Git is asked at the interval, or at once when a webhook or a new spec asks', () => {
    assert.equal(pollDue(NOW, undefined, false), true, 'never polled');
    assert.equal(pollDue(NOW, NOW.getTime() + 1, false), false, 'not due');
    assert.equal(pollDue(NOW, NOW.getTime() + 60_000, true), true, 'asked');
    assert.equal(pollDue(NOW, NOW.getTime(), false), true, 'due now');
  });
});

describe('GitSource decisions: reject', () => {
  it('a managed Rollout that failed on a commit rejects it; one erring with onAnalysisError retry makes it unverified; a recorded one asks nothing', () => {
    assert.deepEqual(rolloutVerdict({}, rollout('web', failedOnBad), 'retry')?.kind, 'reject');
    assert.deepEqual(rolloutVerdict({}, rollout('web', erredOnBad), 'retry')?.kind, 'unverified');
    assert.deepEqual(rolloutVerdict({}, rollout('web', erredOnBad), 'reject')?.kind, 'reject');
    assert.equal(rolloutVerdict({}, rollout('web', { ...failedOnBad, phase: 'Progressing' }), 'retry'), undefined, 'the abort flag alone');
    assert.equal(rolloutVerdict({ rejectedRevisions: [rejected(BAD)] }, rollout('web', failedOnBad), 'retry'), undefined, 'recorded');
    assert.equal(rolloutVerdict({ rejectedRevisions: [rejected(BAD, { rollout: 'api' })] }, rollout('web', failedOnBad), 'retry'), undefined, 'a whole rejection covers every rollout');
    const scopedOther = { rejectedRevisions: [rejected(BAD, { rollout: 'api', scope: 'apps/api', scopeDigest: 'x' })] };
    assert.equal(rolloutVerdict(scopedOther, rollout('web', failedOnBad), 'retry')?.kind, 'reject', "another app's scoped rejection does not cover this one");
  });

  it('the rejection records the tree, the last good commit, the scope and a pending revert; Weir’s own revert is not reverted', () => {
    const failure = { rollout: 'web', revision: BAD, good: GOOD, reason: 'error rate', verdict: 'failed' as const };
    const { entry, skipped } = rejection(failure, { tree: 't1', weirRevert: false, scope: { scope: 'apps/web', scopeDigest: 'd1' } }, revertSpec, AT);
    assert.equal(skipped, undefined);
    assert.deepEqual(entry, { revision: BAD, tree: 't1', rollout: 'web', reason: 'error rate', at: AT, rollbackTo: GOOD, scope: 'apps/web', scopeDigest: 'd1', writeBack: 'pending' });
    const own = rejection(failure, { weirRevert: true }, revertSpec, AT);
    assert.equal(own.entry.writeBack, 'none');
    assert.equal(own.skipped, 'weir-revert');
    const noBranch = rejection(failure, { weirRevert: false }, { ...revertSpec, branch: undefined }, AT);
    assert.equal(noBranch.entry.writeBack, 'none');
    assert.equal(noBranch.skipped, 'no-branch');
    const off = rejection({ ...failure, good: undefined }, { weirRevert: false }, { rollback: resolveGitSourceSpec({ url: 'x' }).rollback, branch: 'main' }, AT);
    assert.equal(off.entry.writeBack, 'none');
    assert.equal(off.skipped, undefined);
    assert.equal('rollbackTo' in off.entry, false, 'nothing finished Healthy before it');
  });

  it('recording a rejection ends the commit being unverified and marks its history rejected, leaving the input as it was', () => {
    const status: GitSourceStatus = {
      unverifiedRevisions: [{ revision: BAD, rollout: 'web', reason: 'no data', at: AT, attempts: 1 }],
      history: [
        { revision: GOOD, outcome: 'promoted', appliedAt: AT },
        { revision: BAD, outcome: 'unverified', appliedAt: AT },
      ],
    };
    const before = structuredClone(status);
    const next = withRejection(status, rejected(BAD));
    assert.deepEqual(status, before, 'pure');
    assert.equal(next.unverifiedRevisions, undefined);
    assert.deepEqual(next.history?.map((h) => [h.outcome, h.reason]), [['promoted', undefined], ['rejected', 'error rate']]);
    assert.equal(next.rejectedRevisions?.length, 1);
  });

  it('a head that is a rejected commit is not applied: Ready says so, unless the cluster itself runs a rejected commit', () => {
    const status: GitSourceStatus = { lastAppliedRevision: GOOD, rejectedRevisions: [rejected(BAD)] };
    const d = headDecision(status, headFacts(BAD));
    assert.equal(d.kind, 'rejected');
    assert.deepEqual(d.condition, { type: 'Ready', status: 'True', reason: 'RevisionRejected', message: `bbbbbbb was rejected (error rate); running aaaaaaa until a new commit` });
    const stillOnBad = headDecision({ lastAppliedRevision: BAD, rejectedRevisions: [rejected(BAD)] }, headFacts(BAD));
    assert.equal(stillOnBad.kind === 'rejected' && stillOnBad.condition, undefined);
  });

  it('a new head with a rejected commit’s tree (force-pushed again) is asked about its tree, then rejected as a copy with its own pending revert', () => {
    const status: GitSourceStatus = { lastAppliedRevision: GOOD, rejectedRevisions: [rejected(BAD, { tree: 't-bad', writeBack: 'pushed' })] };
    assert.deepEqual(headDecision(status, headFacts(COPY)), { kind: 'readTree' });
    assert.deepEqual(headDecision(status, headFacts(COPY, { tree: 't-other' })), { kind: 'apply' });
    const d = headDecision(status, headFacts(COPY, { tree: 't-bad' }));
    assert.equal(d.kind, 'rejected');
    assert.deepEqual(d.copy, { revision: COPY, tree: 't-bad', rollout: 'web', reason: 'same content as rejected bbbbbbb: error rate', at: AT, rollbackTo: GOOD, writeBack: 'pending' });
    assert.equal(d.rejection, d.copy);
    assert.match(d.condition?.message ?? '', /^ddddddd was rejected \(same content as rejected bbbbbbb/);
  });
});

describe('GitSource decisions: rollback', () => {
  it('the cluster on a commit rejected as a whole goes back to its last good commit, or says there is none', () => {
    assert.deepEqual(rollbackDecision({ lastAppliedRevision: BAD, rejectedRevisions: [rejected(BAD)] }), { kind: 'rollback', to: GOOD });
    const none = rollbackDecision({ lastAppliedRevision: BAD, rejectedRevisions: [rejectedFirst(BAD)] });
    assert.equal(none.kind, 'noLastGood');
    assert.deepEqual({ reason: none.condition.reason, status: none.condition.status }, { reason: 'NoLastGoodRevision', status: 'False' });
    assert.match(none.condition.message, /bbbbbbb was rejected and no earlier revision of rollout web finished Healthy/);
  });

  it('nothing to go back from: nothing applied, or the applied commit is not rejected; scoped rejections check their holds', () => {
    assert.deepEqual(rollbackDecision({}), { kind: 'none' });
    assert.deepEqual(rollbackDecision({ lastAppliedRevision: GOOD, rejectedRevisions: [rejected(BAD)] }), { kind: 'none' });
    const scoped = { lastAppliedRevision: BAD, rejectedRevisions: [rejected(BAD, { scope: 'apps/web', scopeDigest: 'd' })] };
    assert.deepEqual(rollbackDecision(scoped), { kind: 'checkHolds' });
  });

  it('scoped: the applied commit is applied again when the holds it needs are not those the cluster holds', () => {
    const hold = { path: 'apps/web', revision: GOOD, rejected: BAD, rollout: 'web' };
    assert.deepEqual(scopedRollbackDecision([hold], undefined, []), { kind: 'reapply' });
    assert.deepEqual(scopedRollbackDecision([hold], [hold], []), { kind: 'none' });
    assert.deepEqual(scopedRollbackDecision([], [hold], []), { kind: 'reapply' }, 'a hold released by a fix');
    const stuck = scopedRollbackDecision([], undefined, [rejectedFirst(BAD, { scope: 'apps/web' })]);
    assert.equal(stuck.kind, 'noLastGood');
    assert.match(stuck.condition.message, /^apps\/web holds bbbbbbb, which rollout web rejected/);
  });

  it('a Healthy rollout promotes its revision in the history; an unverified revision no longer tried is dropped', () => {
    const status: GitSourceStatus = {
      history: [
        { revision: GOOD, outcome: 'superseded', appliedAt: AT },
        { revision: BAD, outcome: 'rejected', appliedAt: AT },
        { revision: NEXT, outcome: 'unverified', appliedAt: AT },
      ],
      unverifiedRevisions: [
        { revision: NEXT, rollout: 'api', reason: 'no data', at: AT, attempts: 1 },
        { revision: BAD, rollout: 'web', reason: 'no data', at: AT, attempts: 1 },
      ],
    };
    const managed = [rollout('web', { phase: 'Healthy', git: { currentRevision: GOOD, stableRevision: GOOD } }), rollout('api', { phase: 'Progressing', git: { currentRevision: NEXT, stableRevision: GOOD } })];
    const next = withRolloutOutcomes(status, managed);
    assert.deepEqual(next.history?.map((h) => h.outcome), ['promoted', 'rejected', 'unverified']);
    assert.deepEqual(next.unverifiedRevisions?.map((u) => u.rollout), ['api'], "web moved off BAD: no more retries of it");
    const allDone = withRolloutOutcomes(status, [rollout('api', { phase: 'Healthy', git: { currentRevision: NEXT, stableRevision: NEXT } })]);
    assert.equal(allDone.unverifiedRevisions, undefined);
    assert.equal(allDone.history?.[2]?.outcome, 'promoted');
  });
});

describe('GitSource decisions: unverified retries', () => {
  const failure = { rollout: 'web', revision: BAD, good: GOOD, reason: 'no data', verdict: 'unmeasured' as const };

  it('first seen: recorded with a retry in 15 s; before it is due: wait; when due: the attempt is counted, and the last one says so', () => {
    const first = unverifiedStep({ history: [{ revision: BAD, outcome: 'applied', appliedAt: AT }] }, failure, NOW);
    assert.equal(first.kind, 'record');
    assert.equal(first.delayMs, 15_000);
    assert.equal(first.status.unverifiedRevisions?.[0]?.nextRetryAt, new Date(NOW.getTime() + 15_000).toISOString());
    assert.equal(first.status.history?.[0]?.outcome, 'unverified');
    const early = unverifiedStep(first.status, { ...failure, reason: 'still no data' }, new Date(NOW.getTime() + 5_000));
    assert.equal(early.kind, 'wait');
    assert.equal(early.status.unverifiedRevisions?.[0]?.reason, 'still no data');
    const due = unverifiedStep(first.status, failure, new Date(NOW.getTime() + 15_000));
    assert.equal(due.kind, 'retry');
    assert.equal(due.attempt, 1);
    assert.equal(due.last, false);
    assert.equal(due.status.unverifiedRevisions?.[0]?.nextRetryAt, new Date(NOW.getTime() + 15_000 + 30_000).toISOString());
    const lastOne = unverifiedStep({ unverifiedRevisions: [{ ...failure, at: AT, attempts: UNVERIFIED_RETRY_LIMIT - 1, nextRetryAt: AT }] }, failure, NOW);
    assert.equal(lastOne.kind === 'retry' && lastOne.last, true);
    assert.equal(lastOne.status.unverifiedRevisions?.[0]?.nextRetryAt, undefined, 'no more automatic retries');
    assert.equal(unverifiedStep(lastOne.status, failure, new Date(NOW.getTime() + 3_600_000)).kind, 'wait');
  });

  it('the next reconcile comes at the poll, or sooner for a due retry (at least 1 s away)', () => {
    const status: GitSourceStatus = { unverifiedRevisions: [{ revision: BAD, rollout: 'web', reason: 'x', at: AT, attempts: 0, nextRetryAt: new Date(NOW.getTime() + 15_000).toISOString() }] };
    assert.equal(nextReconcileAt(NOW, NOW.getTime() + 60_000, status), NOW.getTime() + 15_000);
    assert.equal(nextReconcileAt(NOW, NOW.getTime() + 5_000, status), NOW.getTime() + 5_000);
    assert.equal(nextReconcileAt(new Date(NOW.getTime() + 20_000), NOW.getTime() + 80_000, status), NOW.getTime() + 21_000, 'overdue: in a second');
    assert.equal(nextReconcileAt(NOW, NOW.getTime() + 60_000, {}), NOW.getTime() + 60_000);
  });
});

describe('GitSource decisions: write-back', () => {
  it('once Git answers, pending reverts are settled; a rejected commit back at the tip (force-pushed) is reverted again', () => {
    const status: GitSourceStatus = {
      rejectedRevisions: [rejected(BAD, { writeBack: 'pushed' }), rejected(NEXT, { writeBack: 'pending' }), rejected(COPY, { writeBack: 'superseded' })],
    };
    const before = structuredClone(status);
    const elsewhere = reopenedWriteBacks(status, GOOD, 'revert');
    assert.deepEqual(elsewhere.settle.map((e) => e.revision), [NEXT]);
    const back = reopenedWriteBacks(status, BAD, 'revert');
    assert.deepEqual(back.settle.map((e) => e.revision), [BAD, NEXT]);
    assert.equal(back.status.rejectedRevisions?.[0]?.writeBack, 'pending');
    assert.equal(back.settle[0], back.status.rejectedRevisions[0], 'the entries to settle are those of the new status');
    assert.deepEqual(status, before, 'pure');
    assert.deepEqual(reopenedWriteBacks(status, BAD, 'branch').settle.map((e) => e.revision), [NEXT], 'a revert branch is not pushed again');
  });
});

describe('GitSource decisions: drift', () => {
  it('Git still points at the applied commit: check the cluster for drift, not apply', () => {
    assert.deepEqual(headDecision({ lastAppliedRevision: GOOD }, headFacts(GOOD)), { kind: 'checkDrift' });
    const withOldRejection: GitSourceStatus = { lastAppliedRevision: GOOD, rejectedRevisions: [rejected(BAD, { tree: 't-bad' })] };
    assert.deepEqual(headDecision(withOldRejection, headFacts(GOOD)), { kind: 'checkDrift' }, 'no tree read for the applied commit');
  });
});

describe('GitSource decisions: Git down', () => {
  it('keeps the revision, backs off from 1 s doubling up to the interval, and warns once', () => {
    const status: GitSourceStatus = { lastAppliedRevision: GOOD };
    const first = gitDown(status, { message: 'connect ECONNREFUSED', failures: 1, intervalMs: 60_000, now: NOW, writeBack: 'none' });
    assert.deepEqual(first.conditions[0], { type: 'SourceUnavailable', status: 'True', reason: 'FetchFailed', message: 'connect ECONNREFUSED' });
    assert.equal(first.event, 'connect ECONNREFUSED; keeping revision aaaaaaa');
    assert.equal(first.nextPollAt, NOW.getTime() + 1000);
    assert.equal(gitDown(status, { message: 'x', failures: 4, intervalMs: 60_000, now: NOW, writeBack: 'none' }).nextPollAt, NOW.getTime() + 8000);
    assert.equal(gitDown(status, { message: 'x', failures: 30, intervalMs: 60_000, now: NOW, writeBack: 'none' }).nextPollAt, NOW.getTime() + 60_000, 'capped by the interval');
    const again = gitDown({ ...status, conditions: [{ type: 'SourceUnavailable', status: 'True', reason: 'FetchFailed', message: 'x' }] }, { message: 'x', failures: 2, intervalMs: 60_000, now: NOW, writeBack: 'none' });
    assert.equal(again.event, undefined, 'already reported');
  });

  it('a revert Git is still owed shows as GitOutOfSync RevertPending while Git is down', () => {
    const status: GitSourceStatus = { lastAppliedRevision: GOOD, rejectedRevisions: [rejected(BAD, { writeBack: 'pending', writeBackError: 'connection refused' })] };
    const down = gitDown(status, { message: 'x', failures: 1, intervalMs: 60_000, now: NOW, writeBack: 'revert' });
    assert.deepEqual(down.conditions[1], { type: 'GitOutOfSync', status: 'True', reason: 'RevertPending', message: 'revert of bbbbbbb pending (connection refused)' });
    assert.equal(gitDown({ lastAppliedRevision: GOOD }, { message: 'x', failures: 1, intervalMs: 60_000, now: NOW, writeBack: 'none' }).conditions.length, 1, 'nothing owed: the last GitOutOfSync stays');
  });
});
