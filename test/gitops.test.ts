// Git as the source, end to end on the sandbox with its Git server and the
// controller as a process: apply from Git, webhook and poll, a bad commit
// applies nothing, a failed rollout returns the cluster to the last good
// commit and writes the revert back, drift is corrected, an unreachable
// server changes nothing, and a wrongly signed webhook is refused.
import assert from 'node:assert/strict';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { GitSource } from '../src/api/gitsource.ts';
import { startGitServer } from '../src/sandbox/git-server.ts';
import { createSandboxRepository } from '../src/sandbox/index.ts';
import { waitFor } from '../src/util/wait.ts';
import { appFiles, appGreeting, type AppOptions } from './support/app-repo.ts';
import { startController, type ControllerProcess } from './support/controller.ts';
import { namespace } from './support/demo-app.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { GITSOURCES, createGitSource, getGitSource, pushWebhook, waitForGitSource, type GitSourceStatus } from './support/gitsources.ts';
import { getRollout, installCrds, routeWeights, waitForRollout, weir } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const SECRET = 'webhook-secret-for-tests';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

describe('Git as the source', () => {
  let sb: TestSandbox;
  let controller: ControllerProcess;
  const ns = uniqueName('gitops');
  const workspaces: GitWorkspace[] = [];

  before(async () => {
    sb = await testSandbox();
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
    controller = await startController(sb, { namespace: ns, logName: ns, args: ['--webhook-secret', SECRET] });
  });
  after(async () => {
    await controller.stop();
    for (const w of workspaces) await w.dispose();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  async function workspace(name: string): Promise<GitWorkspace> {
    const w = await GitWorkspace.create(await createSandboxRepository(sb.state, `${ns}-${name}`));
    workspaces.push(w);
    return w;
  }

  async function writeApp(w: GitWorkspace, o: Omit<AppOptions, 'namespace'>): Promise<void> {
    for (const [path, content] of Object.entries(appFiles({ ...o, namespace: ns }))) await w.write(path, content);
  }

  const createSource = (name: string, url: string, spec: Record<string, unknown>): Promise<void> => createGitSource(sb, ns, name, url, spec);
  const source = (name: string): Promise<GitSource> => getGitSource(sb, ns, name);
  const waitForSource = (name: string, what: string, predicate: (s: GitSourceStatus) => boolean, timeoutMs?: number): Promise<GitSource> =>
    waitForGitSource(sb, ns, name, what, predicate, timeoutMs);

  const webhook = (url: string, secret: string): Promise<number> => pushWebhook(controller.url, url, secret);

  const greeting = (name: string): Promise<string | undefined> => appGreeting(sb, ns, name);

  describe('a source with the webhook and a 10-minute poll', () => {
    let w: GitWorkspace;
    const app = 'shop';
    const commits: Record<string, string> = {};

    it('applies the manifests of a commit, labelled and annotated with it', async () => {
      w = await workspace('shop');
      await writeApp(w, { name: app, version: 'v1', greeting: 'hello' });
      commits.v1 = await w.commit('shop v1');
      await createSource('shop', w.url, { paths: [`apps/${app}`], interval: '10m', rollback: { writeBack: 'revert' } });
      await waitForSource('shop', 'v1 applied', (s) => s.lastAppliedRevision === commits.v1);
      const out = JSON.parse(await sb.kubectl(['get', 'configmap,service,httproute,rollout', '-n', ns, '-l', `weir.dev/source=${ns}.shop`, '-o', 'json'])) as {
        items: { kind: string; metadata: { name: string; labels?: Record<string, string>; annotations?: Record<string, string> } }[];
      };
      assert.equal(out.items.length, 5, 'ConfigMap, two Services, HTTPRoute and Rollout');
      for (const item of out.items) {
        assert.equal(item.metadata.labels?.['weir.dev/source'], `${ns}.shop`, `${item.kind}/${item.metadata.name} labelled`);
        assert.equal(item.metadata.annotations?.['weir.dev/git-revision'], commits.v1, `${item.kind}/${item.metadata.name} annotated with the commit`);
      }
      const r = await waitForRollout(sb, ns, app, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 2);
      assert.equal(r.status?.git?.stableRevision, commits.v1);
    });

    it('a push starts the rollout through the webhook, without waiting for the poll', async () => {
      await writeApp(w, { name: app, version: 'v2', greeting: 'hello' });
      commits.v2 = await w.commit('shop v2');
      const pushed = Date.now();
      assert.equal(await webhook(w.url, SECRET), 202);
      await waitFor(async () => (await routeWeights(sb, ns, app))[`${app}-canary`] === 50, { what: 'the first weight change', timeoutMs: 60_000, intervalMs: 100 });
      process.stdout.write(`# push to first weight change through the webhook: ${Date.now() - pushed} ms\n`);
      const r = await getRollout(sb, ns, app);
      assert.equal(r.status?.git?.currentRevision, commits.v2);
      await weir(sb, ['promote', app, '-n', ns]);
      const done = await waitForRollout(sb, ns, app, 'Healthy on v2', (s) => s.phase === 'Healthy' && s.git?.stableRevision === commits.v2);
      assert.equal(done.status?.git?.stableRevision, commits.v2);
    });

    it('refuses a wrongly signed webhook with 401 and triggers nothing', async () => {
      await writeApp(w, { name: app, version: 'v2', greeting: 'unsigned' });
      const unsignedCommit = await w.commit('not to be fetched yet');
      assert.equal(await webhook(w.url, 'wrong-secret'), 401);
      const res = await fetch(`${controller.url}/hooks/git`, { method: 'POST', body: '{}' });
      assert.equal(res.status, 401, 'an unsigned request too');
      const s = await source('shop');
      assert.notEqual(s.status?.lastFetchedRevision, unsignedCommit, 'nothing was fetched');
      assert.equal(await greeting(app), 'hello');
      // Put the repository back in step for the next tests.
      assert.equal(await webhook(w.url, SECRET), 202);
      commits.v2b = unsignedCommit;
      await waitForSource('shop', 'the signed push applied', (st) => st.lastAppliedRevision === unsignedCommit);
    });

    it('a commit with one bad document applies nothing and names the file and field; the next good commit applies', async () => {
      await writeApp(w, { name: app, version: 'v2', greeting: 'changed-with-bad' });
      await w.write('apps/shop/broken.yaml', `apiVersion: weir.dev/v1alpha1
kind: Rollout
metadata:
  name: broken
  namespace: ${ns}
spec:
  selector: { matchLabels: { app: broken } }
  template:
    metadata: { labels: { app: broken } }
    spec: { containers: [{ name: app, image: weir-demo:v1 }] }
  strategy:
    canary:
      steps:
        - setWeight: 150
`);
      const bad = await w.commit('one bad document');
      assert.equal(await webhook(w.url, SECRET), 202);
      const s = await waitForSource('shop', 'ValidationFailed', (st) => st.lastAttemptedRevision === bad && (st.conditions?.some((c) => c.type === 'ValidationFailed' && c.status === 'True') ?? false));
      const message = s.status?.conditions?.find((c) => c.type === 'ValidationFailed')?.message ?? '';
      assert.match(message, /apps\/shop\/broken\.yaml:\d+: spec\.strategy\.canary\.steps\[0\]\.setWeight/);
      assert.equal(s.status?.lastAppliedRevision, commits.v2b, 'the previous commit keeps running');
      assert.equal(await greeting(app), 'unsigned', 'the good change in the same commit was not applied either');
      const events = (await sb.core.listNamespacedEvent({ namespace: ns })).items;
      assert.ok(events.some((e) => e.reason === 'ValidationFailed' && (e.message ?? '').includes('broken.yaml')), 'an Event names the file');

      await w.remove('apps/shop/broken.yaml');
      const fixed = await w.commit('remove the bad document');
      assert.equal(await webhook(w.url, SECRET), 202);
      await waitForSource('shop', 'the fix applied', (st) => st.lastAppliedRevision === fixed);
      assert.equal(await greeting(app), 'changed-with-bad');
      commits.good = fixed;
      await waitForRollout(sb, ns, app, 'Healthy', (st) => st.phase === 'Healthy');
    });

    it('an aborted rollout returns the cluster to the last good commit, ConfigMap included, and writes the revert back', async () => {
      const before = await waitForRollout(sb, ns, app, 'Healthy', (st) => st.phase === 'Healthy');
      await writeApp(w, { name: app, version: 'v3', greeting: 'bad-release' });
      const bad = await w.commit('shop v3: the bad release');
      assert.equal(await webhook(w.url, SECRET), 202);
      await waitForRollout(sb, ns, app, 'canary at 50%', (st) => st.git?.currentRevision === bad && st.phase === 'Paused');
      assert.equal(await greeting(app), 'bad-release');

      const hashesBeforeAbort = new Set((await sb.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: `app=${app}` })).items.map((rs) => rs.metadata?.labels?.['rollouts-pod-template-hash']));
      await weir(sb, ['abort', app, '-n', ns]);
      const s = await waitForSource('shop', 'the bad commit rejected and reverted', (st) => (st.rejectedRevisions?.some((r) => r.revision === bad) ?? false) && (st.revertRevisions?.some((r) => r.rejected === bad) ?? false));
      await waitFor(async () => (await greeting(app)) === 'changed-with-bad', { what: 'the ConfigMap back to the last good commit', timeoutMs: 30_000 });
      const back = await waitForRollout(sb, ns, app, 'Healthy on the last good template', (st) => st.phase === 'Healthy' && st.currentPodHash === before.status?.stableRS);
      assert.equal(back.status?.stableRS, before.status?.stableRS);

      // Git gained a revert commit by Weir naming the rejected commit.
      assert.ok(s.status);
      assert.match(s.status.rejectedRevisions?.find((r) => r.revision === bad)?.reason ?? '', /RolloutAborted/, 'the reason is the rollout’s');
      const revert = s.status.revertRevisions?.find((r) => r.rejected === bad)?.revert ?? '';
      assert.equal(await w.pull(), revert);
      const head = (await w.log())[0];
      assert.ok(head);
      assert.equal(head.author, 'Weir');
      assert.match(head.message, new RegExp(bad));

      // The rejected commit is not retried, and the next poll finds Git and cluster in agreement.
      assert.equal(await webhook(w.url, SECRET), 202);
      await waitForSource('shop', 'the revert applied', (st) => st.lastAppliedRevision === revert);
      const after = await getRollout(sb, ns, app);
      assert.equal(after.status?.phase, 'Healthy');
      assert.equal(after.status.currentPodHash, before.status?.stableRS, 'no new rollout started');
      const hashes = (await sb.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: `app=${app}` })).items.map((rs) => rs.metadata?.labels?.['rollouts-pod-template-hash']);
      assert.equal(new Set(hashes).size, hashesBeforeAbort.size, 'no new ReplicaSet: the revert is the template already running');
      // The rejected canary's ReplicaSet goes to 0 after abortScaleDownDelaySeconds; only the stable one runs.
      await waitFor(
        async () => (await sb.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: `app=${app}` })).items.filter((rs) => (rs.spec?.replicas ?? 0) > 0).length === 1,
        { what: 'only the stable ReplicaSet running', timeoutMs: 30_000 },
      );

      const history = await weir(sb, ['history', 'rollout', app, '-n', ns]);
      assert.match(history, new RegExp(`${bad.slice(0, 7)}.*rejected`));
      assert.match(history, /promoted/);
    });
  });

  it('without the webhook, the next poll picks a push up; an edited managed Service is set back and counted as drift', async () => {
    const w = await workspace('polled');
    await w.write('config/service.yaml', `apiVersion: v1
kind: Service
metadata: { name: polled, namespace: ${ns} }
spec:
  selector: { app: polled }
  ports: [{ name: http, port: 80, targetPort: 8080 }]
`);
    const first = await w.commit('a service');
    await createSource('polled', w.url, { paths: ['config'], interval: '2s' });
    await waitForSource('polled', 'first commit applied', (s) => s.lastAppliedRevision === first);
    await w.write('config/cm.yaml', `apiVersion: v1
kind: ConfigMap
metadata: { name: polled, namespace: ${ns} }
data: { key: value }
`);
    const second = await w.commit('a config map');
    await waitForSource('polled', 'the push picked up by the poll', (s) => s.lastAppliedRevision === second, 30_000);

    // kubectl edit: someone changes the port in the cluster.
    await sb.core.patchNamespacedService({ name: 'polled', namespace: ns, body: { spec: { ports: [{ name: 'http', port: 9999, targetPort: 8080 }] } } }, mergePatch);
    await waitFor(async () => (await sb.core.readNamespacedService({ name: 'polled', namespace: ns })).spec?.ports?.[0]?.port === 80, {
      what: 'the Service set back to Git',
      timeoutMs: 30_000,
    });
    // The status is written after the correction (status last): wait for it.
    const s = await waitForSource('polled', 'the correction recorded', (st) => st.lastDriftCorrection?.objects.some((o) => o.kind === 'Service' && o.name === 'polled') ?? false, 10_000);
    assert.ok(s.status?.lastDriftCorrection?.objects.some((o) => o.kind === 'Service' && o.name === 'polled'));
    const metrics = await (await fetch(`${controller.url}/metrics`)).text();
    assert.match(metrics, new RegExp(`weir_drift_corrections_total\\{namespace="${ns}",gitsource="polled"\\} [1-9]`));
  });

  it('a Git server that is down: SourceUnavailable, nothing rolled back, recovery when it returns', async () => {
    const root = await mkdtemp(join(tmpdir(), 'weir-git-down-'));
    let server = await startGitServer({ root, port: 0 });
    const port = server.port;
    const w = await GitWorkspace.create(await server.createRepository('flaky'));
    workspaces.push(w);
    await w.write('cm.yaml', `apiVersion: v1
kind: ConfigMap
metadata: { name: flaky, namespace: ${ns} }
data: { version: "1" }
`);
    const first = await w.commit('v1');
    await createSource('flaky', w.url, { paths: ['.'], interval: '1s', timeout: '2s' });
    await waitForSource('flaky', 'applied', (s) => s.lastAppliedRevision === first);

    await server.close();
    const down = await waitForSource('flaky', 'SourceUnavailable', (s) => s.conditions?.some((c) => c.type === 'SourceUnavailable' && c.status === 'True') ?? false, 30_000);
    assert.match(down.status?.conditions?.find((c) => c.type === 'SourceUnavailable')?.message ?? '', /ECONNREFUSED|connect|refused|unreachable/i);
    assert.equal(down.status?.lastAppliedRevision, first, 'the last applied revision is kept');
    assert.equal((await sb.core.readNamespacedConfigMap({ name: 'flaky', namespace: ns })).data?.version, '1', 'nothing rolled back or removed');

    server = await startGitServer({ root, port });
    try {
      await waitForSource('flaky', 'available again', (s) => s.conditions?.some((c) => c.type === 'SourceUnavailable' && c.status === 'False') ?? false, 60_000);
      await w.write('cm.yaml', `apiVersion: v1
kind: ConfigMap
metadata: { name: flaky, namespace: ${ns} }
data: { version: "2" }
`);
      const second = await w.commit('v2');
      await waitForSource('flaky', 'the next commit applied', (s) => s.lastAppliedRevision === second, 60_000);
    } finally {
      await sb.custom.deleteNamespacedCustomObject({ ...GITSOURCES, namespace: ns, name: 'flaky' }).catch(() => undefined);
      await server.close();
    }
  });

  it('the one-repository install: --git-url, --git-ref and --git-path need no GitSource manifest', async () => {
    const flagNs = uniqueName('flags');
    await sb.core.createNamespace({ body: namespace(flagNs) });
    const w = await workspace('flags');
    await w.write('deploy/cm.yaml', `apiVersion: v1
kind: ConfigMap
metadata: { name: from-flags }
data: { source: flags }
`);
    await w.write('other/ignored.yaml', `apiVersion: v1
kind: ConfigMap
metadata: { name: not-in-path }
`);
    const sha = await w.commit('flags');
    const flagged = await startController(sb, {
      namespace: flagNs,
      logName: flagNs,
      args: ['--git-url', w.url, '--git-ref', 'main', '--git-path', 'deploy', '--git-interval', '5s'],
    });
    try {
      const gs = await waitFor(
        async () => {
          const s = (await sb.custom.getNamespacedCustomObject({ ...GITSOURCES, namespace: flagNs, name: 'weir-flags' })) as GitSource;
          return s.status?.lastAppliedRevision === sha ? s : undefined;
        },
        { what: 'the weir-flags GitSource applied', timeoutMs: 60_000 },
      );
      assert.equal(gs.spec.url, w.url);
      assert.deepEqual(gs.spec.paths, ['deploy']);
      const cm = await sb.core.readNamespacedConfigMap({ name: 'from-flags', namespace: flagNs });
      assert.equal(cm.data?.source, 'flags');
      await assert.rejects(sb.core.readNamespacedConfigMap({ name: 'not-in-path', namespace: flagNs }), 'files outside --git-path are not applied');
    } finally {
      await flagged.stop();
      await sb.core.deleteNamespace({ name: flagNs }).catch(() => undefined);
    }
  });
});
