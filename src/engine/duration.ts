// Pause durations: an integer number of seconds, or a Go duration string
// ("30s", "1m30s", "500ms", "1h", "1.5h"). The spec is validated before it
// reaches the engine; this parser only has to be right for valid input and
// return undefined for anything else.

const UNIT_MS: Record<string, number> = {
  ns: 1e-6,
  us: 1e-3,
  µs: 1e-3,
  μs: 1e-3,
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
};

const PART = /^(\d+(?:\.\d*)?|\.\d+)(ns|us|µs|μs|ms|s|m|h)/;

/** Milliseconds of a pause duration, or undefined when it is not one. */
export function durationMs(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') return Number.isInteger(value) && value >= 0 ? value * 1000 : undefined;
  const s = value.trim();
  if (/^\d+$/.test(s)) return Number(s) * 1000;
  if (s === '0') return 0;
  let rest = s;
  let total = 0;
  if (rest.length === 0) return undefined;
  while (rest.length > 0) {
    const m = PART.exec(rest);
    if (m === null) return undefined;
    const [whole, num = '', unit = ''] = m;
    total += Number(num) * (UNIT_MS[unit] ?? Number.NaN);
    rest = rest.slice(whole.length);
  }
  return Number.isFinite(total) ? total : undefined;
}

/** How a step prints a duration: integers as seconds, strings as written. */
export function formatDuration(value: number | string): string {
  return typeof value === 'number' ? `${value}s` : value;
}
