import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findVirtualServiceRouting, type DestinationRuleLike, type VirtualServiceLike } from './istio.ts';
import { selectRule, type RequestInfo, type Routing } from './rules.ts';

const get = (headers: Record<string, string> = {}, path = '/', method = 'GET'): RequestInfo => ({ method, path, headers });

function routed(routing: Routing | undefined, request: RequestInfo): string[] | undefined {
  const rule = routing?.rules[selectRule(routing.rules, request)];
  return rule?.backends.map((b) => `${b.name}${b.subset === undefined ? '' : `:${b.subset.name}`}:${b.weight}`);
}

const weighted = (stable: number, canary: number) => [
  { destination: { host: 'web-stable' }, weight: stable },
  { destination: { host: 'web-canary.shop.svc.cluster.local' }, weight: canary },
];

describe('Istio VirtualService routing', () => {
  test('fronts a destination Service: weights 70/30; host name forms resolve', () => {
    const vs: VirtualServiceLike = { metadata: { name: 'web', namespace: 'shop' }, spec: { hosts: ['web.example.com'], http: [{ name: 'primary', route: weighted(70, 30) }] } };
    const routing = findVirtualServiceRouting([vs], [], { name: 'web-stable', namespace: 'shop' });
    assert.equal(routing?.kind, 'VirtualService');
    assert.equal(routing.object, 'shop/web');
    assert.deepEqual(routed(routing, get()), ['web-stable:70', 'web-canary:30']);
    assert.equal(routing.rules[0]?.source, 'VirtualService shop/web http[0] (primary).match[0]');
    assert.equal(findVirtualServiceRouting([vs], [], { name: 'web-stable', namespace: 'other' }), undefined);
  });

  test('fronts a Service named in hosts: every http route decides, in order', () => {
    const vs: VirtualServiceLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        hosts: ['web'],
        http: [
          { match: [{ uri: { prefix: '/api' } }], route: [{ destination: { host: 'api' } }] },
          { route: weighted(100, 0) },
        ],
      },
    };
    const routing = findVirtualServiceRouting([vs], [], { name: 'web', namespace: 'shop' });
    assert.deepEqual(routed(routing, get({}, '/api/x')), ['api:100'], 'a single destination without a weight gets 100');
    assert.deepEqual(routed(routing, get()), ['web-stable:100', 'web-canary:0']);
  });

  test('a header route (inserted first) sends matching requests to the canary only', () => {
    const vs: VirtualServiceLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        hosts: ['web'],
        http: [
          { name: 'canary-header', match: [{ headers: { 'x-canary': { exact: 'yes' } } }, { headers: { 'x-user': { regex: 'beta-.*' } } }], route: [{ destination: { host: 'web-canary' }, weight: 100 }] },
          { name: 'primary', route: weighted(90, 10) },
        ],
      },
    };
    const routing = findVirtualServiceRouting([vs], [], { name: 'web-stable', namespace: 'shop' });
    assert.deepEqual(routed(routing, get({ 'x-canary': 'yes' })), ['web-canary:100']);
    assert.deepEqual(routed(routing, get({ 'x-user': 'beta-2' })), ['web-canary:100'], 'match entries are OR-ed');
    assert.deepEqual(routed(routing, get({ 'x-user': 'xbeta-2' })), ['web-stable:90', 'web-canary:10'], 'regex is anchored');
    assert.deepEqual(routed(routing, get({ 'x-canary': 'no' })), ['web-stable:90', 'web-canary:10']);
  });

  test('uri, method, withoutHeaders and ignoreUriCase', () => {
    const vs: VirtualServiceLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        http: [
          { match: [{ uri: { exact: '/Admin' }, ignoreUriCase: true }], route: [{ destination: { host: 'web-canary' } }] },
          { match: [{ method: { exact: 'POST' } }], route: [{ destination: { host: 'web-canary' } }] },
          { match: [{ withoutHeaders: { 'x-internal': {} } }], route: weighted(100, 0) },
        ],
      },
    };
    const routing = findVirtualServiceRouting([vs], [], { name: 'web-stable', namespace: 'shop' });
    assert.deepEqual(routed(routing, get({}, '/admin')), ['web-canary:100']);
    assert.deepEqual(routed(routing, get({}, '/', 'POST')), ['web-canary:100']);
    assert.deepEqual(routed(routing, get()), ['web-stable:100', 'web-canary:0']);
    assert.equal(routed(routing, get({ 'x-internal': '1' })), undefined, 'no route matches: not sent');
  });

  test('mirror with mirrorPercentage, the older mirrorPercent, and mirrors[]', () => {
    const vs = (route: object): VirtualServiceLike => ({ metadata: { name: 'web', namespace: 'shop' }, spec: { http: [{ route: weighted(100, 0), ...route }] } });
    const mirrors = (v: VirtualServiceLike) => findVirtualServiceRouting([v], [], { name: 'web-stable', namespace: 'shop' })?.rules[0]?.mirrors;
    assert.deepEqual(mirrors(vs({ mirror: { host: 'web-canary', port: { number: 80 } }, mirrorPercentage: { value: 50 } })), [
      { name: 'web-canary', namespace: 'shop', port: 80, percent: 50 },
    ]);
    assert.deepEqual(mirrors(vs({ mirror: { host: 'web-canary' }, mirrorPercent: 20 })), [{ name: 'web-canary', namespace: 'shop', percent: 20 }]);
    assert.deepEqual(mirrors(vs({ mirror: { host: 'web-canary' } })), [{ name: 'web-canary', namespace: 'shop', percent: 100 }]);
    assert.deepEqual(mirrors(vs({ mirrors: [{ destination: { host: 'web-canary' }, percentage: { value: 12.5 } }, { destination: { host: 'web-shadow' } }] })), [
      { name: 'web-canary', namespace: 'shop', percent: 12.5 },
      { name: 'web-shadow', namespace: 'shop', percent: 100 },
    ]);
  });

  test('subsets resolve through the DestinationRule of the host; an undefined subset is a problem', () => {
    const vs: VirtualServiceLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        hosts: ['web'],
        http: [
          {
            route: [
              { destination: { host: 'web', subset: 'stable' }, weight: 75 },
              { destination: { host: 'web', subset: 'canary' }, weight: 25 },
            ],
            mirror: { host: 'web', subset: 'preview' },
          },
        ],
      },
    };
    const dr = (namespace: string, stableHash: string): DestinationRuleLike => ({
      metadata: { name: 'web', namespace },
      spec: {
        host: namespace === 'shop' ? 'web' : 'web.shop.svc.cluster.local',
        subsets: [
          { name: 'stable', labels: { 'rollouts-pod-template-hash': stableHash } },
          { name: 'canary', labels: { 'rollouts-pod-template-hash': 'bbb' } },
        ],
      },
    });
    const routing = findVirtualServiceRouting([vs], [dr('mesh', 'zzz'), dr('shop', 'aaa')], { name: 'web', namespace: 'shop' });
    const rule = routing?.rules[0];
    assert.deepEqual(rule?.backends, [
      { name: 'web', namespace: 'shop', subset: { name: 'stable', labels: { 'rollouts-pod-template-hash': 'aaa' } }, weight: 75 },
      { name: 'web', namespace: 'shop', subset: { name: 'canary', labels: { 'rollouts-pod-template-hash': 'bbb' } }, weight: 25 },
    ]);
    assert.deepEqual(rule.mirrors, [{ name: 'web', namespace: 'shop', subset: { name: 'preview', labels: undefined }, percent: 100 }]);
    assert.deepEqual(routing?.related, ['DestinationRule shop/web']);
    assert.equal(routing.problems.length, 1);
    assert.match(routing.problems[0] ?? '', /subset "preview"/);
  });

  test('VirtualServices of the Service’s namespace come first, then the others by namespace/name', () => {
    const vs = (namespace: string, name: string, stable: number): VirtualServiceLike => ({
      metadata: { name, namespace },
      spec: { http: [{ route: [{ destination: { host: 'web-stable.shop' }, weight: stable }, { destination: { host: 'web-canary.shop' }, weight: 100 - stable }] }] },
    });
    const target = { name: 'web-stable', namespace: 'shop' };
    assert.equal(findVirtualServiceRouting([vs('a', 'x', 10), vs('shop', 'z', 20), vs('shop', 'y', 30)], [], target)?.object, 'shop/y');
    assert.equal(findVirtualServiceRouting([vs('b', 'x', 10), vs('a', 'z', 20)], [], target)?.object, 'a/z');
  });
});
