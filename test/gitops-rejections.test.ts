// Rejections that hold and a Git that ends up telling the truth, on the
// sandbox with the controller as a process (issue 19):
// - Git down when a release fails analysis: the cluster goes back from the
//   local mirror, the revert is pushed in the first reconcile that reaches
//   Git again, and GitOutOfSync says so meanwhile;
// - a force-push that drops the last good commit from the remote: the
//   rollback still finds it, and the rejected commit pushed again (or a copy
//   with the same content) is refused;
// - the metrics provider down during a healthy release: the commit is
//   Unverified, not rejected; it is retried and promoted once the provider
//   answers; with onAnalysisError: reject, it is rejected and reverted.
// Prometheus is the sandbox's own, behind a TCP relay the test takes down
// (connection refused, as when Prometheus is down) without stopping the
// server other tests share.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { after, before, describe, it } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { GitSource } from '../src/api/gitsource.ts';
import { startGitServer } from '../src/sandbox/git-server.ts';
import { createSandboxRepository } from '../src/sandbox/index.ts';
import { waitFor } from '../src/util/wait.ts';
import { analysedAppFiles, appGreeting } from './support/app-repo.ts';
import { useControllerNamespace } from './support/controller.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { GITSOURCES, createGitSource, eventMessages, sourceCondition as condition, getGitSource, waitForGitSource, type GitSourceStatus } from './support/gitsources.ts';
import { getRollout, waitForRollout } from './support/rollouts.ts';
import { startTcpRelay, type TcpRelay } from './support/tcp-relay.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
type Status = GitSourceStatus;

describe('rejections that hold, and Git that ends up telling the truth', () => {
  const ctx = useControllerNamespace('rejections');
  const ns = ctx.ns;
  const workspaces: GitWorkspace[] = [];
  let relay: TcpRelay;

  before(async () => {
    relay = await startTcpRelay(ctx.sb.state.prometheusUrl);
  });
  after(async () => {
    await relay.stop();
    for (const w of workspaces) await w.dispose();
  });

  /** The app's manifests, with a step analysis of the canary's success rate measured through the relay. */
  async function writeApp(w: GitWorkspace, app: string, version: string, greeting: string, env: Record<string, string> = {}): Promise<void> {
    const metric = { interval: '2s', count: 4, initialDelay: '4s', failureLimit: 0, consecutiveErrorLimit: 1 };
    await w.writeAll(analysedAppFiles({ name: app, namespace: ns, version, greeting, env, prometheus: relay.url, metric }));
  }

  const createSource = (name: string, url: string, spec: Record<string, unknown>): Promise<void> =>
    createGitSource(ctx.sb, ns, name, url, { interval: '5s', timeout: '2s', ...spec });
  const source = (name: string): Promise<GitSource> => getGitSource(ctx.sb, ns, name);
  async function waitForSource(name: string, what: string, predicate: (s: Status) => boolean, timeoutMs = 90_000): Promise<Status> {
    return (await waitForGitSource(ctx.sb, ns, name, what, predicate, timeoutMs)).status ?? {};
  }

  const greeting = (app: string): Promise<string | undefined> => appGreeting(ctx.sb, ns, app);
  const events = (reason: string, name: string): Promise<string[]> => eventMessages(ctx.sb, ns, name, reason);

  /** An app promoted twice (v1, then v2: its last good commit), with no write-back; its workspace is then moved back to v1, ready for a history-rewriting bad release. */
  async function promotedTwiceThenRewound(app: string): Promise<{ w: GitWorkspace; first: string; good: string; promoted: Awaited<ReturnType<typeof waitForRollout>> }> {
    const w = await GitWorkspace.create(await createSandboxRepository(ctx.sb.state, `${ns}-${app}`));
    workspaces.push(w);
    await writeApp(w, app, 'v1', 'first');
    const first = await w.commit(`${app} v1`);
    await createSource(app, w.url, { paths: [`apps/${app}`], rollback: { writeBack: 'none' } });
    await waitForRollout(ctx.sb, ns, app, 'Healthy on v1', (s) => s.phase === 'Healthy' && s.git?.stableRevision === first, 90_000);
    await writeApp(w, app, 'v2', 'second');
    const good = await w.commit(`${app} v2: the last good commit`);
    const promoted = await waitForRollout(ctx.sb, ns, app, 'promoted v2', (s) => s.phase === 'Healthy' && s.git?.stableRevision === good, 120_000);
    await w.reset(first);
    return { w, first, good, promoted };
  }

  /** Waits until the step analysis of the release on `revision` is measuring. */
  function waitForAnalysis(app: string, revision: string): Promise<unknown> {
    return waitForRollout(ctx.sb, ns, app, `analysing ${revision.slice(0, 7)}`, (s) => {
      const run = s.canary?.currentStepAnalysisRunStatus as { status?: string } | undefined;
      return s.git?.currentRevision === revision && run?.status === 'Running';
    }, 90_000);
  }

  it('Git down when a release fails analysis: rolled back from the mirror, GitOutOfSync until the revert lands on Git’s return', async () => {
    const root = await mkdtemp(join(tmpdir(), 'weir-git-down-'));
    let server = await startGitServer({ root, port: 0 });
    const port = server.port;
    const w = await GitWorkspace.create(await server.createRepository('outage'));
    workspaces.push(w);
    const app = 'outage';
    try {
      await writeApp(w, app, 'v1', 'good');
      const good = await w.commit('outage v1');
      await createSource(app, w.url, { paths: [`apps/${app}`], rollback: { writeBack: 'revert' } });
      const healthy = await waitForRollout(ctx.sb, ns, app, 'Healthy on v1', (s) => s.phase === 'Healthy' && s.git?.stableRevision === good, 90_000);

      await writeApp(w, app, 'v2', 'bad', { ERROR_RATE: '0.5' });
      const bad = await w.commit('outage v2: fails analysis');
      await waitForAnalysis(app, bad);
      await server.close();
      const stoppedAt = Date.now();

      // The cluster goes back without Git; the revert waits.
      const pending = await waitForSource(app, 'rejected, revert pending', (s) => s.rejectedRevisions?.some((r) => r.revision === bad && r.writeBack === 'pending') === true && condition(s, 'GitOutOfSync')?.status === 'True');
      assert.equal(condition(pending, 'GitOutOfSync')?.reason, 'RevertPending');
      await waitFor(async () => (await greeting(app)) === 'good', { what: 'the ConfigMap back to v1 from the mirror', timeoutMs: 30_000 });
      await waitForRollout(ctx.sb, ns, app, 'Healthy on v1 again', (s) => s.phase === 'Healthy' && s.currentPodHash === healthy.status?.stableRS, 60_000);
      assert.ok((await events('WriteBackFailed', app)).length >= 1, 'the failed write-back is reported');

      // Git comes back 30 s after it went away.
      await delay(Math.max(0, 30_000 - (Date.now() - stoppedAt)));
      assert.equal((await source(app)).status?.revertRevisions?.length ?? 0, 0, 'nothing could be pushed while Git was down');
      server = await startGitServer({ root, port });
      const returnedAt = Date.now();
      const agreed = await waitForSource(app, 'the revert pushed and GitOutOfSync false', (s) => s.rejectedRevisions?.find((r) => r.revision === bad)?.writeBack === 'pushed' && condition(s, 'GitOutOfSync')?.status === 'False');
      process.stdout.write(`# Git back to revert recorded: ${Date.now() - returnedAt} ms (interval 5 s)\n`);
      const reverts = agreed.revertRevisions?.filter((r) => r.rejected === bad) ?? [];
      assert.equal(reverts.length, 1, 'one revert');
      // Pushed in the first reconcile that reached Git again: the same reconcile cleared SourceUnavailable.
      assert.equal(reverts[0]?.at, condition(agreed, 'SourceUnavailable')?.lastTransitionTime);
      assert.equal(await w.pull(), reverts[0]?.revert, 'main holds the revert');
      const log = await w.log();
      assert.equal(log.filter((c) => c.message.includes(`This reverts commit ${bad}`)).length, 1, 'exactly one revert commit in Git');
      assert.equal(log[0]?.author, 'Weir');
    } finally {
      await ctx.sb.custom.deleteNamespacedCustomObject({ ...GITSOURCES, namespace: ns, name: app }).catch(() => undefined);
      await server.close().catch(() => undefined);
    }
  });

  it('a force-push that drops the last good commit: the rollback finds it in the mirror; the rejected commit, or a copy of it, is refused when pushed again', async () => {
    const app = 'forced';
    const { w, first, good, promoted } = await promotedTwiceThenRewound(app);

    // History rewritten: main is v1 → bad; the last good commit is gone from the remote.
    await writeApp(w, app, 'v3', 'bad', { ERROR_RATE: '0.5' });
    const bad = await w.commit('forced v3: rewrites history and fails analysis', { force: true });
    const rejected = await waitForSource(app, 'the bad commit rejected and rolled back to the last good one', (s) => s.rejectedRevisions?.some((r) => r.revision === bad) === true && s.lastAppliedRevision === good, 150_000);
    assert.equal(rejected.rejectedRevisions?.find((r) => r.revision === bad)?.rollbackTo, good);
    assert.equal(condition(rejected, 'Ready')?.status, 'True');
    await waitFor(async () => (await greeting(app)) === 'second', { what: 'the ConfigMap back to the last good commit', timeoutMs: 30_000 });
    await waitForRollout(ctx.sb, ns, app, 'Healthy on v2 again', (s) => s.phase === 'Healthy' && s.currentPodHash === promoted.status?.stableRS, 60_000);
    const out = await waitForSource(app, 'GitOutOfSync: Git holds the rejected commit', (s) => condition(s, 'GitOutOfSync')?.status === 'True');
    assert.match(condition(out, 'GitOutOfSync')?.message ?? '', /writeBack is none/);

    // A copy of the rejected commit (the same tree, another sha) force-pushed over a fix: refused without applying anything.
    await writeApp(w, app, 'v2', 'fixed');
    const fix = await w.commit('forced: a fix');
    await waitForSource(app, 'the fix applied', (s) => s.lastAppliedRevision === fix);
    await waitForRollout(ctx.sb, ns, app, 'Healthy on the fix', (s) => s.phase === 'Healthy' && s.git?.stableRevision === fix, 120_000);
    await w.reset(first);
    await writeApp(w, app, 'v3', 'bad', { ERROR_RATE: '0.5' });
    const copy = await w.commit('forced v3 again, same content', { force: true });
    assert.notEqual(copy, bad);
    const refused = await waitForSource(app, 'the copy refused', (s) => s.rejectedRevisions?.some((r) => r.revision === copy) === true);
    assert.match(refused.rejectedRevisions?.find((r) => r.revision === copy)?.reason ?? '', new RegExp(`same content as rejected ${bad.slice(0, 7)}`));
    assert.equal(refused.lastAppliedRevision, fix, 'nothing of it applied');
    // And the rejected commit itself, pushed again.
    const running = await getRollout(ctx.sb, ns, app);
    await w.reset(bad);
    await w.push({ force: true });
    const again = await waitForSource(app, 'Git at the rejected commit again', (s) => s.lastFetchedRevision === bad);
    assert.equal(again.lastAppliedRevision, fix);
    assert.equal(condition(again, 'Ready')?.reason, 'RevisionRejected');
    const r = await getRollout(ctx.sb, ns, app);
    assert.equal(r.status?.git?.currentRevision, running.status?.git?.currentRevision, 'no rollout of the rejected commit started');
    assert.equal(r.status?.currentPodHash, running.status?.currentPodHash);
    assert.equal(r.status?.phase, 'Healthy');
    assert.equal(await greeting(app), 'fixed');
  });

  it('a rollback whose target is gone from Git and from the cache: not Ready (RollbackFailed), nothing applied', async () => {
    const app = 'gone';
    const { w, good } = await promotedTwiceThenRewound(app);

    // The last good commit leaves the remote (force-push) and the controller's cache (a new machine).
    await writeApp(w, app, 'v3', 'bad', { ERROR_RATE: '0.5' });
    await ctx.restart({ wipeCache: true });
    const bad = await w.commit('gone v3: rewrites history and fails analysis', { force: true });
    const stuck = await waitForSource(app, 'the rollback failing, not Ready', (s) => s.rejectedRevisions?.some((r) => r.revision === bad && r.rollbackTo === good) === true && condition(s, 'Ready')?.reason === 'RollbackFailed', 150_000);
    assert.equal(condition(stuck, 'Ready')?.status, 'False');
    assert.match(condition(stuck, 'Ready')?.message ?? '', new RegExp(`cannot roll back: ${good.slice(0, 7)} cannot be read`));
    assert.equal(stuck.lastAppliedRevision, bad, 'nothing else applied: the cluster holds the rejected commit, and says so');
    assert.ok((await events('RollbackFailed', app)).length >= 1, 'a RollbackFailed event');
    assert.equal(await greeting(app), 'bad');
  });

  it('the metrics provider down during a healthy release: Unverified, retried and promoted when it answers; with onAnalysisError reject, rejected', async () => {
    const w = await GitWorkspace.create(await createSandboxRepository(ctx.sb.state, `${ns}-unmeasured`));
    workspaces.push(w);
    const app = 'unmeasured';
    await writeApp(w, app, 'v1', 'one');
    const first = await w.commit('unmeasured v1');
    await createSource(app, w.url, { paths: [`apps/${app}`], rollback: { writeBack: 'revert' } });
    await waitForRollout(ctx.sb, ns, app, 'Healthy on v1', (s) => s.phase === 'Healthy' && s.git?.stableRevision === first, 90_000);

    await writeApp(w, app, 'v2', 'two');
    const healthy = await w.commit('unmeasured v2: healthy');
    await waitForAnalysis(app, healthy);
    await relay.stop();
    const unverified = await waitForSource(app, 'v2 unverified', (s) => s.unverifiedRevisions?.some((u) => u.revision === healthy) === true);
    assert.equal(unverified.rejectedRevisions?.length ?? 0, 0, 'not rejected');
    const aborted = await getRollout(ctx.sb, ns, app);
    assert.equal(aborted.status?.abort, true, 'the rollout aborted to stable, as Argo does');
    assert.equal((aborted.status.canary?.currentStepAnalysisRunStatus as { status?: string } | undefined)?.status, 'Error');
    assert.equal(await greeting(app), 'two', 'the commit stays applied');
    await relay.start();

    const done = await waitForRollout(ctx.sb, ns, app, 'v2 retried and promoted', (s) => s.phase === 'Healthy' && s.git?.stableRevision === healthy, 180_000);
    assert.equal(done.status?.git?.stableRevision, healthy);
    const after = await waitForSource(app, 'no longer unverified', (s) => s.unverifiedRevisions === undefined && s.history?.some((h) => h.revision === healthy && h.outcome === 'promoted') === true);
    assert.equal(after.rejectedRevisions?.length ?? 0, 0);
    assert.equal(after.revertRevisions?.length ?? 0, 0, 'no revert');
    assert.ok((await events('UnverifiedRetried', app)).length >= 1, 'retried by Weir');
    assert.equal(await w.pull(), healthy, 'Git untouched: no revert commit');

    // onAnalysisError: reject is the old behaviour: an unmeasured release is rejected and reverted.
    await ctx.sb.custom.patchNamespacedCustomObject({ ...GITSOURCES, namespace: ns, name: app, body: { spec: { rollback: { writeBack: 'revert', onAnalysisError: 'reject' } } } }, mergePatch);
    await writeApp(w, app, 'v3', 'three');
    const next = await w.commit('unmeasured v3: healthy, measured by nobody');
    await waitForAnalysis(app, next);
    await relay.stop();
    try {
      const s = await waitForSource(app, 'v3 rejected and reverted', (st) => st.rejectedRevisions?.some((r) => r.revision === next) === true && st.revertRevisions?.some((r) => r.rejected === next) === true);
      assert.equal(s.unverifiedRevisions, undefined);
      assert.match(s.rejectedRevisions?.find((r) => r.revision === next)?.reason ?? '', /Error/);
    } finally {
      await relay.start();
    }
  });
});
