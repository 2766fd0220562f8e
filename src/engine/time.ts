// Times as the status writes them: RFC 3339 to the second (metav1.Time), or
// with milliseconds when a deadline falls between seconds.

/** now, truncated to the second, as RFC 3339 ("2024-01-02T03:04:05Z"). */
export function rfc3339(ms: number): string {
  return new Date(Math.floor(ms / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** An instant to requeue at: seconds precision when whole, else milliseconds. */
export function instant(ms: number): string {
  const iso = new Date(ms).toISOString();
  return iso.endsWith('.000Z') ? iso.replace('.000Z', 'Z') : iso;
}

/** Milliseconds of an RFC 3339 time, or undefined when it does not parse. */
export function parseTime(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const ms = Date.parse(value);
  return Number.isNaN(ms) ? undefined : ms;
}
