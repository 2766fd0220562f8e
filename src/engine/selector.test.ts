import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { formatLabelSelector } from './selector.ts';

describe('formatLabelSelector', () => {
  it('prints matchLabels sorted by key', () => {
    assert.equal(formatLabelSelector({ matchLabels: { tier: 'web', app: 'demo' } }), 'app=demo,tier=web');
  });
  it('prints matchExpressions like Kubernetes', () => {
    assert.equal(
      formatLabelSelector({
        matchLabels: { app: 'demo' },
        matchExpressions: [
          { key: 'env', operator: 'In', values: ['prod', 'dev'] },
          { key: 'zone', operator: 'NotIn', values: ['b'] },
          { key: 'canary', operator: 'Exists' },
          { key: 'legacy', operator: 'DoesNotExist' },
        ],
      }),
      'app=demo,canary,env in (dev,prod),!legacy,zone notin (b)',
    );
  });
  it('prints <none> for an empty or missing selector', () => {
    assert.equal(formatLabelSelector(undefined), '<none>');
    assert.equal(formatLabelSelector({}), '<none>');
  });
});
