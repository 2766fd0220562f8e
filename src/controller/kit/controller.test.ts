// What the controller kit decides without any I/O: the key mappings, and that
// a kind gets one informer per process (a second label selector for it is
// refused when the controller is declared, before anything is listed or
// watched). Reconciling on the shared informers runs against the sandbox's API
// server in test/controller-kit.test.ts.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { InformerCache, type Kind } from '../../cluster/informer-cache.ts';
import { createLogger } from '../../util/log.ts';
import { Controller, controllerOwnerKey, objectKey, watches } from './controller.ts';
import { unreachableKubeConfig } from '../../cluster/testkit.ts';

function configMaps(labelSelector?: string): Kind<V1ConfigMap> {
  return {
    plural: 'configmaps',
    apiPath: '/api/v1',
    ...(labelSelector === undefined ? {} : { labelSelector }),
    lister: (kc, namespace) => {
      const core = kc.makeApiClient(CoreV1Api);
      return () => core.listNamespacedConfigMap({ namespace: namespace ?? 'default', ...(labelSelector === undefined ? {} : { labelSelector }) });
    },
  };
}

const CONFIG_MAPS = configMaps();

describe('controller kit', () => {
  const kubeConfig = unreachableKubeConfig();
  const logger = createLogger('kit-test', 'silent');
  let caches: InformerCache[];

  beforeEach(() => {
    caches = [];
  });
  afterEach(async () => {
    await Promise.all(caches.map((c) => c.stop()));
  });

  const cacheOf = (namespace?: string): InformerCache => {
    const cache = new InformerCache({ kubeConfig, logger, resyncMs: 0, ...(namespace === undefined ? {} : { namespace }) });
    caches.push(cache);
    return cache;
  };
  const declare = (cache: InformerCache, watched: Kind<V1ConfigMap>): Controller =>
    new Controller(cache, {
      name: 'test',
      kind: CONFIG_MAPS,
      watches: [watches(watched, objectKey)],
      backoff: { baseDelayMs: 10, maxDelayMs: 10 },
      workers: 1,
      reconcile: () => Promise.resolve(undefined),
      onFailure: () => undefined,
      logger,
    });

  it('maps objects to their key and to the key of their controller owner', () => {
    assert.equal(objectKey({ metadata: { namespace: 'ns', name: 'a' } }), 'ns/a');
    assert.equal(objectKey({ metadata: { name: 'a' } }), 'default/a');
    const toOwner = controllerOwnerKey('Widget', 'test.dev/v1');
    const owner = (o: { controller?: boolean; kind?: string; apiVersion?: string; name: string }) => ({ kind: 'Widget', apiVersion: 'test.dev/v1', ...o });
    assert.equal(toOwner({ metadata: { namespace: 'ns', ownerReferences: [owner({ name: 'w', controller: true })] } }), 'ns/w');
    assert.equal(toOwner({ metadata: { namespace: 'ns', ownerReferences: [owner({ name: 'w' })] } }), undefined, 'not its controller');
    assert.equal(toOwner({ metadata: { namespace: 'ns', ownerReferences: [owner({ name: 'w', controller: true, kind: 'Other' })] } }), undefined, 'another kind');
    assert.equal(toOwner({ metadata: { namespace: 'ns', ownerReferences: [owner({ name: 'w', controller: true, apiVersion: 'test.dev/v2' })] } }), undefined, 'another version');
    assert.equal(toOwner({ metadata: { namespace: 'ns' } }), undefined);
  });

  it('a kind cannot get a second informer: another label selector for it is refused', () => {
    const cache = cacheOf('ns');
    const c = declare(cache, CONFIG_MAPS);
    assert.equal(c.ready, false, 'not ready before its start');
    assert.equal(cache.informer(CONFIG_MAPS), cache.informer(configMaps()), 'the same kind, the same informer');
    assert.deepEqual(cache.watched(), ['/api/v1/namespaces/ns/configmaps']);
    assert.throws(() => cache.informer(configMaps('app=x')), /already watched with no label selector; a second informer with label selector "app=x"/);
    assert.throws(() => declare(cache, configMaps('app=x')), /already watched/);
    assert.throws(() => cacheOf().informer(CONFIG_MAPS), /already watched in this process/, 'a second cache cannot watch it either');
  });
});
