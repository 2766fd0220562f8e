// What a Rollout's status says about the release it carries, for readers
// outside the engine (the GitSource controller, the CLI): whether the engine
// has acted on an abort, whether the analysis measured the release bad or
// could not measure it, and which Git revision finished Healthy. The engine
// writes these fields; the rules for reading them live here, beside it, so no
// other folder compares status strings of its own.
import type { RolloutStatus } from '../api/rollout.ts';

/** An abort the engine has acted on, on a revision other than the last good one. */
export interface AbortedRelease {
  /** The Git revision being rolled out when it aborted. */
  revision: string;
  /** The last Git revision that finished Healthy, if any did. */
  good: string | undefined;
  /** The engine's message: why it aborted. */
  reason: string;
  /**
   * `failed`: a measurement said the release is bad (or a person, or the
   * progress deadline, aborted it). `unmeasured`: an analysis run ended in
   * Error (the provider unreachable, queries erring) and none Failed.
   */
  verdict: 'failed' | 'unmeasured';
}

interface RunRecord {
  status?: unknown;
}

/** The analysis runs a status records for the current release, whichever the strategy. */
function runRecords(status: RolloutStatus): RunRecord[] {
  const records = [
    status.canary?.currentStepAnalysisRunStatus,
    status.canary?.currentBackgroundAnalysisRunStatus,
    status.blueGreen?.prePromotionAnalysisRunStatus,
    status.blueGreen?.postPromotionAnalysisRunStatus,
  ];
  return records.filter((r): r is RunRecord => typeof r === 'object' && r !== null);
}

/**
 * The abort a status reports once the engine has acted on it (phase
 * Degraded; the user's abort flag alone is not one), on a Git revision that
 * is not the last good one.
 */
export function abortedRelease(status: RolloutStatus | undefined): AbortedRelease | undefined {
  const revision = status?.git?.currentRevision;
  const good = status?.git?.stableRevision;
  if (status?.abort !== true || status.phase !== 'Degraded' || revision === undefined || revision === good) return undefined;
  const records = runRecords(status);
  const measuredBad = records.some((r) => r.status === 'Failed');
  const erred = records.some((r) => r.status === 'Error');
  return { revision, good, reason: status.message ?? 'rollout aborted', verdict: erred && !measuredBad ? 'unmeasured' : 'failed' };
}

/** The Git revision the Rollout finished Healthy on (the one it now runs as stable), or undefined while it is not Healthy. */
export function healthyRevision(status: RolloutStatus | undefined): string | undefined {
  return status?.phase === 'Healthy' ? status.git?.stableRevision : undefined;
}

/** Whether the Rollout still carries `revision` and has not finished Healthy on it (an automatic retry of it may still help). */
export function stillTrying(status: RolloutStatus | undefined, revision: string): boolean {
  if (status?.git?.currentRevision !== revision) return false;
  return healthyRevision(status) !== revision;
}
