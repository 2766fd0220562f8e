// The canary strategy (Argo Rollouts' canary semantics), pure: its decisions,
// desired state, effects and status section, in the reconcile frame shared
// with blue/green (frame.ts, inputs.ts, progress.ts, desired-effects.ts,
// scale-down.ts). Its desired state and effects are in canary-desired.ts,
// its analysis runs (step and background) in canary-analysis.ts.
//
// One reconcile:
//   1. restore the lifecycle machine (machine.ts) from status;
//   2. feed it the user's inputs (inputs.ts): a new template or steps, abort
//      or retry, spec.paused, promote --full;
//   3. evaluate the current step against what is observed: a step completes
//      (at most one per reconcile), a pause starts, the new ReplicaSet is
//      promoted to stable; a missed progress deadline;
//   4. from the state the machine settled in, once: the desired replica
//      counts, Service selectors and route weights, and the effects that
//      differ from what is observed;
//   5. the status: conditions, phase, message, counts, weights.
import type { CanaryStep, CanaryStrategy, Rollout, RolloutStatus } from '../api/rollout.ts';
import { readRecord, recordsInStatus, refreshRecord, type AnalysisRunRecord } from './analysis.ts';
import { blockersOf, degradedMode, desiredFor, effectsFor, managedRoutesFor, replicaTargets, routesHeld, type Desired } from './canary-desired.ts';
import { currentRuns, ensureBackgroundRun, ensureStepRun, judgeBackgroundAnalysis, pauseForAnalysis, stepAnalysisVerdict } from './canary-analysis.ts';
import { findCondition, PROGRESSING } from './conditions.ts';
import { CANARY_PAUSE_STEP } from './constants.ts';
import { durationMs } from './duration.ts';
import { finish, openFrame, Reconcile, type Frame } from './frame.ts';
import { stepsHash } from './hash.ts';
import { applyInputs } from './inputs.ts';
import { lifecycleState, restoreLifecycle, sendLifecycle, stateFromStatus, type LifecycleEvent, type LifecycleRun, type LifecycleState } from './machine.ts';
import { frameStatus, progressDeadline, progressingCondition, type ProgressInput } from './progress.ts';
import { resolveSurgeAndUnavailable } from './replicas.ts';
import { replicaSetEvents } from './status.ts';
import { describeStep, stepKind } from './steps.ts';
import { parseTime } from './time.ts';
import type { Effect, Observed, Plan } from './types.ts';

/** What a canary reconcile knows beyond the shared frame. */
export interface Canary {
  f: Frame;
  canary: CanaryStrategy;
  steps: CanaryStep[];
  stepsHash: string;
  maxSurge: number;
  maxUnavailable: number;
  /** A traffic router is configured: stable stays at full scale, weights go through routes. */
  router: boolean;
  /** Missing Services or routes: nothing that needs them completes. */
  blockers: string[];
}

/** The canary reconcile: the shared bookkeeping plus its analysis runs. */
export class CanaryReconcile extends Reconcile<LifecycleRun, LifecycleState, LifecycleEvent> {
  /** The run of the current analysis step (status.canary.currentStepAnalysisRunStatus). */
  stepRun: AnalysisRunRecord | undefined;
  /** The background analysis run (status.canary.currentBackgroundAnalysisRunStatus). */
  backgroundRun: AnalysisRunRecord | undefined;
  /** A second step is ready: look again at once. */
  moreToDo = false;
  /** The canary a new template replaced in this reconcile (neither stable nor the new one). */
  superseded: string | undefined;

  get stepIndex(): number {
    return this.run.snapshot.context.stepIndex;
  }
}

/** Transitions that count as progress: a step done, the promotion (the rest is in the counts). */
const MACHINE = {
  send: sendLifecycle,
  state: (run: LifecycleRun) => lifecycleState(run.snapshot),
  progress: (event: LifecycleEvent) => event.type === 'STEP_COMPLETED' || event.type === 'PROMOTED',
};

function routerConfigured(canary: CanaryStrategy): boolean {
  const tr = canary.trafficRouting;
  return tr !== undefined && Object.keys(tr).length > 0;
}

/** Plan one reconcile of a canary Rollout. */
export function planCanary(rollout: Rollout, observed: Observed, now: Date, canary: CanaryStrategy, replicas: number): Plan {
  const f = openFrame(rollout, observed, now, replicas);
  const steps = canary.steps ?? [];
  const fence = resolveSurgeAndUnavailable(replicas, canary.maxSurge, canary.maxUnavailable);
  const c: Canary = { f, canary, steps, stepsHash: stepsHash(steps), maxSurge: fence.maxSurge, maxUnavailable: fence.maxUnavailable, router: routerConfigured(canary), blockers: [] };
  c.blockers = blockersOf(c);
  const prev = f.prev;
  const stepCount = steps.length;
  const r = new CanaryReconcile(
    f,
    MACHINE,
    restoreLifecycle({
      restoreTo: stateFromStatus(prev, stepCount),
      stepIndex: Math.max(0, Math.min(prev.currentStepIndex ?? 0, stepCount)),
      stepCount,
      fullyPromoted: prev.stableRS !== undefined && prev.stableRS === prev.currentPodHash,
      steps: steps.map((s) => describeStep(s, 'message')),
      revision: f.revision,
      podHash: f.hash,
    }),
  );
  const runs = observed.analysisRuns ?? [];
  r.stepRun = refreshRecord(readRecord(prev.canary?.currentStepAnalysisRunStatus), runs);
  r.backgroundRun = refreshRecord(readRecord(prev.canary?.currentBackgroundAnalysisRunStatus), runs);

  applyInputs(f, r, {
    changed: prev.currentPodHash === undefined || prev.currentPodHash !== f.hash || prev.currentStepHash !== c.stepsHash,
    sendRevision: (target, templateChanged) => {
      r.superseded = target === 'update' && prev.currentPodHash !== undefined && prev.currentPodHash !== r.stableHash && prev.currentPodHash !== f.hash ? prev.currentPodHash : undefined;
      r.send({ type: 'REVISION', target: target === 'update' ? 'canary' : target, announce: templateChanged, superseded: r.superseded });
    },
    freshStart: () => {
      r.stepRun = undefined;
      r.backgroundRun = undefined;
    },
    promoteFull: (s) => (s === 'healthy' ? 'nothingLeft' : s === 'progressing' || s === 'pausedStep' || s === 'degraded' || s === 'aborted' ? 'promote' : 'wait'),
  });
  const countsProgress = countsProgressed(c);
  judgeBackgroundAnalysis(c, r);
  ensureBackgroundRun(c, r);
  if (r.analysisProblem === undefined) evaluateSteps(c, r, countsProgress);
  ensureBackgroundRun(c, r);
  ensureStepRun(c, r);
  const progress = countsProgress || r.progressed;
  checkDeadline(c, r, progress);

  // From here on the machine has settled: the desired state, once.
  const d = desiredFor(c, r);
  const created = f.newRS === undefined && !r.halted && d.newReplicas !== undefined;
  const roles = new Map<string, CanaryStrategy['canaryMetadata']>();
  if (r.stableHash !== undefined) roles.set(r.stableHash, canary.stableMetadata);
  if (f.hash !== r.stableHash) roles.set(f.hash, canary.canaryMetadata);
  if (r.moreToDo) r.requeue.push(f.nowMs);
  return finish(r, {
    effects: effectsFor(c, r, d),
    currentRuns: currentRuns(c, r),
    roles,
    metadata: [canary.canaryMetadata, canary.stableMetadata],
    status: buildStatus(c, r, d, created, progress),
    outcomes: [
      ['step', readRecord(prev.canary?.currentStepAnalysisRunStatus), r.stepRun],
      ['background', readRecord(prev.canary?.currentBackgroundAnalysisRunStatus), r.backgroundRun],
    ],
    events: (effects, status) => operationalEvents(c, effects, status),
    maxUnavailable: c.maxUnavailable,
  });
}

// ---------------------------------------------------------------------------
// Steps, promotion, deadline

/** Argo's RolloutProgressing, on what is observed: the counts moved in the right direction. */
function countsProgressed(c: Canary): boolean {
  const { prev, counts, hash } = c.f;
  const prevOld = (prev.replicas ?? 0) - (prev.updatedReplicas ?? 0);
  const nextOld = counts.replicas - counts.updatedReplicas;
  return (
    prev.currentPodHash !== hash ||
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

function evaluateSteps(c: Canary, r: CanaryReconcile, countsProgress: boolean): void {
  if (r.state === 'degraded' && countsProgress) r.send({ type: 'PROGRESSED' });
  let advanced = false;
  for (let i = 0; i < 4; i++) {
    const s = r.state;
    if (r.halted) return;
    const decision = decide(c, r, s === 'degraded' ? degradedMode(r) : s);
    if (decision.type === 'none') return;
    if (decision.type === 'stepCompleted' && advanced) {
      r.moreToDo = true;
      return;
    }
    if (s === 'degraded') r.send({ type: 'PROGRESSED' });
    switch (decision.type) {
      case 'stepCompleted':
        if (decision.pause) {
          r.pauseConditions = r.pauseConditions.filter((p) => p.reason !== CANARY_PAUSE_STEP);
          r.controllerPause = r.pauseConditions.length > 0 && r.controllerPause;
        }
        r.send({ type: 'STEP_COMPLETED' });
        advanced = true;
        break;
      case 'pauseReached':
        if (decision.started) r.pauseFor(CANARY_PAUSE_STEP);
        r.send({ type: 'PAUSE_STEP_REACHED', started: decision.started });
        break;
      case 'promote':
        r.stableHash = c.f.hash;
        r.promoteFull = false;
        r.send({ type: 'PROMOTED', reason: decision.reason });
        break;
      case 'analysisFailed':
        r.send({ type: 'ANALYSIS_FAILED', message: decision.message });
        return;
      case 'analysisInconclusive':
        pauseForAnalysis(r, decision.message);
        return;
    }
  }
}

function decide(c: Canary, r: CanaryReconcile, mode: LifecycleState): Decision {
  const f = c.f;
  if (mode === 'completing') {
    const rs = f.newRS;
    if (rs?.replicas === f.replicas && rs.availableReplicas >= f.replicas && c.blockers.length === 0) {
      const reason = r.stableHash === undefined ? 'Initial deploy' : r.promoteFull ? 'Full promotion requested' : `Completed all ${c.steps.length} canary steps`;
      return { type: 'promote', reason };
    }
    return { type: 'none' };
  }
  if (mode !== 'progressing' && mode !== 'pausedStep') return { type: 'none' };
  const index = r.stepIndex;
  const step = c.steps[index];
  if (step === undefined) return { type: 'none' };
  switch (stepKind(step)) {
    case 'setWeight':
    case 'setCanaryScale':
      return replicaTargets(c, r, mode).atDesired && c.blockers.length === 0 && weightVerified(c) ? { type: 'stepCompleted', pause: false } : { type: 'none' };
    case 'setHeaderRoute':
    case 'setMirrorRoute':
      // Done once every router holds the managed routes of the steps so far (set, or removed by a step without a match).
      return c.blockers.length === 0 && routesHeld(f.observed.traffic, managedRoutesFor(c, r, mode)) ? { type: 'stepCompleted', pause: false } : { type: 'none' };
    case 'pause':
      return decidePause(c, r, mode, step);
    case 'analysis':
      return stepAnalysisVerdict(c, r, mode, index);
    case 'unsupported':
      return { type: 'none' };
  }
}

/** No router says its data plane has not reached the weight (most cannot tell: undefined). */
function weightVerified(c: Canary): boolean {
  return c.f.observed.traffic.every((t) => t.verified !== false);
}

/** Argo's reconcileCanaryPause and CompletedCanaryPauseStep. */
function decidePause(c: Canary, r: CanaryReconcile, mode: LifecycleState, step: CanaryStep): Decision {
  const cond = r.pauseConditions.find((p) => p.reason === CANARY_PAUSE_STEP);
  const duration = step.pause?.duration === undefined ? undefined : durationMs(step.pause.duration);
  if (cond === undefined && r.controllerPause) return { type: 'stepCompleted', pause: true }; // promoted: the user cleared the pause
  if (cond === undefined) return duration === 0 ? { type: 'stepCompleted', pause: true } : { type: 'pauseReached', started: true };
  if (duration !== undefined) {
    const expiry = (parseTime(cond.startTime) ?? c.f.nowMs) + duration;
    if (c.f.nowMs >= expiry) return { type: 'stepCompleted', pause: true };
    r.requeue.push(expiry);
  }
  return mode === 'progressing' ? { type: 'pauseReached', started: false } : { type: 'none' };
}

function isIndefiniteStep(step: CanaryStep | undefined): boolean {
  if (step === undefined) return false;
  const kind = stepKind(step);
  return kind === 'pause' || kind === 'analysis' || kind === 'unsupported';
}

function timeoutMessage(f: Frame): string {
  return `ReplicaSet "${f.name}-${f.hash}" has timed out progressing.`;
}

function checkDeadline(c: Canary, r: CanaryReconcile, progress: boolean): void {
  const s = r.state;
  const abortOnTimeout = c.f.rollout.spec.progressDeadlineAbort === true;
  if (s === 'degraded') {
    // progressDeadlineAbort may be set after the deadline passed (Argo aborts then).
    if (abortOnTimeout && !r.run.snapshot.context.fullyPromoted && r.stableHash !== undefined) r.send({ type: 'DEADLINE_EXCEEDED', abort: true, message: timeoutMessage(c.f) });
    return;
  }
  if (s !== 'progressing' && s !== 'completing' && s !== 'healthy') return;
  if (r.halted) return;
  if (s === 'progressing' && isIndefiniteStep(c.steps[r.stepIndex])) return;
  if (s === 'healthy' && isComplete(c, r)) return;
  // Not halted in these states, the desired ReplicaSet always has a size: one not there yet is created now.
  const conditions = condition(c, r, c.f.newRS === undefined, progress);
  const deadline = progressDeadline(c.f, findCondition(conditions, PROGRESSING)?.lastUpdateTime);
  if (deadline === 'passed') r.send({ type: 'DEADLINE_EXCEEDED', abort: abortOnTimeout && s !== 'healthy' && r.stableHash !== undefined, message: timeoutMessage(c.f) });
  else if (deadline !== undefined) r.requeue.push(deadline);
}

/** Fully promoted and the desired ReplicaSet is all there (basic canary: no other pods left). */
function isComplete(c: Canary, r: CanaryReconcile): boolean {
  const f = c.f;
  if (r.stableHash !== f.hash) return false;
  const rs = f.newRS;
  if (rs?.replicas !== f.replicas || rs.currentReplicas !== f.replicas || rs.availableReplicas < f.replicas) return false;
  return c.router || f.counts.replicas === f.replicas;
}

// ---------------------------------------------------------------------------
// Status

function condition(c: Canary, r: CanaryReconcile, created: boolean, progress: boolean): ReturnType<typeof progressingCondition> {
  return progressingCondition(c.f, { ...progressOf(c, r, created, progress), abortMessage: r.abortMessage });
}

function progressOf(c: Canary, r: CanaryReconcile, created: boolean, progress: boolean): Omit<ProgressInput, 'abortMessage'> {
  const s = r.state;
  return { state: s, pausedHere: s === 'pausedStep', complete: s === 'healthy' && isComplete(c, r), created, progress, timeoutMessage: timeoutMessage(c.f) };
}

function buildStatus(c: Canary, r: CanaryReconcile, d: Desired, created: boolean, progress: boolean): RolloutStatus {
  const f = c.f;
  const status = frameStatus(f, r, {
    ...progressOf(c, r, created, progress),
    pauseReason: CANARY_PAUSE_STEP,
    runs: [r.stepRun, r.backgroundRun],
    blockers: c.blockers,
    drop: ['currentStepIndex', 'blueGreen'],
    progressingMessage: () => progressingMessage(c, r),
  });
  if (c.steps.length > 0) status.currentStepIndex = r.stepIndex;
  status.currentStepHash = c.stepsHash;
  status.canary = { ...(f.prev.canary ?? {}), weights: weightsOf(c, r, d) };
  recordsInStatus(status, 'currentStepAnalysisRunStatus', r.stepRun);
  recordsInStatus(status, 'currentBackgroundAnalysisRunStatus', r.backgroundRun);
  return status;
}

/** The message of a canary still progressing (Weir's, for analysis, superseding and unsupported steps). */
function progressingMessage(c: Canary, r: CanaryReconcile): string {
  const f = c.f;
  const superseded = r.superseded;
  if (superseded !== undefined) return `superseded: canary ${superseded} replaced by revision ${f.revision} (${f.hash}); steps restart`;
  if (r.state === 'progressing') {
    const step = c.steps[r.stepIndex];
    if (step !== undefined && stepKind(step) === 'analysis') {
      const run = r.stepRun;
      return run === undefined ? 'waiting for the step analysis run' : `waiting for step analysis run "${run.name}" (${run.status})`;
    }
    if (step !== undefined && stepKind(step) === 'unsupported') return `step ${describeStep(step, 'message')} is not supported`;
  }
  const counts = f.counts;
  if (counts.updatedReplicas < f.replicas) return 'more replicas need to be updated';
  if (counts.availableReplicas < counts.updatedReplicas) return 'updated replicas are still becoming available';
  if (!c.router && counts.replicas > counts.updatedReplicas) return 'old replicas are pending termination';
  if (r.stableHash !== f.hash) return 'waiting for all steps to complete';
  return 'updated replicas are still becoming available';
}

function weightsOf(c: Canary, r: CanaryReconcile, d: Desired): NonNullable<NonNullable<RolloutStatus['canary']>['weights']> {
  const f = c.f;
  const { canaryService, stableService } = c.canary;
  let weight: number;
  if (c.router) weight = d.routeWeight ?? f.prev.canary?.weights?.canary.weight ?? 0;
  else if (r.stableHash === f.hash) weight = 0;
  else {
    const total = f.replicaSets.reduce((n, rs) => n + rs.availableReplicas, 0);
    weight = total === 0 ? 0 : Math.round((100 * (f.newRS?.availableReplicas ?? 0)) / total);
  }
  const stableHash = r.stableHash;
  return {
    canary: { weight, podTemplateHash: f.hash, ...(canaryService !== undefined ? { serviceName: canaryService } : {}) },
    stable: { weight: 100 - weight, ...(stableHash !== undefined ? { podTemplateHash: stableHash } : {}), ...(stableService !== undefined ? { serviceName: stableService } : {}) },
  };
}

/** Events for what the effects do: ReplicaSets created and scaled, traffic weight changed. */
function operationalEvents(c: Canary, effects: readonly Effect[], status: RolloutStatus): Effect[] {
  const events = replicaSetEvents(c.f.replicaSets, effects);
  const before = c.f.prev.canary?.weights?.canary.weight;
  const after = status.canary?.weights?.canary.weight;
  if (c.router && after !== undefined && before !== after) {
    events.push({ type: 'event', eventType: 'Normal', reason: 'TrafficWeightUpdated', message: before === undefined ? `Traffic weight updated to ${after}` : `Traffic weight updated from ${before} to ${after}` });
  }
  return events;
}

