// A small HTTP(S) GET used for readiness probes of the sandbox's servers.
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';

export interface ProbeResult {
  status: number;
  body: string;
}

export function httpGet(url: string, opts: { ca?: Buffer | string; token?: string; timeoutMs?: number } = {}): Promise<ProbeResult> {
  const target = new URL(url);
  const request = target.protocol === 'https:' ? httpsRequest : httpRequest;
  return new Promise((resolve, reject) => {
    const req = request(
      target,
      {
        method: 'GET',
        timeout: opts.timeoutMs ?? 2000,
        headers: opts.token ? { authorization: `Bearer ${opts.token}` } : {},
        ...(opts.ca ? { ca: opts.ca } : {}),
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          resolve({ status: res.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') });
        });
        res.on('error', reject);
      },
    );
    req.on('timeout', () => req.destroy(new Error(`GET ${target.origin}${target.pathname} timed out`)));
    req.on('error', reject);
    req.end();
  });
}
