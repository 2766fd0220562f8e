// The live view on a terminal: one region redrawn in place with the commit
// being rolled out, the current step, the weights, the analysis
// measurements, the Git history with outcomes (`weir history rollout`'s
// rows) and the latest events. renderLiveView is pure; LiveRegion writes.
import { historyRows, type HistoryRow } from '../cli/history-command.ts';
import { describeStep } from '../engine/index.ts';
import { formatValue, short, type Snapshot } from './events.ts';

export interface LiveModel {
  /** "act 2/3: v2, a healthy release" */
  act: string;
  commit?: { sha: string; message: string };
  snapshot: Snapshot;
  /** The latest event lines, oldest first. */
  events: readonly string[];
  elapsedMs: number;
}

const BAR_WIDTH = 30;

function weightBar(canary: number): string {
  const c = Math.round((canary / 100) * BAR_WIDTH);
  return `stable ${String(100 - canary).padStart(3)}% ${'█'.repeat(BAR_WIDTH - c)}${'▒'.repeat(c)} ${String(canary).padStart(3)}% canary`;
}

function clock(ms: number): string {
  const s = Math.floor(ms / 1000);
  return `${String(Math.floor(s / 60)).padStart(2, '0')}:${String(s % 60).padStart(2, '0')}`;
}

/** `weir history rollout`'s rows, narrower: revision (with marks), subject, outcome (last: a rejection's reason is long). */
function historyTable(rows: readonly HistoryRow[]): string[] {
  const cells = rows.map((r) => [r.revision + (r.marks.length > 0 ? ` (${r.marks.join(', ')})` : ''), r.message, r.outcome]);
  const header = ['REVISION', 'MESSAGE', 'OUTCOME'];
  const widths = [0, 1].map((i) => Math.max(header[i]?.length ?? 0, ...cells.map((c) => c[i]?.length ?? 0)));
  const line = (c: string[]): string => `${(c[0] ?? '').padEnd(widths[0] ?? 0)}  ${(c[1] ?? '').padEnd(widths[1] ?? 0)}  ${c[2] ?? ''}`.trimEnd();
  return [line(header), ...cells.map(line)];
}

/** The region's lines, each cut to `width` columns. */
export function renderLiveView(m: LiveModel, width: number): string[] {
  const lines: string[] = [];
  lines.push(`Weir demo · ${m.act}`.padEnd(Math.max(0, width - 6)) + clock(m.elapsedMs));
  lines.push(m.commit ? `commit    ${short(m.commit.sha)} "${m.commit.message}"` : 'commit    -');
  const r = m.snapshot.rollout;
  const s = r?.status;
  const steps = r?.spec.strategy.canary?.steps ?? [];
  if (r && s) {
    const index = s.currentStepIndex ?? 0;
    const inProgress = s.currentPodHash !== undefined && s.currentPodHash !== s.stableRS;
    const step = inProgress && index < steps.length && steps[index] ? `step ${index + 1}/${steps.length}: ${describeStep(steps[index])}` : `all ${steps.length} steps done`;
    lines.push(`rollout   ${r.metadata.name ?? ''}  ${s.phase ?? 'Unknown'}  ${step}${s.abort === true ? '  (aborted)' : ''}`);
    if (s.phase === 'Degraded' && s.message) lines.push(`          ${s.message}`);
    lines.push(`revision  current ${s.git?.currentRevision ? short(s.git.currentRevision) : '-'}  stable ${s.git?.stableRevision ? short(s.git.stableRevision) : '-'}`);
  } else {
    lines.push('rollout   (not created yet)');
  }
  lines.push(`traffic   ${m.snapshot.canaryWeight === undefined ? '(no route yet)' : weightBar(m.snapshot.canaryWeight)}`);
  const current = (s?.canary?.currentStepAnalysisRunStatus as { name?: string } | undefined)?.name;
  const runs = m.snapshot.runs.slice(-2);
  if (runs.length === 0) lines.push('analysis  (no run yet)');
  for (const run of runs) {
    const measured = (run.status?.metricResults ?? []).flatMap((res) => res.measurements.map((x) => `${formatValue(x.value)} ${x.phase}`));
    const mark = run.metadata.name === current ? '▶' : ' ';
    lines.push(`analysis ${mark}${run.metadata.name ?? ''}: ${run.status?.phase ?? 'Pending'}${measured.length > 0 ? `  ${measured.join(' · ')}` : ''}`);
  }
  lines.push('');
  if (r && m.snapshot.source) {
    lines.push('Git history (weir history rollout):');
    for (const l of historyTable(historyRows(r, m.snapshot.source)).slice(0, 8)) lines.push(`  ${l}`);
  }
  lines.push('');
  lines.push('Events:');
  for (const e of m.events) lines.push(`  ${e}`);
  return lines.map((l) => (l.length > width ? l.slice(0, Math.max(0, width - 1)) + '…' : l));
}

/** A block of lines at the bottom of a terminal, replaced on each draw. */
export class LiveRegion {
  #height = 0;
  readonly #out: NodeJS.WriteStream;

  constructor(out: NodeJS.WriteStream) {
    this.#out = out;
  }

  draw(lines: readonly string[]): void {
    const up = this.#height > 0 ? `\x1b[${this.#height}F` : '';
    this.#out.write(`${up}\x1b[J${lines.join('\n')}\n`);
    this.#height = lines.length;
  }

  /** Writes lines above the region (they scroll away with the output) and forgets the region. */
  release(): void {
    this.#height = 0;
  }
}
