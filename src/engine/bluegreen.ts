// The blue/green planner: Argo Rollouts' blueGreen semantics, pure.
//
// One reconcile restores the machine from status, feeds it the inputs (a new
// template, abort/retry, spec.paused, promote --full), decides what the
// observations allow (preview ready, promotion approved, active switched,
// analysis verdicts, the progress deadline), then computes the ReplicaSet
// sizes, the Service selectors and the status from the final state.
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
import type { Condition } from '../api/common.ts';
import type { BlueGreenStrategy, PauseCondition, Rollout, RolloutStatus } from '../api/rollout.ts';
import {
  describeOutcome,
  ensureAnalysisRun,
  historyDeletes,
  INCONCLUSIVE_PAUSE,
  isAttemptOf,
  outcomeEvents,
  readRecord,
  refreshRecord,
  runBaseName,
  runOutcome,
  terminateStale,
  type AnalysisRunRecord,
} from './analysis.ts';
import { blueGreenState, restoreBlueGreen, resumeTarget, sendBlueGreen, stateFromBlueGreenStatus, type BlueGreenEvent, type BlueGreenRun, type BlueGreenState } from './bluegreen-machine.ts';
import { findCondition, PROGRESSING, Reason, setCondition } from './conditions.ts';
import { podTemplateHash } from './hash.ts';
import { byRevisionDesc, resolveSurgeAndUnavailable } from './replicas.ts';
import { createReplicaSetEffect, desiredRevision, findRS, historyLimitDeletes, observedCounts, pushScale, withEphemeralMetadata } from './replicasets.ts';
import { planRestart } from './restart.ts';
import { commonStatus, replicaSetEvents } from './status.ts';
import { instant, parseTime, rfc3339 } from './time.ts';
import { GIT_REVISION_ANNOTATION, POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, SCALE_DOWN_DEADLINE_ANNOTATION, type Effect, type Observed, type ObservedReplicaSet, type Plan } from './types.ts';

/** Pause reason while the preview waits for promotion (Argo's). */
export const BLUE_GREEN_PAUSE = 'BlueGreenPause';
export const DEFAULT_BLUE_GREEN_SCALE_DOWN_DELAY_SECONDS = 30;
export const DEFAULT_BLUE_GREEN_ABORT_SCALE_DOWN_DELAY_SECONDS = 30;
const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
const MANUALLY_PAUSED_MESSAGE = 'manually paused';

interface Ctx {
  rollout: Rollout;
  observed: Observed;
  nowMs: number;
  now: string;
  name: string;
  bg: BlueGreenStrategy;
  replicas: number;
  previewReplicas: number;
  hash: string;
  prev: RolloutStatus;
  newRS: ObservedReplicaSet | undefined;
  revision: number;
  replicaSets: ObservedReplicaSet[];
}

interface Work {
  run: BlueGreenRun;
  stableHash: string | undefined;
  pauseConditions: PauseCondition[];
  controllerPause: boolean;
  abort: boolean;
  abortedAt: string | undefined;
  abortMessage: string | undefined;
  promoteFull: boolean;
  gitCurrent: string | undefined;
  /** Promotion approved (status.blueGreen.scaleUpPreviewCheckPoint). */
  approved: boolean;
  pre: AnalysisRunRecord | undefined;
  post: AnalysisRunRecord | undefined;
  analysisProblem: string | undefined;
  analysisEffects: Effect[];
  /** The previous stable ReplicaSet gets its scale-down deadline in this reconcile. */
  promotedFrom: string | undefined;
  progressed: boolean;
  requeue: number[];
}

function state(w: Work): BlueGreenState {
  return blueGreenState(w.run.snapshot);
}

function send(w: Work, event: BlueGreenEvent): void {
  w.run = sendBlueGreen(w.run, event);
}

/** Plan one reconcile of a blue/green Rollout. */
export function planBlueGreen(rollout: Rollout, observed: Observed, now: Date): Plan {
  const bg = rollout.spec.strategy.blueGreen;
  if (bg === undefined) throw new Error('planBlueGreen needs spec.strategy.blueGreen');
  const prev = rollout.status ?? {};
  const nowMs = now.getTime();
  const replicas = rollout.spec.replicas ?? 1;
  const hash = podTemplateHash(rollout.spec.template ?? {}, prev.collisionCount);
  const replicaSets = [...observed.replicaSets];
  const newRS = findRS(replicaSets, hash);
  const { revision } = desiredRevision(replicaSets, newRS);
  const c: Ctx = {
    rollout,
    observed,
    nowMs,
    now: rfc3339(nowMs),
    name: rollout.metadata.name ?? 'rollout',
    bg,
    replicas,
    previewReplicas: Math.min(replicas, Math.max(0, bg.previewReplicaCount ?? replicas)),
    hash,
    prev,
    newRS,
    revision,
    replicaSets,
  };
  const runs = observed.analysisRuns ?? [];
  const w: Work = {
    run: restoreBlueGreen({ restoreTo: stateFromBlueGreenStatus(prev), revision, podHash: hash, resumeTo: resumeTarget(prev) }),
    stableHash: prev.stableRS,
    pauseConditions: [...(prev.pauseConditions ?? [])],
    controllerPause: prev.controllerPause === true,
    abort: prev.abort === true,
    abortedAt: prev.abortedAt,
    abortMessage: undefined,
    promoteFull: prev.promoteFull === true,
    gitCurrent: prev.git?.currentRevision,
    approved: prev.blueGreen?.scaleUpPreviewCheckPoint === true,
    pre: refreshRecord(readRecord(prev.blueGreen?.prePromotionAnalysisRunStatus), runs),
    post: refreshRecord(readRecord(prev.blueGreen?.postPromotionAnalysisRunStatus), runs),
    analysisProblem: undefined,
    analysisEffects: [],
    promotedFrom: undefined,
    progressed: false,
    requeue: [],
  };

  applyInputs(c, w);
  decide(c, w);
  ensureRuns(c, w);
  const conditions = progressing(c, w);
  const d = desired(c, w);
  const selected = selectedHashes(c, d);
  const roles = new Map<string, BlueGreenStrategy['activeMetadata']>();
  if (selected.active !== undefined) roles.set(selected.active, bg.activeMetadata);
  if (c.newRS !== undefined && c.hash !== selected.active) roles.set(c.hash, bg.previewMetadata);
  const effects = withEphemeralMetadata([...effectsFor(c, w, d), ...analysisRunEffects(c, w)], c.replicaSets, observed.pods, roles, [bg.activeMetadata, bg.previewMetadata]);
  const status = buildStatus(c, w, conditions, selected);
  const events: Effect[] = [
    ...w.run.events.map((e): Effect => ({ type: 'event', ...e })),
    ...w.analysisEffects.filter((e) => e.type === 'event'),
    ...outcomeEvents('pre-promotion', readRecord(prev.blueGreen?.prePromotionAnalysisRunStatus), w.pre),
    ...outcomeEvents('post-promotion', readRecord(prev.blueGreen?.postPromotionAnalysisRunStatus), w.post),
    ...(w.analysisProblem !== undefined && status.message !== prev.message ? [{ type: 'event' as const, eventType: 'Warning' as const, reason: 'AnalysisRunNotCreated', message: w.analysisProblem }] : []),
    ...scaleEvents(c, effects),
  ];
  const restart = planRestart(rollout, status, c.replicaSets, observed.pods, resolveSurgeAndUnavailable(replicas, 0, bg.maxUnavailable).maxUnavailable, nowMs);
  effects.push(...restart.effects);
  if (restart.restartedAt !== undefined) status.restartedAt = restart.restartedAt;
  if (restart.requeueAt !== undefined) w.requeue.push(restart.requeueAt);
  const requeueAt = w.requeue.length > 0 ? instant(Math.min(...w.requeue)) : undefined;
  return { status, effects: [...effects, ...events], ...(requeueAt !== undefined ? { requeueAt } : {}) };
}

// ---------------------------------------------------------------------------
// Inputs

function applyInputs(c: Ctx, w: Work): void {
  const prev = c.prev;
  if (prev.currentPodHash !== c.hash) {
    const target = w.stableHash === undefined ? 'initial' : w.stableHash === c.hash ? 'stable' : 'update';
    send(w, { type: 'REVISION', target, announce: prev.currentPodHash !== undefined });
    w.pauseConditions = [];
    w.controllerPause = false;
    w.abort = false;
    w.abortedAt = undefined;
    w.promoteFull = false;
    w.approved = false;
    w.pre = undefined;
    w.post = undefined;
    w.progressed = true;
    w.gitCurrent = c.rollout.metadata.annotations?.[GIT_REVISION_ANNOTATION];
  }

  const s = state(w);
  if (w.abort && s !== 'aborted') {
    if (s === 'preview' || s === 'pausedPromotion' || s === 'pausedUser' || s === 'promoting' || s === 'postPromotion' || s === 'degraded') {
      send(w, { type: 'ABORT' });
      markAborted(c, w, undefined);
    } else {
      w.abort = false; // nothing in progress to abort
    }
  } else if (!w.abort && s === 'aborted') {
    send(w, { type: 'RETRY' });
    w.abortedAt = undefined;
    w.pauseConditions = [];
    w.controllerPause = false;
    w.approved = false;
    w.pre = undefined;
    w.post = undefined;
    w.progressed = true;
  }

  const specPaused = c.rollout.spec.paused === true;
  const t = state(w);
  if (specPaused && t !== 'pausedUser' && t !== 'aborted' && t !== 'degraded' && t !== 'pending') send(w, { type: 'USER_PAUSE' });
  else if (!specPaused && t === 'pausedUser') send(w, { type: 'USER_RESUME' });

  if (w.promoteFull) {
    const u = state(w);
    if (u === 'healthy' || u === 'completing') w.promoteFull = false;
    else if (u === 'preview' || u === 'pausedPromotion' || u === 'postPromotion' || u === 'aborted' || u === 'degraded' || u === 'promoting') {
      // Promoting already, or switched: the full promotion skips what is left (post-promotion analysis) in decide().
      if (u !== 'promoting' && u !== 'postPromotion') send(w, { type: 'PROMOTE_FULL' });
      w.pauseConditions = [];
      w.controllerPause = false;
      w.abort = false;
      w.abortedAt = undefined;
      w.approved = true;
    }
  }
}

function markAborted(c: Ctx, w: Work, message: string | undefined): void {
  w.abort = true;
  w.abortedAt ??= c.now;
  w.abortMessage = message;
  w.pauseConditions = [];
  w.controllerPause = false;
  w.approved = false;
}

// ---------------------------------------------------------------------------
// Decisions

function switched(c: Ctx): boolean {
  return c.observed.services[c.bg.activeService]?.selector[POD_TEMPLATE_HASH_LABEL] === c.hash;
}

function previewReady(c: Ctx): boolean {
  const rs = c.newRS;
  if (rs === undefined || rs.replicas < c.previewReplicas || rs.availableReplicas < c.previewReplicas) return false;
  const preview = c.bg.previewService;
  return preview === undefined || c.observed.services[preview]?.selector[POD_TEMPLATE_HASH_LABEL] === c.hash;
}

function fullyAvailable(c: Ctx): boolean {
  const rs = c.newRS;
  return rs?.replicas === c.replicas && rs.availableReplicas >= c.replicas;
}

function blockers(c: Ctx): string[] {
  const out: string[] = [];
  for (const svc of [c.bg.activeService, c.bg.previewService]) {
    if (svc !== undefined && c.observed.services[svc] === undefined) out.push(`Service "${svc}" not found`);
  }
  return out;
}

function decide(c: Ctx, w: Work): void {
  if (blockers(c).length > 0) return;
  for (let i = 0; i < 4; i++) {
    const before = state(w);
    decideOnce(c, w);
    if (state(w) === before) return;
  }
}

function decideOnce(c: Ctx, w: Work): void {
  const s = state(w);
  switch (s) {
    case 'completing':
      if (fullyAvailable(c)) {
        w.stableHash = c.hash;
        send(w, { type: 'PROMOTED', reason: 'Initial deploy' });
      }
      return;
    case 'preview':
    case 'pausedPromotion':
      if (switched(c) && w.stableHash !== c.hash && s === 'pausedPromotion') decidePostPromotion(c, w, s);
      else decidePromotion(c, w, s);
      return;
    case 'promoting':
      if (fullyAvailable(c) && switched(c)) {
        send(w, { type: 'SWITCHED' });
        w.progressed = true;
      }
      return;
    case 'postPromotion':
      decidePostPromotion(c, w, s);
      return;
    case 'degraded':
      if (w.progressed) send(w, { type: 'PROGRESSED' });
      return;
    default:
      return;
  }
}

/** Preview ready → pre-promotion analysis and the promotion gate (a person, or autoPromotionSeconds). */
function decidePromotion(c: Ctx, w: Work, s: BlueGreenState): void {
  if (!previewReady(c)) return;
  const analysis = c.bg.prePromotionAnalysis;
  let analysed = true;
  if (analysis?.templates !== undefined && analysis.templates.length > 0 && !w.promoteFull) {
    const record = w.pre !== undefined && isAttemptOf(w.pre.name, base(c, 'PrePromotion')) ? w.pre : undefined;
    const outcome = runOutcome(record);
    if (outcome === 'failed' && record !== undefined) {
      send(w, { type: 'ANALYSIS_FAILED', message: describeOutcome('pre-promotion', record) });
      markAborted(c, w, describeOutcome('pre-promotion', record));
      return;
    }
    if (outcome === 'inconclusive' && record !== undefined) {
      const resolved = s === 'pausedPromotion' && w.controllerPause && !w.pauseConditions.some((p) => p.reason === INCONCLUSIVE_PAUSE);
      if (!resolved) {
        if (!w.pauseConditions.some((p) => p.reason === INCONCLUSIVE_PAUSE)) {
          w.pauseConditions = [...w.pauseConditions, { reason: INCONCLUSIVE_PAUSE, startTime: c.now }];
          w.controllerPause = true;
          if (s === 'preview') send(w, { type: 'ANALYSIS_INCONCLUSIVE', message: describeOutcome('pre-promotion', record) });
        }
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
  if (w.promoteFull) approvedBy = 'promote --full';
  else if (!manual && autoSeconds <= 0) approvedBy = 'the preview is available (autoPromotionEnabled)';
  else {
    const cond = w.pauseConditions.find((p) => p.reason === BLUE_GREEN_PAUSE);
    if (cond === undefined && s === 'pausedPromotion' && w.controllerPause) approvedBy = 'promoted by the user';
    else if (cond === undefined && s === 'preview') {
      w.pauseConditions = [...w.pauseConditions, { reason: BLUE_GREEN_PAUSE, startTime: c.now }];
      w.controllerPause = true;
      send(w, { type: 'PREVIEW_PAUSE', reason: BLUE_GREEN_PAUSE });
      if (autoSeconds > 0) w.requeue.push(c.nowMs + autoSeconds * 1000);
      return;
    } else if (cond !== undefined && autoSeconds > 0) {
      const due = (parseTime(cond.startTime) ?? c.nowMs) + autoSeconds * 1000;
      if (c.nowMs >= due) approvedBy = `autoPromotionSeconds (${autoSeconds}s) passed`;
      else w.requeue.push(due);
    }
  }
  if (approvedBy === undefined || !analysed) return;
  w.pauseConditions = [];
  w.controllerPause = false;
  w.approved = true;
  send(w, { type: 'APPROVED', reason: approvedBy });
  w.progressed = true;
}

/** The active Service selects the new ReplicaSet: post-promotion analysis decides whether it becomes stable. */
function decidePostPromotion(c: Ctx, w: Work, s: BlueGreenState): void {
  const analysis = c.bg.postPromotionAnalysis;
  const done = (reason: string): void => {
    w.promotedFrom = w.stableHash;
    w.stableHash = c.hash;
    w.pauseConditions = [];
    w.controllerPause = false;
    w.approved = false;
    send(w, { type: 'PROMOTED', reason });
    w.progressed = true;
  };
  if (w.promoteFull || analysis?.templates === undefined || analysis.templates.length === 0) {
    done(w.promoteFull ? 'promoted fully' : 'active Service switched');
    w.promoteFull = false;
    return;
  }
  const record = w.post !== undefined && isAttemptOf(w.post.name, base(c, 'PostPromotion')) ? w.post : undefined;
  switch (runOutcome(record)) {
    case 'successful':
      done('post-promotion analysis passed');
      return;
    case 'failed':
      if (record === undefined) return;
      send(w, { type: 'ANALYSIS_FAILED', message: describeOutcome('post-promotion', record) });
      markAborted(c, w, describeOutcome('post-promotion', record));
      return;
    case 'inconclusive': {
      if (record === undefined) return;
      const pending = w.pauseConditions.some((p) => p.reason === INCONCLUSIVE_PAUSE);
      if (s === 'pausedPromotion' && w.controllerPause && !pending) done('promoted by the user after an inconclusive post-promotion analysis');
      else if (!pending) {
        w.pauseConditions = [...w.pauseConditions, { reason: INCONCLUSIVE_PAUSE, startTime: c.now }];
        w.controllerPause = true;
        if (s === 'postPromotion') send(w, { type: 'ANALYSIS_INCONCLUSIVE', message: describeOutcome('post-promotion', record) });
      }
      return;
    }
    default:
      return;
  }
}

// ---------------------------------------------------------------------------
// Analysis runs

function base(c: Ctx, type: 'PrePromotion' | 'PostPromotion'): string {
  return runBaseName(c.name, c.hash, c.revision, type);
}

/** Whether the state is one where the pre-promotion run is wanted (the preview is ready, no switch yet). */
function wantsPre(c: Ctx, w: Work): boolean {
  const s = state(w);
  const analysis = c.bg.prePromotionAnalysis;
  if (analysis?.templates === undefined || analysis.templates.length === 0 || w.promoteFull) return false;
  if (s !== 'preview' && s !== 'pausedPromotion' && s !== 'pausedUser') return false;
  return !switched(c) && previewReady(c);
}

function wantsPost(c: Ctx, w: Work): boolean {
  const s = state(w);
  const analysis = c.bg.postPromotionAnalysis;
  if (analysis?.templates === undefined || analysis.templates.length === 0 || w.promoteFull) return false;
  if (s !== 'postPromotion' && s !== 'pausedPromotion' && s !== 'pausedUser') return false;
  return switched(c) || s === 'postPromotion';
}

function ensureRuns(c: Ctx, w: Work): void {
  const runs = c.observed.analysisRuns ?? [];
  const common = { rollout: c.rollout, hash: c.hash, stableHash: w.stableHash, revision: c.revision, runs, templates: c.observed.analysisTemplates };
  const pre = c.bg.prePromotionAnalysis;
  if (pre !== undefined && wantsPre(c, w)) {
    const r = ensureAnalysisRun({ ...common, analysis: pre, type: 'PrePromotion', kind: 'pre-promotion', base: base(c, 'PrePromotion'), record: w.pre, mayCreate: state(w) !== 'pausedUser' });
    w.pre = r.record;
    w.analysisEffects.push(...r.effects);
    if (r.problem !== undefined) w.analysisProblem = r.problem;
  }
  const post = c.bg.postPromotionAnalysis;
  if (post !== undefined && wantsPost(c, w)) {
    const r = ensureAnalysisRun({ ...common, analysis: post, type: 'PostPromotion', kind: 'post-promotion', base: base(c, 'PostPromotion'), record: w.post, mayCreate: state(w) === 'postPromotion' });
    w.post = r.record;
    w.analysisEffects.push(...r.effects);
    if (r.problem !== undefined) w.analysisProblem = r.problem;
  }
}

function analysisRunEffects(c: Ctx, w: Work): Effect[] {
  const runs = c.observed.analysisRuns ?? [];
  const current = new Set<string>();
  if (w.pre !== undefined && wantsPre(c, w)) current.add(w.pre.name);
  if (w.post !== undefined && wantsPost(c, w)) current.add(w.post.name);
  return [...w.analysisEffects.filter((e) => e.type !== 'event'), ...terminateStale(runs, current), ...historyDeletes(c.rollout, runs, current)];
}

// ---------------------------------------------------------------------------
// Desired state and effects

interface Desired {
  newReplicas: number | undefined;
  stableReplicas: number | undefined;
  active: string | undefined;
  preview: string | undefined;
}

function desired(c: Ctx, w: Work): Desired {
  const s = state(w);
  const mode = s === 'pausedUser' || s === 'degraded' ? w.run.snapshot.context.resumeTo : s;
  const stableRS = w.stableHash !== undefined && w.stableHash !== c.hash ? findRS(c.replicaSets, w.stableHash) : undefined;
  const stableUp = (stableRS?.availableReplicas ?? 0) > 0;
  const out: Desired = { newReplicas: undefined, stableReplicas: stableRS !== undefined ? c.replicas : undefined, active: undefined, preview: undefined };
  switch (mode) {
    case 'pending':
      return out;
    case 'completing':
      out.newReplicas = c.replicas;
      if (fullyAvailable(c)) out.active = out.preview = c.hash;
      return out;
    case 'healthy':
      out.newReplicas = c.replicas;
      if ((c.newRS?.availableReplicas ?? 0) > 0) out.active = out.preview = c.hash;
      return out;
    case 'preview':
    case 'pausedPromotion': {
      const postPaused = mode === 'pausedPromotion' && switched(c);
      out.newReplicas = postPaused || w.approved ? c.replicas : c.previewReplicas;
      out.active = postPaused ? c.hash : stableUp ? w.stableHash : undefined;
      if (c.newRS !== undefined) out.preview = c.hash;
      return out;
    }
    case 'promoting':
      out.newReplicas = c.replicas;
      out.active = fullyAvailable(c) ? c.hash : stableUp ? w.stableHash : undefined;
      if (c.newRS !== undefined) out.preview = c.hash;
      return out;
    case 'postPromotion':
      out.newReplicas = c.replicas;
      out.active = c.hash;
      out.preview = c.hash;
      return out;
    case 'aborted':
      out.newReplicas = abortedNewReplicas(c, w);
      if (stableUp) out.active = out.preview = w.stableHash;
      return out;
  }
}

/** Aborted: the new ReplicaSet keeps its pods for abortScaleDownDelaySeconds (0: for good), then goes to 0. */
function abortedNewReplicas(c: Ctx, w: Work): number | undefined {
  const rs = c.newRS;
  if (rs === undefined || rs.replicas === 0) return undefined;
  const delay = c.bg.abortScaleDownDelaySeconds ?? DEFAULT_BLUE_GREEN_ABORT_SCALE_DOWN_DELAY_SECONDS;
  if (delay <= 0) return undefined;
  const deadline = parseTime(rs.scaleDownDeadline);
  if (deadline === undefined) {
    w.requeue.push(Math.floor(c.nowMs / 1000) * 1000 + delay * 1000);
    return undefined;
  }
  if (c.nowMs >= deadline) return 0;
  w.requeue.push(deadline);
  return undefined;
}

/** The hashes the Services select once this plan is applied: the desired one, else what they select now. */
function selectedHashes(c: Ctx, d: Desired): { active: string | undefined; preview: string | undefined } {
  const current = (svc: string | undefined): string | undefined => (svc === undefined ? undefined : c.observed.services[svc]?.selector[POD_TEMPLATE_HASH_LABEL]);
  return { active: d.active ?? current(c.bg.activeService), preview: c.bg.previewService === undefined ? undefined : (d.preview ?? current(c.bg.previewService)) };
}

function effectsFor(c: Ctx, w: Work, d: Desired): Effect[] {
  const effects: Effect[] = [];
  const s = state(w);
  const halted = s === 'pausedUser' || c.rollout.spec.paused === true;
  const newRS = c.newRS;
  const isUpdate = w.stableHash !== undefined && w.stableHash !== c.hash;

  if (!halted && d.newReplicas !== undefined && newRS === undefined) {
    effects.push(createReplicaSetEffect(c.rollout, c.hash, d.newReplicas, c.revision, isUpdate ? c.bg.previewMetadata : c.bg.activeMetadata));
  } else if (!halted && newRS !== undefined) {
    const annotations: Record<string, string | null> = {};
    if (newRS.revision !== c.revision) annotations[REVISION_ANNOTATION] = String(c.revision);
    if (s === 'aborted') {
      const delay = c.bg.abortScaleDownDelaySeconds ?? DEFAULT_BLUE_GREEN_ABORT_SCALE_DOWN_DELAY_SECONDS;
      if (newRS.scaleDownDeadline === undefined && newRS.replicas > 0 && delay > 0) annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = rfc3339(Math.floor(c.nowMs / 1000) * 1000 + delay * 1000);
    } else if (newRS.scaleDownDeadline !== undefined) {
      annotations[SCALE_DOWN_DEADLINE_ANNOTATION] = null;
    }
    pushScale(effects, newRS, d.newReplicas ?? newRS.replicas, annotations);
  }

  const stableRS = isUpdate ? findRS(c.replicaSets, w.stableHash) : undefined;
  if (!halted && stableRS !== undefined) {
    pushScale(effects, stableRS, d.stableReplicas ?? stableRS.replicas, stableRS.scaleDownDeadline !== undefined ? { [SCALE_DOWN_DEADLINE_ANNOTATION]: null } : {});
  }

  // The switch: one selector write on the active Service (and the preview's).
  for (const [svc, target] of [[c.bg.activeService, d.active], [c.bg.previewService, d.preview]] as const) {
    if (svc === undefined || target === undefined) continue;
    const observed = c.observed.services[svc];
    if (observed !== undefined && observed.selector[POD_TEMPLATE_HASH_LABEL] !== target) effects.push({ type: 'setServiceSelector', service: svc, podTemplateHash: target });
  }

  if (!halted) effects.push(...scaleDownOld(c, w, d));
  const others = c.replicaSets.filter((rs) => rs.podTemplateHash !== c.hash && rs.podTemplateHash !== w.stableHash);
  effects.push(...historyLimitDeletes(c.rollout, others));
  return effects;
}

/**
 * ReplicaSets that are neither desired nor stable: the previous stable keeps
 * its pods for scaleDownDelaySeconds after promotion (a deadline annotation,
 * at most scaleDownDelayRevisionLimit of them), then goes to 0; any other
 * goes to 0 at once unless a Service still selects it.
 */
function scaleDownOld(c: Ctx, w: Work, d: Desired): Effect[] {
  const effects: Effect[] = [];
  const delay = c.bg.scaleDownDelaySeconds ?? DEFAULT_BLUE_GREEN_SCALE_DOWN_DELAY_SECONDS;
  const limit = c.bg.scaleDownDelayRevisionLimit;
  const selected = new Set<string>();
  for (const [svc, target] of [[c.bg.activeService, d.active], [c.bg.previewService, d.preview]] as const) {
    if (svc === undefined) continue;
    const hash = target ?? c.observed.services[svc]?.selector[POD_TEMPLATE_HASH_LABEL];
    if (hash !== undefined) selected.add(hash);
  }
  let delayed = 0;
  const old = c.replicaSets.filter((rs) => rs.podTemplateHash !== c.hash && rs.podTemplateHash !== w.stableHash && !rs.deleting).sort(byRevisionDesc);
  for (const rs of old) {
    if (rs.replicas === 0) {
      if (rs.scaleDownDeadline !== undefined) pushScale(effects, rs, 0, { [SCALE_DOWN_DEADLINE_ANNOTATION]: null });
      continue;
    }
    const deadline = parseTime(rs.scaleDownDeadline);
    const justPromotedFrom = rs.podTemplateHash === w.promotedFrom;
    if (selected.has(rs.podTemplateHash) && deadline === undefined && !justPromotedFrom) continue;
    if ((justPromotedFrom || deadline !== undefined) && delay > 0 && (limit === undefined || delayed < limit)) {
      delayed++;
      if (deadline === undefined) {
        const at = Math.floor(c.nowMs / 1000) * 1000 + delay * 1000;
        pushScale(effects, rs, rs.replicas, { [SCALE_DOWN_DEADLINE_ANNOTATION]: rfc3339(at) });
        w.requeue.push(at);
        continue;
      }
      if (c.nowMs < deadline) {
        w.requeue.push(deadline);
        continue;
      }
    }
    pushScale(effects, rs, 0, rs.scaleDownDeadline !== undefined ? { [SCALE_DOWN_DEADLINE_ANNOTATION]: null } : {});
  }
  return effects;
}

// ---------------------------------------------------------------------------
// Status

function progressDeadlineMs(c: Ctx): number {
  return (c.rollout.spec.progressDeadlineSeconds ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) * 1000;
}

function progressing(c: Ctx, w: Work): Condition[] {
  let conditions = [...(c.prev.conditions ?? [])];
  const prevCond = findCondition(conditions, PROGRESSING);
  const rsName = c.newRS?.name ?? `${c.name}-${c.hash}`;
  const set = (status: Condition['status'], reason: string, message: string, touch = false): void => {
    conditions = setCondition(conditions, { type: PROGRESSING, status, reason, message }, c.now, touch);
  };
  const counts = observedCounts(c.replicaSets, c.newRS);
  const moved =
    w.progressed ||
    counts.updatedReplicas !== (c.prev.updatedReplicas ?? 0) ||
    counts.availableReplicas > (c.prev.availableReplicas ?? 0) ||
    counts.readyReplicas > (c.prev.readyReplicas ?? 0);
  let s = state(w);
  if (s === 'degraded' && moved) {
    send(w, { type: 'PROGRESSED' });
    s = state(w);
  }
  // The deadline applies while replicas come up (not while waiting for a person or for analysis).
  const waitingForReplicas = (s === 'completing' && !fullyAvailable(c)) || (s === 'preview' && !previewReady(c)) || (s === 'promoting' && !fullyAvailable(c));
  if (waitingForReplicas && !moved) {
    const last = parseTime(prevCond?.lastUpdateTime);
    if (last !== undefined) {
      const deadline = last + progressDeadlineMs(c);
      if (c.nowMs >= deadline) {
        const message = `ReplicaSet "${rsName}" has timed out progressing.`;
        const abort = c.rollout.spec.progressDeadlineAbort === true && w.stableHash !== undefined && s !== 'completing';
        send(w, { type: 'DEADLINE_EXCEEDED', abort, message });
        if (state(w) === 'aborted') markAborted(c, w, message);
      } else {
        w.requeue.push(deadline);
      }
    }
  }
  switch (state(w)) {
    case 'aborted':
      if (prevCond?.reason !== Reason.RolloutAborted || prevCond.status !== 'False') {
        const text = `Rollout aborted update to revision ${c.revision}`;
        set('False', Reason.RolloutAborted, w.abortMessage === undefined ? text : `${text}: ${w.abortMessage}`);
      }
      return conditions;
    case 'degraded':
      if (prevCond?.reason !== Reason.ProgressDeadlineExceeded || prevCond.status !== 'False') set('False', Reason.ProgressDeadlineExceeded, `ReplicaSet "${rsName}" has timed out progressing.`);
      return conditions;
    case 'pausedUser':
    case 'pausedPromotion':
      set('Unknown', Reason.RolloutPaused, 'Rollout is paused');
      return conditions;
    default:
      break;
  }
  if (state(w) === 'healthy' && complete(c, w)) set('True', Reason.NewReplicaSetAvailable, `ReplicaSet "${rsName}" has successfully progressed.`);
  else if (c.newRS === undefined) set('True', Reason.NewReplicaSetCreated, `Created new replica set "${rsName}"`, true);
  else if (prevCond?.reason === Reason.RolloutPaused) set('Unknown', Reason.RolloutResumed, 'Rollout is resumed', true);
  else if (prevCond?.reason === Reason.RolloutAborted) set('Unknown', Reason.RolloutRetry, 'Retrying Rollout after abort', true);
  else if (moved || prevCond === undefined || prevCond.status === 'False' || prevCond.reason === Reason.NewReplicaSetAvailable) set('True', Reason.ReplicaSetUpdated, `ReplicaSet "${rsName}" is progressing.`, true);
  return conditions;
}

function complete(c: Ctx, w: Work): boolean {
  return w.stableHash === c.hash && fullyAvailable(c) && switched(c);
}

function phaseOf(c: Ctx, w: Work, conditions: Condition[]): { phase: NonNullable<RolloutStatus['phase']>; message: string } {
  const s = state(w);
  const cond = findCondition(conditions, PROGRESSING);
  switch (s) {
    case 'aborted':
    case 'degraded':
      return { phase: 'Degraded', message: `${cond?.reason ?? ''}: ${cond?.message ?? ''}` };
    case 'pausedUser':
      return { phase: 'Paused', message: MANUALLY_PAUSED_MESSAGE };
    case 'pausedPromotion': {
      const reason = w.pauseConditions[0]?.reason ?? BLUE_GREEN_PAUSE;
      const inconclusive = [w.pre, w.post].find((r) => r?.status === 'Inconclusive');
      if (reason === INCONCLUSIVE_PAUSE && inconclusive !== undefined) {
        return { phase: 'Paused', message: `${reason}: analysis run "${inconclusive.name}" is inconclusive${inconclusive.message !== undefined ? ` (${inconclusive.message})` : ''}; promote to continue or abort` };
      }
      return { phase: 'Paused', message: reason };
    }
    default:
      break;
  }
  if (s === 'healthy' && complete(c, w)) return { phase: 'Healthy', message: '' };
  if (w.analysisProblem !== undefined) return { phase: 'Degraded', message: w.analysisProblem };
  const blocked = blockers(c)[0];
  if (blocked !== undefined) return { phase: 'Progressing', message: blocked };
  if (s === 'preview' && !previewReady(c)) return { phase: 'Progressing', message: 'waiting for the preview ReplicaSet to be available' };
  if (s === 'preview' && w.pre !== undefined) return { phase: 'Progressing', message: `waiting for pre-promotion analysis run "${w.pre.name}" (${w.pre.status})` };
  if (s === 'promoting') return { phase: 'Progressing', message: fullyAvailable(c) ? 'switching the active Service' : 'scaling the new ReplicaSet to full size before the switch' };
  if (s === 'postPromotion') return { phase: 'Progressing', message: w.post === undefined ? 'active Service switched' : `waiting for post-promotion analysis run "${w.post.name}" (${w.post.status})` };
  return { phase: 'Progressing', message: 'updated replicas are still becoming available' };
}

function buildStatus(c: Ctx, w: Work, progressingConditions: Condition[], selected: { active: string | undefined; preview: string | undefined }): RolloutStatus {
  const s = state(w);
  const counts = observedCounts(c.replicaSets, c.newRS);
  const done = s === 'healthy' && complete(c, w);
  const { phase, message } = phaseOf(c, w, progressingConditions);
  const status = commonStatus({
    rollout: c.rollout,
    prev: c.prev,
    now: c.now,
    hash: c.hash,
    replicas: c.replicas,
    phase,
    message,
    conditions: progressingConditions,
    counts,
    availableGate: switched(c) || w.stableHash !== undefined,
    paused: s === 'pausedUser' || s === 'pausedPromotion',
    aborted: s === 'aborted',
    abortedAt: w.abortedAt,
    stableHash: w.stableHash,
    pauseConditions: w.pauseConditions,
    controllerPause: w.controllerPause,
    promoteFull: w.promoteFull,
    complete: done,
    gitCurrent: w.gitCurrent,
    drop: ['currentStepIndex', 'currentStepHash', 'canary'],
  });

  const { active, preview } = selected;
  const blueGreen: NonNullable<RolloutStatus['blueGreen']> = {};
  if (active !== undefined) blueGreen.activeSelector = active;
  if (preview !== undefined) blueGreen.previewSelector = preview;
  if (w.approved && (s === 'promoting' || s === 'pausedUser')) blueGreen.scaleUpPreviewCheckPoint = true;
  if (w.pre !== undefined) blueGreen.prePromotionAnalysisRunStatus = { ...w.pre };
  if (w.post !== undefined) blueGreen.postPromotionAnalysisRunStatus = { ...w.post };
  status.blueGreen = blueGreen;
  return status;
}

function scaleEvents(c: Ctx, effects: Effect[]): Effect[] {
  const events = replicaSetEvents(c.replicaSets, effects);
  for (const e of effects) {
    if (e.type === 'setServiceSelector') {
      events.push({ type: 'event', eventType: 'Normal', reason: 'SwitchService', message: `Switched selector for service '${e.service}' to value '${e.podTemplateHash}'` });
    }
  }
  return events;
}
