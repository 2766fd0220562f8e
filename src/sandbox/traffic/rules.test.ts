import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { describeMatch, pathMatches, reduceWeights, requestMatches, resolveServiceHost, selectRule, stringMatches, type RequestInfo } from './rules.ts';

const get = (path: string, headers: Record<string, string> = {}, method = 'GET'): RequestInfo => ({ method, path, headers });

describe('string and path matches', () => {
  test('exact, prefix, anchored regex and regex search', () => {
    assert.ok(stringMatches({ type: 'exact', value: 'yes' }, 'yes'));
    assert.ok(!stringMatches({ type: 'exact', value: 'yes' }, 'Yes'));
    assert.ok(stringMatches({ type: 'exact', value: 'yes', ignoreCase: true }, 'Yes'));
    assert.ok(stringMatches({ type: 'prefix', value: 'can' }, 'canary'));
    assert.ok(stringMatches({ type: 'regex', value: 'can.*' }, 'canary'));
    // Envoy's regex matches the whole value; PCRE's ngx.re.match finds it anywhere.
    assert.ok(!stringMatches({ type: 'regex', value: 'nar' }, 'canary'));
    assert.ok(stringMatches({ type: 'regexSearch', value: 'nar' }, 'canary'));
    assert.ok(stringMatches({ type: 'regex', value: 'a|canary' }, 'canary'), 'alternation is anchored as a whole');
    assert.ok(!stringMatches({ type: 'regex', value: '([' }, '(['), 'an invalid regex matches nothing');
  });

  test('segment prefix is element-wise, plain prefix is not', () => {
    const seg = { type: 'segmentPrefix', value: '/foo' } as const;
    assert.ok(pathMatches(seg, '/foo'));
    assert.ok(pathMatches(seg, '/foo/bar'));
    assert.ok(!pathMatches(seg, '/foobar'));
    assert.ok(pathMatches({ type: 'segmentPrefix', value: '/foo/' }, '/foo'), 'trailing slash ignored');
    assert.ok(pathMatches({ type: 'segmentPrefix', value: '/' }, '/anything'));
    assert.ok(pathMatches({ type: 'prefix', value: '/foo' }, '/foobar'));
    assert.ok(pathMatches({ type: 'exact', value: '/' }, '/'));
    assert.ok(!pathMatches({ type: 'exact', value: '/' }, '/x'));
    assert.ok(pathMatches({ type: 'regex', value: '/v[0-9]+/.*' }, '/v2/items'));
  });
});

describe('requestMatches / selectRule', () => {
  test('every part must match; header names are case-insensitive', () => {
    const match = {
      path: { type: 'segmentPrefix', value: '/api' },
      method: { type: 'exact', value: 'GET' },
      headers: [{ name: 'x-canary', value: { type: 'exact', value: 'yes' } }],
    } as const;
    assert.ok(requestMatches(match, get('/api/x', { 'x-canary': 'yes' })));
    assert.ok(!requestMatches(match, get('/api/x', { 'x-canary': 'no' })));
    assert.ok(!requestMatches(match, get('/api/x')));
    assert.ok(!requestMatches(match, get('/web', { 'x-canary': 'yes' })));
    assert.ok(!requestMatches(match, get('/api', { 'x-canary': 'yes' }, 'POST')));
    assert.ok(requestMatches({ headers: [{ name: 'X-Canary' }] }, get('/', { 'x-canary': '' })), 'presence');
    assert.ok(requestMatches({}, get('/whatever')), 'an empty match matches every request');
  });

  test('inverted headers, query parameters and cookies', () => {
    const without = { headers: [{ name: 'x-debug', value: { type: 'exact', value: '1' }, invert: true }] } as const;
    assert.ok(requestMatches(without, get('/')));
    assert.ok(requestMatches(without, get('/', { 'x-debug': '0' })));
    assert.ok(!requestMatches(without, get('/', { 'x-debug': '1' })));
    const query = { path: { type: 'exact', value: '/' }, queryParams: [{ name: 'v', value: { type: 'exact', value: '2' } }] } as const;
    assert.ok(requestMatches(query, get('/?v=2&x=1')));
    assert.ok(!requestMatches(query, get('/?v=3')));
    const cookie = { cookies: [{ name: 'canary', value: { type: 'exact', value: 'always' } }] } as const;
    assert.ok(requestMatches(cookie, get('/', { cookie: 'a=b; canary=always' })));
    assert.ok(!requestMatches(cookie, get('/', { cookie: 'canary=never' })));
  });

  test('the first matching rule wins; -1 when none matches', () => {
    const rules = [{ match: { headers: [{ name: 'x-canary' }] } }, { match: { path: { type: 'exact', value: '/' } } }] as const;
    assert.equal(selectRule(rules, get('/', { 'x-canary': '1' })), 0);
    assert.equal(selectRule(rules, get('/')), 1);
    assert.equal(selectRule(rules, get('/other')), -1);
  });

  test('describeMatch', () => {
    assert.equal(describeMatch({}), '*');
    assert.equal(
      describeMatch({ path: { type: 'segmentPrefix', value: '/' }, headers: [{ name: 'x-canary', value: { type: 'exact', value: 'yes' } }] }),
      'path segmentPrefix /, header x-canary=yes',
    );
  });
});

describe('helpers', () => {
  test('resolveServiceHost reads the Kubernetes DNS forms', () => {
    assert.deepEqual(resolveServiceHost('web', 'shop'), { name: 'web', namespace: 'shop' });
    assert.deepEqual(resolveServiceHost('web.other', 'shop'), { name: 'web', namespace: 'other' });
    assert.deepEqual(resolveServiceHost('web.other.svc', 'shop'), { name: 'web', namespace: 'other' });
    assert.deepEqual(resolveServiceHost('web.other.svc.cluster.local', 'shop'), { name: 'web', namespace: 'other' });
    assert.equal(resolveServiceHost('*.example.com', 'shop'), undefined);
    assert.equal(resolveServiceHost('www.example.com', 'shop'), undefined);
    assert.equal(resolveServiceHost('', 'shop'), undefined);
  });

  test('reduceWeights', () => {
    assert.deepEqual(reduceWeights([50, 50]), [1, 1]);
    assert.deepEqual(reduceWeights([40, 60]), [2, 3]);
    assert.deepEqual(reduceWeights([0, 0]), [0, 0]);
    assert.deepEqual(reduceWeights([0.5, 1]), [0.5, 1]);
  });
});
