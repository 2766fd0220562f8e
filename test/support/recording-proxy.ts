// A transparent proxy in front of the sandbox's API server that records every
// request one client sends (method, path, arrival time), so a test can tell
// exactly what one controller process wrote and when, from outside it.
// Plain HTTP on loopback towards the client, TLS towards the API server.
import { createServer, type IncomingMessage, type Server } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { readFile, writeFile } from 'node:fs/promises';
import { dump } from 'js-yaml';
import type { TestSandbox } from './sandbox.ts';

export interface RecordedRequest {
  method: string;
  path: string;
  /** Date.now() when the request arrived. */
  at: number;
}

export interface RecordingProxy {
  url: string;
  /** A kubeconfig (file) that reaches the API server through this proxy with `token`. */
  kubeconfig: string;
  requests: RecordedRequest[];
  /** Requests other than GET/HEAD/OPTIONS (watches are GETs). */
  writes(): RecordedRequest[];
  close(): Promise<void>;
}

export async function startRecordingProxy(sb: TestSandbox, opts: { name: string; token?: string }): Promise<RecordingProxy> {
  const cluster = sb.kc.getCurrentCluster();
  if (!cluster) throw new Error('the sandbox kubeconfig has no cluster');
  const upstream = new URL(cluster.server);
  const ca = cluster.caFile ? await readFile(cluster.caFile) : cluster.caData ? Buffer.from(cluster.caData, 'base64') : undefined;
  const token = opts.token ?? sb.kc.getCurrentUser()?.token;
  if (!token) throw new Error('no token for the proxied kubeconfig');
  const requests: RecordedRequest[] = [];
  const server: Server = createServer((req: IncomingMessage, res) => {
    requests.push({ method: req.method ?? '', path: req.url ?? '', at: Date.now() });
    const up = httpsRequest(
      {
        hostname: upstream.hostname,
        port: upstream.port,
        path: req.url,
        method: req.method,
        headers: { ...req.headers, host: upstream.host },
        ...(ca ? { ca } : {}),
      },
      (upRes) => {
        res.writeHead(upRes.statusCode ?? 502, upRes.headers);
        // A watch's headers come long before its first event: pass them on now, as the API server does.
        res.flushHeaders();
        upRes.pipe(res);
      },
    );
    up.on('error', () => {
      res.destroy();
    });
    res.on('close', () => {
      up.destroy();
    });
    req.pipe(up);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  const url = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  const kubeconfig = `${sb.state.dir}/proxy-${opts.name}.kubeconfig`;
  await writeFile(
    kubeconfig,
    dump({
      apiVersion: 'v1',
      kind: 'Config',
      // Plain HTTP to the loopback proxy; the proxy verifies the API server's certificate.
      clusters: [{ name: 'proxy', cluster: { server: url, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'user', user: { token } }],
      contexts: [{ name: 'proxy', context: { cluster: 'proxy', user: 'user' } }],
      'current-context': 'proxy',
    }),
    { mode: 0o600 },
  );
  return {
    url,
    kubeconfig,
    requests,
    writes: () => requests.filter((r) => !['GET', 'HEAD', 'OPTIONS'].includes(r.method)),
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => {
          resolve();
        });
      }),
  };
}
