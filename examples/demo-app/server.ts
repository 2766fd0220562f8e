// The demo app: a small HTTP server whose error rate and latency come from
// environment variables, instrumented with prom-client. The sandbox's kubelet
// stand-in runs it as a real process (`node examples/demo-app/server.ts`) on
// the pod's loopback address; see README.md for the variables.
import http from 'node:http';
import os from 'node:os';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import { createLogger } from '../../src/util/log.ts';

interface Config {
  host: string;
  port: number;
  version: string;
  pod: string;
  errorRate: number;
  latencyMs: number;
  latencyJitterMs: number;
  readyDelayMs: number;
}

/** Reads and validates the configuration; returns the list of problems when invalid. */
function readConfig(env: NodeJS.ProcessEnv): { config: Config } | { problems: string[] } {
  const problems: string[] = [];

  const number = (name: string, fallback: number, check: (n: number) => boolean, expected: string): number => {
    const raw = env[name];
    if (raw === undefined || raw.trim() === '') return fallback;
    const value = Number(raw.trim());
    if (!Number.isFinite(value) || !check(value)) {
      problems.push(`${name} must be ${expected}, got ${JSON.stringify(raw)}`);
      return fallback;
    }
    return value;
  };

  const host = (env.HOST ?? '').trim() || '0.0.0.0';
  if (/\s/.test(host)) problems.push(`HOST must be an address to bind, got ${JSON.stringify(env.HOST)}`);
  const version = env.VERSION ?? 'v1';
  if (version.trim() === '' || version.length > 128) {
    problems.push(`VERSION must be a non-empty label of at most 128 characters, got ${JSON.stringify(env.VERSION)}`);
  }

  const config: Config = {
    host,
    port: number('PORT', 8080, (n) => Number.isInteger(n) && n >= 0 && n <= 65535, 'an integer port from 0 to 65535'),
    version,
    pod: env.POD_NAME ?? env.HOSTNAME ?? os.hostname(),
    errorRate: number('ERROR_RATE', 0, (n) => n >= 0 && n <= 1, 'a fraction from 0 to 1'),
    latencyMs: number('LATENCY_MS', 0, (n) => n >= 0, 'a non-negative number of milliseconds'),
    latencyJitterMs: number('LATENCY_JITTER_MS', 0, (n) => n >= 0, 'a non-negative number of milliseconds'),
    readyDelayMs: number('READY_DELAY_MS', 0, (n) => n >= 0, 'a non-negative number of milliseconds'),
  };
  return problems.length > 0 ? { problems } : { config };
}

const read = readConfig(process.env);
if ('problems' in read) {
  process.stderr.write(`demo-app: invalid configuration:\n${read.problems.map((p) => `  - ${p}\n`).join('')}`);
  process.exit(2);
}
const config = read.config;
const log = createLogger('demo-app');
const startedAt = performance.now();

// --- metrics ---------------------------------------------------------------

const registry = new Registry();
collectDefaultMetrics({ register: registry });

const requestsTotal = new Counter({
  name: 'http_requests_total',
  help: 'HTTP requests to the application path, by status code, method and path.',
  labelNames: ['code', 'method', 'path'] as const,
  registers: [registry],
});
const requestDuration = new Histogram({
  name: 'http_request_duration_seconds',
  help: 'Time to answer requests to the application path, in seconds.',
  labelNames: ['code', 'path'] as const,
  buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
  registers: [registry],
});
const info = new Gauge({
  name: 'demo_app_info',
  help: 'Always 1; labels describe the running demo app.',
  labelNames: ['version'] as const,
  registers: [registry],
});
info.set({ version: config.version }, 1);
// Series exist from the start, so rate() and increase() see the first errors.
for (const code of ['200', '500']) {
  requestsTotal.inc({ code, method: 'GET', path: '/' }, 0);
  requestDuration.zero({ code, path: '/' });
}

// --- behaviour -------------------------------------------------------------

// Deterministic error injection: after n requests exactly floor(n * rate)
// have failed (the epsilon absorbs floating-point error such as 3 * 0.1).
let served = 0;
let failed = 0;
function nextRequestFails(): boolean {
  served += 1;
  if (failed < Math.floor(served * config.errorRate + 1e-9)) {
    failed += 1;
    return true;
  }
  return false;
}

function nextDelayMs(): number {
  const jitter = config.latencyJitterMs > 0 ? (Math.random() * 2 - 1) * config.latencyJitterMs : 0;
  return Math.max(0, config.latencyMs + jitter);
}

let shuttingDown = false;

function isReady(): boolean {
  return !shuttingDown && performance.now() - startedAt >= config.readyDelayMs;
}

function send(res: http.ServerResponse, code: number, body: string, contentType = 'text/plain; charset=utf-8'): void {
  // While shutting down, keep-alive connections are closed after their response.
  if (shuttingDown) res.setHeader('connection', 'close');
  res.writeHead(code, { 'content-type': contentType, 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

function handleRoot(req: http.IncomingMessage, res: http.ServerResponse): void {
  const start = performance.now();
  const method = req.method ?? 'GET';
  const finish = (code: number, body: string, contentType?: string): void => {
    send(res, code, body, contentType);
    requestsTotal.inc({ code: String(code), method, path: '/' });
    requestDuration.observe({ code: String(code), path: '/' }, (performance.now() - start) / 1000);
  };
  if (method !== 'GET' && method !== 'HEAD') {
    res.setHeader('allow', 'GET, HEAD');
    finish(405, 'method not allowed\n');
    return;
  }
  const fail = nextRequestFails();
  const respond = (): void => {
    if (fail) {
      finish(500, `${JSON.stringify({ error: 'injected failure', version: config.version, pod: config.pod })}\n`, 'application/json');
    } else {
      finish(200, `${JSON.stringify({ version: config.version, pod: config.pod })}\n`, 'application/json');
    }
  };
  const delay = nextDelayMs();
  if (delay > 0) setTimeout(respond, delay);
  else respond();
}

async function handleMetrics(res: http.ServerResponse): Promise<void> {
  try {
    send(res, 200, await registry.metrics(), registry.contentType);
  } catch (err) {
    log.error({ err }, 'collecting metrics failed');
    send(res, 500, 'metrics collection failed\n');
  }
}

const server = http.createServer((req, res) => {
  const path = (req.url ?? '/').split('?', 1)[0] ?? '/';
  switch (path) {
    case '/':
      handleRoot(req, res);
      return;
    case '/healthz':
      send(res, 200, 'ok\n');
      return;
    case '/readyz':
      if (isReady()) send(res, 200, 'ready\n');
      else send(res, 503, shuttingDown ? 'shutting down\n' : 'starting\n');
      return;
    case '/metrics':
      void handleMetrics(res);
      return;
    default:
      send(res, 404, 'not found\n');
  }
});
server.keepAliveTimeout = 65_000;

server.on('error', (err) => {
  log.fatal({ err, host: config.host, port: config.port }, 'server error');
  process.exit(1);
});

server.listen(config.port, config.host, () => {
  const address = server.address();
  const port = typeof address === 'object' && address !== null ? address.port : config.port;
  log.info(
    {
      host: config.host,
      port,
      version: config.version,
      pod: config.pod,
      errorRate: config.errorRate,
      latencyMs: config.latencyMs,
      latencyJitterMs: config.latencyJitterMs,
      readyDelayMs: config.readyDelayMs,
    },
    'listening',
  );
});

function shutdown(signal: NodeJS.Signals): void {
  if (shuttingDown) return;
  shuttingDown = true;
  log.info({ signal }, 'shutting down');
  // Stop accepting; requests in progress (including delayed ones) finish.
  server.close(() => {
    log.info('stopped');
    process.exit(0);
  });
  server.closeIdleConnections();
  // Keep-alive connections that stay busy are cut after a grace period.
  setTimeout(() => {
    server.closeAllConnections();
  }, 5_000).unref();
}

process.once('SIGTERM', shutdown);
process.once('SIGINT', shutdown);
