// The story's record (what each act pushed and what became of it, with the
// times that matter) and the summary printed at the end. Pure.
import { short, type DemoEvent } from './events.ts';

export interface ActRecord {
  name: string;
  title: string;
  expect: 'promoted' | 'rejected';
  commit: string;
  message: string;
  pushedAt: number;
  /** Analysis runs that ended Successful during the act. */
  analysesPassed: number;
  /** The first time the route sent the new version traffic. */
  firstShiftAt?: number;
  promotedAt?: number;
  /** When the deciding analysis measurement was taken (or the failed run or Degraded rollout was seen). */
  failedAt?: number;
  failureReason?: string;
  /** The last Failed or Error measurement's time, the failure's when its run fails. */
  lastBadMeasurementAt?: number;
  /** All traffic back on the stable version after the failure (as the demo's poll saw it). */
  trafficBackAt?: number;
  revertCommit?: string;
  revertAt?: number;
  outcome?: 'promoted' | 'rejected';
}

export interface StoryRecord {
  ok: boolean;
  /** Why the story did not play out as expected. */
  failure?: string;
  /** The first commit (v1), applied as is. */
  seedCommit?: string;
  acts: ActRecord[];
  startedAt: number;
  endedAt?: number;
}

/** Updates the act in progress with the times an event marks. */
export function recordEvent(act: ActRecord | undefined, e: DemoEvent): void {
  if (!act || e.at < act.pushedAt) return;
  switch (e.type) {
    case 'weight':
      if (e.canary > 0) act.firstShiftAt ??= e.at;
      else if (act.failedAt !== undefined) act.trafficBackAt ??= e.at;
      break;
    case 'measurement': {
      const taken = e.finishedAt === undefined ? Number.NaN : Date.parse(e.finishedAt);
      if (e.phase === 'Failed' || e.phase === 'Error') act.lastBadMeasurementAt = Number.isNaN(taken) ? e.at : taken;
      break;
    }
    case 'analysis':
      if (e.phase === 'Successful') act.analysesPassed += 1;
      if (e.phase === 'Failed' || e.phase === 'Error' || e.phase === 'Inconclusive') {
        act.failedAt ??= act.lastBadMeasurementAt ?? e.at;
        act.failureReason ??= `analysis ${e.phase}${e.message ? `: ${e.message}` : ''}`;
      }
      break;
    case 'phase':
      if (e.phase === 'Degraded') act.failedAt ??= e.at;
      break;
    case 'rejected':
      if (e.revision === act.commit) {
        act.outcome = 'rejected';
        act.failureReason = e.reason;
      }
      break;
    case 'reverted':
      if (e.rejected === act.commit) {
        act.revertCommit = e.revert;
        act.revertAt = e.at;
      }
      break;
    default:
      break;
  }
}

function secs(from: number | undefined, to: number | undefined): string {
  return from === undefined || to === undefined ? 'n/a' : `${((to - from) / 1000).toFixed(1)}s`;
}

export interface ExploreInfo {
  sandbox: string;
  namespace: string;
  rollout: string;
  kubeconfig: string;
  kubectl: string;
  prometheusUrl: string;
  repositoryUrl: string;
  controllerUrl?: string;
  controllerLog?: string;
  /** Sandbox and controller left running (--keep). */
  kept: boolean;
}

/** The summary: outcome, commits, timings. */
export function summaryLines(record: StoryRecord): string[] {
  const lines: string[] = [];
  lines.push(record.ok ? 'Summary: the story played out as expected' : `Summary: the story did NOT play out as expected: ${record.failure ?? 'unknown reason'}`);
  for (const act of record.acts) {
    if (act.outcome === 'promoted') {
      const passed = act.analysesPassed === 1 ? '1 analysis run passed' : `${act.analysesPassed} analysis runs passed`;
      lines.push(`  promoted:     ${act.name} ${short(act.commit)} "${act.message}": ${passed}`);
    } else if (act.outcome === 'rejected') {
      lines.push(`  rejected:     ${act.name} ${short(act.commit)} "${act.message}": ${act.failureReason ?? 'rollout failed'}`);
    } else {
      lines.push(`  unfinished:   ${act.name} ${short(act.commit)} "${act.message}" (expected to be ${act.expect})`);
    }
  }
  lines.push('  timings:');
  for (const act of record.acts) {
    lines.push(`    ${act.name}: push → first traffic shift ${secs(act.pushedAt, act.firstShiftAt)}`);
    if (act.outcome === 'promoted') lines.push(`    ${act.name}: push → promoted ${secs(act.pushedAt, act.promotedAt)}`);
    if (act.failedAt !== undefined) {
      lines.push(`    ${act.name}: failure → traffic back on the stable version ${secs(act.failedAt, act.trafficBackAt)}`);
      lines.push(`    ${act.name}: failure → revert commit in Git ${secs(act.failedAt, act.revertAt)}`);
    }
  }
  const promoted = record.acts.filter((a) => a.outcome === 'promoted').at(-1);
  const rejected = record.acts.find((a) => a.outcome === 'rejected');
  if (promoted || rejected) lines.push('  commits:');
  if (promoted) lines.push(`    promoted commit:    ${promoted.commit}`);
  if (rejected) lines.push(`    rolled-back commit: ${rejected.commit}`);
  if (rejected?.revertCommit) lines.push(`    revert commit:      ${rejected.revertCommit} (written by Weir)`);
  return lines;
}

/** How to look further: commands that work against the demo's sandbox. */
export function exploreLines(e: ExploreInfo): string[] {
  const nameFlag = e.sandbox === 'default' ? '' : ` --name ${e.sandbox}`;
  const lines: string[] = [];
  if (e.kept) {
    lines.push(`The sandbox "${e.sandbox}" and the controller keep running. Try:`);
    lines.push(`  npx weir get rollout ${e.rollout} --watch -n ${e.namespace} --kubeconfig ${e.kubeconfig}`);
    lines.push(`  npx weir history rollout ${e.rollout} -n ${e.namespace} --kubeconfig ${e.kubeconfig}`);
    lines.push(`  ${e.kubectl} --kubeconfig ${e.kubeconfig} get rollouts,analysisruns,gitsources -n ${e.namespace}`);
    lines.push(`  git clone ${e.repositoryUrl}    # push a change: the Git server's webhook tells the controller at once`);
    lines.push(`  open ${e.prometheusUrl}/graph?g0.expr=sum%20by%20(rollouts_pod_template_hash%2Ccode)%20(rate(http_requests_total%7Bnamespace%3D%22${e.namespace}%22%7D%5B10s%5D))`);
    if (e.controllerLog) lines.push(`  tail -f ${e.controllerLog}    # the controller's JSON log`);
    lines.push(`  eval "$(npx weir sandbox${nameFlag} env)"    # KUBECONFIG, the sandbox's kubectl on PATH`);
    lines.push(`Stop everything with: npm run demo --${nameFlag} --down`);
  } else {
    lines.push(`To explore afterwards, run it with --keep (npm run demo --${nameFlag} --keep): the sandbox and the controller then keep running.`);
  }
  return lines;
}
