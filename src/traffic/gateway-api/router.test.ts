import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveObjects, testContext, weightOnly } from '../testkit.ts';
import type { LiveObjects, TrafficContext, TrafficIntent, TrafficObject, TrafficWrite } from '../types.ts';
import { parseGatewayApiConfig, type GatewayApiConfig } from './config.ts';
import { gatewayApiRouter as router } from './router.ts';

function config(raw: unknown): GatewayApiConfig {
  const parsed = parseGatewayApiConfig(raw);
  assert.ok('config' in parsed, JSON.stringify(parsed));
  return parsed.config;
}

const ctx = testContext({ managedRoutes: ['canary-header', 'mirror'] });
const one = config({ httpRoute: 'web' });

/** The HTTPRoute as a user writes it: a path rule for the two Services, and a rule for another app. */
function httpRoute(stable = 100, canary = 0, name = 'web'): TrafficObject {
  return {
    apiVersion: 'gateway.networking.k8s.io/v1',
    kind: 'HTTPRoute',
    metadata: { name, namespace: 'shop', resourceVersion: '7' },
    spec: {
      parentRefs: [{ name: 'gateway' }],
      rules: [
        { matches: [{ path: { type: 'PathPrefix', value: '/admin' } }], backendRefs: [{ name: 'admin', port: 80 }] },
        {
          matches: [{ path: { type: 'PathPrefix', value: '/' } }],
          backendRefs: [
            { group: '', kind: 'Service', name: 'web-stable', port: 80, weight: stable },
            { group: '', kind: 'Service', name: 'web-canary', port: 80, weight: canary },
          ],
        },
      ],
    },
  };
}

/** The objects after the writes, as the API server would keep them. */
function applied(live: LiveObjects, writes: readonly TrafficWrite[]): LiveObjects {
  const next = new Map(live);
  for (const w of writes) {
    assert.equal(w.op, 'update', 'Gateway API routes are only ever updated');
    next.set([...live.keys()].find((k) => k.endsWith(`/${w.ref.kind}/${w.ref.namespace}/${w.ref.name}`)) ?? '', w.body);
  }
  return next;
}

function rulesOf(live: LiveObjects, c: TrafficContext = ctx, cfg: GatewayApiConfig = one): Record<string, unknown>[] {
  const [ref] = router.objects(c, cfg);
  assert.ok(ref);
  const obj = [...live.values()].find((o) => o?.metadata.name === ref.name && o.kind === ref.kind);
  return ((obj?.spec as { rules?: Record<string, unknown>[] } | undefined)?.rules ?? []);
}

/** Writes for the intent, applied; then no more writes, and observe reports the intent. */
function step(live: LiveObjects, intent: TrafficIntent, cfg: GatewayApiConfig = one, c: TrafficContext = ctx): LiveObjects {
  const next = applied(live, router.writes(c, cfg, live, intent));
  assert.deepEqual(router.writes(c, cfg, next, intent), [], 'idempotent');
  const seen = router.observe(c, cfg, next);
  assert.equal(seen.canaryWeight, intent.canaryWeight);
  assert.deepEqual(seen.headerRoutes, intent.headerRoutes.map((h) => h.name));
  assert.deepEqual(seen.mirrorRoutes, intent.mirrorRoutes.map((m) => m.name));
  assert.deepEqual(seen.problems, []);
  return next;
}

const header: TrafficIntent['headerRoutes'][number] = { name: 'canary-header', match: [{ headerName: 'X-Canary', headerValue: { exact: 'yes' } }] };
const mirror: TrafficIntent['mirrorRoutes'][number] = { name: 'mirror', match: [{ method: { exact: 'get' }, path: { prefix: '/api' } }], percentage: 50 };

describe('Gateway API router: weights', () => {
  it('sets the weighted rule to 20, 50 and 100, leaves the other rule and fields, and goes back to 100/0 at completion', () => {
    let live = liveObjects(httpRoute());
    assert.equal(router.observe(ctx, one, live).canaryWeight, 0);
    assert.deepEqual(router.writes(ctx, one, live, weightOnly(0)), [], 'already at 0: nothing to write');
    for (const w of [20, 50, 100]) {
      const writes = router.writes(ctx, one, live, weightOnly(w));
      assert.equal(writes.length, 1);
      const body = writes[0]?.op === 'update' ? writes[0].body : undefined;
      assert.deepEqual(body, httpRoute(100 - w, w), `the whole route at ${w}: only the two weights change, resourceVersion kept`);
      live = step(live, weightOnly(w));
    }
    live = step(live, weightOnly(0));
    assert.deepEqual([...live.values()][0], httpRoute(), 'back to the shape before the rollout');
  });

  it('sets every named route, HTTP and gRPC, in the configured namespace', () => {
    const cfg = config({ httpRoutes: [{ name: 'web' }, { name: 'web-internal' }], grpcRoute: 'web-grpc', namespace: 'edge' });
    const edge = (o: TrafficObject, kind = o.kind ?? ''): TrafficObject => ({ ...o, kind, metadata: { ...o.metadata, namespace: 'edge' } });
    const grpc = edge(httpRoute(100, 0, 'web-grpc'), 'GRPCRoute');
    const live = liveObjects(edge(httpRoute()), edge(httpRoute(100, 0, 'web-internal')), grpc);
    assert.deepEqual(router.objects(ctx, cfg).map((r) => `${r.kind} ${r.namespace}/${r.name}`), ['HTTPRoute edge/web', 'HTTPRoute edge/web-internal', 'GRPCRoute edge/web-grpc']);
    const writes = router.writes(ctx, cfg, live, weightOnly(30));
    assert.deepEqual(writes.map((w) => `${w.op} ${w.ref.plural}/${w.ref.name}`), ['update httproutes/web', 'update httproutes/web-internal', 'update grpcroutes/web-grpc']);
    step(live, weightOnly(30), cfg);
  });

  it('observes no weight while the routes disagree, so the engine writes them', () => {
    const cfg = config({ httpRoutes: [{ name: 'a' }, { name: 'b' }] });
    const live = liveObjects(httpRoute(80, 20, 'a'), httpRoute(50, 50, 'b'));
    assert.equal(router.observe(ctx, cfg, live).canaryWeight, undefined);
    assert.equal(router.observe(ctx, one, liveObjects(httpRoute(90, 20))).canaryWeight, undefined, 'weights not summing to 100');
  });

  it('splits maxTrafficWeight', () => {
    const c = testContext({ maxWeight: 1000 });
    const live = liveObjects(httpRoute(1000, 0));
    assert.equal(router.observe(c, one, live).canaryWeight, 0);
    step(live, weightOnly(250), one, c);
  });

  it('reports a missing route and one without both Services, and writes neither', () => {
    const cfg = config({ httpRoutes: [{ name: 'web' }, { name: 'gone' }] });
    const noCanary = httpRoute();
    (noCanary.spec as { rules: { backendRefs: unknown[] }[] }).rules[1]?.backendRefs.pop();
    const seen = router.observe(ctx, cfg, liveObjects(noCanary));
    assert.deepEqual(seen.problems, ['HTTPRoute shop/web has no rule with backendRefs to both web-stable and web-canary', 'HTTPRoute shop/gone not found']);
    assert.equal(seen.canaryWeight, undefined);
    assert.deepEqual(router.writes(ctx, cfg, liveObjects(noCanary), weightOnly(20)), []);
  });
});

describe('Gateway API router: managed routes', () => {
  it('adds a header rule first, on the weighted rule’s matches, to the canary only; the weight leaves it alone; removal restores the route', () => {
    let live = step(liveObjects(httpRoute()), { canaryWeight: 0, headerRoutes: [header], mirrorRoutes: [] });
    const rules = rulesOf(live);
    assert.deepEqual(rules[0], {
      name: 'canary-header',
      matches: [{ path: { type: 'PathPrefix', value: '/' }, headers: [{ type: 'Exact', name: 'X-Canary', value: 'yes' }] }],
      backendRefs: [{ group: '', kind: 'Service', name: 'web-canary', port: 80, weight: 1 }],
    });
    assert.equal(rules.length, 3);
    live = step(live, { canaryWeight: 40, headerRoutes: [header], mirrorRoutes: [] });
    assert.deepEqual(rulesOf(live)[0], rules[0], 'setWeight does not touch the header rule');
    live = step(live, weightOnly(0));
    assert.deepEqual([...live.values()][0], httpRoute());
  });

  it('a regex header match, and a header rule on a GRPCRoute keeps its gRPC matches', () => {
    const grpc: TrafficObject = {
      ...httpRoute(),
      kind: 'GRPCRoute',
      spec: { rules: [{ matches: [{ method: { service: 'shop.Cart' } }], backendRefs: (httpRoute().spec as { rules: { backendRefs: unknown }[] }).rules[1]?.backendRefs }] },
    };
    const cfg = config({ grpcRoute: 'web' });
    const regex = { name: 'canary-header', match: [{ headerName: 'x-user', headerValue: { regex: '^beta-.*' } }] };
    const live = step(liveObjects(grpc), { canaryWeight: 10, headerRoutes: [regex], mirrorRoutes: [] }, cfg);
    assert.deepEqual((rulesOf(live, ctx, cfg)[0] as { matches: unknown }).matches, [{ method: { service: 'shop.Cart' }, headers: [{ type: 'RegularExpression', name: 'x-user', value: '^beta-.*' }] }]);
  });

  it('adds a mirror rule answering as the weighted rule does and copying to the canary; its weights follow the weight', () => {
    let live = step(liveObjects(httpRoute()), { canaryWeight: 20, headerRoutes: [], mirrorRoutes: [mirror] });
    const expected = (stable: number, canary: number): Record<string, unknown> => ({
      name: 'mirror',
      matches: [{ path: { type: 'PathPrefix', value: '/api' }, method: 'GET' }],
      filters: [{ type: 'RequestMirror', requestMirror: { backendRef: { group: '', kind: 'Service', name: 'web-canary', port: 80 }, percent: 50 } }],
      backendRefs: [
        { group: '', kind: 'Service', name: 'web-stable', port: 80, weight: stable },
        { group: '', kind: 'Service', name: 'web-canary', port: 80, weight: canary },
      ],
    });
    assert.deepEqual(rulesOf(live)[0], expected(80, 20));
    live = step(live, { canaryWeight: 50, headerRoutes: [], mirrorRoutes: [mirror] });
    assert.deepEqual(rulesOf(live)[0], expected(50, 50));
    // A mirror rule whose weights lag behind (edited by hand) is out of shape: the weight is rewritten.
    const lagging = structuredClone([...live.values()][0]);
    assert.ok(lagging);
    const first = (lagging.spec as { rules: { backendRefs: { weight: number }[] }[] }).rules[0]?.backendRefs[0];
    assert.ok(first);
    first.weight = 70;
    assert.equal(router.observe(ctx, one, liveObjects(lagging)).canaryWeight, undefined);
  });

  it('places the managed rules in managedRoutes order, whatever order the intent names them in', () => {
    const c = testContext({ managedRoutes: ['mirror', 'canary-header'] });
    const live = step(liveObjects(httpRoute()), { canaryWeight: 10, headerRoutes: [header], mirrorRoutes: [mirror] }, one, c);
    assert.deepEqual(rulesOf(live, c).map((r) => r.name), ['mirror', 'canary-header', undefined, undefined]);
    const removed = step(live, { canaryWeight: 10, headerRoutes: [header], mirrorRoutes: [] }, one, c);
    assert.deepEqual(rulesOf(removed, c).map((r) => r.name), ['canary-header', undefined, undefined]);
  });

  it('puts managed rules only into routes marked useHeaderRoutes, and mirror rules only into HTTPRoutes', () => {
    const cfg = config({ httpRoutes: [{ name: 'a', useHeaderRoutes: true }, { name: 'b' }] });
    const live = step(liveObjects(httpRoute(100, 0, 'a'), httpRoute(100, 0, 'b')), { canaryWeight: 10, headerRoutes: [header], mirrorRoutes: [] }, cfg);
    const names = (n: string): unknown[] => ((([...live.values()].find((o) => o?.metadata.name === n)?.spec as { rules: { name?: string }[] } | undefined)?.rules ?? []).map((r) => r.name));
    assert.deepEqual(names('a'), ['canary-header', undefined, undefined]);
    assert.deepEqual(names('b'), [undefined, undefined]);
    assert.equal(router.managedRouteProblem?.(config({ httpRoutes: [{ name: 'a' }] }), 'header') !== undefined, true, 'no route takes header routes: refused');
    assert.equal(router.managedRouteProblem?.(config({ grpcRoute: 'g' }), 'mirror') !== undefined, true, 'a GRPCRoute takes no mirror rule');
    assert.equal(router.managedRouteProblem?.(one, 'mirror'), undefined);
  });

  it('an abort removes every managed rule and the weight in one write per route', () => {
    const live = step(liveObjects(httpRoute()), { canaryWeight: 50, headerRoutes: [header], mirrorRoutes: [mirror] });
    const writes = router.writes(ctx, one, live, weightOnly(0));
    assert.equal(writes.length, 1);
    assert.deepEqual(writes[0]?.op === 'update' ? writes[0].body : undefined, httpRoute());
  });
});

describe('Gateway API router: Git sync', () => {
  it("takes the live weights and managed rules, and leaves Git's other fields", () => {
    const live = [...step(liveObjects(httpRoute()), { canaryWeight: 30, headerRoutes: [header], mirrorRoutes: [] }).values()][0];
    assert.ok(live);
    const git = httpRoute();
    (git.spec as { parentRefs: unknown[] }).parentRefs = [{ name: 'gateway-2' }];
    const [controlled] = router.gitControlled(ctx, one);
    assert.ok(controlled);
    const before = structuredClone(git);
    const out = controlled.yieldToLive(git, live);
    assert.deepEqual(git, before, 'Git’s object is not changed in place');
    const spec = out.spec as { parentRefs: unknown; rules: { name?: string; backendRefs: { weight?: number }[] }[] };
    assert.deepEqual(spec.parentRefs, [{ name: 'gateway-2' }]);
    assert.deepEqual(spec.rules.map((r) => r.name), ['canary-header', undefined, undefined]);
    assert.deepEqual(spec.rules[2]?.backendRefs.map((r) => r.weight), [70, 30]);
    assert.deepEqual(controlled.yieldToLive(httpRoute(), httpRoute()), httpRoute(), 'nothing of the Rollout’s live: Git’s as it is');
  });
});

describe('Gateway API config', () => {
  it('reads the single and list forms, HTTP and gRPC', () => {
    assert.deepEqual(config({ httpRoute: 'a', grpcRoutes: [{ name: 'g', useHeaderRoutes: true }], namespace: 'edge' }), {
      namespace: 'edge',
      routes: [
        { kind: 'HTTPRoute', name: 'a', useHeaderRoutes: true },
        { kind: 'GRPCRoute', name: 'g', useHeaderRoutes: true },
      ],
    });
  });

  it('refuses what it cannot do, unknown fields, bad names and types', () => {
    const problems = (raw: unknown): string[] => {
      const parsed = parseGatewayApiConfig(raw);
      return 'problems' in parsed ? parsed.problems.map((p) => `${p.path.join('.')}: ${p.message}`) : [];
    };
    assert.match(problems({ namespace: 'x' }).join('\n'), /: must name the routes/);
    assert.match(problems({ httpRoute: 'a', httpRoutes: [{ name: 'b' }] }).join('\n'), /httpRoutes: must set either httpRoute or httpRoutes, not both/);
    assert.match(problems({ httpRoute: 'a', configMap: 'x' }).join('\n'), /configMap: not needed by Weir/);
    assert.match(problems({ httpRoute: 'a', tlsRoute: 'x' }).join('\n'), /tlsRoute: TLSRoutes are not supported/);
    assert.match(problems({ httpRoute: 'a', httpRout: 'x' }).join('\n'), /httpRout: unknown field \(did you mean "httpRoute"\?\)/);
    assert.match(problems({ httpRoute: 'Not_A_Name' }).join('\n'), /httpRoute: must be a DNS-1123 subdomain/);
    assert.match(problems({ httpRoutes: [{ name: 'a' }, { name: 'a' }] }).join('\n'), /httpRoutes\.1\.name: "a" is listed twice \(also httpRoutes\[0\]\)/);
    assert.match(problems({ httpRoutes: [{ name: 'a', useHeaderRoutes: 'yes' }] }).join('\n'), /httpRoutes\.0\.useHeaderRoutes: must be a boolean/);
    assert.match(problems({ httpRoutes: [] }).join('\n'), /httpRoutes: must list at least one HTTPRoute/);
    assert.match(problems('web').join('\n'), /must be an object/);
  });
});
