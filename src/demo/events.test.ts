import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalysisPhase, AnalysisRun } from '../api/analysis.ts';
import type { GitSource } from '../api/gitsource.ts';
import type { Rollout, RolloutStatus } from '../api/rollout.ts';
import { diffEvents, formatEvent, formatValue, type DemoEvent, type Snapshot } from './events.ts';

const V2 = '1416cc7cacbc58fbca7978e44639dcff12d0ffda';
const V3 = 'a566354e0000000000000000000000000000beef';
const REVERT = 'b0b0b0b0000000000000000000000000000000b0';

function rollout(status: RolloutStatus): Rollout {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'demo', namespace: 'weir-demo' },
    spec: { strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: { templates: [{ templateName: 'success-rate' }] } }, { setWeight: 50 }] } } },
    status,
  };
}

function run(name: string, phase: AnalysisPhase, values: [string, 'Successful' | 'Failed'][]): AnalysisRun {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'AnalysisRun',
    metadata: { name },
    spec: { metrics: [] },
    status: {
      phase,
      metricResults: [
        {
          name: 'success-rate',
          phase,
          measurements: values.map(([value, p], i) => ({ phase: p, value, startedAt: `2026-01-01T00:00:0${i}Z` })),
          count: values.length,
          successful: values.filter(([, p]) => p === 'Successful').length,
          failed: values.filter(([, p]) => p === 'Failed').length,
          inconclusive: 0,
          error: 0,
          consecutiveError: 0,
        },
      ],
    },
  };
}

function source(status: NonNullable<GitSource['status']>): GitSource {
  return { apiVersion: 'weir.dev/v1alpha1', kind: 'GitSource', metadata: { name: 'demo' }, spec: { url: 'http://git/demo.git' }, status };
}

describe('diffEvents', () => {
  it('tells a new revision, the step it is at and the weight the route got', () => {
    const prev: Snapshot = { runs: [], rollout: rollout({ phase: 'Healthy', currentStepIndex: 3, stableRS: 'aaa', currentPodHash: 'aaa' }), canaryWeight: 0 };
    const next: Snapshot = {
      runs: [],
      rollout: rollout({ phase: 'Progressing', currentStepIndex: 1, stableRS: 'aaa', currentPodHash: 'bbb', git: { currentRevision: V2 } }),
      canaryWeight: 20,
    };
    assert.deepEqual(diffEvents(prev, next), [
      { type: 'rollout', revision: V2 },
      { type: 'step', index: 1, count: 3, description: 'analysis success-rate' },
      { type: 'weight', canary: 20 },
      { type: 'phase', phase: 'Progressing' },
    ]);
    assert.deepEqual(diffEvents(next, next), [], 'nothing changed, nothing to tell');
  });

  it('does not tell the step index of a finished rollout', () => {
    const done: Snapshot = { runs: [], rollout: rollout({ phase: 'Healthy', currentStepIndex: 3, stableRS: 'bbb', currentPodHash: 'bbb' }) };
    assert.deepEqual(diffEvents({ runs: [] }, done), [{ type: 'phase', phase: 'Healthy' }]);
  });

  it('tells each completed measurement once, then the run’s verdict', () => {
    const one: Snapshot = { runs: [run('demo-1', 'Running', [['[0.998]', 'Successful']])] };
    const two: Snapshot = { runs: [run('demo-1', 'Successful', [['[0.998]', 'Successful'], ['[1]', 'Successful']])] };
    assert.deepEqual(diffEvents(undefined, one), [{ type: 'measurement', run: 'demo-1', metric: 'success-rate', phase: 'Successful', value: '[0.998]' }]);
    assert.deepEqual(diffEvents(one, two), [
      { type: 'measurement', run: 'demo-1', metric: 'success-rate', phase: 'Successful', value: '[1]' },
      { type: 'analysis', run: 'demo-1', phase: 'Successful' },
    ]);
  });

  it('tells a failed analysis before what the rollout did about it, and a return to the last good revision as such', () => {
    const prev: Snapshot = {
      runs: [run('demo-3-1', 'Running', [])],
      rollout: rollout({ phase: 'Progressing', currentStepIndex: 1, stableRS: 'aaa', currentPodHash: 'ccc', git: { currentRevision: V3, stableRevision: V2 } }),
      canaryWeight: 20,
    };
    const failed = run('demo-3-1', 'Failed', [['[0.7]', 'Failed']]);
    const next: Snapshot = {
      runs: [failed],
      rollout: rollout({ phase: 'Healthy', currentStepIndex: 3, stableRS: 'aaa', currentPodHash: 'aaa', git: { currentRevision: V2, stableRevision: V2 } }),
      canaryWeight: 0,
    };
    assert.deepEqual(
      diffEvents(prev, next).map((e) => e.type),
      ['measurement', 'analysis', 'rollout', 'weight', 'phase'],
    );
    assert.deepEqual(diffEvents(prev, next)[2], { type: 'rollout', revision: V2, back: true });
    assert.equal(formatEvent({ type: 'rollout', revision: V2, back: true, at: 0 }, 0), '[   0.0s] rollout  back on 1416cc7, the last good revision');
  });

  it('tells what Weir did in Git: applied, rejected, reverted; and a Degraded rollout with its message', () => {
    const prev: Snapshot = { runs: [], source: source({ lastAppliedRevision: V3 }), rollout: rollout({ phase: 'Progressing', currentStepIndex: 1 }) };
    const next: Snapshot = {
      runs: [],
      rollout: rollout({ phase: 'Degraded', currentStepIndex: 1, message: 'RolloutAborted: analysis run demo-2 Failed' }),
      source: source({
        lastAppliedRevision: REVERT,
        rejectedRevisions: [{ revision: V3, rollout: 'demo', reason: 'RolloutAborted: analysis run demo-2 Failed', at: '2026-01-01T00:00:00Z' }],
        revertRevisions: [{ rejected: V3, revert: REVERT, at: '2026-01-01T00:00:01Z' }],
      }),
    };
    assert.deepEqual(diffEvents(prev, next), [
      { type: 'applied', revision: REVERT },
      { type: 'phase', phase: 'Degraded', message: 'RolloutAborted: analysis run demo-2 Failed' },
      { type: 'rejected', revision: V3, reason: 'RolloutAborted: analysis run demo-2 Failed' },
      { type: 'reverted', rejected: V3, revert: REVERT },
    ]);
  });
});

describe('formatEvent', () => {
  const t0 = 1_000_000;
  const line = (e: DemoEvent): string => formatEvent(e, t0);

  it('puts the time since the start and a topic before each line', () => {
    assert.equal(line({ type: 'pushed', commit: V2, message: 'demo v2: a healthy release', at: t0 + 12_345 }), '[  12.3s] git      pushed 1416cc7 "demo v2: a healthy release"');
    assert.equal(line({ type: 'weight', canary: 20, at: t0 + 500 }), '[   0.5s] traffic  canary 20%, stable 80%');
    assert.equal(line({ type: 'step', index: 1, count: 4, description: 'analysis success-rate', at: t0 }), '[   0.0s] rollout  step 2/4: analysis success-rate');
  });

  it('shows measurements with value, verdict and run; Git events with short SHAs', () => {
    assert.equal(
      line({ type: 'measurement', run: 'demo-abc-1', metric: 'success-rate', phase: 'Failed', value: '[0.7]', at: t0 + 61_000 }),
      '[  61.0s] analysis success-rate = [0.7]: Failed  [demo-abc-1]',
    );
    assert.equal(line({ type: 'reverted', rejected: V3, revert: REVERT, at: t0 }), '[   0.0s] git      Weir pushed b0b0b0b, the revert of a566354');
    assert.equal(line({ type: 'rejected', revision: V3, reason: 'analysis failed', at: t0 }), '[   0.0s] git      Weir rejected a566354: analysis failed');
  });
});

describe('formatValue', () => {
  it('rounds measured numbers to 3 decimals and leaves anything else alone', () => {
    assert.equal(formatValue('[0.7000000000000001]'), '[0.7]');
    assert.equal(formatValue('[0.99871, 1]'), '[0.999, 1]');
    assert.equal(formatValue('NaN'), 'NaN');
    assert.equal(formatValue('[]'), '[]');
    assert.equal(formatValue(undefined), '-');
  });
});
