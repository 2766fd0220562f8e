import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findIngressRouting, type IngressLike } from './nginx.ts';
import { selectRule, type RequestInfo, type Routing } from './rules.ts';

const target = { name: 'web-stable', namespace: 'shop' };
const get = (headers: Record<string, string> = {}, path = '/'): RequestInfo => ({ method: 'GET', path, headers });
const P = 'nginx.ingress.kubernetes.io';

function ingress(name: string, service: string, o: { annotations?: Record<string, string>; host?: string; path?: string; pathType?: string; namespace?: string } = {}): IngressLike {
  return {
    metadata: { name, namespace: o.namespace ?? 'shop', annotations: o.annotations ?? {} },
    spec: {
      rules: [
        {
          host: o.host ?? 'web.example.com',
          http: { paths: [{ path: o.path ?? '/', pathType: o.pathType ?? 'Prefix', backend: { service: { name: service, port: { number: 80 } } } }] },
        },
      ],
    },
  };
}
const canary = (annotations: Record<string, string>, o: { host?: string; path?: string; name?: string } = {}): IngressLike =>
  ingress(o.name ?? 'web-canary', 'web-canary', { annotations: { [`${P}/canary`]: 'true', ...annotations }, ...o });

function routed(routing: Routing | undefined, request: RequestInfo): string[] | undefined {
  const rule = routing?.rules[selectRule(routing.rules, request)];
  return rule?.backends.map((b) => `${b.name}:${b.weight}`);
}

describe('NGINX Ingress routing', () => {
  test('without a canary: the main Ingress path, all to its backend', () => {
    const routing = findIngressRouting([ingress('web', 'web-stable')], target);
    assert.equal(routing?.kind, 'Ingress');
    assert.equal(routing.object, 'shop/web');
    assert.deepEqual(routed(routing, get()), ['web-stable:1']);
    assert.equal(findIngressRouting([ingress('web', 'web-stable')], { name: 'web-canary', namespace: 'shop' }), undefined);
  });

  test('canary-weight: the canary gets weight out of 100, the main backend the rest', () => {
    const routing = findIngressRouting([ingress('web', 'web-stable'), canary({ [`${P}/canary-weight`]: '30' })], target);
    assert.deepEqual(routed(routing, get()), ['web-stable:70', 'web-canary:30']);
    assert.deepEqual(routing?.related, ['Ingress shop/web-canary']);
    assert.deepEqual(routing.rules[0]?.backends[1], { name: 'web-canary', namespace: 'shop', port: 80, weight: 30 });
  });

  test('canary-weight-total is used only above 100, as balancer.lua does', () => {
    const w = (total: string) => routed(findIngressRouting([ingress('web', 'web-stable'), canary({ [`${P}/canary-weight`]: '30', [`${P}/canary-weight-total`]: total })], target), get());
    assert.deepEqual(w('1000'), ['web-stable:970', 'web-canary:30']);
    assert.deepEqual(w('50'), ['web-stable:70', 'web-canary:30']);
    // A weight above the total sends everything to the canary.
    assert.deepEqual(routed(findIngressRouting([ingress('web', 'web-stable'), canary({ [`${P}/canary-weight`]: '150' })], target), get()), ['web-stable:0', 'web-canary:100']);
  });

  test('canary-by-header alone: "always" to the canary, "never" to the main backend even with weight 100, others by weight', () => {
    const routing = findIngressRouting([ingress('web', 'web-stable'), canary({ [`${P}/canary-by-header`]: 'X-Canary', [`${P}/canary-weight`]: '100' })], target);
    assert.deepEqual(routed(routing, get({ 'x-canary': 'always' })), ['web-canary:1']);
    assert.deepEqual(routed(routing, get({ 'x-canary': 'never' })), ['web-stable:1']);
    assert.deepEqual(routed(routing, get({ 'x-canary': 'yes' })), ['web-stable:0', 'web-canary:100']);
    assert.deepEqual(routed(routing, get()), ['web-stable:0', 'web-canary:100']);
  });

  test('canary-by-header-value: that exact value to the canary, other values fall through to the weight', () => {
    const routing = findIngressRouting(
      [ingress('web', 'web-stable'), canary({ [`${P}/canary-by-header`]: 'X-Canary', [`${P}/canary-by-header-value`]: 'yes', [`${P}/canary-weight`]: '0' })],
      target,
    );
    assert.deepEqual(routed(routing, get({ 'x-canary': 'yes' })), ['web-canary:1']);
    assert.deepEqual(routed(routing, get({ 'x-canary': 'always' })), ['web-stable:100', 'web-canary:0'], 'always/never only without a value');
    assert.deepEqual(routed(routing, get({ 'x-canary': 'never' })), ['web-stable:100', 'web-canary:0']);
  });

  test('canary-by-header-pattern: a PCRE match anywhere; ignored when a value is set', () => {
    const routing = findIngressRouting([ingress('web', 'web-stable'), canary({ [`${P}/canary-by-header`]: 'X-User', [`${P}/canary-by-header-pattern`]: 'beta|qa' })], target);
    assert.deepEqual(routed(routing, get({ 'x-user': 'team-qa-7' })), ['web-canary:1']);
    assert.deepEqual(routed(routing, get({ 'x-user': 'prod' })), ['web-stable:100', 'web-canary:0']);
    const both = findIngressRouting(
      [ingress('web', 'web-stable'), canary({ [`${P}/canary-by-header`]: 'X-User', [`${P}/canary-by-header-value`]: 'exact', [`${P}/canary-by-header-pattern`]: 'beta' })],
      target,
    );
    assert.deepEqual(routed(both, get({ 'x-user': 'beta' })), ['web-stable:100', 'web-canary:0']);
    assert.deepEqual(routed(both, get({ 'x-user': 'exact' })), ['web-canary:1']);
  });

  test('a pattern that does not compile sends requests with the header to the main backend, and says so', () => {
    const routing = findIngressRouting([ingress('web', 'web-stable'), canary({ [`${P}/canary-by-header`]: 'X-User', [`${P}/canary-by-header-pattern`]: '([', [`${P}/canary-weight`]: '100' })], target);
    assert.deepEqual(routed(routing, get({ 'x-user': 'x' })), ['web-stable:1']);
    assert.equal(routing?.problems.length, 1);
  });

  test('header before cookie before weight', () => {
    const routing = findIngressRouting(
      [ingress('web', 'web-stable'), canary({ [`${P}/canary-by-header`]: 'X-Canary', [`${P}/canary-by-cookie`]: 'canary', [`${P}/canary-weight`]: '50' })],
      target,
    );
    assert.deepEqual(routed(routing, get({ 'x-canary': 'never', cookie: 'canary=always' })), ['web-stable:1']);
    assert.deepEqual(routed(routing, get({ 'x-canary': 'other', cookie: 'canary=always' })), ['web-canary:1']);
    assert.deepEqual(routed(routing, get({ cookie: 'canary=never' })), ['web-stable:1']);
    assert.deepEqual(routed(routing, get({ cookie: 'canary=maybe' })), ['web-stable:50', 'web-canary:50']);
  });

  test('the canary must share host and path; the first canary by name wins; other namespaces are ignored', () => {
    const main = ingress('web', 'web-stable');
    const w = (...canaries: IngressLike[]) => routed(findIngressRouting([main, ...canaries], target), get());
    assert.deepEqual(w(canary({ [`${P}/canary-weight`]: '30' }, { host: 'other.example.com' })), ['web-stable:1']);
    assert.deepEqual(w(canary({ [`${P}/canary-weight`]: '30' }, { path: '/api' })), ['web-stable:1']);
    assert.deepEqual(
      w(canary({ [`${P}/canary-weight`]: '40' }, { name: 'b-canary' }), canary({ [`${P}/canary-weight`]: '10' }, { name: 'a-canary' })),
      ['web-stable:90', 'web-canary:10'],
    );
    const elsewhere = { ...canary({ [`${P}/canary-weight`]: '30' }), metadata: { name: 'x', namespace: 'other', annotations: { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '30' } } };
    assert.deepEqual(w(elsewhere), ['web-stable:1']);
    // Annotations of another prefix are not read.
    assert.deepEqual(w(ingress('c', 'web-canary', { annotations: { 'custom.example/canary': 'true', 'custom.example/canary-weight': '30' } })), ['web-stable:1']);
  });

  test('the rules carry the main path: Prefix element-wise, Exact, ImplementationSpecific as a plain prefix', () => {
    const p = (pathType: string, path: string, request: string) =>
      routed(findIngressRouting([ingress('web', 'web-stable', { pathType, path })], target), get({}, request));
    assert.deepEqual(p('Prefix', '/api', '/api/x'), ['web-stable:1']);
    assert.equal(p('Prefix', '/api', '/apix'), undefined);
    assert.equal(p('Exact', '/api', '/api/x'), undefined);
    assert.deepEqual(p('ImplementationSpecific', '/api', '/apix'), ['web-stable:1']);
  });
});
