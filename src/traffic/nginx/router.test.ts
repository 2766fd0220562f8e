import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveObjects, testContext, weightOnly } from '../testkit.ts';
import { refKey, type LiveObjects, type TrafficContext, type TrafficIntent, type TrafficObject, type TrafficWrite } from '../types.ts';
import { parseNginxConfig, type NginxConfig } from './config.ts';
import { canaryIngressName, nginxRouter } from './index.ts';

const P = 'nginx.ingress.kubernetes.io';
const ctx = testContext();
const OWNER = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'web', uid: 'uid-web', controller: true };

function config(raw: unknown): NginxConfig {
  const parsed = nginxRouter.parse(raw);
  if ('problems' in parsed) assert.fail(JSON.stringify(parsed.problems));
  return parsed.config;
}

const basic = config({ stableIngress: 'web' });

/** A stable Ingress: two paths to the stable Service (one by port name), one to another Service, one host of another Service only. */
function stableIngress(name = 'web', extra: Partial<TrafficObject['metadata']> = {}): TrafficObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: {
      name,
      namespace: 'shop',
      resourceVersion: '7',
      uid: `uid-${name}`,
      labels: { app: 'web', 'weir.dev/source': 'shop.apps' },
      annotations: { [`${P}/rewrite-target`]: '/', 'weir.dev/git-revision': 'abc123' },
      ...extra,
    },
    spec: {
      ingressClassName: 'nginx',
      tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
      rules: [
        {
          host: 'web.example.com',
          http: {
            paths: [
              { path: '/', pathType: 'Prefix', backend: { service: { name: 'web-stable', port: { number: 80 } } } },
              { path: '/admin', pathType: 'Prefix', backend: { service: { name: 'admin', port: { number: 8080 } } } },
              { path: '/api', pathType: 'Exact', backend: { service: { name: 'web-stable', port: { name: 'http' } } } },
            ],
          },
        },
        { host: 'other.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'other', port: { number: 80 } } } }] } },
      ],
    },
    status: { loadBalancer: { ingress: [{ ip: '10.0.0.1' }] } },
  };
}

/** The canary Ingress's spec for stableIngress(). */
const CANARY_SPEC = {
  ingressClassName: 'nginx',
  tls: [{ hosts: ['web.example.com'], secretName: 'web-tls' }],
  rules: [
    {
      host: 'web.example.com',
      http: {
        paths: [
          { path: '/', pathType: 'Prefix', backend: { service: { name: 'web-canary', port: { number: 80 } } } },
          { path: '/api', pathType: 'Exact', backend: { service: { name: 'web-canary', port: { name: 'http' } } } },
        ],
      },
    },
  ],
};

let version = 100;
/** What the API server and the controller make of the writes: creates get the Rollout as controller owner, a uid and a resourceVersion. */
function apply(live: LiveObjects, writes: TrafficWrite[]): LiveObjects {
  const next = new Map(live);
  for (const w of writes) {
    const key = refKey(w.ref);
    if (w.op === 'delete') {
      assert.ok(next.has(key), `delete of missing ${key}`);
      next.delete(key);
    } else if (w.op === 'create') {
      assert.equal(next.get(key), undefined, `create of existing ${key}`);
      const body = structuredClone(w.body);
      body.metadata = { ...body.metadata, uid: `uid-${w.ref.name}`, resourceVersion: String(++version), ownerReferences: [OWNER] };
      next.set(key, body);
    } else {
      const current = next.get(key);
      assert.ok(current, `update of missing ${key}`);
      assert.equal(w.body.metadata.resourceVersion, current.metadata.resourceVersion, 'an update carries the resourceVersion it read');
      const body = structuredClone(w.body);
      body.metadata = { ...body.metadata, resourceVersion: String(++version) };
      next.set(key, body);
    }
  }
  return next;
}

/** Applies the writes for `intent` and checks that the result needs no more and observes as the intent. */
function step(live: LiveObjects, intent: TrafficIntent, c: NginxConfig = basic, context: TrafficContext = ctx): { live: LiveObjects; writes: TrafficWrite[] } {
  const writes = nginxRouter.writes(context, c, live, intent);
  const after = apply(live, writes);
  assert.deepEqual(nginxRouter.writes(context, c, after, intent), [], 'writes again after applying them: none');
  const seen = nginxRouter.observe(context, c, after);
  assert.deepEqual(seen.problems, []);
  assert.equal(seen.canaryWeight, intent.canaryWeight, 'observes the weight it wrote');
  assert.deepEqual(seen.headerRoutes, intent.headerRoutes.map((r) => r.name));
  return { live: after, writes };
}

function canaryOf(live: LiveObjects, name = 'web-web-canary'): TrafficObject | undefined {
  return live.get(refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name }));
}

function exactRoute(name = 'canary-header', value = 'yes'): TrafficIntent['headerRoutes'][number] {
  return { name, match: [{ headerName: 'X-Canary', headerValue: { exact: value } }] };
}

const header = (canaryWeight: number, route = exactRoute()): TrafficIntent => ({ canaryWeight, headerRoutes: [route], mirrorRoutes: [] });
const withRoutes: TrafficContext = { ...ctx, managedRoutes: ['canary-header'] };

describe('nginxRouter', () => {
  it('is the nginx router for Ingresses, with NGINX\'s capabilities', () => {
    assert.equal(nginxRouter.key, 'nginx');
    assert.equal(nginxRouter.label, 'NGINX Ingress');
    assert.deepEqual(nginxRouter.kinds, [{ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses' }]);
    assert.deepEqual(nginxRouter.capabilities, { headerRoutes: true, headerMatchKinds: ['exact', 'regex'], maxHeaderMatches: 1, maxHeaderRoutes: 1, mirrorRoutes: false });
    assert.deepEqual(nginxRouter.gitControlled(ctx, basic), []);
    assert.deepEqual(nginxRouter.parse({ stableIngress: 'web', extra: 1 }), parseNginxConfig({ stableIngress: 'web', extra: 1 }));
  });

  it('reads each stable Ingress and its canary Ingress, in the Rollout\'s namespace', () => {
    const c = config({ stableIngresses: ['web', 'web-internal'] });
    assert.deepEqual(
      nginxRouter.objects(ctx, c).map((r) => `${r.apiVersion} ${r.kind} ${r.plural} ${r.namespace}/${r.name}`),
      [
        'networking.k8s.io/v1 Ingress ingresses shop/web',
        'networking.k8s.io/v1 Ingress ingresses shop/web-web-canary',
        'networking.k8s.io/v1 Ingress ingresses shop/web-internal',
        'networking.k8s.io/v1 Ingress ingresses shop/web-web-internal-canary',
      ],
    );
  });

  it('names the canary Ingress as Argo does, cut to 253 characters', () => {
    assert.equal(canaryIngressName('web', 'shop'), 'web-shop-canary');
    const long = canaryIngressName('r', 'i'.repeat(300));
    assert.equal(long.length, 253);
    assert.ok(long.endsWith('iii-canary'));
  });

  it('before the rollout: no canary Ingress observes as weight 0 with no routes, and weight 0 writes nothing', () => {
    const live = liveObjects(stableIngress());
    assert.deepEqual(nginxRouter.observe(ctx, basic, live), { router: 'NGINX Ingress', canaryWeight: 0, headerRoutes: [], mirrorRoutes: [], verified: undefined, problems: [] });
    assert.deepEqual(nginxRouter.writes(ctx, basic, live, weightOnly(0)), []);
  });

  it('at 20 creates the canary Ingress: stable-Service paths turned to the canary, class, TLS and labels copied, canary annotations', () => {
    const { writes } = step(liveObjects(stableIngress()), weightOnly(20));
    assert.deepEqual(writes, [
      {
        op: 'create',
        ref: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses', namespace: 'shop', name: 'web-web-canary' },
        body: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: {
            name: 'web-web-canary',
            namespace: 'shop',
            labels: { app: 'web' },
            annotations: { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '20' },
          },
          spec: CANARY_SPEC,
        },
      },
    ]);
  });

  it('at 50 and 100 updates only the weight, keeping the object as read', () => {
    let { live } = step(liveObjects(stableIngress()), weightOnly(20));
    const at20 = canaryOf(live);
    assert.ok(at20);
    let writes: TrafficWrite[];
    ({ live, writes } = step(live, weightOnly(50)));
    assert.deepEqual(writes, [
      {
        op: 'update',
        ref: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses', namespace: 'shop', name: 'web-web-canary' },
        body: { ...at20, metadata: { ...at20.metadata, annotations: { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '50' } } },
      },
    ]);
    const at50 = canaryOf(live);
    assert.ok(at50);
    ({ writes } = step(live, weightOnly(100)));
    assert.deepEqual(writes, [
      {
        op: 'update',
        ref: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses', namespace: 'shop', name: 'web-web-canary' },
        body: {
          apiVersion: 'networking.k8s.io/v1',
          kind: 'Ingress',
          metadata: {
            name: 'web-web-canary',
            namespace: 'shop',
            uid: 'uid-web-web-canary',
            resourceVersion: at50.metadata.resourceVersion,
            ownerReferences: [OWNER],
            labels: { app: 'web' },
            annotations: { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '100' },
          },
          spec: CANARY_SPEC,
        },
      },
    ]);
  });

  it('never writes the stable Ingress', () => {
    let live = liveObjects(stableIngress());
    const intents = [weightOnly(20), header(20), weightOnly(50), weightOnly(100), weightOnly(0)];
    for (const intent of intents) {
      const writes = nginxRouter.writes(withRoutes, basic, live, intent);
      assert.ok(writes.every((w) => w.ref.name === 'web-web-canary'), JSON.stringify(writes));
      live = apply(live, writes);
    }
    assert.deepEqual(live.get(refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web' })), stableIngress());
  });

  it('at completion (weight 0, no routes) deletes the canary Ingress, leaving the pre-rollout objects', () => {
    const before = liveObjects(stableIngress());
    const { live: at100 } = step(before, weightOnly(100));
    const { live, writes } = step(at100, weightOnly(0));
    assert.deepEqual(writes, [{ op: 'delete', ref: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', plural: 'ingresses', namespace: 'shop', name: 'web-web-canary' } }]);
    assert.deepEqual(live, before);
  });

  it('on abort mid-way with a header route deletes the canary Ingress', () => {
    const before = liveObjects(stableIngress());
    const { live: at50 } = step(before, header(50), basic, withRoutes);
    const { live, writes } = step(at50, weightOnly(0), basic, withRoutes);
    assert.deepEqual(writes.map((w) => `${w.op} ${w.ref.name}`), ['delete web-web-canary']);
    assert.deepEqual(live, before);
  });

  it('a header route (exact) sets canary-by-header and canary-by-header-value; removing it removes them', () => {
    let { live } = step(liveObjects(stableIngress()), weightOnly(20), basic, withRoutes);
    ({ live } = step(live, header(20), basic, withRoutes));
    assert.deepEqual(canaryOf(live)?.metadata.annotations, {
      [`${P}/canary`]: 'true',
      [`${P}/canary-weight`]: '20',
      [`${P}/canary-by-header`]: 'X-Canary',
      [`${P}/canary-by-header-value`]: 'yes',
      'weir.dev/header-route': 'canary-header',
    });
    ({ live } = step(live, weightOnly(20), basic, withRoutes));
    assert.deepEqual(canaryOf(live)?.metadata.annotations, { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '20' });
  });

  it('a header route (regex) sets canary-by-header-pattern', () => {
    const route = { name: 'canary-header', match: [{ headerName: 'X-User', headerValue: { regex: '^(alice|bob)$' } }] };
    const { live } = step(liveObjects(stableIngress()), header(10, route), basic, withRoutes);
    const a = canaryOf(live)?.metadata.annotations ?? {};
    assert.equal(a[`${P}/canary-by-header`], 'X-User');
    assert.equal(a[`${P}/canary-by-header-pattern`], '^(alice|bob)$');
    assert.equal(a[`${P}/canary-by-header-value`], undefined);
  });

  it('a header route at weight 0 creates the canary Ingress at weight 0; removing the route then deletes it', () => {
    const before = liveObjects(stableIngress());
    let { live, writes } = step(before, header(0), basic, withRoutes);
    assert.equal(writes[0]?.op, 'create');
    assert.equal(canaryOf(live)?.metadata.annotations?.[`${P}/canary-weight`], '0');
    ({ live, writes } = step(live, weightOnly(0), basic, withRoutes));
    assert.equal(writes[0]?.op, 'delete');
    assert.deepEqual(live, before);
  });

  it('changing the header route\'s value or name updates the annotations', () => {
    let { live } = step(liveObjects(stableIngress()), header(20), basic, withRoutes);
    const context = { ...ctx, managedRoutes: ['canary-header', 'beta'] };
    ({ live } = step(live, header(20, exactRoute('beta', 'beta-users')), basic, context));
    const a = canaryOf(live)?.metadata.annotations ?? {};
    assert.equal(a['weir.dev/header-route'], 'beta');
    assert.equal(a[`${P}/canary-by-header-value`], 'beta-users');
  });

  it('a header route wins over the user\'s canary-by-header annotations, which come back when it is removed', () => {
    const c = config({
      stableIngress: 'web',
      additionalIngressAnnotations: { 'canary-by-header': 'X-Static', 'canary-by-header-value': 'always-me', 'canary-by-cookie': 'beta' },
    });
    const user = { [`${P}/canary-by-header`]: 'X-Static', [`${P}/canary-by-header-value`]: 'always-me', [`${P}/canary-by-cookie`]: 'beta' };
    let { live } = step(liveObjects(stableIngress()), weightOnly(20), c, withRoutes);
    assert.deepEqual(canaryOf(live)?.metadata.annotations, { ...user, [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '20' });
    const regex = { name: 'canary-header', match: [{ headerName: 'X-User', headerValue: { regex: 'qa-.*' } }] };
    ({ live } = step(live, header(20, regex), c, withRoutes));
    assert.deepEqual(canaryOf(live)?.metadata.annotations, {
      [`${P}/canary-by-cookie`]: 'beta',
      [`${P}/canary-by-header`]: 'X-User',
      [`${P}/canary-by-header-pattern`]: 'qa-.*',
      'weir.dev/header-route': 'canary-header',
      [`${P}/canary`]: 'true',
      [`${P}/canary-weight`]: '20',
    });
    ({ live } = step(live, weightOnly(20), c, withRoutes));
    assert.deepEqual(canaryOf(live)?.metadata.annotations, { ...user, [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '20' });
  });

  it('writes additionalIngressAnnotations under the prefix and canaryIngressAnnotations as they are', () => {
    const c = config({
      stableIngress: 'web',
      additionalIngressAnnotations: { 'canary-by-cookie': 'beta', 'load-balance': 'ewma' },
      canaryIngressAnnotations: { 'example.com/team': 'shop', [`${P}/load-balance`]: 'round_robin' },
    });
    const { live } = step(liveObjects(stableIngress()), weightOnly(20), c);
    assert.deepEqual(canaryOf(live)?.metadata.annotations, {
      [`${P}/canary-by-cookie`]: 'beta',
      [`${P}/load-balance`]: 'round_robin',
      'example.com/team': 'shop',
      [`${P}/canary`]: 'true',
      [`${P}/canary-weight`]: '20',
    });
  });

  it('uses annotationPrefix for every annotation it writes', () => {
    const c = config({ stableIngress: 'web', annotationPrefix: 'custom.example.com', additionalIngressAnnotations: { 'canary-by-cookie': 'beta' } });
    const { live } = step(liveObjects(stableIngress()), header(30), c, withRoutes);
    assert.deepEqual(canaryOf(live)?.metadata.annotations, {
      'custom.example.com/canary-by-cookie': 'beta',
      'custom.example.com/canary-by-header': 'X-Canary',
      'custom.example.com/canary-by-header-value': 'yes',
      'weir.dev/header-route': 'canary-header',
      'custom.example.com/canary': 'true',
      'custom.example.com/canary-weight': '30',
    });
  });

  it('with maxWeight 1000 writes canary-weight-total', () => {
    const context = testContext({ maxWeight: 1000 });
    const { live } = step(liveObjects(stableIngress()), weightOnly(200), basic, context);
    assert.deepEqual(canaryOf(live)?.metadata.annotations, { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '200', [`${P}/canary-weight-total`]: '1000' });
    assert.equal(nginxRouter.observe(ctx, basic, live).canaryWeight, undefined, 'at maxWeight 100 the same object is out of shape');
  });

  it('copies the legacy kubernetes.io/ingress.class annotation, and no other annotation of the stable Ingress', () => {
    const stable = stableIngress('web', { annotations: { 'kubernetes.io/ingress.class': 'nginx-internal', [`${P}/rewrite-target`]: '/' } });
    delete (stable.spec as { ingressClassName?: string }).ingressClassName;
    const { live } = step(liveObjects(stable), weightOnly(20));
    const canary = canaryOf(live);
    assert.ok(canary);
    assert.deepEqual(canary.metadata.annotations, { 'kubernetes.io/ingress.class': 'nginx-internal', [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '20' });
    assert.equal((canary.spec as { ingressClassName?: string }).ingressClassName, undefined);
  });

  it('keeps an ingressClassName the API server defaulted on the canary Ingress when the stable Ingress names none', () => {
    const stable = stableIngress();
    delete (stable.spec as { ingressClassName?: string }).ingressClassName;
    let live = apply(liveObjects(stable), nginxRouter.writes(ctx, basic, liveObjects(stable), weightOnly(20)));
    const canary = canaryOf(live);
    assert.ok(canary);
    live = new Map(live).set(refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web-web-canary' }), {
      ...canary,
      spec: { ...(canary.spec as object), ingressClassName: 'default-class' },
    });
    assert.equal(nginxRouter.observe(ctx, basic, live).canaryWeight, 20);
    assert.deepEqual(nginxRouter.writes(ctx, basic, live, weightOnly(20)), []);
  });

  it('keeps other controllers\' annotations and labels on the canary Ingress, and removes stale ones under the prefix', () => {
    let { live } = step(liveObjects(stableIngress()), weightOnly(20));
    const canary = canaryOf(live);
    assert.ok(canary);
    const touched: TrafficObject = {
      ...canary,
      metadata: {
        ...canary.metadata,
        labels: { ...canary.metadata.labels, 'cattle.io/owner': 'x' },
        annotations: { ...canary.metadata.annotations, 'field.cattle.io/publicEndpoints': '[]', [`${P}/canary-by-cookie`]: 'stale' },
      },
    };
    live = new Map(live).set(refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web-web-canary' }), touched);
    assert.equal(nginxRouter.observe(ctx, basic, live).canaryWeight, undefined, 'a stale annotation under the prefix is drift');
    ({ live } = step(live, weightOnly(20)));
    assert.deepEqual(canaryOf(live)?.metadata.labels, { app: 'web', 'cattle.io/owner': 'x' });
    assert.deepEqual(canaryOf(live)?.metadata.annotations, { 'field.cattle.io/publicEndpoints': '[]', [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '20' });
  });

  it('observes drift of the canary Ingress as an unknown weight, and rewrites it', () => {
    const { live } = step(liveObjects(stableIngress()), weightOnly(20));
    const canary = canaryOf(live);
    assert.ok(canary);
    const key = refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web-web-canary' });
    const drifted: TrafficObject[] = [
      { ...canary, spec: { ...CANARY_SPEC, rules: [] } },
      { ...canary, spec: { ...CANARY_SPEC, defaultBackend: { service: { name: 'web-canary', port: { number: 80 } } } } },
      { ...canary, metadata: { ...canary.metadata, annotations: { [`${P}/canary-weight`]: '20' } } },
      { ...canary, metadata: { ...canary.metadata, annotations: { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: 'twenty' } } },
      { ...canary, metadata: { ...canary.metadata, annotations: { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '120' } } },
      { ...canary, metadata: { ...canary.metadata, labels: {} } },
    ];
    for (const d of drifted) {
      const l = new Map(live).set(key, d);
      assert.equal(nginxRouter.observe(ctx, basic, l).canaryWeight, undefined, JSON.stringify(d));
      const writes = nginxRouter.writes(ctx, basic, l, weightOnly(20));
      assert.deepEqual(writes.map((w) => w.op), ['update']);
      const fixed = canaryOf(apply(l, writes));
      assert.deepEqual(fixed, { ...canary, metadata: { ...canary.metadata, resourceVersion: fixed?.metadata.resourceVersion } });
    }
  });

  it('follows a change of the stable Ingress: the canary Ingress is out of shape until rewritten', () => {
    const { live } = step(liveObjects(stableIngress()), weightOnly(20));
    const stable = stableIngress();
    (stable.spec as { tls?: unknown }).tls = [{ hosts: ['web.example.com', 'www.example.com'], secretName: 'web-tls-2' }];
    const changed = new Map(live).set(refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web' }), stable);
    assert.equal(nginxRouter.observe(ctx, basic, changed).canaryWeight, undefined);
    const { live: after } = step(changed, weightOnly(20));
    assert.deepEqual((canaryOf(after)?.spec as { tls?: unknown }).tls, [{ hosts: ['web.example.com', 'www.example.com'], secretName: 'web-tls-2' }]);
  });

  it('a canary Ingress left at weight 0 without a header route is out of shape, and deleted', () => {
    const { live } = step(liveObjects(stableIngress()), header(0), basic, withRoutes);
    const canary = canaryOf(live);
    assert.ok(canary);
    const leftOver = new Map(live).set(refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web-web-canary' }), {
      ...canary,
      metadata: { ...canary.metadata, annotations: { [`${P}/canary`]: 'true', [`${P}/canary-weight`]: '0' } },
    });
    assert.equal(nginxRouter.observe(ctx, basic, leftOver).canaryWeight, undefined);
    assert.deepEqual(nginxRouter.writes(ctx, basic, leftOver, weightOnly(0)).map((w) => w.op), ['delete']);
  });

  it('a header route whose annotations were half removed is reported, out of shape, and rewritten', () => {
    const { live } = step(liveObjects(stableIngress()), header(20), basic, withRoutes);
    const canary = canaryOf(live);
    assert.ok(canary);
    const annotations = Object.fromEntries(Object.entries(canary.metadata.annotations ?? {}).filter(([k]) => k !== `${P}/canary-by-header-value`));
    const broken = new Map(live).set(refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web-web-canary' }), {
      ...canary,
      metadata: { ...canary.metadata, annotations },
    });
    const seen = nginxRouter.observe(withRoutes, basic, broken);
    assert.equal(seen.canaryWeight, undefined);
    assert.deepEqual(seen.headerRoutes, ['canary-header']);
    step(broken, header(20), basic, withRoutes);
  });

  it('with two stable Ingresses writes a canary Ingress for each, and observes them together', () => {
    const c = config({ stableIngresses: ['web', 'web-internal'] });
    const internal = stableIngress('web-internal', { labels: { app: 'web', tier: 'internal' } });
    (internal.spec as { ingressClassName: string }).ingressClassName = 'nginx-internal';
    const before = liveObjects(stableIngress(), internal);
    let { live, writes } = step(before, weightOnly(20), c);
    assert.deepEqual(writes.map((w) => `${w.op} ${w.ref.name}`), ['create web-web-canary', 'create web-web-internal-canary']);
    const second = canaryOf(live, 'web-web-internal-canary');
    assert.ok(second);
    assert.deepEqual(second.metadata.labels, { app: 'web', tier: 'internal' });
    assert.equal((second.spec as { ingressClassName: string }).ingressClassName, 'nginx-internal');

    ({ live, writes } = step(live, weightOnly(50), c));
    assert.deepEqual(writes.map((w) => `${w.op} ${w.ref.name}`), ['update web-web-canary', 'update web-web-internal-canary']);

    // Only one of the two moved: the weights disagree.
    const half = apply(live, nginxRouter.writes(ctx, c, live, weightOnly(100)).slice(0, 1));
    assert.equal(nginxRouter.observe(ctx, c, half).canaryWeight, undefined);

    ({ live, writes } = step(half, weightOnly(0), c));
    assert.deepEqual(writes.map((w) => `${w.op} ${w.ref.name}`), ['delete web-web-canary', 'delete web-web-internal-canary']);
    assert.deepEqual(live, before);
  });

  it('refuses to touch an Ingress of the canary name the Rollout does not own', () => {
    const foreign: TrafficObject = {
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name: 'web-web-canary', namespace: 'shop', resourceVersion: '3', ownerReferences: [{ ...OWNER, uid: 'uid-other' }] },
      spec: { rules: [] },
    };
    for (const f of [foreign, { ...foreign, metadata: { name: 'web-web-canary', namespace: 'shop' } }]) {
      const live = liveObjects(stableIngress(), f);
      for (const intent of [weightOnly(20), header(50), weightOnly(0)]) {
        assert.deepEqual(nginxRouter.writes(withRoutes, basic, live, intent), []);
      }
      const seen = nginxRouter.observe(ctx, basic, live);
      assert.equal(seen.canaryWeight, undefined);
      assert.deepEqual(seen.problems, ['Ingress shop/web-web-canary exists and is not controlled by Rollout shop/web: Weir will not overwrite it (rename or delete it)']);
    }
  });

  it('reports a missing stable Ingress, and writes nothing for it', () => {
    const c = config({ stableIngresses: ['web', 'web-internal'] });
    const live = liveObjects(stableIngress());
    const seen = nginxRouter.observe(ctx, c, live);
    assert.deepEqual(seen.problems, ['Ingress shop/web-internal not found']);
    assert.equal(seen.canaryWeight, undefined);
    assert.deepEqual(nginxRouter.writes(ctx, c, live, weightOnly(20)).map((w) => `${w.op} ${w.ref.name}`), ['create web-web-canary']);
  });

  it('reports a stable Ingress with no path to the stable Service', () => {
    const stable = stableIngress();
    (stable.spec as { rules: unknown[] }).rules = [{ host: 'web.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'other', port: { number: 80 } } } }] } }];
    const live = liveObjects(stable);
    const seen = nginxRouter.observe(ctx, basic, live);
    assert.deepEqual(seen.problems, ['Ingress shop/web has no rule path whose backend is Service web-stable']);
    assert.equal(seen.canaryWeight, undefined);
    assert.deepEqual(nginxRouter.writes(ctx, basic, live, weightOnly(20)), []);
  });

  it('still deletes its canary Ingress at weight 0 when the stable Ingress is gone', () => {
    const { live } = step(liveObjects(stableIngress()), weightOnly(20));
    const gone = new Map(live);
    gone.delete(refKey({ apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', namespace: 'shop', name: 'web' }));
    assert.deepEqual(nginxRouter.observe(ctx, basic, gone).problems, ['Ingress shop/web not found']);
    assert.deepEqual(nginxRouter.writes(ctx, basic, gone, weightOnly(0)).map((w) => w.op), ['delete']);
  });

  it('throws on intents its capabilities refuse', () => {
    const live = liveObjects(stableIngress());
    const two: TrafficIntent = { canaryWeight: 10, headerRoutes: [exactRoute('a'), exactRoute('b')], mirrorRoutes: [] };
    const twoHeaders: TrafficIntent = {
      canaryWeight: 10,
      headerRoutes: [{ name: 'a', match: [{ headerName: 'X-A', headerValue: { exact: '1' } }, { headerName: 'X-B', headerValue: { exact: '2' } }] }],
      mirrorRoutes: [],
    };
    const prefix = header(10, { name: 'a', match: [{ headerName: 'X-A', headerValue: { prefix: 'be' } }] });
    const mirror: TrafficIntent = { canaryWeight: 10, headerRoutes: [], mirrorRoutes: [{ name: 'm', match: [{ path: { prefix: '/' } }], percentage: 100 }] };
    assert.throws(() => nginxRouter.writes(ctx, basic, live, two), /one header route at a time/);
    assert.throws(() => nginxRouter.writes(ctx, basic, live, twoHeaders), /exactly one header/);
    assert.throws(() => nginxRouter.writes(ctx, basic, live, prefix), /cannot match a prefix/);
    assert.throws(() => nginxRouter.writes(ctx, basic, live, mirror), /cannot mirror/);
    assert.throws(() => nginxRouter.writes(ctx, basic, live, weightOnly(101)), /from 0 to 100/);
    assert.throws(() => nginxRouter.writes(ctx, basic, live, weightOnly(12.5)), /whole number/);
  });
});
