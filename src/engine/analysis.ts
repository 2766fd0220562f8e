// Analysis runs of a Rollout, pure: which AnalysisRun a step, the background
// analysis or a blue/green promotion needs, built from the templates the
// controller observed (Argo Rollouts' names, labels and argument rules); the
// run records kept in status; the runs to stop and to delete.
//
// A run record ({ name, status, message }, Argo's RolloutAnalysisRunStatus)
// in status names the run of the current attempt. Records are cleared when the
// template changes and when an aborted update is retried, so a new attempt
// creates new runs and never inherits an old verdict. A run is created under a
// name derived from what it is for (`<rollout>-<hash>-<revision>[-<step>|-pre|-post]`,
// `.2`, `.3` for later attempts), so creating it again after a lost status
// write adopts the same run instead of starting a second one.
import type { AnalysisPhase, AnalysisTemplateSpec, Argument, DryRun, MeasurementRetention, Metric } from '../api/analysis.ts';
import type { Rollout, RolloutStatus } from '../api/rollout.ts';
import type { RolloutAnalysis } from '../api/common.ts';
import { ArgumentError, flattenTemplateArgs, resolveArgs } from '../analysis/args.ts';
import {
  GIT_REVISION_ANNOTATION,
  POD_TEMPLATE_HASH_LABEL,
  REVISION_ANNOTATION,
  type AnalysisRunManifest,
  type AnalysisRunType,
  type Effect,
  type Observed,
  type ObservedAnalysisRun,
} from './types.ts';

/** Labels on every AnalysisRun the engine creates (Argo's names, plus the Rollout's name). */
export const ROLLOUT_TYPE_LABEL = 'rollout-type';
export const STEP_INDEX_LABEL = 'step-index';
export const ROLLOUT_NAME_LABEL = 'weir.dev/rollout';

/** Pause reason while an inconclusive run waits for `weir promote` or `weir abort` (Argo's). */
export const INCONCLUSIVE_PAUSE = 'AnalysisRunInconclusive';

/** Argo's defaults for spec.analysis.successfulRunHistoryLimit / unsuccessfulRunHistoryLimit. */
export const DEFAULT_SUCCESSFUL_RUN_HISTORY = 5;
export const DEFAULT_UNSUCCESSFUL_RUN_HISTORY = 5;

/** What status keeps of a run (Argo's RolloutAnalysisRunStatus). */
export interface AnalysisRunRecord {
  name: string;
  status: AnalysisPhase;
  message?: string;
}

export type TemplateRef = NonNullable<RolloutAnalysis['templates']>[number];

/** The key of a template in Observed.analysisTemplates. */
export function templateKey(ref: TemplateRef): string {
  return `${ref.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate'}/${ref.templateName}`;
}

/** Every template a Rollout references (steps, background, blue/green), each once. */
export function referencedTemplates(rollout: Rollout): TemplateRef[] {
  const { canary, blueGreen } = rollout.spec.strategy;
  const analyses: (RolloutAnalysis | undefined)[] = [
    canary?.analysis,
    ...(canary?.steps ?? []).map((s) => s.analysis),
    blueGreen?.prePromotionAnalysis,
    blueGreen?.postPromotionAnalysis,
  ];
  const out = new Map<string, TemplateRef>();
  for (const a of analyses) for (const ref of a?.templates ?? []) out.set(templateKey(ref), ref);
  return [...out.values()];
}

/** A record as stored in status (an opaque field there), or undefined when it is not one. */
export function readRecord(value: unknown): AnalysisRunRecord | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const { name, status, message } = value as Record<string, unknown>;
  if (typeof name !== 'string' || name === '') return undefined;
  const phase = typeof status === 'string' ? (status as AnalysisPhase) : 'Pending';
  return { name, status: phase, ...(typeof message === 'string' && message !== '' ? { message } : {}) };
}

/**
 * The record brought up to date with the observed run (unchanged while the
 * cache has not seen it yet). A run that was told to terminate while the
 * record still names it, unfinished, is no verdict: a terminated run ends
 * "Successful" without having measured enough, so the record is dropped and
 * the analysis starts again with a new run.
 */
export function refreshRecord(record: AnalysisRunRecord | undefined, runs: readonly ObservedAnalysisRun[]): AnalysisRunRecord | undefined {
  if (record === undefined) return undefined;
  const run = runs.find((r) => r.name === record.name);
  if (run === undefined) return record;
  if (run.terminate && !isFinished(record.status)) return undefined;
  return { name: record.name, status: run.phase ?? 'Pending', ...(run.message !== undefined && run.message !== '' ? { message: run.message } : {}) };
}

/** A run of this base name that is still measuring and was not told to stop: the current attempt's, if its record was lost. */
export function adoptableRun(runs: readonly ObservedAnalysisRun[], base: string): ObservedAnalysisRun | undefined {
  return runs.find((r) => isAttemptOf(r.name, base) && !r.terminate && !isFinished(r.phase));
}

/** The name every attempt of a run starts with: `<rollout>-<hash>-<revision>` and `-<step>`, `-pre` or `-post`. */
export function runBaseName(rolloutName: string, hash: string, revision: number, type: AnalysisRunType, stepIndex?: number): string {
  const base = `${rolloutName}-${hash}-${revision}`;
  switch (type) {
    case 'Step':
      return `${base}-${stepIndex ?? 0}`;
    case 'Background':
      return base;
    case 'PrePromotion':
      return `${base}-pre`;
    case 'PostPromotion':
      return `${base}-post`;
  }
}

/** Whether a run name is an attempt of the run with this base name. */
export function isAttemptOf(name: string, base: string): boolean {
  return name === base || (name.startsWith(`${base}.`) && /^\d+$/.test(name.slice(base.length + 1)));
}

/** The first attempt name no observed run has: base, base.2, base.3, ... */
export function nextAttemptName(base: string, runs: readonly ObservedAnalysisRun[]): string {
  const taken = new Set(runs.map((r) => r.name));
  if (!taken.has(base)) return base;
  for (let n = 2; ; n++) if (!taken.has(`${base}.${n}`)) return `${base}.${n}`;
}

export interface RunRequest {
  rollout: Rollout;
  analysis: RolloutAnalysis;
  type: AnalysisRunType;
  stepIndex?: number;
  /** Pod-template hash of the desired (latest) template. */
  hash: string;
  /** Pod-template hash of the stable ReplicaSet, if any. */
  stableHash: string | undefined;
  revision: number;
  /** The name to create the run under. */
  name: string;
  templates: Observed['analysisTemplates'];
}

export type RunBuild = { ok: true; run: AnalysisRunManifest } | { ok: false; problem: string };

/**
 * The AnalysisRun for a request: the templates' metrics, dry-run and
 * retention rules with the Rollout's added, and the arguments resolved
 * (podTemplateHashValue, fieldRef; a secretKeyRef stays a reference, read
 * only when measuring). A missing template, a metric name two templates
 * share or a missing argument is a problem, never a run.
 */
export function buildAnalysisRun(req: RunRequest): RunBuild {
  const refs = req.analysis.templates ?? [];
  if (refs.length === 0) return { ok: false, problem: 'the analysis names no templates' };
  const specs: AnalysisTemplateSpec[] = [];
  const missing: string[] = [];
  for (const ref of refs) {
    const spec = req.templates?.[templateKey(ref)];
    if (spec === undefined) missing.push(`${ref.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate'} "${ref.templateName}"`);
    else specs.push(spec);
  }
  if (missing.length > 0) return { ok: false, problem: `${missing.join(', ')} not found` };

  const metrics: Metric[] = [];
  for (const spec of specs) {
    for (const metric of spec.metrics) {
      if (metrics.some((m) => m.name === metric.name)) return { ok: false, problem: `two templates define a metric named "${metric.name}"` };
      metrics.push(metric);
    }
  }
  let args: Argument[];
  try {
    args = resolveArgs(flattenTemplateArgs(specs.map((s) => s.args ?? [])), req.analysis.args ?? [], {
      rollout: req.rollout,
      stableHash: req.stableHash,
      latestHash: req.hash,
    });
  } catch (err) {
    if (err instanceof ArgumentError) return { ok: false, problem: err.message };
    throw err;
  }
  const dryRun: DryRun[] = [...specs.flatMap((s) => s.dryRun ?? []), ...(req.analysis.dryRun ?? [])];
  const retention: MeasurementRetention[] = [...specs.flatMap((s) => s.measurementRetention ?? []), ...(req.analysis.measurementRetention ?? [])];

  const rolloutName = req.rollout.metadata.name ?? '';
  const extra = req.analysis.analysisRunMetadata;
  const labels: Record<string, string> = { ...(extra?.labels ?? {}), [POD_TEMPLATE_HASH_LABEL]: req.hash, [ROLLOUT_TYPE_LABEL]: req.type };
  if (req.type === 'Step') labels[STEP_INDEX_LABEL] = String(req.stepIndex ?? 0);
  if (rolloutName.length <= 63) labels[ROLLOUT_NAME_LABEL] = rolloutName;
  const annotations: Record<string, string> = { ...(extra?.annotations ?? {}), [REVISION_ANNOTATION]: String(req.revision) };
  const commit = req.rollout.metadata.annotations?.[GIT_REVISION_ANNOTATION];
  if (commit !== undefined) annotations[GIT_REVISION_ANNOTATION] = commit;
  return {
    ok: true,
    run: {
      apiVersion: 'weir.dev/v1alpha1',
      kind: 'AnalysisRun',
      metadata: { name: req.name, labels, annotations },
      spec: {
        metrics,
        ...(args.length > 0 ? { args } : {}),
        ...(dryRun.length > 0 ? { dryRun } : {}),
        ...(retention.length > 0 ? { measurementRetention: retention } : {}),
      },
    },
  };
}

/** Runs still measuring that no current record names: stop them (an old step, a superseded template, an abort, a promotion). */
export function terminateStale(runs: readonly ObservedAnalysisRun[], current: ReadonlySet<string>): Effect[] {
  return runs
    .filter((r) => !current.has(r.name) && !r.terminate && !isFinished(r.phase))
    .map((r): Effect => ({ type: 'terminateAnalysisRun', name: r.name }));
}

function isFinished(phase: AnalysisPhase | undefined): boolean {
  return phase === 'Successful' || phase === 'Failed' || phase === 'Error' || phase === 'Inconclusive';
}

/**
 * Finished runs beyond spec.analysis.successfulRunHistoryLimit and
 * unsuccessfulRunHistoryLimit (Argo's defaults: 5 each), oldest first; a
 * current run is always kept.
 */
export function historyDeletes(rollout: Rollout, runs: readonly ObservedAnalysisRun[], current: ReadonlySet<string>): Effect[] {
  const limits = rollout.spec.analysis;
  const keepOk = Math.max(0, limits?.successfulRunHistoryLimit ?? DEFAULT_SUCCESSFUL_RUN_HISTORY);
  const keepBad = Math.max(0, limits?.unsuccessfulRunHistoryLimit ?? DEFAULT_UNSUCCESSFUL_RUN_HISTORY);
  const newestFirst = [...runs]
    .filter((r) => isFinished(r.phase) && !current.has(r.name))
    .sort((a, b) => (a.creationTimestamp === b.creationTimestamp ? (a.name < b.name ? 1 : -1) : a.creationTimestamp < b.creationTimestamp ? 1 : -1));
  const ok = newestFirst.filter((r) => r.phase === 'Successful').slice(keepOk);
  const bad = newestFirst.filter((r) => r.phase !== 'Successful').slice(keepBad);
  return [...ok, ...bad].reverse().map((r): Effect => ({ type: 'deleteAnalysisRun', name: r.name }));
}

/** A run's verdict for the rollout: still waiting, or how it ended. */
export function runOutcome(record: AnalysisRunRecord | undefined): 'none' | 'running' | 'successful' | 'failed' | 'inconclusive' {
  if (record === undefined) return 'none';
  switch (record.status) {
    case 'Successful':
      return 'successful';
    case 'Failed':
    case 'Error':
      return 'failed';
    case 'Inconclusive':
      return 'inconclusive';
    default:
      return 'running';
  }
}

/** "step analysis run "x" Failed: <message>" for abort messages and Events. */
export function describeOutcome(kind: string, record: AnalysisRunRecord): string {
  return `${kind} analysis run "${record.name}" ${record.status}${record.message !== undefined ? `: ${record.message}` : ''}`;
}

/** Events for records whose run finished since the last status. */
export function outcomeEvents(kind: string, before: AnalysisRunRecord | undefined, after: AnalysisRunRecord | undefined): Effect[] {
  if (after === undefined || !isFinished(after.status)) return [];
  if (before?.name === after.name && before.status === after.status) return [];
  const ok = after.status === 'Successful';
  return [{ type: 'event', eventType: ok ? 'Normal' : 'Warning', reason: `AnalysisRun${after.status}`, message: describeOutcome(kind, after) }];
}

/** The status field for a record (absent when there is none). */
export function recordsInStatus(status: RolloutStatus, field: 'currentStepAnalysisRunStatus' | 'currentBackgroundAnalysisRunStatus', record: AnalysisRunRecord | undefined): void {
  const canary = { ...(status.canary ?? {}) };
  if (record === undefined) Reflect.deleteProperty(canary, field);
  else canary[field] = { ...record };
  status.canary = canary;
}

export interface EnsureRunInput {
  rollout: Rollout;
  analysis: RolloutAnalysis;
  type: AnalysisRunType;
  /** How messages name the run: "step", "background", "pre-promotion", "post-promotion". */
  kind: string;
  /** runBaseName() of the run wanted now. */
  base: string;
  /** The record status keeps for this kind of run. */
  record: AnalysisRunRecord | undefined;
  /** Whether a new run may start now (not while paused, say). */
  mayCreate: boolean;
  stepIndex?: number;
  hash: string;
  stableHash: string | undefined;
  revision: number;
  runs: readonly ObservedAnalysisRun[];
  templates: Observed['analysisTemplates'];
}

export interface EnsureRunResult {
  /** The record to keep: the run of this attempt, or undefined when there is none (yet). */
  record: AnalysisRunRecord | undefined;
  /** The run to create (and its Event). */
  effects: Effect[];
  /** Why the run cannot be created: a missing template or argument. */
  problem?: string;
}

/**
 * The run a record should name: kept when it exists (or has finished);
 * created again under the same name when it is gone while unfinished (which
 * adopts it if only the cache has not seen it yet); adopted when a run of
 * this attempt is measuring but its record was lost; otherwise created under
 * the next attempt name.
 */
export function ensureAnalysisRun(input: EnsureRunInput): EnsureRunResult {
  const { record, runs, base } = input;
  const valid = record !== undefined && isAttemptOf(record.name, base);
  if (valid && (runs.some((r) => r.name === record.name) || runOutcome(record) !== 'running')) return { record, effects: [] };
  if (!valid && !input.mayCreate) return { record, effects: [] };
  if (!valid) {
    const measuring = adoptableRun(runs, base);
    if (measuring !== undefined) return { record: { name: measuring.name, status: measuring.phase ?? 'Pending' }, effects: [] };
  }
  const name = valid ? record.name : nextAttemptName(base, runs);
  const built = buildAnalysisRun({
    rollout: input.rollout,
    analysis: input.analysis,
    type: input.type,
    ...(input.stepIndex !== undefined ? { stepIndex: input.stepIndex } : {}),
    hash: input.hash,
    stableHash: input.stableHash,
    revision: input.revision,
    name,
    templates: input.templates,
  });
  if (!built.ok) return { record: valid ? record : undefined, effects: [], problem: `${input.kind} analysis cannot start: ${built.problem}` };
  const effects: Effect[] = [{ type: 'createAnalysisRun', run: built.run }];
  if (!valid) effects.push({ type: 'event', eventType: 'Normal', reason: 'AnalysisRunCreated', message: `Created ${input.kind} analysis run ${name}` });
  return { record: valid ? record : { name, status: 'Pending' }, effects };
}
