// A TCP relay on loopback in front of a real server (the sandbox's
// Prometheus), which a test can take down and bring back on the same port:
// clients see exactly what they see when the server itself is down
// (connection refused), without stopping a server other tests share.
import { createConnection, createServer, type Server, type Socket } from 'node:net';

export interface TcpRelay {
  /** http://127.0.0.1:<port>: the same port across stop and start. */
  readonly url: string;
  readonly port: number;
  /** Stops listening and cuts every open connection. */
  stop(): Promise<void>;
  /** Listens again on the same port. */
  start(): Promise<void>;
}

export async function startTcpRelay(target: string): Promise<TcpRelay> {
  const upstream = new URL(target);
  const upstreamPort = Number(upstream.port || (upstream.protocol === 'https:' ? 443 : 80));
  const sockets = new Set<Socket>();
  let server: Server | undefined;
  let port = 0;
  const listen = async (): Promise<void> => {
    const s = createServer((client) => {
      const up = createConnection({ host: upstream.hostname, port: upstreamPort });
      for (const sock of [client, up]) {
        sockets.add(sock);
        sock.on('close', () => sockets.delete(sock));
        sock.on('error', () => {
          client.destroy();
          up.destroy();
        });
      }
      client.pipe(up).pipe(client);
    });
    await new Promise<void>((resolve, reject) => {
      s.once('error', reject);
      s.listen(port, '127.0.0.1', () => {
        resolve();
      });
    });
    const address = s.address();
    if (address === null || typeof address === 'string') throw new Error('the relay has no TCP address');
    port = address.port;
    server = s;
  };
  await listen();
  return {
    get url() {
      return `http://127.0.0.1:${port}`;
    },
    get port() {
      return port;
    },
    async stop() {
      const s = server;
      server = undefined;
      for (const sock of sockets) sock.destroy();
      if (s !== undefined) {
        await new Promise<void>((resolve) => {
          s.close(() => {
            resolve();
          });
        });
      }
    },
    async start() {
      if (server === undefined) await listen();
    },
  };
}
