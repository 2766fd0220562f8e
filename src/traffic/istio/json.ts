// JSON helpers for the Istio router's objects.
import { isRecord } from '../objects.ts';

export type Json = Record<string, unknown>;

/** Structural equality of JSON values; object key order does not count. */
export function jsonEqual(a: unknown, b: unknown): boolean {
  if (a === b) return true;
  if (Array.isArray(a)) return Array.isArray(b) && a.length === b.length && a.every((x, i) => jsonEqual(x, b[i]));
  if (isRecord(a)) {
    if (!isRecord(b)) return false;
    const keys = Object.keys(a).filter((k) => a[k] !== undefined);
    const otherKeys = Object.keys(b).filter((k) => b[k] !== undefined);
    return keys.length === otherKeys.length && keys.every((k) => k in b && jsonEqual(a[k], b[k]));
  }
  return false;
}

/** The list at `obj[key]`, undefined when absent or not a list. */
export function listAt(obj: unknown, key: string): unknown[] | undefined {
  if (!isRecord(obj)) return undefined;
  const value = obj[key];
  return Array.isArray(value) ? value : undefined;
}

export function stringAt(obj: unknown, key: string): string | undefined {
  if (!isRecord(obj)) return undefined;
  const value = obj[key];
  return typeof value === 'string' ? value : undefined;
}
