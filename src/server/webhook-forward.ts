// A standby replica's POST /hooks/git: only the leader fetches, so a standby
// hands the push on to the leader, whose address the leader publishes on the
// Lease (annotation weir.dev/webhook-url). The request is passed on as it came
// (body and signature headers), marked so it is never passed on twice, and the
// leader's answer is relayed. Without a leader address: 503 (the leader still
// polls at each interval).
import type { IncomingMessage, ServerResponse } from 'node:http';

/** Lease annotation: where the leader's HTTP server is reached (its /hooks/git). */
export const WEBHOOK_URL_ANNOTATION = 'weir.dev/webhook-url';
/** Set on a forwarded request: a replica that is not the leader answers it 503 instead of forwarding again. */
export const FORWARDED_HEADER = 'x-weir-forwarded-by';

/** Headers not passed on: hop-by-hop ones and those fetch sets itself. */
const DROPPED = new Set(['host', 'connection', 'content-length', 'transfer-encoding', 'keep-alive', 'upgrade', 'expect']);

const MAX_BODY_BYTES = 1024 * 1024;

async function readBody(req: IncomingMessage): Promise<Buffer | undefined> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    const buf = chunk as Buffer;
    size += buf.length;
    if (size > MAX_BODY_BYTES) return undefined;
    chunks.push(buf);
  }
  return Buffer.concat(chunks);
}

export interface ForwardOptions {
  /** The leader's base URL, when it published one. */
  leaderUrl: string | undefined;
  /** This replica, for the forwarded-by header and messages. */
  identity: string;
  timeoutMs?: number;
}

function refuse(res: ServerResponse, message: string): void {
  res.writeHead(503, { 'content-type': 'text/plain', 'retry-after': '5' }).end(`${message}\n`);
}

/** Answers a webhook on a standby: forwarded to the leader, or 503 with why not. */
export async function forwardWebhookToLeader(req: IncomingMessage, res: ServerResponse, opts: ForwardOptions): Promise<void> {
  if (req.headers[FORWARDED_HEADER] !== undefined) {
    refuse(res, 'standby replica: not the leader (already forwarded once); the leader still polls at each interval');
    return;
  }
  if (opts.leaderUrl === undefined || opts.leaderUrl === '') {
    refuse(res, 'standby replica: the leader publishes no webhook address (--advertise-url); it still polls at each interval');
    return;
  }
  const body = await readBody(req);
  if (body === undefined) {
    res.writeHead(413, { 'content-type': 'text/plain' }).end('payload too large\n');
    return;
  }
  const headers: Record<string, string> = { [FORWARDED_HEADER]: opts.identity };
  for (const [name, value] of Object.entries(req.headers)) {
    if (value === undefined || DROPPED.has(name)) continue;
    headers[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  const target = `${opts.leaderUrl.replace(/\/+$/, '')}/hooks/git`;
  try {
    const answer = await fetch(target, { method: req.method ?? 'POST', headers, body, signal: AbortSignal.timeout(opts.timeoutMs ?? 5000) });
    const text = await answer.text();
    res.writeHead(answer.status, { 'content-type': answer.headers.get('content-type') ?? 'text/plain' }).end(text);
  } catch (err) {
    res.writeHead(502, { 'content-type': 'text/plain' }).end(`standby replica: could not reach the leader at ${target}: ${err instanceof Error ? err.message : String(err)}\n`);
  }
}
