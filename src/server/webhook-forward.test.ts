import assert from 'node:assert/strict';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { FORWARDED_HEADER, forwardWebhookToLeader } from './webhook-forward.ts';

interface Seen {
  headers: IncomingMessage['headers'];
  body: string;
}

function listen(server: Server): Promise<string> {
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`);
    });
  });
}

describe('forwardWebhookToLeader', () => {
  const seen: Seen[] = [];
  const leader = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      seen.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') });
      res.writeHead(req.url === '/hooks/git' ? 202 : 404, { 'content-type': 'application/json' }).end('{"triggered":1}');
    });
  });
  let leaderUrl = '';
  let target: string | undefined;
  const standby = createServer((req, res) => {
    void forwardWebhookToLeader(req, res, { leaderUrl: target, identity: 'standby-1', timeoutMs: 2000 });
  });
  let standbyUrl = '';

  before(async () => {
    leaderUrl = await listen(leader);
    standbyUrl = await listen(standby);
  });
  after(() => {
    leader.close();
    standby.close();
  });

  it('passes the push on with its body and signature, marked, and relays the answer', async () => {
    target = `${leaderUrl}/`;
    const body = JSON.stringify({ ref: 'refs/heads/main' });
    const res = await fetch(`${standbyUrl}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-hub-signature-256': 'sha256=abc', 'x-github-event': 'push' }, body });
    assert.equal(res.status, 202);
    assert.equal(await res.text(), '{"triggered":1}');
    const got = seen.at(-1);
    assert.ok(got);
    assert.equal(got.body, body);
    assert.equal(got.headers['x-hub-signature-256'], 'sha256=abc');
    assert.equal(got.headers['x-github-event'], 'push');
    assert.equal(got.headers[FORWARDED_HEADER], 'standby-1');
  });

  it('never forwards twice: a forwarded request reaching a standby is 503', async () => {
    target = leaderUrl;
    const before = seen.length;
    const res = await fetch(`${standbyUrl}/hooks/git`, { method: 'POST', headers: { [FORWARDED_HEADER]: 'other' }, body: '{}' });
    assert.equal(res.status, 503);
    assert.match(await res.text(), /already forwarded once/);
    assert.equal(seen.length, before);
  });

  it('503 when the leader publishes no address', async () => {
    target = undefined;
    const res = await fetch(`${standbyUrl}/hooks/git`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 503);
    assert.match(await res.text(), /--advertise-url/);
  });

  it('502 naming the leader when it cannot be reached', async () => {
    const closed = createServer();
    const url = await listen(closed);
    closed.close();
    target = url;
    const res = await fetch(`${standbyUrl}/hooks/git`, { method: 'POST', body: '{}' });
    assert.equal(res.status, 502);
    assert.match(await res.text(), new RegExp(`could not reach the leader at ${url}/hooks/git`));
  });
});
