// `weir history rollout NAME`: the Git revisions behind a Rollout, each with
// its commit, author, message, outcome (promoted, rejected with the reason,
// superseded, reverted) and times, from the GitSource that manages it.
import type { Command } from 'commander';
import { CustomObjectsApi } from '@kubernetes/client-node';
import { GROUP, VERSION } from '../api/common.ts';
import type { GitSource } from '../api/gitsource.ts';
import type { Rollout } from '../api/rollout.ts';
import { kubeErrorCode } from '../cluster/errors.ts';
import { addKubeOptions, kubeOptionsOf, loadKube } from './kube-options.ts';

export const SOURCE_LABEL = 'weir.dev/source';

export interface HistoryRow {
  revision: string;
  author: string;
  message: string;
  outcome: string;
  appliedAt: string;
  committedAt: string;
  marks: string[];
}

/** The rows of the history table, newest first. Pure. */
export function historyRows(rollout: Rollout, source: GitSource): HistoryRow[] {
  const status = source.status ?? {};
  const rejected = new Map((status.rejectedRevisions ?? []).map((r) => [r.revision, r]));
  const reverts = new Map((status.revertRevisions ?? []).map((r) => [r.revert, r]));
  const git = rollout.status?.git;
  return [...(status.history ?? [])].reverse().map((h) => {
    const marks: string[] = [];
    if (h.revision === git?.stableRevision) marks.push('stable');
    if (h.revision === git?.currentRevision && git.currentRevision !== git.stableRevision) marks.push('current');
    const revert = reverts.get(h.revision);
    if (revert) marks.push(`reverts ${revert.rejected.slice(0, 7)}`);
    const rejection = rejected.get(h.revision);
    const outcome = rejection ? `rejected: ${rejection.reason}` : h.outcome;
    return {
      revision: h.revision.slice(0, 7),
      author: h.author ?? '',
      message: h.message ?? '',
      outcome,
      appliedAt: h.appliedAt,
      committedAt: h.committedAt ?? '',
      marks,
    };
  });
}

export function renderHistory(rows: readonly HistoryRow[]): string {
  const header = ['REVISION', 'OUTCOME', 'APPLIED', 'AUTHOR', 'MESSAGE'];
  const table = rows.map((r) => [r.revision + (r.marks.length > 0 ? ` (${r.marks.join(', ')})` : ''), r.outcome, r.appliedAt, r.author, r.message]);
  const widths = header.map((h, i) => Math.max(h.length, ...table.map((row) => (row[i] ?? '').length)));
  const line = (cells: string[]): string => cells.map((c, i) => (i === cells.length - 1 ? c : c.padEnd(widths[i] ?? 0))).join('  ').trimEnd();
  return [line(header), ...table.map(line)].join('\n') + '\n';
}

export function registerHistoryCommand(program: Command): void {
  const history = program.commands.find((c) => c.name() === 'history') ?? program.command('history').description('the Git history behind a resource');
  addKubeOptions(history.command('rollout').aliases(['rollouts', 'ro']).description('the Git revisions of a Rollout and what became of each').argument('<name>', 'the Rollout')).action(
    async (name: string, _opts: unknown, cmd: Command) => {
      const target = loadKube(kubeOptionsOf(cmd));
      const custom = target.kubeConfig.makeApiClient(CustomObjectsApi);
      let rollout: Rollout;
      try {
        rollout = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'rollouts', namespace: target.namespace, name })) as Rollout;
      } catch (err) {
        if (kubeErrorCode(err) === 404) throw new Error(`rollout "${name}" not found in namespace "${target.namespace}"`, { cause: err });
        throw err;
      }
      const label = rollout.metadata.labels?.[SOURCE_LABEL];
      if (!label) throw new Error(`rollout "${name}" is not managed by a GitSource (no ${SOURCE_LABEL} label): it has no Git history`);
      const dot = label.indexOf('.');
      const source = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'gitsources', namespace: label.slice(0, dot), name: label.slice(dot + 1) })) as GitSource;
      process.stdout.write(renderHistory(historyRows(rollout, source)));
    },
  );
}
