import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { prepareDocuments, type ScopeLookup } from './prepare.ts';
import { docs } from './testkit.ts';

/** Discovery as a table: `apiVersion/kind` → namespaced; anything else is not served. */
function discovery(table: Record<string, boolean>): ScopeLookup & { calls: string[] } {
  const calls: string[] = [];
  const lookup = (apiVersion: string, kind: string): Promise<boolean | undefined> => {
    calls.push(`${apiVersion}/${kind}`);
    return Promise.resolve(table[`${apiVersion}/${kind}`]);
  };
  return Object.assign(lookup, { calls });
}

const CORE = { 'v1/ConfigMap': true, 'v1/Namespace': false, 'weir.dev/v1alpha1/Rollout': true, 'rbac.authorization.k8s.io/v1/ClusterRole': false };

describe('prepareDocuments', () => {
  it("puts namespaced objects without a namespace in the GitSource's namespace", async () => {
    const input = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b, namespace: other}\n');
    const { documents, problems } = await prepareDocuments(input, { namespace: 'shop', namespaced: discovery(CORE) });
    assert.deepEqual(problems, []);
    assert.deepEqual(
      documents.map((d) => d.object.metadata.namespace),
      ['shop', 'other'],
    );
    assert.equal(input[0]?.object.metadata.namespace, undefined, 'the input is not modified');
    assert.equal(documents[1], input[1], 'unchanged documents are passed through');
  });

  it('never gives a cluster-scoped object a namespace, and removes one it has', async () => {
    const input = docs('apiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n---\napiVersion: rbac.authorization.k8s.io/v1\nkind: ClusterRole\nmetadata: {name: r, namespace: shop}\n');
    const { documents } = await prepareDocuments(input, { namespace: 'shop', namespaced: discovery(CORE) });
    assert.deepEqual(
      documents.map((d) => 'namespace' in d.object.metadata),
      [false, false],
    );
  });

  it('converts argoproj.io Rollouts to weir.dev, keeping file and lines', async () => {
    const input = docs('apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata:\n  name: app\nspec:\n  replicas: 2\n', 'rollout.yaml');
    const lookup = discovery(CORE);
    const { documents } = await prepareDocuments(input, { namespace: 'shop', namespaced: lookup });
    assert.equal(documents[0]?.object.apiVersion, 'weir.dev/v1alpha1');
    assert.equal(documents[0].object.metadata.namespace, 'shop');
    assert.equal(documents[0].file, 'rollout.yaml');
    assert.equal(documents[0].lines.get('spec.replicas'), 6);
    assert.deepEqual(lookup.calls, ['weir.dev/v1alpha1/Rollout']);
  });

  it('takes the scope of kinds from CustomResourceDefinitions in the same set, before discovery', async () => {
    const input = docs(
      [
        'apiVersion: apiextensions.k8s.io/v1',
        'kind: CustomResourceDefinition',
        'metadata: {name: widgets.example.com}',
        'spec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}, versions: [{name: v1}]}',
        '---',
        'apiVersion: apiextensions.k8s.io/v1',
        'kind: CustomResourceDefinition',
        'metadata: {name: gadgets.example.com}',
        'spec: {group: example.com, scope: Cluster, names: {kind: Gadget, plural: gadgets}, versions: [{name: v1}]}',
        '---',
        'apiVersion: example.com/v1',
        'kind: Widget',
        'metadata: {name: w}',
        '---',
        'apiVersion: example.com/v1',
        'kind: Gadget',
        'metadata: {name: g}',
      ].join('\n'),
    );
    const lookup = discovery({ ...CORE, 'apiextensions.k8s.io/v1/CustomResourceDefinition': false });
    const { documents, problems } = await prepareDocuments(input, { namespace: 'shop', namespaced: lookup });
    assert.deepEqual(problems, []);
    assert.deepEqual(
      documents.map((d) => d.object.metadata.namespace),
      [undefined, undefined, 'shop', undefined],
    );
    assert.deepEqual(lookup.calls, ['apiextensions.k8s.io/v1/CustomResourceDefinition'], 'asked once, and never about the CRDs’ kinds');
  });

  it('reports kinds nobody serves at their kind line, and leaves them out', async () => {
    const input = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: apps/v1beta1\nkind: Deployment\nmetadata: {name: old}\n', 'd.yaml');
    const { documents, problems } = await prepareDocuments(input, { namespace: 'shop', namespaced: discovery(CORE) });
    assert.equal(documents.length, 1);
    assert.deepEqual(problems, [
      {
        file: 'd.yaml',
        index: 1,
        line: 6,
        field: 'kind',
        message: 'the API server does not serve Deployment in apps/v1beta1, and no CustomResourceDefinition in this revision defines it',
      },
    ]);
  });

  it('asks discovery once per kind', async () => {
    const input = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: b}\n');
    const lookup = discovery(CORE);
    await prepareDocuments(input, { namespace: 'shop', namespaced: lookup });
    assert.deepEqual(lookup.calls, ['v1/ConfigMap']);
  });

  it('throws when discovery fails: that says nothing about the commit', async () => {
    const input = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n');
    await assert.rejects(
      prepareDocuments(input, { namespace: 'shop', namespaced: () => Promise.reject(new Error('connect ECONNREFUSED')) }),
      /ECONNREFUSED/,
    );
  });
});
