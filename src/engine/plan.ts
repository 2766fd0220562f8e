// The canary planner: given a Rollout (spec + status), what the controller
// observed of its children and `now`, the next status, the effects to apply and
// when to look again. Argo Rollouts' canary semantics; pure (no I/O, no clock,
// no randomness).
//
// One reconcile:
//   1. restore the lifecycle machine from status (stateFromStatus);
//   2. feed it what the inputs imply, in a fixed order: a new template or steps
//      (REVISION), the user's abort/retry (status.abort), pause/resume
//      (spec.paused), promote --full (status.promoteFull);
//   3. evaluate the current step against what is observed: a step completes
//      (at most one per reconcile), a pause starts, the new ReplicaSet is
//      promoted to stable; a missed progress deadline;
//   4. from the final state: the desired replica counts, Service selectors and
//      route weights, and the effects that differ from what is observed;
//   5. the status: conditions, phase, message, counts, weights.
import {
  describeOutcome,
  ensureAnalysisRun,
  historyDeletes,
  INCONCLUSIVE_PAUSE,
  isAttemptOf,
  outcomeEvents,
  readRecord,
  recordsInStatus,
  refreshRecord,
  runBaseName,
  runOutcome,
  terminateStale,
  type AnalysisRunRecord,
} from './analysis.ts';
import { createReplicaSetEffect, DEFAULT_REVISION_HISTORY_LIMIT, desiredRevision, findRS, historyLimitDeletes, observedCounts, pushScale, withEphemeralMetadata } from './replicasets.ts';
import { planBlueGreen } from './bluegreen.ts';
import { planRestart } from './restart.ts';
import { commonStatus, replicaSetEvents } from './status.ts';
import type { Condition } from '../api/common.ts';
import type { CanaryStep, CanaryStrategy, PauseCondition, Rollout, RolloutStatus } from '../api/rollout.ts';
import { findCondition, PROGRESSING, Reason, setCondition } from './conditions.ts';
import { durationMs, formatDuration } from './duration.ts';
import { podTemplateHash, stepsHash } from './hash.ts';
import { lifecycleState, restoreLifecycle, sendLifecycle, stateFromStatus, type LifecycleEvent, type LifecycleRun, type LifecycleState } from './machine.ts';
import {
  basicCanaryReplicaCounts,
  byRevisionDesc,
  resolveSurgeAndUnavailable,
  scaleDownOlderReplicaSets,
  trafficRoutedReplicaCounts,
  type ReplicaCounts,
} from './replicas.ts';
import { instant, parseTime, rfc3339 } from './time.ts';
import {
  GIT_REVISION_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  SCALE_DOWN_DEADLINE_ANNOTATION,
  type Effect,
  type Observed,
  type ObservedReplicaSet,
  type Plan,
} from './types.ts';

export const DEFAULT_REPLICAS = 1;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30;
export const DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS = 30;
export { DEFAULT_REVISION_HISTORY_LIMIT };

/** Pause reason of a pause step (Argo's). */
export const CANARY_PAUSE_STEP = 'CanaryPauseStep';
/** status.message while spec.paused holds the rollout (Argo's). */
export const MANUALLY_PAUSED_MESSAGE = 'manually paused';

// ---------------------------------------------------------------------------
// Steps

export type StepKind = 'setWeight' | 'pause' | 'setCanaryScale' | 'analysis' | 'unsupported';

export function stepKind(step: CanaryStep): StepKind {
  if (step.setWeight !== undefined) return 'setWeight';
  if (step.pause !== undefined) return 'pause';
  if (step.setCanaryScale !== undefined) return 'setCanaryScale';
  if (step.analysis !== undefined) return 'analysis';
  return 'unsupported';
}

/** A step as messages name it: "setWeight 20", "pause 30s", "setCanaryScale replicas 2", "analysis". */
export function describeStep(step: CanaryStep): string {
  if (step.setWeight !== undefined) return `setWeight ${step.setWeight}`;
  if (step.pause !== undefined) return step.pause.duration === undefined ? 'pause' : `pause ${formatDuration(step.pause.duration)}`;
  if (step.setCanaryScale !== undefined) {
    const scs = step.setCanaryScale;
    if (scs.weight !== undefined) return `setCanaryScale weight ${scs.weight}`;
    if (scs.replicas !== undefined) return `setCanaryScale replicas ${scs.replicas}`;
    return 'setCanaryScale matchTrafficWeight';
  }
  if (step.analysis !== undefined) return 'analysis';
  for (const key of ['experiment', 'setHeaderRoute', 'setMirrorRoute', 'plugin'] as const) {
    if (step[key] !== undefined) return key;
  }
  return 'unknown';
}

/** The traffic weight in force at a step: the last setWeight at or before it (0 if none); 100 past the last step (Argo's GetCurrentSetWeight). */
export function setWeightAt(steps: readonly CanaryStep[], index: number): number {
  if (index >= steps.length) return 100;
  for (let i = index; i >= 0; i--) {
    const w = steps[i]?.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

/** The last setWeight strictly before a step (0 if none): the weight kept while the step's replicas come up. */
export function previousSetWeight(steps: readonly CanaryStep[], index: number): number {
  for (let i = Math.min(index, steps.length) - 1; i >= 0; i--) {
    const w = steps[i]?.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

/** The setCanaryScale in force at a step (router only), unless a later one matches the traffic weight again (Argo's UseSetCanaryScale). */
export function canaryScaleAt(steps: readonly CanaryStep[], index: number): { weight?: number; replicas?: number } | undefined {
  if (index >= steps.length) return undefined;
  for (let i = index; i >= 0; i--) {
    const scs = steps[i]?.setCanaryScale;
    if (scs === undefined) continue;
    if (scs.matchTrafficWeight === true) return undefined;
    if (scs.replicas !== undefined) return { replicas: scs.replicas };
    if (scs.weight !== undefined) return { weight: scs.weight };
    return undefined;
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// The reconcile context

interface Ctx {
  rollout: Rollout;
  observed: Observed;
  nowMs: number;
  /** now, as status times are written. */
  now: string;
  name: string;
  canary: CanaryStrategy;
  steps: CanaryStep[];
  replicas: number;
  maxSurge: number;
  maxUnavailable: number;
  /** A traffic router is configured: stable stays at full scale, weights go through routes. */
  router: boolean;
  hash: string;
  stepsHash: string;
  prev: RolloutStatus;
  /** The ReplicaSet of the desired template. */
  newRS: ObservedReplicaSet | undefined;
  /** Revision the desired ReplicaSet has or will have. */
  revision: number;
  maxRevision: number;
  replicaSets: ObservedReplicaSet[];
}

/** Mutable bookkeeping of one reconcile: the status fields the planner evolves. */
interface Work {
  run: LifecycleRun;
  stableHash: string | undefined;
  pauseConditions: PauseCondition[];
  controllerPause: boolean;
  abort: boolean;
  abortedAt: string | undefined;
  abortMessage: string | undefined;
  promoteFull: boolean;
  gitCurrent: string | undefined;
  superseded: string | undefined;
  /** The step index advanced in this reconcile. */
  advanced: boolean;
  /** More could be decided at once (a second step is ready). */
  moreToDo: boolean;
  promotedReason: string | undefined;
  requeue: number[];
  /** The run of the current analysis step (status.canary.currentStepAnalysisRunStatus). */
  stepRun: AnalysisRunRecord | undefined;
  /** The background analysis run (status.canary.currentBackgroundAnalysisRunStatus). */
  backgroundRun: AnalysisRunRecord | undefined;
  /** Why a needed AnalysisRun cannot be created (missing template or argument): nothing progresses. */
  analysisProblem: string | undefined;
  /** AnalysisRuns to create, with their Events. */
  analysisEffects: Effect[];
}

function state(w: Work): LifecycleState {
  return lifecycleState(w.run.snapshot);
}

function stepIndex(w: Work): number {
  return w.run.snapshot.context.stepIndex;
}

function send(w: Work, event: LifecycleEvent): void {
  w.run = sendLifecycle(w.run, event);
}

function routerConfigured(canary: CanaryStrategy): boolean {
  const tr = canary.trafficRouting;
  return tr !== undefined && Object.keys(tr).length > 0;
}

// ---------------------------------------------------------------------------
// Entry point

/** Plan one reconcile of a canary Rollout. */
export function planRollout(rollout: Rollout, observed: Observed, now: Date): Plan {
  const canary = rollout.spec.strategy.canary;
  const prev = rollout.status ?? {};
  const nowMs = now.getTime();
  if (canary === undefined && rollout.spec.strategy.blueGreen !== undefined) return planBlueGreen(rollout, observed, now);
  if (canary === undefined) return unsupportedStrategy(rollout, nowMs);

  const replicas = rollout.spec.replicas ?? DEFAULT_REPLICAS;
  const fence = resolveSurgeAndUnavailable(replicas, canary.maxSurge, canary.maxUnavailable);
  const steps = canary.steps ?? [];
  const hash = podTemplateHash(rollout.spec.template ?? {}, prev.collisionCount);
  const replicaSets = [...observed.replicaSets];
  const newRS = findRS(replicaSets, hash);
  const { revision, maxRevision } = desiredRevision(replicaSets, newRS);
  const c: Ctx = {
    rollout,
    observed,
    nowMs,
    now: rfc3339(nowMs),
    name: rollout.metadata.name ?? 'rollout',
    canary,
    steps,
    replicas,
    maxSurge: fence.maxSurge,
    maxUnavailable: fence.maxUnavailable,
    router: routerConfigured(canary),
    hash,
    stepsHash: stepsHash(steps),
    prev,
    newRS,
    revision,
    maxRevision,
    replicaSets,
  };

  const stepCount = steps.length;
  const w: Work = {
    run: restoreLifecycle({
      restoreTo: stateFromStatus(prev, stepCount),
      stepIndex: Math.max(0, Math.min(prev.currentStepIndex ?? 0, stepCount)),
      stepCount,
      fullyPromoted: prev.stableRS !== undefined && prev.stableRS === prev.currentPodHash,
      steps: steps.map(describeStep),
      revision,
      podHash: hash,
    }),
    stableHash: prev.stableRS,
    pauseConditions: [...(prev.pauseConditions ?? [])],
    controllerPause: prev.controllerPause === true,
    abort: prev.abort === true,
    abortedAt: prev.abortedAt,
    abortMessage: undefined,
    promoteFull: prev.promoteFull === true,
    gitCurrent: prev.git?.currentRevision,
    superseded: undefined,
    advanced: false,
    moreToDo: false,
    promotedReason: undefined,
    requeue: [],
    stepRun: readRecord(prev.canary?.currentStepAnalysisRunStatus),
    backgroundRun: readRecord(prev.canary?.currentBackgroundAnalysisRunStatus),
    analysisProblem: undefined,
    analysisEffects: [],
  };
  const runs = observed.analysisRuns ?? [];
  w.stepRun = refreshRecord(w.stepRun, runs);
  w.backgroundRun = refreshRecord(w.backgroundRun, runs);

  applyInputs(c, w);
  const countsProgress = countsProgressed(c);
  judgeBackgroundAnalysis(c, w);
  ensureBackgroundRun(c, w);
  if (w.analysisProblem === undefined) evaluateSteps(c, w, countsProgress);
  ensureBackgroundRun(c, w);
  ensureStepRun(c, w);

  // Progress deadline (Argo: the Progressing condition's lastUpdateTime).
  const created = c.newRS === undefined && !halted(c, w) && desiredFor(c, w, state(w)).newReplicas !== undefined;
  let conditions = progressingCondition(c, w, created, countsProgress || w.advanced || w.promotedReason !== undefined);
  checkDeadline(c, w, conditions);
  conditions = progressingCondition(c, w, created, countsProgress || w.advanced || w.promotedReason !== undefined);

  const desired = desiredFor(c, w, state(w));
  const roles = new Map<string, CanaryStrategy['canaryMetadata']>();
  if (w.stableHash !== undefined) roles.set(w.stableHash, c.canary.stableMetadata);
  if (c.hash !== w.stableHash) roles.set(c.hash, c.canary.canaryMetadata);
  const effects = withEphemeralMetadata([...effectsFor(c, w, desired), ...analysisRunEffects(c, w)], c.replicaSets, observed.pods, roles, [c.canary.canaryMetadata, c.canary.stableMetadata]);
  const status = buildStatus(c, w, desired, conditions);
  const events = [
    ...w.run.events.map((e): Effect => ({ type: 'event', ...e })),
    ...analysisEvents(c, w, status),
    ...operationalEvents(c, effects, status),
  ];
  const restart = planRestart(rollout, status, c.replicaSets, observed.pods, c.maxUnavailable, c.nowMs);
  effects.push(...restart.effects);
  if (restart.restartedAt !== undefined) status.restartedAt = restart.restartedAt;
  if (restart.requeueAt !== undefined) w.requeue.push(restart.requeueAt);
  if (w.moreToDo) w.requeue.push(c.nowMs);
  const requeueAt = w.requeue.length > 0 ? instant(Math.min(...w.requeue)) : undefined;
  return {
    status,
    effects: [...effects, ...events],
    ...(requeueAt !== undefined ? { requeueAt } : {}),
  };
}

function unsupportedStrategy(rollout: Rollout, nowMs: number): Plan {
  const prev = rollout.status ?? {};
  const message = 'the engine implements the canary strategy only';
  const status: RolloutStatus = { ...prev, phase: 'Degraded', message };
  if (rollout.metadata.generation !== undefined) status.observedGeneration = String(rollout.metadata.generation);
  status.conditions = setCondition(prev.conditions ?? [], { type: PROGRESSING, status: 'False', reason: 'UnsupportedStrategy', message }, rfc3339(nowMs));
  return { status, effects: [] };
}

// ---------------------------------------------------------------------------
// 2. Inputs: spec and the user's status fields

function applyInputs(c: Ctx, w: Work): void {
  const prev = c.prev;
  const changed = prev.currentPodHash === undefined || prev.currentPodHash !== c.hash || prev.currentStepHash !== c.stepsHash;
  if (changed) {
    const templateChanged = prev.currentPodHash !== c.hash;
    const target = w.stableHash === undefined ? 'initial' : w.stableHash === c.hash ? 'stable' : 'canary';
    w.superseded =
      target === 'canary' && prev.currentPodHash !== undefined && prev.currentPodHash !== w.stableHash && prev.currentPodHash !== c.hash ? prev.currentPodHash : undefined;
    send(w, { type: 'REVISION', target, announce: templateChanged, superseded: w.superseded });
    w.pauseConditions = [];
    w.controllerPause = false;
    w.abort = false;
    w.abortedAt = undefined;
    w.promoteFull = false;
    w.stepRun = undefined;
    w.backgroundRun = undefined;
    if (templateChanged) w.gitCurrent = c.rollout.metadata.annotations?.[GIT_REVISION_ANNOTATION];
  }

  // abort / retry (with no stable ReplicaSet yet there is nothing to go back to: an abort is a no-op)
  if (w.abort && w.stableHash === undefined && state(w) !== 'aborted') {
    w.abort = false;
  } else if (w.abort && state(w) !== 'aborted') {
    send(w, { type: 'ABORT' });
    if (state(w) === 'aborted') {
      w.abortedAt ??= c.now;
      w.pauseConditions = [];
      w.controllerPause = false;
    } else {
      w.abort = false; // nothing in progress to abort
    }
  } else if (!w.abort && state(w) === 'aborted') {
    send(w, { type: 'RETRY' });
    w.abortedAt = undefined;
    w.stepRun = undefined;
    w.backgroundRun = undefined;
    w.pauseConditions = [];
    w.controllerPause = false;
  } else if (w.abort) {
    w.abortedAt ??= c.now;
  }

  // pause / resume (spec.paused)
  const specPaused = c.rollout.spec.paused === true;
  const s = state(w);
  if (specPaused && s !== 'pausedUser' && s !== 'aborted' && s !== 'degraded' && s !== 'pending') {
    send(w, { type: 'USER_PAUSE' });
  } else if (!specPaused && s === 'pausedUser') {
    send(w, { type: 'USER_RESUME' });
  }

  // promote --full
  if (w.promoteFull) {
    const t = state(w);
    if (t === 'healthy') {
      w.promoteFull = false; // nothing left to promote
    } else if (t === 'progressing' || t === 'pausedStep' || t === 'degraded' || t === 'aborted') {
      send(w, { type: 'PROMOTE_FULL' });
      w.pauseConditions = [];
      w.controllerPause = false;
      w.abort = false;
      w.abortedAt = undefined;
    }
  }
}

/** Whether spec.paused holds every change of scale (Argo's haltProgress). */
function halted(c: Ctx, w: Work): boolean {
  return c.rollout.spec.paused === true || state(w) === 'pausedUser';
}

// ---------------------------------------------------------------------------
// 3. Steps, promotion, deadline

/** Argo's RolloutProgressing, on what is observed: the counts moved in the right direction. */
function countsProgressed(c: Ctx): boolean {
  const prev = c.prev;
  const counts = observedCounts(c.replicaSets, c.newRS);
  const prevOld = (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0);
  const nextOld = counts.replicas - counts.updatedReplicas;
  return (
    prev.currentPodHash !== c.hash ||
    prev.currentStepHash !== c.stepsHash ||
    counts.updatedReplicas !== (prev.updatedReplicas ?? 0) ||
    nextOld < prevOld ||
    counts.readyReplicas > (prev.readyReplicas ?? 0) ||
    counts.availableReplicas > (prev.availableReplicas ?? 0)
  );
}

type Decision =
  | { type: 'none' }
  | { type: 'stepCompleted'; pause: boolean }
  | { type: 'pauseReached'; started: boolean }
  | { type: 'promote'; reason: string }
  | { type: 'analysisFailed'; message: string }
  | { type: 'analysisInconclusive'; message: string };

function evaluateSteps(c: Ctx, w: Work, countsProgress: boolean): void {
  if (state(w) === 'degraded' && countsProgress) send(w, { type: 'PROGRESSED' });
  for (let i = 0; i < 4; i++) {
    const s = state(w);
    if (halted(c, w)) return;
    const mode = s === 'degraded' ? degradedMode(w) : s;
    const decision = decide(c, w, mode);
    if (decision.type === 'none') return;
    if (decision.type === 'stepCompleted' && w.advanced) {
      w.moreToDo = true;
      return;
    }
    if (s === 'degraded') send(w, { type: 'PROGRESSED' });
    switch (decision.type) {
      case 'stepCompleted':
        if (decision.pause) {
          w.pauseConditions = w.pauseConditions.filter((p) => p.reason !== CANARY_PAUSE_STEP);
          w.controllerPause = w.pauseConditions.length > 0 && w.controllerPause;
        }
        send(w, { type: 'STEP_COMPLETED' });
        w.advanced = true;
        break;
      case 'pauseReached':
        if (decision.started) {
          w.pauseConditions = [...w.pauseConditions, { reason: CANARY_PAUSE_STEP, startTime: c.now }];
          w.controllerPause = true;
        }
        send(w, { type: 'PAUSE_STEP_REACHED', started: decision.started });
        break;
      case 'promote':
        w.stableHash = c.hash;
        w.promoteFull = false;
        w.promotedReason = decision.reason;
        send(w, { type: 'PROMOTED', reason: decision.reason });
        break;
      case 'analysisFailed':
        abortForAnalysis(c, w, decision.message);
        return;
      case 'analysisInconclusive':
        pauseForAnalysis(c, w, decision.message);
        return;
    }
  }
}

/** What a degraded rollout would be doing if it were not late. */
function degradedMode(w: Work): LifecycleState {
  const ctx = w.run.snapshot.context;
  if (ctx.fullyPromoted) return 'healthy';
  return ctx.stepIndex < ctx.stepCount ? 'progressing' : 'completing';
}

function decide(c: Ctx, w: Work, mode: LifecycleState): Decision {
  if (mode === 'completing') {
    const d = desiredFor(c, w, mode);
    const rs = c.newRS;
    if (rs?.replicas === c.replicas && rs.availableReplicas >= c.replicas && d.blockers.length === 0) {
      const reason = w.stableHash === undefined ? 'Initial deploy' : w.promoteFull ? 'Full promotion requested' : `Completed all ${c.steps.length} canary steps`;
      return { type: 'promote', reason };
    }
    return { type: 'none' };
  }
  if (mode !== 'progressing' && mode !== 'pausedStep') return { type: 'none' };
  const index = stepIndex(w);
  const step = c.steps[index];
  if (step === undefined) return { type: 'none' };
  switch (stepKind(step)) {
    case 'setWeight':
    case 'setCanaryScale': {
      const d = desiredFor(c, w, mode);
      return d.atDesired && d.blockers.length === 0 ? { type: 'stepCompleted', pause: false } : { type: 'none' };
    }
    case 'pause':
      return decidePause(c, w, mode, step);
    case 'analysis':
      return decideStepAnalysis(c, w, mode, index);
    case 'unsupported':
      return { type: 'none' };
  }
}

/** Argo's reconcileCanaryPause and CompletedCanaryPauseStep. */
function decidePause(c: Ctx, w: Work, mode: LifecycleState, step: CanaryStep): Decision {
  const cond = w.pauseConditions.find((p) => p.reason === CANARY_PAUSE_STEP);
  const duration = step.pause?.duration === undefined ? undefined : durationMs(step.pause.duration);
  if (cond === undefined && w.controllerPause) return { type: 'stepCompleted', pause: true }; // promoted: the user cleared the pause
  if (cond === undefined) {
    if (duration === 0) return { type: 'stepCompleted', pause: true };
    return { type: 'pauseReached', started: true };
  }
  if (duration !== undefined) {
    const start = parseTime(cond.startTime) ?? c.nowMs;
    const expiry = start + duration;
    if (c.nowMs >= expiry) return { type: 'stepCompleted', pause: true };
    w.requeue.push(expiry);
  }
  return mode === 'progressing' ? { type: 'pauseReached', started: false } : { type: 'none' };
}

// ---------------------------------------------------------------------------
// Analysis: step runs, the background run, their verdicts

/** The background analysis of the strategy, when it names templates. */
function backgroundAnalysis(c: Ctx): NonNullable<CanaryStrategy['analysis']> | undefined {
  const a = c.canary.analysis;
  return a?.templates !== undefined && a.templates.length > 0 ? a : undefined;
}

/** Background analysis runs from startingStep while an update is in progress (not a first deploy, not a full promotion). */
function backgroundActive(c: Ctx, w: Work): boolean {
  const a = backgroundAnalysis(c);
  if (a === undefined || w.stableHash === undefined || w.stableHash === c.hash || w.promoteFull) return false;
  const s = state(w);
  if (s !== 'progressing' && s !== 'pausedStep' && s !== 'pausedUser' && s !== 'completing' && s !== 'degraded') return false;
  return stepIndex(w) >= (a.startingStep ?? 0);
}

function backgroundBase(c: Ctx): string {
  return runBaseName(c.name, c.hash, c.revision, 'Background');
}

function stepBase(c: Ctx, index: number): string {
  return runBaseName(c.name, c.hash, c.revision, 'Step', index);
}

/** The current step's analysis, when the rollout is at an analysis step. */
function currentStepAnalysis(c: Ctx, w: Work): NonNullable<CanaryStep['analysis']> | undefined {
  const s = state(w);
  if (s !== 'progressing' && s !== 'pausedStep' && s !== 'pausedUser') return undefined;
  const step = c.steps[stepIndex(w)];
  return step !== undefined && stepKind(step) === 'analysis' ? step.analysis : undefined;
}

function hasInconclusivePause(w: Work): boolean {
  return w.pauseConditions.some((p) => p.reason === INCONCLUSIVE_PAUSE);
}

/** An AnalysisRun failed or erred: abort the update (and so, for a GitSource, roll back). */
function abortForAnalysis(c: Ctx, w: Work, message: string): void {
  send(w, { type: 'ANALYSIS_FAILED', message });
  if (state(w) !== 'aborted') return;
  w.abort = true;
  w.abortedAt ??= c.now;
  w.abortMessage = message;
  w.pauseConditions = [];
  w.controllerPause = false;
}

/** An AnalysisRun was inconclusive: pause with AnalysisRunInconclusive until `weir promote` (or abort). */
function pauseForAnalysis(c: Ctx, w: Work, message: string): void {
  if (!hasInconclusivePause(w)) w.pauseConditions = [...w.pauseConditions, { reason: INCONCLUSIVE_PAUSE, startTime: c.now }];
  w.controllerPause = true;
  if (state(w) !== 'pausedStep') send(w, { type: 'ANALYSIS_INCONCLUSIVE', message });
}

/** The background run's verdict: Failed/Error abort, Inconclusive pauses; a promote after an inconclusive pause starts a new run. */
function judgeBackgroundAnalysis(c: Ctx, w: Work): void {
  const record = w.backgroundRun;
  if (!backgroundActive(c, w) || record === undefined || !isAttemptOf(record.name, backgroundBase(c))) return;
  const s = state(w);
  switch (runOutcome(record)) {
    case 'failed':
      if (s !== 'pausedUser' || c.rollout.spec.paused !== true) abortForAnalysis(c, w, describeOutcome('background', record));
      return;
    case 'inconclusive':
      if (s === 'pausedStep' && w.pauseConditions.length === 0 && w.controllerPause) {
        // The user promoted: carry on, measuring again with a new run.
        w.backgroundRun = undefined;
        send(w, { type: 'INCONCLUSIVE_RESOLVED' });
      } else if (!hasInconclusivePause(w) && (s === 'progressing' || s === 'completing' || s === 'pausedStep')) {
        pauseForAnalysis(c, w, describeOutcome('background', record));
      }
      return;
    default:
      return;
  }
}

/** An analysis step completes when its run is Successful, aborts on Failed/Error, pauses on Inconclusive. */
function decideStepAnalysis(c: Ctx, w: Work, mode: LifecycleState, index: number): Decision {
  const record = w.stepRun;
  if (record === undefined || !isAttemptOf(record.name, stepBase(c, index))) return { type: 'none' };
  switch (runOutcome(record)) {
    case 'successful':
      return { type: 'stepCompleted', pause: false };
    case 'failed':
      return { type: 'analysisFailed', message: describeOutcome('step', record) };
    case 'inconclusive':
      // Pause conditions cleared while the controller's pause stands: the user promoted past the inconclusive result.
      if (mode === 'pausedStep' && !hasInconclusivePause(w) && w.controllerPause) return { type: 'stepCompleted', pause: true };
      if (mode === 'progressing' && !hasInconclusivePause(w)) return { type: 'analysisInconclusive', message: describeOutcome('step', record) };
      return { type: 'none' };
    default:
      return { type: 'none' };
  }
}

function ensureRun(
  c: Ctx,
  w: Work,
  analysis: NonNullable<CanaryStep['analysis']>,
  kind: 'step' | 'background',
  base: string,
  record: AnalysisRunRecord | undefined,
  mayCreate: boolean,
  stepIndex?: number,
): AnalysisRunRecord | undefined {
  const result = ensureAnalysisRun({
    rollout: c.rollout,
    analysis,
    type: kind === 'step' ? 'Step' : 'Background',
    kind,
    base,
    record,
    mayCreate,
    ...(stepIndex !== undefined ? { stepIndex } : {}),
    hash: c.hash,
    stableHash: w.stableHash,
    revision: c.revision,
    runs: c.observed.analysisRuns ?? [],
    templates: c.observed.analysisTemplates,
  });
  w.analysisEffects.push(...result.effects);
  if (result.problem !== undefined) w.analysisProblem = result.problem;
  return result.record;
}

function ensureBackgroundRun(c: Ctx, w: Work): void {
  const analysis = backgroundAnalysis(c);
  if (analysis === undefined || !backgroundActive(c, w) || w.analysisEffects.some((e) => e.type === 'createAnalysisRun' && isAttemptOf(e.run.metadata.name, backgroundBase(c)))) return;
  w.backgroundRun = ensureRun(c, w, analysis, 'background', backgroundBase(c), w.backgroundRun, state(w) !== 'pausedUser');
}

function ensureStepRun(c: Ctx, w: Work): void {
  const analysis = currentStepAnalysis(c, w);
  if (analysis === undefined) return;
  const index = stepIndex(w);
  w.stepRun = ensureRun(c, w, analysis, 'step', stepBase(c, index), w.stepRun, state(w) === 'progressing', index);
}

/** Runs to create, to stop (no longer current) and to delete (history limits). */
function analysisRunEffects(c: Ctx, w: Work): Effect[] {
  const runs = c.observed.analysisRuns ?? [];
  const current = new Set<string>();
  if (w.stepRun !== undefined && currentStepAnalysis(c, w) !== undefined && isAttemptOf(w.stepRun.name, stepBase(c, stepIndex(w)))) current.add(w.stepRun.name);
  if (w.backgroundRun !== undefined && backgroundActive(c, w) && isAttemptOf(w.backgroundRun.name, backgroundBase(c))) current.add(w.backgroundRun.name);
  return [...w.analysisEffects.filter((e) => e.type !== 'event'), ...terminateStale(runs, current), ...historyDeletes(c.rollout, runs, current)];
}

/** Events: runs created and finished, and a run that cannot be created (once, when the message changes). */
function analysisEvents(c: Ctx, w: Work, status: RolloutStatus): Effect[] {
  const events: Effect[] = w.analysisEffects.filter((e) => e.type === 'event');
  events.push(...outcomeEvents('step', readRecord(c.prev.canary?.currentStepAnalysisRunStatus), w.stepRun));
  events.push(...outcomeEvents('background', readRecord(c.prev.canary?.currentBackgroundAnalysisRunStatus), w.backgroundRun));
  if (w.analysisProblem !== undefined && status.message !== c.prev.message) {
    events.push({ type: 'event', eventType: 'Warning', reason: 'AnalysisRunNotCreated', message: w.analysisProblem });
  }
  return events;
}

function isIndefiniteStep(step: CanaryStep | undefined): boolean {
  if (step === undefined) return false;
  const kind = stepKind(step);
  return kind === 'pause' || kind === 'analysis' || kind === 'unsupported';
}

function progressDeadlineMs(c: Ctx): number {
  return (c.rollout.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
}

function timeoutMessage(c: Ctx): string {
  return `ReplicaSet "${c.name}-${c.hash}" has timed out progressing.`;
}

function checkDeadline(c: Ctx, w: Work, conditions: Condition[]): void {
  const s = state(w);
  const abortOnTimeout = c.rollout.spec.progressDeadlineAbort === true;
  if (s === 'degraded') {
    // progressDeadlineAbort may be set after the deadline passed (Argo aborts then).
    if (abortOnTimeout && !w.run.snapshot.context.fullyPromoted && w.stableHash !== undefined) timeOut(c, w, true);
    return;
  }
  if (s !== 'progressing' && s !== 'completing' && s !== 'healthy') return;
  if (halted(c, w)) return;
  if (s === 'progressing' && isIndefiniteStep(c.steps[stepIndex(w)])) return;
  if (s === 'healthy' && isComplete(c, w)) return;
  const cond = findCondition(conditions, PROGRESSING);
  const last = parseTime(cond?.lastUpdateTime);
  if (last === undefined) return;
  const deadline = last + progressDeadlineMs(c);
  if (c.nowMs >= deadline) timeOut(c, w, abortOnTimeout && s !== 'healthy' && w.stableHash !== undefined);
  else w.requeue.push(deadline);
}

function timeOut(c: Ctx, w: Work, abort: boolean): void {
  const message = timeoutMessage(c);
  send(w, { type: 'DEADLINE_EXCEEDED', abort, message });
  if (state(w) === 'aborted') {
    w.abort = true;
    w.abortedAt ??= c.now;
    w.abortMessage = message;
    w.pauseConditions = [];
    w.controllerPause = false;
  }
}

/** Fully promoted and the desired ReplicaSet is all there (basic canary: no other pods left). */
function isComplete(c: Ctx, w: Work): boolean {
  if (w.stableHash !== c.hash) return false;
  const rs = c.newRS;
  if (rs?.replicas !== c.replicas || rs.currentReplicas !== c.replicas || rs.availableReplicas < c.replicas) return false;
  if (!c.router && observedCounts(c.replicaSets, c.newRS).replicas !== c.replicas) return false;
  return true;
}

// ---------------------------------------------------------------------------
// 4. Desired state and effects

interface Desired {
  /** spec.replicas of the desired ReplicaSet; undefined: leave it. */
  newReplicas: number | undefined;
  /** spec.replicas of the stable ReplicaSet (when distinct); undefined: leave it. */
  stableReplicas: number | undefined;
  /** Canary weight for the routes; undefined: leave them. */
  routeWeight: number | undefined;
  /** Pod-template hash each Service should select; undefined: leave it. */
  canaryTarget: string | undefined;
  stableTarget: string | undefined;
  /** At the replica counts of the current step (Argo's AtDesiredReplicaCountsForCanary). */
  atDesired: boolean;
  /** Missing Services or routes: nothing that needs them completes. */
  blockers: string[];
  /** Aborted with a router: when the canary is to be scaled down. */
  abortDeadline: number | undefined;
}

function stableRSOf(c: Ctx, w: Work): ObservedReplicaSet | undefined {
  if (w.stableHash === undefined || w.stableHash === c.hash) return undefined;
  return findRS(c.replicaSets, w.stableHash);
}

function othersOf(c: Ctx, w: Work): ObservedReplicaSet[] {
  return c.replicaSets.filter((rs) => rs.podTemplateHash !== c.hash && (w.stableHash === undefined || rs.podTemplateHash !== w.stableHash));
}

const ZERO: ReplicaCounts = { replicas: 0, currentReplicas: 0, availableReplicas: 0 };

function desiredFor(c: Ctx, w: Work, s: LifecycleState): Desired {
  const mode = s === 'degraded' ? degradedMode(w) : s;
  const stable = stableRSOf(c, w);
  const newRS = c.newRS;
  const index = stepIndex(w);
  const blockers = blockersOf(c);
  const prevWeight = c.prev.canary?.weights?.canary.weight ?? 0;
  const newAvailable = newRS?.availableReplicas ?? 0;
  const out: Desired = {
    newReplicas: undefined,
    stableReplicas: undefined,
    routeWeight: undefined,
    canaryTarget: undefined,
    stableTarget: undefined,
    atDesired: false,
    blockers,
    abortDeadline: undefined,
  };
  if (mode === 'pausedUser' || mode === 'pending') return out;

  // Services: the canary Service follows the desired ReplicaSet once it has a
  // pod available (Argo's ensureSVCTargets), back to stable on abort; the
  // stable Service follows status.stableRS.
  const stableAvailable = (w.stableHash === c.hash ? newRS : stable)?.availableReplicas ?? 0;
  if (w.stableHash !== undefined && stableAvailable > 0) out.stableTarget = w.stableHash;
  if (mode === 'aborted') {
    if (w.stableHash !== undefined && stableAvailable > 0) out.canaryTarget = w.stableHash;
  } else if (newRS !== undefined && newAvailable > 0) {
    out.canaryTarget = c.hash;
  }

  // The weight the replica counts aim at (Argo's GetCanaryReplicasOrWeight).
  const weight = mode === 'aborted' ? 0 : mode === 'progressing' || mode === 'pausedStep' ? setWeightAt(c.steps, index) : 100;

  if (c.router) {
    const scs = mode === 'progressing' || mode === 'pausedStep' ? canaryScaleAt(c.steps, index) : undefined;
    const counts = trafficRoutedReplicaCounts(c.replicas, scs?.weight ?? weight, {
      fixedCanaryReplicas: scs?.replicas,
      minPodsPerReplicaSet: c.canary.minPodsPerReplicaSet,
    });
    out.atDesired =
      newRS?.replicas === counts.canary &&
      newRS.availableReplicas === counts.canary &&
      stable?.replicas === counts.stable &&
      stable.currentReplicas === counts.stable;
    if (mode === 'aborted') {
      out.stableReplicas = stable !== undefined ? c.replicas : undefined;
      abortCanaryScale(c, out);
      out.routeWeight = 0;
    } else {
      out.newReplicas = mode === 'healthy' || mode === 'completing' ? c.replicas : counts.canary;
      out.stableReplicas = stable !== undefined ? c.replicas : undefined;
      if (mode === 'healthy') out.routeWeight = 0;
      else if (newAvailable === 0) out.routeWeight = 0; // never weight to a canary with no pod available
      else if (mode === 'completing') {
        // All steps done: the last setWeight holds until promotion (Argo, minus its brief 100%); a first deploy has no canary
        // traffic; promote --full keeps the weight it found.
        out.routeWeight = w.stableHash === undefined ? 0 : w.promoteFull ? prevWeight : previousSetWeight(c.steps, c.steps.length);
      }
      else out.routeWeight = out.atDesired ? setWeightAt(c.steps, index) : previousSetWeight(c.steps, index);
    }
  } else {
    const others = othersOf(c, w).filter((rs) => !rs.deleting);
    const counts = basicCanaryReplicaCounts(
      { replicas: c.replicas, weight, maxSurge: c.maxSurge, maxUnavailable: c.maxUnavailable },
      newRS ?? ZERO,
      stable,
      others,
    );
    out.newReplicas = counts.canary;
    out.stableReplicas = stable !== undefined ? counts.stable : undefined;
    out.atDesired =
      newRS?.replicas === counts.canary &&
      newRS.availableReplicas === counts.canary &&
      stable?.replicas === counts.stable &&
      stable.currentReplicas === counts.stable &&
      others.every((rs) => rs.availableReplicas === 0);
  }
  return out;
}

/** Aborted with a router: the canary keeps its pods for abortScaleDownDelaySeconds (0: for good), then goes to 0. */
function abortCanaryScale(c: Ctx, out: Desired): void {
  const rs = c.newRS;
  if (rs === undefined || rs.replicas === 0) return;
  const delay = c.canary.abortScaleDownDelaySeconds ?? DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS;
  if (delay <= 0) return;
  const deadline = parseTime(rs.scaleDownDeadline);
  if (deadline === undefined) {
    out.abortDeadline = Math.floor(c.nowMs / 1000) * 1000 + delay * 1000;
    return;
  }
  if (c.nowMs >= deadline) out.newReplicas = 0;
  else out.abortDeadline = deadline;
}

function blockersOf(c: Ctx): string[] {
  const blockers: string[] = [];
  for (const svc of [c.canary.canaryService, c.canary.stableService]) {
    if (svc !== undefined && c.observed.services[svc] === undefined) blockers.push(`Service "${svc}" not found`);
  }
  if (c.router) {
    for (const [name, route] of sortedRoutes(c)) {
      if (route === undefined) blockers.push(`HTTPRoute "${name}" not found`);
      else if (!route.hasRule) blockers.push(`HTTPRoute "${name}" has no rule referencing both the stable and the canary Service`);
    }
  }
  return blockers;
}

function sortedRoutes(c: Ctx): [string, Observed['routes'][string]][] {
  return Object.entries(c.observed.routes).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

function effectsFor(c: Ctx, w: Work, d: Desired): Effect[] {
  const effects: Effect[] = [];
  const s = state(w);
  const canScale = !halted(c, w);
  const stable = stableRSOf(c, w);

  // The desired ReplicaSet.
  if (canScale && d.newReplicas !== undefined && c.newRS === undefined) {
    const isCanary = w.stableHash !== undefined && w.stableHash !== c.hash;
    effects.push(createReplicaSetEffect(c.rollout, c.hash, d.newReplicas, c.revision, isCanary ? c.canary.canaryMetadata : c.canary.stableMetadata));
  } else if (canScale && c.newRS !== undefined) {
    const annotations: Record<string, string | null> = {};
    if (c.newRS.revision !== c.revision) annotations[REVISION_ANNOTATION] = String(c.revision);
    if (s === 'aborted' && c.router) {
      if (d.abortDeadline !== undefined) {
        if (c.newRS.scaleDownDeadline === undefined) annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = rfc3339(d.abortDeadline);
        w.requeue.push(d.abortDeadline);
      }
    } else if (c.newRS.scaleDownDeadline !== undefined) {
      annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = null; // wanted again (retry, or back to a ReplicaSet being scaled down)
    }
    pushScale(effects, c.newRS, d.newReplicas ?? c.newRS.replicas, annotations);
  }

  // The stable ReplicaSet.
  if (canScale && stable !== undefined) {
    const annotations: Record<string, string | null> = {};
    if (stable.scaleDownDeadline !== undefined) annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = null;
    pushScale(effects, stable, d.stableReplicas ?? stable.replicas, annotations);
  }

  // Services, then routes: at promotion the stable Service moves to the new pods before the canary weight drops to 0.
  const targets = serviceTargets(c, d);
  for (const [svc, target] of targets) {
    const observed = c.observed.services[svc];
    if (target === undefined || observed === undefined) continue;
    if (observed.selector[POD_TEMPLATE_HASH_LABEL] !== target) effects.push({ type: 'setServiceSelector', service: svc, podTemplateHash: target });
  }
  const { canaryService, stableService } = c.canary;
  if (c.router && d.routeWeight !== undefined && canaryService !== undefined && stableService !== undefined) {
    for (const [name, route] of sortedRoutes(c)) {
      if (route?.hasRule !== true) continue;
      if ((route.weights[canaryService] ?? 0) !== d.routeWeight || (route.weights[stableService] ?? 0) !== 100 - d.routeWeight) {
        effects.push({ type: 'setRouteWeights', route: name, namespace: route.namespace, stableService, canaryService, canaryWeight: d.routeWeight });
      }
    }
  }

  // Other ReplicaSets: scaled down (with the scale-down delay for a router), then deleted beyond revisionHistoryLimit.
  if (canScale) effects.push(...scaleDownOthers(c, w, targets));
  effects.push(...historyLimitDeletes(c.rollout, othersOf(c, w)));
  return effects;
}

function serviceTargets(c: Ctx, d: Desired): [string, string | undefined][] {
  const out: [string, string | undefined][] = [];
  if (c.canary.canaryService !== undefined) out.push([c.canary.canaryService, d.canaryTarget]);
  if (c.canary.stableService !== undefined && c.canary.stableService !== c.canary.canaryService) out.push([c.canary.stableService, d.stableTarget]);
  return out;
}

/**
 * ReplicaSets that are neither desired nor stable (Argo's
 * scaleDownOldReplicaSetsForCanary). Basic canary: scaled down within
 * maxUnavailable. Router: one still selected by a Service is left alone; a
 * previous stable (fully promoted, or already given a deadline) keeps its
 * pods for scaleDownDelaySeconds (deadline annotation, then 0); an
 * intermediate canary goes to 0 at once.
 */
function scaleDownOthers(c: Ctx, w: Work, targets: [string, string | undefined][]): Effect[] {
  const others = othersOf(c, w).filter((rs) => !rs.deleting);
  if (others.length === 0) return [];
  const totalAvailable = c.replicaSets.reduce((n, rs) => n + rs.availableReplicas, 0);
  const effects: Effect[] = [];
  if (!c.router) {
    const next = scaleDownOlderReplicaSets(others, totalAvailable, c.replicas, c.maxUnavailable);
    for (const rs of [...others].sort(byRevisionDesc)) {
      const replicas = next.get(rs.name);
      if (replicas !== undefined) pushScale(effects, rs, replicas, {});
    }
    return effects;
  }

  const referenced = new Set<string>();
  for (const [svc, target] of targets) {
    const hash = target ?? c.observed.services[svc]?.selector[POD_TEMPLATE_HASH_LABEL];
    if (hash !== undefined) referenced.add(hash);
  }
  const fullyPromoted = w.stableHash === c.hash;
  const delay = c.canary.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS;
  const limit = c.canary.scaleDownDelayRevisionLimit;
  let delayed = 0;
  if (totalAvailable - (c.replicas - c.maxUnavailable) <= 0) return [];
  for (const rs of [...others].sort(byRevisionDesc)) {
    if (referenced.has(rs.podTemplateHash) || rs.replicas === 0) continue;
    // Unavailable pods go first: they serve nothing (Argo's cleanupUnhealthyReplicas).
    let replicas = rs.replicas;
    const annotations: Record<string, string | null> = {};
    const deadline = parseTime(rs.scaleDownDeadline);
    if ((fullyPromoted || deadline !== undefined) && delay > 0 && (limit === undefined || delayed < limit)) {
      if (deadline === undefined) {
        const at = Math.floor(c.nowMs / 1000) * 1000 + delay * 1000;
        annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = rfc3339(at);
        w.requeue.push(at);
        delayed++;
      } else if (c.nowMs < deadline) {
        w.requeue.push(deadline);
        delayed++;
      } else {
        replicas = 0;
      }
    } else {
      replicas = 0;
    }
    if (replicas === 0 && rs.scaleDownDeadline !== undefined) annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = null;
    if (replicas !== 0 && rs.availableReplicas < replicas) replicas = rs.availableReplicas;
    pushScale(effects, rs, replicas, annotations);
  }
  return effects;
}

// ---------------------------------------------------------------------------
// 5. Status

function progressingCondition(c: Ctx, w: Work, created: boolean, progress: boolean): Condition[] {
  let conditions = [...(c.prev.conditions ?? [])];
  const prevCond = findCondition(conditions, PROGRESSING);
  const rsName = c.newRS?.name ?? `${c.name}-${c.hash}`;
  const s = state(w);
  const set = (status: Condition['status'], reason: string, message: string, touch = false): void => {
    conditions = setCondition(conditions, { type: PROGRESSING, status, reason, message }, c.now, touch);
  };
  switch (s) {
    case 'aborted':
      if (prevCond?.reason !== Reason.RolloutAborted || prevCond.status !== 'False') {
        const base = `Rollout aborted update to revision ${c.revision}`;
        set('False', Reason.RolloutAborted, w.abortMessage === undefined ? base : `${base}: ${w.abortMessage}`);
      }
      return conditions;
    case 'degraded':
      if (prevCond?.reason !== Reason.ProgressDeadlineExceeded || prevCond.status !== 'False') set('False', Reason.ProgressDeadlineExceeded, timeoutMessage(c));
      return conditions;
    case 'pausedUser':
    case 'pausedStep':
      set('Unknown', Reason.RolloutPaused, 'Rollout is paused');
      return conditions;
    default:
      break;
  }
  if (s === 'healthy' && isComplete(c, w)) {
    set('True', Reason.NewReplicaSetAvailable, `ReplicaSet "${rsName}" has successfully progressed.`);
  } else if (created) {
    set('True', Reason.NewReplicaSetCreated, `Created new replica set "${rsName}"`, true);
  } else if (prevCond?.reason === Reason.RolloutPaused) {
    set('Unknown', Reason.RolloutResumed, 'Rollout is resumed', true);
  } else if (prevCond?.reason === Reason.RolloutAborted) {
    set('Unknown', Reason.RolloutRetry, 'Retrying Rollout after abort', true);
  } else if (progress || prevCond === undefined || prevCond.reason === Reason.NewReplicaSetAvailable || prevCond.status === 'False') {
    set('True', Reason.ReplicaSetUpdated, `ReplicaSet "${rsName}" is progressing.`, true);
  }
  return conditions;
}

function buildStatus(c: Ctx, w: Work, d: Desired, progressing: Condition[]): RolloutStatus {
  const s = state(w);
  const ctx = w.run.snapshot.context;
  const counts = observedCounts(c.replicaSets, c.newRS);
  const complete = s === 'healthy' && isComplete(c, w);
  const { phase, message } = phaseOf(c, w, d, counts, complete, findCondition(progressing, PROGRESSING));

  const paused = s === 'pausedStep' || s === 'pausedUser';
  const status = commonStatus({
    rollout: c.rollout,
    prev: c.prev,
    now: c.now,
    hash: c.hash,
    replicas: c.replicas,
    phase,
    message,
    conditions: progressing,
    counts,
    paused,
    aborted: s === 'aborted',
    abortedAt: w.abortedAt,
    stableHash: w.stableHash,
    pauseConditions: w.pauseConditions,
    controllerPause: w.controllerPause,
    promoteFull: w.promoteFull,
    complete,
    gitCurrent: w.gitCurrent,
    drop: ['currentStepIndex', 'blueGreen'],
  });
  if (c.steps.length > 0) status.currentStepIndex = ctx.stepIndex;
  status.currentStepHash = c.stepsHash;
  status.canary = { ...(c.prev.canary ?? {}), weights: weightsOf(c, w, d) };
  recordsInStatus(status, 'currentStepAnalysisRunStatus', w.stepRun);
  recordsInStatus(status, 'currentBackgroundAnalysisRunStatus', w.backgroundRun);
  return status;
}

function weightsOf(c: Ctx, w: Work, d: Desired): NonNullable<NonNullable<RolloutStatus['canary']>['weights']> {
  const { canaryService, stableService } = c.canary;
  let weight: number;
  if (c.router) {
    weight = d.routeWeight ?? c.prev.canary?.weights?.canary.weight ?? 0;
  } else if (w.stableHash === c.hash) {
    weight = 0;
  } else {
    const total = c.replicaSets.reduce((n, rs) => n + rs.availableReplicas, 0);
    weight = total === 0 ? 0 : Math.round((100 * (c.newRS?.availableReplicas ?? 0)) / total);
  }
  const stableHash = w.stableHash;
  return {
    canary: { weight, podTemplateHash: c.hash, ...(canaryService !== undefined ? { serviceName: canaryService } : {}) },
    stable: { weight: 100 - weight, ...(stableHash !== undefined ? { podTemplateHash: stableHash } : {}), ...(stableService !== undefined ? { serviceName: stableService } : {}) },
  };
}

/** Phase and message (Argo's CalculateRolloutPhase, with Weir's messages for analysis, blockers and superseding). */
function phaseOf(
  c: Ctx,
  w: Work,
  d: Desired,
  counts: { replicas: number; updatedReplicas: number; availableReplicas: number },
  complete: boolean,
  progressing: Condition | undefined,
): { phase: NonNullable<RolloutStatus['phase']>; message: string } {
  const s = state(w);
  switch (s) {
    case 'aborted':
    case 'degraded':
      // As Argo: "<reason>: <message>" of the Progressing condition that failed.
      return { phase: 'Degraded', message: `${progressing?.reason ?? ''}: ${progressing?.message ?? ''}` };
    case 'pausedUser':
      return { phase: 'Paused', message: MANUALLY_PAUSED_MESSAGE };
    case 'pausedStep': {
      const reason = w.pauseConditions[0]?.reason ?? CANARY_PAUSE_STEP;
      const inconclusive = [w.stepRun, w.backgroundRun].find((r) => r?.status === 'Inconclusive');
      if (reason === INCONCLUSIVE_PAUSE && inconclusive !== undefined) return { phase: 'Paused', message: `${reason}: analysis run "${inconclusive.name}" is inconclusive${inconclusive.message !== undefined ? ` (${inconclusive.message})` : ''}; promote to continue or abort` };
      return { phase: 'Paused', message: reason };
    }
    default:
      break;
  }
  if (complete) return { phase: 'Healthy', message: '' };
  if (w.analysisProblem !== undefined) return { phase: 'Degraded', message: w.analysisProblem };
  const first = d.blockers[0];
  if (first !== undefined) return { phase: 'Progressing', message: first };
  if (w.superseded !== undefined) return { phase: 'Progressing', message: `superseded: canary ${w.superseded} replaced by revision ${c.revision} (${c.hash}); steps restart` };
  if (s === 'progressing') {
    const step = c.steps[stepIndex(w)];
    if (step !== undefined && stepKind(step) === 'analysis') {
      const run = w.stepRun;
      return { phase: 'Progressing', message: run === undefined ? 'waiting for the step analysis run' : `waiting for step analysis run "${run.name}" (${run.status})` };
    }
    if (step !== undefined && stepKind(step) === 'unsupported') return { phase: 'Progressing', message: `step ${describeStep(step)} is not supported` };
  }
  if (counts.updatedReplicas < c.replicas) return { phase: 'Progressing', message: 'more replicas need to be updated' };
  if (counts.availableReplicas < counts.updatedReplicas) return { phase: 'Progressing', message: 'updated replicas are still becoming available' };
  if (!c.router && counts.replicas > counts.updatedReplicas) return { phase: 'Progressing', message: 'old replicas are pending termination' };
  if (w.stableHash !== c.hash) return { phase: 'Progressing', message: 'waiting for all steps to complete' };
  return { phase: 'Progressing', message: 'updated replicas are still becoming available' };
}

/** Events for what the effects do: ReplicaSets created and scaled, traffic weight changed. */
function operationalEvents(c: Ctx, effects: Effect[], status: RolloutStatus): Effect[] {
  const events = replicaSetEvents(c.replicaSets, effects);
  const before = c.prev.canary?.weights?.canary.weight;
  const after = status.canary?.weights?.canary.weight;
  if (c.router && after !== undefined && before !== after) {
    events.push({ type: 'event', eventType: 'Normal', reason: 'TrafficWeightUpdated', message: before === undefined ? `Traffic weight updated to ${after}` : `Traffic weight updated from ${before} to ${after}` });
  }
  return events;
}
