import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  evaluate,
  evaluateCondition,
  evaluateTime,
  formatParseError,
  LIMITS,
  parseExpression,
  type Env,
  type EvalResult,
  type ExprNode,
  type ParseError,
} from './expression.ts';

function run(source: string, result: unknown, extra: Record<string, unknown> = {}): EvalResult {
  const parsed = parseExpression(source);
  if (!parsed.ok) assert.fail(`parse error in ${source}: ${formatParseError(parsed.error)}`);
  const env: Env = { ...extra, result };
  return evaluate(parsed.ast, env);
}

function value(source: string, result: unknown, extra: Record<string, unknown> = {}): unknown {
  const r = run(source, result, extra);
  if (!r.ok) assert.fail(`evaluation error in ${source}: ${r.error}`);
  return r.value;
}

function evalError(source: string, result: unknown): string {
  const r = run(source, result);
  if (r.ok) assert.fail(`expected an evaluation error from ${source}, got ${String(r.value)}`);
  return r.error;
}

function parseError(source: string): ParseError {
  const r = parseExpression(source);
  if (r.ok) assert.fail(`expected a parse error from ${source.slice(0, 40)}`);
  return r.error;
}

/** Fails unless fn finishes within ms. */
function quickly<T>(ms: number, fn: () => T): T {
  const start = performance.now();
  const out = fn();
  const elapsed = performance.now() - start;
  assert.ok(elapsed < ms, `took ${elapsed.toFixed(0)} ms (limit ${ms} ms)`);
  return out;
}

const show = (v: unknown): string =>
  v === undefined
    ? 'undefined'
    : JSON.stringify(v, (_key, x: unknown) => (typeof x === 'number' && !Number.isFinite(x) ? String(x) : x));

describe('expression: Argo Rollouts examples', () => {
  const web = { ok: true, successPercent: 0.95, status: 'ok', data: { latency: [120, 80, 95] }, count: '42', ratio: '0.97' };
  const cloudwatch = [{ Id: 'rate', Values: [0.001, 0.002, 0.0005], Timestamps: [] }];
  const table: [source: string, result: unknown, expected: boolean][] = [
    ['result[0] >= 0.95', [0.97], true],
    ['result[0] >= 0.95', [0.9], false],
    ['result[0] <= 0.01', [0.005], true],
    ['result >= 0.95', 0.99, true],
    ['result == true', true, true],
    ['len(result) > 0 && result[0] < 10', [3], true],
    ['len(result) > 0 && result[0] < 10', [], false],
    ['len(result) == 0 || isNaN(result[0]) || result[0] >= 0.9', [], true],
    ['len(result) == 0 || isNaN(result[0]) || result[0] >= 0.9', [Number.NaN], true],
    ['len(result) == 0 || isNaN(result[0]) || result[0] >= 0.9', [0.5], false],
    ['all(result, {# > 0.9})', [0.95, 0.91], true],
    ['all(result, {# > 0.9})', [0.95, 0.5], false],
    ['any(result, {# > 0.9})', [0.1, 0.95], true],
    ['isNaN(result)', Number.NaN, true],
    ['default(result, 0) >= 0.9', null, false],
    ['default(result, 1) >= 0.9', null, true],
    ['default(result, 0) < 0.05', 0.01, true],
    ['result.status == "ok"', web, true],
    ["result.ok && result.successPercent >= 0.90", web, true],
    ['asInt(result) >= 200', '204', true],
    ['asFloat(result) >= 0.9', '0.97', true],
    ['asInt(result.count) == 42 && asFloat(result.ratio) > 0.9', web, true],
    ['all(result[0].Values, {# <= 0.01})', cloudwatch, true],
    ['max(result.data.latency) < 150 && avg(result.data.latency) < 100', web, true],
  ];
  for (const [source, result, expected] of table) {
    it(`${source} with ${show(result)} → ${expected}`, () => {
      assert.deepEqual(evaluateCondition(source, result), { ok: true, value: expected });
    });
  }
});

describe('expression: operators', () => {
  const obj = { a: 1, b: { c: [10, 20, 30] }, s: 'hi', t: true, n: null, list: ['x', 'y'] };
  const table: [source: string, expected: unknown][] = [
    // literals
    ['1', 1],
    ['0.5', 0.5],
    ['.5', 0.5],
    ['1e3', 1000],
    ['2.5E-2', 0.025],
    ['1e+2', 100],
    ['"a\\"b"', 'a"b'],
    ["'it\\'s'", "it's"],
    ['"\\n\\t\\\\"', '\n\t\\'],
    ['"\\u0041\\x42"', 'AB'],
    ['true', true],
    ['false', false],
    ['nil', null],
    ['null', null],
    ['[1, "a", true]', [1, 'a', true]],
    ['[]', []],
    // arithmetic and precedence
    ['1 + 2 * 3', 7],
    ['(1 + 2) * 3', 9],
    ['10 - 4 - 3', 3],
    ['7 / 2', 3.5],
    ['7 % 4', 3],
    ['-7 % 4', -3],
    ['2 - -3', 5],
    ['+2', 2],
    ['-(1 + 1)', -2],
    ['"ab" + "cd"', 'abcd'],
    // comparison
    ['1 == 1', true],
    ['1 != 1', false],
    ['1 < 2', true],
    ['2 <= 2', true],
    ['3 > 2', true],
    ['2 >= 3', false],
    ['"a" < "b"', true],
    ['"b" >= "a"', true],
    ['"a" == "a"', true],
    ['true == false', false],
    ['nil == nil', true],
    ['result.n == nil', true],
    ['result.a == nil', false],
    ['result.missing == nil', true],
    ['nil != 1', true],
    ['[1, [2]] == [1, [2]]', true],
    ['[1, 2] == [2, 1]', false],
    ['result.b == result.b', true],
    // logic
    ['true && false', false],
    ['true and true', true],
    ['false || true', true],
    ['false or false', false],
    ['!true', false],
    ['not false', true],
    ['!(1 > 2)', true],
    ['not (1 > 2) == false', false],
    ['!false == true', true],
    ['true || false && false', true],
    ['(true || false) && false', false],
    ['false && result.missing.x', false],
    ['true || result.missing.x', true],
    // membership
    ['"x" in result.list', true],
    ['"z" in result.list', false],
    ['"z" not in result.list', true],
    ['2 in [1, 2, 3]', true],
    ['"a" in result', true],
    ['"zz" in result', false],
    ['"constructor" in result', false],
    ['[2] in [[1], [2]]', true],
    // access
    ['result.a', 1],
    ['result["a"]', 1],
    ['result.b.c[1]', 20],
    ['result.b["c"][2]', 30],
    ['result.missing', null],
    ['result.list[len(result.list) - 1]', 'y'],
    // ternary
    ['result.t ? 1 : 2', 1],
    ['false ? 1 : true ? 2 : 3', 2],
    ['1 > 2 ? "a" : "b"', 'b'],
    // whitespace, new lines
    ['\n result.a\t==\r\n1 ', true],
  ];
  for (const [source, expected] of table) {
    it(`${source.replace(/\s+/g, ' ').trim()} → ${show(expected)}`, () => {
      assert.deepEqual(value(source, obj), expected);
    });
  }

  it('resolves names beyond result from the environment', () => {
    assert.equal(value('result > threshold', 5, { threshold: 3 }), true);
  });
});

describe('expression: functions', () => {
  const table: [source: string, result: unknown, expected: unknown][] = [
    ['len(result)', [1, 2, 3], 3],
    ['len(result)', 'abcd', 4],
    ['len(result)', { a: 1, b: 2 }, 2],
    ['len(result)', [], 0],
    ['all(result, {# > 0})', [], true],
    ['any(result, {# > 0})', [], false],
    ['none(result, {# > 0})', [], true],
    ['none(result, {# > 5})', [1, 2], true],
    ['none(result, # > 1)', [1, 2], false],
    ['one(result, {# > 1})', [1, 2], true],
    ['one(result, {# > 0})', [1, 2], false],
    ['count(result, {# > 1})', [1, 2, 3], 2],
    ['filter(result, {# > 1})', [1, 2, 3], [2, 3]],
    ['map(result, {# * 2})', [1, 2, 3], [2, 4, 6]],
    ['all(result, {.ok})', [{ ok: true }, { ok: true }], true],
    ['any(result, {#.v > 1 && .ok})', [{ v: 2, ok: true }], true],
    ['all(result, {any(#, {# == 0})})', [[0, 1], [2, 0]], true],
    ['isNaN(result[0])', [Number.NaN], true],
    ['isNaN(result[0])', [1], false],
    ['isInf(result)', Number.POSITIVE_INFINITY, true],
    ['isInf(result)', Number.NEGATIVE_INFINITY, true],
    ['isInf(result)', 1e308, false],
    ['default(result, 1)', null, 1],
    ['default(result, 1)', undefined, 1],
    ['default(result, 1)', 0.5, 0.5],
    ['default(result.x, "none")', {}, 'none'],
    ['default(first(result), 0)', [], 0],
    ['asInt(result)', '42', 42],
    ['asInt(result)', '-7', -7],
    ['asInt(result)', 3.9, 3],
    ['asFloat(result)', '2.5e1', 25],
    ['asFloat(result)', 1.5, 1.5],
    ['asFloat(result)', '-Inf', Number.NEGATIVE_INFINITY],
    ['abs(result)', -3, 3],
    ['min(result)', [3, 1, 2], 1],
    ['max(result)', [3, 1, 2], 3],
    ['min(result, 2, 5)', 4, 2],
    ['max(result, 2)', 1, 2],
    ['max(result)', 7, 7],
    ['sum(result)', [1, 2, 3.5], 6.5],
    ['sum(result)', [], 0],
    ['avg(result)', [1, 2, 3], 2],
    ['mean(result)', [2, 4], 3],
    ['first(result)', [1, 2], 1],
    ['last(result)', [1, 2], 2],
    ['first(result)', [], null],
    ['last(result)', [], null],
  ];
  for (const [source, result, expected] of table) {
    it(`${source} with ${show(result)} → ${show(expected)}`, () => {
      assert.deepEqual(value(source, result), expected);
    });
  }

  it('asFloat("NaN") is NaN', () => {
    assert.ok(Number.isNaN(value('asFloat(result)', 'NaN')));
  });
});

describe('expression: NaN, nil and empty vectors', () => {
  it('result[0] of an empty vector is an error, never a success', () => {
    const r = evaluateCondition('result[0] >= 0.99', []);
    assert.deepEqual(r, { ok: false, error: 'index 0 out of range (length 0) (at position 6)' });
  });

  it('NaN compares false with every ordering operator and ==', () => {
    for (const op of ['>=', '>', '<', '<=', '==']) {
      assert.deepEqual(evaluateCondition(`result[0] ${op} 0.99`, [Number.NaN]), { ok: true, value: false }, op);
    }
    assert.deepEqual(evaluateCondition('result[0] != 0.99', [Number.NaN]), { ok: true, value: true });
    assert.deepEqual(evaluateCondition('result == result', Number.NaN), { ok: true, value: false });
  });

  it('isNaN detects NaN, and rejects a vector', () => {
    assert.deepEqual(evaluateCondition('isNaN(result[0])', [Number.NaN]), { ok: true, value: true });
    assert.match(evalError('isNaN(result)', [Number.NaN]), /isNaN\(\) expects a number, got an array \(a Prometheus vector is an array/);
  });

  it('default replaces nil only: NaN is kept, errors are not swallowed', () => {
    assert.equal(value('default(result, 1)', null), 1);
    assert.ok(Number.isNaN(value('default(result, 1)', Number.NaN)));
    assert.deepEqual(evaluateCondition('default(result, 1) >= 0.9', Number.NaN), { ok: true, value: false });
    assert.match(evalError('default(result[0], 1)', []), /index 0 out of range/);
  });

  it('the fallback of default is evaluated only when needed', () => {
    assert.equal(value('default(result, 1 / 0)', 2), 2);
  });

  it('arithmetic on NaN gives NaN, which is never a success', () => {
    assert.deepEqual(evaluateCondition('result[0] * 100 >= 99', [Number.NaN]), { ok: true, value: false });
  });
});

describe('expression: evaluation errors', () => {
  const table: [source: string, result: unknown, message: RegExp][] = [
    ['1 / 0', null, /^division by zero \(at position 2\)$/],
    ['1 % 0', null, /^division by zero/],
    ['result / (1 - 1)', 5, /^division by zero/],
    ['result > "a"', 1, /cannot compare a number with a string using '>'/],
    ['result == "1"', 1, /cannot compare a number with a string using '=='/],
    ['result == true', [1], /cannot compare an array with a boolean/],
    ['result > nil', 1, /cannot compare a number with nil using '>'/],
    ['result.missing > 0.9', {}, /cannot compare nil with a number/],
    ['result + 1', 'a', /cannot apply '\+' to a string and a number/],
    ['"a" * 1e9', null, /cannot apply '\*' to a string and a number/],
    ['-result', 'a', /unary '-' expects a number, got a string/],
    ['!result', 1, /'!' expects a boolean, got a number/],
    ['not 1 > 2', null, /'!' expects a boolean, got a number/],
    ['result && true', 1, /'&&' expects a boolean, got a number/],
    ['true && result', 1, /'&&' expects a boolean, got a number/],
    ['result ? 1 : 2', 1, /'\?:' expects a boolean/],
    ['result[3]', [1, 2], /^index 3 out of range \(length 2\) \(at position 6\)$/],
    ['result[0]', [], /index 0 out of range \(length 0\)/],
    ['result[1 - 2]', [1], /negative index -1 is not supported/],
    ['result[0.5]', [1], /must be an integer/],
    ['result["a"]', [1], /an array index must be a number, got a string/],
    ['result[0]', { a: 1 }, /an object key must be a string, got a number/],
    ['result[0]', 'abc', /cannot index a string/],
    ['result[0]', null, /cannot index nil/],
    ['result.a', 1, /cannot read property 'a' of a number/],
    ['result.a', [1], /cannot read property 'a' of an array/],
    ['result.a.b', {}, /cannot read property 'b' of nil/],
    ['result["con" + "structor"]', {}, /property 'constructor' is not accessible/],
    ['result["__" + "proto__"]', {}, /property '__proto__' is not accessible/],
    ['__proto__', null, /unknown name '__proto__'/],
    ['constructor', null, /unknown name 'constructor'/],
    ['unknown > 1', null, /^unknown name 'unknown' \(at position 0\)$/],
    ['len(result)', 1, /len\(\) expects an array, a string or an object, got a number/],
    ['len(result)', null, /got nil/],
    ['all(result, {# > 0})', { a: 1 }, /all\(\) expects an array, got an object/],
    ['all(result, {#})', [1], /the predicate of all\(\) expects a boolean, got a number/],
    ['"a" in "abc"', null, /'in' needs an array or an object on the right, got a string/],
    ['1 in result', {}, /needs a string key/],
    ['sum(result)', [1, 'a'], /element 1 is a string/],
    ['avg(result)', [], /avg\(\) of an empty array/],
    ['min(result)', [], /min\(\) of an empty array/],
    ['first(result)', 'a', /first\(\) expects an array/],
    ['asInt(result)', '1.5', /cannot parse "1.5" as an integer/],
    ['asInt(result)', Number.NaN, /cannot convert NaN/],
    ['asFloat(result)', 'abc', /cannot parse "abc" as a number/],
    ['asFloat(result)', true, /expects a number or a string, got a boolean/],
    ['abs(result)', '1', /abs\(\) expects a number, got a string/],
    ['isInf(result)', null, /isInf\(\) expects a number, got nil/],
  ];
  for (const [source, result, message] of table) {
    it(`${source} with ${show(result)} → ${String(message)}`, () => {
      assert.match(evalError(source, result), message);
    });
  }

  it('a getter in the data is never called', () => {
    let called = false;
    const data = Object.defineProperty({}, 'x', {
      enumerable: true,
      get() {
        called = true;
        return 1;
      },
    });
    assert.match(evalError('result.x', data), /not a data property/);
    assert.equal(called, false);
  });

  it('values other than plain JSON are not traversed', () => {
    assert.match(evalError('result.size', new Map()), /cannot read property 'size' of an unsupported value/);
    assert.match(evalError('len(result)', new Date()), /got an unsupported value/);
  });

  it('a condition that is not a boolean is an error', () => {
    assert.deepEqual(evaluateCondition('result[0]', [0.5]), {
      ok: false,
      error: 'the condition must be a boolean, got a number',
    });
    assert.deepEqual(evaluateCondition('result.x', {}), { ok: false, error: 'the condition must be a boolean, got nil' });
  });

  it('evaluateCondition reports a parse error with its line and column', () => {
    assert.deepEqual(evaluateCondition('result[0] >= ', [1]), {
      ok: false,
      error: 'expected an expression, found end of input (line 1, column 14)',
    });
  });
});

describe('expression: parse errors', () => {
  const table: [source: string, position: number, message: RegExp][] = [
    ['result[0] >= ', 13, /^expected an expression, found end of input$/],
    ['', 0, /^expected an expression, found end of input$/],
    ['(result[0] > 1', 14, /^expected '\)' to close the '\(' at position 0, found end of input$/],
    ['result[0] > 1)', 13, /^unexpected '\)' \(no matching opening bracket\)$/],
    ['((1)', 4, /expected '\)'/],
    ['result[0', 8, /^expected '\]', found end of input$/],
    ['result @ 1', 7, /^unknown character "@"$/],
    ['result > 1 ; 2', 11, /unknown character ";"/],
    ['result = 1', 7, /^unexpected '=' \(use '==' to compare\)$/],
    ['result & 1', 7, /use '&&'/],
    ['result | 1', 7, /use '\|\|'/],
    ['"abc', 0, /^unterminated string$/],
    ["'abc\\", 0, /^unterminated string$/],
    ['"a\\qb"', 2, /^invalid escape sequence \\q$/],
    ['"\\u12"', 1, /expected 4 hex digits/],
    ['1e', 0, /exponent has no digits/],
    ['12abc', 0, /^invalid number '12abc'$/],
    ['0x2A', 0, /invalid number '0x2A'/],
    ['1.2.3', 0, /invalid number '1.2.3'/],
    ['1e999', 0, /out of range/],
    ['1 2', 2, /^unexpected number 2$/],
    ['result result', 7, /^unexpected name 'result'$/],
    ['foo(1)', 0, /^unknown function 'foo'$/],
    ['len(1, 2)', 0, /^len\(\) takes 1 argument, got 2$/],
    ['len()', 0, /takes 1 argument, got 0/],
    ['default(1)', 0, /default\(\) takes 2 arguments, got 1/],
    ['min()', 0, /takes at least 1 argument, got 0/],
    ['all(result)', 0, /all\(\) takes 2 arguments, got 1/],
    ['len(result', 10, /expected ',' or '\)' in the call of len, found end of input/],
    ['result.len()', 10, /only the built-in functions can be called/],
    ['result(1)', 0, /^unknown function 'result'$/],
    ['# > 1', 0, /'#' can only be used inside a predicate/],
    ['.x', 0, /unexpected '\.'/],
    ['{# > 1}', 0, /braces only enclose the predicate/],
    ['all(result, {# > 1)', 18, /expected '\}', found '\)'/],
    ['result.', 7, /expected a property name after '\.', found end of input/],
    ['result.1', 6, /unexpected number \.1/],
    ['result.constructor', 7, /^property 'constructor' is not accessible$/],
    ['result.__proto__', 7, /property '__proto__' is not accessible/],
    ['result["prototype"]', 7, /property 'prototype' is not accessible/],
    ['result.constructor.constructor(\'x\')()', 7, /property 'constructor' is not accessible/],
    ['result[-1]', 7, /negative indexes are not supported/],
    ['1 ? 2', 5, /expected ':', found end of input/],
    ['and', 0, /^unexpected 'and'$/],
    ['not in result', 4, /unexpected 'in'/],
    ['1 not 2', 2, /unexpected 'not'/],
    ['[1, 2', 5, /expected ',' or '\]' in the array/],
    ['1 ** 2', 3, /unexpected '\*'/],
  ];
  for (const [source, position, message] of table) {
    it(`${JSON.stringify(source)} → position ${position}: ${String(message)}`, () => {
      const error = parseError(source);
      assert.match(error.message, message);
      assert.equal(error.position, position);
      assert.equal(error.line, 1);
      assert.equal(error.column, position + 1);
    });
  }

  it('reports line and column on later lines', () => {
    const r = parseExpression('result[0] >= 0.9 &&\n  result[1] @ 2');
    assert.deepEqual(r, {
      ok: false,
      error: { message: 'unknown character "@"', position: 32, line: 2, column: 13 },
    });
  });

  it('formats a parse error with its line and column', () => {
    assert.equal(
      formatParseError({ message: 'unknown character "@"', position: 32, line: 2, column: 13 }),
      'unknown character "@" (line 2, column 13)',
    );
  });

  it('accepts the syntax the docs use', () => {
    for (const source of [
      'result[0] >= 0.95',
      'all(result, {# > 0.9})',
      'all(result, # > 0.9)',
      'filter(result, {.Size < 280})',
      'result.status == "ok" and not (result.code in [500, 503])',
      'a ? b : c ? d : e',
      'result.in.not',
      '[1, 2,]',
      'len(result) == 0 || isNaN(result[0]) || result[0] >= 0.9',
    ]) {
      assert.equal(parseExpression(source).ok, true, source);
    }
  });

  it('builds the tree with precedence and positions', () => {
    const r = parseExpression('a + b * -c');
    assert.ok(r.ok);
    const expected: ExprNode = {
      kind: 'binary',
      pos: 2,
      op: '+',
      left: { kind: 'identifier', pos: 0, name: 'a' },
      right: {
        kind: 'binary',
        pos: 6,
        op: '*',
        left: { kind: 'identifier', pos: 4, name: 'b' },
        right: { kind: 'unary', pos: 8, op: '-', operand: { kind: 'identifier', pos: 9, name: 'c' } },
      },
    };
    assert.deepEqual(r.ast, expected);
  });

  it('rejects a non-string source without throwing', () => {
    const r = parseExpression(42 as unknown as string);
    assert.equal(r.ok, false);
  });
});

describe('expression: hostile input', () => {
  it('100k characters: too long, at the limit', () => {
    const r = quickly(500, () => parseExpression('x'.repeat(100_000)));
    assert.deepEqual(r, {
      ok: false,
      error: {
        message: `expression is too long (100000 characters, at most ${LIMITS.maxSourceLength})`,
        position: LIMITS.maxSourceLength,
        line: 1,
        column: LIMITS.maxSourceLength + 1,
      },
    });
  });

  it('10k nested parentheses: too long, no stack overflow', () => {
    const error = quickly(500, () => parseError('('.repeat(10_000) + '1' + ')'.repeat(10_000)));
    assert.match(error.message, /too long/);
  });

  it('2000 nested parentheses within the length limit: nested too deeply', () => {
    const error = quickly(500, () => parseError('('.repeat(2000) + '1' + ')'.repeat(2000)));
    assert.match(error.message, /nested too deeply \(more than 64 levels\)/);
    // The 64th '(' opens the 65th level (the whole expression is the first).
    assert.equal(error.position, LIMITS.maxDepth - 1);
  });

  it('63 nested parentheses are fine', () => {
    const source = '('.repeat(LIMITS.maxDepth - 1) + 'result' + ')'.repeat(LIMITS.maxDepth - 1) + ' > 0';
    assert.deepEqual(evaluateCondition(source, 1), { ok: true, value: true });
  });

  it('long chains of unary operators, brackets and calls: nested too deeply', () => {
    for (const source of [
      '!'.repeat(4000) + 'true',
      '-'.repeat(4000) + '1',
      'not '.repeat(1000) + 'true',
      '['.repeat(2000) + ']'.repeat(2000),
      'abs('.repeat(800) + '1' + ')'.repeat(800),
      'result' + '[0'.repeat(1000) + ']'.repeat(1000),
      '1 ? '.repeat(500) + '1' + ' : 1'.repeat(500),
    ]) {
      assert.match(quickly(500, () => parseError(source)).message, /nested too deeply/);
    }
  });

  it('deep member chains and long operator chains: too deep or too large', () => {
    const member = quickly(500, () => parseError('result' + '.a'.repeat(1000)));
    assert.match(member.message, /nested too deeply \(syntax tree higher than 256\)/);
    assert.equal(member.position, 6 + 2 * (LIMITS.maxHeight - 1));
    const sum = quickly(500, () => parseError(Array.from({ length: 2000 }, () => '1').join('+')));
    assert.match(sum.message, /nested too deeply \(syntax tree higher than 256\)/);
    const array = quickly(500, () => parseError(`[${'1,'.repeat(1500)}]`));
    assert.match(array.message, /too large \(more than 1024 nodes\)/);
  });

  it('a member chain within the limits over deep data works', () => {
    let data: unknown = 7;
    for (let i = 0; i < 100; i++) data = { a: data };
    assert.equal(value('result' + '.a'.repeat(100), data), 7);
  });

  it('the constructor escape is rejected at parse time', () => {
    for (const source of [
      "result.constructor.constructor('return process')()",
      'result["constructor"]["constructor"]("x")()',
      'result.__proto__.polluted',
      'result.prototype',
    ]) {
      assert.match(parseError(source).message, /is not accessible/);
    }
  });

  it('"a" * 1e9 and string doubling cannot build huge strings', () => {
    assert.match(evalError('"a" * 1e9', null), /cannot apply/);
    const big = 'x'.repeat(600_000);
    assert.match(quickly(1000, () => evalError('result + result', big)), /longer than 1000000/);
  });

  it('huge all over a big array: the array limit', () => {
    const huge = new Array<number>(LIMITS.maxArrayLength + 1).fill(1);
    assert.match(quickly(500, () => evalError('all(result, {# > 0})', huge)), /array of 10001 elements is longer than 10000/);
    assert.match(evalError('1 in result', huge), /longer than 10000/);
    assert.match(evalError('sum(result)', huge), /longer than 10000/);
    assert.equal(value('len(result)', huge), LIMITS.maxArrayLength + 1);
  });

  it('nested predicates over big arrays: the step limit, quickly', () => {
    const big = new Array<number>(LIMITS.maxArrayLength).fill(1);
    assert.equal(quickly(1000, () => value('all(result, {# > 0})', big)), true);
    const err = quickly(1000, () => evalError('all(result, {all(result, {# > 0})})', big));
    assert.match(err, /evaluation took more than 100000 steps/);
  });

  it('comparing deeply nested values: a clear error', () => {
    let deep: unknown = [];
    for (let i = 0; i < 10_000; i++) deep = [deep];
    assert.match(quickly(500, () => evalError('result == result', deep)), /nested more than 64 levels cannot be compared/);
  });

  it('a hand-built tree deeper than the limits: an error, not a stack overflow', () => {
    let ast: ExprNode = { kind: 'literal', pos: 0, value: 1 };
    for (let i = 0; i < 100_000; i++) ast = { kind: 'unary', pos: 0, op: '-', operand: ast };
    const r = quickly(500, () => evaluate(ast, { result: null }));
    assert.deepEqual(r, { ok: false, error: 'expression is nested too deeply (more than 256 levels) (at position 0)' });
  });

  it('a malformed hand-built tree: an error, not an exception', () => {
    const bad = { kind: 'binary', pos: 0, op: '+', left: null, right: null } as unknown as ExprNode;
    assert.equal(evaluate(bad, { result: null }).ok, false);
    const call = { kind: 'call', pos: 0, name: 'all', args: [{ kind: 'literal', pos: 0, value: null }] } as unknown as ExprNode;
    assert.equal(evaluate(call, { result: null }).ok, false);
    const unknown = { kind: 'eval', pos: 3 } as unknown as ExprNode;
    assert.deepEqual(evaluate(unknown, { result: null }), { ok: false, error: 'unknown node kind "eval" (at position 3)' });
  });
});

describe('expression: random token soups never throw', () => {
  // A fixed-seed LCG (Numerical Recipes constants), so failures reproduce.
  function lcg(seed: number): () => number {
    let state = seed >>> 0;
    return () => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state / 2 ** 32;
    };
  }
  const pieces = [
    'result', 'threshold', '[', ']', '(', ')', '{', '}', ',', '.', '?', ':', '#',
    '0', '1', '2.5', '1e3', '.5', '-1', '"ok"', "'x'", '"', "'", '\\',
    '+', '-', '*', '/', '%', '==', '!=', '<', '<=', '>', '>=', '&&', '||', '!', '=', '&', '|',
    'not', 'and', 'or', 'in', 'true', 'false', 'nil', 'null',
    'len', 'all', 'any', 'none', 'one', 'count', 'filter', 'map', 'isNaN', 'isInf', 'default',
    'asInt', 'asFloat', 'abs', 'min', 'max', 'sum', 'avg', 'first', 'last',
    'constructor', '__proto__', 'status', 'a', '@', '\n', ' ',
  ];
  const results: unknown[] = [
    [],
    [Number.NaN],
    [0.5, 0.99],
    0.97,
    Number.NaN,
    null,
    'ok',
    { status: 'ok', a: [1, 2, { a: 3 }], threshold: 1 },
    [[1, 2], [3]],
  ];

  it('5000 soups of tokens', () => {
    const rand = lcg(0x5eed);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)] as T;
    let parsed = 0;
    for (let n = 0; n < 5000; n++) {
      const length = 1 + Math.floor(rand() * 24);
      const parts: string[] = [];
      for (let i = 0; i < length; i++) parts.push(pick(pieces));
      const source = parts.join(rand() < 0.5 ? ' ' : '');
      const r = parseExpression(source);
      if (!r.ok) {
        assert.ok(r.error.position >= 0 && r.error.position <= source.length, source);
        assert.ok(r.error.line >= 1 && r.error.column >= 1, source);
        continue;
      }
      parsed++;
      for (const result of results) {
        const e = evaluate(r.ast, { result, threshold: 0.5 });
        assert.equal(typeof e.ok, 'boolean', source);
        const c = evaluateCondition(source, result);
        assert.equal(typeof c.ok, 'boolean', source);
      }
    }
    assert.ok(parsed > 50, `only ${parsed} soups parsed`);
  });

  it('2000 soups of random characters', () => {
    const rand = lcg(42);
    for (let n = 0; n < 2000; n++) {
      const length = Math.floor(rand() * 40);
      let source = '';
      for (let i = 0; i < length; i++) source += String.fromCharCode(rand() < 0.95 ? 32 + Math.floor(rand() * 95) : Math.floor(rand() * 0x3000));
      const r = parseExpression(source);
      if (r.ok) {
        for (const result of results) assert.equal(typeof evaluate(r.ast, { result }).ok, 'boolean', source);
      } else {
        assert.ok(r.error.position >= 0 && r.error.position <= source.length, source);
      }
    }
  });
});

describe('times and durations (a range query’s start and end)', () => {
  const now = new Date('2026-12-07T12:00:00.000Z');
  const at = (source: string): string => {
    const r = evaluateTime(source, now);
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.value.toISOString();
  };

  it('now() with durations added and taken away, as Argo’s documentation writes them', () => {
    assert.equal(at('now()'), '2026-12-07T12:00:00.000Z');
    assert.equal(at('now() - duration("5m")'), '2026-12-07T11:55:00.000Z');
    assert.equal(at('now() + duration("1h30m") - duration("90s")'), '2026-12-07T13:28:30.000Z');
    assert.equal(at('duration("1s") + now()'), '2026-12-07T12:00:01.000Z');
    assert.equal(at('now() - (duration("1h") - duration("30m"))'), '2026-12-07T11:30:00.000Z');
  });

  it('times and durations compare with their own kind', () => {
    const cond = (source: string): unknown => {
      const parsed = parseExpression(source);
      assert.ok(parsed.ok);
      const r = evaluate(parsed.ast, { result: null }, { now });
      assert.ok(r.ok, r.ok ? '' : r.error);
      return r.value;
    };
    assert.equal(cond('now() - duration("1m") < now()'), true);
    assert.equal(cond('duration("60s") == duration("1m")'), true);
    assert.equal(cond('now() - (now() - duration("2m")) > duration("1m")'), true);
  });

  it('anything else is a clear error, never a time by accident', () => {
    const error = (source: string): string => {
      const r = evaluateTime(source, now);
      assert.equal(r.ok, false, source);
      return r.error;
    };
    assert.match(error('duration("5m")'), /must be a time .*got a duration/);
    assert.match(error('now() + now()'), /cannot apply '\+' to a time and a time/);
    assert.match(error('now() - 300'), /cannot apply '-' to a time and a number/);
    assert.match(error('duration("5 minutes")'), /duration\("5 minutes"\)/);
    assert.match(error('duration(5)'), /duration\(\) expects a string/);
    assert.match(error('now() < duration("1m")'), /cannot compare a time with a duration/);
    assert.match(error('now('), /line 1/);
  });

  it('now() exists only where a time is asked for: a condition has none', () => {
    const r = evaluateCondition('now() > now()', [1]);
    assert.equal(r.ok, false);
    assert.match(r.error, /now\(\) is not available here/);
  });
});

describe("expr-lang's int(), float() and string()", () => {
  const value = (source: string, result: unknown): unknown => {
    const r = run(source, result);
    assert.ok(r.ok, r.ok ? '' : r.error);
    return r.value;
  };
  it('convert as expr-lang does', () => {
    assert.equal(value('int(result)', 1.9), 1);
    assert.equal(value('int(result)', '42'), 42);
    assert.equal(value('float(result)', '0.5'), 0.5);
    assert.equal(value('float(result) >= 0.5', '0.75'), true);
    assert.equal(value('string(result)', 0.5), '0.5');
    assert.equal(value('string(result) == "true"', true), true);
  });
  it('refuse what does not convert, naming the function', () => {
    const error = (source: string, result: unknown): string => {
      const r = run(source, result);
      assert.equal(r.ok, false, source);
      return r.error;
    };
    assert.match(error('int(result)', '1.5'), /^int\(\) cannot parse "1\.5" as an integer/);
    assert.match(error('float(result)', 'abc'), /^float\(\) cannot parse "abc" as a number/);
    assert.match(error('string(result)', [1]), /^string\(\) expects a number, a boolean or a string, got an array/);
  });
});
