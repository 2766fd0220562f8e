import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TRAFFIC_HEADER_ANNOTATION,
  TRAFFIC_HEADER_SHARE_ANNOTATION,
  TRAFFIC_RATE_ANNOTATION,
  parseTrafficTarget,
  planRouting,
  type PodLike,
  type RoutingPlan,
  type ServiceLike,
} from './endpoints.ts';
import type { GatewayHTTPRouteLike } from './gateway.ts';
import type { DestinationRuleLike, VirtualServiceLike } from './istio.ts';
import type { IngressLike } from './nginx.ts';
import { createRequestRouter, selectedAt } from './request-router.ts';
import { TRAFFIC_VIA_ANNOTATION, parseTrafficVia, routingFor, type RoutingObjects } from './routing.ts';
import type { TrafficSplitLike } from './smi.ts';
import type { TraefikServiceLike } from './traefik.ts';

const target = { name: 'web-stable', namespace: 'shop' };

const route: GatewayHTTPRouteLike = {
  metadata: { name: 'web', namespace: 'shop' },
  spec: { rules: [{ backendRefs: [{ name: 'web-stable', weight: 1 }, { name: 'web-canary', weight: 1 }] }] },
};
const ingress: IngressLike = {
  metadata: { name: 'web', namespace: 'shop' },
  spec: { rules: [{ host: 'web', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web-stable' } } }] } }] },
};
const vs: VirtualServiceLike = { metadata: { name: 'web', namespace: 'shop' }, spec: { http: [{ route: [{ destination: { host: 'web-stable' } }] }] } };
const split: TrafficSplitLike = { metadata: { name: 'web', namespace: 'shop' }, spec: { service: 'web-stable', backends: [{ service: 'web-canary', weight: 1 }] } };
const traefik: TraefikServiceLike = { metadata: { name: 'wrr', namespace: 'shop' }, spec: { weighted: { services: [{ name: 'web-canary', weight: 1 }] } } };

describe('routingFor: which object decides', () => {
  test('HTTPRoute, then Ingress, then VirtualService, then TrafficSplit; none: the Service itself', () => {
    const all: RoutingObjects = { httpRoutes: [route], ingresses: [ingress], virtualServices: [vs], trafficSplits: [split], traefikServices: [traefik] };
    assert.equal(routingFor(target, undefined, all)?.kind, 'HTTPRoute');
    assert.equal(routingFor(target, undefined, { ...all, httpRoutes: [] })?.kind, 'Ingress');
    assert.equal(routingFor(target, undefined, { ...all, httpRoutes: [], ingresses: [] })?.kind, 'VirtualService');
    assert.equal(routingFor(target, undefined, { trafficSplits: [split], traefikServices: [traefik] })?.kind, 'TrafficSplit');
    assert.equal(routingFor(target, undefined, { traefikServices: [traefik] }), undefined, 'TraefikServices only through traffic-via');
  });

  test('traffic-via names the object explicitly and wins', () => {
    const all: RoutingObjects = { httpRoutes: [route], ingresses: [ingress], virtualServices: [vs], trafficSplits: [split], traefikServices: [traefik] };
    const via = (value: string) => {
      const parsed = parseTrafficVia(value, 'shop');
      assert.ok(parsed.ok);
      return routingFor(target, parsed.via, all);
    };
    assert.equal(via('traefikservice/wrr')?.kind, 'TraefikService');
    assert.equal(via('TraefikService/shop/wrr')?.object, 'shop/wrr');
    assert.equal(via('trafficsplit/web')?.kind, 'TrafficSplit');
    assert.equal(via('virtualservice/web')?.kind, 'VirtualService');
    assert.equal(via('ingress/web')?.kind, 'Ingress');
    const missing = via('traefikservice/nope');
    assert.deepEqual(missing?.rules, [], 'a missing object routes nothing');
    assert.match(missing.problems[0] ?? '', /not found/);
    const notFronting = routingFor({ name: 'other', namespace: 'shop' }, { kind: 'HTTPRoute', namespace: 'shop', name: 'web' }, all);
    assert.match(notFronting?.problems[0] ?? '', /does not send to Service shop\/other/);
  });

  test('parseTrafficVia refuses unknown kinds and malformed names', () => {
    assert.deepEqual(parseTrafficVia('traefikservice/wrr', 'shop'), { ok: true, via: { kind: 'TraefikService', namespace: 'shop', name: 'wrr' } });
    assert.deepEqual(parseTrafficVia(' httproute/edge/web ', 'shop'), { ok: true, via: { kind: 'HTTPRoute', namespace: 'edge', name: 'web' } });
    for (const bad of ['gateway/web', 'traefikservice', 'traefikservice/', 'traefikservice/a/b/c', 'traefikservice/Bad_Name']) {
      assert.equal(parseTrafficVia(bad, 'shop').ok, false, bad);
    }
  });
});

function svc(name: string, selector: Record<string, string>, annotations: Record<string, string> = {}): ServiceLike {
  return {
    metadata: { name, namespace: 'shop', annotations },
    spec: { selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }, { name: 'admin', port: 9000, targetPort: 9000 }] },
  };
}
function pod(name: string, ip: string, labels: Record<string, string>): PodLike {
  return {
    metadata: { name, namespace: 'shop', labels },
    spec: { containers: [{ name: 'app', ports: [{ name: 'http', containerPort: 8080 }] }] },
    status: { phase: 'Running', podIP: ip, conditions: [{ type: 'Ready', status: 'True' }] },
  };
}

describe('parseTrafficTarget: header and via annotations', () => {
  const rate = { [TRAFFIC_RATE_ANNOTATION]: '10' };
  test('a header with a share; the share defaults to 1', () => {
    assert.deepEqual(parseTrafficTarget(svc('web', {}, { ...rate, [TRAFFIC_HEADER_ANNOTATION]: 'X-Canary: yes', [TRAFFIC_HEADER_SHARE_ANNOTATION]: '0.3' })), {
      ok: true,
      rate: 10,
      path: '/',
      capped: false,
      header: { name: 'X-Canary', value: 'yes', share: 0.3 },
    });
    const all = parseTrafficTarget(svc('web', {}, { ...rate, [TRAFFIC_HEADER_ANNOTATION]: 'X-Canary:always' }));
    assert.ok(all?.ok === true);
    assert.deepEqual(all.header, { name: 'X-Canary', value: 'always', share: 1 });
    // Without the new annotations the result is as before.
    assert.deepEqual(parseTrafficTarget(svc('web', {}, rate)), { ok: true, rate: 10, path: '/', capped: false });
  });

  test('invalid header, share or via make the target invalid', () => {
    for (const annotations of [
      { [TRAFFIC_HEADER_ANNOTATION]: 'no colon' },
      { [TRAFFIC_HEADER_ANNOTATION]: 'Bad Name: x' },
      { [TRAFFIC_HEADER_ANNOTATION]: 'X: y', [TRAFFIC_HEADER_SHARE_ANNOTATION]: '1.5' },
      { [TRAFFIC_HEADER_SHARE_ANNOTATION]: '0.5' },
      { [TRAFFIC_VIA_ANNOTATION]: 'nginx/web' },
    ]) {
      assert.equal(parseTrafficTarget(svc('web', {}, { ...rate, ...annotations }))?.ok, false, JSON.stringify(annotations));
    }
    const via = parseTrafficTarget(svc('web', {}, { ...rate, [TRAFFIC_VIA_ANNOTATION]: 'traefikservice/wrr' }));
    assert.ok(via?.ok === true);
    assert.deepEqual(via.via, { kind: 'TraefikService', namespace: 'shop', name: 'wrr' });
  });
});

describe('planRouting: endpoints of each rule', () => {
  const web = svc('web', { app: 'web' }, { [TRAFFIC_RATE_ANNOTATION]: '10' });
  const stable = svc('web-stable', { app: 'web' });
  const canary = svc('web-canary', { app: 'web' });
  const pods = [
    pod('s1', '127.0.0.2', { app: 'web', 'rollouts-pod-template-hash': 'aaa' }),
    pod('s2', '127.0.0.3', { app: 'web', 'rollouts-pod-template-hash': 'aaa' }),
    pod('c1', '127.0.0.4', { app: 'web', 'rollouts-pod-template-hash': 'bbb' }),
    pod('other', '127.0.0.9', { app: 'other', 'rollouts-pod-template-hash': 'bbb' }),
  ];

  test('Istio subsets: the Service selector AND the subset labels; named backends "<service>:<subset>"', () => {
    const subsetVs: VirtualServiceLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        hosts: ['web'],
        http: [{ route: [{ destination: { host: 'web', subset: 'stable' }, weight: 70 }, { destination: { host: 'web', subset: 'canary' }, weight: 30 }], mirror: { host: 'web', subset: 'gone' } }],
      },
    };
    const dr: DestinationRuleLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { host: 'web', subsets: [{ name: 'stable', labels: { 'rollouts-pod-template-hash': 'aaa' } }, { name: 'canary', labels: { 'rollouts-pod-template-hash': 'bbb' } }] },
    };
    const plan = planRouting(web, [web], pods, { virtualServices: [subsetVs], destinationRules: [dr] });
    assert.equal(plan.router, 'VirtualService');
    assert.deepEqual(plan.rules[0]?.backends, [
      { name: 'web:stable', weight: 70, endpoints: ['127.0.0.2:8080', '127.0.0.3:8080'] },
      { name: 'web:canary', weight: 30, endpoints: ['127.0.0.4:8080'] },
    ]);
    assert.deepEqual(plan.rules[0].mirrors, [{ backend: { name: 'web:gone', weight: 1, endpoints: [] }, percent: 100 }]);
    assert.deepEqual(plan.related, ['DestinationRule shop/web']);
  });

  test('Service ports by number or name; other namespaces prefixed', () => {
    const ts: TraefikServiceLike = {
      metadata: { name: 'wrr', namespace: 'shop' },
      spec: { weighted: { services: [{ name: 'web-stable', port: 'admin', weight: 1 }, { name: 'web-canary', port: 80, weight: 1 }, { name: 'x', namespace: 'elsewhere' }] } },
    };
    const plan = planRouting(web, [web, stable, canary], pods, { traefikServices: [ts] }, { kind: 'TraefikService', namespace: 'shop', name: 'wrr' });
    assert.deepEqual(
      plan.rules[0]?.backends.map((b) => [b.name, b.endpoints]),
      [
        ['web-stable', ['127.0.0.2:9000', '127.0.0.3:9000', '127.0.0.4:9000']],
        ['web-canary', ['127.0.0.2:8080', '127.0.0.3:8080', '127.0.0.4:8080']],
        ['elsewhere/x', []],
      ],
    );
  });

  test('without a routing object: one rule, the Service itself', () => {
    const plan = planRouting(web, [web], pods, {});
    assert.deepEqual(plan, {
      related: [],
      rules: [{ source: 'Service shop/web', match: {}, backends: [{ name: 'web', weight: 1, endpoints: ['127.0.0.2:8080', '127.0.0.3:8080', '127.0.0.4:8080'] }], mirrors: [] }],
      problems: [],
      rejected: [],
    });
  });
});

describe('request router: header share, per-rule split, mirrors', () => {
  test('selectedAt selects exactly floor(n * share) of the first n, evenly', () => {
    const picks = Array.from({ length: 10 }, (_, i) => selectedAt(i + 1, 0.3));
    assert.deepEqual(picks, [false, false, false, true, false, false, true, false, false, true]);
    for (const share of [0, 0.1, 0.25, 1 / 3, 0.7, 1]) {
      let selected = 0;
      for (let n = 1; n <= 1000; n++) if (selectedAt(n, share)) selected += 1;
      assert.equal(selected, Math.floor(1000 * share + 1e-9), `share ${share}`);
    }
  });

  /** Sends `n` requests through `plan` and counts what the generator would count. */
  function simulate(plan: RoutingPlan, n: number, header?: { name: string; value: string; share: number }) {
    const router = createRequestRouter();
    const counts = { header: {} as Record<string, number>, plain: {} as Record<string, number>, mirrored: {} as Record<string, number>, noRoute: 0 };
    for (let i = 0; i < n; i++) {
      const r = router.next(plan.rules, '/', header);
      if (r.rule === undefined) {
        counts.noRoute += 1;
        continue;
      }
      const byBackend = r.withHeader ? counts.header : counts.plain;
      if (r.pick !== undefined) byBackend[r.pick.backend] = (byBackend[r.pick.backend] ?? 0) + 1;
      for (const m of r.mirrors) counts.mirrored[m.backend] = (counts.mirrored[m.backend] ?? 0) + 1;
    }
    return counts;
  }

  const services = [svc('web-stable', { app: 'web', 'rollouts-pod-template-hash': 'aaa' }), svc('web-canary', { app: 'web', 'rollouts-pod-template-hash': 'bbb' })];
  const pods = [pod('s1', '127.0.0.2', { app: 'web', 'rollouts-pod-template-hash': 'aaa' }), pod('c1', '127.0.0.3', { app: 'web', 'rollouts-pod-template-hash': 'bbb' })];
  const stableSvc = services[0] ?? svc('x', {});

  test('requests with the header reach only the canary; the others split by weight', () => {
    const headerVs: VirtualServiceLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        http: [
          { match: [{ headers: { 'x-canary': { exact: 'yes' } } }], route: [{ destination: { host: 'web-canary' } }] },
          { route: [{ destination: { host: 'web-stable' }, weight: 70 }, { destination: { host: 'web-canary' }, weight: 30 }] },
        ],
      },
    };
    const plan = planRouting(stableSvc, services, pods, { virtualServices: [headerVs] });
    const counts = simulate(plan, 1000, { name: 'X-Canary', value: 'yes', share: 0.2 });
    assert.deepEqual(counts.header, { 'web-canary': 200 });
    assert.deepEqual(counts.plain, { 'web-stable': 560, 'web-canary': 240 });
    assert.deepEqual(counts.mirrored, {});
  });

  test('mirrors copy their percent of the rule’s requests; responses still come from stable', () => {
    const mirrorRoute: GatewayHTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        rules: [
          {
            backendRefs: [{ name: 'web-stable', weight: 100 }, { name: 'web-canary', weight: 0 }],
            filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { name: 'web-canary' }, percent: 40 } }],
          },
        ],
      },
    };
    const plan = planRouting(stableSvc, services, pods, { httpRoutes: [mirrorRoute] });
    const counts = simulate(plan, 1000);
    assert.deepEqual(counts.plain, { 'web-stable': 1000 });
    assert.deepEqual(counts.mirrored, { 'web-canary': 400 });
  });

  test('NGINX header "never" overrides the weight; requests matching no rule are not routed', () => {
    const P = 'nginx.ingress.kubernetes.io';
    const main: IngressLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { rules: [{ host: 'web', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web-stable' } } }] } }] },
    };
    const canary: IngressLike = {
      metadata: { name: 'web-canary', namespace: 'shop', annotations: { [`${P}/canary`]: 'true', [`${P}/canary-by-header`]: 'X-Canary', [`${P}/canary-weight`]: '30' } },
      spec: { rules: [{ host: 'web', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: 'web-canary' } } }] } }] },
    };
    const plan = planRouting(stableSvc, services, pods, { ingresses: [main, canary] });
    const counts = simulate(plan, 1000, { name: 'X-Canary', value: 'never', share: 0.5 });
    assert.deepEqual(counts.header, { 'web-stable': 500 });
    assert.deepEqual(counts.plain, { 'web-stable': 350, 'web-canary': 150 });
    const exact: IngressLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { rules: [{ http: { paths: [{ path: '/only', pathType: 'Exact', backend: { service: { name: 'web-stable' } } }] } }] },
    };
    assert.equal(simulate(planRouting(stableSvc, services, pods, { ingresses: [exact] }), 10).noRoute, 10);
  });
});
