// The HTTP transport isomorphic-git talks to Git servers through.
//
// isomorphic-git's own Node transport has no timeouts at all: a server that
// accepts the connection and never answers hangs a fetch forever. This one
// gives every request a deadline that covers connecting, the response head
// and the whole body (isomorphic-git reads the body after `request` has
// resolved, so the deadline stays armed until the body ends), honours an
// AbortSignal, counts requests and bytes, and turns network failures into
// messages that say what happened without credentials in them.
import { Buffer } from 'node:buffer';
import http, { type IncomingMessage } from 'node:http';
import https from 'node:https';
import type { GitHttpRequest, GitHttpResponse, HttpClient } from 'isomorphic-git';

/** Default deadline of one HTTP request (connect, response head and body). */
export const DEFAULT_HTTP_TIMEOUT_MS = 30_000;
/** Redirects followed for GET requests (a renamed repository answers 301). */
const MAX_REDIRECTS = 5;

/** Counters for tests and benchmarks. Mutable: one object can be shared by many clients. */
export interface HttpStats {
  /** Requests sent (each redirect hop counts). */
  requests: number;
  /** GET requests (ref advertisements). */
  gets: number;
  /** POST requests (upload-pack / receive-pack exchanges). */
  posts: number;
  /** Request body bytes sent. */
  bytesSent: number;
  /** Response body bytes received. */
  bytesReceived: number;
  /** Requests that failed at the transport level (timeout, refused, reset, aborted). */
  failures: number;
}

export function newHttpStats(): HttpStats {
  return { requests: 0, gets: 0, posts: 0, bytesSent: 0, bytesReceived: 0, failures: 0 };
}

/** A copy of `stats`, e.g. to compute what one operation cost. */
export function snapshotHttpStats(stats: HttpStats): HttpStats {
  return { ...stats };
}

/** `after - before`, field by field. */
export function diffHttpStats(after: HttpStats, before: HttpStats): HttpStats {
  return {
    requests: after.requests - before.requests,
    gets: after.gets - before.gets,
    posts: after.posts - before.posts,
    bytesSent: after.bytesSent - before.bytesSent,
    bytesReceived: after.bytesReceived - before.bytesReceived,
    failures: after.failures - before.failures,
  };
}

export type GitTransportErrorKind = 'timeout' | 'unreachable' | 'aborted' | 'network' | 'tls' | 'redirect';

/** A request that did not get a complete HTTP answer. `retryable` says whether trying later can help. */
export class GitTransportError extends Error {
  override name = 'GitTransportError';
  readonly kind: GitTransportErrorKind;
  /** The request URL without credentials. */
  readonly url: string;
  readonly retryable: boolean;

  constructor(kind: GitTransportErrorKind, url: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.url = url;
    this.retryable = kind !== 'tls' && kind !== 'redirect' && kind !== 'aborted';
  }
}

export interface GitHttpClientOptions {
  /** Deadline of each request: connect, response head and the whole body. Default 30 s. */
  timeoutMs?: number;
  /** Aborts every request made through this client. */
  signal?: AbortSignal;
  /** Counters to add to; a fresh object when omitted. */
  stats?: HttpStats;
  /** `User-Agent` header; default `weir`. */
  userAgent?: string;
  /**
   * Called with every transport failure. isomorphic-git's pkt-line reader
   * turns an error in a response body into a quiet end of stream (an
   * advertisement cut short parses as "no refs"), so callers must check
   * this rather than trust what isomorphic-git made of the response.
   */
  onFailure?: (err: GitTransportError) => void;
}

export interface GitHttpClient extends HttpClient {
  readonly stats: HttpStats;
}

/** `url` without `user:password@`; unparseable input is returned with anything before an `@` in the authority cut. */
export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.username === '' && parsed.password === '') return url;
    parsed.username = '';
    parsed.password = '';
    return parsed.toString();
  } catch {
    return url.replace(/^([^:/?#]*:\/\/)[^/?#]*@/, '$1');
  }
}

/** Creates a client for isomorphic-git's `http` option. */
export function createGitHttpClient(opts: GitHttpClientOptions = {}): GitHttpClient {
  const timeoutMs = opts.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`invalid HTTP timeout ${timeoutMs} ms: must be a positive number`);
  const stats = opts.stats ?? newHttpStats();
  const userAgent = opts.userAgent ?? 'weir';
  return {
    stats,
    async request(req: GitHttpRequest): Promise<GitHttpResponse> {
      const body = req.body === undefined ? undefined : await collectBody(req.body);
      const signals = [opts.signal, req.signal].filter((s): s is AbortSignal => s !== undefined);
      const headers: Record<string, string> = { 'user-agent': userAgent, ...(req.headers ?? {}) };
      return send({
        url: req.url,
        method: (req.method ?? 'GET').toUpperCase(),
        headers,
        body,
        timeoutMs,
        signal: signals.length === 0 ? undefined : AbortSignal.any(signals),
        stats,
        onFailure: opts.onFailure,
        redirectsLeft: MAX_REDIRECTS,
      });
    },
  };
}

interface SendOptions {
  url: string;
  method: string;
  headers: Record<string, string>;
  body: Buffer | undefined;
  timeoutMs: number;
  signal: AbortSignal | undefined;
  stats: HttpStats;
  onFailure: ((err: GitTransportError) => void) | undefined;
  redirectsLeft: number;
}

async function collectBody(body: AsyncIterableIterator<Uint8Array> | Iterable<Uint8Array>): Promise<Buffer> {
  const chunks: Uint8Array[] = [];
  for await (const chunk of body) chunks.push(chunk);
  return Buffer.concat(chunks);
}

function send(o: SendOptions): Promise<GitHttpResponse> {
  const safeUrl = redactUrl(o.url);
  const what = `${o.method} ${safeUrl}`;
  let target: URL;
  try {
    target = new URL(o.url);
  } catch {
    return Promise.reject(new GitTransportError('network', safeUrl, `invalid URL ${JSON.stringify(safeUrl)}`));
  }
  if (target.protocol !== 'http:' && target.protocol !== 'https:') {
    return Promise.reject(
      new GitTransportError('network', safeUrl, `unsupported URL scheme ${JSON.stringify(target.protocol)} in ${safeUrl}: only http and https are supported`),
    );
  }
  const headers = { ...o.headers };
  // Credentials in the URL become a header, never part of the request line.
  if (target.username !== '' || target.password !== '') {
    if (!Object.keys(headers).some((h) => h.toLowerCase() === 'authorization')) {
      const user = decodeURIComponent(target.username);
      const pass = decodeURIComponent(target.password);
      headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    }
    target.username = '';
    target.password = '';
  }
  if (o.body !== undefined) headers['content-length'] = String(o.body.byteLength);

  o.stats.requests += 1;
  if (o.method === 'GET') o.stats.gets += 1;
  else if (o.method === 'POST') o.stats.posts += 1;

  return new Promise<GitHttpResponse>((resolve, reject) => {
    let settled = false;
    let response: IncomingMessage | undefined;
    let finished = false;

    const fail = (err: GitTransportError): void => {
      if (finished) return;
      finished = true;
      o.stats.failures += 1;
      o.onFailure?.(err);
      cleanup();
      // Before the head: reject the promise. After it: the body iterator throws.
      if (response !== undefined) response.destroy(err);
      request.destroy(err);
      if (!settled) {
        settled = true;
        reject(err);
      }
    };

    const onTimeout = (): void => {
      fail(
        new GitTransportError(
          'timeout',
          safeUrl,
          `${what}: timed out after ${o.timeoutMs} ms (${response === undefined ? 'no response' : 'response incomplete'}); the server is slow or not answering`,
        ),
      );
    };
    const timer = setTimeout(onTimeout, o.timeoutMs);
    // A pending request keeps the process alive by itself; the timer need not.
    timer.unref();

    const onAbort = (): void => {
      fail(new GitTransportError('aborted', safeUrl, `${what}: aborted`, { cause: o.signal?.reason }));
    };

    const cleanup = (): void => {
      clearTimeout(timer);
      o.signal?.removeEventListener('abort', onAbort);
    };

    const transport = target.protocol === 'https:' ? https : http;
    const request = transport.request(target, { method: o.method, headers });

    if (o.signal?.aborted === true) {
      // Defer so `request` is initialised before `fail` touches it.
      queueMicrotask(onAbort);
    } else {
      o.signal?.addEventListener('abort', onAbort, { once: true });
    }

    request.on('error', (err: NodeJS.ErrnoException) => {
      if (err instanceof GitTransportError) return;
      fail(describeNetworkError(err, what, safeUrl));
    });

    request.on('response', (res) => {
      response = res;
      // Errors reach the body iterator; this only keeps one nobody iterates
      // (yet) from becoming an uncaught 'error' event.
      res.on('error', () => undefined);
      const status = res.statusCode ?? 0;
      const location = res.headers.location;
      if (status >= 300 && status < 400 && location !== undefined && o.method === 'GET') {
        res.resume();
        finished = true;
        cleanup();
        settled = true;
        const refuse = (message: string): void => {
          const err = new GitTransportError('redirect', safeUrl, `${what}: ${message}`);
          o.stats.failures += 1;
          o.onFailure?.(err);
          reject(err);
        };
        if (o.redirectsLeft <= 0) {
          refuse('too many redirects');
          return;
        }
        let next: URL;
        try {
          next = new URL(location, target);
        } catch {
          refuse('invalid redirect location');
          return;
        }
        if (target.protocol === 'https:' && next.protocol !== 'https:') {
          refuse(`refusing a redirect from https to ${next.protocol}`);
          return;
        }
        // Credentials go only to the origin they were given for.
        const nextHeaders =
          next.origin === target.origin
            ? { ...o.headers }
            : Object.fromEntries(Object.entries(o.headers).filter(([name]) => name.toLowerCase() !== 'authorization'));
        resolve(send({ ...o, url: next.toString(), headers: nextHeaders, redirectsLeft: o.redirectsLeft - 1 }));
        return;
      }
      settled = true;
      resolve({
        url: redactUrl(o.url),
        method: o.method,
        statusCode: status,
        statusMessage: res.statusMessage ?? '',
        headers: flattenHeaders(res.headers),
        body: countedBody(res, o.stats, () => {
          finished = true;
          cleanup();
        }),
      });
    });

    o.stats.bytesSent += o.body?.byteLength ?? 0;
    request.end(o.body);
  });
}

/** The response body as an async iterator that counts bytes and disarms the deadline at its end. */
async function* countedBody(res: IncomingMessage, stats: HttpStats, done: () => void): AsyncGenerator<Uint8Array, void, undefined> {
  try {
    for await (const chunk of res as AsyncIterable<Buffer>) {
      stats.bytesReceived += chunk.byteLength;
      yield chunk;
    }
  } finally {
    done();
    if (!res.complete) res.destroy();
  }
}

function flattenHeaders(headers: IncomingMessage['headers']): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [name, value] of Object.entries(headers)) {
    if (value === undefined) continue;
    out[name] = Array.isArray(value) ? value.join(', ') : value;
  }
  return out;
}

const NETWORK_ERRORS: Record<string, [GitTransportErrorKind, string]> = {
  ECONNREFUSED: ['unreachable', 'connection refused (is the server running and the port right?)'],
  ENOTFOUND: ['unreachable', 'host not found (DNS)'],
  EAI_AGAIN: ['unreachable', 'host name lookup failed temporarily (DNS)'],
  EHOSTUNREACH: ['unreachable', 'host unreachable'],
  ENETUNREACH: ['unreachable', 'network unreachable'],
  EADDRNOTAVAIL: ['unreachable', 'address not available'],
  ETIMEDOUT: ['timeout', 'connection timed out'],
  ECONNRESET: ['network', 'connection reset by the server'],
  EPIPE: ['network', 'connection closed by the server while sending'],
  ECONNABORTED: ['network', 'connection aborted'],
  ERR_STREAM_PREMATURE_CLOSE: ['network', 'connection closed before the response was complete'],
};

function describeNetworkError(err: NodeJS.ErrnoException, what: string, safeUrl: string): GitTransportError {
  const code = err.code ?? '';
  const known = NETWORK_ERRORS[code];
  if (known !== undefined) return new GitTransportError(known[0], safeUrl, `${what}: ${known[1]} (${code})`, { cause: err });
  if (code.startsWith('ERR_TLS') || code.includes('CERT') || code.startsWith('DEPTH_ZERO') || code.startsWith('SELF_SIGNED')) {
    return new GitTransportError('tls', safeUrl, `${what}: TLS failed (${code}): ${err.message}`, { cause: err });
  }
  if (err.message === 'socket hang up') {
    return new GitTransportError('network', safeUrl, `${what}: the server closed the connection without answering (socket hang up)`, { cause: err });
  }
  return new GitTransportError('network', safeUrl, `${what}: ${err.message}${code === '' ? '' : ` (${code})`}`, { cause: err });
}
