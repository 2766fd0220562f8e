// Pause durations, as the engine reads them: the API's one duration parser
// (src/api/duration.ts), returning undefined rather than throwing for what is
// not a duration (the spec is validated before it reaches the engine), and
// exact to the nanosecond ("100us" is 0.1 ms). And how a step prints one.
import { parseDurationNanoseconds } from '../api/duration.ts';

/** Milliseconds of a pause duration, or undefined when it is not one. */
export function durationMs(value: number | string | undefined): number | undefined {
  if (value === undefined) return undefined;
  try {
    return Number(parseDurationNanoseconds(typeof value === 'string' ? value.trim() : value)) / 1e6;
  } catch {
    return undefined;
  }
}

/** How a step prints a duration: integers as seconds, strings as written. */
export function formatDuration(value: number | string): string {
  return typeof value === 'number' ? `${value}s` : value;
}
