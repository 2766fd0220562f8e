import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GitSource } from '../api/gitsource.ts';
import type { Rollout } from '../api/rollout.ts';
import { renderLiveView } from './view.ts';

const V1 = 'e2b5410aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa';
const V2 = '1416cc7cacbc58fbca7978e44639dcff12d0ffda';

const rollout: Rollout = {
  apiVersion: 'weir.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'demo', namespace: 'weir-demo', labels: { 'weir.dev/source': 'weir-demo.demo' } },
  spec: { strategy: { canary: { steps: [{ setWeight: 20 }, { analysis: { templates: [{ templateName: 'success-rate' }] } }] } } },
  status: {
    phase: 'Progressing',
    currentStepIndex: 1,
    stableRS: 'aaa',
    currentPodHash: 'bbb',
    git: { currentRevision: V2, stableRevision: V1 },
    canary: { currentStepAnalysisRunStatus: { name: 'demo-bbb-1', status: 'Running' } },
  },
};

const source: GitSource = {
  apiVersion: 'weir.dev/v1alpha1',
  kind: 'GitSource',
  metadata: { name: 'demo', namespace: 'weir-demo' },
  spec: { url: 'http://git/demo.git' },
  status: {
    history: [
      { revision: V1, outcome: 'promoted', appliedAt: '2026-01-01T00:00:00Z', author: 'Demo Developer', message: 'demo v1: the first release' },
      { revision: V2, outcome: 'applied', appliedAt: '2026-01-01T00:01:00Z', author: 'Demo Developer', message: 'demo v2: a healthy release' },
    ],
  },
};

describe('renderLiveView', () => {
  const lines = renderLiveView(
    {
      act: 'act 2/3: v2, a healthy release',
      commit: { sha: V2, message: 'demo v2: a healthy release' },
      snapshot: {
        rollout,
        source,
        canaryWeight: 20,
        runs: [
          {
            apiVersion: 'weir.dev/v1alpha1',
            kind: 'AnalysisRun',
            metadata: { name: 'demo-bbb-1' },
            spec: { metrics: [] },
            status: {
              phase: 'Running',
              metricResults: [
                {
                  name: 'success-rate',
                  phase: 'Running',
                  measurements: [{ phase: 'Successful', value: '[0.998]', startedAt: '2026-01-01T00:01:10Z' }],
                  count: 1,
                  successful: 1,
                  failed: 0,
                  inconclusive: 0,
                  error: 0,
                  consecutiveError: 0,
                },
              ],
            },
          },
        ],
      },
      events: ['[  12.3s] traffic  canary 20%, stable 80%'],
      elapsedMs: 83_000,
    },
    120,
  );

  it('shows the act, the commit, the step, the weights and the measurements', () => {
    assert.match(lines[0] ?? '', /^Weir demo · act 2\/3: v2, a healthy release +01:23$/);
    assert.equal(lines[1], 'commit    1416cc7 "demo v2: a healthy release"');
    assert.equal(lines[2], 'rollout   demo  Progressing  step 2/2: analysis success-rate');
    assert.equal(lines[3], 'revision  current 1416cc7  stable e2b5410');
    assert.match(lines[4] ?? '', /^traffic {3}stable {2}80% █{24}▒{6} {2}20% canary$/);
    assert.equal(lines[5], 'analysis ▶demo-bbb-1: Running  [0.998] Successful');
  });

  it('shows the Git history with `weir history rollout`’s rows and outcomes, and the latest events', () => {
    const history = lines.indexOf('Git history (weir history rollout):');
    assert.ok(history > 0);
    assert.match(lines[history + 1] ?? '', /^ {2}REVISION +MESSAGE +OUTCOME$/);
    assert.equal(lines[history + 2], '  1416cc7 (current)  demo v2: a healthy release  applied');
    assert.equal(lines[history + 3], '  e2b5410 (stable)   demo v1: the first release  promoted');
    assert.equal(lines.at(-1), '  [  12.3s] traffic  canary 20%, stable 80%');
  });

  it('cuts lines to the terminal’s width', () => {
    for (const l of lines) assert.ok(l.length <= 120, l);
  });
});
