import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalysisRun } from '../api/analysis.ts';
import { renderAnalysisRun } from './analysisrun-view.ts';

const run: AnalysisRun = {
  apiVersion: 'weir.dev/v1alpha1',
  kind: 'AnalysisRun',
  metadata: { name: 'demo-abc-2', namespace: 'shop' },
  spec: { metrics: [{ name: 'success-rate', successCondition: 'result[0] >= 0.99', provider: { prometheus: { address: 'http://p', query: 'q' } } }] },
  status: {
    phase: 'Failed',
    message: 'metric success-rate failed',
    startedAt: '2026-11-22T10:00:00Z',
    runSummary: { count: 1, successful: 0, failed: 1, inconclusive: 0, error: 0 },
    metricResults: [
      {
        name: 'success-rate',
        phase: 'Failed',
        count: 2,
        successful: 0,
        failed: 2,
        inconclusive: 0,
        error: 0,
        consecutiveError: 0,
        measurements: [
          { phase: 'Failed', startedAt: '2026-11-22T10:00:00Z', value: '[0.7]' },
          { phase: 'Failed', startedAt: '2026-11-22T10:00:10Z', value: '[0.69]' },
        ],
      },
    ],
  },
};

describe('renderAnalysisRun', () => {
  it('shows the phase, the summary, the condition, the counters and every measurement', () => {
    const text = renderAnalysisRun(run);
    assert.match(text, /^Status: +Failed — metric success-rate failed$/m);
    assert.match(text, /^Summary: +1 metrics: 0 successful, 1 failed/m);
    assert.match(text, /^Metric success-rate: Failed$/m);
    assert.match(text, /^ {2}success: +result\[0\] >= 0\.99$/m);
    assert.match(text, /^ {2}counts: +2 measured, 0 successful, 2 failed/m);
    assert.match(text, /^ {2}2026-11-22T10:00:10Z {2}Failed +\[0\.69\]$/m);
  });

  it('shows a run that has not started as Pending', () => {
    const { status: _none, ...pending } = run;
    const text = renderAnalysisRun(pending);
    assert.match(text, /^Status: +Pending$/m);
    assert.match(text, /^Metric success-rate: Pending$/m);
  });
});
