import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { SOURCE_LABEL, sourceLabelValue } from './apply.ts';
import type { SyncDocument, SyncObject } from './types.ts';
import { docs, kubeError, notServed } from './testkit.ts';
import { clusterTemplateLookup, duplicateProblems, parseApplyPath, validateDocuments, type DryRun, type TemplateLookup } from './validate.ts';

/** A dry run that refuses objects by name with the error their function returns (undefined: accepted), and records what it was asked. */
function fakeDryRun(refuse: Record<string, (obj: SyncObject) => Error | undefined> = {}): DryRun & { seen: SyncObject[] } {
  const seen: SyncObject[] = [];
  const run = (obj: SyncObject): Promise<void> => {
    seen.push(obj);
    const error = refuse[obj.metadata.name]?.(obj);
    return error === undefined ? Promise.resolve() : Promise.reject(error);
  };
  return Object.assign(run, { seen });
}

const ROLLOUT = `apiVersion: weir.dev/v1alpha1
kind: Rollout
metadata:
  name: app
  namespace: shop
spec:
  replicas: 2
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers:
        - name: app
          image: weir-demo:v1
  strategy:
    canary:
      steps:
        - setWeight: 20
        - pause: {duration: 10s}
`;

const SERVICE = `apiVersion: v1
kind: Service
metadata:
  name: web
  namespace: shop
spec:
  selector: {app: app}
  ports:
    - name: http
      port: abc
      protocol: TCP
`;

describe('validateDocuments', () => {
  it("passes a valid set, dry-running every object, Weir's kinds too", async () => {
    const dryRun = fakeDryRun();
    const set = docs(`${ROLLOUT}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n`);
    assert.deepEqual(await validateDocuments(set, dryRun), []);
    assert.deepEqual(
      dryRun.seen.map((o) => `${o.apiVersion} ${o.kind}`).sort(),
      ['apps/v1 ReplicaSet', 'v1 ConfigMap', 'weir.dev/v1alpha1 Rollout'],
      'the Rollout, and the ReplicaSet of its template',
    );
    const probe = dryRun.seen.find((o) => o.kind === 'ReplicaSet');
    assert.deepEqual(probe?.spec, { replicas: 0, selector: { matchLabels: { app: 'app' } }, template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image: 'weir-demo:v1' }] } } });
  });

  it("refuses a Rollout whose template's ReplicaSet the server refuses, at the template's field", async () => {
    const set = docs(ROLLOUT, 'rollouts/app.yaml');
    const dryRun = fakeDryRun({
      'app-weir-template-check': () => kubeError(422, 'Invalid', 'ReplicaSet.apps "app-weir-template-check" is invalid', [{ field: 'spec.template.spec.containers[0].image', message: 'Invalid value: "weir-demo:v1": bad image' }]),
    });
    const problems = await validateDocuments(set, dryRun);
    assert.deepEqual(problems.map((p) => [p.line, p.field, p.message]), [
      [16, 'spec.template.spec.containers[0].image', 'the ReplicaSet of this template would be refused: Invalid value: "weir-demo:v1": bad image (the API server\'s dry run: 422 Invalid)'],
    ]);
  });

  it('refuses a Rollout in a namespace that does not exist, as the dry run finds', async () => {
    const set = docs(ROLLOUT.replace('namespace: shop', 'namespace: ghost'), 'rollouts/app.yaml');
    const dryRun = fakeDryRun({ app: () => kubeError(404, 'NotFound', 'namespaces "ghost" not found') });
    const problems = await validateDocuments(set, dryRun);
    assert.deepEqual(problems, [
      { file: 'rollouts/app.yaml', index: 0, line: 5, field: 'metadata.namespace', message: 'namespace "ghost" does not exist and no Namespace in this revision creates it' },
    ]);
  });

  it("dry-runs a converted argoproj.io Rollout as the weir.dev one it applies, and reports the server's refusal", async () => {
    const set = docs(ROLLOUT.replace('weir.dev/v1alpha1', 'argoproj.io/v1alpha1'), 'argo.yaml');
    const dryRun = fakeDryRun({ app: () => kubeError(403, 'Forbidden', 'rollouts.weir.dev "app" is forbidden: User "weir" cannot patch resource "rollouts" in namespace "shop"') });
    const problems = await validateDocuments(set, dryRun);
    assert.deepEqual(
      dryRun.seen.map((o) => o.apiVersion),
      ['weir.dev/v1alpha1'],
    );
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /dry run refused it: .*cannot patch resource "rollouts"/);
  });

  it("refuses, before the dry run and as weir lint does, a kind of Weir's or Argo's group Weir does not know and annotations over 256 KiB", async () => {
    const big = `apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: big\n  namespace: shop\n  annotations:\n    note: "${'x'.repeat(256 * 1024)}"\n`;
    const set = docs(`${ROLLOUT.replace('weir.dev/v1alpha1', 'argoproj.io/v1beta1')}---\n${ROLLOUT.replace('kind: Rollout', 'kind: RollOut').replace('name: app', 'name: app2')}---\n${big}`, 'set.yaml');
    const dryRun = fakeDryRun();
    const problems = await validateDocuments(set, dryRun);
    assert.deepEqual(
      problems.map((p) => [p.line, p.field, p.message.slice(0, 60)]),
      [
        [1, 'apiVersion', '"argoproj.io/v1beta1" is not a version of Argo Rollouts\' Rol'],
        [24, 'kind', '"RollOut" is not a kind Weir knows (did you mean Rollout?): '],
        [50, 'metadata.annotations', 'take 262148 bytes, more than the 262144 (256 KiB) Kubernetes'],
      ],
    );
    assert.deepEqual(dryRun.seen, [], 'nothing was dry-run: the server would only say it less clearly');
  });

  it("does not dry-run a Weir object Weir's validators refuse", async () => {
    const set = docs(ROLLOUT.replace('setWeight: 20', 'setWeight: 120'));
    const dryRun = fakeDryRun();
    assert.equal((await validateDocuments(set, dryRun)).length, 1);
    assert.deepEqual(dryRun.seen, []);
  });

  it("reports a Rollout's problems at the field's line", async () => {
    const set = docs(ROLLOUT.replace('setWeight: 20', 'setWeight: 120'), 'rollouts/app.yaml');
    const problems = await validateDocuments(set, fakeDryRun());
    assert.deepEqual(problems, [
      { file: 'rollouts/app.yaml', index: 0, line: 20, field: 'spec.strategy.canary.steps[0].setWeight', message: 'must be between 0 and 100 (got 120)' },
    ]);
  });

  it('converts an argoproj.io Rollout first, and points at its lines', async () => {
    const set = docs(ROLLOUT.replace('weir.dev/v1alpha1', 'argoproj.io/v1alpha1').replace('duration: 10s', 'duration: 10 seconds'), 'argo.yaml');
    const dryRun = fakeDryRun();
    const problems = await validateDocuments(set, dryRun);
    assert.equal(dryRun.seen.length, 0);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.field, 'spec.strategy.canary.steps[1].pause.duration');
    assert.equal(problems[0].line, 21);
    assert.match(problems[0].message, /invalid duration/);
  });

  it('validates GitSources with validateGitSource', async () => {
    const set = docs('apiVersion: weir.dev/v1alpha1\nkind: GitSource\nmetadata: {name: s, namespace: shop}\nspec:\n  url: git@example.com:x.git\n', 'gs.yaml');
    const problems = await validateDocuments(set, fakeDryRun());
    assert.equal(problems[0]?.field, 'spec.url');
    assert.equal(problems[0].line, 5);
  });

  it("maps the API server's field causes to lines", async () => {
    const set = docs(SERVICE.replace('port: abc', 'port: 70000'), 'svc.yaml');
    const dryRun = fakeDryRun({
      web: () =>
        kubeError(422, 'Invalid', 'Service "web" is invalid: [...]', [
          { field: 'spec.ports[0].port', message: 'Invalid value: 70000: must be between 1 and 65535, inclusive' },
          { field: 'spec.ports[0].targetPort', message: 'Invalid value: 70000: must be between 1 and 65535, inclusive' },
        ]),
    });
    const problems = await validateDocuments(set, dryRun);
    assert.deepEqual(
      problems.map((p) => [p.file, p.line, p.field]),
      [
        ['svc.yaml', 10, 'spec.ports[0].port'],
        ['svc.yaml', 9, 'spec.ports[0].targetPort'],
      ],
    );
    assert.match(problems[0]?.message ?? '', /^Invalid value: 70000: must be between 1 and 65535, inclusive \(the API server's dry run: 422 Invalid\)$/);
  });

  it("finds the line of a server-side apply schema error (500 typed patch)", async () => {
    const set = docs(SERVICE, 'svc.yaml');
    const dryRun = fakeDryRun({
      web: () => kubeError(500, undefined, 'failed to create typed patch object: .spec.ports[port="abc",protocol="TCP"].port: expected numeric (int or float), got *value.valueUnstructured'),
    });
    const problems = await validateDocuments(set, dryRun);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.field, 'spec.ports[0].port');
    assert.equal(problems[0].line, 10);
    assert.match(problems[0].message, /dry run refused it: 500: failed to create typed patch object/);
  });

  it('reports objects defined twice (kind and name, any version), at the repeat', async () => {
    const set = docs(
      'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n---\napiVersion: apps/v1beta2\nkind: Deployment\nmetadata: {name: d, namespace: shop}\n---\napiVersion: apps/v1\nkind: Deployment\nmetadata: {name: d, namespace: other}\n',
      'dup.yaml',
    );
    const problems = await validateDocuments(set, fakeDryRun());
    assert.deepEqual(problems, [{ file: 'dup.yaml', index: 1, line: 5, message: 'Deployment.apps shop/d is defined twice: also at dup.yaml:1' }]);
    assert.equal(duplicateProblems(set).length, 1);
  });

  it('treats an argoproj.io and a weir.dev Rollout of the same name as the same object', async () => {
    const set = docs(`${ROLLOUT}---\n${ROLLOUT.replace('weir.dev/v1alpha1', 'argoproj.io/v1alpha1')}`);
    const problems = await validateDocuments(set, fakeDryRun());
    assert.match(problems[0]?.message ?? '', /Rollout\.weir\.dev shop\/app is defined twice/);
  });

  it('dry-runs objects in a namespace the set creates in the fallback namespace', async () => {
    const set = docs('apiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: fresh}\n');
    const dryRun = fakeDryRun({
      c: (obj) => (obj.metadata.namespace === 'fresh' ? kubeError(404, 'NotFound', 'namespaces "fresh" not found') : undefined),
    });
    assert.deepEqual(await validateDocuments(set, dryRun, { fallbackNamespace: 'shop' }), []);
    assert.deepEqual(
      dryRun.seen.map((o) => `${o.kind} ${o.metadata.namespace ?? ''}`),
      ['Namespace ', 'ConfigMap fresh', 'ConfigMap shop'],
    );
  });

  it('still reports what the fallback dry run refuses, and a namespace nobody creates', async () => {
    const set = docs('apiVersion: v1\nkind: Namespace\nmetadata: {name: fresh}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: fresh}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: d, namespace: ghost}\n');
    const dryRun = fakeDryRun({
      c: (obj) =>
        obj.metadata.namespace === 'fresh'
          ? kubeError(404, 'NotFound', 'namespaces "fresh" not found')
          : kubeError(500, undefined, 'failed to create typed patch object: .data: expected map, got string'),
      d: () => kubeError(404, 'NotFound', 'namespaces "ghost" not found'),
    });
    const problems = await validateDocuments(set, dryRun, { fallbackNamespace: 'shop' });
    assert.deepEqual(
      problems.map((p) => [p.index, p.field]),
      [
        [1, 'data'],
        [2, 'metadata.namespace'],
      ],
    );
    assert.match(problems[1]?.message ?? '', /namespace "ghost" does not exist and no Namespace in this revision creates it/);
  });

  it('skips objects whose kind a CRD in the set defines while it is not served yet', async () => {
    const set = docs(
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n---\napiVersion: other.com/v1\nkind: Gizmo\nmetadata: {name: g, namespace: shop}\n',
    );
    const dryRun = fakeDryRun({ w: () => notServed(), g: () => new Error('Unrecognized API version and kind: other.com/v1 Gizmo') });
    const problems = await validateDocuments(set, dryRun);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.index, 2);
    assert.match(problems[0].message, /does not serve Gizmo in other\.com\/v1/);
  });

  it('rethrows errors that say nothing about the object, so a good commit is not rejected', async () => {
    const set = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n');
    await assert.rejects(validateDocuments(set, fakeDryRun({ c: () => new TypeError('fetch failed') })), /fetch failed/);
    await assert.rejects(validateDocuments(set, fakeDryRun({ c: () => kubeError(503, 'ServiceUnavailable', 'etcd is down') })), /HTTP 503/);
    await assert.rejects(validateDocuments(set, fakeDryRun({ c: () => kubeError(429, 'TooManyRequests', 'slow down') })), /HTTP 429/);
  });

  it('keeps the problems in document order whatever order the dry runs finish in', async () => {
    const set = docs(
      Array.from({ length: 12 }, (_, i) => `apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c${i}, namespace: shop}\n`).join('---\n'),
    );
    const dryRun: DryRun = async (obj) => {
      const n = Number(obj.metadata.name.slice(1));
      await new Promise((resolve) => setTimeout(resolve, (12 - n) * 2));
      throw kubeError(422, 'Invalid', `no ${obj.metadata.name}`);
    };
    const problems = await validateDocuments(set, dryRun, { concurrency: 4 });
    assert.deepEqual(
      problems.map((p) => p.index),
      Array.from({ length: 12 }, (_, i) => i),
    );
  });
});

describe('parseApplyPath', () => {
  const obj = { spec: { ports: [{ port: 80, protocol: 'TCP' }, { port: 'abc', protocol: 'TCP' }], finalizers: ['a', 'b'] }, data: { a: 1 } };

  it('reads keyed list items as indexes into the object', () => {
    assert.deepEqual(parseApplyPath('failed to create typed patch object: .spec.ports[port="abc",protocol="TCP"].port: expected numeric', obj), ['spec', 'ports', 1, 'port']);
    assert.deepEqual(parseApplyPath('failed to create typed patch object (/v1, Kind=Service): .spec.ports[port=80,protocol="TCP"]: bad', obj), ['spec', 'ports', 0]);
  });

  it('reads plain fields, set elements and "element N"', () => {
    assert.deepEqual(parseApplyPath('failed to create typed patch object: .data.a: expected string, got &value.valueUnstructured{Value:1}', obj), ['data', 'a']);
    assert.deepEqual(parseApplyPath('failed to create typed patch object: .spec.finalizers[="b"]: duplicate entries', obj), ['spec', 'finalizers', 1]);
    assert.deepEqual(parseApplyPath('failed to create typed patch object: .spec.ports: element 0: associative list with keys has an element that omits key field "protocol"', obj), [
      'spec',
      'ports',
      0,
    ]);
  });

  it('is undefined for other messages', () => {
    assert.equal(parseApplyPath('Service "x" is invalid', obj), undefined);
  });
});

describe('validateDocuments: analysis kinds', () => {
  it('checks an AnalysisTemplate with Weir’s schema, conditions included, and does not dry-run it when it is invalid', async () => {
    const doc: SyncDocument = {
      file: 'analysis.yaml',
      index: 0,
      line: 1,
      lines: new Map(),
      object: {
        apiVersion: 'weir.dev/v1alpha1',
        kind: 'AnalysisTemplate',
        metadata: { name: 'success-rate', namespace: 'ns' },
        spec: { metrics: [{ name: 'rate', successCondition: 'result[0] >= ', provider: { prometheus: { address: 'http://p:9090', query: 'up' } } }] },
      },
    };
    let dryRuns = 0;
    const problems = await validateDocuments([doc], () => {
      dryRuns++;
      return Promise.resolve();
    });
    assert.equal(dryRuns, 0);
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.ok(problem);
    assert.equal(problem.field, 'spec.metrics[0].successCondition');
    assert.match(problem.message, /at position 13/);
  });
});

/** The 1-based line of the first line of `yaml` that contains `text`. */
function lineWith(yaml: string, text: string, from = 0): number {
  const lines = yaml.split('\n');
  const i = lines.findIndex((l, n) => n >= from && l.includes(text));
  assert.ok(i >= 0, `no line with ${text}`);
  return i + 1;
}

const ANALYSED = `apiVersion: weir.dev/v1alpha1
kind: Rollout
metadata:
  name: app
  namespace: shop
spec:
  selector:
    matchLabels: {app: app}
  template:
    metadata:
      labels: {app: app}
    spec:
      containers: [{name: app, image: weir-demo:v1}]
  strategy:
    canary:
      analysis:
        templates:
          - templateName: background-latency
      steps:
        - setWeight: 20
        - analysis:
            templates:
              - templateName: success-rate
              - templateName: shared-errors
                clusterScope: true
`;

const BLUE_GREEN = `apiVersion: weir.dev/v1alpha1
kind: Rollout
metadata: {name: bg, namespace: shop}
spec:
  selector: {matchLabels: {app: bg}}
  template:
    metadata: {labels: {app: bg}}
    spec: {containers: [{name: app, image: weir-demo:v1}]}
  strategy:
    blueGreen:
      activeService: bg-active
      previewService: bg-preview
      prePromotionAnalysis:
        templates: [{templateName: smoke}]
      postPromotionAnalysis:
        templates: [{templateName: soak}]
`;

function template(kind: 'AnalysisTemplate' | 'ClusterAnalysisTemplate', name: string, namespace?: string, apiVersion = 'weir.dev/v1alpha1', query = 'vector(1)'): string {
  const ns = namespace === undefined ? '' : `, namespace: ${namespace}`;
  return `apiVersion: ${apiVersion}
kind: ${kind}
metadata: {name: ${name}${ns}}
spec:
  metrics:
    - name: m
      successCondition: result[0] == 1
      provider:
        prometheus:
          address: http://prometheus:9090
          query: ${JSON.stringify(query)}
`;
}

/** A template lookup that answers from a list of `Kind namespace/name` (`Kind name` when cluster-scoped), recording the questions. */
function fakeLookup(present: string[] = [], fail?: (key: string) => Error | undefined): TemplateLookup & { asked: string[] } {
  const asked: string[] = [];
  const lookup: TemplateLookup = (kind, namespace, name) => {
    const key = `${kind} ${namespace === undefined ? '' : `${namespace}/`}${name}`;
    asked.push(key);
    const error = fail?.(key);
    return error ? Promise.reject(error) : Promise.resolve(present.includes(key));
  };
  return Object.assign(lookup, { asked });
}

describe('validateDocuments: analysis templates a Rollout names', () => {
  it('refuses every templateName the revision does not hold, at its line, when only the revision is consulted', async () => {
    const problems = await validateDocuments(docs(ANALYSED, 'apps/rollout.yaml'), fakeDryRun());
    assert.deepEqual(
      problems.map((p) => [p.file, p.line, p.field]),
      [
        ['apps/rollout.yaml', lineWith(ANALYSED, 'background-latency'), 'spec.strategy.canary.analysis.templates[0].templateName'],
        ['apps/rollout.yaml', lineWith(ANALYSED, 'success-rate'), 'spec.strategy.canary.steps[1].analysis.templates[0].templateName'],
        ['apps/rollout.yaml', lineWith(ANALYSED, 'shared-errors'), 'spec.strategy.canary.steps[1].analysis.templates[1].templateName'],
      ],
    );
    assert.equal(problems[1]?.message, 'AnalysisTemplate "success-rate" is not in this revision (in namespace "shop"), and only this revision was consulted');
    assert.equal(problems[2]?.message, 'ClusterAnalysisTemplate "shared-errors" is not in this revision, and only this revision was consulted');
  });

  it("finds blue/green's prePromotionAnalysis and postPromotionAnalysis templates too", async () => {
    const problems = await validateDocuments(docs(BLUE_GREEN, 'bg.yaml'), fakeDryRun());
    assert.deepEqual(
      problems.map((p) => [p.line, p.field, p.message.slice(0, p.message.indexOf(' is '))]),
      [
        [lineWith(BLUE_GREEN, 'smoke'), 'spec.strategy.blueGreen.prePromotionAnalysis.templates[0].templateName', 'AnalysisTemplate "smoke"'],
        [lineWith(BLUE_GREEN, 'soak'), 'spec.strategy.blueGreen.postPromotionAnalysis.templates[0].templateName', 'AnalysisTemplate "soak"'],
      ],
    );
  });

  it("passes templates the revision holds: in the Rollout's namespace, cluster-scoped, or argoproj.io ones", async () => {
    const set = docs(
      [
        ANALYSED,
        template('AnalysisTemplate', 'background-latency', 'shop'),
        template('AnalysisTemplate', 'success-rate', 'shop', 'argoproj.io/v1alpha1'),
        template('ClusterAnalysisTemplate', 'shared-errors'),
      ].join('---\n'),
    );
    const lookup = fakeLookup();
    assert.deepEqual(await validateDocuments(set, fakeDryRun(), { templateExists: lookup }), []);
    assert.deepEqual(lookup.asked, [], 'the cluster is not asked about what the revision holds');
  });

  it('says when the revision has the template in another namespace or scope', async () => {
    const set = docs([ANALYSED, template('AnalysisTemplate', 'success-rate', 'other'), template('AnalysisTemplate', 'shared-errors', 'shop'), template('AnalysisTemplate', 'background-latency', 'shop')].join('---\n'));
    const problems = await validateDocuments(set, fakeDryRun());
    assert.deepEqual(
      problems.map((p) => p.message),
      [
        'AnalysisTemplate "success-rate" is not in this revision (in namespace "shop"), and only this revision was consulted (in this revision it is in namespace "other": a Rollout runs AnalysisTemplates of its own namespace only)',
        'ClusterAnalysisTemplate "shared-errors" is not in this revision, and only this revision was consulted (in this revision there is an AnalysisTemplate "shared-errors": name it without clusterScope: true)',
      ],
    );
  });

  it('asks the cluster about the rest, once per template: namespaced ones in the Rollout’s namespace', async () => {
    const twice = ANALYSED.replace('- setWeight: 20', '- analysis: {templates: [{templateName: success-rate}]}');
    const lookup = fakeLookup(['AnalysisTemplate shop/background-latency', 'ClusterAnalysisTemplate shared-errors']);
    const problems = await validateDocuments(docs(twice, 'r.yaml'), fakeDryRun(), { templateExists: lookup });
    assert.deepEqual([...lookup.asked].sort(), ['AnalysisTemplate shop/background-latency', 'AnalysisTemplate shop/success-rate', 'ClusterAnalysisTemplate shared-errors']);
    assert.deepEqual(
      problems.map((p) => [p.line, p.field, p.message]),
      [
        [lineWith(twice, 'success-rate'), 'spec.strategy.canary.steps[0].analysis.templates[0].templateName', 'AnalysisTemplate "success-rate" is in neither this revision nor namespace "shop" of the cluster: the Rollout could not run this analysis'],
        [lineWith(twice, 'success-rate', lineWith(twice, 'success-rate')), 'spec.strategy.canary.steps[1].analysis.templates[0].templateName', 'AnalysisTemplate "success-rate" is in neither this revision nor namespace "shop" of the cluster: the Rollout could not run this analysis'],
      ],
    );
  });

  it('names a missing ClusterAnalysisTemplate as the cluster’s', async () => {
    const lookup = fakeLookup(['AnalysisTemplate shop/background-latency', 'AnalysisTemplate shop/success-rate']);
    const problems = await validateDocuments(docs(ANALYSED), fakeDryRun(), { templateExists: lookup });
    assert.deepEqual(
      problems.map((p) => p.message),
      ['ClusterAnalysisTemplate "shared-errors" is in neither this revision nor the cluster: the Rollout could not run this analysis'],
    );
  });

  it('reports a lookup the API server forbids, and rethrows one that says nothing about the commit', async () => {
    const forbidden = fakeLookup(['AnalysisTemplate shop/background-latency', 'AnalysisTemplate shop/success-rate'], (key) =>
      key.startsWith('Cluster') ? kubeError(403, 'Forbidden', 'clusteranalysistemplates.weir.dev "shared-errors" is forbidden') : undefined,
    );
    const problems = await validateDocuments(docs(ANALYSED), fakeDryRun(), { templateExists: forbidden });
    assert.equal(problems.length, 1);
    assert.match(problems[0]?.message ?? '', /^ClusterAnalysisTemplate "shared-errors" is not in this revision, and the cluster refused to say whether it has it: .*forbidden/);
    const down = fakeLookup([], () => kubeError(503, 'ServiceUnavailable', 'etcd is down'));
    await assert.rejects(validateDocuments(docs(ANALYSED), fakeDryRun(), { templateExists: down }), /HTTP 503/);
  });
});

describe('validateDocuments: PromQL in analysis templates', () => {
  it('refuses a query that does not parse, at the line of the query field, with the position in the query', async () => {
    const yaml = [ROLLOUT, template('AnalysisTemplate', 'success-rate', 'shop', 'weir.dev/v1alpha1', 'sum(rate(http_requests_total{code="200"}[1m])')].join('---\n');
    const dryRun = fakeDryRun();
    const problems = await validateDocuments(docs(yaml, 'apps/analysis.yaml'), dryRun);
    assert.deepEqual(problems, [
      {
        file: 'apps/analysis.yaml',
        index: 1,
        line: lineWith(yaml, 'query: "sum('),
        field: 'spec.metrics[0].provider.prometheus.query',
        message: 'PromQL syntax error at line 1, column 46 of the query: the query ends before "(" at column 4 is closed',
      },
    ]);
    assert.deepEqual(
      dryRun.seen.map((o) => o.kind),
      ['Rollout', 'ReplicaSet'],
      'the refused template is not dry-run',
    );
  });

  it('accepts queries with placeholders, and checks the judge’s queries too', async () => {
    const yaml = `apiVersion: weir.dev/v1alpha1
kind: AnalysisTemplate
metadata: {name: judged, namespace: shop}
spec:
  args: [{name: window}, {name: hash}, {name: service-name}]
  metrics:
    - name: rate
      successCondition: result[0] > 0
      provider:
        prometheus:
          address: http://prometheus:9090
          query: sum(rate(x{service="{{ args.service-name }}"}[{{args.window}}]))
    - name: judge
      provider:
        judge:
          address: http://prometheus:9090
          baseline: {query: 'rate(errors_total{pod_template_hash="{{args.hash}}"}[1m])'}
          canary: {query: 'rate(errors_total{pod_template_hash="{{args.hash}}"}[1m]'}
`;
    const problems = await validateDocuments(docs(yaml, 'judge.yaml'), fakeDryRun());
    assert.deepEqual(
      problems.map((p) => [p.line, p.field]),
      [[18, 'spec.metrics[1].provider.judge.canary.query']],
    );
    assert.match(problems[0]?.message ?? '', /^PromQL syntax error at line 1, column 57 of the query: the query ends before "\(" at column 5 is closed$/);
  });
});

describe('clusterTemplateLookup', () => {
  function client(found: Record<string, { labels?: Record<string, string> } | Error>) {
    const reads: string[] = [];
    return {
      reads,
      read(header: { apiVersion: string; kind: string; metadata: { name: string; namespace?: string } }): Promise<KubernetesObject> {
        const key = `${header.apiVersion} ${header.kind} ${header.metadata.namespace ?? ''}/${header.metadata.name}`;
        reads.push(key);
        const entry = found[key];
        if (entry === undefined) return Promise.reject(kubeError(404, 'NotFound', `${header.kind} "${header.metadata.name}" not found`));
        if (entry instanceof Error) return Promise.reject(entry);
        return Promise.resolve({ apiVersion: header.apiVersion, kind: header.kind, metadata: { ...header.metadata, ...entry } });
      },
    };
  }

  it('reads weir.dev templates: found is true, 404 false, and other errors are thrown', async () => {
    const c = client({ 'weir.dev/v1alpha1 AnalysisTemplate shop/a': {}, 'weir.dev/v1alpha1 ClusterAnalysisTemplate /c': {}, 'weir.dev/v1alpha1 AnalysisTemplate shop/down': kubeError(500, 'InternalError', 'boom') });
    const lookup = clusterTemplateLookup(c);
    assert.equal(await lookup('AnalysisTemplate', 'shop', 'a'), true);
    assert.equal(await lookup('AnalysisTemplate', 'other', 'a'), false);
    assert.equal(await lookup('ClusterAnalysisTemplate', undefined, 'c'), true);
    await assert.rejects(lookup('AnalysisTemplate', 'shop', 'down'), /HTTP 500/);
    assert.deepEqual(c.reads, ['weir.dev/v1alpha1 AnalysisTemplate shop/a', 'weir.dev/v1alpha1 AnalysisTemplate other/a', 'weir.dev/v1alpha1 ClusterAnalysisTemplate /c', 'weir.dev/v1alpha1 AnalysisTemplate shop/down']);
  });

  it("counts a template this source applied as gone when the source prunes (the commit no longer has it)", async () => {
    const source = { namespace: 'shop', name: 'apps' };
    const c = client({ 'weir.dev/v1alpha1 AnalysisTemplate shop/ours': { labels: { [SOURCE_LABEL]: sourceLabelValue(source) } }, 'weir.dev/v1alpha1 AnalysisTemplate shop/theirs': { labels: { [SOURCE_LABEL]: 'shop.other' } } });
    assert.equal(await clusterTemplateLookup(c, { source })('AnalysisTemplate', 'shop', 'ours'), false);
    assert.equal(await clusterTemplateLookup(c, { source })('AnalysisTemplate', 'shop', 'theirs'), true);
    assert.equal(await clusterTemplateLookup(c, { source, prune: false })('AnalysisTemplate', 'shop', 'ours'), true, 'without pruning it stays');
  });
});
