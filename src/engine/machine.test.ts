import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { RolloutStatus } from '../api/rollout.ts';
import { lifecycleState, restoreLifecycle, sendLifecycle, stateFromStatus, type LifecycleContext, type LifecycleEvent, type LifecycleState } from './machine.ts';

const T = '2024-05-01T10:00:00Z';

function ctx(restoreTo: LifecycleState, o: Partial<LifecycleContext> = {}): LifecycleContext {
  return { restoreTo, stepIndex: 0, stepCount: 3, fullyPromoted: false, steps: ['setWeight 20', 'pause', 'setWeight 50'], revision: 2, podHash: 'new', ...o };
}

function run(from: LifecycleState, events: LifecycleEvent[], o: Partial<LifecycleContext> = {}): { state: LifecycleState; stepIndex: number; reasons: string[] } {
  let r = restoreLifecycle(ctx(from, o));
  for (const e of events) r = sendLifecycle(r, e);
  return { state: lifecycleState(r.snapshot), stepIndex: r.snapshot.context.stepIndex, reasons: r.events.map((e) => e.reason) };
}

describe('stateFromStatus', () => {
  const cases: [string, RolloutStatus | undefined, LifecycleState][] = [
    ['no status', undefined, 'pending'],
    ['never reconciled', { phase: 'Progressing' }, 'pending'],
    ['abortedAt', { currentPodHash: 'new', stableRS: 'old', abortedAt: T }, 'aborted'],
    [
      'retried by the CLI (abort and abortedAt cleared, condition still aborted)',
      { currentPodHash: 'new', stableRS: 'old', conditions: [{ type: 'Progressing', status: 'False', reason: 'RolloutAborted' }] },
      'aborted',
    ],
    ['timed out', { currentPodHash: 'new', stableRS: 'old', conditions: [{ type: 'Progressing', status: 'False', reason: 'ProgressDeadlineExceeded' }] }, 'degraded'],
    ['manually paused', { currentPodHash: 'new', stableRS: 'old', phase: 'Paused', message: 'manually paused' }, 'pausedUser'],
    ['pause step', { currentPodHash: 'new', stableRS: 'old', pauseConditions: [{ reason: 'CanaryPauseStep', startTime: T }], controllerPause: true }, 'pausedStep'],
    ['promoted by the user (conditions cleared, controllerPause left)', { currentPodHash: 'new', stableRS: 'old', controllerPause: true }, 'pausedStep'],
    ['no stable yet', { currentPodHash: 'new' }, 'completing'],
    ['fully promoted', { currentPodHash: 'new', stableRS: 'new' }, 'healthy'],
    ['steps remain', { currentPodHash: 'new', stableRS: 'old', currentStepIndex: 2 }, 'progressing'],
    ['steps done', { currentPodHash: 'new', stableRS: 'old', currentStepIndex: 3 }, 'completing'],
    ['user abort flag alone is an event, not a state', { currentPodHash: 'new', stableRS: 'new', abort: true }, 'healthy'],
  ];
  for (const [name, status, expected] of cases) {
    it(`${name} → ${expected}`, () => {
      assert.equal(stateFromStatus(status, 3), expected);
    });
  }
});

describe('lifecycle machine', () => {
  it('restoring is not a transition: no events', () => {
    for (const s of ['healthy', 'progressing', 'completing', 'pausedUser', 'pausedStep', 'aborted', 'degraded', 'pending'] as const) {
      const r = restoreLifecycle(ctx(s));
      assert.equal(lifecycleState(r.snapshot), s);
      assert.deepEqual(r.events, []);
    }
  });

  it('a new canary revision starts step 1', () => {
    assert.deepEqual(run('healthy', [{ type: 'REVISION', target: 'canary', announce: true }], { fullyPromoted: true, stepIndex: 3 }), {
      state: 'progressing',
      stepIndex: 0,
      reasons: ['RolloutUpdated', 'StepStarted'],
    });
  });

  it('a first revision, or one without steps, goes straight to completing; back to stable goes to healthy', () => {
    assert.equal(run('pending', [{ type: 'REVISION', target: 'initial', announce: true }]).state, 'completing');
    assert.equal(run('healthy', [{ type: 'REVISION', target: 'canary', announce: true }], { stepCount: 0, steps: [] }).state, 'completing');
    assert.deepEqual(run('progressing', [{ type: 'REVISION', target: 'stable', announce: true }], { stepIndex: 1 }), { state: 'healthy', stepIndex: 3, reasons: ['RolloutUpdated'] });
  });

  it('steps advance one at a time and the last one leads to completing', () => {
    assert.deepEqual(run('progressing', [{ type: 'STEP_COMPLETED' }]), { state: 'progressing', stepIndex: 1, reasons: ['StepCompleted', 'StepStarted'] });
    assert.deepEqual(run('progressing', [{ type: 'STEP_COMPLETED' }], { stepIndex: 2 }), { state: 'completing', stepIndex: 3, reasons: ['StepCompleted'] });
  });

  it('a pause step pauses and a completed pause resumes', () => {
    assert.deepEqual(run('progressing', [{ type: 'PAUSE_STEP_REACHED', started: true }], { stepIndex: 1 }), { state: 'pausedStep', stepIndex: 1, reasons: ['RolloutPaused'] });
    assert.deepEqual(run('progressing', [{ type: 'PAUSE_STEP_REACHED', started: false }], { stepIndex: 1 }).reasons, []);
    assert.deepEqual(run('pausedStep', [{ type: 'STEP_COMPLETED' }], { stepIndex: 1 }), {
      state: 'progressing',
      stepIndex: 2,
      reasons: ['RolloutResumed', 'StepCompleted', 'StepStarted'],
    });
  });

  it('abort applies to an update in progress, resets the step index, and is ignored when healthy', () => {
    for (const s of ['progressing', 'completing', 'pausedStep', 'pausedUser', 'degraded'] as const) {
      assert.deepEqual(run(s, [{ type: 'ABORT' }], { stepIndex: 2 }), { state: 'aborted', stepIndex: 0, reasons: ['RolloutAborted'] }, s);
    }
    assert.deepEqual(run('healthy', [{ type: 'ABORT' }], { fullyPromoted: true }), { state: 'healthy', stepIndex: 0, reasons: [] });
  });

  it('retry restarts the steps; promote --full skips them (also from aborted)', () => {
    assert.deepEqual(run('aborted', [{ type: 'RETRY' }]), { state: 'progressing', stepIndex: 0, reasons: ['RolloutRetry', 'StepStarted'] });
    assert.deepEqual(run('aborted', [{ type: 'PROMOTE_FULL' }]), { state: 'completing', stepIndex: 3, reasons: ['RolloutPromoted'] });
    assert.deepEqual(run('pausedStep', [{ type: 'PROMOTE_FULL' }], { stepIndex: 1 }), { state: 'completing', stepIndex: 3, reasons: ['RolloutPromoted'] });
    assert.deepEqual(run('pausedUser', [{ type: 'PROMOTE_FULL' }], { stepIndex: 1 }).state, 'pausedUser', 'spec.paused holds a promotion until resumed');
    assert.deepEqual(run('healthy', [{ type: 'PROMOTE_FULL' }], { fullyPromoted: true }).reasons, []);
  });

  it('spec.paused pauses anything but an aborted or degraded rollout; resume goes back where the rollout stands', () => {
    assert.deepEqual(run('progressing', [{ type: 'USER_PAUSE' }]), { state: 'pausedUser', stepIndex: 0, reasons: ['RolloutPaused'] });
    assert.equal(run('healthy', [{ type: 'USER_PAUSE' }], { fullyPromoted: true }).state, 'pausedUser');
    assert.equal(run('aborted', [{ type: 'USER_PAUSE' }]).state, 'aborted');
    assert.equal(run('pausedUser', [{ type: 'USER_RESUME' }], { stepIndex: 1 }).state, 'progressing');
    assert.equal(run('pausedUser', [{ type: 'USER_RESUME' }], { stepIndex: 3 }).state, 'completing');
    assert.deepEqual(run('pausedUser', [{ type: 'USER_RESUME' }], { fullyPromoted: true, stepIndex: 3 }), { state: 'healthy', stepIndex: 3, reasons: ['RolloutResumed'] });
  });

  it('promotion completes; the progress deadline degrades or aborts', () => {
    assert.deepEqual(run('completing', [{ type: 'PROMOTED', reason: 'Completed all 3 canary steps' }], { stepIndex: 3 }), { state: 'healthy', stepIndex: 3, reasons: ['RolloutCompleted'] });
    assert.deepEqual(run('progressing', [{ type: 'DEADLINE_EXCEEDED', abort: false, message: 'late' }]).reasons, ['ProgressDeadlineExceeded']);
    assert.equal(run('progressing', [{ type: 'DEADLINE_EXCEEDED', abort: false, message: 'late' }]).state, 'degraded');
    assert.deepEqual(run('completing', [{ type: 'DEADLINE_EXCEEDED', abort: true, message: 'late' }], { stepIndex: 3 }), {
      state: 'aborted',
      stepIndex: 0,
      reasons: ['ProgressDeadlineExceeded', 'RolloutAborted'],
    });
    assert.equal(run('healthy', [{ type: 'DEADLINE_EXCEEDED', abort: true, message: 'late' }], { fullyPromoted: true }).state, 'degraded', 'nothing to abort when fully promoted');
    assert.equal(run('degraded', [{ type: 'PROGRESSED' }], { stepIndex: 1 }).state, 'progressing');
    assert.equal(run('degraded', [{ type: 'DEADLINE_EXCEEDED', abort: true, message: 'late' }], { stepIndex: 1 }).state, 'aborted');
  });

  it('the machine is pure: the same inputs give the same snapshot and events', () => {
    const events: LifecycleEvent[] = [{ type: 'STEP_COMPLETED' }, { type: 'PAUSE_STEP_REACHED', started: true }];
    assert.deepEqual(run('progressing', events), run('progressing', events));
  });
});
