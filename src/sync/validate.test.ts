import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SyncDocument, SyncObject } from './types.ts';
import { docs, kubeError, notServed } from './testkit.ts';
import { duplicateProblems, parseApplyPath, validateDocuments, type DryRun } from './validate.ts';

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
  it('passes a valid set, dry-running only what is not a Weir kind', async () => {
    const dryRun = fakeDryRun();
    const set = docs(`${ROLLOUT}---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n`);
    assert.deepEqual(await validateDocuments(set, dryRun), []);
    assert.deepEqual(
      dryRun.seen.map((o) => o.kind),
      ['ConfigMap'],
    );
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
  it('checks an AnalysisTemplate with Weir’s schema, conditions included, without a dry run', async () => {
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
