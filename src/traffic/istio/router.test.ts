import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext, weightOnly } from '../testkit.ts';
import { refKey } from '../types.ts';
import { applyWrites, config, converge, dest, destinationRule, hostRoute, httpOf, liveObjects, specOf, subsetRoute, virtualService, weights } from './fixtures.ts';
import { istioRouter } from './router.ts';

const hostLevel = config({ virtualService: { name: 'web', routes: ['primary'] } });
const ctx = testContext();

describe('istioRouter: the contract', () => {
  it('declares its key, label, kinds and capabilities', () => {
    assert.equal(istioRouter.key, 'istio');
    assert.equal(istioRouter.label, 'Istio');
    assert.deepEqual(istioRouter.kinds, [
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', plural: 'virtualservices' },
      { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', plural: 'destinationrules' },
    ]);
    assert.deepEqual(istioRouter.capabilities, { headerRoutes: true, headerMatchKinds: ['exact', 'prefix', 'regex'], maxHeaderMatches: undefined, maxHeaderRoutes: undefined, mirrorRoutes: true });
  });

  it('asks for the VirtualServices (name.namespace in theirs) and the DestinationRule (in the Rollout\'s namespace)', () => {
    const cfg = config({ virtualServices: [{ name: 'web' }, { name: 'edge.gateways' }], destinationRule: { name: 'web-dr', canarySubsetName: 'canary', stableSubsetName: 'stable' } });
    assert.deepEqual(istioRouter.objects(ctx, cfg), [
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', plural: 'virtualservices', namespace: 'shop', name: 'web' },
      { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', plural: 'virtualservices', namespace: 'gateways', name: 'edge' },
      { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', plural: 'destinationrules', namespace: 'shop', name: 'web-dr' },
    ]);
  });
});

describe('istioRouter: host-level weights', () => {
  const other = { name: 'legacy', route: [dest('legacy', 100)] };
  const start = liveObjects(virtualService({ http: [hostRoute(100, 0), other] }));

  it('observes the weight the route holds', () => {
    const seen = istioRouter.observe(ctx, hostLevel, start);
    assert.deepEqual(seen, { router: 'Istio', canaryWeight: 0, headerRoutes: [], mirrorRoutes: [], verified: undefined, problems: [] });
  });

  for (const step of [20, 50, 100]) {
    it(`writes ${100 - step}/${step} at step ${step}, changing only the weights`, () => {
      const { writes, live } = converge(ctx, hostLevel, start, weightOnly(step));
      assert.equal(writes.length, 1);
      const [w] = writes;
      assert.ok(w?.op === 'update');
      assert.deepEqual(w.ref, { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', plural: 'virtualservices', namespace: 'shop', name: 'web' });
      assert.equal(w.body.metadata.resourceVersion, '7');
      assert.deepEqual(w.body.metadata.labels, { app: 'web' });
      const http = httpOf(live);
      assert.deepEqual(weights(http[0]), [['web-stable', 100 - step], ['web-canary', step]]);
      assert.deepEqual(http[1], other, 'a route it does not weight is untouched');
      assert.deepEqual({ ...http[0], route: undefined }, { ...hostRoute(0, 0), route: undefined }, 'the rest of the route is untouched');
      const spec = specOf(live, 'VirtualService');
      assert.deepEqual([spec.hosts, spec.gateways], [['web.example.com'], ['shop/gw']]);
    });
  }

  it('goes back to 100/0 on abort and at completion ({0, [], []})', () => {
    const at50 = converge(ctx, hostLevel, start, weightOnly(50)).live;
    const back = converge(ctx, hostLevel, at50, weightOnly(0)).live;
    assert.deepEqual(specOf(back, 'VirtualService'), specOf(start, 'VirtualService'));
    const completed = converge(testContext({ stableHash: 'bbbb2222' }), hostLevel, at50, weightOnly(0)).live;
    assert.deepEqual(specOf(completed, 'VirtualService'), specOf(start, 'VirtualService'));
  });

  it('writes nothing when the objects hold the intent', () => {
    assert.deepEqual(istioRouter.writes(ctx, hostLevel, start, weightOnly(0)), []);
    const at30 = liveObjects(virtualService({ http: [hostRoute(70, 30)] }));
    assert.deepEqual(istioRouter.writes(ctx, hostLevel, at30, weightOnly(30)), []);
  });

  it('gives the stable maxTrafficWeight less the canary\'s', () => {
    const c = testContext({ maxWeight: 1000 });
    const live = converge(c, hostLevel, liveObjects(virtualService({ http: [hostRoute(1000, 0)] })), weightOnly(250)).live;
    assert.deepEqual(weights(httpOf(live)[0]), [['web-stable', 750], ['web-canary', 250]]);
  });

  it('reads any served version and writes networking.istio.io/v1', () => {
    const live = liveObjects(virtualService({ http: [hostRoute(100, 0)] }, 'web', 'shop', 'networking.istio.io/v1alpha3'));
    const [w] = istioRouter.writes(ctx, hostLevel, live, weightOnly(10));
    assert.ok(w?.op === 'update');
    assert.equal(w.body.apiVersion, 'networking.istio.io/v1');
    assert.equal(w.ref.apiVersion, 'networking.istio.io/v1');
  });

  it('recognises the Services in every name form, and leaves other destinations alone', () => {
    const route = { name: 'primary', route: [dest('web-stable.shop', 90), dest('web-canary.shop.svc.cluster.local', 10), dest('web-canary.other', 5), dest('mirror.example.com', 0)] };
    const live = converge(ctx, hostLevel, liveObjects(virtualService({ http: [route] })), weightOnly(40)).live;
    assert.deepEqual(weights(httpOf(live)[0]), [['web-stable.shop', 60], ['web-canary.shop.svc.cluster.local', 40], ['web-canary.other', 5], ['mirror.example.com', 0]]);
  });

  it('weights the one HTTP route when routes is omitted', () => {
    const cfg = config({ virtualService: { name: 'web' } });
    const unnamed = { route: [dest('web-stable', 100), dest('web-canary', 0)] };
    const live = converge(ctx, cfg, liveObjects(virtualService({ http: [unnamed] })), weightOnly(20)).live;
    assert.deepEqual(weights(httpOf(live)[0]), [['web-stable', 80], ['web-canary', 20]]);
  });

  it('weights every named route', () => {
    const cfg = config({ virtualService: { name: 'web', routes: ['primary', 'secondary'] } });
    const live = converge(ctx, cfg, liveObjects(virtualService({ http: [hostRoute(100, 0), hostRoute(100, 0, 'secondary')] })), weightOnly(35)).live;
    assert.deepEqual(httpOf(live).map(weights), [
      [['web-stable', 65], ['web-canary', 35]],
      [['web-stable', 65], ['web-canary', 35]],
    ]);
  });

  it('observes no weight when the routes disagree or the stable does not have the rest', () => {
    const cfg = config({ virtualService: { name: 'web', routes: ['primary', 'secondary'] } });
    assert.equal(istioRouter.observe(ctx, cfg, liveObjects(virtualService({ http: [hostRoute(80, 20), hostRoute(50, 50, 'secondary')] }))).canaryWeight, undefined);
    assert.equal(istioRouter.observe(ctx, hostLevel, liveObjects(virtualService({ http: [hostRoute(90, 20)] }))).canaryWeight, undefined);
    assert.equal(istioRouter.observe(ctx, cfg, liveObjects(virtualService({ http: [hostRoute(80, 20), hostRoute(80, 20, 'secondary')] }))).canaryWeight, 20);
  });
});

describe('istioRouter: several VirtualServices', () => {
  const cfg = config({ virtualServices: [{ name: 'web', routes: ['primary'] }, { name: 'edge.gateways' }] });
  const edgeRoute = { route: [dest('web-stable.shop.svc.cluster.local', 100), dest('web-canary.shop.svc.cluster.local', 0)] };
  const start = liveObjects(virtualService({ http: [hostRoute(100, 0)] }), virtualService({ http: [edgeRoute] }, 'edge', 'gateways'));

  it('weights each of them', () => {
    const { writes, live } = converge(ctx, cfg, start, weightOnly(25));
    assert.deepEqual(writes.map((w) => refKey(w.ref)), ['networking.istio.io/VirtualService/shop/web', 'networking.istio.io/VirtualService/gateways/edge']);
    assert.deepEqual(weights(httpOf(live)[0]), [['web-stable', 75], ['web-canary', 25]]);
    assert.deepEqual(weights(httpOf(live, 'edge', 'gateways')[0]), [['web-stable.shop.svc.cluster.local', 75], ['web-canary.shop.svc.cluster.local', 25]]);
  });

  it('observes no weight while they disagree, and writes only the one behind', () => {
    const behind = applyWrites(start, istioRouter.writes(ctx, cfg, start, weightOnly(25)).slice(0, 1));
    assert.equal(istioRouter.observe(ctx, cfg, behind).canaryWeight, undefined);
    assert.deepEqual(istioRouter.writes(ctx, cfg, behind, weightOnly(25)).map((w) => w.ref.name), ['edge']);
  });

  it('still writes the others when one is missing, and names the missing one', () => {
    const live = liveObjects(virtualService({ http: [hostRoute(100, 0)] }));
    assert.deepEqual(istioRouter.observe(ctx, cfg, live).problems, ['VirtualService gateways/edge not found']);
    assert.equal(istioRouter.observe(ctx, cfg, live).canaryWeight, undefined);
    assert.deepEqual(istioRouter.writes(ctx, cfg, live, weightOnly(0)), []);
    assert.deepEqual(istioRouter.writes(ctx, cfg, live, weightOnly(10)).map((w) => w.ref.name), ['web']);
  });
});

describe('istioRouter: TLS and TCP routes', () => {
  const tlsRoute = (sni: string[], port: number, stable: number, canary: number): Record<string, unknown> => ({
    match: [{ port, sniHosts: sni }],
    route: [dest('web-stable', stable, { port: { number: 8443 } }), dest('web-canary', canary, { port: { number: 8443 } })],
  });
  const tcpRoute = (port: number, stable: number, canary: number): Record<string, unknown> => ({ match: [{ port }], route: [dest('web-stable', stable), dest('web-canary', canary)] });

  it('weights the TLS routes matching the port and SNI hosts (in any order), not the others', () => {
    const cfg = config({ virtualService: { name: 'web', tlsRoutes: [{ port: 443, sniHosts: ['b.example.com', 'a.example.com'] }] } });
    const live = liveObjects(virtualService({ tls: [tlsRoute(['a.example.com', 'b.example.com'], 443, 100, 0), tlsRoute(['a.example.com'], 443, 100, 0), tlsRoute(['a.example.com', 'b.example.com'], 8443, 100, 0)] }));
    const tls = specOf(converge(ctx, cfg, live, weightOnly(30)).live, 'VirtualService').tls as unknown[];
    assert.deepEqual(tls.map(weights), [
      [['web-stable', 70], ['web-canary', 30]],
      [['web-stable', 100], ['web-canary', 0]],
      [['web-stable', 100], ['web-canary', 0]],
    ]);
  });

  it('weights the TCP routes matching the port', () => {
    const cfg = config({ virtualService: { name: 'web', tcpRoutes: [{ port: 3000 }] } });
    const live = liveObjects(virtualService({ tcp: [tcpRoute(3000, 100, 0), tcpRoute(3001, 100, 0)] }));
    const tcp = specOf(converge(ctx, cfg, live, weightOnly(60)).live, 'VirtualService').tcp as unknown[];
    assert.deepEqual(tcp.map(weights), [
      [['web-stable', 40], ['web-canary', 60]],
      [['web-stable', 100], ['web-canary', 0]],
    ]);
  });

  it('weights the one route of each kind the configuration does not select (as Argo does)', () => {
    const cfg = config({ virtualService: { name: 'web', tcpRoutes: [{ port: 3000 }] } });
    const live = liveObjects(virtualService({ http: [hostRoute(100, 0)], tls: [tlsRoute(['a.example.com'], 443, 100, 0)], tcp: [tcpRoute(3000, 100, 0)] }));
    const spec = specOf(converge(ctx, cfg, live, weightOnly(10)).live, 'VirtualService');
    for (const kind of ['http', 'tls', 'tcp']) assert.deepEqual(weights((spec[kind] as unknown[])[0]).map(([, w]) => w), [90, 10], kind);
  });

  it('names what it cannot find', () => {
    const cfg = config({ virtualService: { name: 'web', tlsRoutes: [{ port: 443, sniHosts: ['c.example.com'] }], tcpRoutes: [{ port: 9000 }] } });
    const live = liveObjects(virtualService({ tls: [tlsRoute(['a.example.com'], 443, 100, 0)], tcp: [tcpRoute(3000, 100, 0)] }));
    assert.deepEqual(istioRouter.observe(ctx, cfg, live).problems, [
      'VirtualService shop/web has no TLS route matching port 443 and SNI hosts c.example.com',
      'VirtualService shop/web has no TCP route matching port 9000',
    ]);
    const two = liveObjects(virtualService({ tcp: [tcpRoute(3000, 100, 0), tcpRoute(3001, 100, 0)] }));
    assert.deepEqual(istioRouter.observe(ctx, config({ virtualService: { name: 'web' } }), two).problems, ['VirtualService shop/web has 2 TCP routes: select the ones to weight in virtualService.tcpRoutes']);
  });
});

describe('istioRouter: subset-level weights and the DestinationRule', () => {
  const cfg = config({ virtualService: { name: 'web', routes: ['primary'] }, destinationRule: { name: 'web', canarySubsetName: 'canary', stableSubsetName: 'stable' } });
  const subsets = [
    { name: 'stable', labels: { app: 'web' } },
    { name: 'canary', labels: { app: 'web' } },
    { name: 'legacy', labels: { app: 'web', version: 'v0' }, trafficPolicy: { tls: { mode: 'ISTIO_MUTUAL' } } },
  ];
  const start = liveObjects(virtualService({ http: [subsetRoute(100, 0)] }), destinationRule(subsets));
  const labels = (live: ReturnType<typeof liveObjects>): unknown[] => (specOf(live, 'DestinationRule').subsets as { labels: unknown }[]).map((s) => s.labels);

  it('weights the subsets and keeps the subsets on the hashes, with Argo\'s annotation', () => {
    const { writes, live } = converge(ctx, cfg, start, weightOnly(20));
    assert.deepEqual(writes.map((w) => w.ref.kind), ['DestinationRule', 'VirtualService']);
    assert.deepEqual(weights(httpOf(live)[0]), [['web/stable', 80], ['web/canary', 20]]);
    assert.deepEqual(labels(live), [
      { app: 'web', 'rollouts-pod-template-hash': 'aaaa1111' },
      { app: 'web', 'rollouts-pod-template-hash': 'bbbb2222' },
      { app: 'web', version: 'v0' },
    ]);
    const dr = writes[0];
    assert.ok(dr?.op === 'update');
    assert.equal(dr.body.metadata.annotations?.['argo-rollouts.argoproj.io/managed-by-rollouts'], 'web');
    assert.equal(dr.body.metadata.resourceVersion, '3');
    const spec = specOf(live, 'DestinationRule');
    assert.deepEqual([spec.host, spec.trafficPolicy, (spec.subsets as unknown[])[2]], ['web', { loadBalancer: { simple: 'ROUND_ROBIN' } }, subsets[2]]);
  });

  it('at 50 and 100, then abort: weights follow, the subsets keep following the hashes', () => {
    const at50 = converge(ctx, cfg, start, weightOnly(50)).live;
    assert.deepEqual(weights(httpOf(at50)[0]), [['web/stable', 50], ['web/canary', 50]]);
    const at100 = converge(ctx, cfg, at50, weightOnly(100)).live;
    assert.deepEqual(weights(httpOf(at100)[0]), [['web/stable', 0], ['web/canary', 100]]);
    const aborted = converge(ctx, cfg, at100, weightOnly(0)).live;
    assert.deepEqual(specOf(aborted, 'VirtualService'), specOf(start, 'VirtualService'));
    assert.deepEqual(labels(aborted).slice(0, 2), [
      { app: 'web', 'rollouts-pod-template-hash': 'aaaa1111' },
      { app: 'web', 'rollouts-pod-template-hash': 'bbbb2222' },
    ]);
  });

  it('at completion both subsets select the new stable', () => {
    const at100 = converge(ctx, cfg, start, weightOnly(100)).live;
    const done = converge(testContext({ stableHash: 'bbbb2222', canaryHash: 'bbbb2222' }), cfg, at100, weightOnly(0)).live;
    assert.deepEqual(specOf(done, 'VirtualService'), specOf(start, 'VirtualService'));
    assert.deepEqual(labels(done).slice(0, 2), [
      { app: 'web', 'rollouts-pod-template-hash': 'bbbb2222' },
      { app: 'web', 'rollouts-pod-template-hash': 'bbbb2222' },
    ]);
  });

  it('points the canary subset at the stable when there is no canary hash, and drops a label with no hash', () => {
    const live = converge(testContext({ canaryHash: undefined }), cfg, start, weightOnly(0)).live;
    assert.deepEqual(labels(live).slice(0, 2), [
      { app: 'web', 'rollouts-pod-template-hash': 'aaaa1111' },
      { app: 'web', 'rollouts-pod-template-hash': 'aaaa1111' },
    ]);
    const none = converge(testContext({ canaryHash: undefined, stableHash: undefined }), cfg, live, weightOnly(0)).live;
    assert.deepEqual(labels(none).slice(0, 2), [{ app: 'web' }, { app: 'web' }]);
  });

  it('observes no weight while a subset does not hold its hash', () => {
    const stale = liveObjects(virtualService({ http: [subsetRoute(80, 20)] }), destinationRule(subsets));
    assert.equal(istioRouter.observe(ctx, cfg, stale).canaryWeight, undefined);
    assert.deepEqual(istioRouter.writes(ctx, cfg, stale, weightOnly(20)).map((w) => w.ref.kind), ['DestinationRule']);
  });

  it('leaves the additional subsets\' weights, and the stable gets what they leave', () => {
    const withExtra = config({ virtualService: { name: 'web' }, destinationRule: { name: 'web', canarySubsetName: 'canary', stableSubsetName: 'stable', additionalSubsetNames: ['experiment'] } });
    const route = { route: [dest('web', 100, { subset: 'stable' }), dest('web', 0, { subset: 'canary' }), dest('experiment-host', 20, { subset: 'experiment' })] };
    const live = converge(ctx, withExtra, liveObjects(virtualService({ http: [route] }), destinationRule(subsets)), weightOnly(30)).live;
    assert.deepEqual(weights(httpOf(live)[0]), [['web/stable', 50], ['web/canary', 30], ['experiment-host/experiment', 20]]);
  });

  it('only counts the subsets of the DestinationRule\'s host', () => {
    const route = { name: 'primary', route: [dest('web.shop.svc.cluster.local', 100, { subset: 'stable' }), dest('other', 0, { subset: 'canary' })] };
    const live = liveObjects(virtualService({ http: [route] }), destinationRule(subsets));
    assert.deepEqual(istioRouter.observe(ctx, cfg, live).problems, ['VirtualService shop/web HTTP route "primary" has no destination for the canary subset "canary" of host web']);
  });

  it('names a missing DestinationRule or subset', () => {
    const noDr = liveObjects(virtualService({ http: [subsetRoute(100, 0)] }));
    assert.deepEqual(istioRouter.observe(ctx, cfg, noDr).problems, ['DestinationRule shop/web not found']);
    const noSubset = liveObjects(virtualService({ http: [subsetRoute(100, 0)] }), destinationRule([{ name: 'stable' }]));
    assert.deepEqual(istioRouter.observe(ctx, cfg, noSubset).problems, ['DestinationRule shop/web has no subset named "canary"']);
    assert.deepEqual(istioRouter.writes(ctx, cfg, noSubset, weightOnly(10)).map((w) => w.ref.kind), ['VirtualService'], 'a DestinationRule with a problem is not written');
  });
});

describe('istioRouter: observe problems', () => {
  const problems = (cfg: Parameters<typeof istioRouter.observe>[1], ...objects: Parameters<typeof liveObjects>): string[] => istioRouter.observe(ctx, cfg, liveObjects(...objects)).problems;

  it('names a missing VirtualService and does not write', () => {
    assert.deepEqual(problems(hostLevel), ['VirtualService shop/web not found']);
    assert.deepEqual(istioRouter.writes(ctx, hostLevel, liveObjects(), weightOnly(10)), []);
  });

  it('names a missing route', () => {
    assert.deepEqual(problems(hostLevel, virtualService({ http: [hostRoute(100, 0, 'main')] })), ['VirtualService shop/web has no HTTP route named "primary"']);
  });

  it('names a route without the stable or canary destination, and does not write it', () => {
    const live = liveObjects(virtualService({ http: [{ name: 'primary', route: [dest('web-stable', 100)] }] }));
    assert.deepEqual(istioRouter.observe(ctx, hostLevel, live).problems, ['VirtualService shop/web HTTP route "primary" has no destination for the canary Service web-canary']);
    assert.deepEqual(istioRouter.writes(ctx, hostLevel, live, weightOnly(10)), []);
  });

  it('reads a short host in the VirtualService\'s namespace, not the Rollout\'s', () => {
    const cfg = config({ virtualService: { name: 'edge.gateways' } });
    assert.deepEqual(problems(cfg, virtualService({ http: [{ route: [dest('web-stable', 100), dest('web-canary', 0)] }] }, 'edge', 'gateways')), [
      'VirtualService gateways/edge HTTP route spec.http[0] has no destination for the canary Service web-canary',
      'VirtualService gateways/edge HTTP route spec.http[0] has no destination for the stable Service web-stable',
    ]);
  });

  it('refuses to guess among several HTTP routes when routes is omitted', () => {
    const cfg = config({ virtualService: { name: 'web' } });
    assert.deepEqual(problems(cfg, virtualService({ http: [hostRoute(100, 0), hostRoute(100, 0, 'b')] })), ['VirtualService shop/web has 2 HTTP routes: name the ones to weight in virtualService.routes']);
  });

  it('names a VirtualService with no route to weight', () => {
    assert.deepEqual(problems(config({ virtualService: { name: 'web' } }), virtualService({})), ['VirtualService shop/web has no HTTP, TLS or TCP route to weight']);
  });

  it('needs both Services for host-level routing', () => {
    const seen = istioRouter.observe(testContext({ canaryService: '' }), hostLevel, liveObjects(virtualService({ http: [hostRoute(100, 0)] })));
    assert.equal(seen.problems[0], "Istio host-level routing needs the Rollout's canaryService and stableService (or a destinationRule for subset-level routing)");
  });

  it('needs an HTTP route when managedRoutes are configured', () => {
    const cfg = config({ virtualService: { name: 'web', tcpRoutes: [{ port: 3000 }] } });
    const live = liveObjects(virtualService({ tcp: [{ match: [{ port: 3000 }], route: [dest('web-stable', 100), dest('web-canary', 0)] }] }));
    assert.deepEqual(istioRouter.observe(testContext({ managedRoutes: ['h'] }), cfg, live).problems, [
      'managedRoutes need an HTTP route to sit above, and no VirtualService has a weighted HTTP route (shop/web)',
    ]);
  });
});

describe('istioRouter: not touching what it does not own', () => {
  it('writes only the objects its configuration names, and only updates', () => {
    const cfg = config({ virtualService: { name: 'web' } });
    const live = liveObjects(virtualService({ http: [hostRoute(100, 0)] }), virtualService({ http: [hostRoute(100, 0)] }, 'other'), destinationRule([{ name: 'stable' }, { name: 'canary' }]));
    const writes = istioRouter.writes(ctx, cfg, live, weightOnly(40));
    assert.deepEqual(writes.map((w) => [w.op, refKey(w.ref)]), [['update', 'networking.istio.io/VirtualService/shop/web']]);
    assert.deepEqual(istioRouter.gitControlled(ctx, cfg).map((g) => refKey(g.ref)), ['networking.istio.io/VirtualService/shop/web']);
  });
});
