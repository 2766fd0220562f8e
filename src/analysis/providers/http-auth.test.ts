// The HTTP providers over TLS with a private CA, and with OAuth2 client
// credentials, against real HTTPS servers of the test's own (a CA and a
// server certificate made with openssl, as the sandbox makes its own).
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { createServer, type Server } from 'node:https';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, beforeEach, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createPki } from '../../sandbox/pki.ts';
import { clearTokenCache } from './http-auth.ts';
import { ProviderError, queryPrometheus } from './prometheus.ts';
import { queryWeb } from './web.ts';

const run = promisify(execFile);
const SECRET = 's3cr3t-value-never-shown';
const VECTOR = JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '0.99'] }] } });

interface TokenRequest {
  authorization: string | undefined;
  form: URLSearchParams;
}

describe('providers over TLS and with OAuth2 client credentials', () => {
  let dir = '';
  let caFile = '';
  let server: Server;
  let base = '';
  const tokenRequests: TokenRequest[] = [];
  const queries: { path: string; authorization: string | undefined }[] = [];
  let issued = 0;
  let expiresIn = 3600;

  /** The token endpoint: /token takes HTTP Basic; /token-post only credentials in the body (and refuses Basic with 401). */
  function token(path: string, auth: string | undefined, form: URLSearchParams): { status: number; body: unknown } {
    tokenRequests.push({ authorization: auth, form });
    let id: string | undefined;
    let secret: string | undefined;
    if (path === '/token' && auth?.startsWith('Basic ')) {
      const [u, p] = Buffer.from(auth.slice(6), 'base64').toString().split(':');
      id = decodeURIComponent(u ?? '');
      secret = decodeURIComponent(p ?? '');
    } else if (path === '/token-post' && auth === undefined) {
      id = form.get('client_id') ?? undefined;
      secret = form.get('client_secret') ?? undefined;
    }
    if (form.get('grant_type') !== 'client_credentials' || id !== 'weir' || secret !== SECRET) return { status: 401, body: { error: 'invalid_client' } };
    issued++;
    return { status: 200, body: { access_token: `tok-${issued}`, token_type: 'bearer', expires_in: expiresIn } };
  }

  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'weir-tls-'));
    const pki = await createPki(dir);
    caFile = pki.caCert;
    server = createServer({ cert: await readFile(pki.serverCert), key: await readFile(pki.serverKey) }, (req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        const url = new URL(req.url ?? '/', 'https://x');
        if (url.pathname === '/token' || url.pathname === '/token-post') {
          const answer = token(url.pathname, req.headers.authorization, new URLSearchParams(body));
          res.writeHead(answer.status, { 'content-type': 'application/json' }).end(JSON.stringify(answer.body));
          return;
        }
        queries.push({ path: url.pathname, authorization: req.headers.authorization });
        // Behind OAuth2: only a token this server issued gets an answer.
        if (url.pathname.startsWith('/protected') && !/^Bearer tok-\d+$/.test(req.headers.authorization ?? '')) {
          res.writeHead(401).end('{}');
          return;
        }
        res.writeHead(200, { 'content-type': 'application/json' }).end(url.pathname.endsWith('/api/v1/query') ? VECTOR : JSON.stringify({ ok: true }));
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `https://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });
  beforeEach(() => {
    clearTokenCache();
    tokenRequests.length = 0;
    expiresIn = 3600;
  });

  it('a server whose CA is not trusted is refused with a clear error; insecure: true skips the check', async () => {
    await assert.rejects(queryPrometheus({ address: base, query: 'up' }), (err: Error) => err instanceof ProviderError && /unreachable: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|DEPTH_ZERO_SELF_SIGNED_CERT)/.test(err.message));
    assert.deepEqual((await queryPrometheus({ address: base, query: 'up', insecure: true })).value, [0.99]);
    await assert.rejects(queryWeb({ url: `${base}/json` }), /failed: (SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE)/);
    assert.deepEqual(await queryWeb({ url: `${base}/json`, insecure: true }), { ok: true });
  });

  it('a private CA is trusted through NODE_EXTRA_CA_CERTS, with verification on', async () => {
    const script = `import { queryPrometheus } from './src/analysis/providers/prometheus.ts';
      const r = await queryPrometheus({ address: ${JSON.stringify(base)}, query: 'up' });
      process.stdout.write(JSON.stringify(r.value));`;
    const { stdout } = await run(process.execPath, ['--input-type=module', '-e', script], { env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, cwd: join(import.meta.dirname, '../../..') });
    assert.equal(stdout, '[0.99]');
  });

  it('OAuth2 on Prometheus: one token request (HTTP Basic, client_credentials, the scopes), the token sent as Bearer and reused', async () => {
    const oauth2 = { tokenUrl: `${base}/token`, clientId: 'weir', clientSecret: SECRET, scopes: ['metrics.read', 'openid'] };
    const first = await queryPrometheus({ address: `${base}/protected`, query: 'up', insecure: true, oauth2, headers: { 'x-org': '1' } });
    assert.deepEqual(first.value, [0.99]);
    await queryPrometheus({ address: `${base}/protected`, query: 'up', insecure: true, oauth2 });
    assert.equal(tokenRequests.length, 1, 'the token is kept until it expires');
    const [request] = tokenRequests;
    assert.match(request?.authorization ?? '', /^Basic /);
    assert.equal(request?.form.get('grant_type'), 'client_credentials');
    assert.equal(request.form.get('scope'), 'metrics.read openid');
    assert.equal(request.form.get('client_secret'), null, 'the secret is not also in the body');
    assert.match(queries.at(-1)?.authorization ?? '', /^Bearer tok-\d+$/);
  });

  it('a token about to expire is fetched again; a server that takes credentials only in the body is asked that way', async () => {
    expiresIn = 5; // within the renewal margin
    const oauth2 = { tokenUrl: `${base}/token`, clientId: 'weir', clientSecret: SECRET };
    await queryPrometheus({ address: `${base}/protected`, query: 'up', insecure: true, oauth2 });
    await queryPrometheus({ address: `${base}/protected`, query: 'up', insecure: true, oauth2 });
    assert.equal(tokenRequests.length, 2);
    tokenRequests.length = 0;
    const post = { tokenUrl: `${base}/token-post`, clientId: 'weir', clientSecret: SECRET };
    assert.deepEqual(await queryWeb({ url: `${base}/protected/json`, insecure: true, oauth2: post }), { ok: true });
    assert.deepEqual(
      tokenRequests.map((r) => (r.authorization === undefined ? 'post' : 'basic')),
      ['basic', 'post'],
      'HTTP Basic first, then the body, as golang.org/x/oauth2 guesses',
    );
  });

  it('a refused client is an error naming the token endpoint and its answer, never the secret', async () => {
    const oauth2 = { tokenUrl: `${base}/token?tenant=a`, clientId: 'weir', clientSecret: `${SECRET}-wrong` };
    await assert.rejects(queryPrometheus({ address: `${base}/protected`, query: 'up', insecure: true, oauth2 }), (err: Error) => {
      assert.ok(err instanceof ProviderError);
      assert.match(err.message, /^OAuth2 token request to https:\/\/127\.0\.0\.1:\d+\/token answered HTTP 401: invalid_client$/);
      assert.ok(!err.message.includes(SECRET), 'the secret is not in the message');
      return true;
    });
    await assert.rejects(queryWeb({ url: `${base}/protected/json`, insecure: true, oauth2: { ...oauth2, tokenUrl: 'https://127.0.0.1:1/token' } }), /OAuth2 token request to https:\/\/127\.0\.0\.1:1\/token failed: ECONNREFUSED/);
  });
});
