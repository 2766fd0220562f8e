// The blue/green strategy: Argo Rollouts' blueGreen semantics, pure: its
// decisions, desired state, effects and status section, in the reconcile
// frame shared with the canary (frame.ts, inputs.ts, progress.ts,
// desired-effects.ts, scale-down.ts).
//
// One reconcile restores the machine (bluegreen-machine.ts) from status,
// feeds it the inputs (inputs.ts), decides what the observations allow
// (preview ready, promotion approved, active switched, analysis verdicts, the
// progress deadline), then computes, once, the ReplicaSet sizes and the
// Service selectors from the state it settled in, and the status.
//
// An update: the new ReplicaSet comes up behind the preview Service (at
// previewReplicaCount if set) while the active Service keeps selecting the
// stable one. Once the preview is fully available, pre-promotion analysis
// runs, and promotion waits for a person (autoPromotionEnabled: false) or
// autoPromotionSeconds, counted from that moment. Approved and analysed, the
// new ReplicaSet goes to full size and the active Service switches to it in
// one write; post-promotion analysis runs while the previous ReplicaSet stays
// up, and its success makes the new one stable and gives the previous one a
// scale-down deadline (an annotation, so a restarted controller keeps it).
// Failure of either analysis, or `weir abort`, puts the active Service back
// on the stable ReplicaSet at once.
import type { BlueGreenStrategy, Rollout, RolloutStatus } from '../api/rollout.ts';
import { describeOutcome, INCONCLUSIVE_PAUSE, isAttemptOf, readRecord, refreshRecord, runBaseName, runOutcome, type AnalysisRunRecord } from './analysis.ts';
import { blueGreenState, restoreBlueGreen, resumeTarget, sendBlueGreen, stateFromBlueGreenStatus, type BlueGreenEvent, type BlueGreenRun, type BlueGreenState } from './bluegreen-machine.ts';
import { findCondition, PROGRESSING } from './conditions.ts';
import { BLUE_GREEN_PAUSE, DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS, DEFAULT_SCALE_DOWN_DELAY_SECONDS } from './constants.ts';
import { replicaSetEffects, selectedHash, selectorEffects, type ServiceTarget } from './desired-effects.ts';
import { finish, openFrame, Reconcile, type Frame } from './frame.ts';
import { applyInputs } from './inputs.ts';
import { frameStatus, progressDeadline } from './progress.ts';
import { resolveSurgeAndUnavailable } from './replicas.ts';
import { historyLimitDeletes } from './replicasets.ts';
import { abortScaleDown, scaleDownOld } from './scale-down.ts';
import { replicaSetEvents } from './status.ts';
import { parseTime } from './time.ts';
import { POD_TEMPLATE_HASH_LABEL, type Effect, type Observed, type Plan } from './types.ts';

interface BlueGreen {
  f: Frame;
  bg: BlueGreenStrategy;
  previewReplicas: number;
  /** Missing Services: nothing is decided. */
  blockers: string[];
}

class BlueGreenReconcile extends Reconcile<BlueGreenRun, BlueGreenState, BlueGreenEvent> {
  pre: AnalysisRunRecord | undefined;
  post: AnalysisRunRecord | undefined;
  /** The previous stable ReplicaSet gets its scale-down deadline in this reconcile. */
  promotedFrom: string | undefined;

  get context(): BlueGreenRun['snapshot']['context'] {
    return this.run.snapshot.context;
  }
}

/** Transitions that count as progress (a first deploy's promotion does not: its counts do). */
const PROGRESS = new Set<BlueGreenEvent['type']>(['REVISION', 'RETRY', 'APPROVED', 'SWITCHED', 'PROMOTED']);
const MACHINE = {
  send: sendBlueGreen,
  state: (run: BlueGreenRun) => blueGreenState(run.snapshot),
  progress: (event: BlueGreenEvent, from: BlueGreenState) => PROGRESS.has(event.type) && !(event.type === 'PROMOTED' && from === 'completing'),
};

/** Plan one reconcile of a blue/green Rollout. */
export function planBlueGreen(rollout: Rollout, observed: Observed, now: Date, bg: BlueGreenStrategy, replicas: number): Plan {
  const f = openFrame(rollout, observed, now, replicas);
  const c: BlueGreen = { f, bg, previewReplicas: Math.min(replicas, Math.max(0, bg.previewReplicaCount ?? replicas)), blockers: [] };
  for (const svc of [bg.activeService, bg.previewService]) {
    if (svc !== undefined && observed.services[svc] === undefined) c.blockers.push(`Service "${svc}" not found`);
  }
  const prev = f.prev;
  const runs = observed.analysisRuns ?? [];
  const r = new BlueGreenReconcile(
    f,
    MACHINE,
    restoreBlueGreen({ restoreTo: stateFromBlueGreenStatus(prev), revision: f.revision, podHash: f.hash, resumeTo: resumeTarget(prev), approved: prev.blueGreen?.scaleUpPreviewCheckPoint === true }),
  );
  r.pre = refreshRecord(readRecord(prev.blueGreen?.prePromotionAnalysisRunStatus), runs);
  r.post = refreshRecord(readRecord(prev.blueGreen?.postPromotionAnalysisRunStatus), runs);

  applyInputs(f, r, {
    changed: prev.currentPodHash !== f.hash,
    sendRevision: (target) => {
      r.send({ type: 'REVISION', target, announce: prev.currentPodHash !== undefined });
    },
    freshStart: () => {
      r.pre = undefined;
      r.post = undefined;
    },
    // Promoting already, or switched: the full promotion skips what is left (post-promotion analysis) in decide().
    promoteFull: (s) =>
      s === 'healthy' || s === 'completing'
        ? 'nothingLeft'
        : s === 'promoting' || s === 'postPromotion'
          ? 'underway'
          : s === 'preview' || s === 'pausedPromotion' || s === 'aborted' || s === 'degraded'
            ? 'promote'
            : 'wait',
  });
  if (c.blockers.length === 0) decide(c, r);
  ensureRuns(c, r);
  const moved = checkDeadline(c, r);

  // From here on the machine has settled: the desired state, once.
  const d = desired(c, r);
  const selected = {
    active: selectedHash(f, [bg.activeService, d.active]),
    preview: bg.previewService === undefined ? undefined : selectedHash(f, [bg.previewService, d.preview]),
  };
  const roles = new Map<string, BlueGreenStrategy['activeMetadata']>();
  if (selected.active !== undefined) roles.set(selected.active, bg.activeMetadata);
  if (f.newRS !== undefined && f.hash !== selected.active) roles.set(f.hash, bg.previewMetadata);
  return finish(r, {
    effects: effectsFor(c, r, d),
    currentRuns: currentRuns(c, r),
    roles,
    metadata: [bg.activeMetadata, bg.previewMetadata],
    status: buildStatus(c, r, moved, selected),
    outcomes: [
      ['pre-promotion', readRecord(prev.blueGreen?.prePromotionAnalysisRunStatus), r.pre],
      ['post-promotion', readRecord(prev.blueGreen?.postPromotionAnalysisRunStatus), r.post],
    ],
    events: (effects) => scaleEvents(f, effects),
    maxUnavailable: resolveSurgeAndUnavailable(replicas, 0, bg.maxUnavailable).maxUnavailable,
  });
}

// ---------------------------------------------------------------------------
// Decisions

function switched(c: BlueGreen): boolean {
  return c.f.observed.services[c.bg.activeService]?.selector[POD_TEMPLATE_HASH_LABEL] === c.f.hash;
}

function previewReady(c: BlueGreen): boolean {
  const rs = c.f.newRS;
  if (rs === undefined || rs.replicas < c.previewReplicas || rs.availableReplicas < c.previewReplicas) return false;
  const preview = c.bg.previewService;
  return preview === undefined || c.f.observed.services[preview]?.selector[POD_TEMPLATE_HASH_LABEL] === c.f.hash;
}

function fullyAvailable(c: BlueGreen): boolean {
  const rs = c.f.newRS;
  return rs?.replicas === c.f.replicas && rs.availableReplicas >= c.f.replicas;
}

function decide(c: BlueGreen, r: BlueGreenReconcile): void {
  for (let i = 0; i < 4; i++) {
    const before = r.state;
    decideOnce(c, r);
    if (r.state === before) return;
  }
}

function decideOnce(c: BlueGreen, r: BlueGreenReconcile): void {
  const s = r.state;
  switch (s) {
    case 'completing':
      if (fullyAvailable(c)) {
        r.stableHash = c.f.hash;
        r.send({ type: 'PROMOTED', reason: 'Initial deploy' });
      }
      return;
    case 'preview':
    case 'pausedPromotion':
      if (switched(c) && r.stableHash !== c.f.hash && s === 'pausedPromotion') decidePostPromotion(c, r, s);
      else decidePromotion(c, r, s);
      return;
    case 'promoting':
      if (fullyAvailable(c) && switched(c)) r.send({ type: 'SWITCHED' });
      return;
    case 'postPromotion':
      decidePostPromotion(c, r, s);
      return;
    case 'degraded':
      if (r.progressed) r.send({ type: 'PROGRESSED' });
      return;
    default:
      return;
  }
}

function hasTemplates(analysis: BlueGreenStrategy['prePromotionAnalysis']): analysis is NonNullable<BlueGreenStrategy['prePromotionAnalysis']> {
  return analysis?.templates !== undefined && analysis.templates.length > 0;
}

/** An inconclusive run: pause until a person decides (once). */
function pauseInconclusive(r: BlueGreenReconcile, pauseFrom: BlueGreenState, kind: string, record: AnalysisRunRecord): void {
  if (r.hasPause(INCONCLUSIVE_PAUSE)) return;
  const from = r.state;
  r.pauseFor(INCONCLUSIVE_PAUSE);
  if (from === pauseFrom) r.send({ type: 'ANALYSIS_INCONCLUSIVE', message: describeOutcome(kind, record) });
}

/** Preview ready → pre-promotion analysis and the promotion gate (a person, or autoPromotionSeconds). */
function decidePromotion(c: BlueGreen, r: BlueGreenReconcile, s: BlueGreenState): void {
  if (!previewReady(c)) return;
  const f = c.f;
  let analysed = true;
  if (hasTemplates(c.bg.prePromotionAnalysis) && !r.promoteFull) {
    const record = r.pre !== undefined && isAttemptOf(r.pre.name, base(c, 'PrePromotion')) ? r.pre : undefined;
    const outcome = runOutcome(record);
    if (outcome === 'failed' && record !== undefined) {
      r.send({ type: 'ANALYSIS_FAILED', message: describeOutcome('pre-promotion', record) });
      return;
    }
    if (outcome === 'inconclusive' && record !== undefined) {
      const resolved = s === 'pausedPromotion' && r.controllerPause && !r.hasPause(INCONCLUSIVE_PAUSE);
      if (!resolved) {
        pauseInconclusive(r, 'preview', 'pre-promotion', record);
        return;
      }
    } else {
      analysed = outcome === 'successful';
    }
  }

  // The promotion gate.
  const manual = c.bg.autoPromotionEnabled === false;
  const autoSeconds = !manual ? (c.bg.autoPromotionSeconds ?? 0) : 0;
  let approvedBy: string | undefined;
  if (r.promoteFull) approvedBy = 'promote --full';
  else if (!manual && autoSeconds <= 0) approvedBy = 'the preview is available (autoPromotionEnabled)';
  else {
    const cond = r.pauseConditions.find((p) => p.reason === BLUE_GREEN_PAUSE);
    if (cond === undefined && s === 'pausedPromotion' && r.controllerPause) approvedBy = 'promoted by the user';
    else if (cond === undefined && s === 'preview') {
      r.pauseFor(BLUE_GREEN_PAUSE);
      r.send({ type: 'PREVIEW_PAUSE', reason: BLUE_GREEN_PAUSE });
      if (autoSeconds > 0) r.requeue.push(f.nowMs + autoSeconds * 1000);
      return;
    } else if (cond !== undefined && autoSeconds > 0) {
      const due = (parseTime(cond.startTime) ?? f.nowMs) + autoSeconds * 1000;
      if (f.nowMs >= due) approvedBy = `autoPromotionSeconds (${autoSeconds}s) passed`;
      else r.requeue.push(due);
    }
  }
  if (approvedBy === undefined || !analysed) return;
  r.clearPause();
  r.send({ type: 'APPROVED', reason: approvedBy });
}

/** The active Service selects the new ReplicaSet: post-promotion analysis decides whether it becomes stable. */
function decidePostPromotion(c: BlueGreen, r: BlueGreenReconcile, s: BlueGreenState): void {
  const done = (reason: string): void => {
    r.promotedFrom = r.stableHash;
    r.stableHash = c.f.hash;
    r.clearPause();
    r.send({ type: 'PROMOTED', reason });
  };
  if (r.promoteFull || !hasTemplates(c.bg.postPromotionAnalysis)) {
    done(r.promoteFull ? 'promoted fully' : 'active Service switched');
    r.promoteFull = false;
    return;
  }
  const record = r.post !== undefined && isAttemptOf(r.post.name, base(c, 'PostPromotion')) ? r.post : undefined;
  if (record === undefined) return;
  switch (runOutcome(record)) {
    case 'successful':
      done('post-promotion analysis passed');
      return;
    case 'failed':
      r.send({ type: 'ANALYSIS_FAILED', message: describeOutcome('post-promotion', record) });
      return;
    case 'inconclusive':
      if (s === 'pausedPromotion' && r.controllerPause && !r.hasPause(INCONCLUSIVE_PAUSE)) done('promoted by the user after an inconclusive post-promotion analysis');
      else pauseInconclusive(r, 'postPromotion', 'post-promotion', record);
      return;
    default:
      return;
  }
}

/**
 * Whether something moved (a transition that counts, or the counts); a
 * degraded rollout that moved is no longer late. The deadline applies while
 * replicas come up (not while waiting for a person or for analysis).
 */
function checkDeadline(c: BlueGreen, r: BlueGreenReconcile): boolean {
  const { prev, counts } = c.f;
  const moved =
    r.progressed ||
    counts.updatedReplicas !== (prev.updatedReplicas ?? 0) ||
    counts.availableReplicas > (prev.availableReplicas ?? 0) ||
    counts.readyReplicas > (prev.readyReplicas ?? 0);
  if (r.state === 'degraded' && moved) r.send({ type: 'PROGRESSED' });
  const s = r.state;
  const waitingForReplicas = (s === 'completing' && !fullyAvailable(c)) || (s === 'preview' && !previewReady(c)) || (s === 'promoting' && !fullyAvailable(c));
  if (!waitingForReplicas || moved) return moved;
  const deadline = progressDeadline(c.f, findCondition(prev.conditions, PROGRESSING)?.lastUpdateTime);
  if (deadline === 'passed') {
    const abort = c.f.rollout.spec.progressDeadlineAbort === true && r.stableHash !== undefined && s !== 'completing';
    r.send({ type: 'DEADLINE_EXCEEDED', abort, message: timeoutMessage(c.f) });
  } else if (deadline !== undefined) {
    r.requeue.push(deadline);
  }
  return moved;
}

function timeoutMessage(f: Frame): string {
  return `ReplicaSet "${f.newRS?.name ?? `${f.name}-${f.hash}`}" has timed out progressing.`;
}

// ---------------------------------------------------------------------------
// Analysis runs

function base(c: BlueGreen, type: 'PrePromotion' | 'PostPromotion'): string {
  return runBaseName(c.f.name, c.f.hash, c.f.revision, type);
}

/** Whether the state is one where the pre-promotion run is wanted (the preview is ready, no switch yet). */
function wantsPre(c: BlueGreen, r: BlueGreenReconcile): boolean {
  const s = r.state;
  if (!hasTemplates(c.bg.prePromotionAnalysis) || r.promoteFull) return false;
  if (s !== 'preview' && s !== 'pausedPromotion' && s !== 'pausedUser') return false;
  return !switched(c) && previewReady(c);
}

function wantsPost(c: BlueGreen, r: BlueGreenReconcile): boolean {
  const s = r.state;
  if (!hasTemplates(c.bg.postPromotionAnalysis) || r.promoteFull) return false;
  if (s !== 'postPromotion' && s !== 'pausedPromotion' && s !== 'pausedUser') return false;
  return switched(c) || s === 'postPromotion';
}

function ensureRuns(c: BlueGreen, r: BlueGreenReconcile): void {
  const { prePromotionAnalysis: pre, postPromotionAnalysis: post } = c.bg;
  if (pre !== undefined && wantsPre(c, r)) {
    r.pre = r.ensureRun({ analysis: pre, type: 'PrePromotion', kind: 'pre-promotion', base: base(c, 'PrePromotion'), record: r.pre, mayCreate: r.state !== 'pausedUser' });
  }
  if (post !== undefined && wantsPost(c, r)) {
    r.post = r.ensureRun({ analysis: post, type: 'PostPromotion', kind: 'post-promotion', base: base(c, 'PostPromotion'), record: r.post, mayCreate: r.state === 'postPromotion' });
  }
}

function currentRuns(c: BlueGreen, r: BlueGreenReconcile): Set<string> {
  const current = new Set<string>();
  if (r.pre !== undefined && wantsPre(c, r)) current.add(r.pre.name);
  if (r.post !== undefined && wantsPost(c, r)) current.add(r.post.name);
  return current;
}

// ---------------------------------------------------------------------------
// Desired state and effects

interface Desired {
  newReplicas: number | undefined;
  stableReplicas: number | undefined;
  active: string | undefined;
  preview: string | undefined;
  /** Aborted: the new ReplicaSet's scale-down deadline still ahead. */
  abortDeadline: number | undefined;
}

function desired(c: BlueGreen, r: BlueGreenReconcile): Desired {
  const f = c.f;
  const s = r.state;
  const mode = s === 'pausedUser' || s === 'degraded' ? r.context.resumeTo : s;
  const stableRS = r.stableRS;
  const stableUp = (stableRS?.availableReplicas ?? 0) > 0;
  const out: Desired = { newReplicas: undefined, stableReplicas: stableRS !== undefined ? f.replicas : undefined, active: undefined, preview: undefined, abortDeadline: undefined };
  switch (mode) {
    case 'pending':
      return out;
    case 'completing':
      out.newReplicas = f.replicas;
      if (fullyAvailable(c)) out.active = out.preview = f.hash;
      return out;
    case 'healthy':
      out.newReplicas = f.replicas;
      if ((f.newRS?.availableReplicas ?? 0) > 0) out.active = out.preview = f.hash;
      return out;
    case 'preview':
    case 'pausedPromotion': {
      const postPaused = mode === 'pausedPromotion' && switched(c);
      out.newReplicas = postPaused || r.context.approved ? f.replicas : c.previewReplicas;
      out.active = postPaused ? f.hash : stableUp ? r.stableHash : undefined;
      if (f.newRS !== undefined) out.preview = f.hash;
      return out;
    }
    case 'promoting':
      out.newReplicas = f.replicas;
      out.active = fullyAvailable(c) ? f.hash : stableUp ? r.stableHash : undefined;
      if (f.newRS !== undefined) out.preview = f.hash;
      return out;
    case 'postPromotion':
      out.newReplicas = f.replicas;
      out.active = out.preview = f.hash;
      return out;
    case 'aborted': {
      const abort = abortScaleDown(f, c.bg.abortScaleDownDelaySeconds ?? DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS);
      out.newReplicas = abort.replicas;
      out.abortDeadline = abort.deadline;
      if (stableUp) out.active = out.preview = r.stableHash;
      return out;
    }
  }
}

function effectsFor(c: BlueGreen, r: BlueGreenReconcile, d: Desired): Effect[] {
  const f = c.f;
  const isUpdate = r.stableHash !== undefined && r.stableHash !== f.hash;
  const effects = replicaSetEffects(f, r, {
    newReplicas: d.newReplicas,
    stableReplicas: d.stableReplicas,
    abortScaleDown: r.state === 'aborted',
    abortDeadline: d.abortDeadline,
    metadata: isUpdate ? c.bg.previewMetadata : c.bg.activeMetadata,
  });
  // The switch: one selector write on the active Service (and the preview's).
  const targets: ServiceTarget[] = [
    [c.bg.activeService, d.active],
    [c.bg.previewService, d.preview],
  ];
  effects.push(...selectorEffects(f, targets));
  if (!r.halted) effects.push(...scaleDownPrevious(c, r, targets));
  effects.push(...historyLimitDeletes(f.rollout, r.others));
  return effects;
}

/**
 * ReplicaSets that are neither desired nor stable: the previous stable keeps
 * its pods for scaleDownDelaySeconds after promotion (a deadline annotation,
 * at most scaleDownDelayRevisionLimit of them), then goes to 0; any other
 * goes to 0 at once unless a Service still selects it.
 */
function scaleDownPrevious(c: BlueGreen, r: BlueGreenReconcile, targets: ServiceTarget[]): Effect[] {
  const selected = new Set(targets.filter(([svc]) => svc !== undefined).map((t) => selectedHash(c.f, t)));
  const promotedFrom = r.promotedFrom;
  return scaleDownOld(
    c.f,
    r.others.filter((rs) => !rs.deleting),
    {
      delaySeconds: c.bg.scaleDownDelaySeconds ?? DEFAULT_SCALE_DOWN_DELAY_SECONDS,
      revisionLimit: c.bg.scaleDownDelayRevisionLimit,
      skip: (rs, deadline) => selected.has(rs.podTemplateHash) && deadline === undefined && rs.podTemplateHash !== promotedFrom,
      delayable: (rs, deadline) => rs.podTemplateHash === promotedFrom || deadline !== undefined,
      expiredCounts: true,
      trimUnavailable: false,
    },
    r.requeue,
  );
}

// ---------------------------------------------------------------------------
// Status

function complete(c: BlueGreen, r: BlueGreenReconcile): boolean {
  return r.stableHash === c.f.hash && fullyAvailable(c) && switched(c);
}

function progressingMessage(c: BlueGreen, r: BlueGreenReconcile): string {
  const s = r.state;
  if (s === 'preview' && !previewReady(c)) return 'waiting for the preview ReplicaSet to be available';
  if (s === 'preview' && r.pre !== undefined) return `waiting for pre-promotion analysis run "${r.pre.name}" (${r.pre.status})`;
  if (s === 'promoting') return fullyAvailable(c) ? 'switching the active Service' : 'scaling the new ReplicaSet to full size before the switch';
  if (s === 'postPromotion') return r.post === undefined ? 'active Service switched' : `waiting for post-promotion analysis run "${r.post.name}" (${r.post.status})`;
  return 'updated replicas are still becoming available';
}

function buildStatus(c: BlueGreen, r: BlueGreenReconcile, moved: boolean, selected: { active: string | undefined; preview: string | undefined }): RolloutStatus {
  const f = c.f;
  const s = r.state;
  const status = frameStatus(f, r, {
    state: s,
    pausedHere: s === 'pausedPromotion',
    complete: s === 'healthy' && complete(c, r),
    created: f.newRS === undefined,
    progress: moved,
    timeoutMessage: timeoutMessage(f),
    pauseReason: BLUE_GREEN_PAUSE,
    runs: [r.pre, r.post],
    blockers: c.blockers,
    availableGate: switched(c) || r.stableHash !== undefined,
    drop: ['currentStepIndex', 'currentStepHash', 'canary'],
    progressingMessage: () => progressingMessage(c, r),
  });
  const blueGreen: NonNullable<RolloutStatus['blueGreen']> = {};
  if (selected.active !== undefined) blueGreen.activeSelector = selected.active;
  if (selected.preview !== undefined) blueGreen.previewSelector = selected.preview;
  if (r.context.approved && (s === 'promoting' || s === 'pausedUser')) blueGreen.scaleUpPreviewCheckPoint = true;
  if (r.pre !== undefined) blueGreen.prePromotionAnalysisRunStatus = { ...r.pre };
  if (r.post !== undefined) blueGreen.postPromotionAnalysisRunStatus = { ...r.post };
  status.blueGreen = blueGreen;
  return status;
}

function scaleEvents(f: Frame, effects: readonly Effect[]): Effect[] {
  const events = replicaSetEvents(f.replicaSets, effects);
  for (const e of effects) {
    if (e.type === 'setServiceSelector') {
      events.push({ type: 'event', eventType: 'Normal', reason: 'SwitchService', message: `Switched selector for service '${e.service}' to value '${e.podTemplateHash}'` });
    }
  }
  return events;
}
