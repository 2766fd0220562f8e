// Stable hashes of pod templates and canary steps, as Kubernetes and Argo
// Rollouts compute them: FNV-1a 32-bit over a canonical rendering, with the
// decimal digits of the sum mapped onto Kubernetes' SafeEncodeString alphabet
// (no vowels, no look-alike characters), so names never spell words.

/** Kubernetes' rand.SafeEncodeString alphabet. */
const SAFE_ALPHABET = 'bcdfghjklmnpqrstvwxz2456789';

const FNV_OFFSET_32 = 0x811c9dc5;
const FNV_PRIME_32 = 0x01000193;

/** FNV-1a 32-bit of the given bytes (unsigned). */
export function fnv1a32(bytes: Uint8Array, seed: number = FNV_OFFSET_32): number {
  let hash = seed >>> 0;
  for (const byte of bytes) {
    hash ^= byte;
    hash = Math.imul(hash, FNV_PRIME_32) >>> 0;
  }
  return hash >>> 0;
}

/** Kubernetes' SafeEncodeString: every character becomes alphabet[code % 27]. */
export function safeEncodeString(s: string): string {
  let out = '';
  for (let i = 0; i < s.length; i++) out += SAFE_ALPHABET[s.charCodeAt(i) % SAFE_ALPHABET.length] ?? '';
  return out;
}

/** JSON with object keys sorted at every depth; undefined members are left out, as JSON.stringify does. */
export function canonicalJson(value: unknown): string {
  return JSON.stringify(sortKeys(value));
}

function sortKeys(value: unknown): unknown {
  if (Array.isArray(value)) return value.map((v: unknown) => (v === undefined ? null : sortKeys(v)));
  if (value !== null && typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const key of Object.keys(value).sort()) {
      const v = (value as Record<string, unknown>)[key];
      if (v !== undefined) out[key] = sortKeys(v);
    }
    return out;
  }
  return value;
}

const encoder = new TextEncoder();

/**
 * The pod-template hash of a Rollout's template: FNV-1a over the canonical
 * JSON, then (when given) collisionCount as 4 little-endian bytes, as
 * Kubernetes' ComputeHash does; rendered with SafeEncodeString.
 */
export function podTemplateHash(template: unknown, collisionCount?: number): string {
  let hash = fnv1a32(encoder.encode(canonicalJson(template ?? {})));
  if (collisionCount !== undefined) {
    const bytes = new Uint8Array(4);
    new DataView(bytes.buffer).setUint32(0, collisionCount >>> 0, true);
    hash = fnv1a32(bytes, hash);
  }
  return safeEncodeString(String(hash));
}

/** status.currentStepHash: the hash of the canary steps (Argo's ComputeStepHash). */
export function stepsHash(steps: unknown): string {
  return safeEncodeString(String(fnv1a32(encoder.encode(canonicalJson(steps ?? [])))));
}
