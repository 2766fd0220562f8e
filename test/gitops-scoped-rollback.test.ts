// One app's failure rolls back that app only, on the sandbox with the
// controller as a process (issue 19, point 7). Two apps live in one GitSource
// (apps/alpha and apps/beta, the source's path `apps`):
// - one commit releases both, beta fails analysis: beta's directory goes back
//   to its last good commit, alpha finishes its rollout untouched, and the
//   revert pushed to Git undoes only beta's files;
// - with no write-back, beta stays held back while Git still holds its
//   rejected manifests, through alpha's later releases, until beta changes;
// - a commit that is Weir's own revert, when it fails, is rejected but never
//   reverted (that would put the release it undid back into Git).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { WEIR_AUTHOR } from '../src/source/index.ts';
import { createSandboxRepository } from '../src/sandbox/index.ts';
import { waitFor } from '../src/util/wait.ts';
import { analysedAppFiles, appGreeting } from './support/app-repo.ts';
import { useControllerNamespace } from './support/controller.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { GITSOURCES, createGitSource, eventMessages, sourceCondition as condition, waitForGitSource, type GitSourceStatus } from './support/gitsources.ts';
import { recordChanges, waitForRollout } from './support/rollouts.ts';

type Status = GitSourceStatus;

interface RolloutView {
  phase: unknown;
  abort: unknown;
  revision: unknown;
}

describe('rollback scoped to the app that failed', () => {
  const ctx = useControllerNamespace('scoped');
  const ns = ctx.ns;
  const workspaces: GitWorkspace[] = [];
  const recorders: { stop(): void }[] = [];
  after(async () => {
    for (const r of recorders) r.stop();
    for (const w of workspaces) await w.dispose();
  });

  function appManifests(app: string, version: string, greeting: string, bad = false): Record<string, string> {
    const metric = { interval: '2s', count: 4, initialDelay: '4s', failureLimit: 0 };
    return analysedAppFiles({ name: app, namespace: ns, version, greeting, env: bad ? { ERROR_RATE: '0.5' } : {}, prometheus: ctx.sb.state.prometheusUrl, metric });
  }

  async function writeApp(w: GitWorkspace, app: string, version: string, greeting: string, bad = false): Promise<void> {
    await w.writeAll(appManifests(app, version, greeting, bad));
  }

  async function waitForSource(name: string, what: string, predicate: (s: Status) => boolean, timeoutMs = 150_000): Promise<Status> {
    return (await waitForGitSource(ctx.sb, ns, name, what, predicate, timeoutMs)).status ?? {};
  }

  const greeting = (app: string): Promise<string | undefined> => appGreeting(ctx.sb, ns, app);
  const events = (reason: string, name: string): Promise<string[]> => eventMessages(ctx.sb, ns, name, reason);

  /** Every phase, abort flag and revision a Rollout passes through, and every value of its ConfigMap. */
  async function record(app: string): Promise<{ rollout: RolloutView[]; greetings: unknown[] }> {
    const rollout = await recordChanges(ctx.sb, `/apis/weir.dev/v1alpha1/namespaces/${ns}/rollouts`, app, (o) => {
      const s = (o.status ?? {}) as { phase?: unknown; abort?: unknown; git?: { currentRevision?: unknown } };
      return { phase: s.phase, abort: s.abort === true, revision: s.git?.currentRevision };
    });
    const config = await recordChanges(ctx.sb, `/api/v1/namespaces/${ns}/configmaps`, `${app}-config`, (o) => (o.data as Record<string, unknown> | undefined)?.GREETING);
    recorders.push(rollout, config);
    return { rollout: rollout.values, greetings: config.values };
  }

  /** Two apps in one source, both Healthy on the first commit. Each test has apps of its own: two sources never share objects. */
  async function twoApps(repo: string, apps: readonly [string, string], spec: Record<string, unknown>): Promise<{ w: GitWorkspace; first: string }> {
    const w = await GitWorkspace.create(await createSandboxRepository(ctx.sb.state, `${ns}-${repo}`));
    workspaces.push(w);
    for (const app of apps) await writeApp(w, app, 'v1', `${app}-1`);
    const first = await w.commit(`${apps.join(' v1, ')} v1`);
    await createGitSource(ctx.sb, ns, repo, w.url, { paths: ['apps'], interval: '5s', timeout: '2s', ...spec });
    for (const app of apps) await waitForRollout(ctx.sb, ns, app, `${app} Healthy on v1`, (s) => s.phase === 'Healthy' && s.git?.stableRevision === first, 120_000);
    return { w, first };
  }

  const deleteSource = (name: string): Promise<unknown> => ctx.sb.custom.deleteNamespacedCustomObject({ ...GITSOURCES, namespace: ns, name }).catch(() => undefined);

  it('one commit releases two apps and one fails: only its directory goes back, the other is promoted, and the revert touches only its files', async () => {
    const source = 'pair';
    const { w, first } = await twoApps(source, ['alpha', 'beta'], { rollback: { writeBack: 'revert' } });
    const alpha = await record('alpha');

    await writeApp(w, 'alpha', 'v2', 'alpha-2');
    await writeApp(w, 'beta', 'v2', 'beta-2', true);
    const release = await w.commit('alpha v2 (good), beta v2 (fails analysis)');

    const reverted = await waitForSource(source, "beta's part rejected and reverted", (s) => s.rejectedRevisions?.find((r) => r.revision === release)?.writeBack === 'pushed');
    const rejection = reverted.rejectedRevisions?.filter((r) => r.revision === release) ?? [];
    assert.equal(rejection.length, 1, 'one rejection');
    const [only] = rejection;
    assert.ok(only);
    assert.deepEqual([only.rollout, only.scope, only.rollbackTo], ['beta', 'apps/beta', first]);
    await waitFor(async () => (await greeting('beta')) === 'beta-1', { what: "beta's ConfigMap back to v1", timeoutMs: 30_000 });
    // Back on v1's template (currentRevision: the commit that introduced it); the last good revision then moves on to the revert, which holds the same.
    await waitForRollout(ctx.sb, ns, 'beta', 'beta Healthy on v1 again', (s) => s.phase === 'Healthy' && s.git?.currentRevision === first, 90_000);
    await waitForRollout(ctx.sb, ns, 'alpha', 'alpha promoted on the release', (s) => s.phase === 'Healthy' && s.git?.currentRevision === release && s.git.stableRevision !== first, 150_000);

    // alpha was never touched by beta's failure: no abort, its config never went back.
    assert.ok(alpha.rollout.every((v) => v.abort === false && v.phase !== 'Degraded'), `alpha's statuses: ${JSON.stringify(alpha.rollout)}`);
    assert.deepEqual(alpha.greetings.filter((g, i, all) => i === 0 || all[i - 1] !== g), ['alpha-1', 'alpha-2'], "alpha's ConfigMap: v1, then v2, never back");
    assert.equal(await greeting('alpha'), 'alpha-2');

    // Git: one revert, of beta's files only.
    const revert = reverted.revertRevisions?.find((r) => r.rejected === release)?.revert;
    assert.equal(await w.pull(), revert, 'main holds the revert');
    const log = await w.log();
    const reverts = log.filter((c) => c.message.includes(`This reverts commit ${release}`));
    assert.equal(reverts.length, 1, 'exactly one revert commit');
    assert.match(reverts[0]?.message ?? '', /Only its changes under apps\/beta are reverted/);
    for (const [path, content] of Object.entries(appManifests('beta', 'v1', 'beta-1'))) assert.equal(await w.read(path), content, `${path} is v1's again`);
    assert.match((await w.read('apps/alpha/config.yaml')) ?? '', /alpha-2/, "alpha's files stay v2");

    // The revert applied: nothing held back any more, Git and the cluster agree.
    const agreed = await waitForSource(source, 'the revert applied, in sync', (s) => s.lastAppliedRevision === revert && s.heldBack === undefined && condition(s, 'GitOutOfSync')?.status === 'False');
    assert.equal(condition(agreed, 'Ready')?.status, 'True');
    assert.ok(!alpha.rollout.some((v) => v.abort === true), 'alpha never aborted');

    // Weir's own revert failing (here a commit Weir authored that reverts the release and brings a bad beta): rejected, never reverted.
    await writeApp(w, 'beta', 'v3', 'beta-3', true);
    const weirs = await w.commit(`Revert "alpha v2 (good), beta v2 (fails analysis)"\n\nThis reverts commit ${release}.\n`, { author: WEIR_AUTHOR });
    const refused = await waitForSource(source, "Weir's revert rejected, not reverted", (s) => s.rejectedRevisions?.find((r) => r.revision === weirs)?.writeBack === 'none');
    assert.equal(refused.rejectedRevisions?.find((r) => r.revision === weirs)?.scope, 'apps/beta');
    await waitFor(async () => (await events('WriteBackSkipped', source)).some((m) => m.includes(`${weirs.slice(0, 7)} is Weir's own revert`)), { what: 'the WriteBackSkipped event', timeoutMs: 10_000 });
    await waitFor(async () => (await greeting('beta')) === 'beta-1', { what: "beta's ConfigMap back to v1 again", timeoutMs: 60_000 });
    assert.equal(await w.pull(), weirs, 'nothing pushed over it');
    assert.equal((await waitForSource(source, 'beta held', (s) => s.heldBack?.some((h) => h.path === 'apps/beta' && h.rejected === weirs) === true)).lastAppliedRevision, weirs);
    assert.equal(await greeting('alpha'), 'alpha-2');
    await deleteSource(source);
  });

  it('without write-back, the failed app stays held back through its neighbour’s releases until its own directory changes', async () => {
    const source = 'held';
    const { w, first } = await twoApps(source, ['gamma', 'delta'], { rollback: { writeBack: 'none' } });
    await writeApp(w, 'delta', 'v2', 'delta-2', true);
    const bad = await w.commit('delta v2 (fails analysis)');
    const held = await waitForSource(source, 'delta held back at v1', (s) => s.heldBack?.some((h) => h.path === 'apps/delta' && h.rejected === bad && h.revision === first) === true);
    assert.equal(held.lastAppliedRevision, bad, 'the rest is the commit Git holds');
    await waitFor(async () => (await greeting('delta')) === 'delta-1', { what: "delta's ConfigMap back to v1", timeoutMs: 30_000 });
    await waitForRollout(ctx.sb, ns, 'delta', 'delta Healthy on v1 again', (s) => s.phase === 'Healthy' && s.git?.stableRevision === first, 90_000);
    const out = await waitForSource(source, 'GitOutOfSync: Git holds delta as rejected', (s) => condition(s, 'GitOutOfSync')?.reason === 'RejectedContentInGit');
    assert.match(condition(out, 'GitOutOfSync')?.message ?? '', /apps\/delta is rejected/);

    // gamma releases; Git still holds delta's rejected manifests: delta stays held, no second rollout of it.
    const delta = await record('delta');
    await writeApp(w, 'gamma', 'v2', 'gamma-2');
    const neighbour = await w.commit('gamma v2');
    await waitForRollout(ctx.sb, ns, 'gamma', 'gamma promoted on v2', (s) => s.phase === 'Healthy' && s.git?.stableRevision === neighbour, 150_000);
    const still = await waitForSource(source, 'the neighbour applied, delta still held', (s) => s.lastAppliedRevision === neighbour);
    assert.deepEqual(still.heldBack?.map((h) => [h.path, h.rejected]), [['apps/delta', bad]]);
    assert.equal(await greeting('delta'), 'delta-1');
    assert.ok(delta.rollout.every((v) => v.revision === first && v.phase === 'Healthy'), `delta never rolled out again: ${JSON.stringify(delta.rollout)}`);
    assert.equal((await events('RevisionRejected', source)).filter((m) => m.includes(bad.slice(0, 7))).length, 1, 'rejected once');

    // delta's own fix releases the hold: delta rolls out the fix and is promoted.
    await writeApp(w, 'delta', 'v3', 'delta-3');
    const fix = await w.commit('delta v3 (the fix)');
    await waitForRollout(ctx.sb, ns, 'delta', 'delta promoted on the fix', (s) => s.phase === 'Healthy' && s.git?.stableRevision === fix, 150_000);
    const released = await waitForSource(source, 'nothing held, in sync', (s) => s.lastAppliedRevision === fix && s.heldBack === undefined && condition(s, 'GitOutOfSync')?.status === 'False');
    assert.equal(condition(released, 'Ready')?.status, 'True');
    assert.equal(await greeting('delta'), 'delta-3');
    assert.equal(await greeting('gamma'), 'gamma-2');
    await deleteSource(source);
  });
});
