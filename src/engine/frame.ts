// The reconcile frame both strategies share, written once: what a reconcile
// starts from (the Rollout, what is observed, now, the desired template's
// hash, ReplicaSet and revision), the status fields it evolves (stable hash,
// pause and abort bookkeeping, Git revision, requeue times, AnalysisRuns to
// create), the lifecycle machine it drives, and the tail every plan ends with
// (Events, the restart, the requeue time).
//
// The machine is the one source of truth for where the rollout is: the abort
// bookkeeping follows its transitions in Reconcile.send (entering `aborted`
// records the abort, leaving it clears it), never re-derived by the callers.
// A strategy (canary.ts, bluegreen.ts) supplies its machine, decisions,
// desired state, effects and status section.
import type { CanaryStrategy, PauseCondition, Rollout, RolloutStatus } from '../api/rollout.ts';
import { ensureAnalysisRun, historyDeletes, outcomeEvents, terminateStale, type AnalysisRunRecord, type EnsureRunInput } from './analysis.ts';
import { podTemplateHash } from './hash.ts';
import type { EmittedEvent } from './machine.ts';
import { desiredRevision, findRS, observedCounts, withEphemeralMetadata } from './replicasets.ts';
import { planRestart } from './restart.ts';
import { instant, rfc3339 } from './time.ts';
import type { Effect, Observed, ObservedReplicaSet, Plan } from './types.ts';

type PodMetadata = CanaryStrategy['canaryMetadata'];

/** The states both lifecycle machines have, under the same names. */
export type SharedState = 'pending' | 'healthy' | 'completing' | 'pausedUser' | 'aborted' | 'degraded';

/** What one reconcile starts from, whichever the strategy. */
export interface Frame {
  rollout: Rollout;
  observed: Observed;
  nowMs: number;
  /** now, as status times are written. */
  now: string;
  name: string;
  replicas: number;
  /** Pod-template hash of the desired template. */
  hash: string;
  prev: RolloutStatus;
  /** The ReplicaSet of the desired template. */
  newRS: ObservedReplicaSet | undefined;
  /** Revision the desired ReplicaSet has or will have. */
  revision: number;
  replicaSets: ObservedReplicaSet[];
  /** Pods of all the Rollout's ReplicaSets, and of the desired one. */
  counts: ReturnType<typeof observedCounts>;
}

export function openFrame(rollout: Rollout, observed: Observed, now: Date, replicas: number): Frame {
  const prev = rollout.status ?? {};
  const nowMs = now.getTime();
  const hash = podTemplateHash(rollout.spec.template ?? {}, prev.collisionCount);
  const replicaSets = [...observed.replicaSets];
  const newRS = findRS(replicaSets, hash);
  const { revision } = desiredRevision(replicaSets, newRS);
  return {
    rollout,
    observed,
    nowMs,
    now: rfc3339(nowMs),
    name: rollout.metadata.name ?? 'rollout',
    replicas,
    hash,
    prev,
    newRS,
    revision,
    replicaSets,
    counts: observedCounts(replicaSets, newRS),
  };
}

/** A lifecycle machine, as the frame drives it: a run is a snapshot plus the Events recorded so far. */
export interface Machine<R extends { events: EmittedEvent[] }, S extends string, E extends { type: string }> {
  send: (run: R, event: E) => R;
  state: (run: R) => S;
  /** Whether an event, taken from a state, counts as progress (it touches the Progressing condition's lastUpdateTime). */
  progress: (event: E, from: S) => boolean;
}

/** One reconcile in progress: the machine run and the status fields it evolves. */
export class Reconcile<R extends { events: EmittedEvent[] }, S extends string, E extends { type: string }> {
  run: R;
  stableHash: string | undefined;
  pauseConditions: PauseCondition[];
  controllerPause: boolean;
  /** status.abort: the user's request, then the abort in force. */
  abort: boolean;
  abortedAt: string | undefined;
  /** Why the engine aborted (an analysis verdict, the progress deadline); undefined for the user's abort. */
  abortMessage: string | undefined = undefined;
  promoteFull: boolean;
  gitCurrent: string | undefined;
  /** A transition that counts as progress was taken in this reconcile. */
  progressed = false;
  requeue: number[] = [];
  /** Why a needed AnalysisRun cannot be created (missing template or argument): nothing progresses. */
  analysisProblem: string | undefined = undefined;
  /** AnalysisRuns to create, with their Events. */
  analysisEffects: Effect[] = [];

  readonly frame: Frame;
  readonly #machine: Machine<R, S, E>;

  constructor(frame: Frame, machine: Machine<R, S, E>, run: R) {
    const prev = frame.prev;
    this.frame = frame;
    this.#machine = machine;
    this.run = run;
    this.stableHash = prev.stableRS;
    this.pauseConditions = [...(prev.pauseConditions ?? [])];
    this.controllerPause = prev.controllerPause === true;
    this.abort = prev.abort === true;
    this.abortedAt = prev.abortedAt;
    this.promoteFull = prev.promoteFull === true;
    this.gitCurrent = prev.git?.currentRevision;
  }

  get state(): S {
    return this.#machine.state(this.run);
  }

  /** Feed the machine one event; the abort bookkeeping follows the transition taken. */
  send(event: E): void {
    const from = this.state;
    const before: string = from;
    this.run = this.#machine.send(this.run, event);
    const after: string = this.state;
    if (this.#machine.progress(event, from)) this.progressed = true;
    if (after === 'aborted' && before !== 'aborted') {
      this.abort = true;
      this.abortedAt ??= this.frame.now;
      this.abortMessage = 'message' in event && typeof event.message === 'string' ? event.message : undefined;
      this.clearPause();
    } else if (before === 'aborted' && after !== 'aborted') {
      this.abort = false;
      this.abortedAt = undefined;
      this.clearPause();
    }
  }

  clearPause(): void {
    this.pauseConditions = [];
    this.controllerPause = false;
  }

  /** Add a pause condition (once per reason); the controller holds the pause. */
  pauseFor(reason: string): void {
    if (!this.pauseConditions.some((p) => p.reason === reason)) this.pauseConditions = [...this.pauseConditions, { reason, startTime: this.frame.now }];
    this.controllerPause = true;
  }

  hasPause(reason: string): boolean {
    return this.pauseConditions.some((p) => p.reason === reason);
  }

  /** Whether spec.paused holds every change of scale (Argo's haltProgress). */
  get halted(): boolean {
    return this.frame.rollout.spec.paused === true || this.state === 'pausedUser';
  }

  /** The stable ReplicaSet, when it is not the desired one. */
  get stableRS(): ObservedReplicaSet | undefined {
    if (this.stableHash === undefined || this.stableHash === this.frame.hash) return undefined;
    return findRS(this.frame.replicaSets, this.stableHash);
  }

  /** ReplicaSets that are neither desired nor stable. */
  get others(): ObservedReplicaSet[] {
    const { hash, replicaSets } = this.frame;
    return replicaSets.filter((rs) => rs.podTemplateHash !== hash && (this.stableHash === undefined || rs.podTemplateHash !== this.stableHash));
  }

  /** Create or adopt the AnalysisRun a strategy needs; its effects and problem are recorded here. */
  ensureRun(input: Omit<EnsureRunInput, 'rollout' | 'hash' | 'stableHash' | 'revision' | 'runs' | 'templates'>): AnalysisRunRecord | undefined {
    const f = this.frame;
    const result = ensureAnalysisRun({
      ...input,
      rollout: f.rollout,
      hash: f.hash,
      stableHash: this.stableHash,
      revision: f.revision,
      runs: f.observed.analysisRuns ?? [],
      templates: f.observed.analysisTemplates,
    });
    this.analysisEffects.push(...result.effects);
    if (result.problem !== undefined) this.analysisProblem = result.problem;
    return result.record;
  }

  /** Runs to create, to stop (no longer current) and to delete (history limits). */
  analysisRunEffects(current: ReadonlySet<string>): Effect[] {
    const runs = this.frame.observed.analysisRuns ?? [];
    return [...this.analysisEffects.filter((e) => e.type !== 'event'), ...terminateStale(runs, current), ...historyDeletes(this.frame.rollout, runs, current)];
  }
}

/** A strategy's analysis runs as Events report them: [kind, record in the previous status, record now]. */
export type RunOutcome = [kind: string, before: AnalysisRunRecord | undefined, now: AnalysisRunRecord | undefined];

/**
 * The end of every plan: the effects with the AnalysisRuns' and each role's
 * pod metadata, the machine's Events, the analysis Events (runs created and
 * finished, a run that cannot be created), the strategy's operational
 * Events, then the restart (spec.restartAt) and the requeue time.
 */
export function finish<R extends { events: EmittedEvent[] }, S extends string, E extends { type: string }>(
  r: Reconcile<R, S, E>,
  out: {
    /** The effects towards the desired state. */
    effects: readonly Effect[];
    /** The AnalysisRuns still current (the others are stopped). */
    currentRuns: ReadonlySet<string>;
    /** Each role's pod metadata by pod-template hash, and all the roles' (ephemeral metadata). */
    roles: ReadonlyMap<string, PodMetadata>;
    metadata: readonly PodMetadata[];
    status: RolloutStatus;
    outcomes: readonly RunOutcome[];
    /** The strategy's Events for what the effects do. */
    events: (effects: readonly Effect[], status: RolloutStatus) => Effect[];
    maxUnavailable: number;
  },
): Plan {
  const f = r.frame;
  const { status } = out;
  const effects = withEphemeralMetadata([...out.effects, ...r.analysisRunEffects(out.currentRuns)], f.replicaSets, f.observed.pods, out.roles, out.metadata);
  const events: Effect[] = [...r.run.events.map((e): Effect => ({ type: 'event', ...e })), ...r.analysisEffects.filter((e) => e.type === 'event')];
  for (const [kind, before, now] of out.outcomes) events.push(...outcomeEvents(kind, before, now));
  if (r.analysisProblem !== undefined && status.message !== f.prev.message) {
    events.push({ type: 'event', eventType: 'Warning', reason: 'AnalysisRunNotCreated', message: r.analysisProblem });
  }
  events.push(...out.events(effects, status));
  const restart = planRestart(f.rollout, status, f.replicaSets, f.observed.pods, out.maxUnavailable, f.nowMs);
  effects.push(...restart.effects);
  if (restart.restartedAt !== undefined) status.restartedAt = restart.restartedAt;
  if (restart.requeueAt !== undefined) r.requeue.push(restart.requeueAt);
  const requeueAt = r.requeue.length > 0 ? instant(Math.min(...r.requeue)) : undefined;
  return { status, effects: [...effects, ...events], ...(requeueAt !== undefined ? { requeueAt } : {}) };
}
