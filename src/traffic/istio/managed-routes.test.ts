import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext, weightOnly } from '../testkit.ts';
import type { HeaderRoute, MirrorRoute, TrafficIntent } from '../types.ts';
import { applyWrites, config, converge, dest, destinationRule, hostRoute, httpOf, liveObjects, specOf, subsetRoute, virtualService, weights } from './fixtures.ts';
import { istioRouter } from './router.ts';

const cfg = config({ virtualService: { name: 'web', routes: ['primary'] } });
const other = { name: 'legacy', match: [{ uri: { prefix: '/old' } }], route: [dest('legacy', 100)] };
const start = liveObjects(virtualService({ http: [other, hostRoute(100, 0)] }));

const header: HeaderRoute = {
  name: 'canary-header',
  match: [
    { headerName: 'X-Canary', headerValue: { exact: 'yes' } },
    { headerName: 'x-user', headerValue: { prefix: 'beta-' } },
    { headerName: 'x-region', headerValue: { regex: '^eu-.*' } },
  ],
};
const mirror: MirrorRoute = {
  name: 'mirror-posts',
  match: [{ method: { exact: 'POST' }, path: { prefix: '/api' }, headers: { 'X-Debug': { exact: '1' } } }, { path: { regex: '^/v2/.*' } }],
  percentage: 30,
};
const intent = (canaryWeight: number, headerRoutes: HeaderRoute[] = [], mirrorRoutes: MirrorRoute[] = []): TrafficIntent => ({ canaryWeight, headerRoutes, mirrorRoutes });

describe('istioRouter: header routes', () => {
  const ctx = testContext({ managedRoutes: ['canary-header'] });

  it('places the header route first, matching all its headers (exact, prefix, regex), all to the canary', () => {
    const { live } = converge(ctx, cfg, start, intent(10, [header]));
    const http = httpOf(live);
    assert.deepEqual(http[0], {
      name: 'canary-header',
      match: [{ headers: { 'x-canary': { exact: 'yes' }, 'x-user': { prefix: 'beta-' }, 'x-region': { regex: '^eu-.*' } } }],
      route: [{ destination: { host: 'web-canary', port: { number: 80 } }, weight: 100 }],
    });
    assert.deepEqual(http[1], other);
    assert.deepEqual(weights(http[2]), [['web-stable', 90], ['web-canary', 10]]);
  });

  it('routes to the canary subset in subset-level routing', () => {
    const subsetCfg = config({ virtualService: { name: 'web' }, destinationRule: { name: 'web', canarySubsetName: 'canary', stableSubsetName: 'stable' } });
    const live = liveObjects(virtualService({ http: [subsetRoute(100, 0)] }), destinationRule([{ name: 'stable' }, { name: 'canary' }]));
    const after = converge(ctx, subsetCfg, live, intent(0, [header])).live;
    assert.deepEqual((httpOf(after)[0] as { route: unknown }).route, [{ destination: { host: 'web', subset: 'canary' }, weight: 100 }]);
  });

  it('still finds the one user HTTP route, routes omitted, with a header route above it', () => {
    const omitted = config({ virtualService: { name: 'web' } });
    const one = liveObjects(virtualService({ http: [hostRoute(100, 0)] }));
    const withHeader = converge(ctx, omitted, one, intent(10, [header])).live;
    assert.deepEqual(httpOf(withHeader).map((r) => r.name), ['canary-header', 'primary']);
    const moved = converge(ctx, omitted, withHeader, intent(60, [header])).live;
    assert.deepEqual(weights(httpOf(moved)[1]), [['web-stable', 40], ['web-canary', 60]]);
  });

  it('observes the header routes present and writes nothing more', () => {
    const { live } = converge(ctx, cfg, start, intent(10, [header]));
    const seen = istioRouter.observe(ctx, cfg, live);
    assert.deepEqual([seen.canaryWeight, seen.headerRoutes, seen.mirrorRoutes], [10, ['canary-header'], []]);
    assert.deepEqual(istioRouter.writes(ctx, cfg, live, intent(10, [header])), []);
  });
});

describe('istioRouter: mirror routes', () => {
  const ctx = testContext({ managedRoutes: ['mirror-posts'] });

  it('matches method, path and headers (any of the matches), serves with the weighted route\'s destinations and mirrors to the canary', () => {
    const { live } = converge(ctx, cfg, start, intent(20, [], [mirror]));
    assert.deepEqual(httpOf(live)[0], {
      name: 'mirror-posts',
      match: [{ method: { exact: 'POST' }, uri: { prefix: '/api' }, headers: { 'x-debug': { exact: '1' } } }, { uri: { regex: '^/v2/.*' } }],
      route: [dest('web-stable', 80, { port: { number: 80 } }), dest('web-canary', 20, { port: { number: 80 } })],
      mirror: { host: 'web-canary', port: { number: 80 } },
      mirrorPercentage: { value: 30 },
    });
  });

  it('keeps the mirror route\'s weights on the weight as it changes', () => {
    const at20 = converge(ctx, cfg, start, intent(20, [], [mirror])).live;
    const at50 = converge(ctx, cfg, at20, intent(50, [], [mirror])).live;
    assert.deepEqual(weights(httpOf(at50)[0]), [['web-stable', 50], ['web-canary', 50]]);
    assert.deepEqual(weights(httpOf(at50)[2]), [['web-stable', 50], ['web-canary', 50]]);
  });

  it('observes no weight when the mirror route\'s weights lag behind', () => {
    const at20 = converge(ctx, cfg, start, intent(20, [], [mirror])).live;
    const http = httpOf(at20);
    const lagging = liveObjects(virtualService({ http: [http[0], http[1], hostRoute(50, 50)] }));
    assert.equal(istioRouter.observe(ctx, cfg, lagging).canaryWeight, undefined);
    assert.deepEqual(istioRouter.observe(ctx, cfg, lagging).mirrorRoutes, ['mirror-posts']);
  });
});

describe('istioRouter: several managed routes', () => {
  const ctx = testContext({ managedRoutes: ['mirror-posts', 'canary-header'] });

  it('orders them as managedRoutes does, above the user\'s routes', () => {
    const { live } = converge(ctx, cfg, start, intent(10, [header], [mirror]));
    assert.deepEqual(httpOf(live).map((r) => r.name), ['mirror-posts', 'canary-header', 'legacy', 'primary']);
  });

  it('reorders managed routes out of order (and observes no weight until then)', () => {
    const { live } = converge(ctx, cfg, start, intent(10, [header], [mirror]));
    const [m, h, ...rest] = httpOf(live);
    const swapped = liveObjects(virtualService({ http: [h, m, ...rest] }));
    assert.equal(istioRouter.observe(ctx, cfg, swapped).canaryWeight, undefined);
    const fixed = converge(ctx, cfg, swapped, intent(10, [header], [mirror])).live;
    assert.deepEqual(httpOf(fixed).map((r) => r.name), ['mirror-posts', 'canary-header', 'legacy', 'primary']);
  });

  it('moves a managed route found below the user\'s routes back to the top', () => {
    const { live } = converge(ctx, cfg, start, intent(10, [header], [mirror]));
    const [m, h, ...rest] = httpOf(live);
    const below = liveObjects(virtualService({ http: [m, ...rest, h] }));
    assert.equal(istioRouter.observe(ctx, cfg, below).canaryWeight, undefined);
    const fixed = converge(ctx, cfg, below, intent(10, [header], [mirror])).live;
    assert.deepEqual(httpOf(fixed).map((r) => r.name), ['mirror-posts', 'canary-header', 'legacy', 'primary']);
  });

  it('removes a managed route the intent no longer holds', () => {
    const both = converge(ctx, cfg, start, intent(10, [header], [mirror])).live;
    const mirrorOnly = converge(ctx, cfg, both, intent(10, [], [mirror])).live;
    assert.deepEqual(httpOf(mirrorOnly).map((r) => r.name), ['mirror-posts', 'legacy', 'primary']);
  });

  it('is back to the VirtualService before the rollout at the end ({0, [], []})', () => {
    const both = converge(ctx, cfg, start, intent(50, [header], [mirror])).live;
    const end = converge(ctx, cfg, both, weightOnly(0)).live;
    assert.deepEqual(specOf(end, 'VirtualService'), specOf(start, 'VirtualService'));
  });

  it('puts them in every VirtualService with a weighted HTTP route, and observes no weight while one lacks them', () => {
    const two = config({ virtualServices: [{ name: 'web', routes: ['primary'] }, { name: 'edge.gateways' }] });
    const live = liveObjects(virtualService({ http: [hostRoute(100, 0)] }), virtualService({ http: [{ route: [dest('web-canary.shop', 0), dest('web-stable.shop', 100)] }] }, 'edge', 'gateways'));
    const writes = istioRouter.writes(ctx, two, live, intent(0, [header]));
    const after = converge(ctx, two, live, intent(0, [header])).live;
    const edge = httpOf(after, 'edge', 'gateways');
    assert.deepEqual([edge[0]?.name, edge[0]?.route], ['canary-header', [{ destination: { host: 'web-canary.shop' }, weight: 100 }]], 'its own canary destination, as that VirtualService names it');
    assert.deepEqual(httpOf(after).map((r) => r.name), ['canary-header', 'primary']);
    const half = applyWrites(live, writes.slice(0, 1));
    assert.equal(istioRouter.observe(ctx, two, half).canaryWeight, undefined);
    assert.deepEqual(istioRouter.observe(ctx, two, half).headerRoutes, ['canary-header']);
  });
});
