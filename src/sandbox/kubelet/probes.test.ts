import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type { V1Container } from '@kubernetes/client-node';
import { probeSettings, resolvePort, runProbe } from './probes.ts';

const container: V1Container = {
  name: 'app',
  ports: [
    { name: 'http', containerPort: 8080 },
    { name: 'metrics', containerPort: 9090 },
  ],
};

describe('probeSettings', () => {
  it("uses Kubernetes' defaults for an empty probe", () => {
    assert.deepEqual(probeSettings({}), {
      initialDelayMs: 0,
      periodMs: 10_000,
      timeoutMs: 1_000,
      successThreshold: 1,
      failureThreshold: 3,
    });
  });

  it('converts the given seconds to milliseconds and keeps the thresholds', () => {
    assert.deepEqual(
      probeSettings({ initialDelaySeconds: 5, periodSeconds: 2, timeoutSeconds: 3, successThreshold: 2, failureThreshold: 6 }),
      { initialDelayMs: 5_000, periodMs: 2_000, timeoutMs: 3_000, successThreshold: 2, failureThreshold: 6 },
    );
  });

  it('overrides only the fields that are given', () => {
    assert.deepEqual(probeSettings({ periodSeconds: 1 }), {
      initialDelayMs: 0,
      periodMs: 1_000,
      timeoutMs: 1_000,
      successThreshold: 1,
      failureThreshold: 3,
    });
    assert.equal(probeSettings({ failureThreshold: 1 }).failureThreshold, 1);
    assert.equal(probeSettings({ initialDelaySeconds: 0 }).initialDelayMs, 0);
  });
});

describe('resolvePort', () => {
  it('takes a number as is', () => {
    assert.equal(resolvePort(8080, container), 8080);
    assert.equal(resolvePort(1234, { name: 'bare' }), 1234);
  });

  it('reads a numeric string as a number', () => {
    assert.equal(resolvePort('8081', container), 8081);
    assert.equal(resolvePort('80', { name: 'bare' }), 80);
  });

  it("looks a name up among the container's ports", () => {
    assert.equal(resolvePort('http', container), 8080);
    assert.equal(resolvePort('metrics', container), 9090);
  });

  it('returns undefined for an unknown name, a container without ports, or no port', () => {
    assert.equal(resolvePort('grpc', container), undefined);
    assert.equal(resolvePort('http', { name: 'bare' }), undefined);
    assert.equal(resolvePort(undefined, container), undefined);
  });
});

/** A port nothing listens on: bound once by the OS, then released. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  return port;
}

describe('runProbe', () => {
  let server: Server;
  let port: number;
  const seen: { path: string; header: string | undefined }[] = [];

  before(async () => {
    server = createServer((req, res) => {
      seen.push({ path: req.url ?? '', header: req.headers['x-probe'] as string | undefined });
      switch (req.url) {
        case '/':
        case '/healthz':
          res.writeHead(200).end('ok');
          return;
        case '/moved':
          res.writeHead(302, { location: '/healthz' }).end();
          return;
        case '/missing':
          res.writeHead(404).end();
          return;
        case '/needs-header':
          res.writeHead(req.headers['x-probe'] === 'yes' ? 204 : 401).end();
          return;
        case '/hang':
          return; // never answers
        default:
          res.writeHead(500).end('broken');
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  });

  after(async () => {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => { resolve(); }));
  });

  const http = (path: string | undefined, probePort: number | string = port) => ({
    httpGet: { port: probePort, ...(path === undefined ? {} : { path }) },
  });

  describe('httpGet', () => {
    it('succeeds on 200', async () => {
      assert.deepEqual(await runProbe(http('/healthz'), container, '127.0.0.1', 1000), { ok: true });
      assert.equal(seen.at(-1)?.path, '/healthz');
    });

    it('requests / when no path is given', async () => {
      assert.deepEqual(await runProbe(http(undefined), container, '127.0.0.1', 1000), { ok: true });
      assert.equal(seen.at(-1)?.path, '/');
    });

    it('counts a redirect as success, like the kubelet', async () => {
      assert.deepEqual(await runProbe(http('/moved'), container, '127.0.0.1', 1000), { ok: true });
    });

    it('fails on 500 and 404 with the status code in the reason', async () => {
      assert.deepEqual(await runProbe(http('/fail'), container, '127.0.0.1', 1000), {
        ok: false,
        reason: 'HTTP probe failed with statuscode: 500',
      });
      assert.deepEqual(await runProbe(http('/missing'), container, '127.0.0.1', 1000), {
        ok: false,
        reason: 'HTTP probe failed with statuscode: 404',
      });
    });

    it('sends the configured headers', async () => {
      const withHeader = { httpGet: { port, path: '/needs-header', httpHeaders: [{ name: 'X-Probe', value: 'yes' }] } };
      assert.deepEqual(await runProbe(withHeader, container, '127.0.0.1', 1000), { ok: true });
      assert.equal(seen.at(-1)?.header, 'yes');
      assert.equal((await runProbe(http('/needs-header'), container, '127.0.0.1', 1000)).ok, false);
    });

    it('resolves a named port from the container', async () => {
      const named: V1Container = { name: 'app', ports: [{ name: 'web', containerPort: port }] };
      assert.deepEqual(await runProbe(http('/healthz', 'web'), named, '127.0.0.1', 1000), { ok: true });
    });

    it('fails without a request when the named port is unknown', async () => {
      const before = seen.length;
      assert.deepEqual(await runProbe(http('/healthz', 'nope'), container, '127.0.0.1', 1000), { ok: false, reason: 'unknown probe port nope' });
      assert.equal(seen.length, before);
    });

    it('fails when the connection is refused', async () => {
      const closed = await closedPort();
      const outcome = await runProbe(http('/healthz', closed), container, '127.0.0.1', 1000);
      assert.ok(!outcome.ok);
      assert.match(outcome.reason, new RegExp(`^Get http://127\\.0\\.0\\.1:${closed}/healthz: .*ECONNREFUSED`));
    });

    it('fails when the server does not answer within the timeout', async () => {
      const outcome = await runProbe(http('/hang'), container, '127.0.0.1', 100);
      assert.ok(!outcome.ok);
      assert.match(outcome.reason, /^Get http:\/\/127\.0\.0\.1:\d+\/hang: timeout$/);
    });
  });

  describe('tcpSocket', () => {
    it('succeeds when the port accepts connections', async () => {
      assert.deepEqual(await runProbe({ tcpSocket: { port } }, container, '127.0.0.1', 1000), { ok: true });
    });

    it('resolves a named port from the container', async () => {
      const named: V1Container = { name: 'app', ports: [{ name: 'web', containerPort: port }] };
      assert.deepEqual(await runProbe({ tcpSocket: { port: 'web' } }, named, '127.0.0.1', 1000), { ok: true });
    });

    it('fails when the connection is refused', async () => {
      const closed = await closedPort();
      const outcome = await runProbe({ tcpSocket: { port: closed } }, container, '127.0.0.1', 1000);
      assert.ok(!outcome.ok);
      assert.match(outcome.reason, new RegExp(`^dial tcp 127\\.0\\.0\\.1:${closed}: .*ECONNREFUSED`));
    });

    it('fails on an unknown named port', async () => {
      assert.deepEqual(await runProbe({ tcpSocket: { port: 'nope' } }, container, '127.0.0.1', 1000), {
        ok: false,
        reason: 'unknown probe port nope',
      });
    });
  });

  it('treats probes it cannot run (exec) as passing', async () => {
    assert.deepEqual(await runProbe({ exec: { command: ['true'] } }, container, '127.0.0.1', 1000), { ok: true });
  });
});
