import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveObjects, testContext, weightOnly } from '../testkit.ts';
import { refKey, type LiveObjects, type TrafficContext, type TrafficObject, type TrafficWrite } from '../types.ts';
import type { TraefikConfig } from './config.ts';
import { traefikRouter } from './index.ts';

const ctx = testContext();
const config: TraefikConfig = { weightedTraefikServiceName: 'web-ts' };
const REF = { apiVersion: 'traefik.io/v1alpha1', kind: 'TraefikService', plural: 'traefikservices', namespace: 'shop', name: 'web-ts' };

type Entry = Record<string, unknown>;

/** A TraefikService as the user writes it, with `services` as its weighted list. */
function traefikService(services: Entry[], extra: Record<string, unknown> = {}): TrafficObject {
  return {
    apiVersion: 'traefik.io/v1alpha1',
    kind: 'TraefikService',
    metadata: { name: 'web-ts', namespace: 'shop', resourceVersion: '7', uid: 'tsvc-uid', labels: { app: 'web' }, annotations: { 'weir.dev/source': 'shop.apps' } },
    spec: { weighted: { services, sticky: { cookie: { name: 'lb', secure: true } } } },
    ...extra,
  };
}

const stable = (weight?: number): Entry => ({ name: 'web-stable', port: 80, passHostHeader: true, ...(weight === undefined ? {} : { weight }) });
const canary = (weight?: number): Entry => ({ name: 'web-canary', port: 'http', ...(weight === undefined ? {} : { weight }) });
const legacy: Entry = { name: 'web-legacy', kind: 'Service', port: 8080, weight: 5 };

function apply(live: LiveObjects, writes: TrafficWrite[]): LiveObjects {
  const next = new Map(live);
  for (const w of writes) {
    if (w.op !== 'update') assert.fail(`the router only ever updates the TraefikService, not ${w.op}`);
    next.set(refKey(w.ref), { ...w.body, metadata: { ...w.body.metadata, resourceVersion: `${Number(w.body.metadata.resourceVersion ?? '0') + 1}` } });
  }
  return next;
}

function update(writes: TrafficWrite[]): TrafficObject {
  assert.equal(writes.length, 1);
  const [w] = writes;
  assert.ok(w?.op === 'update', 'expected one update');
  assert.deepEqual(w.ref, REF);
  return w.body;
}

function step(live: LiveObjects, weight: number, c: TrafficContext = ctx): { body: TrafficObject; live: LiveObjects } {
  const writes = traefikRouter.writes(c, config, live, weightOnly(weight));
  const body = update(writes);
  const next = apply(live, writes);
  assert.deepEqual(traefikRouter.writes(c, config, next, weightOnly(weight)), [], `idempotent at ${weight}`);
  const observed = traefikRouter.observe(c, config, next);
  assert.equal(observed.canaryWeight, weight);
  assert.deepEqual(observed.problems, []);
  return { body, live: next };
}

describe('traefikRouter: identity', () => {
  it('is selected by trafficRouting.traefik and supports weights only', () => {
    assert.equal(traefikRouter.key, 'traefik');
    assert.equal(traefikRouter.label, 'Traefik');
    assert.deepEqual(traefikRouter.capabilities, { headerRoutes: false, headerMatchKinds: [], maxHeaderMatches: undefined, maxHeaderRoutes: undefined, mirrorRoutes: false });
    assert.deepEqual(traefikRouter.kinds, [{ apiVersion: 'traefik.io/v1alpha1', kind: 'TraefikService', plural: 'traefikservices' }]);
    assert.deepEqual(traefikRouter.objects(ctx, config), [REF]);
    const git = traefikRouter.gitControlled(ctx, config);
    assert.deepEqual(git.map((g) => g.ref), [{ apiVersion: 'traefik.io/v1alpha1', kind: 'TraefikService', namespace: 'shop', name: 'web-ts' }]);
  });
});

describe('traefikRouter: a rollout', () => {
  it('sets the two weights at 20, 50, 100 and back to 100/0 at completion, leaving the rest', () => {
    const before = traefikService([stable(100), canary(0)]);
    let live = liveObjects(before);
    assert.equal(traefikRouter.observe(ctx, config, live).canaryWeight, 0);
    for (const [weight, rest] of [[20, 80], [50, 50], [100, 0]] as const) {
      const readVersion = live.get(refKey(REF))?.metadata.resourceVersion;
      const s = step(live, weight);
      assert.deepEqual(s.body, { ...traefikService([stable(rest), canary(weight)]), metadata: { ...before.metadata, resourceVersion: readVersion } });
      live = s.live;
    }
    const done = step(live, 0);
    assert.deepEqual(done.body.spec, before.spec);
  });

  it('on abort goes back to 100/0', () => {
    const live = liveObjects(traefikService([stable(50), canary(50)]));
    assert.deepEqual(update(traefikRouter.writes(ctx, config, live, weightOnly(0))), traefikService([stable(100), canary(0)]));
  });

  it('writes nothing when the weights already hold the intent', () => {
    for (const weight of [0, 20, 100]) {
      const live = liveObjects(traefikService([canary(weight), stable(100 - weight)]));
      assert.equal(traefikRouter.observe(ctx, config, live).canaryWeight, weight);
      assert.deepEqual(traefikRouter.writes(ctx, config, live, weightOnly(weight)), []);
    }
  });

  it('writes the weights when Git left them out (as Argo\'s docs suggest), keeping each entry\'s other fields', () => {
    const live = liveObjects(traefikService([stable(), canary()]));
    const observed = traefikRouter.observe(ctx, config, live);
    assert.equal(observed.canaryWeight, undefined);
    assert.deepEqual(observed.problems, []);
    const s = step(live, 0);
    assert.deepEqual(s.body.spec, traefikService([stable(100), canary(0)]).spec);
  });

  it('observes no weight when the two do not sum to maxTrafficWeight', () => {
    for (const services of [[stable(90), canary(20)], [stable(80), canary(20.5)], [stable(120), canary(-20)]]) {
      assert.equal(traefikRouter.observe(ctx, config, liveObjects(traefikService(services))).canaryWeight, undefined);
    }
  });

  it('splits maxTrafficWeight 1000', () => {
    const c = testContext({ maxWeight: 1000 });
    let live = liveObjects(traefikService([stable(100), canary(0)]));
    assert.equal(traefikRouter.observe(c, config, live).canaryWeight, undefined);
    for (const weight of [0, 200, 500, 1000, 0]) {
      const s = step(live, weight, c);
      assert.deepEqual(s.body.spec, traefikService([stable(1000 - weight), canary(weight)]).spec);
      live = s.live;
    }
  });

  it('leaves a third service alone', () => {
    const live = liveObjects(traefikService([stable(100), legacy, canary(0)]));
    const s = step(live, 20);
    assert.deepEqual(s.body.spec, traefikService([stable(80), legacy, canary(20)]).spec);
  });

  it('does not take a TraefikService or a Service of another namespace for the stable or canary Service', () => {
    const nested: Entry = { name: 'web-canary', kind: 'TraefikService', weight: 3 };
    const elsewhere: Entry = { name: 'web-stable', namespace: 'other', port: 80, weight: 4 };
    const sameNamespace: Entry = { ...stable(100), namespace: 'shop', kind: 'Service' };
    const live = liveObjects(traefikService([nested, elsewhere, sameNamespace, canary(0)]));
    const s = step(live, 50);
    assert.deepEqual(s.body.spec, traefikService([nested, elsewhere, { ...sameNamespace, weight: 50 }, canary(50)]).spec);
  });
});

describe('traefikRouter: problems', () => {
  const cases: [string, TrafficObject | undefined, string[]][] = [
    ['a missing TraefikService', undefined, ['TraefikService shop/web-ts not found']],
    ['no spec.weighted', traefikService([], { spec: { mirroring: { name: 'web-stable', port: 80 } } }), ['TraefikService shop/web-ts has no weighted services (spec.weighted.services)']],
    ['no weighted services', traefikService([]), ['TraefikService shop/web-ts has no weighted services (spec.weighted.services)']],
    ['the stable not listed', traefikService([canary(0), legacy]), ['TraefikService shop/web-ts does not list the stable Service "web-stable" in spec.weighted.services']],
    ['the canary not listed', traefikService([stable(100)]), ['TraefikService shop/web-ts does not list the canary Service "web-canary" in spec.weighted.services']],
    [
      'neither listed',
      traefikService([legacy]),
      ['TraefikService shop/web-ts does not list the stable Service "web-stable" in spec.weighted.services', 'TraefikService shop/web-ts does not list the canary Service "web-canary" in spec.weighted.services'],
    ],
    [
      'the canary listed twice',
      traefikService([stable(100), canary(0), { name: 'web-canary', port: 81, weight: 0 }]),
      ['TraefikService shop/web-ts lists the canary Service "web-canary" 2 times in spec.weighted.services: which one to weigh is ambiguous'],
    ],
  ];
  for (const [name, obj, problems] of cases) {
    it(`${name} is a problem and nothing is written`, () => {
      const live = obj === undefined ? liveObjects() : liveObjects(obj);
      const observed = traefikRouter.observe(ctx, config, live);
      assert.equal(observed.router, 'Traefik');
      assert.equal(observed.canaryWeight, undefined);
      assert.deepEqual(observed.problems, problems);
      for (const weight of [0, 20, 100]) assert.deepEqual(traefikRouter.writes(ctx, config, live, weightOnly(weight)), []);
    });
  }
});

describe('traefikRouter: yieldToLive', () => {
  const [git] = traefikRouter.gitControlled(ctx, config);
  assert.ok(git);

  it('takes the stable and canary weights from live, everything else from Git', () => {
    const desired = traefikService([{ ...stable(100), port: 8080 }, canary(0), { name: 'web-mirror', port: 80, weight: 1 }]);
    desired.metadata = { name: 'web-ts', namespace: 'shop', labels: { app: 'web', tier: 'front' } };
    const live = traefikService([stable(70), canary(30), { name: 'web-mirror', port: 80, weight: 9 }]);
    const desiredCopy = structuredClone(desired);
    const liveCopy = structuredClone(live);
    const result = git.yieldToLive(desired, live);
    assert.deepEqual(result, { ...desired, spec: { weighted: { services: [{ ...stable(70), port: 8080 }, canary(30), { name: 'web-mirror', port: 80, weight: 1 }], sticky: { cookie: { name: 'lb', secure: true } } } } });
    assert.deepEqual(desired, desiredCopy, 'desired unchanged');
    assert.deepEqual(live, liveCopy, 'live unchanged');
  });

  it('drops Git\'s weight where live has none, and keeps Git\'s where live does not list the Service', () => {
    const desired = traefikService([stable(100), canary(0)]);
    const live = traefikService([stable()]);
    assert.deepEqual(git.yieldToLive(desired, live).spec, traefikService([stable(), canary(0)]).spec);
  });

  it('returns Git\'s object when the live one has no weighted services', () => {
    const desired = traefikService([stable(100), canary(0)]);
    assert.deepEqual(git.yieldToLive(desired, traefikService([], { spec: {} })), desired);
  });

  it('after a step, Git\'s object with live\'s weights needs no write', () => {
    const desired = traefikService([stable(100), canary(0)]);
    const live = step(liveObjects(desired), 20).live.get(refKey(REF));
    assert.ok(live);
    const merged = git.yieldToLive(desired, live);
    assert.equal(traefikRouter.observe(ctx, config, liveObjects(merged)).canaryWeight, 20);
    assert.deepEqual(traefikRouter.writes(ctx, config, liveObjects(merged), weightOnly(20)), []);
  });
});

describe('traefikRouter.parse', () => {
  it('accepts weightedTraefikServiceName', () => {
    assert.deepEqual(traefikRouter.parse({ weightedTraefikServiceName: 'web-ts' }), { config: { weightedTraefikServiceName: 'web-ts' } });
  });

  it('requires weightedTraefikServiceName', () => {
    for (const raw of [{}, { weightedTraefikServiceName: '' }, { weightedTraefikServiceName: null }]) {
      const result = traefikRouter.parse(raw);
      assert.ok('problems' in result);
      assert.deepEqual(result.problems.map((p) => p.path), [['weightedTraefikServiceName']]);
      assert.match(result.problems[0]?.message ?? '', /^is required/);
    }
  });

  it('refuses wrong types, invalid names and unknown fields', () => {
    assert.deepEqual(traefikRouter.parse({ weightedTraefikServiceName: 7 }), { problems: [{ path: ['weightedTraefikServiceName'], message: 'must be a string, not a number' }] });
    const invalid = traefikRouter.parse({ weightedTraefikServiceName: 'Web_TS' });
    assert.ok('problems' in invalid);
    assert.match(invalid.problems[0]?.message ?? '', /DNS-1123 subdomain/);
    const unknown = traefikRouter.parse({ weightedTraefikServiceNam: 'web-ts', apiGroup: 'traefik.containo.us' });
    assert.ok('problems' in unknown);
    assert.deepEqual(unknown.problems.map((p) => p.path), [['weightedTraefikServiceNam'], ['apiGroup'], ['weightedTraefikServiceName']]);
    assert.match(unknown.problems[0]?.message ?? '', /did you mean "weightedTraefikServiceName"/);
    assert.match(unknown.problems[1]?.message ?? '', /^unknown field.*takes weightedTraefikServiceName only/);
  });

  it('refuses a section that is not an object', () => {
    for (const raw of [null, 'web-ts', ['web-ts']]) {
      const result = traefikRouter.parse(raw);
      assert.ok('problems' in result);
      assert.deepEqual(result.problems.map((p) => p.path), [[]]);
    }
  });
});
