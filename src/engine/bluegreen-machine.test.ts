import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RolloutStatus } from '../api/rollout.ts';
import {
  blueGreenState,
  restoreBlueGreen,
  resumeTarget,
  sendBlueGreen,
  stateFromBlueGreenStatus,
  type BlueGreenContext,
  type BlueGreenEvent,
  type BlueGreenState,
} from './bluegreen-machine.ts';

const T = '2024-05-01T10:00:00Z';

function run(from: BlueGreenState, events: BlueGreenEvent[], resumeTo: BlueGreenContext['resumeTo'] = 'preview'): { state: BlueGreenState; reasons: string[] } {
  let r = restoreBlueGreen({ restoreTo: from, revision: 2, podHash: 'new', resumeTo });
  for (const e of events) r = sendBlueGreen(r, e);
  return { state: blueGreenState(r.snapshot), reasons: r.events.map((e) => e.reason) };
}

describe('stateFromBlueGreenStatus', () => {
  const cases: [string, RolloutStatus | undefined, BlueGreenState][] = [
    ['no status', undefined, 'pending'],
    ['abortedAt', { currentPodHash: 'new', stableRS: 'old', abortedAt: T }, 'aborted'],
    ['retried by the CLI (condition still aborted)', { currentPodHash: 'new', stableRS: 'old', conditions: [{ type: 'Progressing', status: 'False', reason: 'RolloutAborted' }] }, 'aborted'],
    ['timed out', { currentPodHash: 'new', stableRS: 'old', conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }, 'degraded'],
    ['manually paused', { currentPodHash: 'new', stableRS: 'old', phase: 'Paused', message: 'manually paused' }, 'pausedUser'],
    ['waiting for promotion', { currentPodHash: 'new', stableRS: 'old', pauseConditions: [{ reason: 'BlueGreenPause', startTime: T }], controllerPause: true }, 'pausedPromotion'],
    ['promoted by the user, not yet acted on', { currentPodHash: 'new', stableRS: 'old', controllerPause: true }, 'pausedPromotion'],
    ['first deploy', { currentPodHash: 'new' }, 'completing'],
    ['fully promoted', { currentPodHash: 'new', stableRS: 'new' }, 'healthy'],
    ['active switched, not stable yet', { currentPodHash: 'new', stableRS: 'old', blueGreen: { activeSelector: 'new' } }, 'postPromotion'],
    ['promotion approved', { currentPodHash: 'new', stableRS: 'old', blueGreen: { activeSelector: 'old', scaleUpPreviewCheckPoint: true } }, 'promoting'],
    ['previewing', { currentPodHash: 'new', stableRS: 'old', blueGreen: { activeSelector: 'old' } }, 'preview'],
  ];
  for (const [name, status, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      assert.equal(stateFromBlueGreenStatus(status), expected);
    });
  }

  it('resumes a user pause or a deadline where the status implies', () => {
    assert.equal(resumeTarget({ currentPodHash: 'new' }), 'completing');
    assert.equal(resumeTarget({ currentPodHash: 'new', stableRS: 'new' }), 'healthy');
    assert.equal(resumeTarget({ currentPodHash: 'new', stableRS: 'old', blueGreen: { activeSelector: 'new' } }), 'postPromotion');
    assert.equal(resumeTarget({ currentPodHash: 'new', stableRS: 'old', blueGreen: { scaleUpPreviewCheckPoint: true } }), 'promoting');
    assert.equal(resumeTarget({ currentPodHash: 'new', stableRS: 'old' }), 'preview');
  });
});

describe('blue/green machine', () => {
  it('restoring is not a transition: no events', () => {
    for (const s of ['completing', 'healthy', 'preview', 'pausedUser', 'pausedPromotion', 'promoting', 'postPromotion', 'aborted', 'degraded', 'pending'] as const) {
      const r = restoreBlueGreen({ restoreTo: s, revision: 2, podHash: 'new', resumeTo: 'preview' });
      assert.equal(blueGreenState(r.snapshot), s);
      assert.deepEqual(r.events, []);
    }
  });

  const table: [string, BlueGreenState, BlueGreenEvent[], BlueGreenState, string[]][] = [
    ['first deploy', 'pending', [{ type: 'REVISION', target: 'initial', announce: false }], 'completing', ['RolloutUpdated']],
    ['first deploy done', 'completing', [{ type: 'PROMOTED', reason: 'Initial deploy' }], 'healthy', ['RolloutCompleted']],
    ['an update previews', 'healthy', [{ type: 'REVISION', target: 'update', announce: true }], 'preview', ['RolloutUpdated']],
    ['back to the stable template', 'preview', [{ type: 'REVISION', target: 'stable', announce: true }], 'healthy', ['RolloutUpdated']],
    ['preview ready, waiting for a person', 'preview', [{ type: 'PREVIEW_PAUSE', reason: 'BlueGreenPause' }], 'pausedPromotion', ['RolloutPaused']],
    ['auto-promotion', 'preview', [{ type: 'APPROVED', reason: 'auto' }], 'promoting', ['RolloutPromoting']],
    ['promoted by a person', 'pausedPromotion', [{ type: 'APPROVED', reason: 'user' }], 'promoting', ['RolloutResumed', 'RolloutPromoting']],
    ['switched', 'promoting', [{ type: 'SWITCHED' }], 'postPromotion', ['SwitchedActiveService']],
    ['post-promotion passed', 'postPromotion', [{ type: 'PROMOTED', reason: 'ok' }], 'healthy', ['RolloutCompleted']],
    ['post-promotion inconclusive then promoted', 'postPromotion', [{ type: 'ANALYSIS_INCONCLUSIVE', message: 'x' }, { type: 'PROMOTED', reason: 'user' }], 'healthy', ['RolloutPaused', 'RolloutCompleted']],
    ['pre-promotion failed', 'preview', [{ type: 'ANALYSIS_FAILED', message: 'x' }], 'aborted', ['RolloutAborted']],
    ['post-promotion failed', 'postPromotion', [{ type: 'ANALYSIS_FAILED', message: 'x' }], 'aborted', ['RolloutAborted']],
    ['failed while paused for promotion', 'pausedPromotion', [{ type: 'ANALYSIS_FAILED', message: 'x' }], 'aborted', ['RolloutAborted']],
    ['user abort while previewing', 'preview', [{ type: 'ABORT' }], 'aborted', ['RolloutAborted']],
    ['user abort after the switch', 'postPromotion', [{ type: 'ABORT' }], 'aborted', ['RolloutAborted']],
    ['user abort while promoting', 'promoting', [{ type: 'ABORT' }], 'aborted', ['RolloutAborted']],
    ['retry', 'aborted', [{ type: 'RETRY' }], 'preview', ['RolloutRetry']],
    ['promote --full from an abort', 'aborted', [{ type: 'PROMOTE_FULL' }], 'promoting', ['RolloutPromoted']],
    ['promote --full while waiting', 'pausedPromotion', [{ type: 'PROMOTE_FULL' }], 'promoting', ['RolloutPromoted']],
    ['spec.paused and back (preview)', 'preview', [{ type: 'USER_PAUSE' }, { type: 'USER_RESUME' }], 'preview', ['RolloutPaused', 'RolloutResumed']],
    ['a deadline without abort', 'preview', [{ type: 'DEADLINE_EXCEEDED', abort: false, message: 'slow' }], 'degraded', ['ProgressDeadlineExceeded']],
    ['a deadline with progressDeadlineAbort', 'promoting', [{ type: 'DEADLINE_EXCEEDED', abort: true, message: 'slow' }], 'aborted', ['ProgressDeadlineExceeded', 'RolloutAborted']],
    ['progress after the deadline', 'degraded', [{ type: 'PROGRESSED' }], 'preview', []],
    ['an abort is not accepted when healthy', 'healthy', [{ type: 'ABORT' }], 'healthy', []],
  ];
  for (const [name, from, events, to, reasons] of table) {
    it(`${name}: ${from} → ${to}`, () => {
      assert.deepEqual(run(from, events), { state: to, reasons });
    });
  }

  it('a user pause resumes where it was: promoting, post-promotion, completing', () => {
    for (const resumeTo of ['promoting', 'postPromotion', 'completing', 'healthy'] as const) {
      assert.equal(run('pausedUser', [{ type: 'USER_RESUME' }], resumeTo).state, resumeTo);
    }
  });
});
