import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rollout, RolloutSpec, RolloutStatus } from '../api/rollout.ts';
import {
  ActionNotApplicableError,
  planAbort,
  planPause,
  planPromote,
  planRestart,
  planResume,
  planRetry,
  planRolloutAction,
  rfc3339,
  specPatchBody,
  statusPatchBody,
} from './user-actions.ts';

const T0 = '2024-05-01T12:00:00Z';

function canary(status: RolloutStatus | undefined, spec: Partial<RolloutSpec> = {}): Rollout {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'demo', namespace: 'shop', uid: 'u-1', resourceVersion: '42' },
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'demo' } },
      strategy: { canary: { steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '5s' } }] } },
      ...spec,
    },
    ...(status ? { status } : {}),
  };
}

function blueGreen(status: RolloutStatus): Rollout {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'bg', namespace: 'shop' },
    spec: { strategy: { blueGreen: { activeService: 'bg-active', previewService: 'bg-preview', autoPromotionEnabled: false } } },
    status,
  };
}

// The states a canary goes through.
const pausedAtPauseStep: RolloutStatus = {
  phase: 'Paused',
  message: 'CanaryPauseStep',
  currentStepIndex: 1,
  pauseConditions: [{ reason: 'CanaryPauseStep', startTime: T0 }],
  controllerPause: true,
  currentPodHash: 'new',
  stableRS: 'old',
};
const progressing: RolloutStatus = { phase: 'Progressing', currentStepIndex: 2, currentPodHash: 'new', stableRS: 'old' };
const allStepsDone: RolloutStatus = { phase: 'Progressing', currentStepIndex: 4, currentPodHash: 'new', stableRS: 'old' };
const healthy: RolloutStatus = { phase: 'Healthy', currentStepIndex: 4, currentPodHash: 'old', stableRS: 'old' };
const aborted: RolloutStatus = {
  phase: 'Degraded',
  message: 'RolloutAborted: Rollout aborted update to revision 2',
  abort: true,
  abortedAt: T0,
  currentStepIndex: 0,
  currentPodHash: 'new',
  stableRS: 'old',
};
/** Promoted by someone, and the controller has not reconciled yet. */
const resumePending: RolloutStatus = { ...pausedAtPauseStep, pauseConditions: [] };

function rejects(fn: () => unknown, pattern: RegExp): void {
  assert.throws(fn, (err: unknown) => {
    assert.ok(err instanceof ActionNotApplicableError, `expected ActionNotApplicableError, got ${String(err)}`);
    assert.match(err.message, pattern);
    return true;
  });
}

describe('rollout actions', () => {
  describe('promote', () => {
    it('at a pause step: clears the pause conditions (status only), leaves the step to the controller', () => {
      const plan = planPromote(canary(pausedAtPauseStep));
      assert.deepEqual(plan.status, { pauseConditions: null });
      assert.equal(plan.spec, undefined);
      assert.equal(plan.message, "rollout 'demo' promoted");
    });

    it('paused by spec.paused only: unpauses the spec, writes no status', () => {
      const plan = planPromote(canary(progressing, { paused: true }));
      assert.deepEqual(plan.spec, { paused: false });
      assert.equal(plan.status, undefined);
    });

    it('paused both ways: clears pause conditions and unpauses the spec', () => {
      const plan = planPromote(canary(pausedAtPauseStep, { paused: true }));
      assert.deepEqual(plan.status, { pauseConditions: null });
      assert.deepEqual(plan.spec, { paused: false });
    });

    it('progressing, not paused: goes to the next step', () => {
      const plan = planPromote(canary(progressing));
      assert.deepEqual(plan.status, { currentStepIndex: 3 });
      assert.equal(plan.spec, undefined);
    });

    it('with no status yet: reads the step index as 0, as Argo does', () => {
      assert.deepEqual(planPromote(canary(undefined)).status, { currentStepIndex: 1 });
    });

    it('healthy: "already fully promoted"', () => {
      rejects(() => planPromote(canary(healthy)), /^rollout "demo" is already fully promoted/);
    });

    it('past the last step but still scaling: "already fully promoted: no steps left"', () => {
      rejects(() => planPromote(canary(allStepsDone)), /already fully promoted: no steps left/);
    });

    it('a promotion the controller has not acted on yet is not repeated (it would skip a step)', () => {
      rejects(() => planPromote(canary(resumePending)), /already being promoted/);
    });

    it('aborted: points to retry or --full', () => {
      rejects(() => planPromote(canary(aborted)), /is aborted: use "weir retry".*--full/);
    });

    it('blue-green paused before promotion: clears the pause conditions', () => {
      const plan = planPromote(blueGreen({ phase: 'Paused', pauseConditions: [{ reason: 'BlueGreenPause', startTime: T0 }], controllerPause: true, currentPodHash: 'g', stableRS: 'b' }));
      assert.deepEqual(plan.status, { pauseConditions: null });
    });

    it('blue-green not paused: nothing to promote', () => {
      rejects(() => planPromote(blueGreen({ phase: 'Progressing', currentPodHash: 'g', stableRS: 'b' })), /is not paused: nothing to promote/);
      rejects(() => planPromote(blueGreen({ phase: 'Healthy', currentPodHash: 'b', stableRS: 'b' })), /already fully promoted/);
    });

    it('canary without steps, mid-update: suggests --full', () => {
      const ro = canary(progressing, { strategy: { canary: {} } });
      rejects(() => planPromote(ro), /has no steps to promote \(use --full/);
    });
  });

  describe('promote --full', () => {
    for (const [state, status] of [
      ['paused at a pause step', pausedAtPauseStep],
      ['progressing', progressing],
      ['aborted', aborted],
    ] as const) {
      it(`${state}: sets status.promoteFull`, () => {
        const plan = planPromote(canary(status), { full: true });
        assert.deepEqual(plan.status, { promoteFull: true });
        assert.equal(plan.spec, undefined);
        assert.equal(plan.action, 'promote-full');
        assert.equal(plan.message, "rollout 'demo' fully promoted");
      });
    }

    it('healthy with no canary: an error', () => {
      rejects(() => planPromote(canary(healthy), { full: true }), /already fully promoted: no update in progress/);
    });
  });

  describe('abort', () => {
    for (const [state, status] of [
      ['paused at a pause step', pausedAtPauseStep],
      ['progressing', progressing],
    ] as const) {
      it(`${state}: sets status.abort`, () => {
        const plan = planAbort(canary(status));
        assert.deepEqual(plan.status, { abort: true });
        assert.equal(plan.spec, undefined);
        assert.equal(plan.message, "rollout 'demo' aborted");
      });
    }

    it('spec.paused mid-update: aborts too', () => {
      assert.deepEqual(planAbort(canary(progressing, { paused: true })).status, { abort: true });
    });

    it('already aborted: an error', () => {
      rejects(() => planAbort(canary(aborted)), /^rollout "demo" is already aborted$/);
    });

    it('healthy with nothing in progress: an error', () => {
      rejects(() => planAbort(canary(healthy)), /has no update in progress to abort/);
    });
  });

  describe('retry', () => {
    it('aborted: clears abort, abortedAt and the pause conditions', () => {
      const plan = planRetry(canary(aborted));
      assert.deepEqual(plan.status, { abort: false, abortedAt: null, pauseConditions: null });
      assert.equal(plan.spec, undefined);
      assert.equal(plan.message, "rollout 'demo' retried");
    });

    for (const [state, status] of [
      ['paused at a pause step', pausedAtPauseStep],
      ['progressing', progressing],
      ['healthy', healthy],
    ] as const) {
      it(`${state}: not aborted, an error`, () => {
        rejects(() => planRetry(canary(status)), /is not aborted: nothing to retry/);
      });
    }
  });

  describe('pause', () => {
    for (const [state, status] of [
      ['paused at a pause step', pausedAtPauseStep],
      ['progressing', progressing],
      ['healthy', healthy],
      ['aborted', aborted],
    ] as const) {
      it(`${state}: sets spec.paused`, () => {
        const plan = planPause(canary(status));
        assert.deepEqual(plan.spec, { paused: true });
        assert.equal(plan.status, undefined);
        assert.equal(plan.message, "rollout 'demo' paused");
      });
    }

    it('already spec.paused: an error', () => {
      rejects(() => planPause(canary(progressing, { paused: true })), /^rollout "demo" is already paused$/);
    });
  });

  describe('resume', () => {
    it('spec.paused: unpauses the spec', () => {
      const plan = planResume(canary(progressing, { paused: true }));
      assert.deepEqual(plan.spec, { paused: false });
      assert.equal(plan.status, undefined);
      assert.equal(plan.message, "rollout 'demo' resumed");
    });

    it('waiting at a pause step (not spec.paused): an error that points to promote', () => {
      rejects(() => planResume(canary(pausedAtPauseStep)), /not paused by spec\.paused; it waits on CanaryPauseStep: use "weir promote"/);
    });

    for (const [state, status] of [
      ['progressing', progressing],
      ['healthy', healthy],
      ['aborted', aborted],
    ] as const) {
      it(`${state}: not paused, an error`, () => {
        rejects(() => planResume(canary(status)), /^rollout "demo" is not paused$/);
      });
    }
  });

  describe('restart', () => {
    it('sets spec.restartAt to now in RFC 3339 (UTC, whole seconds)', () => {
      const plan = planRestart(canary(healthy), new Date('2024-05-01T12:34:56.789Z'));
      assert.deepEqual(plan.spec, { restartAt: '2024-05-01T12:34:56Z' });
      assert.equal(plan.status, undefined);
      assert.equal(plan.message, "rollout 'demo' restarted");
    });

    it('applies mid-update too', () => {
      assert.ok(planRestart(canary(pausedAtPauseStep), new Date(T0)).spec);
    });
  });

  it('no action applies to a rollout being deleted', () => {
    const ro = canary(progressing);
    (ro.metadata as Record<string, unknown>).deletionTimestamp = T0;
    for (const action of ['promote', 'promote-full', 'abort', 'retry', 'pause', 'resume', 'restart'] as const) {
      rejects(() => planRolloutAction(action, ro, new Date(T0)), /is being deleted/);
    }
  });

  it('planRolloutAction dispatches every action', () => {
    const now = new Date(T0);
    assert.deepEqual(planRolloutAction('promote', canary(progressing), now).status, { currentStepIndex: 3 });
    assert.deepEqual(planRolloutAction('promote-full', canary(progressing), now).status, { promoteFull: true });
    assert.deepEqual(planRolloutAction('abort', canary(progressing), now).status, { abort: true });
    assert.deepEqual(planRolloutAction('retry', canary(aborted), now).status, { abort: false, abortedAt: null, pauseConditions: null });
    assert.deepEqual(planRolloutAction('pause', canary(progressing), now).spec, { paused: true });
    assert.deepEqual(planRolloutAction('resume', canary(progressing, { paused: true }), now).spec, { paused: false });
    assert.deepEqual(planRolloutAction('restart', canary(progressing), now).spec, { restartAt: T0 });
  });

  describe('patch bodies', () => {
    it('status patch: {status}, with the resourceVersion read as a precondition when given', () => {
      const plan = planPromote(canary(progressing));
      assert.deepEqual(statusPatchBody(plan, '42'), { metadata: { resourceVersion: '42' }, status: { currentStepIndex: 3 } });
      assert.deepEqual(statusPatchBody(plan), { status: { currentStepIndex: 3 } });
      assert.equal(specPatchBody(plan), undefined);
    });

    it('spec patch: {spec}, and null stays null (JSON merge patch deletes)', () => {
      const both = planPromote(canary(pausedAtPauseStep, { paused: true }));
      assert.deepEqual(specPatchBody(both), { spec: { paused: false } });
      assert.equal(JSON.stringify(statusPatchBody(both)), '{"status":{"pauseConditions":null}}');
      assert.equal(statusPatchBody(planPause(canary(progressing))), undefined);
    });
  });

  it('rfc3339 drops the milliseconds', () => {
    assert.equal(rfc3339(new Date('2024-01-02T03:04:05.000Z')), '2024-01-02T03:04:05Z');
  });
});
