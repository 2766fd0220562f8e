// The status both strategies write, from the state the machine settled in:
// the Progressing condition, the phase and message (Argo's
// RolloutProgressing and CalculateRolloutPhase), the common fields
// (status.ts), and the progress deadline counted from the condition's
// lastUpdateTime. Pure readers: the strategy reports what only it knows
// (paused at its own pause, complete, created, progressed, its "Progressing"
// message) and adds its own status section after this.
import type { Condition } from '../api/common.ts';
import type { RolloutStatus } from '../api/rollout.ts';
import { INCONCLUSIVE_PAUSE, type AnalysisRunRecord } from './analysis.ts';
import { findCondition, PROGRESSING, Reason, setCondition } from './conditions.ts';
import { DEFAULT_PROGRESS_DEADLINE_SECONDS, MANUALLY_PAUSED_MESSAGE } from './constants.ts';
import type { Frame } from './frame.ts';
import type { PauseCondition } from '../api/rollout.ts';
import { commonStatus } from './status.ts';
import { parseTime } from './time.ts';

export interface ProgressInput {
  state: string;
  /** Paused at the strategy's own pause (a pause step, the promotion gate). */
  pausedHere: boolean;
  /** Healthy and nothing left to do. */
  complete: boolean;
  /** The desired ReplicaSet is created in this reconcile. */
  created: boolean;
  /** Something moved in the right direction (counts, steps, promotion). */
  progress: boolean;
  /** The message of a timed-out Progressing condition. */
  timeoutMessage: string;
  abortMessage: string | undefined;
}

/** The conditions with Progressing set for the state the machine settled in. */
export function progressingCondition(f: Frame, i: ProgressInput): Condition[] {
  let conditions = [...(f.prev.conditions ?? [])];
  const prevCond = findCondition(conditions, PROGRESSING);
  const rsName = f.newRS?.name ?? `${f.name}-${f.hash}`;
  const set = (status: Condition['status'], reason: string, message: string, touch = false): void => {
    conditions = setCondition(conditions, { type: PROGRESSING, status, reason, message }, f.now, touch);
  };
  if (i.state === 'aborted') {
    if (prevCond?.reason !== Reason.RolloutAborted || prevCond.status !== 'False') {
      const base = `Rollout aborted update to revision ${f.revision}`;
      set('False', Reason.RolloutAborted, i.abortMessage === undefined ? base : `${base}: ${i.abortMessage}`);
    }
  } else if (i.state === 'degraded') {
    if (prevCond?.reason !== Reason.ProgressDeadlineExceeded || prevCond.status !== 'False') set('False', Reason.ProgressDeadlineExceeded, i.timeoutMessage);
  } else if (i.state === 'pausedUser' || i.pausedHere) {
    set('Unknown', Reason.RolloutPaused, 'Rollout is paused');
  } else if (i.complete) {
    set('True', Reason.NewReplicaSetAvailable, `ReplicaSet "${rsName}" has successfully progressed.`);
  } else if (i.created) {
    set('True', Reason.NewReplicaSetCreated, `Created new replica set "${rsName}"`, true);
  } else if (prevCond?.reason === Reason.RolloutPaused) {
    set('Unknown', Reason.RolloutResumed, 'Rollout is resumed', true);
  } else if (prevCond?.reason === Reason.RolloutAborted) {
    set('Unknown', Reason.RolloutRetry, 'Retrying Rollout after abort', true);
  } else if (i.progress || prevCond === undefined || prevCond.reason === Reason.NewReplicaSetAvailable || prevCond.status === 'False') {
    set('True', Reason.ReplicaSetUpdated, `ReplicaSet "${rsName}" is progressing.`, true);
  }
  return conditions;
}

/** The progress deadline counted from a Progressing condition's lastUpdateTime: passed, or when it passes (undefined: no time to count from). */
export function progressDeadline(f: Frame, lastUpdateTime: string | undefined): 'passed' | number | undefined {
  const last = parseTime(lastUpdateTime);
  if (last === undefined) return undefined;
  const deadline = last + (f.rollout.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
  return f.nowMs >= deadline ? 'passed' : deadline;
}

export type Phase = { phase: NonNullable<RolloutStatus['phase']>; message: string };

export interface PhaseInput {
  state: string;
  pausedHere: boolean;
  /** The reason a pause shows when it has no pause condition (CanaryPauseStep, BlueGreenPause). */
  pauseReason: string;
  pauseConditions: readonly PauseCondition[];
  /** The strategy's current analysis runs, for the message of an inconclusive one. */
  runs: readonly (AnalysisRunRecord | undefined)[];
  complete: boolean;
  analysisProblem: string | undefined;
  /** Missing Services or routes. */
  blockers: readonly string[];
  conditions: readonly Condition[];
}

/** Phase and message where both strategies agree; `progressing` gives the message of a rollout still progressing. */
export function phaseOf(i: PhaseInput, progressing: () => string): Phase {
  if (i.state === 'aborted' || i.state === 'degraded') {
    // As Argo: "<reason>: <message>" of the Progressing condition that failed.
    const cond = findCondition(i.conditions, PROGRESSING);
    return { phase: 'Degraded', message: `${cond?.reason ?? ''}: ${cond?.message ?? ''}` };
  }
  if (i.state === 'pausedUser') return { phase: 'Paused', message: MANUALLY_PAUSED_MESSAGE };
  if (i.pausedHere) {
    const reason = i.pauseConditions[0]?.reason ?? i.pauseReason;
    const inconclusive = i.runs.find((r) => r?.status === 'Inconclusive');
    if (reason === INCONCLUSIVE_PAUSE && inconclusive !== undefined) {
      return { phase: 'Paused', message: `${reason}: analysis run "${inconclusive.name}" is inconclusive${inconclusive.message !== undefined ? ` (${inconclusive.message})` : ''}; promote to continue or abort` };
    }
    return { phase: 'Paused', message: reason };
  }
  if (i.complete) return { phase: 'Healthy', message: '' };
  if (i.analysisProblem !== undefined) return { phase: 'Degraded', message: i.analysisProblem };
  const first = i.blockers[0];
  if (first !== undefined) return { phase: 'Progressing', message: first };
  return { phase: 'Progressing', message: progressing() };
}

/** What the status reads of a reconcile (frame.ts' Reconcile). */
export interface StatusSource {
  stableHash: string | undefined;
  pauseConditions: PauseCondition[];
  controllerPause: boolean;
  abortedAt: string | undefined;
  abortMessage: string | undefined;
  promoteFull: boolean;
  gitCurrent: string | undefined;
  analysisProblem: string | undefined;
}

export interface StatusInput extends Omit<ProgressInput, 'abortMessage'>, Pick<PhaseInput, 'pauseReason' | 'runs' | 'blockers'> {
  /** Whether the minimum availability counts as reached (beyond the available count). */
  availableGate?: boolean;
  /** Status fields of the other strategy, dropped. */
  drop: readonly (keyof RolloutStatus)[];
  /** The message of a rollout still progressing. */
  progressingMessage: () => string;
}

/** The status fields both strategies write; the strategy adds its own section. */
export function frameStatus(f: Frame, r: StatusSource, i: StatusInput): RolloutStatus {
  const conditions = progressingCondition(f, { ...i, abortMessage: r.abortMessage });
  const { phase, message } = phaseOf({ ...i, pauseConditions: r.pauseConditions, analysisProblem: r.analysisProblem, conditions }, i.progressingMessage);
  return commonStatus({
    rollout: f.rollout,
    prev: f.prev,
    now: f.now,
    hash: f.hash,
    replicas: f.replicas,
    phase,
    message,
    conditions,
    counts: f.counts,
    ...(i.availableGate !== undefined ? { availableGate: i.availableGate } : {}),
    paused: i.state === 'pausedUser' || i.pausedHere,
    aborted: i.state === 'aborted',
    abortedAt: r.abortedAt,
    stableHash: r.stableHash,
    pauseConditions: r.pauseConditions,
    controllerPause: r.controllerPause,
    promoteFull: r.promoteFull,
    complete: i.complete,
    gitCurrent: r.gitCurrent,
    drop: i.drop,
  });
}
