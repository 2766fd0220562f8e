import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { isValidDuration, parseDuration } from './duration.ts';

describe('parseDuration', () => {
  const valid: [number | string, number][] = [
    [0, 0],
    [30, 30_000],
    ['10', 10_000],
    ['0', 0],
    ['+10', 10_000],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['.5s', 500],
    ['1.s', 1000],
    ['500ms', 500],
    ['1500us', 1],
    ['1500\u00b5s', 1],
    ['1500\u03bcs', 1],
    ['999999ns', 0],
    ['2h45m10.5s', 9_910_500],
    ['0s', 0],
    ['-0s', 0],
    ['1m0s', 60_000],
  ];
  for (const [input, ms] of valid) {
    it(`parses ${JSON.stringify(input)} as ${ms} ms`, () => {
      assert.equal(parseDuration(input), ms);
      assert.equal(isValidDuration(input), true);
    });
  }

  const invalid: [number | string, RegExp][] = [
    [-1, /must not be negative/],
    [1.5, /whole number of seconds/],
    ['', /empty/],
    ['-5s', /must not be negative/],
    ['-10', /must not be negative/],
    ['5 minutes', /unknown unit " minutes"/],
    ['1d', /unknown unit "d"/],
    ['10S', /unknown unit "S"/],
    ['s', /expected a number/],
    ['.', /expected a number/],
    ['1h 30m', /unknown unit "h "/],
    [' 30s', /expected a number/],
    ['1.5', /missing unit/],
    ['3000000h', /too large/],
    ['99999999999', /too large/],
  ];
  for (const [input, pattern] of invalid) {
    it(`rejects ${JSON.stringify(input)}`, () => {
      assert.throws(() => parseDuration(input), pattern);
      assert.equal(isValidDuration(input), false);
    });
  }

  it('says what it expects in the error message', () => {
    assert.throws(() => parseDuration('5 minutes'), /invalid duration "5 minutes".*Go duration such as "30s"/);
  });

  it('rejects values that are neither numbers nor strings without crashing', () => {
    assert.equal(isValidDuration(null), false);
    assert.equal(isValidDuration({}), false);
    assert.throws(() => parseDuration(true as unknown as string), /expected a number or a string/);
  });
});
