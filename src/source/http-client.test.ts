// The transport's failure modes: silent servers, stalled bodies, closed
// ports, authentication, aborts; and that no message carries a credential.
import assert from 'node:assert/strict';
import net, { type AddressInfo, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { GitSourceError } from './errors.ts';
import { GitMirror } from './git-mirror.ts';
import { createGitHttpClient, GitTransportError, redactUrl } from './http-client.ts';
import { resolveRemote } from './remote.ts';
import { startTestServer, TempDirs, WorkRepo, type TestServer } from './testkit.ts';

const temp = new TempDirs();
after(() => temp.cleanup());

/** A TCP server on 127.0.0.1 that accepts connections and then does `onConnection` (by default: nothing, ever). */
async function rawServer(onConnection: (socket: Socket) => void = () => undefined): Promise<{ url: string; close(): Promise<void> }> {
  const sockets = new Set<Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
    socket.on('error', () => undefined);
    onConnection(socket);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/repo.git`,
    close: async () => {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => {
        server.close(() => {
          resolve();
        });
      });
    },
  };
}

async function freePort(): Promise<number> {
  const server = net.createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => {
    server.close(() => {
      resolve();
    });
  });
  return port;
}

async function mirror(): Promise<GitMirror> {
  return new GitMirror({ cacheDir: await temp.make('weir-cache-') });
}

describe('timeouts', () => {
  it('a server that accepts the connection but never answers: resolveRef fails within the timeout', async () => {
    const silent = await rawServer();
    try {
      const m = await mirror();
      const started = Date.now();
      await assert.rejects(m.resolveRef({ url: silent.url, timeoutMs: 300 }, 'main'), (err: unknown) => {
        assert.ok(err instanceof GitSourceError);
        assert.equal(err.kind, 'timeout');
        assert.equal(err.retryable, true);
        assert.match(err.message, /^listing the refs of http:\/\/127\.0\.0\.1:\d+\/repo\.git: GET .*info\/refs\?service=git-upload-pack: timed out after 300 ms \(no response\)/);
        return true;
      });
      const elapsed = Date.now() - started;
      assert.ok(elapsed >= 290 && elapsed < 2000, `rejected after ${elapsed} ms`);
      assert.equal(m.stats.failures, 1);
    } finally {
      await silent.close();
    }
  });

  it('a server that sends the head and then stalls the body times out too', async () => {
    const stalling = await rawServer((socket) => {
      socket.once('data', () => {
        socket.write(
          'HTTP/1.1 200 OK\r\nContent-Type: application/x-git-upload-pack-advertisement\r\nContent-Length: 1000\r\n\r\n001e# service=git-upload-pack\n',
        );
      });
    });
    try {
      const m = await mirror();
      const started = Date.now();
      await assert.rejects(m.resolveRef({ url: stalling.url, timeoutMs: 300 }, 'main'), /timed out after 300 ms \(response incomplete\)/);
      assert.ok(Date.now() - started < 2000);
    } finally {
      await stalling.close();
    }
  });

  it('an abort signal stops a request at once', async () => {
    const silent = await rawServer();
    try {
      const controller = new AbortController();
      const m = new GitMirror({ cacheDir: await temp.make('weir-cache-'), signal: controller.signal });
      const pending = m.resolveRef({ url: silent.url, timeoutMs: 60_000 }, 'main');
      setTimeout(() => {
        controller.abort(new Error('shutting down'));
      }, 50);
      await assert.rejects(pending, (err: unknown) => {
        assert.ok(err instanceof GitSourceError);
        assert.equal(err.kind, 'aborted');
        assert.equal(err.retryable, false);
        return true;
      });
    } finally {
      await silent.close();
    }
  });
});

describe('unreachable and failing servers', () => {
  it('an unreachable port is a clear, retryable error', async () => {
    const port = await freePort();
    const m = await mirror();
    await assert.rejects(m.resolveRef({ url: `http://127.0.0.1:${port}/apps.git`, timeoutMs: 2000 }, 'main'), (err: unknown) => {
      assert.ok(err instanceof GitSourceError);
      assert.equal(err.kind, 'unreachable');
      assert.equal(err.retryable, true);
      assert.match(err.message, new RegExp(`127\\.0\\.0\\.1:${port}/apps\\.git.*connection refused .*\\(ECONNREFUSED\\)`));
      return true;
    });
  });

  it('a server closing the connection without answering is a network error', async () => {
    const rude = await rawServer((socket) => {
      socket.once('data', () => socket.destroy());
    });
    try {
      const m = await mirror();
      await assert.rejects(m.resolveRef({ url: rude.url, timeoutMs: 2000 }, 'main'), (err: unknown) => {
        assert.ok(err instanceof GitSourceError);
        assert.equal(err.kind, 'network');
        assert.match(err.message, /closed the connection without answering|connection reset/);
        return true;
      });
    } finally {
      await rude.close();
    }
  });

  it('an HTTP 500 is a retryable server error with the answer in the message', async () => {
    const failing = await rawServer((socket) => {
      socket.once('data', () => {
        socket.end('HTTP/1.1 500 Internal Server Error\r\nContent-Type: text/plain\r\nContent-Length: 12\r\nConnection: close\r\n\r\ndisk on fire');
      });
    });
    try {
      const m = await mirror();
      await assert.rejects(m.resolveRef({ url: failing.url, timeoutMs: 2000 }, 'main'), (err: unknown) => {
        assert.ok(err instanceof GitSourceError);
        assert.equal(err.kind, 'server');
        assert.equal(err.retryable, true);
        assert.match(err.message, /the server answered HTTP 500 Internal Server Error: disk on fire/);
        return true;
      });
    } finally {
      await failing.close();
    }
  });

  it('a server that does not speak smart HTTP is a protocol error', async () => {
    const html = await rawServer((socket) => {
      socket.once('data', () => {
        socket.end('HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Length: 13\r\nConnection: close\r\n\r\n<html></html>');
      });
    });
    try {
      const m = await mirror();
      await assert.rejects(m.resolveRef({ url: html.url, timeoutMs: 2000 }, 'main'), (err: unknown) => {
        assert.ok(err instanceof GitSourceError);
        assert.equal(err.kind, 'protocol');
        return true;
      });
    } finally {
      await html.close();
    }
  });
});

describe('basic auth', () => {
  const auth = { username: 'weir', password: 's3cret-Passw0rd' };
  let srv: TestServer;
  let url: string;
  let sha: string;

  before(async () => {
    srv = await startTestServer(temp, auth);
    url = await srv.server.createRepository('private');
    const work = await WorkRepo.create(temp, url.replace('http://', `http://${auth.username}:${auth.password}@`));
    sha = await work.commit({ 'a.yaml': 'a: 1\n' }, 'one');
    await work.push();
  });
  after(() => srv.close());

  it('wrong credentials: a clear 401 error that does not contain the password', async () => {
    const m = await mirror();
    const wrong = 'wr0ng-Passw0rd';
    await assert.rejects(m.resolveRef({ url, auth: { username: 'weir', password: wrong } }, 'main'), (err: unknown) => {
      assert.ok(err instanceof GitSourceError);
      assert.equal(err.kind, 'auth');
      assert.equal(err.retryable, false);
      assert.match(err.message, /the credentials were rejected \(check the secret referenced by secretRef\) \(HTTP 401/);
      assert.ok(!err.message.includes(wrong));
      assert.ok(!JSON.stringify(err, Object.getOwnPropertyNames(err)).includes(wrong));
      return true;
    });
    // Exactly one request: credentials are sent up front, a rejection is not retried.
    assert.equal(m.stats.requests, 1);
  });

  it('no credentials: says that credentials are needed', async () => {
    const m = await mirror();
    await assert.rejects(m.resolveRef({ url }, 'main'), /requires credentials and none are configured/);
  });

  it('right credentials (password, token, or in the URL) work, in one request per advertisement', async () => {
    const m = await mirror();
    assert.equal(await m.resolveRef({ url, auth }, 'main'), sha);
    assert.equal(m.stats.requests, 1, 'no 401 round trip');
    assert.equal(await m.resolveRef({ url, auth: { username: 'weir', token: auth.password } }, 'main'), sha);
    assert.equal(await m.resolveRef({ url: url.replace('http://', `http://weir:${auth.password}@`) }, 'main'), sha);
    await m.fetch({ url, auth }, 'main', sha);
    assert.deepEqual((await m.readFiles({ url, auth }, sha, ['.'])).files, [{ path: 'a.yaml', content: 'a: 1\n' }]);
  });

  it('a token alone is sent as basic auth with username x-access-token', () => {
    const r = resolveRemote({ url: 'https://git.example.com/org/repo.git', auth: { token: 'tok-123456' } });
    assert.equal(r.headers.authorization, `Basic ${Buffer.from('x-access-token:tok-123456').toString('base64')}`);
    assert.deepEqual(r.secrets, ['tok-123456']);
  });
});

describe('URLs and counters', () => {
  it('redactUrl strips credentials; resolveRemote keeps them out of the URL and cache key', () => {
    assert.equal(redactUrl('https://user:pa55@git.example.com/a.git'), 'https://git.example.com/a.git');
    assert.equal(redactUrl('https://git.example.com/a.git'), 'https://git.example.com/a.git');
    assert.equal(redactUrl('bad url://user:pw@host/x'), 'bad url://host/x');
    const r = resolveRemote({ url: 'https://user:pa55@git.example.com/org/a.git/' });
    assert.equal(r.url, 'https://git.example.com/org/a.git');
    assert.equal(r.key, resolveRemote({ url: 'https://git.example.com/org/a.git' }).key);
    assert.deepEqual(r.secrets, ['pa55']);
    assert.throws(() => resolveRemote({ url: 'ssh://git@host/x.git' }), /only http:\/\/ and https:\/\//);
    assert.throws(() => resolveRemote({ url: 'https://u:pw@' }), (err: unknown) => err instanceof Error && !err.message.includes('pw'));
  });

  it('the client counts requests and bytes, and errors name the URL without credentials', async () => {
    const port = await freePort();
    const client = createGitHttpClient({ timeoutMs: 1000 });
    await assert.rejects(client.request({ url: `http://bob:hunter22@127.0.0.1:${port}/x.git/info/refs` }), (err: unknown) => {
      assert.ok(err instanceof GitTransportError);
      assert.equal(err.kind, 'unreachable');
      assert.ok(!err.message.includes('hunter22') && !err.message.includes('bob'));
      assert.equal(err.url, `http://127.0.0.1:${port}/x.git/info/refs`);
      return true;
    });
    assert.deepEqual(client.stats, { requests: 1, gets: 1, posts: 0, bytesSent: 0, bytesReceived: 0, failures: 1 });
  });
});
