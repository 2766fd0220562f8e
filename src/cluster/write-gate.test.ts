// The gate refuses writes before they leave the process: a plain local
// HTTP listener counts what actually arrives.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { ObjectApplier } from './apply.ts';
import { NotLeaderError, isWriteMethod, writeGatedKubeConfig } from './write-gate.ts';

describe('write gate', () => {
  let server: Server;
  const seen: string[] = [];
  let kc: KubeConfig;

  before(async () => {
    server = createServer((req, res) => {
      seen.push(`${req.method ?? ''} ${req.url ?? ''}`);
      req.resume();
      if (req.url === '/api/v1') {
        // Discovery, which KubernetesObjectApi reads to find the path.
        res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ kind: 'APIResourceList', groupVersion: 'v1', resources: [{ name: 'configmaps', namespaced: true, kind: 'ConfigMap', verbs: ['get', 'patch'] }] }));
        return;
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ns' } }));
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const address = server.address();
    const port = typeof address === 'object' && address ? address.port : 0;
    kc = new KubeConfig();
    kc.loadFromOptions({
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'not-a-secret' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });
  after(() => {
    server.close();
  });

  it('classifies methods', () => {
    for (const m of ['GET', 'HEAD', 'OPTIONS', 'get']) assert.equal(isWriteMethod(m), false, m);
    for (const m of ['POST', 'PUT', 'PATCH', 'DELETE']) assert.equal(isWriteMethod(m), true, m);
  });

  it('lets reads through always, writes only while allowed, and sends nothing refused', async () => {
    let allowed = false;
    const gated = writeGatedKubeConfig(kc, () => allowed);
    const core = gated.makeApiClient(CoreV1Api);
    seen.length = 0;
    await core.readNamespacedConfigMap({ name: 'x', namespace: 'ns' });
    await assert.rejects(core.createNamespacedConfigMap({ namespace: 'ns', body: { metadata: { name: 'x' } } }), NotLeaderError);
    await assert.rejects(core.deleteNamespacedConfigMap({ name: 'x', namespace: 'ns' }), /not the leader: refusing DELETE \/api\/v1\/namespaces\/ns\/configmaps\/x/);
    // KubernetesObjectApi-based clients (server-side apply) go through the same gate.
    await assert.rejects(ObjectApplier.forConfig(gated).apply({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'ns' } }, { fieldManager: 't' }), NotLeaderError);
    assert.deepEqual(seen.filter((s) => !s.startsWith('GET')), [], 'no refused write reached the server');
    allowed = true;
    await core.createNamespacedConfigMap({ namespace: 'ns', body: { metadata: { name: 'x' } } });
    assert.ok(seen.includes('POST /api/v1/namespaces/ns/configmaps'));
    // The source KubeConfig is untouched.
    allowed = false;
    await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({ namespace: 'ns', body: { metadata: { name: 'x' } } });
  });
});
