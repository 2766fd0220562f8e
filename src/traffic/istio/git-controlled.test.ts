import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { testContext } from '../testkit.ts';
import type { GitControlledObject, TrafficObject } from '../types.ts';
import { config, converge, dest, destinationRule, hostRoute, liveObjects, specOf, subsetRoute, virtualService } from './fixtures.ts';
import { istioRouter } from './router.ts';

const ctx = testContext({ managedRoutes: ['canary-header'] });
const header = { name: 'canary-header', match: [{ headerName: 'x-canary', headerValue: { exact: 'yes' } }] };

function yielded(g: GitControlledObject | undefined, desired: TrafficObject, live: TrafficObject): TrafficObject {
  assert.ok(g);
  const desiredBefore = structuredClone(desired);
  const liveBefore = structuredClone(live);
  const out = g.yieldToLive(desired, live);
  assert.deepEqual(desired, desiredBefore, 'desired is not changed');
  assert.deepEqual(live, liveBefore, 'live is not changed');
  return out;
}

describe('istioRouter.gitControlled: the VirtualService', () => {
  const cfg = config({ virtualService: { name: 'web', routes: ['primary'] } });
  const [vs] = istioRouter.gitControlled(ctx, cfg);

  it('names the VirtualService', () => {
    assert.deepEqual(vs?.ref, { apiVersion: 'networking.istio.io/v1', kind: 'VirtualService', namespace: 'shop', name: 'web' });
  });

  it('takes the stable and canary weights and the managed routes from live, everything else from Git', () => {
    const git = virtualService({ hosts: ['web.example.org'], http: [{ ...hostRoute(100, 0), timeout: '9s' }, { name: 'legacy', route: [dest('legacy', 100), dest('web-canary', 0)] }] });
    const start = liveObjects(virtualService({ http: [hostRoute(100, 0), { name: 'legacy', route: [dest('legacy', 100), dest('web-canary', 0)] }] }));
    const live = converge(ctx, cfg, start, { canaryWeight: 30, headerRoutes: [header], mirrorRoutes: [] }).live;
    const liveVs = [...live.values()][0];
    assert.ok(liveVs);
    const out = yielded(vs, git, liveVs);
    const spec = out.spec as { hosts: unknown; http: { name: string; timeout?: string; route: { weight: number }[] }[] };
    assert.deepEqual(spec.hosts, ['web.example.org'], 'Git\'s other fields stay');
    assert.deepEqual(spec.http.map((r) => r.name), ['canary-header', 'primary', 'legacy']);
    assert.deepEqual(spec.http[0], (specOf(live, 'VirtualService').http as unknown[])[0], 'the live managed route');
    const primary = spec.http[1];
    assert.ok(primary);
    assert.deepEqual(primary.route.map((d) => d.weight), [70, 30]);
    assert.equal(primary.timeout, '9s');
    assert.deepEqual(spec.http[2]?.route.map((d) => d.weight), [100, 0], 'a route it does not weight stays Git\'s');
  });

  it('drops a managed route Git holds that is not live, and keeps Git\'s weights where live has no such route', () => {
    const git = virtualService({ http: [{ name: 'canary-header', route: [dest('web-canary', 100)] }, hostRoute(100, 0)] });
    const live = virtualService({ http: [hostRoute(100, 0, 'renamed')] });
    const spec = yielded(vs, git, live).spec as { http: { name: string; route: { weight: number }[] }[] };
    assert.deepEqual(spec.http.map((r) => [r.name, r.route.map((d) => d.weight)]), [['primary', [100, 0]]]);
  });

  it('takes TLS route weights from the live route the same selector picks', () => {
    const tlsCfg = config({ virtualService: { name: 'web', tlsRoutes: [{ port: 443, sniHosts: ['a.example.com'] }] } });
    const [g] = istioRouter.gitControlled(ctx, tlsCfg);
    const tls = (stable: number, canary: number, port = 443): Record<string, unknown> => ({ match: [{ port, sniHosts: ['a.example.com'] }], route: [dest('web-stable', stable), dest('web-canary', canary)] });
    const git = virtualService({ tls: [tls(100, 0, 8443), tls(100, 0)] });
    const live = virtualService({ tls: [tls(40, 60), tls(100, 0, 8443)] });
    const spec = yielded(g, git, live).spec as { tls: { route: { weight: number }[] }[] };
    assert.deepEqual(spec.tls.map((r) => r.route.map((d) => d.weight)), [
      [100, 0],
      [40, 60],
    ]);
  });
});

describe('istioRouter.gitControlled: the DestinationRule', () => {
  const cfg = config({ virtualService: { name: 'web' }, destinationRule: { name: 'web', canarySubsetName: 'canary', stableSubsetName: 'stable' } });
  const [, dr] = istioRouter.gitControlled(ctx, cfg);

  it('takes the two subsets\' pod-template-hash labels from live, everything else from Git', () => {
    assert.deepEqual(dr?.ref, { apiVersion: 'networking.istio.io/v1', kind: 'DestinationRule', namespace: 'shop', name: 'web' });
    const git = destinationRule([
      { name: 'stable', labels: { app: 'web', tier: 'gold' } },
      { name: 'canary', labels: { app: 'web' } },
      { name: 'legacy', labels: { app: 'web' } },
    ]);
    const live = converge(ctx, cfg, liveObjects(virtualService({ http: [subsetRoute(100, 0)] }), destinationRule([{ name: 'stable', labels: { app: 'web' } }, { name: 'canary', labels: { app: 'web' } }, { name: 'legacy', labels: { app: 'web', 'rollouts-pod-template-hash': 'zzz' } }])), { canaryWeight: 10, headerRoutes: [], mirrorRoutes: [] }).live;
    const liveDr = [...live.values()].find((o) => o?.kind === 'DestinationRule');
    assert.ok(liveDr);
    const spec = yielded(dr, git, liveDr).spec as { subsets: { labels: Record<string, string> }[]; trafficPolicy: unknown };
    assert.deepEqual(
      spec.subsets.map((s) => s.labels),
      [
        { app: 'web', tier: 'gold', 'rollouts-pod-template-hash': 'aaaa1111' },
        { app: 'web', 'rollouts-pod-template-hash': 'bbbb2222' },
        { app: 'web' },
      ],
    );
    assert.deepEqual(spec.trafficPolicy, { loadBalancer: { simple: 'ROUND_ROBIN' } });
  });
});
