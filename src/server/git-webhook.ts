// The Git push webhook (POST /hooks/git): GitHub's X-Hub-Signature-256 HMAC
// or GitLab's X-Gitlab-Token, both compared in constant time. A verified push
// names the repository; the caller fetches the GitSources that point at it.
import { createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_WEBHOOK_BODY = 5 * 1024 * 1024;

function safeEqual(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

export type Verification = { ok: true; provider: 'github' | 'gitlab' } | { ok: false; reason: string };

/** Checks a webhook request's signature against `secret`. */
export function verifyWebhook(headers: Record<string, string | string[] | undefined>, body: Buffer, secret: string): Verification {
  const header = (name: string): string | undefined => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const signature = header('x-hub-signature-256');
  if (signature !== undefined) {
    const expected = `sha256=${createHmac('sha256', secret).update(body).digest('hex')}`;
    return safeEqual(Buffer.from(signature), Buffer.from(expected)) ? { ok: true, provider: 'github' } : { ok: false, reason: 'X-Hub-Signature-256 does not match' };
  }
  const token = header('x-gitlab-token');
  if (token !== undefined) {
    // Hash both sides so the comparison takes the same time whatever the lengths.
    const digest = (s: string): Buffer => createHmac('sha256', 'weir').update(s).digest();
    return safeEqual(digest(token), digest(secret)) ? { ok: true, provider: 'gitlab' } : { ok: false, reason: 'X-Gitlab-Token does not match' };
  }
  return { ok: false, reason: 'no X-Hub-Signature-256 or X-Gitlab-Token header' };
}

/** Repository URLs a push payload names (GitHub and GitLab shapes). */
export function payloadRepositoryUrls(payload: unknown): string[] {
  if (typeof payload !== 'object' || payload === null) return [];
  const p = payload as { repository?: Record<string, unknown>; project?: Record<string, unknown> };
  const candidates = [
    p.repository?.clone_url,
    p.repository?.html_url,
    p.repository?.git_http_url,
    p.repository?.url,
    p.project?.git_http_url,
    p.project?.web_url,
    p.project?.http_url,
  ];
  return candidates.filter((u): u is string => typeof u === 'string' && u.length > 0);
}

/** Compares repository URLs ignoring credentials, case of the host, a trailing ".git" and "/". */
export function normalizeRepoUrl(url: string): string {
  try {
    const u = new URL(url);
    const path = u.pathname.replace(/\/+$/, '').replace(/\.git$/, '');
    return `${u.protocol}//${u.host.toLowerCase()}${path}`;
  } catch {
    return url.replace(/\/+$/, '').replace(/\.git$/, '');
  }
}

export interface WebhookHandlerOptions {
  secret: string | undefined;
  /** Triggers fetches for the sources at these URLs; returns how many sources matched. */
  onPush: (urls: string[]) => number;
  log: (level: 'info' | 'warn', fields: Record<string, unknown>, message: string) => void;
}

export function gitWebhookHandler(opts: WebhookHandlerOptions): (req: IncomingMessage, res: ServerResponse) => Promise<void> {
  return async (req, res) => {
    if (req.method !== 'POST') {
      res.writeHead(405, { allow: 'POST' }).end();
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > MAX_WEBHOOK_BODY) {
        res.writeHead(413).end('payload too large\n');
        return;
      }
      chunks.push(chunk);
    }
    const body = Buffer.concat(chunks);
    if (opts.secret === undefined) {
      opts.log('warn', {}, 'webhook refused: no webhook secret configured');
      res.writeHead(401).end('webhook secret not configured\n');
      return;
    }
    const verified = verifyWebhook(req.headers, body, opts.secret);
    if (!verified.ok) {
      opts.log('warn', { reason: verified.reason, remote: req.socket.remoteAddress }, 'webhook refused');
      res.writeHead(401).end('unauthorized\n');
      return;
    }
    let payload: unknown;
    try {
      payload = JSON.parse(body.toString('utf8'));
    } catch {
      res.writeHead(400).end('body is not JSON\n');
      return;
    }
    const urls = payloadRepositoryUrls(payload);
    const matched = opts.onPush(urls);
    opts.log('info', { provider: verified.provider, repositories: urls, sources: matched }, 'webhook push received');
    res.writeHead(202, { 'content-type': 'application/json' }).end(JSON.stringify({ sources: matched }) + '\n');
  };
}
