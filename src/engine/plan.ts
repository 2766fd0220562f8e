// The planner's entry point: given a Rollout (spec + status), what the
// controller observed of its children and `now`, the next status, the effects
// to apply and when to look again. It only dispatches, to the strategy the
// spec names: canary (canary.ts) or blue/green (bluegreen.ts), both written
// on the shared reconcile frame (frame.ts). Pure: no I/O, no clock, no
// randomness; time comes in as `now`.
import type { Rollout, RolloutStatus } from '../api/rollout.ts';
import { planBlueGreen } from './bluegreen.ts';
import { planCanary } from './canary.ts';
import { PROGRESSING, setCondition } from './conditions.ts';
import { DEFAULT_REPLICAS } from './constants.ts';
import { rfc3339 } from './time.ts';
import type { Observed, Plan } from './types.ts';

/** Plan one reconcile of a Rollout, whichever its strategy. */
export function planRollout(rollout: Rollout, observed: Observed, now: Date): Plan {
  const { canary, blueGreen } = rollout.spec.strategy;
  const replicas = rollout.spec.replicas ?? DEFAULT_REPLICAS;
  if (canary !== undefined) return planCanary(rollout, observed, now, canary, replicas);
  if (blueGreen !== undefined) return planBlueGreen(rollout, observed, now, blueGreen, replicas);
  return unsupportedStrategy(rollout, now.getTime());
}

function unsupportedStrategy(rollout: Rollout, nowMs: number): Plan {
  const prev = rollout.status ?? {};
  const message = 'the engine implements the canary strategy only';
  const status: RolloutStatus = { ...prev, phase: 'Degraded', message };
  if (rollout.metadata.generation !== undefined) status.observedGeneration = String(rollout.metadata.generation);
  status.conditions = setCondition(prev.conditions ?? [], { type: PROGRESSING, status: 'False', reason: 'UnsupportedStrategy', message }, rfc3339(nowMs));
  return { status, effects: [] };
}
