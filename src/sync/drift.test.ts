import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { formatFieldPath } from '../api/validate.ts';
import {
  correctDrift,
  describeDifference,
  detectDrift,
  onceEach,
  ownershipTarget,
  projectOnto,
  subsetDiff,
  takeOwnership,
  type DriftCorrectionClient,
  type ManagedFieldsEntry,
} from './drift.ts';
import { docs, kubeError } from './testkit.ts';

function paths(desired: unknown, live: unknown): string[] {
  return subsetDiff(desired, live).map((d) => formatFieldPath(d.path));
}

const SERVICE = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', labels: { app: 'web' } },
  spec: { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] },
};

/** SERVICE as the API server keeps it: defaults and server metadata added. */
function liveService(): Record<string, unknown> {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: 'web',
      namespace: 'shop',
      labels: { app: 'web', 'added-by': 'someone' },
      uid: 'u-1',
      resourceVersion: '42',
      creationTimestamp: new Date('2026-01-01T00:00:00Z'),
      managedFields: [{ manager: 'weir', operation: 'Apply' }],
    },
    spec: {
      clusterIP: '10.96.0.10',
      type: 'ClusterIP',
      sessionAffinity: 'None',
      selector: { app: 'web' },
      ports: [{ name: 'http', port: 8080, protocol: 'TCP', targetPort: 8080 }],
    },
    status: { loadBalancer: {} },
  };
}

describe('subsetDiff', () => {
  it('finds nothing when live has what desired sets, plus server defaults and metadata', () => {
    assert.deepEqual(subsetDiff(SERVICE, liveService()), []);
  });

  it('reports a changed field with its path and both values', () => {
    const live = liveService();
    ((live.spec as { ports: { port: number }[] }).ports[0] as { port: number }).port = 80;
    assert.deepEqual(subsetDiff(SERVICE, live), [{ path: ['spec', 'ports', 0, 'port'], desired: 8080, live: 80 }]);
  });

  it('matches lists of named objects by name, in any order, extra live items allowed', () => {
    const desired = { spec: { containers: [{ name: 'app', image: 'v2' }, { name: 'log', image: 'l1' }] } };
    const live = { spec: { containers: [{ name: 'sidecar', image: 's' }, { name: 'log', image: 'l1' }, { name: 'app', image: 'v1', resources: {} }] } };
    assert.deepEqual(subsetDiff(desired, live), [{ path: ['spec', 'containers', 0, 'image'], desired: 'v2', live: 'v1' }]);
  });

  it('reports a named item missing from live', () => {
    assert.deepEqual(paths({ env: [{ name: 'A', value: '1' }, { name: 'B', value: '2' }] }, { env: [{ name: 'A', value: '1' }] }), ['env[1]']);
  });

  it('compares other lists item by item, and their length', () => {
    assert.deepEqual(paths({ args: ['a', 'b'] }, { args: ['a', 'b'] }), []);
    assert.deepEqual(paths({ args: ['a', 'b'] }, { args: ['a', 'c'] }), ['args[1]']);
    assert.deepEqual(paths({ args: ['a', 'b'] }, { args: ['a', 'b', 'c'] }), ['args']);
    assert.deepEqual(paths({ rules: [{ host: 'x' }] }, { rules: [{ host: 'x', http: { paths: [] } }] }), [], 'items as subsets');
  });

  it('treats maps as subsets: entries live adds are not drift, entries it lacks are', () => {
    assert.deepEqual(paths({ data: { a: '1' } }, { data: { a: '1', b: '2' } }), []);
    assert.deepEqual(paths({ data: { a: '1', b: '2' } }, { data: { a: '1' } }), ['data.b']);
    assert.deepEqual(paths({ metadata: { annotations: { x: 'y' } } }, { metadata: {} }), ['metadata.annotations']);
  });

  it('reports a type change', () => {
    assert.deepEqual(paths({ spec: { ports: [{ name: 'a', port: 1 }] } }, { spec: { ports: 'x' } }), ['spec.ports']);
    assert.deepEqual(paths({ spec: { selector: { a: 'b' } } }, { spec: { selector: null } }), ['spec.selector']);
    assert.deepEqual(paths({ replicas: 1 }, { replicas: '1' }), ['replicas']);
  });

  it('ignores status, server metadata, and fields desired leaves null or unset', () => {
    const desired = { metadata: { name: 'a', resourceVersion: '1', uid: 'x', generation: 3, managedFields: [] }, status: { phase: 'x' }, spec: { a: null, b: undefined } };
    assert.deepEqual(paths(desired, { metadata: { name: 'a', resourceVersion: '9' }, spec: { a: 5 } }), []);
  });

  it('compares dates as their text (typed client models turn timestamps into Dates)', () => {
    assert.deepEqual(paths({ spec: { at: '2026-01-01T00:00:00.000Z' } }, { spec: { at: new Date('2026-01-01T00:00:00Z') } }), []);
  });
});

describe('projectOnto', () => {
  it('takes the dry-run result on the fields desired sets: server defaults inside them, nothing outside', () => {
    const dryRun = liveService();
    const projected = projectOnto(SERVICE, dryRun) as typeof SERVICE;
    assert.deepEqual(projected.spec, { selector: { app: 'web' }, ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] });
    assert.deepEqual(projected.metadata.labels, { app: 'web' });
  });

  it('follows named lists by name and keeps other lists whole', () => {
    const shape = { containers: [{ name: 'app', resources: { limits: { cpu: '0.5' } } }], args: ['a'] };
    const source = { containers: [{ name: 'x' }, { name: 'app', image: 'i', resources: { limits: { cpu: '500m', memory: '1Gi' } } }], args: ['a', 'b'] };
    assert.deepEqual(projectOnto(shape, source), { containers: [{ name: 'app', resources: { limits: { cpu: '500m' } } }], args: ['a', 'b'] });
  });

  it('with subsetDiff, accepts values the server writes in its normal form', () => {
    const desired = { spec: { containers: [{ name: 'app', resources: { limits: { cpu: '0.5' } } }] } };
    const serverForm = { spec: { containers: [{ name: 'app', resources: { limits: { cpu: '500m' } } }] } };
    assert.deepEqual(subsetDiff(desired, serverForm).length, 1, 'raw desired differs');
    assert.deepEqual(subsetDiff(projectOnto(desired, serverForm), serverForm), [], 'the dry-run result does not');
  });
});

describe('describeDifference', () => {
  it('reads "path: desired → live"', () => {
    assert.equal(describeDifference({ path: ['spec', 'ports', 0, 'port'], desired: 8080, live: 80 }), 'spec.ports[0].port: 8080 → 80');
    assert.equal(describeDifference({ path: ['data', 'a'], desired: 'x', live: undefined }), 'data.a: "x" → (absent)');
    assert.equal(describeDifference({ path: ['args'], desired: ['a'], live: ['a', 'b'] }), 'args: 1 items → 2 items');
  });

  it('never shows Secret data', () => {
    assert.equal(describeDifference({ path: ['data', 'password'], desired: 'aHVudGVyMg==', live: 'b3RoZXI=' }, 'Secret'), 'data.password: changed (value hidden)');
    assert.equal(describeDifference({ path: ['stringData', 'token'], desired: 's3cret', live: undefined }, 'Secret'), 'stringData.token: changed (value hidden)');
  });

  it('shortens long values', () => {
    assert.ok(describeDifference({ path: ['a'], desired: 'x'.repeat(500), live: 1 }).length < 100);
  });
});

/** managedFields as a 1.20 API server records them after a merge patch replaced port 8080 by 80. */
function patchedFields(): ManagedFieldsEntry[] {
  return [
    { manager: 'weir', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:selector': { 'f:app': {} } } } },
    {
      manager: 'kubectl-patch',
      operation: 'Update',
      apiVersion: 'v1',
      fieldsType: 'FieldsV1',
      fieldsV1: { 'f:spec': { 'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} } } } },
    },
    { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:status': { 'f:loadBalancer': {} } } },
  ];
}

describe('takeOwnership', () => {
  it("moves another manager's list item to Weir's Apply entry, so the next apply removes it", () => {
    const item = { name: 'http', port: 80, protocol: 'TCP', targetPort: 80 };
    const out = takeOwnership(patchedFields(), [{ path: ['spec', 'ports'], item }], 'weir', 'v1');
    assert.deepEqual(
      out.map((e) => e.manager),
      ['weir', 'kube-controller-manager'],
      'the patch manager owned nothing else and is dropped',
    );
    assert.deepEqual(out[0]?.fieldsV1, {
      'f:spec': {
        'f:selector': { 'f:app': {} },
        'f:ports': { 'k:{"port":80,"protocol":"TCP"}': { '.': {}, 'f:name': {}, 'f:port': {}, 'f:protocol': {}, 'f:targetPort': {} } },
      },
    });
  });

  it('takes only the matching items', () => {
    const entries = patchedFields();
    const out = takeOwnership(entries, [{ path: ['spec', 'ports'], item: { port: 443, protocol: 'TCP' } }], 'weir', 'v1');
    assert.deepEqual(out, entries);
  });

  it('takes a whole field, and creates Weir’s entry when there is none', () => {
    const entries: ManagedFieldsEntry[] = [{ manager: 'kubectl-edit', operation: 'Update', apiVersion: 'v1', fieldsV1: { 'f:spec': { 'f:args': {}, 'f:image': {} } } }];
    const out = takeOwnership(entries, [{ path: ['spec', 'args'] }], 'weir', 'v1');
    assert.deepEqual(out, [
      { manager: 'kubectl-edit', operation: 'Update', apiVersion: 'v1', fieldsV1: { 'f:spec': { 'f:image': {} } } },
      { manager: 'weir', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:spec': { 'f:args': {} } } },
    ]);
  });

  it('is pure', () => {
    const entries = patchedFields();
    const copy = structuredClone(entries);
    takeOwnership(entries, [{ path: ['spec', 'ports'] }], 'weir', 'v1');
    assert.deepEqual(entries, copy);
  });
});

describe('ownershipTarget', () => {
  it('is the live item with the desired item’s name, for a field in a named list', () => {
    const live = liveService();
    const diff = { path: ['spec', 'ports', 0, 'port'], desired: 8080, live: 80 };
    assert.deepEqual(ownershipTarget(diff, SERVICE, live), { path: ['spec', 'ports'], item: (live.spec as { ports: unknown[] }).ports[0] });
  });

  it('is the whole list for other lists, and nothing for plain fields', () => {
    assert.deepEqual(ownershipTarget({ path: ['args'], desired: ['a'], live: ['a', 'b'] }, {}, {}), { path: ['args'] });
    assert.deepEqual(ownershipTarget({ path: ['args', 1], desired: 'b', live: 'c' }, { args: ['a', 'b'] }, {}), { path: ['args'] });
    assert.equal(ownershipTarget({ path: ['data', 'a'], desired: '1', live: '2' }, {}, {}), undefined);
  });
});

describe('detectDrift', () => {
  const set = docs(
    'apiVersion: v1\nkind: Service\nmetadata:\n  name: web\n  namespace: shop\n  labels: {app: web}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 8080, protocol: TCP}]\n',
    'svc.yaml',
  );

  it('compares the dry-run result with the live object', async () => {
    const live = liveService();
    const applier = { apply: (): Promise<KubernetesObject> => Promise.resolve(liveService() as KubernetesObject) };
    assert.deepEqual(await detectDrift(applier, () => Promise.resolve(live as KubernetesObject), set), []);
    ((live.spec as { ports: { port: number }[] }).ports[0] as { port: number }).port = 80;
    const drifted = await detectDrift(applier, () => Promise.resolve(live as KubernetesObject), set);
    assert.equal(drifted.length, 1);
    assert.deepEqual(drifted[0]?.ref, { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' });
    assert.deepEqual(drifted[0].description, ['spec.ports[0].port: 8080 → 80']);
    assert.equal(drifted[0].file, 'svc.yaml');
  });

  it('compares the desired object itself when the dry run refuses the merge', async () => {
    const live = liveService();
    ((live.spec as { ports: { port: number }[] }).ports[0] as { port: number }).port = 80;
    const applier = { apply: (): Promise<KubernetesObject> => Promise.reject(kubeError(422, 'Invalid', 'Service "web" is invalid: spec.ports[1].name: Duplicate value: "http"')) };
    const [drift] = await detectDrift(applier, () => Promise.resolve(live as KubernetesObject), set);
    assert.deepEqual(drift?.description, ['spec.ports[0].port: 8080 → 80']);
    assert.match(drift.dryRunError ?? '', /Duplicate value/);
  });

  it('reports missing objects, and decorates when asked', async () => {
    const seen: KubernetesObject[] = [];
    const applier = {
      apply: (obj: KubernetesObject): Promise<KubernetesObject> => {
        seen.push(obj);
        return Promise.resolve(obj);
      },
    };
    const drifted = await detectDrift(applier, () => Promise.resolve(undefined), set, { decorate: { source: { namespace: 'shop', name: 'git' }, revision: 'abc' } });
    assert.deepEqual(drifted[0]?.description, ['the object is missing']);
    assert.equal(drifted[0].missing, true);
    const withLabels = await detectDrift(applier, () => Promise.resolve(liveService() as KubernetesObject), set, { decorate: { source: { namespace: 'shop', name: 'git' }, revision: 'abc' } });
    assert.deepEqual(withLabels[0]?.description.sort(), ['metadata.annotations: {"weir.dev/git-revision":"abc"} → (absent)', 'metadata.labels["app.kubernetes.io/managed-by"]: "weir" → (absent)', 'metadata.labels["weir.dev/source"]: "shop.git" → (absent)'].sort());
    assert.equal(seen[0]?.metadata?.labels?.['weir.dev/source'], 'shop.git');
  });

  it('throws when the API server cannot be asked', async () => {
    const applier = { apply: (): Promise<KubernetesObject> => Promise.reject(kubeError(503, 'ServiceUnavailable', 'down')) };
    await assert.rejects(detectDrift(applier, () => Promise.resolve(liveService() as KubernetesObject), set), /HTTP 503/);
  });
});

describe('correctDrift', () => {
  it('takes over the drifted list item, then applies, and says what had drifted', async () => {
    const calls: string[] = [];
    const live = liveService();
    (live.metadata as { managedFields: ManagedFieldsEntry[] }).managedFields = patchedFields();
    ((live.spec as { ports: { port: number }[] }).ports[0] as { port: number }).port = 80;
    let replaced: ManagedFieldsEntry[] = [];
    const client: DriftCorrectionClient = {
      apply: (obj) => {
        calls.push(`apply ${obj.kind ?? ''}`);
        return Promise.resolve(obj);
      },
      read: () => {
        calls.push('read');
        return Promise.resolve(live as KubernetesObject);
      },
      replaceManagedFields: (_ref, resourceVersion, entries) => {
        calls.push(`managedFields@${resourceVersion}`);
        replaced = entries;
        return Promise.resolve();
      },
    };
    const set = docs('apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: shop}\nspec:\n  selector: {app: web}\n  ports: [{name: http, port: 8080, protocol: TCP}]\n');
    const drifted = await detectDrift({ apply: () => Promise.reject(kubeError(422, 'Invalid', 'duplicate')) }, () => Promise.resolve(live as KubernetesObject), set);
    const corrected = await correctDrift(client, drifted, set, {});
    assert.deepEqual(calls, ['read', 'managedFields@42', 'apply Service']);
    assert.deepEqual(
      replaced.map((e) => e.manager),
      ['weir', 'kube-controller-manager'],
    );
    assert.deepEqual(corrected, [{ ref: { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'web' }, fields: ['spec.ports[0].port: 8080 → 80'] }]);
  });

  it('only applies for a plain field or a missing object', async () => {
    const calls: string[] = [];
    const client: DriftCorrectionClient = {
      apply: (obj) => {
        calls.push(`apply ${obj.metadata?.name ?? ''}`);
        return Promise.resolve(obj);
      },
      read: (h) => Promise.resolve({ ...h, metadata: { ...h.metadata, resourceVersion: '1', managedFields: [] }, data: { a: '2' } } as KubernetesObject),
      replaceManagedFields: () => {
        calls.push('managedFields');
        return Promise.resolve();
      },
    };
    const set = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\ndata: {a: "1"}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: gone, namespace: shop}\n');
    const drifted = await detectDrift(
      { apply: (o) => Promise.resolve(o) },
      (ref) => Promise.resolve(ref.name === 'gone' ? undefined : ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'shop' }, data: { a: '2' } } as KubernetesObject)),
      set,
    );
    await correctDrift(client, drifted, set, {});
    assert.deepEqual(calls, ['apply c', 'apply gone']);
  });
});

describe('onceEach', () => {
  it('reads each object once, whoever asks, and tells objects apart', async () => {
    const reads: string[] = [];
    const read = onceEach((ref) => {
      reads.push(ref.name);
      return Promise.resolve(ref.name === 'gone' ? undefined : { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: ref.name } });
    });
    const a = { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'apps', name: 'a' };
    const first = await read(a);
    assert.equal(await read({ ...a }), first, 'the same object the second time');
    assert.equal(await read({ ...a, name: 'gone' }), undefined);
    assert.equal(await read({ ...a, name: 'gone' }), undefined);
    await read({ ...a, namespace: 'other' });
    assert.deepEqual(reads, ['a', 'gone', 'a']);
  });
});
