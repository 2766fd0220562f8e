import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { invalidSpecStatus, withoutInvalidSpec } from './invalid-spec.ts';

const t0 = new Date('2026-11-22T10:00:00Z');
const t1 = new Date('2026-11-22T10:05:00Z');

describe('invalidSpecStatus', () => {
  const problems = [{ path: 'spec.strategy.canary.steps[0].setWeight', message: 'must be between 0 and 100' }];

  it('sets phase Degraded and an InvalidSpec condition naming the field, keeping the rest of the status', () => {
    const status = invalidSpecStatus({ phase: 'Healthy', stableRS: 'abc', currentStepIndex: 2 }, 'demo', problems, t0);
    assert.equal(status.phase, 'Degraded');
    assert.equal(status.stableRS, 'abc');
    assert.equal(status.currentStepIndex, 2);
    const c = status.conditions?.find((x) => x.type === 'InvalidSpec');
    assert.equal(c?.status, 'True');
    assert.match(c.message ?? '', /^The Rollout "demo" is invalid: spec\.strategy\.canary\.steps\[0\]\.setWeight: must be between 0 and 100$/);
    assert.match(status.message ?? '', /^InvalidSpec: /);
  });

  it('keeps the transition time while the same problem stands', () => {
    const first = invalidSpecStatus(undefined, 'demo', problems, t0);
    const again = invalidSpecStatus(first, 'demo', problems, t1);
    assert.deepEqual(again, first);
  });

  it('lists three problems and counts the rest', () => {
    const many = Array.from({ length: 5 }, (_, i) => ({ path: `spec.x${i}`, message: 'bad' }));
    const status = invalidSpecStatus(undefined, 'demo', many, t0);
    assert.match(status.message ?? '', /spec\.x2: bad \(and 2 more\)$/);
  });

  it('withoutInvalidSpec drops only that condition', () => {
    const status = invalidSpecStatus({ conditions: [{ type: 'Available', status: 'True' }] }, 'demo', problems, t0);
    assert.deepEqual(withoutInvalidSpec(status)?.conditions, [{ type: 'Available', status: 'True' }]);
    const clean = { phase: 'Healthy' as const };
    assert.equal(withoutInvalidSpec(clean), clean);
  });
});
