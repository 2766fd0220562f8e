// Durations as Argo Rollouts writes them: an integer is a number of seconds;
// a string is either an integer (seconds again, as Argo's pause step accepts
// "10") or a Go duration ("30s", "1m30s", "1.5h", "500ms"), parsed the way Go's
// time.ParseDuration does. Negative durations are rejected: Argo treats them
// as invalid ("Duration needs to be greater than 0").

/** Nanoseconds per unit, as Go's time package names them (µ as U+00B5 or U+03BC). */
const UNITS: ReadonlyMap<string, bigint> = new Map([
  ['ns', 1n],
  ['us', 1_000n],
  ['\u00b5s', 1_000n],
  ['\u03bcs', 1_000n],
  ['ms', 1_000_000n],
  ['s', 1_000_000_000n],
  ['m', 60_000_000_000n],
  ['h', 3_600_000_000_000n],
]);

const NANOSECONDS_PER_SECOND = 1_000_000_000n;
/** Go's time.Duration is an int64 of nanoseconds. */
const MAX_NANOSECONDS = 2n ** 63n - 1n;
/** Argo keeps an integer duration in an int32 (intstr.IntOrString). */
const MAX_SECONDS = 2 ** 31 - 1;

const HINT = 'expected whole seconds (e.g. 30) or a Go duration such as "30s", "1m30s", "1.5h" or "500ms" (units ns, us, ms, s, m, h)';

function invalid(value: string, why: string): Error {
  return new Error(`invalid duration ${JSON.stringify(value)}: ${why}; ${HINT}`);
}

/** Parses a Go duration string (without sign handling) into nanoseconds. */
function parseGoDuration(text: string, original: string): bigint {
  if (text === '0') return 0n;
  if (text === '') throw invalid(original, 'empty');
  let total = 0n;
  let i = 0;
  while (i < text.length) {
    const start = i;
    while (i < text.length && isDigit(text[i])) i++;
    const whole = text.slice(start, i);
    let fraction = '';
    if (text[i] === '.') {
      i++;
      const fractionStart = i;
      while (i < text.length && isDigit(text[i])) i++;
      fraction = text.slice(fractionStart, i);
    }
    if (whole === '' && fraction === '') throw invalid(original, `expected a number at position ${start + 1}`);
    const unitStart = i;
    while (i < text.length && text[i] !== '.' && !isDigit(text[i])) i++;
    const unitName = text.slice(unitStart, i);
    if (unitName === '') throw invalid(original, `missing unit after ${JSON.stringify(text.slice(start, i))}`);
    const unit = UNITS.get(unitName);
    if (unit === undefined) throw invalid(original, `unknown unit ${JSON.stringify(unitName)}`);
    let nanoseconds = BigInt(whole === '' ? '0' : whole) * unit;
    if (fraction !== '') nanoseconds += (BigInt(fraction) * unit) / 10n ** BigInt(fraction.length);
    total += nanoseconds;
    if (total > MAX_NANOSECONDS) throw invalid(original, 'too large');
  }
  return total;
}

function isDigit(c: string | undefined): boolean {
  return c !== undefined && c >= '0' && c <= '9';
}

/**
 * Parses a duration into nanoseconds (the one parser of durations; the
 * millisecond forms below wrap it).
 *
 * - a number must be a non-negative integer: seconds (`30` → 30 s);
 * - a string of digits is seconds too (`"10"` → 10 s), as Argo accepts;
 * - any other string is a Go duration (`"1m30s"`, `"1.5h"`, `"500ms"`, `"100us"`).
 *
 * Throws an Error saying what is wrong for anything else: negative values,
 * fractions of a second given as a number, empty strings, unknown units
 * (`"5 minutes"`), spaces.
 */
export function parseDurationNanoseconds(value: number | string): bigint {
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) throw new Error(`invalid duration ${String(value)}: a number must be a whole number of seconds; ${HINT}`);
    if (value < 0) throw new Error(`invalid duration ${String(value)}: must not be negative`);
    if (value > MAX_SECONDS) throw new Error(`invalid duration ${String(value)}: too large (at most ${MAX_SECONDS} seconds)`);
    return BigInt(value) * NANOSECONDS_PER_SECOND;
  }
  if (typeof value !== 'string') throw new Error(`invalid duration: expected a number or a string, got ${typeof value}`);
  if (value === '') throw invalid(value, 'empty');
  let text = value;
  let sign = '';
  if (text.startsWith('+') || text.startsWith('-')) {
    sign = text.slice(0, 1);
    text = text.slice(1);
  }
  if (/^[0-9]+$/.test(text)) {
    const seconds = Number(text);
    if (sign === '-' && seconds !== 0) throw invalid(value, 'must not be negative');
    if (seconds > MAX_SECONDS) throw invalid(value, `too large (at most ${MAX_SECONDS} seconds)`);
    return BigInt(text) * NANOSECONDS_PER_SECOND;
  }
  const nanoseconds = parseGoDuration(text, value);
  if (sign === '-' && nanoseconds !== 0n) throw invalid(value, 'must not be negative');
  return nanoseconds;
}

/**
 * Parses a duration into milliseconds (rounded down to a whole millisecond):
 * `30` and `"30"` → 30000, `"1m30s"` → 90000. Throws as parseDurationNanoseconds does.
 */
export function parseDuration(value: number | string): number {
  return Number(parseDurationNanoseconds(value) / 1_000_000n);
}

/** Whether parseDuration accepts the value. */
export function isValidDuration(value: unknown): boolean {
  if (typeof value !== 'number' && typeof value !== 'string') return false;
  try {
    parseDuration(value);
    return true;
  } catch {
    return false;
  }
}
