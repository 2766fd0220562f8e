import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GitSourceStatus } from '../../api/gitsource.ts';
import type { Rollout, RolloutStatus } from '../../api/rollout.ts';
import {
  UNVERIFIED_RETRY_LIMIT,
  findRejection,
  findWholeRejection,
  isRejectedFor,
  gitOutOfSync,
  initialWriteBack,
  rolloutFailure,
  unverifiedRetryDelayMs,
  writeBackStep,
  type RejectedRevision,
} from './verdicts.ts';

const BAD = 'b'.repeat(40);
const GOOD = 'a'.repeat(40);
const OTHER = 'c'.repeat(40);

function rollout(status: RolloutStatus): Rollout {
  return { apiVersion: 'weir.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'web', namespace: 'shop' }, spec: { strategy: { canary: {} } }, status };
}

const aborted: RolloutStatus = { abort: true, phase: 'Degraded', message: 'step analysis run "web-1" Failed: error rate', git: { currentRevision: BAD, stableRevision: GOOD } };

describe('rolloutFailure', () => {
  it('is a failure only once the engine acted on the abort, on a revision other than the last good one', () => {
    assert.equal(rolloutFailure(rollout({ ...aborted, phase: 'Progressing' })), undefined, 'the flag alone');
    assert.equal(rolloutFailure(rollout({ ...aborted, abort: false })), undefined);
    assert.equal(rolloutFailure(rollout({ ...aborted, git: { currentRevision: GOOD, stableRevision: GOOD } })), undefined, 'already back on the last good one');
    assert.deepEqual(rolloutFailure(rollout(aborted)), { rollout: 'web', revision: BAD, good: GOOD, reason: aborted.message, verdict: 'failed' });
  });

  it('is unmeasured when an analysis run ended in Error and none Failed', () => {
    const erred = { ...aborted, canary: { currentStepAnalysisRunStatus: { name: 'web-1', status: 'Error', message: 'connection refused' } } };
    assert.equal(rolloutFailure(rollout(erred))?.verdict, 'unmeasured');
    const bg = { ...aborted, canary: { currentBackgroundAnalysisRunStatus: { name: 'bg', status: 'Error' } } };
    assert.equal(rolloutFailure(rollout(bg))?.verdict, 'unmeasured');
    const pre = { ...aborted, blueGreen: { prePromotionAnalysisRunStatus: { name: 'pre', status: 'Error' } } };
    assert.equal(rolloutFailure(rollout(pre))?.verdict, 'unmeasured');
  });

  it('is failed when any run measured the release bad, even beside an erring one, and when nothing measured it (a user abort)', () => {
    const both = { ...aborted, canary: { currentStepAnalysisRunStatus: { name: 's', status: 'Error' }, currentBackgroundAnalysisRunStatus: { name: 'bg', status: 'Failed' } } };
    assert.equal(rolloutFailure(rollout(both))?.verdict, 'failed');
    const byHand = { ...aborted, canary: { currentStepAnalysisRunStatus: { name: 's', status: 'Running' } } };
    assert.equal(rolloutFailure(rollout(byHand))?.verdict, 'failed');
  });
});

describe('findRejection', () => {
  const entry: RejectedRevision = { revision: BAD, tree: 'd'.repeat(40), rollout: 'web', reason: 'r', at: '2026-01-01T00:00:00Z' };
  const status: GitSourceStatus = { rejectedRevisions: [entry] };
  it('matches by sha, and by tree for a copy of the commit', () => {
    assert.equal(findRejection(status, BAD), entry);
    assert.equal(findRejection(status, OTHER), undefined);
    assert.equal(findRejection(status, OTHER, 'd'.repeat(40)), entry);
    assert.equal(findRejection(status, OTHER, 'e'.repeat(40)), undefined);
    assert.equal(findRejection({}, BAD), undefined);
  });
});

describe('write-back', () => {
  const entry: RejectedRevision = { revision: BAD, rollout: 'web', reason: 'r', at: '2026-01-01T00:00:00Z', writeBack: 'pending' };

  it('starts pending only when a revert is asked for and a branch is followed', () => {
    assert.equal(initialWriteBack('revert', 'main'), 'pending');
    assert.equal(initialWriteBack('branch', 'main'), 'pending');
    assert.equal(initialWriteBack('none', 'main'), 'none');
    assert.equal(initialWriteBack('revert', undefined), 'none');
  });

  it('pushes while the branch holds the rejected commit, or when Git was not asked', () => {
    assert.deepEqual(writeBackStep(entry, 'revert', BAD), { action: 'push' });
    assert.deepEqual(writeBackStep(entry, 'revert', undefined), { action: 'push' });
    assert.deepEqual(writeBackStep(entry, 'branch', BAD), { action: 'push' });
  });

  it('recognises its own revert pushed before a restart, and a newer commit that superseded the rejected one', () => {
    const revert = { sha: OTHER, message: `Revert "bad"\n\nThis reverts commit ${BAD}.\n\nWeir rejected it: …\n` };
    assert.deepEqual(writeBackStep(entry, 'revert', OTHER, [revert]), { action: 'pushed', revert: OTHER });
    assert.deepEqual(writeBackStep(entry, 'revert', OTHER, [{ sha: OTHER, message: 'fix the bad release' }]), { action: 'superseded' });
    assert.deepEqual(writeBackStep(entry, 'revert', OTHER, [{ sha: OTHER, message: `This reverts commit ${GOOD}.` }]), { action: 'superseded' }, 'a revert of another commit');
    assert.deepEqual(writeBackStep(entry, 'branch', OTHER), { action: 'superseded' });
  });
});

describe('gitOutOfSync', () => {
  const base: RejectedRevision = { revision: BAD, rollout: 'web', reason: 'r', at: '2026-01-01T00:00:00Z' };
  it('is True while a revert is pending, naming the last error', () => {
    const c = gitOutOfSync({ rejectedRevisions: [{ ...base, writeBack: 'pending', writeBackError: 'connection refused' }] }, undefined, 'revert');
    assert.ok(c);
    assert.equal(c.status, 'True');
    assert.equal(c.reason, 'RevertPending');
    assert.match(c.message, /revert of bbbbbbb pending \(connection refused\)/);
  });

  it('is True while Git points at a rejected commit it was not asked to revert, False once Git points elsewhere', () => {
    const status: GitSourceStatus = { rejectedRevisions: [{ ...base, writeBack: 'none' }] };
    assert.equal(gitOutOfSync(status, BAD, 'none')?.status, 'True');
    assert.match(gitOutOfSync(status, BAD, 'none')?.message ?? '', /writeBack is none/);
    assert.equal(gitOutOfSync(status, GOOD, 'none')?.status, 'False');
    assert.equal(gitOutOfSync({ rejectedRevisions: [{ ...base, writeBack: 'pushed' }] }, OTHER, 'revert')?.status, 'False');
  });

  it('says nothing without a pending revert when Git was not reached', () => {
    assert.equal(gitOutOfSync({}, undefined, 'revert'), undefined);
  });
});

describe('unverifiedRetryDelayMs', () => {
  it('doubles from 15 s and stops growing at 5 min', () => {
    assert.deepEqual([0, 1, 2, 3, 4, 5, 9].map(unverifiedRetryDelayMs), [15_000, 30_000, 60_000, 120_000, 240_000, 300_000, 300_000]);
    assert.equal(UNVERIFIED_RETRY_LIMIT, 10, 'the limit the README states');
  });
});

describe('scoped rejections', () => {
  const scoped: RejectedRevision = { revision: BAD, rollout: 'b', reason: 'x', at: '2026-12-07T00:00:00Z', rollbackTo: GOOD, scope: 'apps/b', scopeDigest: 'd', writeBack: 'pending' };

  it('are not whole rejections, and count only for their own rollout', () => {
    const status: GitSourceStatus = { rejectedRevisions: [scoped] };
    assert.equal(findWholeRejection(status, BAD), undefined);
    assert.ok(isRejectedFor(status, BAD, 'b'));
    assert.ok(!isRejectedFor(status, BAD, 'a'), "a's failure on the same commit is its own rejection");
    const { scope: _scope, scopeDigest: _digest, ...unscoped } = scoped;
    const whole: GitSourceStatus = { rejectedRevisions: [unscoped] };
    assert.equal(findWholeRejection(whole, BAD)?.revision, BAD);
    assert.ok(isRejectedFor(whole, BAD, 'a'));
  });

  it("push while the app's directory is still as rejected, whatever its neighbours pushed; find the revert of this app", () => {
    assert.deepEqual(writeBackStep(scoped, 'revert', OTHER, [{ sha: OTHER, message: 'a: bump' }], { unchanged: true, rollout: 'shop/b' }), { action: 'push' });
    assert.deepEqual(writeBackStep(scoped, 'branch', OTHER, [], { unchanged: true, rollout: 'shop/b' }), { action: 'push' });
    const revertOfA = { sha: OTHER, message: `Revert "x"\n\nThis reverts commit ${BAD}.\n\nWeir rejected it: rollout shop/a failed: y\n` };
    const revertOfB = { sha: GOOD, message: `Revert "x"\n\nThis reverts commit ${BAD}.\n\nWeir rejected it: rollout shop/b failed: y\n` };
    assert.deepEqual(writeBackStep(scoped, 'revert', OTHER, [revertOfA, revertOfB], { unchanged: false, rollout: 'shop/b' }), { action: 'pushed', revert: GOOD });
    assert.deepEqual(writeBackStep(scoped, 'revert', OTHER, [revertOfA], { unchanged: false, rollout: 'shop/b' }), { action: 'superseded' });
  });

  it('GitOutOfSync stays true while a directory is held back at the applied head', () => {
    const status: GitSourceStatus = { lastAppliedRevision: OTHER, heldBack: [{ path: 'apps/b', revision: GOOD, rejected: BAD, rollout: 'b' }], rejectedRevisions: [{ ...scoped, writeBack: 'none' }] };
    const c = gitOutOfSync(status, OTHER, 'none');
    assert.equal(c?.status, 'True');
    assert.equal(c.reason, 'RejectedContentInGit');
    assert.match(c.message, /apps\/b is rejected bbbbbbb's \(held at aaaaaaa\)/);
    const { heldBack: _held, ...released } = status;
    assert.equal(gitOutOfSync(released, OTHER, 'none')?.status, 'False');
  });
});
