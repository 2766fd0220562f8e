// What the demo tells: events derived from successive snapshots of the
// cluster (the Rollout, its GitSource, AnalysisRuns and HTTPRoute), and the
// story's own (acts, pushes). One line per event without a terminal. Pure.
import { isCompletedPhase, type AnalysisRun } from '../api/analysis.ts';
import type { GitSource } from '../api/gitsource.ts';
import type { Rollout } from '../api/rollout.ts';
import { describeStep } from '../engine/index.ts';

export interface Snapshot {
  rollout?: Rollout;
  source?: GitSource;
  /** The Rollout's AnalysisRuns, oldest first. */
  runs: AnalysisRun[];
  /** The HTTPRoute's canary weight (percent), when the route exists. */
  canaryWeight?: number;
}

export type DemoEventBody =
  | { type: 'act'; index: number; total: number; name: string; title: string }
  | { type: 'pushed'; commit: string; message: string }
  | { type: 'applied'; revision: string }
  | { type: 'rollout'; revision: string; /** Back on the last good revision (a rollback), not a new one. */ back?: boolean }
  | { type: 'step'; index: number; count: number; description: string }
  | { type: 'weight'; canary: number }
  | { type: 'measurement'; run: string; metric: string; phase: string; value?: string; message?: string; /** When the controller took it (ISO time). */ finishedAt?: string }
  | { type: 'analysis'; run: string; phase: string; message?: string }
  | { type: 'phase'; phase: string; message?: string }
  | { type: 'rejected'; revision: string; reason: string }
  | { type: 'reverted'; rejected: string; revert: string }
  | { type: 'note'; text: string };

export type DemoEvent = DemoEventBody & { at: number };

export const short = (sha: string): string => sha.slice(0, 7);

function measurementKey(run: string, metric: string, startedAt: string): string {
  return `${run}/${metric}/${startedAt}`;
}

function completedMeasurements(runs: readonly AnalysisRun[]): Map<string, DemoEventBody> {
  const out = new Map<string, DemoEventBody>();
  for (const run of runs) {
    const name = run.metadata.name ?? '';
    for (const result of run.status?.metricResults ?? []) {
      for (const m of result.measurements) {
        if (!isCompletedPhase(m.phase)) continue;
        out.set(measurementKey(name, result.name, m.startedAt), {
          type: 'measurement',
          run: name,
          metric: result.name,
          phase: m.phase,
          ...(m.value === undefined ? {} : { value: m.value }),
          ...(m.message === undefined ? {} : { message: m.message }),
          ...(m.finishedAt === undefined ? {} : { finishedAt: m.finishedAt }),
        });
      }
    }
  }
  return out;
}

/** The events between two snapshots, in causal order: what Git brought, the analysis verdicts, then what the rollout did about them. */
export function diffEvents(prev: Snapshot | undefined, next: Snapshot): DemoEventBody[] {
  const events: DemoEventBody[] = [];
  const ps = prev?.source?.status;
  const ns = next.source?.status;
  if (ns?.lastAppliedRevision && ns.lastAppliedRevision !== ps?.lastAppliedRevision) events.push({ type: 'applied', revision: ns.lastAppliedRevision });

  const seen = completedMeasurements(prev?.runs ?? []);
  for (const [key, e] of completedMeasurements(next.runs)) if (!seen.has(key)) events.push(e);
  const prevRunPhase = new Map((prev?.runs ?? []).map((r) => [r.metadata.name, r.status?.phase]));
  for (const run of next.runs) {
    const phase = run.status?.phase;
    if (isCompletedPhase(phase) && phase !== prevRunPhase.get(run.metadata.name) && phase !== undefined) {
      events.push({ type: 'analysis', run: run.metadata.name ?? '', phase, ...(run.status?.message ? { message: run.status.message } : {}) });
    }
  }

  const pr = prev?.rollout;
  const nr = next.rollout;
  const nextRevision = nr?.status?.git?.currentRevision;
  const prevRevision = pr?.status?.git?.currentRevision;
  const nextStable = nr?.status?.git?.stableRevision;
  if (nextRevision && nextRevision !== prevRevision) {
    const back = prevRevision !== undefined && nextRevision === nextStable && nextRevision === pr?.status?.git?.stableRevision;
    events.push({ type: 'rollout', revision: nextRevision, ...(back ? { back } : {}) });
  }
  const steps = nr?.spec.strategy.canary?.steps ?? [];
  const index = nr?.status?.currentStepIndex;
  const stepChanged = index !== undefined && (index !== pr?.status?.currentStepIndex || nr?.status?.currentPodHash !== pr.status.currentPodHash);
  // Only steps of a rollout in progress: a finished rollout sits at index = steps.length.
  if (stepChanged && index < steps.length && nr?.status?.stableRS !== nr?.status?.currentPodHash) {
    const step = steps[index];
    if (step) events.push({ type: 'step', index, count: steps.length, description: describeStep(step) });
  }
  if (next.canaryWeight !== undefined && next.canaryWeight !== prev?.canaryWeight) events.push({ type: 'weight', canary: next.canaryWeight });

  const phase = nr?.status?.phase;
  if (phase && (phase !== pr?.status?.phase || (phase === 'Degraded' && nr.status?.message !== pr.status.message))) {
    events.push({ type: 'phase', phase, ...(nr.status?.message ? { message: nr.status.message } : {}) });
  }

  const knownRejected = new Set((ps?.rejectedRevisions ?? []).map((r) => r.revision));
  for (const r of ns?.rejectedRevisions ?? []) if (!knownRejected.has(r.revision)) events.push({ type: 'rejected', revision: r.revision, reason: r.reason });
  const knownReverts = new Set((ps?.revertRevisions ?? []).map((r) => r.revert));
  for (const r of ns?.revertRevisions ?? []) if (!knownReverts.has(r.revert)) events.push({ type: 'reverted', rejected: r.rejected, revert: r.revert });
  return events;
}

/** A measured value for people: "[0.7000000000000001]" → "[0.7]", at most 3 decimals; anything else as is. */
export function formatValue(value: string | undefined): string {
  if (value === undefined) return '-';
  const m = /^\[(.*)\]$/.exec(value);
  const items = m?.[1]?.split(',').map((x) => x.trim());
  // Number('') is 0: an empty result must never read as a measured 0.
  if (!items || items.some((x) => x === '')) return value;
  const numbers = items.map(Number);
  if (numbers.some((n) => !Number.isFinite(n))) return value;
  return `[${numbers.map((n) => String(Math.round(n * 1000) / 1000)).join(', ')}]`;
}

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

/** The event as one line, after the time since the demo started: "[  12.3s] traffic  canary 20%, stable 80%". */
export function formatEvent(e: DemoEvent, startedAt: number): string {
  const time = `[${seconds(Math.max(0, e.at - startedAt)).padStart(7)}]`;
  const line = (topic: string, text: string): string => `${time} ${topic.padEnd(8)} ${text}`;
  switch (e.type) {
    case 'act':
      return line('act', `${e.index}/${e.total}: ${e.title}`);
    case 'pushed':
      return line('git', `pushed ${short(e.commit)} "${e.message}"`);
    case 'applied':
      return line('git', `Weir applied ${short(e.revision)}`);
    case 'rollout':
      return line('rollout', e.back === true ? `back on ${short(e.revision)}, the last good revision` : `rolling out ${short(e.revision)}`);
    case 'step':
      return line('rollout', `step ${e.index + 1}/${e.count}: ${e.description}`);
    case 'weight':
      return line('traffic', `canary ${e.canary}%, stable ${100 - e.canary}%`);
    case 'measurement':
      return line('analysis', `${e.metric} = ${formatValue(e.value)}: ${e.phase}${e.message ? ` (${e.message})` : ''}  [${e.run}]`);
    case 'analysis':
      return line('analysis', `run ${e.run}: ${e.phase}${e.message ? `: ${e.message}` : ''}`);
    case 'phase':
      return line('rollout', `${e.phase}${e.message ? `: ${e.message}` : ''}`);
    case 'rejected':
      return line('git', `Weir rejected ${short(e.revision)}: ${e.reason}`);
    case 'reverted':
      return line('git', `Weir pushed ${short(e.revert)}, the revert of ${short(e.rejected)}`);
    case 'note':
      return line('demo', e.text);
  }
}
