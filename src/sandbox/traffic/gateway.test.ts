import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findHTTPRouteRouting, httpRouteRouting, type GatewayHTTPRouteLike } from './gateway.ts';
import { selectRule, type RequestInfo, type Routing } from './rules.ts';

const target = { name: 'web-stable', namespace: 'shop' };
const get = (headers: Record<string, string> = {}, path = '/'): RequestInfo => ({ method: 'GET', path, headers });

/** The backends (name:weight) of the rule that routes `request`. */
function routed(routing: Routing | undefined, request: RequestInfo): string[] | undefined {
  const rule = routing?.rules[selectRule(routing.rules, request)];
  return rule?.backends.map((b) => `${b.name}:${b.weight}`);
}

describe('HTTPRoute routing', () => {
  test('a rule without matches matches every path; weights default to 1', () => {
    const route: GatewayHTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { rules: [{ backendRefs: [{ name: 'web-stable', port: 80, weight: 80 }, { name: 'web-canary', port: 80, weight: 20 }, { name: 'web-preview' }] }] },
    };
    const routing = httpRouteRouting(route, target);
    assert.equal(routing?.kind, 'HTTPRoute');
    assert.equal(routing.object, 'shop/web');
    assert.deepEqual(routing.rules[0]?.match, { path: { type: 'segmentPrefix', value: '/' } });
    assert.deepEqual(routing.rules[0].backends, [
      { name: 'web-stable', namespace: 'shop', port: 80, weight: 80 },
      { name: 'web-canary', namespace: 'shop', port: 80, weight: 20 },
      { name: 'web-preview', namespace: 'shop', weight: 1 },
    ]);
    assert.equal(httpRouteRouting(route, { name: 'other', namespace: 'shop' }), undefined);
  });

  test('a header rule appended after the catch-all still wins: more header matches take precedence', () => {
    const route: GatewayHTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        rules: [
          { backendRefs: [{ name: 'web-stable', weight: 100 }, { name: 'web-canary', weight: 0 }] },
          { matches: [{ headers: [{ name: 'X-Canary', value: 'yes' }] }], backendRefs: [{ name: 'web-canary' }] },
          { matches: [{ headers: [{ type: 'RegularExpression', name: 'x-user', value: 'beta-.*' }] }], backendRefs: [{ name: 'web-canary' }] },
        ],
      },
    };
    const routing = findHTTPRouteRouting([route], target);
    assert.deepEqual(routed(routing, get({ 'x-canary': 'yes' })), ['web-canary:1']);
    assert.deepEqual(routed(routing, get({ 'x-user': 'beta-7' })), ['web-canary:1']);
    assert.deepEqual(routed(routing, get({ 'x-user': 'alpha' })), ['web-stable:100', 'web-canary:0']);
    assert.deepEqual(routed(routing, get()), ['web-stable:100', 'web-canary:0']);
    // Equal specificity keeps rule order: the exact-value rule (rules[1]) comes before the regex one (rules[2]).
    assert.deepEqual(
      routing?.rules.map((r) => r.source),
      ['HTTPRoute shop/web rules[1].matches[0]', 'HTTPRoute shop/web rules[2].matches[0]', 'HTTPRoute shop/web rules[0].matches[0]'],
    );
  });

  test('precedence: exact path, longest prefix, method, then headers', () => {
    const rule = (name: string, m: NonNullable<NonNullable<GatewayHTTPRouteLike['spec']>['rules']>[number]['matches']) => ({
      matches: m,
      backendRefs: [{ name }],
    });
    const route: GatewayHTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        rules: [
          { backendRefs: [{ name: 'web-stable' }, { name: 'a' }, { name: 'b' }, { name: 'c' }, { name: 'd' }] },
          rule('a', [{ headers: [{ name: 'x', value: '1' }, { name: 'y', value: '1' }] }]),
          rule('b', [{ method: 'GET' }]),
          rule('c', [{ path: { type: 'PathPrefix', value: '/api' } }]),
          rule('d', [{ path: { type: 'Exact', value: '/api/v1' } }]),
        ],
      },
    };
    const routing = httpRouteRouting(route, target);
    assert.deepEqual(routed(routing, get({ x: '1', y: '1' }, '/api/v1')), ['d:1']);
    assert.deepEqual(routed(routing, get({ x: '1', y: '1' }, '/api/v2')), ['c:1']);
    assert.deepEqual(routed(routing, get({ x: '1', y: '1' }, '/')), ['b:1']);
    assert.deepEqual(routed(routing, { method: 'POST', path: '/', headers: { x: '1', y: '1' } }), ['a:1']);
  });

  test('rules for unrelated Services do not decide the target’s requests', () => {
    const route: GatewayHTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { rules: [{ backendRefs: [{ name: 'other' }] }, { backendRefs: [{ name: 'web-stable', weight: 9 }, { name: 'web-canary', weight: 1 }] }] },
    };
    const routing = httpRouteRouting(route, target);
    assert.equal(routing?.rules.length, 1);
    assert.deepEqual(routed(routing, get()), ['web-stable:9', 'web-canary:1']);
  });

  test('RequestMirror: percent, fraction (denominator 100 by default), 100% when neither', () => {
    const mirror = (requestMirror: object) => ({ type: 'RequestMirror', requestMirror: { backendRef: { name: 'web-canary', port: 80 }, ...requestMirror } });
    const route: GatewayHTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        rules: [
          { matches: [{ headers: [{ name: 'a', value: '1' }] }], filters: [mirror({ percent: 25 })], backendRefs: [{ name: 'web-stable' }] },
          { matches: [{ headers: [{ name: 'b', value: '1' }] }], filters: [mirror({ fraction: { numerator: 1, denominator: 8 } })], backendRefs: [{ name: 'web-stable' }] },
          { matches: [{ headers: [{ name: 'c', value: '1' }] }], filters: [mirror({ fraction: { numerator: 30 } })], backendRefs: [{ name: 'web-stable' }] },
          { filters: [mirror({})], backendRefs: [{ name: 'web-stable' }] },
        ],
      },
    };
    const routing = httpRouteRouting(route, target);
    const mirrorOf = (request: RequestInfo) => routing?.rules[selectRule(routing.rules, request)]?.mirrors;
    assert.deepEqual(mirrorOf(get({ a: '1' })), [{ name: 'web-canary', namespace: 'shop', port: 80, percent: 25 }]);
    assert.deepEqual(mirrorOf(get({ b: '1' })), [{ name: 'web-canary', namespace: 'shop', port: 80, percent: 12.5 }]);
    assert.deepEqual(mirrorOf(get({ c: '1' })), [{ name: 'web-canary', namespace: 'shop', port: 80, percent: 30 }]);
    assert.deepEqual(mirrorOf(get()), [{ name: 'web-canary', namespace: 'shop', port: 80, percent: 100 }]);
  });

  test('an invalid regular expression is a problem and matches nothing', () => {
    const route: GatewayHTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { rules: [{ matches: [{ headers: [{ type: 'RegularExpression', name: 'x', value: '([' }] }], backendRefs: [{ name: 'web-stable' }] }] },
    };
    const routing = httpRouteRouting(route, target);
    assert.equal(routing?.problems.length, 1);
    assert.equal(routed(routing, get({ x: '([' })), undefined);
  });
});
