// Runs the demo app as a real child process on 127.0.0.1 and checks it over HTTP.
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import http from 'node:http';
import { fileURLToPath } from 'node:url';
import { test, type TestContext } from 'node:test';
import { waitFor } from '../../src/util/wait.ts';

const serverPath = fileURLToPath(new URL('./server.ts', import.meta.url));

interface App {
  port: number;
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code (or signal name) when the process exits. */
  exited: Promise<number | string>;
}

/** Starts the app with PORT=0 (the kernel picks a free port) and waits for its "listening" log line. */
async function startApp(t: TestContext, env: Record<string, string> = {}): Promise<App> {
  const child = spawn(process.execPath, [serverPath], {
    env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', PORT: '0', WEIR_LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  // Always kill the child, whatever the test does.
  t.after(() => {
    if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
  });
  let out = '';
  child.stdout.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (out += chunk));
  const exited = new Promise<number | string>((resolve) => {
    child.once('exit', (code, signal) => {
      resolve(code ?? signal ?? 'unknown');
    });
  });
  const port = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`demo app exited with ${child.exitCode}: ${out}`);
      for (const line of out.split('\n')) {
        if (!line.startsWith('{')) continue;
        const entry = JSON.parse(line) as { msg?: string; port?: number };
        if (entry.msg === 'listening' && typeof entry.port === 'number') return entry.port;
      }
      return undefined;
    },
    { timeoutMs: 15_000, intervalMs: 20, what: 'the demo app to listen' },
  );
  return { port, child, output: () => out, exited };
}

interface Response {
  status: number;
  body: string;
  headers: http.IncomingHttpHeaders;
  ms: number;
}

function request(port: number, path: string, method = 'GET'): Promise<Response> {
  return new Promise((resolve, reject) => {
    const start = performance.now();
    const req = http.request({ host: '127.0.0.1', port, path, method, agent: false, timeout: 10_000 }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => (body += chunk));
      res.on('end', () => {
        resolve({ status: res.statusCode ?? 0, body, headers: res.headers, ms: performance.now() - start });
      });
      res.on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error(`${method} ${path} timed out`)));
    req.on('error', reject);
    req.end();
  });
}

/** The value of the sample `name{labels}` in Prometheus text output (labels in any order). */
function sample(metrics: string, name: string, labels: Record<string, string>): number | undefined {
  for (const line of metrics.split('\n')) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (match?.[1] !== name) continue;
    const found: Record<string, string> = {};
    for (const pair of (match[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g)) {
      if (pair[1] !== undefined && pair[2] !== undefined) found[pair[1]] = pair[2];
    }
    const keys = Object.keys(found);
    if (keys.length === Object.keys(labels).length && keys.every((k) => found[k] === labels[k])) return Number(match[3]);
  }
  return undefined;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? NaN;
}

test('serves /, /healthz, /readyz and /metrics', async (t) => {
  const app = await startApp(t, { VERSION: 'v7', POD_NAME: 'demo-7f9c-abcde' });

  const root = await request(app.port, '/');
  assert.equal(root.status, 200);
  assert.match(root.headers['content-type'] ?? '', /application\/json/);
  assert.deepEqual(JSON.parse(root.body), { version: 'v7', pod: 'demo-7f9c-abcde' });
  assert.equal((await request(app.port, '/?q=1')).status, 200);

  assert.equal((await request(app.port, '/healthz')).status, 200);
  assert.equal((await request(app.port, '/readyz')).status, 200);
  assert.equal((await request(app.port, '/nope')).status, 404);
  const post = await request(app.port, '/', 'POST');
  assert.equal(post.status, 405);

  const metrics = await request(app.port, '/metrics');
  assert.equal(metrics.status, 200);
  assert.match(metrics.headers['content-type'] ?? '', /text\/plain/);
  const text = metrics.body;
  assert.equal(sample(text, 'demo_app_info', { version: 'v7' }), 1);
  assert.equal(sample(text, 'http_requests_total', { code: '200', method: 'GET', path: '/' }), 2);
  assert.equal(sample(text, 'http_requests_total', { code: '405', method: 'POST', path: '/' }), 1);
  assert.equal(sample(text, 'http_requests_total', { code: '500', method: 'GET', path: '/' }), 0);
  assert.equal(sample(text, 'http_request_duration_seconds_count', { code: '200', path: '/' }), 2);
  assert.equal(sample(text, 'http_request_duration_seconds_bucket', { code: '200', path: '/', le: '0.001' }) !== undefined, true);
  assert.equal(sample(text, 'http_request_duration_seconds_bucket', { code: '200', path: '/', le: '5' }), 2);
  // prom-client default metrics.
  assert.match(text, /^process_cpu_user_seconds_total /m);
  assert.match(text, /^nodejs_heap_size_total_bytes /m);
  // Health and metrics requests are not counted.
  assert.doesNotMatch(text, /http_requests_total\{[^}]*path="\/(healthz|readyz|metrics|nope)"/);
});

test('ERROR_RATE=0.3 fails 30 of 100 requests, and the counter agrees', async (t) => {
  const app = await startApp(t, { ERROR_RATE: '0.3' });
  const statuses: number[] = [];
  // Ten concurrent batches of ten: the accumulator does not depend on ordering.
  for (let batch = 0; batch < 10; batch++) {
    const responses = await Promise.all(Array.from({ length: 10 }, () => request(app.port, '/')));
    statuses.push(...responses.map((r) => r.status));
  }
  const errors = statuses.filter((s) => s === 500).length;
  const ok = statuses.filter((s) => s === 200).length;
  assert.equal(errors + ok, 100);
  assert.ok(Math.abs(errors - 30) <= 1, `expected 30 ± 1 errors, got ${errors}`);

  const metrics = (await request(app.port, '/metrics')).body;
  assert.equal(sample(metrics, 'http_requests_total', { code: '500', method: 'GET', path: '/' }), errors);
  assert.equal(sample(metrics, 'http_requests_total', { code: '200', method: 'GET', path: '/' }), ok);
  assert.equal(sample(metrics, 'http_request_duration_seconds_count', { code: '500', path: '/' }), errors);
});

test('LATENCY_MS makes responses measurably slower than a baseline', async (t) => {
  const [baseline, slow] = await Promise.all([
    startApp(t),
    startApp(t, { LATENCY_MS: '250', LATENCY_JITTER_MS: '20' }),
  ]);
  const time = async (port: number): Promise<number[]> => {
    const ms: number[] = [];
    for (let i = 0; i < 5; i++) ms.push((await request(port, '/')).ms);
    return ms;
  };
  const fast = median(await time(baseline.port));
  const delayed = median(await time(slow.port));
  assert.ok(delayed >= fast + 150, `median with LATENCY_MS=250 was ${delayed.toFixed(1)} ms, baseline ${fast.toFixed(1)} ms`);
  // Health endpoints are not delayed.
  assert.ok((await request(slow.port, '/healthz')).ms < delayed);

  const metrics = (await request(slow.port, '/metrics')).body;
  const sum = sample(metrics, 'http_request_duration_seconds_sum', { code: '200', path: '/' }) ?? 0;
  assert.ok(sum / 5 >= 0.2, `mean observed duration ${sum / 5}s should include the delay`);
});

test('READY_DELAY_MS keeps /readyz at 503, then 200', async (t) => {
  const started = performance.now();
  const app = await startApp(t, { READY_DELAY_MS: '1500' });
  assert.equal((await request(app.port, '/readyz')).status, 503);
  // Liveness and the app itself work while not ready.
  assert.equal((await request(app.port, '/healthz')).status, 200);
  assert.equal((await request(app.port, '/')).status, 200);
  await waitFor(async () => (await request(app.port, '/readyz')).status === 200, {
    timeoutMs: 15_000,
    intervalMs: 100,
    what: '/readyz to return 200',
  });
  assert.ok(performance.now() - started >= 1400, 'ready too early');
});

test('SIGTERM finishes requests in progress and exits 0', async (t) => {
  const app = await startApp(t, { LATENCY_MS: '400' });
  const inProgress = request(app.port, '/');
  // Let the request reach the server before the signal.
  await new Promise((resolve) => setTimeout(resolve, 100));
  app.child.kill('SIGTERM');
  const response = await inProgress;
  assert.equal(response.status, 200);
  assert.equal(await app.exited, 0);
  assert.match(app.output(), /"msg":"stopped"/);
});

test('SIGINT exits 0', async (t) => {
  const app = await startApp(t);
  app.child.kill('SIGINT');
  assert.equal(await app.exited, 0);
});

test('invalid environment exits non-zero with a clear message', async () => {
  const run = (env: Record<string, string>): Promise<{ code: number | null; stderr: string }> =>
    new Promise((resolve, reject) => {
      const child = spawn(process.execPath, [serverPath], {
        env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOST: '127.0.0.1', PORT: '0', ...env },
        stdio: ['ignore', 'ignore', 'pipe'],
      });
      const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
      let stderr = '';
      child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
      child.on('error', reject);
      child.on('exit', (code) => {
        clearTimeout(killer);
        resolve({ code, stderr });
      });
    });

  const bad = await run({ ERROR_RATE: '1.5', LATENCY_MS: '-3', PORT: 'http' });
  assert.notEqual(bad.code, 0);
  assert.match(bad.stderr, /ERROR_RATE must be a fraction from 0 to 1, got "1.5"/);
  assert.match(bad.stderr, /LATENCY_MS must be a non-negative number/);
  assert.match(bad.stderr, /PORT must be an integer port/);

  for (const env of [{ ERROR_RATE: 'lots' }, { READY_DELAY_MS: 'soon' }, { LATENCY_JITTER_MS: 'NaN' }, { PORT: '70000' }]) {
    const result = await run(env);
    assert.notEqual(result.code, 0, JSON.stringify(env));
    assert.match(result.stderr, new RegExp(Object.keys(env)[0] ?? ''), JSON.stringify(env));
  }
});
