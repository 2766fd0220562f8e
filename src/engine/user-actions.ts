// What a user's action on a Rollout writes (`weir promote|abort|retry|pause|
// resume|restart`, and the GitSource controller's automatic retry of an
// unverified release), computed from the Rollout as read, with Argo
// Rollouts' semantics (its kubectl plugin writes the same fields). These are
// the engine's inputs. Pure: no I/O, no clock; `now` comes in.
//
// A plan has at most two merge patches: one on the status subresource and
// one on the object (spec). The shell applies the status patch first, then
// the spec patch, as Argo's plugin does.
import type { Rollout, RolloutSpec, RolloutStatus } from '../api/rollout.ts';

export type RolloutAction = 'promote' | 'promote-full' | 'abort' | 'retry' | 'pause' | 'resume' | 'restart';

/** Fields to merge; null deletes the field (JSON merge patch). */
export type StatusPatch = { [K in keyof RolloutStatus]?: NonNullable<RolloutStatus[K]> | null };
export type SpecPatch = { [K in keyof RolloutSpec]?: NonNullable<RolloutSpec[K]> | null };

export interface RolloutActionPlan {
  action: RolloutAction;
  /** Merged into `status` through the status subresource; absent when status is left alone. */
  status?: StatusPatch;
  /** Merged into `spec` by a merge patch on the Rollout; absent when spec is left alone. */
  spec?: SpecPatch;
  /** What to tell the user once applied, e.g. "rollout 'demo' promoted". */
  message: string;
}

/** The action does not apply to the Rollout in its current state. */
export class ActionNotApplicableError extends Error {
  override name = 'ActionNotApplicableError';
}

function nameOf(ro: Rollout): string {
  return ro.metadata.name ?? '';
}

function notApplicable(ro: Rollout, what: string): ActionNotApplicableError {
  return new ActionNotApplicableError(`rollout "${nameOf(ro)}" ${what}`);
}

export function isAborted(ro: Rollout): boolean {
  return ro.status?.abort === true;
}

export function isSpecPaused(ro: Rollout): boolean {
  return ro.spec.paused === true;
}

export function hasPauseConditions(ro: Rollout): boolean {
  return (ro.status?.pauseConditions?.length ?? 0) > 0;
}

/** The controller paused the rollout and someone has since cleared its pause conditions: a promote it has not acted on yet. */
export function isResumePending(ro: Rollout): boolean {
  return ro.status?.controllerPause === true && !hasPauseConditions(ro);
}

/** True when the status says the desired template is the stable one: no update in progress. */
export function isFullyPromoted(ro: Rollout): boolean {
  const current = ro.status?.currentPodHash;
  const stable = ro.status?.stableRS;
  return current !== undefined && current !== '' && current === stable;
}

export function canarySteps(ro: Rollout): NonNullable<NonNullable<Rollout['spec']['strategy']['canary']>['steps']> {
  return ro.spec.strategy.canary?.steps ?? [];
}

/** status.currentStepIndex, 0 when unset (as Argo reads it). */
export function currentStepIndex(ro: Rollout): number {
  return ro.status?.currentStepIndex ?? 0;
}

/** RFC 3339 in UTC with whole seconds, as Go's time.RFC3339 formats it: 2024-05-01T12:00:00Z. */
export function rfc3339(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z');
}

function assertNotDeleting(ro: Rollout): void {
  const deletion = (ro.metadata as Record<string, unknown>).deletionTimestamp;
  if (deletion !== undefined && deletion !== null) throw notApplicable(ro, 'is being deleted');
}

/**
 * `weir promote`: resume a paused rollout, or skip the current step.
 * - paused (status.pauseConditions non-empty, or spec.paused): clear the pause
 *   conditions (status) and/or unpause (spec), each only where set; the step
 *   index is left to the controller, which advances past a pause step once
 *   its pause condition is gone while status.controllerPause is still true.
 * - canary not paused with steps left: status.currentStepIndex + 1.
 * - otherwise: an error.
 * `full`: status.promoteFull = true (skips remaining steps, analysis and
 * pauses; also ends an abort), unless nothing is in progress.
 */
export function planPromote(ro: Rollout, opts: { full?: boolean } = {}): RolloutActionPlan {
  assertNotDeleting(ro);
  const name = nameOf(ro);
  if (opts.full === true) {
    if (isFullyPromoted(ro)) throw notApplicable(ro, 'is already fully promoted: no update in progress');
    return { action: 'promote-full', status: { promoteFull: true }, message: `rollout '${name}' fully promoted` };
  }
  if (isAborted(ro)) {
    throw notApplicable(ro, 'is aborted: use "weir retry" to start the update again, or "weir promote --full" to go straight to the new version');
  }
  const specPaused = isSpecPaused(ro);
  const pauseConditions = hasPauseConditions(ro);
  if (specPaused || pauseConditions) {
    return {
      action: 'promote',
      ...(pauseConditions ? { status: { pauseConditions: null } } : {}),
      ...(specPaused ? { spec: { paused: false } } : {}),
      message: `rollout '${name}' promoted`,
    };
  }
  if (isResumePending(ro)) {
    throw notApplicable(ro, 'is already being promoted: the controller has not acted on the last promotion yet');
  }
  if (ro.spec.strategy.canary) {
    const steps = canarySteps(ro);
    const index = currentStepIndex(ro);
    if (index < steps.length) {
      return { action: 'promote', status: { currentStepIndex: index + 1 }, message: `rollout '${name}' promoted` };
    }
    if (isFullyPromoted(ro) || steps.length > 0) throw notApplicable(ro, `is already fully promoted${steps.length > 0 ? ': no steps left' : ''}`);
    throw notApplicable(ro, 'has no steps to promote (use --full to promote fully)');
  }
  if (isFullyPromoted(ro)) throw notApplicable(ro, 'is already fully promoted');
  throw notApplicable(ro, 'is not paused: nothing to promote (use --full to promote fully)');
}

/** `weir abort`: status.abort = true; traffic and replicas go back to stable. */
export function planAbort(ro: Rollout): RolloutActionPlan {
  assertNotDeleting(ro);
  if (isAborted(ro)) throw notApplicable(ro, 'is already aborted');
  if (isFullyPromoted(ro)) throw notApplicable(ro, 'has no update in progress to abort');
  return { action: 'abort', status: { abort: true }, message: `rollout '${nameOf(ro)}' aborted` };
}

/** `weir retry`: start an aborted update again: status.abort = false, abortedAt and pauseConditions cleared. */
export function planRetry(ro: Rollout): RolloutActionPlan {
  assertNotDeleting(ro);
  if (!isAborted(ro)) throw notApplicable(ro, 'is not aborted: nothing to retry');
  return { action: 'retry', status: { abort: false, abortedAt: null, pauseConditions: null }, message: `rollout '${nameOf(ro)}' retried` };
}

/** `weir pause`: spec.paused = true. */
export function planPause(ro: Rollout): RolloutActionPlan {
  assertNotDeleting(ro);
  if (isSpecPaused(ro)) throw notApplicable(ro, 'is already paused');
  return { action: 'pause', spec: { paused: true }, message: `rollout '${nameOf(ro)}' paused` };
}

/** `weir resume`: spec.paused = false; only undoes `weir pause` (a pause step is left with `weir promote`). */
export function planResume(ro: Rollout): RolloutActionPlan {
  assertNotDeleting(ro);
  if (!isSpecPaused(ro)) {
    const reasons = (ro.status?.pauseConditions ?? []).map((c) => c.reason);
    if (reasons.length > 0) {
      throw notApplicable(ro, `is not paused by spec.paused; it waits on ${reasons.join(', ')}: use "weir promote" to go on`);
    }
    throw notApplicable(ro, 'is not paused');
  }
  return { action: 'resume', spec: { paused: false }, message: `rollout '${nameOf(ro)}' resumed` };
}

/** `weir restart`: spec.restartAt = now; the controller replaces the pods created before it. */
export function planRestart(ro: Rollout, now: Date): RolloutActionPlan {
  assertNotDeleting(ro);
  return { action: 'restart', spec: { restartAt: rfc3339(now) }, message: `rollout '${nameOf(ro)}' restarted` };
}

/** One entry point for all actions. Throws ActionNotApplicableError. */
export function planRolloutAction(action: RolloutAction, ro: Rollout, now: Date): RolloutActionPlan {
  switch (action) {
    case 'promote':
      return planPromote(ro);
    case 'promote-full':
      return planPromote(ro, { full: true });
    case 'abort':
      return planAbort(ro);
    case 'retry':
      return planRetry(ro);
    case 'pause':
      return planPause(ro);
    case 'resume':
      return planResume(ro);
    case 'restart':
      return planRestart(ro, now);
  }
}

/** The body of the merge patch on the status subresource, or undefined. */
export function statusPatchBody(plan: RolloutActionPlan, resourceVersion?: string): Record<string, unknown> | undefined {
  if (!plan.status) return undefined;
  return { ...(resourceVersion !== undefined ? { metadata: { resourceVersion } } : {}), status: plan.status };
}

/** The body of the merge patch on the Rollout (spec), or undefined. */
export function specPatchBody(plan: RolloutActionPlan): Record<string, unknown> | undefined {
  if (!plan.spec) return undefined;
  return { spec: plan.spec };
}
