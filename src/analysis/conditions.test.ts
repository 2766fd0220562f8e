import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkCondition } from './conditions.ts';

describe('checkCondition (at validation, before any measurement)', () => {
  it('accepts conditions over result, with the language’s functions and predicates', () => {
    for (const source of ['result[0] >= 0.99', 'len(result) > 0 && all(result, {# < 0.5})', 'int(result.code) == 200', 'default(first(result), 0) < 1', 'all(result, .ok)']) {
      assert.equal(checkCondition(source), undefined, source);
    }
  });

  it('refuses a name other than result at its position: the typo is found at lint time, not mid-rollout', () => {
    assert.deepEqual(checkCondition('results[0] >= 0.99'), { message: "unknown name 'results': a condition reads only result", position: 0 });
    assert.deepEqual(checkCondition('result[0] >= threshold'), { message: "unknown name 'threshold': a condition reads only result", position: 13 });
  });

  it('refuses now(), which has no time in a condition, and reports parse errors with their position', () => {
    assert.match(checkCondition('now() > now()')?.message ?? '', /now\(\) has no time in a condition/);
    assert.equal(checkCondition('result[0] >')?.position, 11);
    assert.match(checkCondition('reslt(1)')?.message ?? '', /unknown function 'reslt'/);
  });
});
