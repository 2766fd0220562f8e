// What the informer decides without any I/O: which resource a watch path
// names, and the process guard against a second informer of a watched
// resource (checked when an informer is made, before anything is listed or
// watched). Its lists, watches, re-lists and stop run against the sandbox's
// API server in test/informer-resync.test.ts and test/controller-kit.test.ts.
import assert from 'node:assert/strict';
import { afterEach, describe, it } from 'node:test';
import { CoreV1Api, type V1ConfigMap } from '@kubernetes/client-node';
import { createLogger } from '../util/log.ts';
import { ResilientInformer, watchedResource, watchedResources } from './informer.ts';
import { unreachableKubeConfig } from './testkit.ts';

describe('ResilientInformer', () => {
  const kubeConfig = unreachableKubeConfig();
  const core = kubeConfig.makeApiClient(CoreV1Api);
  const logger = createLogger('informer-test', 'silent');
  let informers: ResilientInformer<V1ConfigMap>[] = [];
  const make = (path: string): ResilientInformer<V1ConfigMap> => {
    const informer = new ResilientInformer<V1ConfigMap>({ kubeConfig, logger, name: 'configmaps', path, list: () => core.listConfigMapForAllNamespaces(), resyncMs: 0 });
    informers.push(informer);
    return informer;
  };

  afterEach(async () => {
    await Promise.all(informers.map((i) => i.stop()));
    informers = [];
  });

  it('names the watched resource whatever the namespace', () => {
    assert.equal(watchedResource('/apis/apps/v1/namespaces/x/replicasets'), '/apis/apps/v1/replicasets');
    assert.equal(watchedResource('/api/v1/configmaps'), '/api/v1/configmaps');
  });

  it('refuses a second informer of a resource a live one watches, in any namespace, until the first stops', async () => {
    const first = make('/api/v1/namespaces/ns/configmaps');
    assert.deepEqual(watchedResources(), ['/api/v1/configmaps']);
    assert.throws(() => make('/api/v1/namespaces/ns/configmaps'), /already watched in this process \(informer "configmaps"\)/);
    assert.throws(() => make('/api/v1/namespaces/other/configmaps'), /already watched in this process/);
    assert.throws(() => make('/api/v1/configmaps'), /already watched in this process/);
    await first.stop();
    assert.deepEqual(watchedResources(), []);
    make('/api/v1/configmaps');
    assert.deepEqual(watchedResources(), ['/api/v1/configmaps']);
  });
});
