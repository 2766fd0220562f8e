// `weir get analysisrun NAME`: a run's phase, each metric's counters and its
// measurements. Rendering is pure.
import type { AnalysisRun } from '../api/analysis.ts';

export function renderAnalysisRun(run: AnalysisRun): string {
  const s = run.status;
  const lines = [
    `Name:       ${run.metadata.name ?? ''}`,
    `Namespace:  ${run.metadata.namespace ?? ''}`,
    `Status:     ${s?.phase ?? 'Pending'}${s?.message ? ` — ${s.message}` : ''}`,
    ...(s?.startedAt ? [`Started:    ${s.startedAt}`] : []),
  ];
  if (s?.runSummary) {
    const r = s.runSummary;
    lines.push(`Summary:    ${r.count} metrics: ${r.successful} successful, ${r.failed} failed, ${r.inconclusive} inconclusive, ${r.error} error`);
  }
  for (const metric of run.spec.metrics) {
    const result = s?.metricResults?.find((m) => m.name === metric.name);
    lines.push('', `Metric ${metric.name}: ${result?.phase ?? 'Pending'}${result?.message ? ` — ${result.message}` : ''}`);
    if (metric.successCondition) lines.push(`  success:   ${metric.successCondition}`);
    if (metric.failureCondition) lines.push(`  failure:   ${metric.failureCondition}`);
    if (result) {
      lines.push(`  counts:    ${result.count} measured, ${result.successful} successful, ${result.failed} failed, ${result.inconclusive} inconclusive, ${result.error} error (${result.consecutiveError} in a row)`);
      for (const m of result.measurements) {
        lines.push(`  ${m.startedAt}  ${m.phase.padEnd(12)} ${m.value ?? ''}${m.message ? `  ${m.message}` : ''}`.trimEnd());
      }
    }
  }
  return lines.join('\n') + '\n';
}
