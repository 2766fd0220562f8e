import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { durationMs, formatDuration } from './duration.ts';

describe('durationMs', () => {
  const table: [number | string, number | undefined][] = [
    [30, 30_000],
    [0, 0],
    ['30', 30_000],
    ['30s', 30_000],
    ['1m30s', 90_000],
    ['500ms', 500],
    ['1h', 3_600_000],
    ['1.5h', 5_400_000],
    ['2h45m', 9_900_000],
    ['100us', 0.1],
    ['0s', 0],
    ['', undefined],
    ['10x', undefined],
    ['s', undefined],
    [-1, undefined],
    [1.5, undefined],
  ];
  for (const [input, expected] of table) {
    it(`${JSON.stringify(input)} → ${String(expected)}`, () => {
      assert.equal(durationMs(input), expected);
    });
  }

  it('formats integers as seconds and strings as written', () => {
    assert.equal(formatDuration(30), '30s');
    assert.equal(formatDuration('1m'), '1m');
  });
});
