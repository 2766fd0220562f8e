// deploy/ against the sandbox: `kubectl apply -k` (the sandbox's kubectl and
// the kustomize it embeds) and kustomize v5 itself accept both install modes
// in a server-side dry run,
// and the controller, running out of cluster with nothing but the
// weir-controller ServiceAccount's own token, completes a canary across
// namespaces and creates every kind deploy/ grants from a fresh Git
// repository: the ClusterRole is enough. A kind it does not grant is refused
// whole, naming the verb, kind and namespace.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFile, writeFile } from 'node:fs/promises';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { after, before, describe, it } from 'node:test';
import { dump, load } from 'js-yaml';
import type { GitSource } from '../src/api/gitsource.ts';
import { createSandboxRepository, sandboxBinary } from '../src/sandbox/index.ts';
import { mintServiceAccountToken } from '../src/sandbox/tokens.ts';
import { waitFor } from '../src/util/wait.ts';
import { appFiles } from './support/app-repo.ts';
import { startController, type ControllerProcess } from './support/controller.ts';
import { namespace } from './support/demo-app.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { ROLLOUTS, createRolloutNetworking, demoRollout, setImage, waitForRollout } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const repo = (path: string): string => fileURLToPath(new URL(`../${path}`, import.meta.url));
const SYSTEM = 'weir-system';

interface Rule {
  apiGroups?: string[];
  resources?: string[];
  resourceNames?: string[];
  verbs: string[];
}

describe('installing into a cluster (deploy/)', () => {
  let sb: TestSandbox;
  let controller: ControllerProcess | undefined;
  const ns = uniqueName('rbac');

  before(async () => {
    sb = await testSandbox();
    // A weir-system left by an earlier run on the same sandbox may still be finalizing: creating in it is refused until it is gone.
    await waitFor(async () => ((await sb.core.readNamespace({ name: SYSTEM }).catch(() => undefined))?.metadata?.deletionTimestamp === undefined ? true : undefined), {
      what: `namespace ${SYSTEM} of an earlier run deleted`,
      timeoutMs: 120_000,
      intervalMs: 500,
    });
    await sb.kubectl(['apply', '-k', repo('crds/')]);
    // A server-side dry run creates nothing, so objects in weir-system need the namespace to exist already.
    await sb.kubectl(['apply', '-f', repo('deploy/namespace.yaml')]);
  });
  after(async () => {
    await controller?.stop();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
    await sb.kubectl(['delete', 'clusterrolebinding', 'weir-controller', '--ignore-not-found']).catch(() => undefined);
    await sb.kubectl(['delete', 'clusterrole', 'weir-controller', '--ignore-not-found']).catch(() => undefined);
    await sb.core.deleteNamespace({ name: SYSTEM }).catch(() => undefined);
  });

  it('kubectl apply -k deploy/ --dry-run=server succeeds, cluster-wide and namespaced', async () => {
    for (const dir of ['deploy/', 'deploy/namespaced/']) {
      const out = await sb.kubectl(['apply', '-k', repo(dir), '--dry-run=server']);
      for (const kind of ['deployment.apps/weir-controller', 'serviceaccount/weir-controller', 'service/weir-controller', 'role.rbac.authorization.k8s.io/weir-leader-election']) {
        assert.match(out, new RegExp(`${kind.replace(/[./]/g, '\\$&')} (created|configured|unchanged) \\(server dry run\\)`), `${dir}: ${kind}`);
      }
      assert.match(out, dir === 'deploy/' ? /clusterrole\.rbac\.authorization\.k8s\.io\/weir-controller/ : /role\.rbac\.authorization\.k8s\.io\/weir-controller /);
    }
  });

  it('kustomize v5 builds both install modes without a deprecation warning, and the server accepts what it renders', async () => {
    for (const dir of ['deploy/', 'deploy/namespaced/']) {
      const built = await promisify(execFile)(sandboxBinary('kustomize'), ['build', repo(dir)], { maxBuffer: 16 << 20 });
      assert.equal(built.stderr, '', `${dir}: kustomize says nothing on stderr`);
      const rendered = `${sb.state.dir}/kustomize-${dir.replace(/\W/g, '_')}.yaml`;
      await writeFile(rendered, built.stdout);
      const out = await sb.kubectl(['apply', '--server-side', '--dry-run=server', '-f', rendered]);
      assert.match(out, /deployment\.apps\/weir-controller serverside-applied \(server dry run\)/, dir);
    }
  });

  it("the namespaced Role grants the ClusterRole's rules, minus cluster-scoped kinds", async () => {
    const clusterRole = load(await readFile(repo('deploy/cluster-role.yaml'), 'utf8')) as { rules: Rule[] };
    const role = load(await readFile(repo('deploy/namespaced/role.yaml'), 'utf8')) as { rules: Rule[] };
    const namespacedRules = clusterRole.rules.filter((r) => !(r.resources ?? []).includes('clusteranalysistemplates'));
    assert.deepEqual(role.rules, namespacedRules);
    for (const r of clusterRole.rules) {
      for (const field of [r.apiGroups, r.resources, r.verbs]) assert.ok(!(field ?? []).includes('*'), `no wildcard in ${JSON.stringify(r)}`);
    }
  });

  it("the controller completes a canary with only the ServiceAccount's token", async () => {
    await sb.kubectl(['apply', '-k', repo('deploy/')]);
    // No container runtime runs the image here: no replica of the Deployment, so nothing else holds the Lease.
    await sb.kubectl(['-n', SYSTEM, 'scale', 'deployment/weir-controller', '--replicas=0']);
    const token = await mintServiceAccountToken(sb.kc, SYSTEM, 'weir-controller', 3600);
    const cluster = sb.kc.getCurrentCluster();
    assert.ok(cluster?.caFile, 'the sandbox kubeconfig names its CA file');
    const kubeconfig = `${sb.state.dir}/weir-controller-sa.kubeconfig`;
    await writeFile(
      kubeconfig,
      dump({
        apiVersion: 'v1',
        kind: 'Config',
        clusters: [{ name: 'sandbox', cluster: { server: cluster.server, 'certificate-authority': cluster.caFile } }],
        users: [{ name: 'weir-controller', user: { token } }],
        contexts: [{ name: 'sa', context: { cluster: 'sandbox', user: 'weir-controller' } }],
        'current-context': 'sa',
      }),
      { mode: 0o600 },
    );
    // The token really is the ServiceAccount's: it may read Rollouts everywhere, not Secrets' lists or Namespaces.
    assert.match(await sb.kubectl(['--kubeconfig', kubeconfig, 'auth', 'can-i', 'list', 'rollouts.weir.dev', '--all-namespaces']).catch((e: unknown) => String(e)), /yes/);
    await assert.rejects(sb.kubectl(['--kubeconfig', kubeconfig, 'auth', 'can-i', 'list', 'secrets', '--all-namespaces']));
    await assert.rejects(sb.kubectl(['--kubeconfig', kubeconfig, 'auth', 'can-i', 'create', 'namespaces']));

    await sb.core.createNamespace({ body: namespace(ns) });
    // Cluster-wide, as deploy/ runs it, with leader election on the Lease deploy/ grants.
    controller = await startController(sb, {
      namespace: undefined,
      logName: ns,
      kubeconfig,
      args: ['--leader-elect', '--leader-elect-namespace', SYSTEM, '--leader-elect-lease-duration', '4s', '--leader-elect-renew-deadline', '3s', '--leader-elect-retry-period', '1s'],
    });
    const name = 'demo';
    await createRolloutNetworking(sb, { name, namespace: ns, router: true });
    // Analysis too: a step run (create), and a background run stopped at promotion (patch of spec.terminate).
    // pods-up measures twice; pods-up-until-stopped measures until it is stopped.
    for (const [template, count] of [['pods-up', { count: 2 }], ['pods-up-until-stopped', {}]] as const) {
      await sb.custom.createNamespacedCustomObject({
        group: 'weir.dev',
        version: 'v1alpha1',
        plural: 'analysistemplates',
        namespace: ns,
        body: {
          apiVersion: 'weir.dev/v1alpha1',
          kind: 'AnalysisTemplate',
          metadata: { name: template, namespace: ns },
          spec: {
            args: [{ name: 'hash' }],
            metrics: [
              {
                name: 'up',
                // The new pods are scraped a few seconds after they start.
                initialDelay: '5s',
                interval: '1s',
                ...count,
                // Scrape targets of the new pods (a pod scraped before its server listens has up == 0, so count targets):
                // this test is about permissions, not about the app.
                successCondition: 'result[0] >= 1',
                consecutiveErrorLimit: 10,
                provider: { prometheus: { address: sb.state.prometheusUrl, query: `count(up{namespace="${ns}",rollouts_pod_template_hash="{{args.hash}}"})` } },
              },
            ],
          },
        },
      });
    }
    const analysis = { templates: [{ templateName: 'pods-up' }], args: [{ name: 'hash', valueFrom: { podTemplateHashValue: 'Latest' as const } }] };
    const body = demoRollout({ name, namespace: ns, replicas: 2, steps: [{ setWeight: 50 }, { analysis }, { pause: { duration: 2 } }], router: true });
    const canary = body.spec.strategy.canary;
    assert.ok(canary);
    canary.analysis = { ...analysis, templates: [{ templateName: 'pods-up-until-stopped' }] };
    await sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body });
    const first = await waitForRollout(sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 2, 120_000);
    await setImage(sb, ns, name, 'v2');
    const done = await waitForRollout(sb, ns, name, 'Healthy on v2', (s) => s.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.stableRS !== first.status?.stableRS && s.availableReplicas === 2, 120_000);
    assert.equal(done.status?.currentStepIndex, 3);
    const runs = (await sb.custom.listNamespacedCustomObject({ group: 'weir.dev', version: 'v1alpha1', plural: 'analysisruns', namespace: ns })) as {
      items: { metadata: { labels?: Record<string, string> }; spec: { terminate?: boolean }; status?: { phase?: string } }[];
    };
    const byType = (t: string) => runs.items.filter((r) => r.metadata.labels?.['rollout-type'] === t);
    assert.equal(byType('Step')[0]?.status?.phase, 'Successful', 'the step run was created and measured');
    await waitFor(
      async () => {
        const list = (await sb.custom.listNamespacedCustomObject({ group: 'weir.dev', version: 'v1alpha1', plural: 'analysisruns', namespace: ns })) as typeof runs;
        return list.items.some((r) => r.metadata.labels?.['rollout-type'] === 'Background' && r.spec.terminate === true);
      },
      { what: 'the background run stopped at promotion', timeoutMs: 30_000 },
    );
    const events = await sb.core.listNamespacedEvent({ namespace: ns });
    assert.ok(events.items.some((e) => e.reason === 'RolloutCompleted' || e.reason === 'RolloutPromoted'), 'Events were recorded (events: create)');
    const lease = await sb.kubectl(['-n', SYSTEM, 'get', 'lease', 'weir-controller', '-o', 'jsonpath={.spec.holderIdentity}']);
    assert.match(lease, new RegExp(`_${controller.child.pid ?? -1}_`), 'the controller leads through the Lease deploy/ allows');
    // Weir swallows some failures (Events are best effort): none may have been a permission error.
    const log = await readFile(controller.logFile, 'utf8');
    // A namespace another test is deleting refuses new objects with a 403 as
    // well (NamespaceLifecycle admission, not RBAC; namespaces take longer to
    // finalize on current Kubernetes, which has more kinds to empty them of).
    // The timestamp is left out of the match ("…T15:52:14.403Z" is no 403),
    // and 403 must stand alone (a listen port such as 40315 is none either).
    const denied = log.split('\n').filter((line) => /forbidden|\b403\b/i.test(line.replace(/"time":"[^"]*"/, '')) && !line.includes('because it is being terminated'));
    assert.deepEqual(denied, [], 'no request was forbidden');
  });

  it('a GitSource creates the kinds deploy/ grants from a fresh repository, and a kind it does not grant is refused naming verb, kind and namespace', async () => {
    assert.ok(controller, 'the controller of the previous test runs with the ServiceAccount token');
    const gitNs = `${ns}-git`;
    await sb.core.createNamespace({ body: namespace(gitNs) });
    const w = await GitWorkspace.create(await createSandboxRepository(sb.state, gitNs));
    try {
      for (const [path, content] of Object.entries(appFiles({ name: 'fresh', namespace: gitNs, version: 'v1', greeting: 'hello' }))) await w.write(path, content);
      await w.write('apps/fresh/extras.yaml', `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: fresh, namespace: ${gitNs} }
spec:
  scaleTargetRef: { apiVersion: weir.dev/v1alpha1, kind: Rollout, name: fresh }
  minReplicas: 2
  maxReplicas: 2
---
apiVersion: weir.dev/v1alpha1
kind: AnalysisTemplate
metadata: { name: fresh-up, namespace: ${gitNs} }
spec:
  metrics: [{ name: up, provider: { prometheus: { address: ${sb.state.prometheusUrl}, query: "vector(1)" } }, successCondition: "result[0] == 1" }]
---
apiVersion: apps/v1
kind: Deployment
metadata: { name: fresh-worker, namespace: ${gitNs} }
spec:
  replicas: 0
  selector: { matchLabels: { app: fresh-worker } }
  template: { metadata: { labels: { app: fresh-worker } }, spec: { containers: [{ name: worker, image: weir-demo:v1 }] } }
`);
      const first = await w.commit('a fresh repository');
      const gitsources = { group: 'weir.dev', version: 'v1alpha1', plural: 'gitsources' };
      await sb.custom.createNamespacedCustomObject({
        ...gitsources,
        namespace: gitNs,
        body: { apiVersion: 'weir.dev/v1alpha1', kind: 'GitSource', metadata: { name: 'fresh', namespace: gitNs }, spec: { url: w.url, ref: { branch: 'main' }, paths: ['apps/fresh'], interval: '2s' } },
      });
      const source = async (): Promise<GitSource> => (await sb.custom.getNamespacedCustomObject({ ...gitsources, namespace: gitNs, name: 'fresh' })) as GitSource;
      await waitFor(async () => ((await source()).status?.lastAppliedRevision === first ? true : undefined), { what: 'the first commit applied with the ServiceAccount token', timeoutMs: 60_000, intervalMs: 200 });
      const created = JSON.parse(await sb.kubectl(['get', 'rollout,service,httproute,configmap,hpa,analysistemplate,deployment', '-n', gitNs, '-l', 'weir.dev/source', '-o', 'json'])) as { items: { kind: string }[] };
      assert.deepEqual([...new Set(created.items.map((i) => i.kind))].sort(), ['AnalysisTemplate', 'ConfigMap', 'Deployment', 'HTTPRoute', 'HorizontalPodAutoscaler', 'Rollout', 'Service']);

      // A kind deploy/ does not grant, beside a ConfigMap change: the whole commit is refused, saying what was denied where.
      await w.write('apps/fresh/config.yaml', `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: fresh-config, namespace: ${gitNs} }\ndata: { GREETING: "not applied" }\n`);
      await w.write('apps/fresh/pdb.yaml', `apiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: { name: fresh, namespace: ${gitNs} }\nspec: { minAvailable: 1, selector: { matchLabels: { app: fresh } } }\n`);
      const denied = await w.commit('a kind the install does not grant');
      const message = await waitFor(
        async () => {
          const s = await source();
          const failed = s.status?.conditions?.find((c) => (c.type === 'ValidationFailed' || c.type === 'ApplyFailed') && c.status === 'True' && c.message?.includes(denied.slice(0, 7)));
          return failed?.message;
        },
        { what: 'the commit refused', timeoutMs: 60_000, intervalMs: 200 },
      );
      assert.match(message, /pdb\.yaml/, `names the file: ${message}`);
      assert.match(message, /cannot (create|patch)/, `names the verb: ${message}`);
      assert.match(message, /poddisruptionbudgets/, `names the kind: ${message}`);
      assert.match(message, new RegExp(`namespace "${gitNs}"`), `names the namespace: ${message}`);
      const cm = await sb.core.readNamespacedConfigMap({ name: 'fresh-config', namespace: gitNs });
      assert.equal(cm.data?.GREETING, 'hello', 'nothing of the refused commit was applied');
    } finally {
      await w.dispose();
      await sb.core.deleteNamespace({ name: gitNs }).catch(() => undefined);
    }
  });
});
