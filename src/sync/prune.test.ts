import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject, V1DeleteOptions } from '@kubernetes/client-node';
import { SOURCE_LABEL } from './apply.ts';
import { pruneObjects, toPrune, type PruneClient } from './prune.ts';
import { kubeError } from './testkit.ts';
import type { ObjectRef } from './types.ts';

const cm = (name: string, namespace = 'shop'): ObjectRef => ({ apiVersion: 'v1', kind: 'ConfigMap', namespace, name });
const ns = (name: string): ObjectRef => ({ apiVersion: 'v1', kind: 'Namespace', name });
const crd = (name: string): ObjectRef => ({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', name });

describe('toPrune', () => {
  it('is what the old inventory has and the desired set does not', () => {
    assert.deepEqual(toPrune([cm('a'), cm('b'), cm('c')], [cm('a'), cm('c'), cm('d')]), [cm('b')]);
    assert.deepEqual(toPrune([], [cm('a')]), []);
    assert.deepEqual(toPrune([cm('a')], []), [cm('a')]);
  });

  it('tells objects apart by namespace, kind and group, not by version', () => {
    const deployV1: ObjectRef = { apiVersion: 'apps/v1', kind: 'Deployment', namespace: 'shop', name: 'web' };
    assert.deepEqual(toPrune([deployV1, cm('a', 'other')], [{ ...deployV1, apiVersion: 'apps/v1beta2' }, cm('a')]), [cm('a', 'other')]);
    const secret: ObjectRef = { apiVersion: 'v1', kind: 'Secret', namespace: 'shop', name: 'a' };
    assert.deepEqual(toPrune([secret], [cm('a')]), [secret]);
  });

  it('deletes in the reverse of the apply order: other objects, then Namespaces, then CRDs', () => {
    assert.deepEqual(toPrune([crd('widgets.example.com'), ns('old'), cm('a', 'old'), cm('b', 'old')], []), [cm('a', 'old'), cm('b', 'old'), ns('old'), crd('widgets.example.com')]);
  });

  it('keeps a Namespace that desired objects are still in, and a CRD whose group they still use', () => {
    const widget: ObjectRef = { apiVersion: 'example.com/v1', kind: 'Widget', namespace: 'shop', name: 'w' };
    assert.deepEqual(toPrune([ns('shop'), crd('widgets.example.com'), cm('x')], [cm('y'), widget]), [cm('x')]);
  });

  it('lists each object once', () => {
    assert.deepEqual(toPrune([cm('a'), cm('a')], []), [cm('a')]);
  });

  it('is pure', () => {
    const inventory = [cm('a'), ns('n')];
    const desired = [cm('b')];
    const copy = structuredClone({ inventory, desired });
    toPrune(inventory, desired);
    assert.deepEqual({ inventory, desired }, copy);
  });
});

/** A cluster as a map of objects by "kind/namespace/name", with the calls made. */
function fakeCluster(objects: Record<string, KubernetesObject>, opts: { conflictsOnDelete?: number } = {}): PruneClient & { deletes: { key: string; body?: V1DeleteOptions }[] } {
  const deletes: { key: string; body?: V1DeleteOptions }[] = [];
  let conflicts = opts.conflictsOnDelete ?? 0;
  const keyOf = (o: { kind?: string; metadata?: { name?: string; namespace?: string } }): string => `${o.kind ?? ''}/${o.metadata?.namespace ?? ''}/${o.metadata?.name ?? ''}`;
  return {
    deletes,
    read(header) {
      const obj = objects[keyOf(header)];
      return obj ? Promise.resolve(obj) : Promise.reject(kubeError(404, 'NotFound', 'not found'));
    },
    delete(spec, _pretty, _dryRun, _grace, _orphan, _policy, body) {
      const key = keyOf(spec);
      deletes.push({ key, ...(body ? { body } : {}) });
      if (conflicts > 0) {
        conflicts--;
        return Promise.reject(kubeError(409, 'Conflict', 'Precondition failed: UID in precondition'));
      }
      if (!(key in objects)) return Promise.reject(kubeError(404, 'NotFound', 'not found'));
      // eslint-disable-next-line @typescript-eslint/no-dynamic-delete
      delete objects[key];
      return Promise.resolve({});
    },
  };
}

function live(ref: ObjectRef, labels: Record<string, string> = {}): KubernetesObject {
  return { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace ? { namespace: ref.namespace } : {}), uid: `uid-${ref.name}`, resourceVersion: '7', labels } };
}

describe('pruneObjects', () => {
  const source = { namespace: 'shop', name: 'deploy' };
  const ours = { [SOURCE_LABEL]: 'shop.deploy' };

  it('deletes objects with this source’s label, in the Background, with uid and resourceVersion preconditions', async () => {
    const cluster = fakeCluster({ 'ConfigMap/shop/a': live(cm('a'), ours) });
    const result = await pruneObjects(cluster, [cm('a')], source);
    assert.deepEqual(result, { deleted: [cm('a')], kept: [], failed: [] });
    assert.deepEqual(cluster.deletes, [{ key: 'ConfigMap/shop/a', body: { preconditions: { uid: 'uid-a', resourceVersion: '7' }, propagationPolicy: 'Background' } }]);
  });

  it('leaves alone objects without the label or with another source’s', async () => {
    const cluster = fakeCluster({ 'ConfigMap/shop/a': live(cm('a')), 'ConfigMap/shop/b': live(cm('b'), { [SOURCE_LABEL]: 'shop.other' }) });
    const result = await pruneObjects(cluster, [cm('a'), cm('b')], source);
    assert.deepEqual(result.deleted, []);
    assert.deepEqual(
      result.kept.map((k) => [k.ref.name, k.reason]),
      [
        ['a', 'it has no weir.dev/source label'],
        ['b', 'its weir.dev/source label is "shop.other", not "shop.deploy"'],
      ],
    );
    assert.deepEqual(cluster.deletes, []);
  });

  it('counts objects already gone as deleted', async () => {
    const result = await pruneObjects(fakeCluster({}), [cm('gone')], source);
    assert.deepEqual(result.deleted, [cm('gone')]);
  });

  it('looks again when the object changed between reading and deleting', async () => {
    const cluster = fakeCluster({ 'ConfigMap/shop/a': live(cm('a'), ours) }, { conflictsOnDelete: 1 });
    const result = await pruneObjects(cluster, [cm('a')], source);
    assert.deepEqual(result.deleted, [cm('a')]);
    assert.equal(cluster.deletes.length, 2);
  });

  it('reports failures without throwing', async () => {
    const cluster = fakeCluster({ 'ConfigMap/shop/a': live(cm('a'), ours) });
    cluster.delete = () => Promise.reject(kubeError(403, 'Forbidden', 'configmaps "a" is forbidden'));
    const result = await pruneObjects(cluster, [cm('a'), cm('gone')], source);
    assert.deepEqual(result.failed, [{ ref: cm('a'), message: '403 Forbidden: configmaps "a" is forbidden' }]);
    assert.deepEqual(result.deleted, [cm('gone')]);
  });
});
