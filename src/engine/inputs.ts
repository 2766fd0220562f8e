// What the user's inputs do to a reconcile, for both strategies, in a fixed
// order: a new template (REVISION; the canary's steps count too), the user's
// abort or retry (status.abort), pause and resume (spec.paused), promote
// --full (status.promoteFull). The strategy says what its REVISION event is,
// what a fresh start forgets, and what promote --full means in each state.
import type { SharedState } from './frame.ts';
import type { PauseCondition } from '../api/rollout.ts';
import { GIT_REVISION_ANNOTATION } from './types.ts';
import type { Frame } from './frame.ts';

/** The events the inputs feed the machine, which both machines take. */
export type InputEvent = { type: 'ABORT' } | { type: 'RETRY' } | { type: 'USER_PAUSE' } | { type: 'USER_RESUME' } | { type: 'PROMOTE_FULL' };

/** The part of a reconcile (frame.ts' Reconcile) the inputs change. */
export interface InputTarget {
  readonly state: string;
  send(event: InputEvent): void;
  stableHash: string | undefined;
  pauseConditions: PauseCondition[];
  controllerPause: boolean;
  abort: boolean;
  abortedAt: string | undefined;
  promoteFull: boolean;
  gitCurrent: string | undefined;
  clearPause(): void;
}

/** What promote --full does in a state: nothing is left to promote, send PROMOTE_FULL, it is under way already (only the bookkeeping), or it waits. */
export type PromoteFull = 'nothingLeft' | 'promote' | 'underway' | 'wait';

export interface InputRules {
  /** The desired template (or, canary, the steps) differs from the one in status. */
  changed: boolean;
  /** Send the strategy's REVISION event: towards a first stable, an update, or back to the stable template. */
  sendRevision(target: 'initial' | 'update' | 'stable', templateChanged: boolean): void;
  /** Forget the previous attempt's analysis runs (a new revision, a retry). */
  freshStart(): void;
  promoteFull(state: string): PromoteFull;
}

const NO_PAUSE_FROM: readonly string[] = ['pausedUser', 'aborted', 'degraded', 'pending'] satisfies SharedState[];

export function applyInputs(f: Frame, r: InputTarget, rules: InputRules): void {
  const prev = f.prev;
  if (rules.changed) {
    const templateChanged = prev.currentPodHash !== f.hash;
    rules.sendRevision(r.stableHash === undefined ? 'initial' : r.stableHash === f.hash ? 'stable' : 'update', templateChanged);
    r.clearPause();
    r.abort = false;
    r.abortedAt = undefined;
    r.promoteFull = false;
    rules.freshStart();
    if (templateChanged) r.gitCurrent = f.rollout.metadata.annotations?.[GIT_REVISION_ANNOTATION];
  }

  // abort / retry (with no stable ReplicaSet yet there is nothing to go back to: an abort is a no-op)
  if (r.abort && r.state !== 'aborted') {
    if (r.stableHash !== undefined) r.send({ type: 'ABORT' });
    if (r.state !== 'aborted') r.abort = false; // nothing in progress to abort
  } else if (!r.abort && r.state === 'aborted') {
    r.send({ type: 'RETRY' });
    rules.freshStart();
  } else if (r.abort) {
    r.abortedAt ??= f.now;
  }

  // pause / resume (spec.paused)
  const specPaused = f.rollout.spec.paused === true;
  if (specPaused && !NO_PAUSE_FROM.includes(r.state)) r.send({ type: 'USER_PAUSE' });
  else if (!specPaused && r.state === 'pausedUser') r.send({ type: 'USER_RESUME' });

  // promote --full
  if (r.promoteFull) {
    const what = rules.promoteFull(r.state);
    if (what === 'nothingLeft') {
      r.promoteFull = false;
    } else if (what !== 'wait') {
      if (what === 'promote') r.send({ type: 'PROMOTE_FULL' });
      r.clearPause();
      r.abort = false;
      r.abortedAt = undefined;
    }
  }
}
