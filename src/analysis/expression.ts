// The expression language of an AnalysisTemplate metric's successCondition and
// failureCondition: the subset of expr-lang (github.com/expr-lang/expr, what
// Argo Rollouts evaluates conditions with) that conditions over a measurement
// use, with a hand-written tokenizer, a recursive-descent (precedence
// climbing) parser and a tree-walking evaluator. Nothing is ever passed to
// eval or Function, no host method is ever called on a value, and only own
// data properties of plain objects and arrays are read.
//
// Syntax
//   literals     1, 0.5, .5, 1e3, 2.5E-4; "s" and 's' with escapes \n \t \r \b
//                \f \v \0 \\ \' \" \/ \uXXXX \xHH; true, false, nil, null;
//                arrays [1, 2, 3] (extra: for `in`)
//   names        result and any other name the caller puts in the environment;
//                an unknown name is an evaluation error
//   access       a.b, a["b"], a[0] (a negative index is an error)
//   unary        ! not - +
//   binary       * / %   + -   == != < <= > >= in, not in   && and   || or
//                (tightest first; all left-associative)
//   conditional  a ? b : c
//   calls        only the built-in functions below; a predicate argument is an
//                expression over # (the element), with or without braces:
//                all(result, {# > 0.9}), all(result, # > 0.9); inside a
//                predicate .field is short for #.field
//
// Functions (expr-lang's and Argo's; the ones marked extra are beyond the issue)
//   len(x)              length of an array, string (UTF-16 units) or object (keys)
//   all / any / none(array, predicate)   empty array: true / false / true
//   one(array, predicate)                exactly one element matches (extra)
//   count(array, predicate)              how many match (extra)
//   filter / map(array, predicate)       new arrays (extra)
//   isNaN(n), isInf(n)  n must be a number (isNaN(result) of a vector is an error)
//   default(x, fallback) fallback when x is nil; NaN is a value, not missing
//   asInt(x), asFloat(x) from a number or a numeric string (Argo)
//   int(x), float(x)    expr-lang's names for the same: int(1.9) is 1, int("42") is
//                       42, float("0.5") is 0.5 (int("1.5") is an error, as in Go)
//   string(x)           a number, boolean or string as a string: string(0.5) is "0.5"
//   abs(n), min(...), max(...)   min/max of numbers or of one array (extra)
//   sum(array), avg(array) = mean(array)    (extra; avg of [] is an error)
//   first(array), last(array)    nil when the array is empty (expr-lang)
//   now()               the time of the measurement (only where the caller gives one:
//                       a range query's start and end)
//   duration(s)         a Go duration: duration("5m"), duration("1h30m")
//
// Times and durations (expr-lang's date arithmetic, for a range query's
// start and end): time - duration and time + duration are times, time - time
// is a duration, durations add and subtract; times compare with times and
// durations with durations. now() - duration("5m") is five minutes ago.
//
// Semantics (strict, so that a surprise is an Error measurement and never a
// success)
//   - Types are never coerced. &&, ||, !, ?: need booleans; arithmetic needs
//     numbers (+ also joins two strings); < <= > >= need two numbers or two
//     strings; == and != need the same type (or nil on either side, which is
//     equal only to nil); arrays and objects compare deeply.
//   - NaN compares false with <, <=, >, >= and ==, so `result[0] >= 0.99` is
//     false for NaN, never a success; != is the negation of == (true for NaN),
//     as in Go. Test NaN explicitly with isNaN(x).
//   - x / 0 and x % 0 are errors ("division by zero"), never Infinity or NaN.
//   - An index out of range is an error, so `result[0]` of an empty Prometheus
//     vector is an error, which the caller turns into an Error measurement.
//     Guard with `len(result) == 0 || ...`, or use first(result), which is
//     nil for an empty array, with default: default(first(result), 0).
//   - A missing key of an object is nil (expr-lang), so default(result.x, 0)
//     works; property access on nil, numbers, strings or arrays is an error.
//   - default() replaces nil only, and its first argument's errors are not
//     swallowed: default(result[0], 0) with an empty vector is still an error.
//   - __proto__, constructor and prototype are never readable (a parse error
//     when written literally, an evaluation error when computed).
//
// Limits against hostile input (LIMITS): source length, nesting depth, AST
// height and size, evaluation steps (every node evaluated and every element a
// predicate, comparison or aggregate visits), length of an array iterated,
// length of a string built. Exceeding one is a clear error; neither
// parseExpression nor evaluate ever throws.

import { parseDuration } from '../api/duration.ts';

export const LIMITS = Object.freeze({
  /** Characters of source. */
  maxSourceLength: 4096,
  /** Nesting of parentheses, brackets, calls, predicates, unary operators, ?:. */
  maxDepth: 64,
  /** Height of the syntax tree, which also bounds chains like a.b.c… and 1+1+…. */
  maxHeight: 256,
  /** Nodes of the syntax tree. */
  maxNodes: 1024,
  /** Evaluation steps: nodes evaluated plus elements visited. */
  maxSteps: 100_000,
  /** Elements of an array that is iterated (predicates, in, ==, sum, …). */
  maxArrayLength: 10_000,
  /** Characters of a string built by +. */
  maxStringLength: 1_000_000,
  /** Nesting of values compared with == or in. */
  maxValueDepth: 64,
});

export type UnaryOperator = '!' | '-' | '+';
export type BinaryOperator =
  | '||'
  | '&&'
  | '=='
  | '!='
  | '<'
  | '<='
  | '>'
  | '>='
  | 'in'
  | 'not in'
  | '+'
  | '-'
  | '*'
  | '/'
  | '%';

export type FunctionName =
  | 'len'
  | 'all'
  | 'any'
  | 'none'
  | 'one'
  | 'count'
  | 'filter'
  | 'map'
  | 'isNaN'
  | 'isInf'
  | 'default'
  | 'asInt'
  | 'asFloat'
  | 'int'
  | 'float'
  | 'string'
  | 'abs'
  | 'min'
  | 'max'
  | 'sum'
  | 'avg'
  | 'mean'
  | 'first'
  | 'last'
  | 'now'
  | 'duration';

/** A syntax tree node; pos is the 0-based offset in the source. */
export type ExprNode =
  | { readonly kind: 'literal'; readonly pos: number; readonly value: number | string | boolean | null }
  | { readonly kind: 'identifier'; readonly pos: number; readonly name: string }
  | { readonly kind: 'element'; readonly pos: number }
  | { readonly kind: 'array'; readonly pos: number; readonly elements: readonly ExprNode[] }
  | { readonly kind: 'member'; readonly pos: number; readonly object: ExprNode; readonly property: string }
  | { readonly kind: 'index'; readonly pos: number; readonly object: ExprNode; readonly index: ExprNode }
  | { readonly kind: 'unary'; readonly pos: number; readonly op: UnaryOperator; readonly operand: ExprNode }
  | {
      readonly kind: 'binary';
      readonly pos: number;
      readonly op: BinaryOperator;
      readonly left: ExprNode;
      readonly right: ExprNode;
    }
  | {
      readonly kind: 'conditional';
      readonly pos: number;
      readonly test: ExprNode;
      readonly consequent: ExprNode;
      readonly alternate: ExprNode;
    }
  | { readonly kind: 'call'; readonly pos: number; readonly name: FunctionName; readonly args: readonly ExprNode[] }
  | { readonly kind: 'predicate'; readonly pos: number; readonly body: ExprNode };

export interface ParseError {
  readonly message: string;
  /** 0-based character offset in the source. */
  readonly position: number;
  /** 1-based. */
  readonly line: number;
  /** 1-based, in characters from the start of the line. */
  readonly column: number;
}

export type ParseResult = { ok: true; ast: ExprNode } | { ok: false; error: ParseError };
export type EvalResult = { ok: true; value: unknown } | { ok: false; error: string };
export type ConditionResult = { ok: true; value: boolean } | { ok: false; error: string };
export type Env = { readonly result: unknown; readonly [name: string]: unknown };

/** An error at a source position, thrown inside this module only. */
class ExprError extends Error {
  readonly pos: number;
  constructor(message: string, pos: number) {
    super(message);
    this.pos = pos;
  }
}

const FORBIDDEN_PROPERTIES: ReadonlySet<string> = new Set(['__proto__', 'constructor', 'prototype']);

interface FunctionSpec {
  readonly min: number;
  readonly max: number;
  /** The second argument is a predicate over #. */
  readonly predicate: boolean;
}

const fn = (min: number, max = min, predicate = false): FunctionSpec => ({ min, max, predicate });

const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map<FunctionName, FunctionSpec>([
  ['len', fn(1)],
  ['all', fn(2, 2, true)],
  ['any', fn(2, 2, true)],
  ['none', fn(2, 2, true)],
  ['one', fn(2, 2, true)],
  ['count', fn(2, 2, true)],
  ['filter', fn(2, 2, true)],
  ['map', fn(2, 2, true)],
  ['isNaN', fn(1)],
  ['isInf', fn(1)],
  ['default', fn(2)],
  ['asInt', fn(1)],
  ['asFloat', fn(1)],
  ['int', fn(1)],
  ['float', fn(1)],
  ['string', fn(1)],
  ['abs', fn(1)],
  ['min', fn(1, Number.POSITIVE_INFINITY)],
  ['max', fn(1, Number.POSITIVE_INFINITY)],
  ['sum', fn(1)],
  ['avg', fn(1)],
  ['mean', fn(1)],
  ['first', fn(1)],
  ['last', fn(1)],
  ['now', fn(0)],
  ['duration', fn(1)],
]);

/** A point in time, as now() and time arithmetic give it. */
class ExprTime {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
    Object.freeze(this);
  }
}

/** A length of time, as duration() and time arithmetic give it. */
class ExprDuration {
  readonly ms: number;
  constructor(ms: number) {
    this.ms = ms;
    Object.freeze(this);
  }
}

// ---------------------------------------------------------------------------
// Tokenizer

type Token =
  | { readonly type: 'number'; readonly pos: number; readonly value: number; readonly text: string }
  | { readonly type: 'string'; readonly pos: number; readonly value: string; readonly text: string }
  | { readonly type: 'name'; readonly pos: number; readonly value: string; readonly text: string }
  | { readonly type: 'punct'; readonly pos: number; readonly value: string; readonly text: string }
  | { readonly type: 'eof'; readonly pos: number; readonly value: ''; readonly text: '' };

const PUNCT2: ReadonlySet<string> = new Set(['&&', '||', '==', '!=', '<=', '>=']);
const PUNCT1: ReadonlySet<string> = new Set([
  '(',
  ')',
  '[',
  ']',
  '{',
  '}',
  ',',
  '.',
  '?',
  ':',
  '#',
  '+',
  '-',
  '*',
  '/',
  '%',
  '!',
  '<',
  '>',
]);
const HINTS: Readonly<Record<string, string>> = {
  '=': "unexpected '=' (use '==' to compare)",
  '&': "unexpected '&' (use '&&' or 'and')",
  '|': "unexpected '|' (use '||' or 'or')",
};
const ESCAPES: Readonly<Record<string, string>> = {
  n: '\n',
  t: '\t',
  r: '\r',
  b: '\b',
  f: '\f',
  v: '\v',
  '0': '\0',
  '\\': '\\',
  "'": "'",
  '"': '"',
  '/': '/',
};

const isDigit = (c: number): boolean => c >= 48 && c <= 57;
const isNameStart = (c: number): boolean => (c >= 65 && c <= 90) || (c >= 97 && c <= 122) || c === 95;
const isNamePart = (c: number): boolean => isNameStart(c) || isDigit(c);
const isHex = (s: string): boolean => /^[0-9a-fA-F]+$/.test(s);

function tokenize(src: string): Token[] {
  const tokens: Token[] = [];
  const at = (i: number): number => src.charCodeAt(i);
  let i = 0;
  while (i < src.length) {
    const c = at(i);
    if (c === 32 || c === 9 || c === 10 || c === 13) {
      i++;
      continue;
    }
    const start = i;
    if (isDigit(c) || (c === 46 && isDigit(at(i + 1)))) {
      while (isDigit(at(i))) i++;
      if (at(i) === 46 && isDigit(at(i + 1))) {
        i++;
        while (isDigit(at(i))) i++;
      }
      if (at(i) === 101 || at(i) === 69) {
        let j = i + 1;
        if (at(j) === 43 || at(j) === 45) j++;
        if (!isDigit(at(j))) throw new ExprError('invalid number: the exponent has no digits', start);
        i = j;
        while (isDigit(at(i))) i++;
      }
      if (isNamePart(at(i)) || at(i) === 46) {
        let j = i;
        while (isNamePart(at(j)) || at(j) === 46) j++;
        throw new ExprError(`invalid number '${src.slice(start, Math.min(j, start + 32))}'`, start);
      }
      const text = src.slice(start, i);
      const value = Number(text);
      if (!Number.isFinite(value)) throw new ExprError(`number ${text} is out of range`, start);
      tokens.push({ type: 'number', pos: start, value, text });
      continue;
    }
    if (isNameStart(c)) {
      while (isNamePart(at(i))) i++;
      const text = src.slice(start, i);
      tokens.push({ type: 'name', pos: start, value: text, text });
      continue;
    }
    if (c === 34 || c === 39) {
      i = scanString(src, start, tokens);
      continue;
    }
    const two = src.slice(i, i + 2);
    if (PUNCT2.has(two)) {
      tokens.push({ type: 'punct', pos: start, value: two, text: two });
      i += 2;
      continue;
    }
    const one = src.charAt(i);
    if (PUNCT1.has(one)) {
      tokens.push({ type: 'punct', pos: start, value: one, text: one });
      i++;
      continue;
    }
    const hint = Object.hasOwn(HINTS, one) ? HINTS[one] : undefined;
    const char = String.fromCodePoint(src.codePointAt(i) ?? c);
    throw new ExprError(hint ?? `unknown character ${JSON.stringify(char)}`, start);
  }
  tokens.push({ type: 'eof', pos: src.length, value: '', text: '' });
  return tokens;
}

/** Scans the string literal at start, pushes its token, returns the offset after it. */
function scanString(src: string, start: number, tokens: Token[]): number {
  const quote = src.charAt(start);
  let i = start + 1;
  let value = '';
  let chunk = i;
  for (;;) {
    if (i >= src.length) throw new ExprError('unterminated string', start);
    const ch = src.charAt(i);
    if (ch === quote) break;
    if (ch !== '\\') {
      i++;
      continue;
    }
    value += src.slice(chunk, i);
    const e = src.charAt(i + 1);
    if (e === 'u' || e === 'x') {
      const digits = src.slice(i + 2, i + (e === 'u' ? 6 : 4));
      if (digits.length !== (e === 'u' ? 4 : 2) || !isHex(digits)) {
        throw new ExprError(`invalid escape sequence \\${e} (expected ${e === 'u' ? 4 : 2} hex digits)`, i);
      }
      value += String.fromCharCode(Number.parseInt(digits, 16));
      i += 2 + digits.length;
    } else if (Object.hasOwn(ESCAPES, e)) {
      value += ESCAPES[e] ?? '';
      i += 2;
    } else {
      if (i + 1 >= src.length) throw new ExprError('unterminated string', start);
      throw new ExprError(`invalid escape sequence \\${e}`, i);
    }
    chunk = i;
  }
  value += src.slice(chunk, i);
  const text = src.slice(start, i + 1);
  tokens.push({ type: 'string', pos: start, value, text });
  return i + 1;
}

// ---------------------------------------------------------------------------
// Parser

interface BinaryInfo {
  readonly op: BinaryOperator;
  readonly prec: number;
  /** Tokens the operator takes: 2 for `not in`. */
  readonly width: number;
}

const BINARY: Readonly<Record<string, { op: BinaryOperator; prec: number }>> = {
  '||': { op: '||', prec: 1 },
  or: { op: '||', prec: 1 },
  '&&': { op: '&&', prec: 2 },
  and: { op: '&&', prec: 2 },
  '==': { op: '==', prec: 3 },
  '!=': { op: '!=', prec: 3 },
  '<': { op: '<', prec: 3 },
  '<=': { op: '<=', prec: 3 },
  '>': { op: '>', prec: 3 },
  '>=': { op: '>=', prec: 3 },
  in: { op: 'in', prec: 3 },
  '+': { op: '+', prec: 4 },
  '-': { op: '-', prec: 4 },
  '*': { op: '*', prec: 5 },
  '/': { op: '/', prec: 5 },
  '%': { op: '%', prec: 5 },
};

const KEYWORDS: ReadonlySet<string> = new Set(['true', 'false', 'nil', 'null', 'not', 'and', 'or', 'in']);

function describe(t: Token): string {
  switch (t.type) {
    case 'eof':
      return 'end of input';
    case 'number':
      return `number ${t.text}`;
    case 'string':
      return `string ${t.text.length > 24 ? `${t.text.slice(0, 20)}…` : t.text}`;
    case 'name':
      return KEYWORDS.has(t.value) ? `'${t.value}'` : `name '${t.value}'`;
    case 'punct':
      return `'${t.value}'`;
  }
}

class Parser {
  readonly tokens: readonly Token[];
  index = 0;
  depth = 0;
  /** How many predicates enclose the current position (# is allowed when > 0). */
  predicates = 0;
  nodes = 0;
  readonly heights = new WeakMap<ExprNode, number>();

  constructor(tokens: readonly Token[]) {
    this.tokens = tokens;
  }

  peek(offset = 0): Token {
    const last = this.tokens[this.tokens.length - 1];
    const t = this.tokens[this.index + offset] ?? last;
    if (t === undefined) throw new ExprError('no tokens', 0);
    return t;
  }

  next(): Token {
    const t = this.peek();
    if (t.type !== 'eof') this.index++;
    return t;
  }

  isPunct(value: string, offset = 0): boolean {
    const t = this.peek(offset);
    return t.type === 'punct' && t.value === value;
  }

  accept(value: string): boolean {
    if (!this.isPunct(value)) return false;
    this.index++;
    return true;
  }

  expect(value: string): Token {
    const t = this.peek();
    if (t.type !== 'punct' || t.value !== value) throw new ExprError(`expected '${value}', found ${describe(t)}`, t.pos);
    this.index++;
    return t;
  }

  enter(pos: number): void {
    this.depth++;
    if (this.depth > LIMITS.maxDepth) {
      throw new ExprError(`expression is nested too deeply (more than ${LIMITS.maxDepth} levels)`, pos);
    }
  }

  leave(): void {
    this.depth--;
  }

  /** Registers a node: counts it and checks the tree's height. */
  make<T extends ExprNode>(node: T, children: readonly ExprNode[]): T {
    this.nodes++;
    if (this.nodes > LIMITS.maxNodes) {
      throw new ExprError(`expression is too large (more than ${LIMITS.maxNodes} nodes)`, node.pos);
    }
    let height = 1;
    for (const child of children) height = Math.max(height, (this.heights.get(child) ?? 1) + 1);
    if (height > LIMITS.maxHeight) {
      throw new ExprError(`expression is nested too deeply (syntax tree higher than ${LIMITS.maxHeight})`, node.pos);
    }
    this.heights.set(node, height);
    return node;
  }

  parse(): ExprNode {
    const ast = this.parseExpression();
    const t = this.peek();
    if (t.type !== 'eof') {
      const hint = t.type === 'punct' && (t.value === ')' || t.value === ']') ? ` (no matching opening bracket)` : '';
      throw new ExprError(`unexpected ${describe(t)}${hint}`, t.pos);
    }
    return ast;
  }

  /** at: where a too-deep nesting is reported (an opening bracket, or here). */
  parseExpression(at = this.peek().pos): ExprNode {
    this.enter(at);
    const test = this.parseBinary(1);
    let result = test;
    const q = this.peek();
    if (this.accept('?')) {
      const consequent = this.parseExpression();
      this.expect(':');
      const alternate = this.parseExpression();
      result = this.make({ kind: 'conditional', pos: q.pos, test, consequent, alternate }, [test, consequent, alternate]);
    }
    this.leave();
    return result;
  }

  binaryAt(): BinaryInfo | undefined {
    const t = this.peek();
    if (t.type === 'name' && t.value === 'not') {
      const n = this.peek(1);
      return n.type === 'name' && n.value === 'in' ? { op: 'not in', prec: 3, width: 2 } : undefined;
    }
    if (t.type !== 'punct' && t.type !== 'name') return undefined;
    const info = Object.hasOwn(BINARY, t.value) ? BINARY[t.value] : undefined;
    return info === undefined ? undefined : { ...info, width: 1 };
  }

  parseBinary(minPrec: number): ExprNode {
    let left = this.parseUnary();
    for (;;) {
      const info = this.binaryAt();
      if (info === undefined || info.prec < minPrec) return left;
      const pos = this.peek().pos;
      this.index += info.width;
      const right = this.parseBinary(info.prec + 1);
      left = this.make({ kind: 'binary', pos, op: info.op, left, right }, [left, right]);
    }
  }

  parseUnary(): ExprNode {
    const t = this.peek();
    let op: UnaryOperator | undefined;
    if (t.type === 'punct' && (t.value === '!' || t.value === '-' || t.value === '+')) op = t.value;
    else if (t.type === 'name' && t.value === 'not') op = '!';
    if (op === undefined) return this.parsePostfix(this.parsePrimary());
    this.index++;
    this.enter(t.pos);
    const operand = this.parseUnary();
    this.leave();
    return this.make({ kind: 'unary', pos: t.pos, op, operand }, [operand]);
  }

  parsePostfix(start: ExprNode): ExprNode {
    let node = start;
    for (;;) {
      const t = this.peek();
      if (this.accept('.')) {
        const name = this.next();
        if (name.type !== 'name') throw new ExprError(`expected a property name after '.', found ${describe(name)}`, name.pos);
        checkProperty(name.value, name.pos);
        node = this.make({ kind: 'member', pos: t.pos, object: node, property: name.value }, [node]);
      } else if (this.accept('[')) {
        this.enter(t.pos);
        const index = this.parseExpression();
        this.expect(']');
        this.leave();
        if (index.kind === 'literal' && typeof index.value === 'string') checkProperty(index.value, index.pos);
        if (index.kind === 'unary' && index.op === '-' && index.operand.kind === 'literal') {
          throw new ExprError('negative indexes are not supported', index.pos);
        }
        node = this.make({ kind: 'index', pos: t.pos, object: node, index }, [node, index]);
      } else if (this.isPunct('(')) {
        throw new ExprError('only the built-in functions can be called', t.pos);
      } else {
        return node;
      }
    }
  }

  parsePrimary(): ExprNode {
    const t = this.next();
    switch (t.type) {
      case 'number':
      case 'string':
        return this.make({ kind: 'literal', pos: t.pos, value: t.value }, []);
      case 'eof':
        throw new ExprError('expected an expression, found end of input', t.pos);
      case 'name':
        return this.parseName(t);
      case 'punct':
        break;
    }
    switch (t.value) {
      case '(': {
        const inner = this.parseExpression(t.pos);
        const close = this.peek();
        if (!this.accept(')')) {
          throw new ExprError(`expected ')' to close the '(' at position ${t.pos}, found ${describe(close)}`, close.pos);
        }
        return inner;
      }
      case '[':
        return this.parseArray(t);
      case '#':
        if (this.predicates === 0) throw new ExprError("'#' can only be used inside a predicate", t.pos);
        return this.make({ kind: 'element', pos: t.pos }, []);
      case '.': {
        const name = this.peek();
        if (this.predicates === 0 || name.type !== 'name') throw new ExprError("unexpected '.'", t.pos);
        this.index++;
        checkProperty(name.value, name.pos);
        const element = this.make({ kind: 'element', pos: t.pos }, []);
        return this.make({ kind: 'member', pos: t.pos, object: element, property: name.value }, [element]);
      }
      case '{':
        throw new ExprError(
          "unexpected '{': braces only enclose the predicate of all, any, none, one, count, filter or map",
          t.pos,
        );
      default:
        throw new ExprError(`unexpected ${describe(t)}`, t.pos);
    }
  }

  parseName(t: Token & { type: 'name' }): ExprNode {
    switch (t.value) {
      case 'true':
      case 'false':
        return this.make({ kind: 'literal', pos: t.pos, value: t.value === 'true' }, []);
      case 'nil':
      case 'null':
        return this.make({ kind: 'literal', pos: t.pos, value: null }, []);
      case 'not':
      case 'and':
      case 'or':
      case 'in':
        throw new ExprError(`unexpected '${t.value}'`, t.pos);
    }
    if (this.isPunct('(')) return this.parseCall(t);
    return this.make({ kind: 'identifier', pos: t.pos, name: t.value }, []);
  }

  parseCall(t: Token & { type: 'name' }): ExprNode {
    const spec = FUNCTIONS.get(t.value);
    if (spec === undefined) throw new ExprError(`unknown function '${t.value}'`, t.pos);
    const name = t.value as FunctionName;
    const open = this.expect('(');
    this.enter(open.pos);
    const args: ExprNode[] = [];
    if (!this.accept(')')) {
      for (;;) {
        args.push(spec.predicate && args.length === 1 ? this.parsePredicate() : this.parseExpression());
        if (this.accept(')')) break;
        const sep = this.peek();
        if (!this.accept(',')) {
          throw new ExprError(`expected ',' or ')' in the call of ${name}, found ${describe(sep)}`, sep.pos);
        }
      }
    }
    this.leave();
    if (args.length < spec.min || args.length > spec.max) {
      const wanted =
        spec.max === spec.min
          ? `${spec.min} argument${spec.min === 1 ? '' : 's'}`
          : `at least ${spec.min} argument${spec.min === 1 ? '' : 's'}`;
      throw new ExprError(`${name}() takes ${wanted}, got ${args.length}`, t.pos);
    }
    return this.make({ kind: 'call', pos: t.pos, name, args }, args);
  }

  parsePredicate(): ExprNode {
    const start = this.peek();
    this.predicates++;
    let body: ExprNode;
    if (this.accept('{')) {
      this.enter(start.pos);
      body = this.parseExpression();
      this.expect('}');
      this.leave();
    } else {
      body = this.parseExpression();
    }
    this.predicates--;
    return this.make({ kind: 'predicate', pos: start.pos, body }, [body]);
  }

  parseArray(open: Token): ExprNode {
    this.enter(open.pos);
    const elements: ExprNode[] = [];
    while (!this.accept(']')) {
      elements.push(this.parseExpression());
      if (this.accept(']')) break;
      const sep = this.peek();
      if (!this.accept(',')) throw new ExprError(`expected ',' or ']' in the array, found ${describe(sep)}`, sep.pos);
    }
    this.leave();
    return this.make({ kind: 'array', pos: open.pos, elements }, elements);
  }
}

function checkProperty(name: string, pos: number): void {
  if (FORBIDDEN_PROPERTIES.has(name)) throw new ExprError(`property '${name}' is not accessible`, pos);
}

function lineColumn(src: string, position: number): { line: number; column: number } {
  let line = 1;
  let lineStart = 0;
  const end = Math.min(position, src.length);
  for (let i = 0; i < end; i++) {
    if (src.charCodeAt(i) === 10) {
      line++;
      lineStart = i + 1;
    }
  }
  return { line, column: position - lineStart + 1 };
}

function parseFailure(source: string, message: string, position: number): ParseResult {
  return { ok: false, error: { message, position, ...lineColumn(source, position) } };
}

/**
 * Parses an expression. Never throws: a syntax error, an unknown function, a
 * wrong number of arguments or an exceeded limit comes back with its 0-based
 * position and 1-based line and column.
 */
export function parseExpression(source: string): ParseResult {
  if (typeof source !== 'string') return { ok: false, error: { message: 'expression must be a string', position: 0, line: 1, column: 1 } };
  if (source.length > LIMITS.maxSourceLength) {
    return parseFailure(
      source,
      `expression is too long (${source.length} characters, at most ${LIMITS.maxSourceLength})`,
      LIMITS.maxSourceLength,
    );
  }
  try {
    const ast = new Parser(tokenize(source)).parse();
    return { ok: true, ast };
  } catch (err) {
    if (err instanceof ExprError) return parseFailure(source, err.message, err.pos);
    // Not expected; reported rather than thrown.
    return parseFailure(source, `internal parser error: ${err instanceof Error ? err.message : String(err)}`, 0);
  }
}

/** The names an expression reads and the functions it calls, with their positions, in source order. */
export function namesAndCalls(ast: ExprNode): { names: { name: string; pos: number }[]; calls: { name: FunctionName; pos: number }[] } {
  const names: { name: string; pos: number }[] = [];
  const calls: { name: FunctionName; pos: number }[] = [];
  const visit = (node: ExprNode): void => {
    switch (node.kind) {
      case 'identifier':
        names.push({ name: node.name, pos: node.pos });
        return;
      case 'literal':
      case 'element':
        return;
      case 'array':
        node.elements.forEach(visit);
        return;
      case 'member':
        visit(node.object);
        return;
      case 'index':
        visit(node.object);
        visit(node.index);
        return;
      case 'unary':
        visit(node.operand);
        return;
      case 'binary':
        visit(node.left);
        visit(node.right);
        return;
      case 'conditional':
        visit(node.test);
        visit(node.consequent);
        visit(node.alternate);
        return;
      case 'call':
        calls.push({ name: node.name, pos: node.pos });
        node.args.forEach(visit);
        return;
      case 'predicate':
        visit(node.body);
        return;
    }
  };
  visit(ast);
  const byPos = (x: { pos: number }, y: { pos: number }): number => x.pos - y.pos;
  return { names: names.sort(byPos), calls: calls.sort(byPos) };
}

/** "message (line L, column C)", for a measurement's or a validation message. */
export function formatParseError(error: ParseError): string {
  return `${error.message} (line ${error.line}, column ${error.column})`;
}

// ---------------------------------------------------------------------------
// Evaluator

type Kind = 'nil' | 'boolean' | 'number' | 'string' | 'array' | 'object' | 'time' | 'duration' | 'unsupported';

function kindOf(v: unknown): Kind {
  if (v === null || v === undefined) return 'nil';
  switch (typeof v) {
    case 'boolean':
      return 'boolean';
    case 'number':
      return 'number';
    case 'string':
      return 'string';
    case 'object': {
      if (Array.isArray(v)) return 'array';
      if (v instanceof ExprTime) return 'time';
      if (v instanceof ExprDuration) return 'duration';
      const proto: unknown = Object.getPrototypeOf(v);
      return proto === Object.prototype || proto === null ? 'object' : 'unsupported';
    }
    default:
      return 'unsupported';
  }
}

/** An article for a kind in messages: "an array", "a number", "nil". */
function a(kind: Kind): string {
  if (kind === 'nil') return 'nil';
  if (kind === 'unsupported') return 'an unsupported value';
  return kind === 'array' || kind === 'object' ? `an ${kind}` : `a ${kind}`;
}

interface Context {
  readonly env: object;
  /** What now() returns (ms since the epoch); undefined where there is no now. */
  readonly now: number | undefined;
  steps: number;
  depth: number;
  /** The elements of the enclosing predicates, innermost last. */
  readonly elements: unknown[];
}

function step(ctx: Context, pos: number): void {
  ctx.steps++;
  if (ctx.steps > LIMITS.maxSteps) {
    throw new ExprError(`evaluation took more than ${LIMITS.maxSteps} steps`, pos);
  }
}

/** An own data property, or nil when there is none; never a getter. */
function ownProperty(obj: object, key: string, pos: number): unknown {
  if (FORBIDDEN_PROPERTIES.has(key)) throw new ExprError(`property '${key}' is not accessible`, pos);
  const d = Object.getOwnPropertyDescriptor(obj, key);
  if (d === undefined) return null;
  if (!('value' in d)) throw new ExprError(`property '${key}' is not a data property`, pos);
  return d.value as unknown;
}

function arrayElement(arr: readonly unknown[], i: number, pos: number): unknown {
  const d = Object.getOwnPropertyDescriptor(arr, i);
  if (d === undefined) return null;
  if (!('value' in d)) throw new ExprError(`element ${i} is not a data property`, pos);
  return d.value as unknown;
}

function iterable(v: unknown, what: string, pos: number): readonly unknown[] {
  if (!Array.isArray(v)) throw new ExprError(`${what} expects an array, got ${a(kindOf(v))}`, pos);
  if (v.length > LIMITS.maxArrayLength) {
    throw new ExprError(`${what}: array of ${v.length} elements is longer than ${LIMITS.maxArrayLength}`, pos);
  }
  return v;
}

function number(v: unknown, what: string, pos: number): number {
  if (typeof v !== 'number') {
    const hint = Array.isArray(v) ? ' (a Prometheus vector is an array: use result[0])' : '';
    throw new ExprError(`${what} expects a number, got ${a(kindOf(v))}${hint}`, pos);
  }
  return v;
}

function boolean(v: unknown, what: string, pos: number): boolean {
  if (typeof v !== 'boolean') throw new ExprError(`${what} expects a boolean, got ${a(kindOf(v))}`, pos);
  return v;
}

/** Deep equality for ==, != and in; values of different kinds are unequal. */
function equal(x: unknown, y: unknown, ctx: Context, pos: number, depth: number): boolean {
  if (depth > LIMITS.maxValueDepth) {
    throw new ExprError(`values nested more than ${LIMITS.maxValueDepth} levels cannot be compared`, pos);
  }
  const kx = kindOf(x);
  const ky = kindOf(y);
  if (kx !== ky) return false;
  switch (kx) {
    case 'nil':
      return true;
    case 'boolean':
    case 'number':
    case 'string':
      return x === y;
    case 'time':
    case 'duration':
      return (x as ExprTime | ExprDuration).ms === (y as ExprTime | ExprDuration).ms;
    case 'array': {
      const xs = iterable(x, '==', pos);
      const ys = iterable(y, '==', pos);
      if (xs.length !== ys.length) return false;
      for (let i = 0; i < xs.length; i++) {
        step(ctx, pos);
        if (!equal(arrayElement(xs, i, pos), arrayElement(ys, i, pos), ctx, pos, depth + 1)) return false;
      }
      return true;
    }
    case 'object': {
      const ox = x as object;
      const oy = y as object;
      const keys = Object.keys(ox);
      if (keys.length !== Object.keys(oy).length || keys.length > LIMITS.maxArrayLength) {
        if (keys.length > LIMITS.maxArrayLength) {
          throw new ExprError(`==: object of ${keys.length} keys is larger than ${LIMITS.maxArrayLength}`, pos);
        }
        return false;
      }
      for (const key of keys) {
        step(ctx, pos);
        if (!Object.hasOwn(oy, key) || FORBIDDEN_PROPERTIES.has(key)) return false;
        if (!equal(ownProperty(ox, key, pos), ownProperty(oy, key, pos), ctx, pos, depth + 1)) return false;
      }
      return true;
    }
    case 'unsupported':
      throw new ExprError('cannot compare an unsupported value', pos);
  }
}

function evalNode(node: ExprNode, ctx: Context): unknown {
  step(ctx, node.pos);
  ctx.depth++;
  if (ctx.depth > LIMITS.maxHeight) {
    throw new ExprError(`expression is nested too deeply (more than ${LIMITS.maxHeight} levels)`, node.pos);
  }
  const value = evalInner(node, ctx);
  ctx.depth--;
  return value;
}

function evalInner(node: ExprNode, ctx: Context): unknown {
  switch (node.kind) {
    case 'literal':
      return node.value;
    case 'identifier': {
      if (!Object.hasOwn(ctx.env, node.name)) throw new ExprError(`unknown name '${node.name}'`, node.pos);
      const value = ownProperty(ctx.env, node.name, node.pos);
      return value ?? null;
    }
    case 'element': {
      if (ctx.elements.length === 0) throw new ExprError("'#' outside a predicate", node.pos);
      return ctx.elements[ctx.elements.length - 1];
    }
    case 'array':
      return node.elements.map((e) => evalNode(e, ctx));
    case 'member':
      return member(evalNode(node.object, ctx), node.property, node.pos);
    case 'index':
      return index(evalNode(node.object, ctx), evalNode(node.index, ctx), node.pos);
    case 'unary': {
      const v = evalNode(node.operand, ctx);
      if (node.op === '!') return !boolean(v, "'!'", node.pos);
      const n = number(v, `unary '${node.op}'`, node.pos);
      return node.op === '-' ? -n : n;
    }
    case 'binary':
      return binary(node.op, node.left, node.right, node.pos, ctx);
    case 'conditional':
      return boolean(evalNode(node.test, ctx), "'?:'", node.pos)
        ? evalNode(node.consequent, ctx)
        : evalNode(node.alternate, ctx);
    case 'call':
      return call(node.name, node.args, node.pos, ctx);
    case 'predicate':
      throw new ExprError('a predicate is only valid as an argument', node.pos);
    default: {
      // Only a hand-built tree gets here.
      const { kind, pos } = node as { kind: unknown; pos: unknown };
      const name = typeof kind === 'string' ? JSON.stringify(kind) : typeof kind;
      throw new ExprError(`unknown node kind ${name}`, typeof pos === 'number' ? pos : 0);
    }
  }
}

function member(obj: unknown, property: string, pos: number): unknown {
  const kind = kindOf(obj);
  if (kind !== 'object') throw new ExprError(`cannot read property '${property}' of ${a(kind)}`, pos);
  return ownProperty(obj as object, property, pos) ?? null;
}

function index(obj: unknown, key: unknown, pos: number): unknown {
  const kind = kindOf(obj);
  if (kind === 'array') {
    const arr = obj as readonly unknown[];
    if (typeof key !== 'number') throw new ExprError(`an array index must be a number, got ${a(kindOf(key))}`, pos);
    if (!Number.isInteger(key)) throw new ExprError(`an array index must be an integer, got ${key}`, pos);
    if (key < 0) throw new ExprError(`negative index ${key} is not supported`, pos);
    if (key >= arr.length) throw new ExprError(`index ${key} out of range (length ${arr.length})`, pos);
    return arrayElement(arr, key, pos) ?? null;
  }
  if (kind === 'object') {
    if (typeof key !== 'string') throw new ExprError(`an object key must be a string, got ${a(kindOf(key))}`, pos);
    return ownProperty(obj as object, key, pos) ?? null;
  }
  throw new ExprError(`cannot index ${a(kind)}`, pos);
}

function binary(op: BinaryOperator, leftNode: ExprNode, rightNode: ExprNode, pos: number, ctx: Context): unknown {
  if (op === '&&' || op === '||') {
    const l = boolean(evalNode(leftNode, ctx), `'${op}'`, pos);
    if (op === '&&' ? !l : l) return l;
    return boolean(evalNode(rightNode, ctx), `'${op}'`, pos);
  }
  const l = evalNode(leftNode, ctx);
  const r = evalNode(rightNode, ctx);
  const kl = kindOf(l);
  const kr = kindOf(r);
  switch (op) {
    case '==':
    case '!=': {
      if (kl !== kr && kl !== 'nil' && kr !== 'nil') {
        throw new ExprError(`cannot compare ${a(kl)} with ${a(kr)} using '${op}'`, pos);
      }
      const eq = equal(l, r, ctx, pos, 0);
      return op === '==' ? eq : !eq;
    }
    case '<':
    case '<=':
    case '>':
    case '>=': {
      const timed = kl === kr && (kl === 'time' || kl === 'duration');
      if (!((kl === 'number' && kr === 'number') || (kl === 'string' && kr === 'string') || timed)) {
        throw new ExprError(`cannot compare ${a(kl)} with ${a(kr)} using '${op}'`, pos);
      }
      const x = timed ? (l as ExprTime | ExprDuration).ms : (l as number | string);
      const y = timed ? (r as ExprTime | ExprDuration).ms : (r as number | string);
      if (op === '<') return x < y;
      if (op === '<=') return x <= y;
      if (op === '>') return x > y;
      return x >= y;
    }
    case 'in':
    case 'not in': {
      const found = contains(r, l, op, ctx, pos);
      return op === 'in' ? found : !found;
    }
    case '+':
      if (kl === 'string' && kr === 'string') {
        const s = (l as string) + (r as string);
        if (s.length > LIMITS.maxStringLength) {
          throw new ExprError(`string of ${s.length} characters is longer than ${LIMITS.maxStringLength}`, pos);
        }
        return s;
      }
      return arithmetic(op, l, r, kl, kr, pos);
    case '-':
    case '*':
    case '/':
    case '%':
      return arithmetic(op, l, r, kl, kr, pos);
  }
}

function arithmetic(op: '+' | '-' | '*' | '/' | '%', l: unknown, r: unknown, kl: Kind, kr: Kind, pos: number): number | ExprTime | ExprDuration {
  if (l instanceof ExprTime || l instanceof ExprDuration || r instanceof ExprTime || r instanceof ExprDuration) return timeArithmetic(op, l, r, kl, kr, pos);
  if (typeof l !== 'number' || typeof r !== 'number') {
    throw new ExprError(`cannot apply '${op}' to ${a(kl)} and ${a(kr)}`, pos);
  }
  switch (op) {
    case '+':
      return l + r;
    case '-':
      return l - r;
    case '*':
      return l * r;
    case '/':
    case '%':
      if (r === 0) throw new ExprError('division by zero', pos);
      return op === '/' ? l / r : l % r;
  }
}

/** time ± duration, time - time, duration ± duration; anything else is an error. */
function timeArithmetic(op: '+' | '-' | '*' | '/' | '%', l: unknown, r: unknown, kl: Kind, kr: Kind, pos: number): ExprTime | ExprDuration {
  const ms = (v: unknown): number => (v as ExprTime | ExprDuration).ms;
  if (op === '+' || op === '-') {
    if (kl === 'time' && kr === 'duration') return new ExprTime(op === '+' ? ms(l) + ms(r) : ms(l) - ms(r));
    if (kl === 'duration' && kr === 'time' && op === '+') return new ExprTime(ms(l) + ms(r));
    if (kl === 'duration' && kr === 'duration') return new ExprDuration(op === '+' ? ms(l) + ms(r) : ms(l) - ms(r));
    if (kl === 'time' && kr === 'time' && op === '-') return new ExprDuration(ms(l) - ms(r));
  }
  throw new ExprError(`cannot apply '${op}' to ${a(kl)} and ${a(kr)}`, pos);
}

function contains(haystack: unknown, needle: unknown, op: string, ctx: Context, pos: number): boolean {
  const kind = kindOf(haystack);
  if (kind === 'array') {
    const arr = iterable(haystack, `'${op}'`, pos);
    for (let i = 0; i < arr.length; i++) {
      step(ctx, pos);
      if (equal(needle, arrayElement(arr, i, pos), ctx, pos, 0)) return true;
    }
    return false;
  }
  if (kind === 'object') {
    if (typeof needle !== 'string') {
      throw new ExprError(`'${op}' an object needs a string key, got ${a(kindOf(needle))}`, pos);
    }
    return Object.hasOwn(haystack as object, needle);
  }
  throw new ExprError(`'${op}' needs an array or an object on the right, got ${a(kind)}`, pos);
}

function numbers(v: unknown, what: string, ctx: Context, pos: number): number[] {
  const arr = iterable(v, what, pos);
  const out: number[] = [];
  for (let i = 0; i < arr.length; i++) {
    step(ctx, pos);
    const e = arrayElement(arr, i, pos);
    if (typeof e !== 'number') throw new ExprError(`${what} expects an array of numbers, element ${i} is ${a(kindOf(e))}`, pos);
    out.push(e);
  }
  return out;
}

const INT = /^[+-]?\d+$/;
const FLOAT = /^[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?$/;
const SPECIAL_FLOAT = /^([+-]?)(inf|infinity|nan)$/i;

function asInt(v: unknown, pos: number, what = 'asInt()'): number {
  if (typeof v === 'number') {
    if (!Number.isFinite(v)) throw new ExprError(`${what} cannot convert ${v} to an integer`, pos);
    return Math.trunc(v);
  }
  if (typeof v === 'string') {
    const n = Number(v);
    if (!INT.test(v)) throw new ExprError(`${what} cannot parse ${JSON.stringify(v.slice(0, 32))} as an integer`, pos);
    if (!Number.isSafeInteger(n)) throw new ExprError(`${what}: ${v.slice(0, 32)} is out of range`, pos);
    return n;
  }
  throw new ExprError(`${what} expects a number or a string, got ${a(kindOf(v))}`, pos);
}

function asFloat(v: unknown, pos: number, what = 'asFloat()'): number {
  if (typeof v === 'number') return v;
  if (typeof v === 'string') {
    if (FLOAT.test(v)) {
      const n = Number(v);
      if (!Number.isFinite(n)) throw new ExprError(`${what}: ${v.slice(0, 32)} is out of range`, pos);
      return n;
    }
    const special = SPECIAL_FLOAT.exec(v);
    if (special !== null) {
      if ((special[2] ?? '').toLowerCase() === 'nan') return Number.NaN;
      return special[1] === '-' ? Number.NEGATIVE_INFINITY : Number.POSITIVE_INFINITY;
    }
    throw new ExprError(`${what} cannot parse ${JSON.stringify(v.slice(0, 32))} as a number`, pos);
  }
  throw new ExprError(`${what} expects a number or a string, got ${a(kindOf(v))}`, pos);
}

function call(name: FunctionName, args: readonly ExprNode[], pos: number, ctx: Context): unknown {
  const arg = (i: number): ExprNode => {
    const n = args[i];
    if (n === undefined) throw new ExprError(`${name}() is missing argument ${i + 1}`, pos);
    return n;
  };
  const value = (i: number): unknown => evalNode(arg(i), ctx);
  const what = `${name}()`;
  switch (name) {
    case 'len': {
      const v = value(0);
      const kind = kindOf(v);
      if (kind === 'array' || kind === 'string') return (v as string | readonly unknown[]).length;
      if (kind === 'object') return Object.keys(v as object).length;
      throw new ExprError(`len() expects an array, a string or an object, got ${a(kind)}`, pos);
    }
    case 'all':
    case 'any':
    case 'none':
    case 'one':
    case 'count':
    case 'filter':
    case 'map':
      return predicateCall(name, iterable(value(0), what, pos), arg(1), pos, ctx);
    case 'isNaN':
      return Number.isNaN(number(value(0), what, pos));
    case 'isInf': {
      const n = number(value(0), what, pos);
      return n === Number.POSITIVE_INFINITY || n === Number.NEGATIVE_INFINITY;
    }
    case 'default': {
      const v = value(0);
      return kindOf(v) === 'nil' ? value(1) : v;
    }
    case 'asInt':
      return asInt(value(0), pos);
    case 'asFloat':
    case 'float':
      return asFloat(value(0), pos, what);
    case 'int':
      return asInt(value(0), pos, what);
    case 'string': {
      const v = value(0);
      if (typeof v === 'string') return v;
      if (typeof v === 'boolean') return String(v);
      if (typeof v === 'number') return Number.isNaN(v) ? 'NaN' : v === Infinity ? '+Inf' : v === -Infinity ? '-Inf' : String(v);
      throw new ExprError(`string() expects a number, a boolean or a string, got ${a(kindOf(v))}`, pos);
    }
    case 'abs':
      return Math.abs(number(value(0), what, pos));
    case 'min':
    case 'max': {
      let ns: number[];
      if (args.length === 1) {
        const v = value(0);
        ns = Array.isArray(v) ? numbers(v, what, ctx, pos) : [number(v, what, pos)];
      } else {
        ns = args.map((_, i) => number(value(i), what, pos));
      }
      if (ns.length === 0) throw new ExprError(`${what} of an empty array`, pos);
      return name === 'min' ? Math.min(...ns) : Math.max(...ns);
    }
    case 'sum':
    case 'avg':
    case 'mean': {
      const ns = numbers(value(0), what, ctx, pos);
      let total = 0;
      for (const n of ns) total += n;
      if (name === 'sum') return total;
      if (ns.length === 0) throw new ExprError(`${what} of an empty array`, pos);
      return total / ns.length;
    }
    case 'first':
    case 'last': {
      const arr = value(0);
      if (!Array.isArray(arr)) throw new ExprError(`${what} expects an array, got ${a(kindOf(arr))}`, pos);
      if (arr.length === 0) return null;
      return arrayElement(arr, name === 'first' ? 0 : arr.length - 1, pos) ?? null;
    }
    case 'now':
      if (ctx.now === undefined) throw new ExprError('now() is not available here (only in a range query\'s start and end)', pos);
      return new ExprTime(ctx.now);
    case 'duration': {
      const text = value(0);
      if (typeof text !== 'string') throw new ExprError(`duration() expects a string such as "5m", got ${a(kindOf(text))}`, pos);
      try {
        return new ExprDuration(parseDuration(text));
      } catch (err) {
        throw new ExprError(`duration(${JSON.stringify(text.slice(0, 32))}): ${err instanceof Error ? err.message : String(err)}`, pos);
      }
    }
  }
}

function predicateCall(
  name: 'all' | 'any' | 'none' | 'one' | 'count' | 'filter' | 'map',
  arr: readonly unknown[],
  predicate: ExprNode,
  pos: number,
  ctx: Context,
): unknown {
  if (predicate.kind !== 'predicate') throw new ExprError(`${name}() expects a predicate`, predicate.pos);
  const body = predicate.body;
  const mapped: unknown[] = [];
  let matches = 0;
  for (let i = 0; i < arr.length; i++) {
    step(ctx, pos);
    const element = arrayElement(arr, i, pos) ?? null;
    ctx.elements.push(element);
    const v = evalNode(body, ctx);
    ctx.elements.pop();
    if (name === 'map') {
      mapped.push(v);
      continue;
    }
    const ok = boolean(v, `the predicate of ${name}()`, predicate.pos);
    if (ok) {
      matches++;
      if (name === 'filter') mapped.push(element);
    }
    if (name === 'all' && !ok) return false;
    if (name === 'any' && ok) return true;
    if (name === 'none' && ok) return false;
    if (name === 'one' && matches > 1) return false;
  }
  switch (name) {
    case 'all':
    case 'none':
      return true;
    case 'any':
      return false;
    case 'one':
      return matches === 1;
    case 'count':
      return matches;
    case 'filter':
    case 'map':
      return mapped;
  }
}

/**
 * Evaluates a parsed expression with the given names (result and any others).
 * Never throws: a type error, an index out of range, division by zero, an
 * unknown name or an exceeded limit comes back as an error naming its
 * position. nil is returned as null.
 */
export function evaluate(ast: ExprNode, env: Env, options: { now?: Date } = {}): EvalResult {
  if (typeof env !== 'object' || (env as unknown) === null) return { ok: false, error: 'the environment must be an object' };
  const ctx: Context = { env, now: options.now?.getTime(), steps: 0, depth: 0, elements: [] };
  try {
    return { ok: true, value: evalNode(ast, ctx) ?? null };
  } catch (err) {
    if (err instanceof ExprError) return { ok: false, error: `${err.message} (at position ${err.pos})` };
    // A malformed hand-built tree, or the engine's own limits.
    return { ok: false, error: `evaluation failed: ${err instanceof Error ? err.message : String(err)}` };
  }
}

/**
 * Parses and evaluates a successCondition or failureCondition over a
 * measurement's result. A parse error, an evaluation error or a value that is
 * not a boolean is an error (the caller records an Error measurement).
 */
export function evaluateCondition(source: string, result: unknown): ConditionResult {
  const parsed = parseExpression(source);
  if (!parsed.ok) return { ok: false, error: formatParseError(parsed.error) };
  const evaluated = evaluate(parsed.ast, { result });
  if (!evaluated.ok) return evaluated;
  if (typeof evaluated.value !== 'boolean') {
    return { ok: false, error: `the condition must be a boolean, got ${a(kindOf(evaluated.value))}` };
  }
  return { ok: true, value: evaluated.value };
}

/**
 * Parses and evaluates an expression that must give a time, with now() at
 * `now`: a range query's start and end (`now() - duration("5m")`).
 */
export function evaluateTime(source: string, now: Date): { ok: true; value: Date } | { ok: false; error: string } {
  const parsed = parseExpression(source);
  if (!parsed.ok) return { ok: false, error: formatParseError(parsed.error) };
  const evaluated = evaluate(parsed.ast, { result: null }, { now });
  if (!evaluated.ok) return evaluated;
  if (!(evaluated.value instanceof ExprTime)) return { ok: false, error: `must be a time such as now() - duration("5m"), got ${a(kindOf(evaluated.value))}` };
  return { ok: true, value: new Date(evaluated.value.ms) };
}
