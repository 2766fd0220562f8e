import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { GitSource } from '../api/gitsource.ts';
import type { Rollout } from '../api/rollout.ts';
import { historyRows, renderHistory } from './history-command.ts';

const A = 'a'.repeat(40);
const B = 'b'.repeat(40);
const C = 'c'.repeat(40);

const rollout: Rollout = {
  apiVersion: 'weir.dev/v1alpha1',
  kind: 'Rollout',
  metadata: { name: 'shop' },
  spec: { strategy: { canary: {} } },
  status: { git: { stableRevision: A, currentRevision: A } },
};

const source: GitSource = {
  apiVersion: 'weir.dev/v1alpha1',
  kind: 'GitSource',
  metadata: { name: 'apps' },
  spec: { url: 'https://git.example/apps.git' },
  status: {
    history: [
      { revision: A, outcome: 'promoted', appliedAt: '2026-11-22T10:00:00Z', author: 'Ann <ann@x>', message: 'v2' },
      { revision: B, outcome: 'rejected', appliedAt: '2026-11-22T10:05:00Z', author: 'Bob <bob@x>', message: 'v3' },
      { revision: C, outcome: 'applied', appliedAt: '2026-11-22T10:07:00Z', author: 'Weir <weir@weir.dev>', message: 'Revert "v3"' },
    ],
    rejectedRevisions: [{ revision: B, rollout: 'shop', reason: 'RolloutAborted: analysis failed', at: '2026-11-22T10:06:00Z' }],
    revertRevisions: [{ rejected: B, revert: C, branch: 'main', at: '2026-11-22T10:06:30Z' }],
  },
};

describe('weir history rollout', () => {
  it('lists revisions newest first with outcome, rejection reason and marks', () => {
    const rows = historyRows(rollout, source);
    assert.deepEqual(
      rows.map((r) => [r.revision, r.outcome, r.marks]),
      [
        ['ccccccc', 'applied', ['reverts bbbbbbb']],
        ['bbbbbbb', 'rejected: RolloutAborted: analysis failed', []],
        ['aaaaaaa', 'promoted', ['stable']],
      ],
    );
  });

  it('renders an aligned table with a header', () => {
    const text = renderHistory(historyRows(rollout, source));
    const lines = text.trimEnd().split('\n');
    assert.match(lines[0] ?? '', /^REVISION\s+OUTCOME\s+APPLIED\s+AUTHOR\s+MESSAGE$/);
    assert.equal(lines.length, 4);
    assert.match(lines[2] ?? '', /^bbbbbbb\s+rejected: RolloutAborted: analysis failed\s+2026-11-22T10:05:00Z\s+Bob <bob@x>\s+v3$/);
    const outcomeColumn = (lines[0] ?? '').indexOf('OUTCOME');
    for (const l of lines.slice(1)) {
      assert.equal(l[outcomeColumn - 1], ' ', `a space before the outcome column in: ${l}`);
      assert.notEqual(l[outcomeColumn], ' ', `the outcome starts at its column in: ${l}`);
    }
  });

  it('shows a header alone for a source with no history yet', () => {
    assert.equal(renderHistory(historyRows(rollout, { ...source, status: {} })), 'REVISION  OUTCOME  APPLIED  AUTHOR  MESSAGE\n');
  });
});
