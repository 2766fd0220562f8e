import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { parsePrometheusData, queryPrometheus, ProviderError } from './prometheus.ts';
import { queryWeb, selectJsonPath } from './web.ts';

describe('parsePrometheusData', () => {
  it('reads scalars, vectors (NaN and Inf kept) and matrices', () => {
    assert.deepEqual(parsePrometheusData({ resultType: 'scalar', result: [1, '0.5'] }), { value: 0.5, resultType: 'scalar', series: [] });
    const vector = parsePrometheusData({
      resultType: 'vector',
      result: [
        { metric: { pod: 'a' }, value: [1, '1'] },
        { metric: { pod: 'b' }, value: [1, 'NaN'] },
        { metric: { pod: 'c' }, value: [1, '+Inf'] },
      ],
    });
    assert.equal(vector.resultType, 'vector');
    assert.deepEqual(vector.series, [{ pod: 'a' }, { pod: 'b' }, { pod: 'c' }]);
    const [one, nan, inf] = vector.value as number[];
    assert.equal(one, 1);
    assert.ok(Number.isNaN(nan));
    assert.equal(inf, Number.POSITIVE_INFINITY);
    assert.deepEqual(parsePrometheusData({ resultType: 'matrix', result: [{ metric: {}, values: [[1, '1'], [2, '2']] }] }).value, [[1, 2]]);
    assert.deepEqual(parsePrometheusData({ resultType: 'vector', result: [] }).value, [], 'an empty vector stays empty');
  });
});

describe('providers against real HTTP servers', () => {
  let server: Server;
  let base = '';
  const seen: { method: string; url: string; headers: Record<string, unknown>; body: string }[] = [];
  before(async () => {
    server = createServer((req, res) => {
      let body = '';
      req.on('data', (c: Buffer) => (body += c.toString()));
      req.on('end', () => {
        seen.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/api/v1/query') {
          const q = url.searchParams.get('query');
          if (q === 'bad(') {
            res.writeHead(400, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'error', errorType: 'bad_data', error: 'parse error at char 5' }));
          } else if (q === 'empty') {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [] } }));
          } else {
            res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'vector', result: [{ metric: {}, value: [1, '0.99'] }] } }));
          }
        } else if (url.pathname === '/api/v1/query_range') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ status: 'success', data: { resultType: 'matrix', result: [{ metric: {}, values: [[1, '1'], [2, '3']] }] } }));
        } else if (url.pathname.startsWith('/slow')) {
          setTimeout(() => res.end('{}'), 2000);
        } else if (url.pathname === '/json') {
          res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ data: { ok: true, rate: 0.97 } }));
        } else if (url.pathname === '/html') {
          res.writeHead(200).end('<html>');
        } else {
          res.writeHead(503).end('down');
        }
      });
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const addr = server.address();
    base = `http://127.0.0.1:${typeof addr === 'object' && addr ? addr.port : 0}`;
  });
  after(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
  });

  it('prometheus: instant query with headers', async () => {
    const r = await queryPrometheus({ address: `${base}/`, query: 'sum(up)', headers: { authorization: 'Bearer t' } });
    assert.deepEqual(r.value, [0.99]);
    const req = seen.at(-1);
    assert.equal(req?.headers.authorization, 'Bearer t');
    assert.ok(req);
    assert.equal(new URL(req.url, 'http://x').searchParams.get('query'), 'sum(up)');
  });

  it('prometheus: range query sends start, end and step', async () => {
    const r = await queryPrometheus({ address: base, query: 'x', range: { start: new Date(1000_000), end: new Date(1060_000), stepSeconds: 15 } });
    assert.deepEqual(r.value, [[1, 3]]);
    assert.match(seen.at(-1)?.url ?? '', /start=1000&end=1060&step=15/);
  });

  it('prometheus: an empty result is an empty array, a query error names Prometheus’ message', async () => {
    assert.deepEqual((await queryPrometheus({ address: base, query: 'empty' })).value, []);
    await assert.rejects(queryPrometheus({ address: base, query: 'bad(' }), (err: Error) => err instanceof ProviderError && err.message.includes('HTTP 400: parse error at char 5'));
  });

  it('prometheus: unreachable and slow servers give clear errors', async () => {
    await assert.rejects(queryPrometheus({ address: 'http://127.0.0.1:1', query: 'x', timeoutMs: 1000 }), /unreachable: ECONNREFUSED/);
    await assert.rejects(queryPrometheus({ address: `${base}/slow`, query: 'x', timeoutMs: 200 }), /timed out after 200 ms/);
  });

  it('web: GET with jsonPath; POST with body and headers', async () => {
    assert.equal(await queryWeb({ url: `${base}/json`, jsonPath: '{$.data.rate}' }), 0.97);
    assert.deepEqual(await queryWeb({ url: `${base}/json` }), { data: { ok: true, rate: 0.97 } });
    await queryWeb({ url: `${base}/json`, method: 'POST', body: '{"q":1}', headers: { 'x-k': 'v' } });
    const req = seen.at(-1);
    assert.equal(req?.method, 'POST');
    assert.equal(req.body, '{"q":1}');
    assert.equal(req.headers['x-k'], 'v');
    assert.equal(req.headers['content-type'], undefined, 'a body is sent with no Content-Type of its own, as Argo sends it');
  });

  it('web: jsonBody is sent as JSON with Content-Type application/json, unless the headers set another', async () => {
    await queryWeb({ url: `${base}/json`, method: 'POST', json: { query: 'rate', window: [1, 2] } });
    const req = seen.at(-1);
    assert.equal(req?.headers['content-type'], 'application/json');
    assert.deepEqual(JSON.parse(req.body), { query: 'rate', window: [1, 2] });
    await queryWeb({ url: `${base}/json`, method: 'PUT', json: { a: 1 }, headers: { 'content-type': 'application/vnd.api+json' } });
    assert.equal(seen.at(-1)?.headers['content-type'], 'application/vnd.api+json');
    await queryWeb({ url: `${base}/json`, method: 'POST', body: 'a=1', headers: { 'Content-Type': 'application/x-www-form-urlencoded' } });
    assert.equal(seen.at(-1)?.headers['content-type'], 'application/x-www-form-urlencoded');
  });

  it('web: non-2xx, non-JSON, no jsonPath match and timeouts are clear errors', async () => {
    await assert.rejects(queryWeb({ url: `${base}/down` }), /answered HTTP 503/);
    await assert.rejects(queryWeb({ url: `${base}/html` }), /did not answer JSON/);
    await assert.rejects(queryWeb({ url: `${base}/json`, jsonPath: '$.nope' }), /matched nothing/);
    await assert.rejects(queryWeb({ url: `${base}/slow`, timeoutMs: 200 }), /timed out after 200 ms/);
  });

  it('selectJsonPath returns a list when several values match', () => {
    assert.deepEqual(selectJsonPath({ a: [{ v: 1 }, { v: 2 }] }, '$.a[*].v'), [1, 2]);
  });
});
