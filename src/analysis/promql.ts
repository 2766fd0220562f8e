// PromQL syntax checking for the query fields of analysis templates and runs
// (prometheus.query, the judge's baseline/canary queries), with the
// Prometheus project's own grammar (@prometheus-io/lezer-promql, the one
// Prometheus' web UI uses). Pure; what validation and `weir lint` report.
//
// The lezer parser never throws: it recovers from errors and leaves error
// nodes (⚠) in the tree, so a query is invalid when its tree holds one (or an
// unterminated string literal, which the grammar's token accepts). Only the
// first error is reported: the ones after it are mostly its echoes.
//
// `{{args.x}}` placeholders (any `{{...}}`: spaces inside the braces, names
// with dashes; see args.ts) are replaced before parsing by text of the same
// length, so positions stay those of the query as written:
// - inside a string literal or a comment: letters (`"{{args.ns}}"` is a
//   label value whatever the argument holds);
// - anywhere else a placeholder can stand for a number or duration
//   (`> {{args.threshold}}`, `[{{args.window}}]`, `{{args.n}}m`), a name
//   (`{{args.metric}}_total`, `by ({{args.label}})`), a whole expression, a
//   quoted string, an aggregation (`{{args.agg}}(...)`), an operator or
//   nothing at all (an optional `,code="200"`). Each is tried, one
//   placeholder at a time, until the query parses; a query that parses with
//   some choice is valid, since some argument value makes it so.
// When no choice parses, the first error is reported only if it is away from
// every placeholder: one at or next to a placeholder may be the argument's
// doing, and a valid query is never reported as invalid because of one.
// (Arguments are values, not pieces of syntax: one that would close a
// bracket the query leaves open elsewhere is not imagined.) A `{{` without
// `}}` is not checked here (validation reports it).
import { parser } from '@prometheus-io/lezer-promql';
import { scanPlaceholders } from '../api/analysis.ts';
import type { QueryChecker } from '../api/validate.ts';

/** A syntax error in a query: what is wrong and where, 1-based within the query. */
export interface PromQLProblem {
  message: string;
  line: number;
  column: number;
  /** 0-based offset of the error in the query. */
  offset: number;
}

interface ErrorNode {
  from: number;
  to: number;
  /** The name of the node the parser put the error in (FunctionCallBody, LabelMatchers, ...). */
  parent: string | undefined;
  /** What is right before the error in the same parent, when it is a named node. */
  before: { name: string; from: number; to: number } | undefined;
}

interface Parsed {
  errors: ErrorNode[];
  /** Spans of string literals and comments, where any text goes. */
  opaque: { from: number; to: number }[];
}

const OPAQUE = new Set(['StringLiteral', 'LineComment']);

/** An unterminated "..." or '...' (the grammar's token takes them; Prometheus does not). */
function unterminated(text: string): boolean {
  const quote = text[0];
  if (quote === '`') return false; // the raw-string token requires its closing backtick
  for (let i = 1; i < text.length; i++) {
    const c = text[i];
    if (c === '\\') i++;
    else if (c === quote) return i !== text.length - 1;
  }
  return true;
}

function parse(query: string): Parsed {
  const tree = parser.parse(query);
  const errors: ErrorNode[] = [];
  const opaque: Parsed['opaque'] = [];
  tree.iterate({
    enter(ref) {
      if (ref.type.isError) {
        const node = ref.node;
        const prev = node.prevSibling;
        errors.push({ from: ref.from, to: ref.to, parent: node.parent?.name, before: prev && !prev.type.isError ? { name: prev.name, from: prev.from, to: prev.to } : undefined });
        return false;
      }
      if (OPAQUE.has(ref.name)) {
        opaque.push({ from: ref.from, to: ref.to });
        if (ref.name === 'StringLiteral' && unterminated(query.slice(ref.from, ref.to))) errors.push({ from: ref.from, to: ref.to, parent: 'StringLiteral', before: undefined });
        return false;
      }
      return undefined;
    },
  });
  errors.sort((a, b) => a.from - b.from || a.to - b.to);
  return { errors, opaque };
}

/** What a bare placeholder of `length` characters may stand for, in the order tried. */
function candidates(length: number): string[] {
  const pad = (text: string): string => text + ' '.repeat(Math.max(0, length - text.length));
  return [
    'x'.repeat(length), // a name or a whole selector
    '1'.repeat(length), // a number, or a duration in seconds (or with the unit after it)
    `"${'x'.repeat(Math.max(0, length - 2))}"`, // a quoted string
    ' '.repeat(length), // nothing (an optional part)
    pad('sum'), // an aggregation
    pad('>'), // a binary operator
  ];
}

function lineColumn(text: string, offset: number): { line: number; column: number } {
  let line = 1;
  let start = 0;
  for (let i = 0; i < offset && i < text.length; i++) {
    if (text[i] === '\n') {
      line++;
      start = i + 1;
    }
  }
  return { line, column: offset - start + 1 };
}

/** The token at `offset` (after spaces), for messages: a name, a number, a string, an operator or one character. */
function tokenAt(text: string, offset: number): string | undefined {
  const rest = text.slice(offset).replace(/^\s+/, '');
  if (rest === '') return undefined;
  const m = /^(?:[A-Za-z_:][\w:]*|[0-9.][\w.]*|"(?:[^"\\\n]|\\.)*"?|'(?:[^'\\\n]|\\.)*'?|==|!=|>=|<=|=~|!~|\S)/.exec(rest);
  const token = m?.[0] ?? rest.charAt(0);
  return token.length > 40 ? `${token.slice(0, 40)}...` : token;
}

const CLOSERS: Record<string, string> = { '(': ')', '[': ']', '{': '}' };

/** What may come next inside a node where the parser stopped short (lists and brackets). */
const EXPECTED: Partial<Record<string, string>> = {
  LabelMatchers: '"," or "}"',
  GroupingLabels: '"," or ")"',
  FunctionCallBody: '"," or ")"',
  ParenExpr: '")"',
  MatrixSelector: '"]"',
  SubqueryExpr: '"]"',
};

/** The first bracket that is not closed, outside strings and comments. */
function unclosedBracket(query: string, opaque: Parsed['opaque']): { bracket: string; offset: number } | undefined {
  const stack: { bracket: string; offset: number }[] = [];
  let span = 0;
  for (let i = 0; i < query.length; i++) {
    while (span < opaque.length && (opaque[span]?.to ?? 0) <= i) span++;
    const o = opaque[span];
    if (o && o.from <= i) {
      i = o.to - 1;
      continue;
    }
    const c = query.charAt(i);
    if (c in CLOSERS) stack.push({ bracket: c, offset: i });
    else if (c === ')' || c === ']' || c === '}') {
      const top = stack.at(-1);
      if (top && CLOSERS[top.bracket] === c) stack.pop();
      else return undefined; // a stray closer: the error says so itself
    }
  }
  return stack.at(-1);
}

function describeError(query: string, parsed: Parsed, error: ErrorNode): { message: string; offset: number } {
  const text = query.slice(error.from, error.to);
  if (error.parent === 'StringLiteral') return { message: `unterminated quoted string ${tokenAt(query, error.from) ?? ''}`, offset: error.from };
  // `foo(...)`: a name the grammar does not know as a function, then "(".
  if (error.parent === 'VectorSelector' && error.before?.name === 'Identifier' && error.before.to === error.from && text.startsWith('(')) {
    return { message: `unknown function ${JSON.stringify(query.slice(error.before.from, error.before.to))}`, offset: error.before.from };
  }
  if (text.trim() !== '') {
    const hint = (error.parent === 'UnquotedLabelMatcher' || error.parent === 'QuotedLabelMatcher') && error.before?.name === 'MatchOp' ? ': a label value is a quoted string' : '';
    const shown = text.trim().length > 40 ? `${text.trim().slice(0, 40)}...` : text.trim();
    return { message: `unexpected ${JSON.stringify(shown)}${hint}`, offset: error.from + (text.length - text.trimStart().length) };
  }
  const next = tokenAt(query, error.from);
  if (next !== undefined && !next.startsWith('#')) {
    const expected = error.parent === undefined ? undefined : EXPECTED[error.parent];
    return { message: `unexpected ${JSON.stringify(next)}${expected === undefined ? '' : `: expected ${expected}`}`, offset: query.indexOf(next, error.from) };
  }
  // The query ends early: point right after its last character (not past a block scalar's newline).
  const end = Math.min(error.from, query.trimEnd().length);
  const open = unclosedBracket(query, parsed.opaque);
  if (open) {
    const at = lineColumn(query, open.offset);
    const where = query.includes('\n') ? `line ${at.line}, column ${at.column}` : `column ${at.column}`;
    return { message: `the query ends before ${JSON.stringify(open.bracket)} at ${where} is closed`, offset: end };
  }
  return { message: query.trim() === '' ? 'the query is empty' : 'the query ends in the middle of an expression', offset: end };
}

interface Slot {
  start: number;
  end: number;
}

function fill(query: string, slots: readonly Slot[], texts: readonly string[]): string {
  let out = '';
  let from = 0;
  slots.forEach((slot, i) => {
    out += query.slice(from, slot.start) + (texts[i] ?? '');
    from = slot.end;
  });
  return out + query.slice(from);
}

/** Fewer errors is better; with as many, the one whose first error comes later. */
function better(a: Parsed, b: Parsed): boolean {
  if (a.errors.length !== b.errors.length) return a.errors.length < b.errors.length;
  return (a.errors[0]?.from ?? Infinity) > (b.errors[0]?.from ?? Infinity);
}

/**
 * The first syntax error of a PromQL query, undefined when it parses. The
 * query may hold `{{args.x}}` placeholders (see the top of this file).
 */
export function checkPromQL(query: string): PromQLProblem | undefined {
  const scan = scanPlaceholders(query);
  if (scan.unterminated !== undefined) return undefined;
  const slots: Slot[] = scan.placeholders.map((p) => ({ start: p.start, end: p.end }));
  const letters = slots.map((s) => 'x'.repeat(s.end - s.start));
  let best = parse(fill(query, slots, letters));
  // Which placeholders are bare (not in a string or comment), from where the grammar puts the strings.
  const bare = slots.map((s) => !best.opaque.some((o) => o.from <= s.start && s.end <= o.to));
  const texts = [...letters];
  const options = slots.map((s) => candidates(s.end - s.start));
  for (let round = 0; round < 3 && best.errors.length > 0; round++) {
    let improved = false;
    for (let i = 0; i < slots.length && best.errors.length > 0; i++) {
      if (!bare[i]) continue;
      for (const option of options[i] ?? []) {
        if (option === texts[i]) continue;
        const trial = [...texts];
        trial[i] = option;
        const parsed = parse(fill(query, slots, trial));
        if (better(parsed, best)) {
          best = parsed;
          texts[i] = option;
          improved = true;
          if (parsed.errors.length === 0) break;
        }
      }
    }
    if (!improved) break;
  }
  const first = best.errors[0];
  if (first === undefined) return undefined;
  // An error at or next to a placeholder (only spaces between) may be the argument's doing.
  const near = (from: number, to: number): boolean =>
    slots.some(
      (s, i) =>
        bare[i] === true &&
        ((from < s.end && to > s.start) || (from >= s.end && query.slice(s.end, from).trim() === '') || (to <= s.start && query.slice(to, s.start).trim() === '')),
    );
  if (near(first.from, first.to)) return undefined;
  const filled = fill(query, slots, texts);
  const { message, offset } = describeError(filled, best, first);
  if (near(offset, offset)) return undefined;
  return { message, offset, ...lineColumn(query, offset) };
}

/** checkPromQL as the analysis validators take it (api/validate.ts). */
export const checkQuery: QueryChecker = (query) => checkPromQL(query);
