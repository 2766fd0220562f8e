import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HttpMethod, KubeConfig, RequestContext, type Cluster } from '@kubernetes/client-node';
import { NotLeaderError, writeGatedKubeConfig } from '../cluster/write-gate.ts';
import { sharedConnections } from './client.ts';

const SERVER = 'https://127.0.0.1:9';

function kubeConfig(cluster: Partial<Cluster> = {}, token = 'token-1'): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'c', server: SERVER, skipTLSVerify: true, ...cluster }],
    users: [{ name: 'u', token }],
    contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
    currentContext: 'x',
  });
  return kc;
}

async function authenticate(auth: { applySecurityAuthentication(ctx: RequestContext): void | Promise<void> }, method: HttpMethod = HttpMethod.GET): Promise<RequestContext> {
  const ctx = new RequestContext(`${SERVER}/api/v1/namespaces`, method);
  await auth.applySecurityAuthentication(ctx);
  return ctx;
}

describe('sharedConnections', () => {
  it('gives every request it authenticates one dispatcher, with the credentials of each request', async () => {
    const kc = kubeConfig();
    const auth = sharedConnections(kc);
    const a = await authenticate(auth);
    const b = await authenticate(auth, HttpMethod.PATCH);
    assert.ok(a.getDispatcher() !== undefined, 'a dispatcher of its own TLS settings');
    assert.equal(b.getDispatcher(), a.getDispatcher());
    assert.equal(a.getHeaders().Authorization, 'Bearer token-1');
    assert.equal(b.getHeaders().Authorization, 'Bearer token-1');
    // A new token is a header: same connections, new credentials.
    kc.loadFromOptions({ clusters: kc.getClusters(), users: [{ name: 'u', token: 'token-2' }], contexts: kc.getContexts(), currentContext: 'x' });
    const c = await authenticate(auth);
    assert.equal(c.getDispatcher(), a.getDispatcher());
    assert.equal(c.getHeaders().Authorization, 'Bearer token-2');
  });

  it('makes a new dispatcher when the TLS settings change', async () => {
    const kc = kubeConfig();
    const auth = sharedConnections(kc);
    const before = (await authenticate(auth)).getDispatcher();
    kc.loadFromOptions({ clusters: [{ name: 'c', server: SERVER, skipTLSVerify: false, tlsServerName: 'api.example' }], users: kc.getUsers(), contexts: kc.getContexts(), currentContext: 'x' });
    const after = (await authenticate(auth)).getDispatcher();
    assert.ok(after !== undefined);
    assert.notEqual(after, before);
    assert.equal((await authenticate(auth)).getDispatcher(), after, 'and keeps that one');
  });

  it('leaves the other clients of the KubeConfig, and other shares of it, as they are', async () => {
    const kc = kubeConfig();
    const one = sharedConnections(kc);
    const two = sharedConnections(kc);
    const shared = (await authenticate(one)).getDispatcher();
    assert.notEqual((await authenticate(two)).getDispatcher(), shared, 'each share has its own');
    const direct = (await authenticate(kc)).getDispatcher();
    assert.ok(direct !== undefined);
    assert.notEqual(direct, shared, 'a client authenticated by the KubeConfig itself does not get the shared one');
  });

  it('keeps what a KubeConfig subclass adds: the write gate still refuses writes', async () => {
    const auth = sharedConnections(writeGatedKubeConfig(kubeConfig(), () => false));
    const read = await authenticate(auth);
    assert.ok(read.getDispatcher() !== undefined);
    await assert.rejects(authenticate(auth, HttpMethod.PATCH), NotLeaderError);
  });
});
