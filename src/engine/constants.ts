// Defaults and fixed strings both strategies use (Argo Rollouts' values), in
// one place: the canary and blue/green modules and the dispatcher read them
// from here.

export const DEFAULT_REPLICAS = 1;
export const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
/** How long a previous stable ReplicaSet keeps its pods after a promotion (both strategies). */
export const DEFAULT_SCALE_DOWN_DELAY_SECONDS = 30;
/** How long an aborted canary or preview keeps its pods (both strategies). */
export const DEFAULT_ABORT_SCALE_DOWN_DELAY_SECONDS = 30;
export { DEFAULT_REVISION_HISTORY_LIMIT } from './replicasets.ts';

/** Pause reason of a pause step (Argo's). */
export const CANARY_PAUSE_STEP = 'CanaryPauseStep';
/** Pause reason while the preview waits for promotion (Argo's). */
export const BLUE_GREEN_PAUSE = 'BlueGreenPause';
/** status.message while spec.paused holds the rollout (Argo's). */
export const MANUALLY_PAUSED_MESSAGE = 'manually paused';
