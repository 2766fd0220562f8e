// The lifecycle of a canary Rollout as an xstate machine. It is never started
// as an actor: each reconcile restores it from the Rollout's status (the
// status is the state), feeds it the events the inputs imply, in a fixed order,
// and reads where it ends up, with the pure initialTransition/transition. The
// Kubernetes Events to record come out as the actions of the transitions
// taken, so each is emitted exactly once: when its transition happens.
import { assign, initialTransition, setup, transition, type SnapshotFrom } from 'xstate';
import type { RolloutStatus } from '../api/rollout.ts';

/** Where a Rollout is in its lifecycle (paused.user and paused.step flattened). */
export type LifecycleState = 'pending' | 'healthy' | 'progressing' | 'completing' | 'pausedUser' | 'pausedStep' | 'aborted' | 'degraded';

export interface LifecycleContext {
  /** Where restoring goes: the state derived from status. */
  restoreTo: LifecycleState;
  /** status.currentStepIndex */
  stepIndex: number;
  /** Number of canary steps. */
  stepCount: number;
  /** The desired template is the stable one (status.stableRS == currentPodHash). */
  fullyPromoted: boolean;
  /** Descriptions of the steps, for messages ("setWeight 20"). */
  steps: readonly string[];
  /** Revision of the desired ReplicaSet, for messages. */
  revision: number;
  /** Pod-template hash of the desired template. */
  podHash: string;
}

export type LifecycleEvent =
  /** The template or the steps changed (or first reconcile): towards a first stable, a canary, or back to the stable. */
  | { type: 'REVISION'; target: 'initial' | 'canary' | 'stable'; announce: boolean; superseded?: string | undefined }
  /** status.abort set by the user. */
  | { type: 'ABORT' }
  /** status.abort cleared after an abort. */
  | { type: 'RETRY' }
  /** spec.paused set. */
  | { type: 'USER_PAUSE' }
  /** spec.paused cleared. */
  | { type: 'USER_RESUME' }
  /** status.promoteFull set. */
  | { type: 'PROMOTE_FULL' }
  /** The current step is a pause: the rollout waits (started: the pause begins now). */
  | { type: 'PAUSE_STEP_REACHED'; started: boolean }
  /** The current step is done. */
  | { type: 'STEP_COMPLETED' }
  /** The desired ReplicaSet became stable. */
  | { type: 'PROMOTED'; reason: string }
  /** No progress for progressDeadlineSeconds. */
  | { type: 'DEADLINE_EXCEEDED'; abort: boolean; message: string }
  /** Progress again after the deadline was exceeded. */
  | { type: 'PROGRESSED' }
  /** An AnalysisRun the update depends on failed or erred: abort. */
  | { type: 'ANALYSIS_FAILED'; message: string }
  /** An AnalysisRun was inconclusive: pause until a person decides. */
  | { type: 'ANALYSIS_INCONCLUSIVE'; message: string }
  /** The person promoted past an inconclusive background run: carry on. */
  | { type: 'INCONCLUSIVE_RESOLVED' };

/** A Kubernetes Event to record. */
export interface EmittedEvent {
  eventType: 'Normal' | 'Warning';
  reason: string;
  message: string;
}

function stepLabel(context: LifecycleContext, index: number): string {
  return `Step ${index + 1}/${context.stepCount}: ${context.steps[index] ?? 'unknown'}`;
}

/** The Event of a pause for an inconclusive AnalysisRun (both lifecycle machines). */
export function inconclusivePause({ event }: { event: { type: string; message?: string } }): EmittedEvent {
  return { eventType: 'Warning', reason: 'RolloutPaused', message: `Rollout is paused (AnalysisRunInconclusive): ${event.type === 'ANALYSIS_INCONCLUSIVE' ? (event.message ?? '') : ''}` };
}

function abortedMessage(context: LifecycleContext): string {
  return `Rollout aborted update to revision ${context.revision}`;
}

export const lifecycleMachine = setup({
  types: {
    context: {} as LifecycleContext,
    input: {} as LifecycleContext,
    events: {} as LifecycleEvent,
  },
  actions: {
    // Recorded, never executed: the planner turns these into 'event' effects.
    emit: (_: unknown, _params: EmittedEvent) => undefined,
  },
  guards: {
    restoreTo: ({ context }, params: { state: LifecycleState }) => context.restoreTo === params.state,
    stepsRemain: ({ context }) => context.stepIndex < context.stepCount,
    lastStep: ({ context }) => context.stepIndex + 1 >= context.stepCount,
    fullyPromoted: ({ context }) => context.fullyPromoted,
    hasSteps: ({ context }) => context.stepCount > 0,
  },
}).createMachine({
  id: 'rollout',
  context: ({ input }) => input,
  initial: 'restoring',
  on: {
    REVISION: [
      {
        guard: ({ event }) => event.target === 'initial',
        target: '.completing',
        actions: [
          assign({ stepIndex: ({ context }) => context.stepCount, fullyPromoted: false }),
          { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'RolloutUpdated', message: `Rollout updated to revision ${context.revision}` }) },
        ],
      },
      {
        guard: ({ event }) => event.target === 'stable' && event.announce,
        target: '.healthy',
        actions: [
          assign({ stepIndex: ({ context }) => context.stepCount, fullyPromoted: true }),
          {
            type: 'emit',
            params: ({ context }) => ({
              eventType: 'Normal' as const,
              reason: 'RolloutUpdated',
              message: `Rollout updated to revision ${context.revision}: back to the stable ReplicaSet (${context.podHash}), steps skipped`,
            }),
          },
        ],
      },
      {
        guard: ({ event }) => event.target === 'stable',
        target: '.healthy',
        actions: assign({ stepIndex: ({ context }) => context.stepCount, fullyPromoted: true }),
      },
      {
        guard: 'hasSteps',
        target: '.progressing',
        actions: [
          assign({ stepIndex: 0, fullyPromoted: false }),
          {
            type: 'emit',
            params: ({ context, event }) => ({
              eventType: 'Normal' as const,
              reason: 'RolloutUpdated',
              message:
                event.superseded === undefined
                  ? `Rollout updated to revision ${context.revision}`
                  : `Rollout updated to revision ${context.revision}, superseding canary ${event.superseded}`,
            }),
          },
          { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'StepStarted', message: stepLabel(context, 0) }) },
        ],
      },
      {
        target: '.completing',
        actions: [
          assign({ stepIndex: 0, fullyPromoted: false }),
          { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'RolloutUpdated', message: `Rollout updated to revision ${context.revision}` }) },
        ],
      },
    ],
  },
  states: {
    restoring: {
      always: [
        { guard: { type: 'restoreTo', params: { state: 'healthy' } }, target: 'healthy' },
        { guard: { type: 'restoreTo', params: { state: 'progressing' } }, target: 'progressing' },
        { guard: { type: 'restoreTo', params: { state: 'completing' } }, target: 'completing' },
        { guard: { type: 'restoreTo', params: { state: 'pausedUser' } }, target: 'paused.user' },
        { guard: { type: 'restoreTo', params: { state: 'pausedStep' } }, target: 'paused.step' },
        { guard: { type: 'restoreTo', params: { state: 'aborted' } }, target: 'aborted' },
        { guard: { type: 'restoreTo', params: { state: 'degraded' } }, target: 'degraded' },
        { target: 'pending' },
      ],
    },
    /** Never reconciled: only REVISION leaves it. */
    pending: {},
    /** The desired template is the stable one. */
    healthy: {
      on: {
        USER_PAUSE: { target: 'paused.user', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutPaused', message: 'Rollout is paused (manually paused)' } } },
        DEADLINE_EXCEEDED: {
          target: 'degraded',
          actions: { type: 'emit', params: ({ event }) => ({ eventType: 'Warning' as const, reason: 'ProgressDeadlineExceeded', message: event.message }) },
        },
      },
    },
    /** Running the canary steps. */
    progressing: {
      on: {
        ABORT: '#rollout.aborting',
        USER_PAUSE: { target: 'paused.user', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutPaused', message: 'Rollout is paused (manually paused)' } } },
        PROMOTE_FULL: '#rollout.promotingFully',
        PAUSE_STEP_REACHED: [
          {
            guard: ({ event }) => event.started,
            target: 'paused.step',
            actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutPaused', message: 'Rollout is paused (CanaryPauseStep)' } },
          },
          { target: 'paused.step' },
        ],
        STEP_COMPLETED: '#rollout.stepDone',
        DEADLINE_EXCEEDED: '#rollout.timedOut',
        ANALYSIS_FAILED: '#rollout.failedAnalysis',
        ANALYSIS_INCONCLUSIVE: '#rollout.inconclusiveAnalysis',
      },
    },
    /** All steps done (or promote --full, or a first deploy): waiting for the new ReplicaSet to be fully available to make it stable. */
    completing: {
      on: {
        ABORT: '#rollout.aborting',
        USER_PAUSE: { target: 'paused.user', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutPaused', message: 'Rollout is paused (manually paused)' } } },
        PROMOTED: {
          target: 'healthy',
          actions: [
            assign({ fullyPromoted: true, stepIndex: ({ context }) => context.stepCount }),
            {
              type: 'emit',
              params: ({ context, event }) => ({
                eventType: 'Normal' as const,
                reason: 'RolloutCompleted',
                message: `Rollout completed update to revision ${context.revision} (${context.podHash}): ${event.reason}`,
              }),
            },
          ],
        },
        DEADLINE_EXCEEDED: '#rollout.timedOut',
        ANALYSIS_FAILED: '#rollout.failedAnalysis',
        ANALYSIS_INCONCLUSIVE: '#rollout.inconclusiveAnalysis',
      },
    },
    paused: {
      initial: 'step',
      states: {
        /** spec.paused: nothing moves until it is cleared. */
        user: {
          on: {
            ABORT: '#rollout.aborting',
            ANALYSIS_FAILED: '#rollout.failedAnalysis',
            USER_RESUME: [
              { guard: 'fullyPromoted', target: '#rollout.healthy', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
              { guard: 'stepsRemain', target: '#rollout.progressing', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
              { target: '#rollout.completing', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
            ],
          },
        },
        /** A pause step: until promoted (pause conditions cleared) or its duration is over. */
        step: {
          on: {
            ABORT: '#rollout.aborting',
            USER_PAUSE: { target: 'user', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutPaused', message: 'Rollout is paused (manually paused)' } } },
            PROMOTE_FULL: '#rollout.promotingFully',
            ANALYSIS_FAILED: '#rollout.failedAnalysis',
            INCONCLUSIVE_RESOLVED: [
              { guard: 'stepsRemain', target: '#rollout.progressing', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
              { target: '#rollout.completing', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } } },
            ],
            STEP_COMPLETED: {
              target: '#rollout.stepDone',
              actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutResumed', message: 'Rollout is resumed' } },
            },
          },
        },
      },
    },
    /** Transient: record an abort. */
    aborting: {
      entry: [
        assign({ stepIndex: 0 }),
        { type: 'emit', params: ({ context }) => ({ eventType: 'Warning' as const, reason: 'RolloutAborted', message: abortedMessage(context) }) },
      ],
      always: 'aborted',
    },
    /** status.abort: traffic and replicas back to stable; Degraded until retried, promoted fully, or the template changes. */
    aborted: {
      on: {
        RETRY: [
          {
            guard: 'hasSteps',
            target: 'progressing',
            actions: [
              assign({ stepIndex: 0 }),
              { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutRetry', message: 'Retrying Rollout after abort' } },
              { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'StepStarted', message: stepLabel(context, 0) }) },
            ],
          },
          { target: 'completing', actions: { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutRetry', message: 'Retrying Rollout after abort' } } },
        ],
        PROMOTE_FULL: '#rollout.promotingFully',
      },
    },
    /** The progress deadline passed (without progressDeadlineAbort): Degraded, still reconciling. */
    degraded: {
      on: {
        ABORT: '#rollout.aborting',
        PROMOTE_FULL: '#rollout.promotingFully',
        DEADLINE_EXCEEDED: {
          guard: ({ event, context }) => event.abort && !context.fullyPromoted,
          target: 'aborted',
          actions: [
            assign({ stepIndex: 0 }),
            { type: 'emit', params: ({ context, event }) => ({ eventType: 'Warning' as const, reason: 'RolloutAborted', message: `${abortedMessage(context)}: ${event.message}` }) },
          ],
        },
        ANALYSIS_FAILED: '#rollout.failedAnalysis',
        PROGRESSED: [{ guard: 'fullyPromoted', target: 'healthy' }, { guard: 'stepsRemain', target: 'progressing' }, { target: 'completing' }],
      },
    },
    /** Transient: skip the remaining steps. */
    promotingFully: {
      entry: [
        assign({ stepIndex: ({ context }) => context.stepCount }),
        { type: 'emit', params: { eventType: 'Normal', reason: 'RolloutPromoted', message: 'Rollout promoted fully: remaining steps skipped' } },
      ],
      always: 'completing',
    },
    /** Transient: the current step is done; on to the next, or to completion. */
    stepDone: {
      entry: [
        { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'StepCompleted', message: stepLabel(context, context.stepIndex) }) },
        assign({ stepIndex: ({ context }) => context.stepIndex + 1 }),
      ],
      always: [
        {
          guard: 'stepsRemain',
          target: 'progressing',
          actions: { type: 'emit', params: ({ context }) => ({ eventType: 'Normal' as const, reason: 'StepStarted', message: stepLabel(context, context.stepIndex) }) },
        },
        { target: 'completing' },
      ],
    },
    /** Transient: an AnalysisRun the update depends on failed or erred: abort, with its verdict in the message. */
    failedAnalysis: {
      always: {
        target: 'aborted',
        actions: [
          assign({ stepIndex: 0 }),
          {
            type: 'emit',
            params: ({ context, event }) => ({
              eventType: 'Warning' as const,
              reason: 'RolloutAborted',
              message: `${abortedMessage(context)}: ${event.type === 'ANALYSIS_FAILED' ? event.message : ''}`,
            }),
          },
        ],
      },
    },
    /** Transient: an AnalysisRun was inconclusive: pause until a person promotes or aborts. */
    inconclusiveAnalysis: {
      always: { target: 'paused.step', actions: { type: 'emit', params: inconclusivePause } },
    },
    /** Transient: the progress deadline passed; abort when asked to. */
    timedOut: {
      always: [
        {
          guard: ({ event, context }) => event.type === 'DEADLINE_EXCEEDED' && event.abort && !context.fullyPromoted,
          target: 'aborted',
          actions: [
            assign({ stepIndex: 0 }),
            { type: 'emit', params: ({ event }) => ({ eventType: 'Warning' as const, reason: 'ProgressDeadlineExceeded', message: event.type === 'DEADLINE_EXCEEDED' ? event.message : '' }) },
            {
              type: 'emit',
              params: ({ context, event }) => ({
                eventType: 'Warning' as const,
                reason: 'RolloutAborted',
                message: `${abortedMessage(context)}: ${event.type === 'DEADLINE_EXCEEDED' ? event.message : ''}`,
              }),
            },
          ],
        },
        {
          target: 'degraded',
          actions: { type: 'emit', params: ({ event }) => ({ eventType: 'Warning' as const, reason: 'ProgressDeadlineExceeded', message: event.type === 'DEADLINE_EXCEEDED' ? event.message : '' }) },
        },
      ],
    },
  },
});

export type LifecycleSnapshot = SnapshotFrom<typeof lifecycleMachine>;

/** A machine run inside one reconcile: where it is and the Events its transitions recorded. */
export interface LifecycleRun {
  snapshot: LifecycleSnapshot;
  events: EmittedEvent[];
}

/** The Events a transition's `emit` actions recorded (both lifecycle machines use this). */
export function emitted(actions: readonly { type: string; params?: unknown }[]): EmittedEvent[] {
  return actions.filter((a) => a.type === 'emit').map((a) => a.params as EmittedEvent);
}

/** Restore the machine in the state derived from status (no Events: restoring is not a transition). */
export function restoreLifecycle(context: LifecycleContext): LifecycleRun {
  const [snapshot] = initialTransition(lifecycleMachine, context);
  return { snapshot, events: [] };
}

/** Feed one event (pure): the next snapshot, with the Events of the transition appended. */
export function sendLifecycle(run: LifecycleRun, event: LifecycleEvent): LifecycleRun {
  const [snapshot, actions] = transition(lifecycleMachine, run.snapshot, event);
  return { snapshot, events: [...run.events, ...emitted(actions)] };
}

/** The flattened state of a snapshot. */
export function lifecycleState(snapshot: LifecycleSnapshot): LifecycleState {
  const value: unknown = snapshot.value;
  if (typeof value === 'string') return value as LifecycleState;
  if (value !== null && typeof value === 'object' && 'paused' in value) return (value as { paused: string }).paused === 'user' ? 'pausedUser' : 'pausedStep';
  return 'pending';
}

/**
 * The lifecycle state a status stands for. Only fields the engine owns decide
 * (a user's abort, promote or retry are events, not states): abortedAt or an
 * aborted Progressing condition mean aborted; a timed-out Progressing
 * condition, degraded; "manually paused", paused by the user; pause conditions
 * or controllerPause, at a pause step; then stable vs. desired hash and the
 * step index.
 */
export function stateFromStatus(status: RolloutStatus | undefined, stepCount: number): LifecycleState {
  if (status?.currentPodHash === undefined) return 'pending';
  const progressing = status.conditions?.find((c) => c.type === 'Progressing');
  if (status.abortedAt !== undefined || (progressing?.reason === 'RolloutAborted' && progressing.status === 'False')) return 'aborted';
  if (progressing?.reason === 'ProgressDeadlineExceeded' && progressing.status === 'False') return 'degraded';
  if (status.phase === 'Paused' && status.message === 'manually paused') return 'pausedUser';
  if ((status.pauseConditions?.length ?? 0) > 0 || status.controllerPause === true) return 'pausedStep';
  if (status.stableRS === undefined) return 'completing';
  if (status.stableRS === status.currentPodHash) return 'healthy';
  return (status.currentStepIndex ?? 0) >= stepCount ? 'completing' : 'progressing';
}
