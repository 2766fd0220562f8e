// The sandbox Git server's push webhook: the event's shape and signature
// (checked by the controller's own verifier), and a real push through the
// server delivering it.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { payloadRepositoryUrls, verifyWebhook } from '../server/git-webhook.ts';
import { waitFor } from '../util/wait.ts';
import { createBareRepository, startGitServer } from './git-server.ts';
import { installPushWebhook, parseRefUpdates, signedPushEvent } from './push-webhook.ts';

const OLD = '0'.repeat(40);
const NEW = 'a'.repeat(40);

describe('push webhook', () => {
  it('parses the ref updates post-receive gets on stdin', () => {
    assert.deepEqual(parseRefUpdates(`${OLD} ${NEW} refs/heads/main\n\n`), [{ before: OLD, after: NEW, ref: 'refs/heads/main' }]);
    assert.deepEqual(parseRefUpdates('garbage\n'), []);
  });

  it('signs a GitHub push event the controller verifies and whose repository it finds', () => {
    const { body, signature } = signedPushEvent({ before: OLD, after: NEW, ref: 'refs/heads/main' }, 'http://127.0.0.1:1234/demo.git', 's3cret');
    assert.deepEqual(verifyWebhook({ 'x-hub-signature-256': signature }, Buffer.from(body), 's3cret'), { ok: true, provider: 'github' });
    assert.equal(verifyWebhook({ 'x-hub-signature-256': signature }, Buffer.from(body), 'other').ok, false);
    assert.deepEqual(payloadRepositoryUrls(JSON.parse(body)), ['http://127.0.0.1:1234/demo.git']);
  });

  it('is POSTed after a push to the Git server, signed', async (t) => {
    const work = await mkdtemp(path.join(os.tmpdir(), 'weir-push-webhook-'));
    t.after(() => rm(work, { recursive: true, force: true }));
    const received: { headers: Record<string, string | string[] | undefined>; body: Buffer }[] = [];
    const receiver = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        received.push({ headers: req.headers, body: Buffer.concat(chunks) });
        res.writeHead(202).end();
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
    t.after(() => new Promise<void>((resolve) => receiver.close(() => { resolve(); })));
    const hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks/git`;

    const server = await startGitServer({ root: path.join(work, 'repos') });
    t.after(() => server.close());
    const repoDir = await createBareRepository(server.root, 'apps');
    const cloneUrl = `${server.url}/apps.git`;
    await installPushWebhook(repoDir, cloneUrl, { url: hookUrl, secret: 'push-secret' });

    const dir = path.join(work, 'local');
    await git.init({ fs, dir, defaultBranch: 'main' });
    await writeFile(path.join(dir, 'a.yaml'), 'a: 1\n');
    await git.add({ fs, dir, filepath: 'a.yaml' });
    const sha = await git.commit({ fs, dir, message: 'a', author: { name: 'T', email: 't@weir.invalid' } });
    const pushed = await git.push({ fs, http, dir, url: cloneUrl, ref: 'main' });
    assert.ok(pushed.ok);

    const delivery = await waitFor(() => received[0], { what: 'the webhook delivery', timeoutMs: 10_000, intervalMs: 50 });
    assert.equal(delivery.headers['x-github-event'], 'push');
    assert.deepEqual(verifyWebhook(delivery.headers, delivery.body, 'push-secret'), { ok: true, provider: 'github' });
    const event = JSON.parse(delivery.body.toString()) as { ref: string; after: string; repository: { clone_url: string } };
    assert.equal(event.ref, 'refs/heads/main');
    assert.equal(event.after, sha);
    assert.equal(event.repository.clone_url, cloneUrl);
  });
});
