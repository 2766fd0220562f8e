// The blue/green lifecycle as an xstate machine, beside the canary one
// (machine.ts). Pure: transitions and the Events they record; the planner
// (bluegreen.ts) feeds it what the inputs and observations imply. The state
// is restored from status at each reconcile (stateFromBlueGreenStatus).
//
//   pending ─REVISION(initial)→ completing ─PROMOTED→ healthy
//   healthy ─REVISION(update)→ preview ─PREVIEW_PAUSE→ paused.promotion
//   preview | paused.promotion ─APPROVED→ promoting ─SWITCHED→ postPromotion ─PROMOTED→ healthy
//   any update state ─ABORT | ANALYSIS_FAILED→ aborted ─RETRY→ preview
import { assign, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';
import type { RolloutStatus } from '../api/rollout.ts';
import { emitted, inconclusivePause, type EmittedEvent } from './machine.ts';

export type BlueGreenState =
  | 'pending'
  | 'completing'
  | 'healthy'
  | 'preview'
  | 'pausedUser'
  | 'pausedPromotion'
  | 'promoting'
  | 'postPromotion'
  | 'aborted'
  | 'degraded';

export interface BlueGreenContext {
  restoreTo: BlueGreenState;
  /** Revision of the desired ReplicaSet, for messages. */
  revision: number;
  /** Pod-template hash of the desired template. */
  podHash: string;
  /** Where a degraded or user-paused rollout goes back to. */
  resumeTo: 'completing' | 'healthy' | 'preview' | 'promoting' | 'postPromotion';
  /** Promotion approved, the new ReplicaSet going to full size (status.blueGreen.scaleUpPreviewCheckPoint). */
  approved: boolean;
}

export type BlueGreenEvent =
  /** A new template (or first reconcile): a first deploy, an update behind the preview, or back to the stable template. */
  | { type: 'REVISION'; target: 'initial' | 'update' | 'stable'; announce: boolean }
  | { type: 'ABORT' }
  | { type: 'RETRY' }
  | { type: 'USER_PAUSE' }
  | { type: 'USER_RESUME' }
  | { type: 'PROMOTE_FULL' }
  /** The preview is fully available and promotion waits for a person or autoPromotionSeconds. */
  | { type: 'PREVIEW_PAUSE'; reason: string }
  /** Promotion approved (automatically, by `weir promote`, or after autoPromotionSeconds) and pre-promotion analysis passed. */
  | { type: 'APPROVED'; reason: string }
  /** The active Service now selects the new ReplicaSet. */
  | { type: 'SWITCHED' }
  /** The new ReplicaSet is stable. */
  | { type: 'PROMOTED'; reason: string }
  /** A pre- or post-promotion AnalysisRun failed or erred. */
  | { type: 'ANALYSIS_FAILED'; message: string }
  /** An AnalysisRun was inconclusive: wait for a person. */
  | { type: 'ANALYSIS_INCONCLUSIVE'; message: string }
  | { type: 'DEADLINE_EXCEEDED'; abort: boolean; message: string }
  | { type: 'PROGRESSED' };

function aborted(context: BlueGreenContext): string {
  return `Rollout aborted update to revision ${context.revision}`;
}

const userPause = { target: '#bluegreen.paused.user', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutPaused', message: 'Rollout is paused (manually paused)' } } } as const;

export const blueGreenMachine = setup({
  types: {
    context: {} as BlueGreenContext,
    input: {} as BlueGreenContext,
    events: {} as BlueGreenEvent,
  },
  actions: {
    emit: (_: unknown, _params: EmittedEvent) => undefined,
  },
  guards: {
    restoreTo: ({ context }, params: { state: BlueGreenState }) => context.restoreTo === params.state,
  },
}).createMachine({
  id: 'bluegreen',
  context: ({ input }) => input,
  initial: 'restoring',
  states: {
    restoring: {
      always: [
        { guard: { type: 'restoreTo', params: { state: 'completing' } }, target: 'completing' },
        { guard: { type: 'restoreTo', params: { state: 'healthy' } }, target: 'healthy' },
        { guard: { type: 'restoreTo', params: { state: 'preview' } }, target: 'preview' },
        { guard: { type: 'restoreTo', params: { state: 'pausedUser' } }, target: 'paused.user' },
        { guard: { type: 'restoreTo', params: { state: 'pausedPromotion' } }, target: 'paused.promotion' },
        { guard: { type: 'restoreTo', params: { state: 'promoting' } }, target: 'promoting' },
        { guard: { type: 'restoreTo', params: { state: 'postPromotion' } }, target: 'postPromotion' },
        { guard: { type: 'restoreTo', params: { state: 'aborted' } }, target: 'aborted' },
        { guard: { type: 'restoreTo', params: { state: 'degraded' } }, target: 'degraded' },
        { target: 'pending' },
      ],
    },
    pending: {},
    /** A first deploy: the ReplicaSet comes up at full size, then both Services select it. */
    completing: {
      on: {
        USER_PAUSE: userPause,
        PROMOTED: {
          target: 'healthy',
          actions: [
            assign({ resumeTo: 'healthy' }),
            { type: 'emit', params: ({ context, event }) => ({ eventType: 'Normal' as const, reason: 'RolloutCompleted', message: `Rollout completed update to revision ${context.revision} (${context.podHash}): ${event.reason}` }) },
          ],
        },
        DEADLINE_EXCEEDED: '#bluegreen.timedOut',
      },
    },
    healthy: { on: { USER_PAUSE: userPause } },
    /** The new ReplicaSet comes up behind the preview Service; pre-promotion analysis runs once it is available. */
    preview: {
      on: {
        ABORT: '#bluegreen.aborting',
        USER_PAUSE: userPause,
        PROMOTE_FULL: '#bluegreen.promotingFully',
        PREVIEW_PAUSE: {
          target: 'paused.promotion',
          actions: { type: 'emit', params: ({ event }) => ({ eventType: 'Normal' as const, reason: 'RolloutPaused', message: `Rollout is paused (${event.reason})` }) },
        },
        APPROVED: '#bluegreen.approved',
        ANALYSIS_FAILED: '#bluegreen.failedAnalysis',
        ANALYSIS_INCONCLUSIVE: '#bluegreen.inconclusiveAnalysis',
        DEADLINE_EXCEEDED: '#bluegreen.timedOut',
      },
    },
    paused: {
      initial: 'promotion',
      states: {
        /** spec.paused: nothing moves until it is cleared. */
        user: {
          on: {
            ABORT: '#bluegreen.aborting',
            USER_RESUME: [
              { guard: ({ context }) => context.resumeTo === 'healthy', target: '#bluegreen.healthy', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
              { guard: ({ context }) => context.resumeTo === 'completing', target: '#bluegreen.completing', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
              { guard: ({ context }) => context.resumeTo === 'promoting', target: '#bluegreen.promoting', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
              { guard: ({ context }) => context.resumeTo === 'postPromotion', target: '#bluegreen.postPromotion', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
              { target: '#bluegreen.preview', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
            ],
            ANALYSIS_FAILED: '#bluegreen.failedAnalysis',
          },
        },
        /** The preview is ready: waiting for `weir promote`, autoPromotionSeconds or an inconclusive analysis to be decided. */
        promotion: {
          on: {
            ABORT: '#bluegreen.aborting',
            USER_PAUSE: '#bluegreen.paused.user',
            PROMOTE_FULL: '#bluegreen.promotingFully',
            APPROVED: { target: '#bluegreen.approved', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
            ANALYSIS_FAILED: '#bluegreen.failedAnalysis',
            PROMOTED: '#bluegreen.promoted',
          },
        },
      },
    },
    /** Transient: promotion approved. */
    approved: {
      entry: { type: 'emit', params: ({ event }) => ({ eventType: 'Normal' as const, reason: 'RolloutPromoting', message: `Promoting: ${event.type === 'APPROVED' ? event.reason : ''}` }) },
      always: { target: 'promoting', actions: assign({ resumeTo: 'promoting', approved: true }) },
    },
    /** Approved: the new ReplicaSet at full size (previewReplicaCount), then the active Service switches to it. */
    promoting: {
      on: {
        ABORT: '#bluegreen.aborting',
        USER_PAUSE: userPause,
        PROMOTE_FULL: '#bluegreen.promotingFully',
        SWITCHED: {
          target: 'postPromotion',
          actions: [
            assign({ resumeTo: 'postPromotion' }),
            { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'SwitchedActiveService', message: `Active Service switched to ReplicaSet ${context.podHash} (revision ${context.revision})` }) },
          ],
        },
        DEADLINE_EXCEEDED: '#bluegreen.timedOut',
      },
    },
    /** The active Service selects the new ReplicaSet; the previous one stays up while post-promotion analysis runs. */
    postPromotion: {
      on: {
        ABORT: '#bluegreen.aborting',
        USER_PAUSE: userPause,
        PROMOTED: '#bluegreen.promoted',
        ANALYSIS_FAILED: '#bluegreen.failedAnalysis',
        ANALYSIS_INCONCLUSIVE: '#bluegreen.inconclusiveAnalysis',
      },
    },
    /** Transient: the new ReplicaSet becomes stable. */
    promoted: {
      entry: {
        type: 'emit',
        params: ({ context, event }) => ({
          eventType: 'Normal' as const,
          reason: 'RolloutCompleted',
          message: `Rollout completed update to revision ${context.revision} (${context.podHash})${event.type === 'PROMOTED' ? `: ${event.reason}` : ': promoted fully'}`,
        }),
      },
      always: { target: 'healthy', actions: assign({ resumeTo: 'healthy', approved: false }) },
    },
    /** Transient: promote --full skips pauses and analysis. */
    promotingFully: {
      entry: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutPromoted', message: 'Rollout promoted fully: pauses and analysis skipped' } },
      always: { target: 'promoting', actions: assign({ resumeTo: 'promoting', approved: true }) },
    },
    aborting: {
      entry: [assign({ approved: false }), { type: 'emit', params: ({ context }) => ({ eventType: 'Warning' as const, reason: 'RolloutAborted', message: aborted(context) }) }],
      always: 'aborted',
    },
    failedAnalysis: {
      always: {
        target: 'aborted',
        actions: [
          assign({ approved: false }),
          {
            type: 'emit',
            params: ({ context, event }) => ({ eventType: 'Warning' as const, reason: 'RolloutAborted', message: `${aborted(context)}: ${event.type === 'ANALYSIS_FAILED' ? event.message : ''}` }),
          },
        ],
      },
    },
    inconclusiveAnalysis: {
      always: { target: 'paused.promotion', actions: { type: 'emit', params: inconclusivePause } },
    },
    /** status.abort: the active Service back on the stable ReplicaSet; Degraded until retried, promoted fully, or a new template. */
    aborted: {
      on: {
        RETRY: {
          target: 'preview',
          actions: [assign({ resumeTo: 'preview', approved: false }), { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutRetry', message: 'Retrying Rollout after abort' } }],
        },
        PROMOTE_FULL: '#bluegreen.promotingFully',
      },
    },
    timedOut: {
      always: [
        {
          guard: ({ event }) => event.type === 'DEADLINE_EXCEEDED' && event.abort,
          target: 'aborted',
          actions: [
            assign({ approved: false }),
            { type: 'emit', params: ({ event }) => ({ eventType: 'Warning' as const, reason: 'ProgressDeadlineExceeded', message: event.type === 'DEADLINE_EXCEEDED' ? event.message : '' }) },
            { type: 'emit', params: ({ context, event }) => ({ eventType: 'Warning' as const, reason: 'RolloutAborted', message: `${aborted(context)}: ${event.type === 'DEADLINE_EXCEEDED' ? event.message : ''}` }) },
          ],
        },
        {
          target: 'degraded',
          actions: { type: 'emit', params: ({ event }) => ({ eventType: 'Warning' as const, reason: 'ProgressDeadlineExceeded', message: event.type === 'DEADLINE_EXCEEDED' ? event.message : '' }) },
        },
      ],
    },
    /** The progress deadline passed (without progressDeadlineAbort): Degraded, still reconciling. */
    degraded: {
      on: {
        ABORT: '#bluegreen.aborting',
        PROMOTE_FULL: '#bluegreen.promotingFully',
        DEADLINE_EXCEEDED: { guard: ({ event }) => event.abort, target: '#bluegreen.timedOut' },
        PROGRESSED: [
          { guard: ({ context }) => context.resumeTo === 'completing', target: 'completing' },
          { guard: ({ context }) => context.resumeTo === 'promoting', target: 'promoting' },
          { target: 'preview' },
        ],
      },
    },
  },
  // A new template, from any state (declared after the states they lead to).
  on: {
    REVISION: [
      {
        guard: ({ event }) => event.target === 'initial',
        target: '.completing',
        actions: [assign({ resumeTo: 'completing', approved: false }), { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'RolloutUpdated', message: `Rollout updated to revision ${context.revision}` }) }],
      },
      {
        guard: ({ event }) => event.target === 'stable' && event.announce,
        target: '.healthy',
        actions: [
          assign({ resumeTo: 'healthy', approved: false }),
          {
            type: 'emit',
            params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'RolloutUpdated', message: `Rollout updated to revision ${context.revision}: back to the stable ReplicaSet (${context.podHash})` }),
          },
        ],
      },
      { guard: ({ event }) => event.target === 'stable', target: '.healthy', actions: assign({ resumeTo: 'healthy', approved: false }) },
      {
        target: '.preview',
        actions: [
          assign({ resumeTo: 'preview', approved: false }),
          { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'RolloutUpdated', message: `Rollout updated to revision ${context.revision}: preview ReplicaSet ${context.podHash}` }) },
        ],
      },
    ],
  },
});

export type BlueGreenSnapshot = SnapshotFrom<typeof blueGreenMachine>;

export interface BlueGreenRun {
  snapshot: BlueGreenSnapshot;
  events: EmittedEvent[];
}

/** Restore the machine in the state derived from status (`approved` defaults to false). */
export function restoreBlueGreen(context: Omit<BlueGreenContext, 'approved'> & { approved?: boolean }): BlueGreenRun {
  const [snapshot] = initialTransition(blueGreenMachine, { approved: false, ...context });
  return { snapshot, events: [] };
}

export function sendBlueGreen(run: BlueGreenRun, event: BlueGreenEvent): BlueGreenRun {
  const [snapshot, actions] = transition(blueGreenMachine, run.snapshot, event);
  return { snapshot, events: [...run.events, ...emitted(actions)] };
}

export function blueGreenState(snapshot: BlueGreenSnapshot): BlueGreenState {
  const value: unknown = snapshot.value;
  if (typeof value === 'string') return value as BlueGreenState;
  if (value !== null && typeof value === 'object' && 'paused' in value) return (value as { paused: string }).paused === 'user' ? 'pausedUser' : 'pausedPromotion';
  return 'pending';
}

/**
 * The state a status stands for: abortedAt or an aborted Progressing
 * condition, aborted; a timed-out one, degraded; "manually paused"; pause
 * conditions (or the controller's pause), waiting for promotion; no stable
 * yet, a first deploy; stable = desired, healthy; the active Service on the
 * desired ReplicaSet, post-promotion; promotion approved
 * (scaleUpPreviewCheckPoint), promoting; otherwise, previewing.
 */
export function stateFromBlueGreenStatus(status: RolloutStatus | undefined): BlueGreenState {
  if (status?.currentPodHash === undefined) return 'pending';
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (status.abortedAt !== undefined || (progressing?.reason === 'RolloutAborted' && progressing.status === 'False')) return 'aborted';
  if (progressing?.reason === 'ProgressDeadlineExceeded' && progressing.status === 'False') return 'degraded';
  if (status.phase === 'Paused' && status.message === 'manually paused') return 'pausedUser';
  if ((status.pauseConditions?.length ?? 0) > 0 || status.controllerPause === true) return 'pausedPromotion';
  if (status.stableRS === undefined) return 'completing';
  if (status.stableRS === status.currentPodHash) return 'healthy';
  if (status.blueGreen?.activeSelector === status.currentPodHash) return 'postPromotion';
  if (status.blueGreen?.scaleUpPreviewCheckPoint === true) return 'promoting';
  return 'preview';
}

/** Where a restored machine resumes after a user pause or a deadline: the state the status implies without them. */
export function resumeTarget(status: RolloutStatus | undefined): BlueGreenContext['resumeTo'] {
  if (status?.stableRS === undefined) return 'completing';
  if (status.stableRS === status.currentPodHash) return 'healthy';
  if (status.blueGreen?.activeSelector === status.currentPodHash) return 'postPromotion';
  if (status.blueGreen?.scaleUpPreviewCheckPoint === true) return 'promoting';
  return 'preview';
}
