// Sync against a real API server: a commit's manifests are validated in full
// (Weir's validators, server-side dry runs of every kind, the analysis
// templates Rollouts name looked up in the cluster) before anything is applied,
// applied with server-side apply and labelled with their source, pruned when
// they leave Git (only if they are ours), and put back when they drift.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PatchStrategy, setHeaderOptions, type V1Service } from '@kubernetes/client-node';
import { dump } from 'js-yaml';
import { kubeErrorCode } from '../src/cluster/errors.ts';
import { waitFor } from '../src/util/wait.ts';
import {
  GIT_REVISION_ANNOTATION,
  MANAGED_BY_LABEL,
  SOURCE_LABEL,
  SyncClient,
  applyDocuments,
  clusterTemplateLookup,
  correctDrift,
  detectDrift,
  formatProblem,
  liveReader,
  parseDocuments,
  prepareDocuments,
  pruneObjects,
  serverDryRun,
  sourceLabelValue,
  toPrune,
  validateDocuments,
  type ManifestFile,
  type ObjectRef,
  type SourceRef,
  type SyncDocument,
  type SyncProblem,
} from '../src/sync/index.ts';
import { namespace } from './support/demo-app.ts';
import { demoRollout, getRollout, installCrds } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const REVISION_1 = '1111111111111111111111111111111111111111';
const REVISION_2 = '2222222222222222222222222222222222222222';

interface SyncResult {
  problems: SyncProblem[];
  documents: SyncDocument[];
  applied: ObjectRef[];
}

/** What the GitSource controller does with a commit: parse, prepare, validate all, and only then apply. */
async function sync(client: SyncClient, files: ManifestFile[], source: SourceRef, revision: string): Promise<SyncResult> {
  const parsed = parseDocuments(files);
  const prepared = await prepareDocuments(parsed.documents, { namespace: source.namespace, namespaced: (apiVersion, kind) => client.isNamespaced(apiVersion, kind) });
  const problems = [
    ...parsed.problems,
    ...prepared.problems,
    ...(await validateDocuments(prepared.documents, serverDryRun(client), { fallbackNamespace: 'default' })),
  ];
  if (problems.length > 0) return { problems, documents: prepared.documents, applied: [] };
  const applied = await applyDocuments(client, prepared.documents, { decorate: { source, revision } });
  return { problems, documents: prepared.documents, applied };
}

function yaml(...objects: unknown[]): string {
  return objects.map((o) => dump(o, { lineWidth: -1 })).join('---\n');
}

function configMap(name: string, data: Record<string, string> = { greeting: 'hello' }): unknown {
  return { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name }, data };
}

/** Kubernetes 1.20's server-side apply needs the protocol of a Service port (a key of the ports list). */
function service(name: string, port: number | string): unknown {
  return { apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { selector: { app: name }, ports: [{ name: 'http', port, protocol: 'TCP' }] } };
}

async function exists(read: () => Promise<unknown>): Promise<boolean> {
  try {
    await read();
    return true;
  } catch (err) {
    if (kubeErrorCode(err) === 404) return false;
    throw err;
  }
}

describe('sync (Git manifests to the cluster)', () => {
  let sb: TestSandbox;
  let client: SyncClient;
  const namespaces: string[] = [];

  /** A namespace name for one test, deleted at the end. */
  function testNamespace(prefix: string): string {
    const ns = uniqueName(prefix);
    namespaces.push(ns);
    return ns;
  }

  before(async () => {
    sb = await testSandbox();
    await installCrds(sb);
    client = SyncClient.forConfig(sb.kc);
    // Discovery lists a new CRD's kind a moment after the kind is served.
    await waitFor(() => client.isNamespaced('weir.dev/v1alpha1', 'Rollout'), { what: 'Rollout in API discovery', timeoutMs: 30_000 });
  });
  after(async () => {
    for (const ns of namespaces) await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('validates then applies a Namespace, ConfigMap, Service and Rollout, labelled and annotated', async () => {
    const ns = testNamespace('sync-apply');
    const source = { namespace: ns, name: 'git' };
    // As in Git: no namespace on the objects, the GitSource's is used.
    const rollout = demoRollout({ name: 'web', namespace: ns, replicas: 1, steps: [{ setWeight: 50 }, { pause: { duration: '10s' } }] });
    rollout.metadata = { name: 'web' };
    const apps = (greeting: string): ManifestFile => ({
      path: 'apps/web.yaml',
      content: yaml(configMap('web-config', { greeting }), service('web-stable', 80), service('web-canary', 80), rollout),
    });
    const files: ManifestFile[] = [apps('hello'), { path: 'namespace.yaml', content: yaml({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }) }];

    const result = await sync(client, files, source, REVISION_1);
    assert.deepEqual(result.problems.map(formatProblem), []);
    assert.deepEqual(
      result.applied.map((r) => `${r.kind} ${r.namespace ?? ''}/${r.name}`),
      [`Namespace /${ns}`, `ConfigMap ${ns}/web-config`, `Service ${ns}/web-stable`, `Service ${ns}/web-canary`, `Rollout ${ns}/web`],
      'the Namespace first, the rest in file order, namespaced objects in the source’s namespace',
    );

    const expectedLabels = { [SOURCE_LABEL]: `${ns}.git`, [MANAGED_BY_LABEL]: 'weir' };
    const cm = await sb.core.readNamespacedConfigMap({ name: 'web-config', namespace: ns });
    assert.deepEqual(cm.data, { greeting: 'hello' });
    assert.deepEqual({ ...cm.metadata?.labels }, expectedLabels);
    assert.equal(cm.metadata?.annotations?.[GIT_REVISION_ANNOTATION], REVISION_1);
    assert.ok(cm.metadata.managedFields?.some((f) => f.manager === 'weir' && f.operation === 'Apply'), 'applied server-side as the field manager weir');

    const svc = await sb.core.readNamespacedService({ name: 'web-stable', namespace: ns });
    assert.equal(svc.metadata?.labels?.[SOURCE_LABEL], `${ns}.git`);
    assert.equal(svc.metadata.annotations?.[GIT_REVISION_ANNOTATION], REVISION_1);

    const created = await getRollout(sb, ns, 'web');
    assert.equal(created.metadata.labels?.[SOURCE_LABEL], `${ns}.git`);
    assert.equal(created.metadata.annotations?.[GIT_REVISION_ANNOTATION], REVISION_1, 'the annotation the engine reads as the Rollout’s Git revision');

    const namespaceObject = await sb.core.readNamespace({ name: ns });
    assert.equal(namespaceObject.metadata?.labels?.[SOURCE_LABEL], `${ns}.git`);

    // The next commit changes the ConfigMap: the revision annotation follows.
    const next = await sync(client, [apps('bonjour'), ...files.slice(1)], source, REVISION_2);
    assert.deepEqual(next.problems, []);
    const updated = await sb.core.readNamespacedConfigMap({ name: 'web-config', namespace: ns });
    assert.deepEqual(updated.data, { greeting: 'bonjour' });
    assert.equal(updated.metadata?.annotations?.[GIT_REVISION_ANNOTATION], REVISION_2);
  });

  it('refuses a whole set with one invalid Service, naming its file and line, and applies nothing', async () => {
    const ns = testNamespace('sync-invalid');
    const source = { namespace: ns, name: 'git' };
    const files: ManifestFile[] = [
      { path: 'namespace.yaml', content: yaml({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: ns } }) },
      { path: 'apps/good.yaml', content: yaml(configMap('good'), service('good', 80)) },
      { path: 'apps/bad.yaml', content: yaml(configMap('also-good'), service('bad', 'abc')) },
      { path: 'apps/missing.yaml', content: yaml({ apiVersion: 'v1', kind: 'Service', metadata: { name: 'no-ports' }, spec: { selector: { app: 'x' }, ports: [{ name: 'http', protocol: 'TCP' }] } }) },
    ];

    const result = await sync(client, files, source, REVISION_1);
    assert.deepEqual(result.applied, []);
    const lines = files[2]?.content.split('\n') ?? [];
    const portLine = lines.findIndex((l) => l.includes('port: abc')) + 1;
    assert.ok(portLine > 0);
    const bad = result.problems.find((p) => p.file === 'apps/bad.yaml');
    assert.ok(bad, `a problem in apps/bad.yaml, got ${JSON.stringify(result.problems)}`);
    assert.equal(bad.line, portLine, formatProblem(bad));
    assert.equal(bad.field, 'spec.ports[0].port');
    assert.match(bad.message, /expected numeric/);
    const missing = result.problems.find((p) => p.file === 'apps/missing.yaml');
    assert.ok(missing, `a problem in apps/missing.yaml, got ${JSON.stringify(result.problems)}`);
    assert.equal(missing.field, 'spec.ports[0].port');
    assert.match(missing.message, /must be between 1 and 65535/);
    assert.deepEqual(
      [...new Set(result.problems.map((p) => p.file))],
      ['apps/bad.yaml', 'apps/missing.yaml'],
      result.problems.map(formatProblem).join('\n'),
    );

    assert.equal(await exists(() => sb.core.readNamespace({ name: ns })), false, 'nothing applied, not even the Namespace');
  });

  it('refuses a Rollout whose pod template the ReplicaSet would be refused for, at the template’s line, before anything is applied', async () => {
    const ns = testNamespace('sync-pods');
    await sb.core.createNamespace({ body: namespace(ns) });
    const source = { namespace: ns, name: 'git' };
    // A volumeMount naming no volume: the Rollout's CRD keeps the template as written, so only the ReplicaSet's validation sees it.
    const rollout = demoRollout({ name: 'web', namespace: ns, replicas: 1, steps: [{ setWeight: 50 }] });
    // The template is opaque to the Rollout's type (the CRD keeps it as written).
    const pod = (rollout.spec.template as { spec: { containers: Record<string, unknown>[]; volumes?: unknown[] } }).spec;
    const container = pod.containers[0];
    assert.ok(container);
    container.volumeMounts = [{ name: 'cache', mountPath: '/cache' }];
    const files: ManifestFile[] = [{ path: 'apps/web.yaml', content: yaml(configMap('web-config'), rollout) }];
    const result = await sync(client, files, source, REVISION_1);
    assert.deepEqual(result.applied, []);
    const [problem, ...more] = result.problems;
    assert.ok(problem, 'a problem');
    assert.deepEqual(more, [], result.problems.map(formatProblem).join('\n'));
    assert.equal(problem.field, 'spec.template.spec.containers[0].volumeMounts[0].name');
    assert.equal(problem.line, (files[0]?.content.split('\n').findIndex((l) => l.includes('name: cache')) ?? -1) + 1);
    assert.match(problem.message, /^the ReplicaSet of this template would be refused: Not found: "cache"/);
    assert.equal(await exists(() => sb.core.readNamespacedConfigMap({ name: 'web-config', namespace: ns })), false, 'nothing applied');
    // Fixed (the volume declared), the same commit applies.
    pod.volumes = [{ name: 'cache', emptyDir: {} }];
    const fixed = await sync(client, [{ path: 'apps/web.yaml', content: yaml(configMap('web-config'), rollout) }], source, REVISION_2);
    assert.deepEqual(fixed.problems.map(formatProblem), []);
  });

  it("asks the cluster for the templates a Rollout names that the set lacks, and dry-runs Weir's kinds", async () => {
    const ns = testNamespace('sync-templates');
    await sb.core.createNamespace({ body: namespace(ns) });
    const source = { namespace: ns, name: 'git' };
    const template = (kind: string, name: string, labels?: Record<string, string>): Record<string, unknown> => ({
      apiVersion: 'weir.dev/v1alpha1',
      kind,
      metadata: { name, ...(kind === 'AnalysisTemplate' ? { namespace: ns } : {}), ...(labels ? { labels } : {}) },
      spec: { metrics: [{ name: 'm', successCondition: 'result[0] == 1', provider: { prometheus: { address: 'http://prometheus:9090', query: 'vector(1)' } } }] },
    });
    const templates = { group: 'weir.dev', version: 'v1alpha1', plural: 'analysistemplates', namespace: ns };
    await sb.custom.createNamespacedCustomObject({ ...templates, body: template('AnalysisTemplate', 'in-cluster') });
    await sb.custom.createNamespacedCustomObject({ ...templates, body: template('AnalysisTemplate', 'ours', { [SOURCE_LABEL]: sourceLabelValue(source) }) });
    const clusterWide = `${ns}-errors`;
    const clusterTemplates = { group: 'weir.dev', version: 'v1alpha1', plural: 'clusteranalysistemplates' };
    await sb.custom.createClusterCustomObject({ ...clusterTemplates, body: template('ClusterAnalysisTemplate', clusterWide) });
    try {
      const names = ['in-cluster', 'in-git', 'nowhere', 'ours'];
      const rollout = demoRollout({
        name: 'web',
        namespace: ns,
        replicas: 1,
        steps: [{ setWeight: 50 }, { analysis: { templates: [...names.map((templateName) => ({ templateName })), { templateName: clusterWide, clusterScope: true }] } }],
      });
      const files: ManifestFile[] = [{ path: 'apps/web.yaml', content: yaml(rollout, template('AnalysisTemplate', 'in-git')) }];
      const prepared = await prepareDocuments(parseDocuments(files).documents, { namespace: ns, namespaced: (apiVersion, kind) => client.isNamespaced(apiVersion, kind) });
      const missing = async (prune: boolean): Promise<string[]> => {
        const problems = await validateDocuments(prepared.documents, serverDryRun(client), { fallbackNamespace: 'default', templateExists: clusterTemplateLookup(client, { source, prune }) });
        return problems.map((p) => `${p.file}:${p.line}: ${p.field ?? ''}: ${p.message}`);
      };
      const line = (name: string): number => (files[0]?.content.split('\n').findIndex((l) => l.includes(`templateName: ${name}`)) ?? -1) + 1;
      const refusal = (i: number, name: string): string =>
        `apps/web.yaml:${line(name)}: spec.strategy.canary.steps[1].analysis.templates[${i}].templateName: AnalysisTemplate "${name}" is in neither this revision nor namespace "${ns}" of the cluster: the Rollout could not run this analysis`;
      // "ours" was applied by this source and is no longer in the set: pruning takes it away.
      assert.deepEqual(await missing(true), [refusal(2, 'nowhere'), refusal(3, 'ours')]);
      assert.deepEqual(await missing(false), [refusal(2, 'nowhere')], 'without pruning it stays');

      // The real dry run of a Weir kind: a Rollout in a namespace that does not exist.
      const ghost = { ...rollout, metadata: { name: 'web', namespace: `${ns}-ghost` }, spec: { ...rollout.spec, strategy: { canary: { steps: [{ setWeight: 50 }] } } } };
      const result = await sync(client, [{ path: 'apps/ghost.yaml', content: yaml(configMap('ghost-config'), ghost) }], source, REVISION_1);
      assert.deepEqual(result.applied, []);
      assert.deepEqual(
        result.problems.map((p) => [p.file, p.field, p.message]),
        [['apps/ghost.yaml', 'metadata.namespace', `namespace "${ns}-ghost" does not exist and no Namespace in this revision creates it`]],
      );
      assert.equal(await exists(() => sb.core.readNamespacedConfigMap({ name: 'ghost-config', namespace: ns })), false, 'the ConfigMap beside it was not applied');
    } finally {
      await sb.custom.deleteClusterCustomObject({ ...clusterTemplates, name: clusterWide }).catch(() => undefined);
    }
  });

  it('prunes an object that left the set, and never one without our label', async () => {
    const ns = testNamespace('sync-prune');
    await sb.core.createNamespace({ body: namespace(ns) });
    const source = { namespace: ns, name: 'git' };
    const first = await sync(client, [{ path: 'cm.yaml', content: yaml(configMap('stays'), configMap('leaves')) }], source, REVISION_1);
    assert.deepEqual(first.problems, []);
    // Someone else's ConfigMap, and a stale inventory that claims it.
    await sb.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'not-ours' }, data: { a: 'b' } } });
    const inventory: ObjectRef[] = [...first.applied, { apiVersion: 'v1', kind: 'ConfigMap', namespace: ns, name: 'not-ours' }];

    const second = await sync(client, [{ path: 'cm.yaml', content: yaml(configMap('stays')) }], source, REVISION_2);
    assert.deepEqual(second.problems, []);
    const gone = toPrune(inventory, second.applied);
    assert.deepEqual(
      gone.map((r) => r.name),
      ['leaves', 'not-ours'],
    );
    const result = await pruneObjects(sb.kc, gone, source);
    assert.deepEqual(
      result.deleted.map((r) => r.name),
      ['leaves'],
    );
    assert.deepEqual(
      result.kept.map((k) => [k.ref.name, k.reason]),
      [['not-ours', 'it has no weir.dev/source label']],
    );
    assert.deepEqual(result.failed, []);

    assert.equal(await exists(() => sb.core.readNamespacedConfigMap({ name: 'leaves', namespace: ns })), false);
    assert.equal(await exists(() => sb.core.readNamespacedConfigMap({ name: 'not-ours', namespace: ns })), true);
    assert.equal(await exists(() => sb.core.readNamespacedConfigMap({ name: 'stays', namespace: ns })), true);

    // Pruning again is harmless: already gone counts as deleted.
    assert.deepEqual((await pruneObjects(client, gone.slice(0, 1), source)).deleted, gone.slice(0, 1));
  });

  it("detects a Service port changed by a merge patch, and re-applying puts Git's port back", async () => {
    const ns = testNamespace('sync-drift');
    await sb.core.createNamespace({ body: namespace(ns) });
    const source = { namespace: ns, name: 'git' };
    const decorate = { source, revision: REVISION_1 };
    const applied = await sync(client, [{ path: 'svc.yaml', content: yaml(service('web', 8080), configMap('web-config')) }], source, REVISION_1);
    assert.deepEqual(applied.problems, []);
    const live = liveReader(client);
    assert.deepEqual(await detectDrift(client, live, applied.documents, { decorate }), [], 'no drift right after applying');

    // Someone edits the Service by hand: the merge patch replaces the ports list.
    await sb.core.patchNamespacedService(
      { name: 'web', namespace: ns, body: { spec: { ports: [{ name: 'http', port: 80, protocol: 'TCP' }] } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );

    const drifted = await detectDrift(client, live, applied.documents, { decorate });
    assert.deepEqual(
      drifted.map((d) => [d.ref.kind, d.ref.name, d.file, d.description]),
      [['Service', 'web', 'svc.yaml', ['spec.ports[0].port: 8080 → 80']]],
    );

    const corrected = await correctDrift(client, drifted, applied.documents, { decorate });
    assert.deepEqual(
      corrected.map((c) => [c.ref.name, c.fields]),
      [['web', ['spec.ports[0].port: 8080 → 80']]],
    );
    const fixed: V1Service = await sb.core.readNamespacedService({ name: 'web', namespace: ns });
    assert.deepEqual(
      fixed.spec?.ports?.map((p) => [p.name, p.port]),
      [['http', 8080]],
      'port 80 is gone, not kept beside 8080',
    );
    assert.deepEqual(await detectDrift(client, live, applied.documents, { decorate }), [], 'no drift after correcting');
  });
});
