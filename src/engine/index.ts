// The engine: pure planning of canary and blue/green Rollouts (Argo Rollouts semantics).
// planRollout(rollout, observed, now) → { status, effects, requeueAt }.
export { planRollout } from './plan.ts';
export { describeStep, stepKind, setWeightAt, previousSetWeight, canaryScaleAt } from './steps.ts';
export type { StepKind, StepStyle } from './steps.ts';
export {
  CANARY_PAUSE_STEP,
  BLUE_GREEN_PAUSE,
  MANUALLY_PAUSED_MESSAGE,
  DEFAULT_REPLICAS,
  DEFAULT_PROGRESS_DEADLINE_SECONDS,
  DEFAULT_SCALE_DOWN_DELAY_SECONDS,
  DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS,
  DEFAULT_REVISION_HISTORY_LIMIT,
} from './constants.ts';
export * from './analysis.ts';
export { podTemplateHash, stepsHash, canonicalJson, fnv1a32, safeEncodeString } from './hash.ts';
export {
  approximateWeightedCounts,
  basicCanaryReplicaCounts,
  trafficRoutedReplicaCounts,
  trafficWeightToReplicas,
  resolveSurgeAndUnavailable,
  scaledValue,
  scaleDownOlderReplicaSets,
  DEFAULT_MAX_SURGE,
  DEFAULT_MAX_UNAVAILABLE,
} from './replicas.ts';
export type { ReplicaCounts, BasicCanaryInput, OlderReplicaSet } from './replicas.ts';
export { durationMs } from './duration.ts';
export { planRestart, type RestartPlan } from './restart.ts';
export { formatLabelSelector } from './selector.ts';
export { lifecycleMachine, stateFromStatus, restoreLifecycle, sendLifecycle, lifecycleState } from './machine.ts';
export type { LifecycleState, LifecycleEvent, LifecycleContext, EmittedEvent } from './machine.ts';
export * from './types.ts';
