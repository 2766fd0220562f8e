// What `weir get rollout` and `weir list rollouts` print, in the form of
// `kubectl argo rollouts get rollout` / `list rollouts`. Pure: the Rollout,
// the ReplicaSets and pods as read, and `now` in; a string out.
//
// ReplicaSets and pods are taken in the shape of client-node's V1ReplicaSet
// and V1Pod, but only the fields used here are required, and timestamps may
// be strings (as a watch delivers them) or Dates (as client-node's typed
// calls deserialize them).
import type { CanaryStep, Rollout } from '../api/rollout.ts';
import type { LabelSelector } from '../api/common.ts';
import { describeStep, durationMs } from '../engine/index.ts';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, SCALE_DOWN_DEADLINE_ANNOTATION } from '../engine/types.ts';

type Timestamp = string | Date | null | undefined;

export interface KubeObjectMeta {
  name?: string;
  namespace?: string;
  uid?: string;
  resourceVersion?: string;
  creationTimestamp?: Timestamp;
  deletionTimestamp?: Timestamp;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  ownerReferences?: readonly { uid: string; kind?: string; name?: string; controller?: boolean }[];
}

export interface ReplicaSetLike {
  metadata?: KubeObjectMeta;
  spec?: {
    replicas?: number;
    template?: { spec?: { containers?: readonly { name: string; image?: string }[] } };
  };
  status?: { replicas?: number; readyReplicas?: number; availableReplicas?: number };
}

export interface ContainerStatusLike {
  name: string;
  ready: boolean;
  restartCount: number;
  state?: {
    waiting?: { reason?: string };
    running?: object;
    terminated?: { reason?: string; exitCode: number; signal?: number };
  };
}

export interface PodLike {
  metadata?: KubeObjectMeta;
  spec?: { containers?: readonly { name: string }[] };
  status?: {
    phase?: string;
    reason?: string;
    conditions?: readonly { type: string; status: string }[];
    containerStatuses?: readonly ContainerStatusLike[];
    initContainerStatuses?: readonly ContainerStatusLike[];
  };
}

export interface RenderOptions {
  /** ANSI colors on the status icons (only when writing to a terminal). */
  color?: boolean;
}

// Icons as Argo Rollouts' kubectl plugin draws them.
const ICON = {
  ok: '✔',
  progressing: '◌',
  paused: '॥',
  bad: '✖',
  warning: '⚠',
  unknown: '?',
  scaledDown: '•',
  current: '►',
  rollout: '⟳',
  revision: '#',
  replicaSet: '⧉',
  pod: '□',
} as const;

const COLORS: Record<string, string> = {
  [ICON.ok]: '\x1b[32m',
  [ICON.progressing]: '\x1b[33m',
  [ICON.paused]: '\x1b[33m',
  [ICON.bad]: '\x1b[31m',
  [ICON.warning]: '\x1b[31m',
  [ICON.current]: '\x1b[36m',
  [ICON.scaledDown]: '\x1b[90m',
};
const RESET = '\x1b[0m';

function colorize(text: string, color: boolean): string {
  if (!color) return text;
  let out = '';
  for (const ch of text) {
    const c = COLORS[ch];
    out += c === undefined ? ch : `${c}${ch}${RESET}`;
  }
  return out;
}

function toMillis(t: Timestamp): number | undefined {
  if (t === null || t === undefined) return undefined;
  const ms = t instanceof Date ? t.getTime() : Date.parse(t);
  return Number.isNaN(ms) ? undefined : ms;
}

/** kubectl's human duration: 45s, 5m3s, 2h10m, 3d4h, 400d, 2y30d. */
export function humanDuration(ms: number): string {
  const seconds = Math.floor(ms / 1000);
  if (seconds < -1) return '<invalid>';
  if (seconds < 0) return '0s';
  if (seconds < 120) return `${seconds}s`;
  const minutes = Math.floor(seconds / 60);
  if (minutes < 10) return seconds % 60 === 0 ? `${minutes}m` : `${minutes}m${seconds % 60}s`;
  if (minutes < 180) return `${minutes}m`;
  const hours = Math.floor(minutes / 60);
  if (hours < 8) return minutes % 60 === 0 ? `${hours}h` : `${hours}h${minutes % 60}m`;
  if (hours < 48) return `${hours}h`;
  if (hours < 24 * 8) return hours % 24 === 0 ? `${Math.floor(hours / 24)}d` : `${Math.floor(hours / 24)}d${hours % 24}h`;
  if (hours < 24 * 365 * 2) return `${Math.floor(hours / 24)}d`;
  const years = Math.floor(hours / (24 * 365));
  if (years < 8) {
    const days = Math.floor(hours / 24) - years * 365;
    return days === 0 ? `${years}y` : `${years}y${days}d`;
  }
  return `${years}y`;
}

/** A timestamp from the Rollout's metadata (the API type lists only the fields the controller uses). */
function metaTimestamp(ro: Rollout, field: 'creationTimestamp' | 'deletionTimestamp'): Timestamp {
  const value = (ro.metadata as Record<string, unknown>)[field];
  return typeof value === 'string' || value instanceof Date ? value : undefined;
}

function age(t: Timestamp, now: Date): string {
  const ms = toMillis(t);
  return ms === undefined ? '' : humanDuration(now.getTime() - ms);
}

/** A LabelSelector as the `labelSelector` query parameter spells it. */
export function labelSelectorString(selector: LabelSelector | undefined): string {
  if (!selector) return '';
  const parts = Object.entries(selector.matchLabels ?? {}).map(([k, v]) => `${k}=${v}`);
  for (const e of selector.matchExpressions ?? []) {
    const values = (e.values ?? []).join(',');
    switch (e.operator) {
      case 'In':
        parts.push(`${e.key} in (${values})`);
        break;
      case 'NotIn':
        parts.push(`${e.key} notin (${values})`);
        break;
      case 'Exists':
        parts.push(e.key);
        break;
      case 'DoesNotExist':
        parts.push(`!${e.key}`);
        break;
    }
  }
  return parts.join(',');
}

// ---------------------------------------------------------------------------
// Facts derived from the Rollout

export type StrategyName = 'Canary' | 'BlueGreen' | 'Unknown';

export function strategyName(ro: Rollout): StrategyName {
  if (ro.spec.strategy.canary) return 'Canary';
  if (ro.spec.strategy.blueGreen) return 'BlueGreen';
  return 'Unknown';
}

function steps(ro: Rollout): CanaryStep[] {
  return ro.spec.strategy.canary?.steps ?? [];
}

/** The weight the steps ask for now (Argo's GetCurrentSetWeight): 0 when aborted, 100 past the last step. */
export function currentSetWeight(ro: Rollout): number {
  if (ro.status?.abort === true) return 0;
  const all = steps(ro);
  const index = ro.status?.currentStepIndex ?? 0;
  if (index >= all.length) return 100;
  for (let i = index; i >= 0; i--) {
    const w = all[i]?.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

function phaseIcon(phase: string | undefined): string {
  switch (phase) {
    case 'Healthy':
      return ICON.ok;
    case 'Progressing':
      return ICON.progressing;
    case 'Paused':
      return ICON.paused;
    case 'Degraded':
      return ICON.bad;
    default:
      return ICON.unknown;
  }
}

// ---------------------------------------------------------------------------
// ReplicaSets and pods

function hashOf(obj: { metadata?: KubeObjectMeta }): string | undefined {
  return obj.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL];
}

function revisionOf(rs: ReplicaSetLike): number | undefined {
  const raw = rs.metadata?.annotations?.[REVISION_ANNOTATION];
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/** The ReplicaSets the Rollout owns (by ownerReferences uid), newest revision first. */
export function ownedReplicaSets<T extends ReplicaSetLike>(ro: Rollout, replicaSets: readonly T[]): T[] {
  const uid = ro.metadata.uid;
  const owned = replicaSets.filter((rs) => uid !== undefined && (rs.metadata?.ownerReferences ?? []).some((o) => o.uid === uid));
  return owned.sort(
    (a, b) =>
      (revisionOf(b) ?? -1) - (revisionOf(a) ?? -1) ||
      (toMillis(b.metadata?.creationTimestamp) ?? 0) - (toMillis(a.metadata?.creationTimestamp) ?? 0) ||
      (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''),
  );
}

/** The roles of a ReplicaSet: stable, canary, active, preview, or old. */
export function replicaSetRoles(ro: Rollout, hash: string | undefined): string[] {
  const status = ro.status;
  const roles: string[] = [];
  if (hash === undefined) return ['old'];
  if (hash === status?.stableRS) roles.push('stable');
  if (ro.spec.strategy.blueGreen) {
    if (hash === status?.blueGreen?.activeSelector) roles.push('active');
    if (hash === status?.blueGreen?.previewSelector && hash !== status.blueGreen.activeSelector) roles.push('preview');
  } else if (hash === status?.currentPodHash && hash !== status.stableRS) {
    roles.push('canary');
  }
  return roles.length > 0 ? roles : ['old'];
}

function replicaSetStatus(rs: ReplicaSetLike): string {
  const desired = rs.spec?.replicas ?? 0;
  const current = rs.status?.replicas ?? 0;
  const available = rs.status?.availableReplicas ?? 0;
  if (rs.metadata?.deletionTimestamp) return `${ICON.progressing} Terminating`;
  if (desired === 0 && current === 0) return `${ICON.scaledDown} ScaledDown`;
  if (available >= desired && current === desired) return `${ICON.ok} Healthy`;
  return `${ICON.progressing} Progressing`;
}

/** kubectl's STATUS column for a pod: Running, ContainerCreating, CrashLoopBackOff, Terminating... */
export function podStatus(pod: PodLike): string {
  const status = pod.status;
  let reason = status?.reason ?? status?.phase ?? 'Unknown';
  let initializing = false;
  const inits = status?.initContainerStatuses ?? [];
  for (const [i, c] of inits.entries()) {
    const t = c.state?.terminated;
    if (t?.exitCode === 0) continue;
    initializing = true;
    if (t) reason = t.reason ? `Init:${t.reason}` : t.signal ? `Init:Signal:${t.signal}` : `Init:ExitCode:${t.exitCode}`;
    else if (c.state?.waiting?.reason && c.state.waiting.reason !== 'PodInitializing') reason = `Init:${c.state.waiting.reason}`;
    else reason = `Init:${i}/${inits.length}`;
    break;
  }
  if (!initializing) {
    let hasRunning = false;
    const containers = status?.containerStatuses ?? [];
    for (let i = containers.length - 1; i >= 0; i--) {
      const c = containers[i];
      if (!c) continue;
      const s = c.state;
      if (s?.waiting?.reason) reason = s.waiting.reason;
      else if (s?.terminated?.reason) reason = s.terminated.reason;
      else if (s?.terminated) reason = s.terminated.signal ? `Signal:${s.terminated.signal}` : `ExitCode:${s.terminated.exitCode}`;
      else if (c.ready && s?.running) hasRunning = true;
    }
    if (reason === 'Completed' && hasRunning) {
      reason = (status?.conditions ?? []).some((c) => c.type === 'Ready' && c.status === 'True') ? 'Running' : 'NotReady';
    }
  }
  if (pod.metadata?.deletionTimestamp) reason = status?.reason === 'NodeLost' ? 'Unknown' : 'Terminating';
  return reason;
}

function podIcon(status: string, ready: boolean): string {
  switch (status) {
    case 'Running':
      return ready ? ICON.ok : ICON.progressing;
    case 'Completed':
    case 'Succeeded':
      return ICON.ok;
    case 'Pending':
    case 'Terminating':
    case 'ContainerCreating':
    case 'PodInitializing':
      return ICON.progressing;
    case 'Unknown':
      return ICON.unknown;
    default:
      return status.startsWith('Init:') && /^Init:\d+\/\d+$/.test(status) ? ICON.progressing : ICON.bad;
  }
}

function podCounts(pod: PodLike): { ready: number; total: number; restarts: number } {
  const statuses = pod.status?.containerStatuses ?? [];
  const total = Math.max(pod.spec?.containers?.length ?? 0, statuses.length);
  return {
    ready: statuses.filter((c) => c.ready).length,
    total,
    restarts: statuses.reduce((n, c) => n + c.restartCount, 0) + (pod.status?.initContainerStatuses ?? []).reduce((n, c) => n + c.restartCount, 0),
  };
}

// ---------------------------------------------------------------------------
// Layout

/** Columns on screen, counting code points (the icons are one column each). */
function displayWidth(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

function alignColumns(rows: string[][], gap = 2): string[] {
  const widths: number[] = [];
  for (const row of rows) row.forEach((cell, i) => (widths[i] = Math.max(widths[i] ?? 0, displayWidth(cell))));
  return rows.map((row) =>
    row
      .map((cell, i) => (i === row.length - 1 ? cell : cell + ' '.repeat((widths[i] ?? 0) - displayWidth(cell) + gap)))
      .join('')
      .trimEnd(),
  );
}

function header(label: string, value: string): string {
  return `${label.padEnd(17)}${value}`;
}

function imagesOf(rs: ReplicaSetLike): string[] {
  return (rs.spec?.template?.spec?.containers ?? []).map((c) => c.image ?? '').filter((i) => i !== '');
}

function templateImages(ro: Rollout): string[] {
  const template = ro.spec.template as { spec?: { containers?: { image?: unknown }[] } } | undefined;
  return (template?.spec?.containers ?? []).map((c) => (typeof c.image === 'string' ? c.image : '')).filter((i) => i !== '');
}

function imageLines(ro: Rollout, owned: readonly ReplicaSetLike[]): string[] {
  const tags = new Map<string, string[]>();
  for (const rs of owned) {
    const roles = replicaSetRoles(ro, hashOf(rs)).filter((r) => r !== 'old');
    const scaled = (rs.spec?.replicas ?? 0) > 0 || (rs.status?.replicas ?? 0) > 0;
    if (roles.length === 0 && !scaled) continue;
    for (const image of imagesOf(rs)) {
      const list = tags.get(image) ?? [];
      for (const r of roles) if (!list.includes(r)) list.push(r);
      tags.set(image, list);
    }
  }
  if (tags.size === 0) for (const image of templateImages(ro)) tags.set(image, []);
  const rank = (roles: string[]): number => (roles.includes('stable') ? 0 : roles.length > 0 ? 1 : 2);
  return [...tags]
    .sort((a, b) => rank(a[1]) - rank(b[1]))
    .map(([image, roles]) => (roles.length > 0 ? `${image} (${roles.join(', ')})` : image));
}

function actualWeight(ro: Rollout, owned: readonly ReplicaSetLike[]): number {
  const weights = ro.status?.canary?.weights;
  if (weights) return weights.canary.weight;
  const current = ro.status?.currentPodHash;
  if (current !== undefined && current === ro.status?.stableRS) return 100;
  let total = 0;
  let canary = 0;
  for (const rs of owned) {
    const available = rs.status?.availableReplicas ?? 0;
    total += available;
    if (current !== undefined && hashOf(rs) === current) canary += available;
  }
  return total === 0 ? 0 : Math.floor((canary * 100) / total);
}

/** The AnalysisRuns status names (step, background, pre- and post-promotion): "  Step:  demo-6d9f-2-1 (Running)". */
function analysisRunLines(status: Rollout['status']): string[] {
  const lines: string[] = [];
  const records: [string, unknown][] = [
    ['  Step:', status?.canary?.currentStepAnalysisRunStatus],
    ['  Background:', status?.canary?.currentBackgroundAnalysisRunStatus],
    ['  PrePromotion:', status?.blueGreen?.prePromotionAnalysisRunStatus],
    ['  PostPromotion:', status?.blueGreen?.postPromotionAnalysisRunStatus],
  ];
  for (const [label, value] of records) {
    if (typeof value !== 'object' || value === null) continue;
    const { name, status: phase, message } = value as { name?: unknown; status?: unknown; message?: unknown };
    if (typeof name !== 'string') continue;
    const detail = typeof message === 'string' && message !== '' ? `: ${message}` : '';
    lines.push(header(label, `${name} (${typeof phase === 'string' ? phase : 'Pending'}${detail})`));
  }
  return lines;
}

function stepLines(ro: Rollout, now: Date): string[] {
  const all = steps(ro);
  if (all.length === 0) return [];
  const aborted = ro.status?.abort === true;
  const index = ro.status?.currentStepIndex ?? 0;
  const lines = [aborted ? 'Steps (aborted):' : 'Steps:'];
  all.forEach((step, i) => {
    let mark = ' ';
    if (!aborted && i < index) mark = ICON.ok;
    else if (!aborted && i === index) mark = ICON.current;
    let line = `  ${mark} ${i}: ${describeStep(step)}`;
    if (!aborted && i === index && step.pause) {
      const cond = (ro.status?.pauseConditions ?? []).find((c) => c.reason === 'CanaryPauseStep');
      const started = toMillis(cond?.startTime);
      if (started !== undefined) {
        const total = step.pause.duration === undefined ? undefined : durationMs(step.pause.duration);
        line +=
          total === undefined
            ? ` (paused ${humanDuration(now.getTime() - started)})`
            : ` (${humanDuration(Math.max(0, started + total - now.getTime()))} left)`;
      }
    }
    lines.push(line);
  });
  return lines;
}

/**
 * `weir get rollout`: header, steps, then the tree of revisions, their
 * ReplicaSets (only those the Rollout owns) and their pods.
 */
export function renderRollout(ro: Rollout, replicaSets: readonly ReplicaSetLike[], pods: readonly PodLike[], now: Date, options: RenderOptions = {}): string {
  const color = options.color === true;
  const status = ro.status;
  const owned = ownedReplicaSets(ro, replicaSets);
  const strategy = strategyName(ro);
  const lines: string[] = [];

  lines.push(header('Name:', ro.metadata.name ?? ''));
  lines.push(header('Namespace:', ro.metadata.namespace ?? ''));
  const phase = status?.phase;
  lines.push(header('Status:', `${phaseIcon(phase)} ${phase ?? 'Unknown'}${status?.abort === true ? ' (aborted)' : ''}${ro.spec.paused === true ? ' (spec.paused)' : ''}`));
  if (status?.message !== undefined && status.message !== '') lines.push(header('Message:', status.message));
  lines.push(header('Strategy:', strategy));
  if (strategy === 'Canary') {
    const n = steps(ro).length;
    if (n > 0) lines.push(header('  Step:', `${Math.min(status?.currentStepIndex ?? 0, n)}/${n}`));
    lines.push(header('  SetWeight:', String(currentSetWeight(ro))));
    lines.push(header('  ActualWeight:', String(actualWeight(ro, owned))));
  } else if (strategy === 'BlueGreen') {
    const bg = status?.blueGreen;
    if (bg?.activeSelector !== undefined) lines.push(header('  Active:', bg.activeSelector));
    if (bg?.previewSelector !== undefined) lines.push(header('  Preview:', bg.previewSelector));
  }
  const images = imageLines(ro, owned);
  images.forEach((img, i) => lines.push(header(i === 0 ? 'Images:' : '', img)));
  lines.push('Replicas:');
  lines.push(header('  Desired:', String(ro.spec.replicas ?? 1)));
  lines.push(header('  Current:', String(status?.replicas ?? 0)));
  lines.push(header('  Updated:', String(status?.updatedReplicas ?? 0)));
  lines.push(header('  Ready:', String(status?.readyReplicas ?? 0)));
  lines.push(header('  Available:', String(status?.availableReplicas ?? 0)));
  const git = status?.git;
  if (git?.currentRevision !== undefined || git?.stableRevision !== undefined) {
    lines.push('Git:');
    if (git.currentRevision !== undefined) lines.push(header('  Current:', git.currentRevision));
    if (git.stableRevision !== undefined) lines.push(header('  Stable:', git.stableRevision));
  }

  const runs = analysisRunLines(status);
  if (runs.length > 0) lines.push('Analysis:', ...runs);

  const stepList = stepLines(ro, now);
  if (stepList.length > 0) lines.push('', ...stepList);

  // The tree: rollout > revision > ReplicaSet > pods.
  const rows: string[][] = [['NAME', 'KIND', 'STATUS', 'AGE', 'INFO']];
  rows.push([`${ICON.rollout} ${ro.metadata.name ?? ''}`, 'Rollout', `${phaseIcon(phase)} ${phase ?? 'Unknown'}`, age(metaTimestamp(ro, 'creationTimestamp'), now), '']);
  const byRevision = new Map<string, ReplicaSetLike[]>();
  for (const rs of owned) {
    const key = String(revisionOf(rs) ?? '?');
    byRevision.set(key, [...(byRevision.get(key) ?? []), rs]);
  }
  const revisions = [...byRevision];
  revisions.forEach(([revision, sets], ri) => {
    const lastRevision = ri === revisions.length - 1;
    rows.push([`${lastRevision ? '└──' : '├──'}${ICON.revision} revision:${revision}`, '', '', '', '']);
    const indent1 = lastRevision ? '   ' : '│  ';
    sets.forEach((rs, si) => {
      const lastSet = si === sets.length - 1;
      const hash = hashOf(rs);
      const name = rs.metadata?.name ?? '';
      const info = [...replicaSetRoles(ro, hash)];
      if (hash !== undefined && !name.endsWith(hash)) info.push(`hash:${hash}`);
      info.push(`ready:${rs.status?.readyReplicas ?? 0}/${rs.spec?.replicas ?? 0}`);
      const deadline = toMillis(rs.metadata?.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION]);
      if (deadline !== undefined && (rs.spec?.replicas ?? 0) > 0) {
        info.push(deadline > now.getTime() ? `delay:${humanDuration(deadline - now.getTime())}` : 'delay:passed');
      }
      rows.push([`${indent1}${lastSet ? '└──' : '├──'}${ICON.replicaSet} ${name}`, 'ReplicaSet', replicaSetStatus(rs), age(rs.metadata?.creationTimestamp, now), info.join(',')]);
      const indent2 = indent1 + (lastSet ? '   ' : '│  ');
      const mine = hash === undefined ? [] : pods.filter((p) => hashOf(p) === hash && (p.metadata?.namespace ?? ro.metadata.namespace) === ro.metadata.namespace);
      mine.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
      mine.forEach((pod, pi) => {
        const lastPod = pi === mine.length - 1;
        const counts = podCounts(pod);
        const st = podStatus(pod);
        const podInfo = [`ready:${counts.ready}/${counts.total}`];
        if (counts.restarts > 0) podInfo.push(`restarts:${counts.restarts}`);
        rows.push([
          `${indent2}${lastPod ? '└──' : '├──'}${ICON.pod} ${pod.metadata?.name ?? ''}`,
          'Pod',
          `${podIcon(st, counts.total > 0 && counts.ready === counts.total)} ${st}`,
          age(pod.metadata?.creationTimestamp, now),
          podInfo.join(','),
        ]);
      });
    });
  });
  lines.push('', ...alignColumns(rows));
  return colorize(lines.join('\n'), color) + '\n';
}

/** One row of `weir list rollouts`. */
export function rolloutListRow(ro: Rollout): string[] {
  const strategy = strategyName(ro);
  const status = ro.status;
  const n = steps(ro).length;
  return [
    ro.metadata.name ?? '',
    strategy,
    status?.phase ?? 'Unknown',
    strategy === 'Canary' && n > 0 ? `${Math.min(status?.currentStepIndex ?? 0, n)}/${n}` : '-',
    strategy === 'Canary' ? String(currentSetWeight(ro)) : '-',
    `${status?.readyReplicas ?? 0}/${status?.replicas ?? 0}`,
    String(ro.spec.replicas ?? 1),
    String(status?.updatedReplicas ?? 0),
    String(status?.availableReplicas ?? 0),
  ];
}

/** `weir list rollouts`: NAME STRATEGY STATUS STEP SET-WEIGHT READY DESIRED UP-TO-DATE AVAILABLE (NAMESPACE first with -A). */
export function renderRolloutList(rollouts: readonly Rollout[], opts: { allNamespaces?: boolean } = {}): string {
  const all = opts.allNamespaces === true;
  const head = ['NAME', 'STRATEGY', 'STATUS', 'STEP', 'SET-WEIGHT', 'READY', 'DESIRED', 'UP-TO-DATE', 'AVAILABLE'];
  const sorted = [...rollouts].sort(
    (a, b) => (a.metadata.namespace ?? '').localeCompare(b.metadata.namespace ?? '') || (a.metadata.name ?? '').localeCompare(b.metadata.name ?? ''),
  );
  const rows = sorted.map((ro) => (all ? [ro.metadata.namespace ?? '', ...rolloutListRow(ro)] : rolloutListRow(ro)));
  return alignColumns([all ? ['NAMESPACE', ...head] : head, ...rows]).join('\n') + '\n';
}
