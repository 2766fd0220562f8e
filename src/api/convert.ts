// Argo Rollouts manifests in Git are accepted as Weir's own kinds: for every
// field the two share, Weir's names and semantics are Argo's, so converting
// is a change of apiVersion and nothing else. Fields Weir does not support
// stay where they are, so validation names them instead of them vanishing.
import { API_VERSION, ARGO_API_VERSION } from './common.ts';

/** Argo Rollouts kinds that have a weir.dev counterpart of the same name. */
export const ARGO_KINDS: readonly string[] = ['Rollout', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun'];

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Whether `obj` is an `argoproj.io/v1alpha1` object of a kind Weir reads as its own (Rollout, AnalysisTemplate, ...). */
export function isArgoKind(obj: unknown): obj is Record<string, unknown> & { apiVersion: typeof ARGO_API_VERSION; kind: string } {
  return isRecord(obj) && obj.apiVersion === ARGO_API_VERSION && typeof obj.kind === 'string' && ARGO_KINDS.includes(obj.kind);
}

/** Whether `obj` is an `argoproj.io/v1alpha1` Rollout. */
export function isArgoRollout(obj: unknown): obj is Record<string, unknown> & { apiVersion: typeof ARGO_API_VERSION; kind: 'Rollout' } {
  return isArgoKind(obj) && obj.kind === 'Rollout';
}

/**
 * The `weir.dev/v1alpha1` form of an `argoproj.io/v1alpha1` object of one of
 * ARGO_KINDS: a deep copy with the apiVersion changed, every other field as it
 * was (unsupported ones included, for validation to report). Pure: the input
 * is not modified. Throws when given anything else.
 */
export function convertArgoObject(obj: unknown): Record<string, unknown> {
  if (!isArgoKind(obj)) {
    const what = isRecord(obj) ? `${String(obj.apiVersion)}/${String(obj.kind)}` : typeof obj;
    throw new Error(`not an ${ARGO_API_VERSION} object of a kind Weir converts (${ARGO_KINDS.join(', ')}): ${what}`);
  }
  const copy = structuredClone(obj) as Record<string, unknown>;
  copy.apiVersion = API_VERSION;
  return copy;
}

/**
 * The `weir.dev/v1alpha1` Rollout for an `argoproj.io/v1alpha1` Rollout (same
 * fields, apiVersion changed). Unvalidated: pass the result to
 * validateRollout. Throws when `obj` is not an Argo Rollout.
 */
export function convertArgoRollout(obj: unknown): Record<string, unknown> {
  if (!isArgoRollout(obj)) {
    const what = isRecord(obj) ? `${String(obj.apiVersion)}/${String(obj.kind)}` : typeof obj;
    throw new Error(`not an ${ARGO_API_VERSION} Rollout: ${what}`);
  }
  return convertArgoObject(obj);
}
