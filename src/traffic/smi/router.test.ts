import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { liveObjects, testContext, weightOnly } from '../testkit.ts';
import { refKey, type LiveObjects, type TrafficContext, type TrafficObject, type TrafficWrite } from '../types.ts';
import type { SmiConfig } from './config.ts';
import { smiRouter } from './index.ts';

const ctx = testContext();
const defaults: SmiConfig = {};
const REF = { apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', plural: 'trafficsplits', namespace: 'shop', name: 'web' };
const OWNER = { apiVersion: 'argoproj.io/v1alpha1', kind: 'Rollout', name: 'web', uid: 'uid-web', controller: true };

/** The TrafficSplit as the API server holds it once Weir created it (the controller adds the owner). */
function ownedSplit(canary: number, stable: number, extra: Partial<TrafficObject> = {}): TrafficObject {
  return {
    apiVersion: 'split.smi-spec.io/v1alpha4',
    kind: 'TrafficSplit',
    metadata: { name: 'web', namespace: 'shop', resourceVersion: '5', uid: 'ts-uid', labels: { 'app.kubernetes.io/managed-by': 'weir' }, ownerReferences: [OWNER] },
    spec: {
      service: 'web-stable',
      backends: [
        { service: 'web-canary', weight: canary },
        { service: 'web-stable', weight: stable },
      ],
    },
    ...extra,
  };
}

/** What the API server holds after `writes` (creates get the owner and a resourceVersion; updates a new resourceVersion). */
function apply(live: LiveObjects, writes: TrafficWrite[]): LiveObjects {
  const next = new Map(live);
  for (const w of writes) {
    if (w.op === 'delete') next.set(refKey(w.ref), undefined);
    else if (w.op === 'create') next.set(refKey(w.ref), { ...w.body, metadata: { ...w.body.metadata, resourceVersion: '1', ownerReferences: [OWNER] } });
    else next.set(refKey(w.ref), { ...w.body, metadata: { ...w.body.metadata, resourceVersion: `${Number(w.body.metadata.resourceVersion ?? '0') + 1}` } });
  }
  return next;
}

function only(writes: TrafficWrite[]): TrafficWrite & { op: 'create' | 'update' } {
  assert.equal(writes.length, 1);
  const [w] = writes;
  assert.ok(w && w.op !== 'delete', 'expected one create or update');
  return w;
}

function step(live: LiveObjects, weight: number, c: TrafficContext = ctx, config: SmiConfig = defaults): { write: TrafficWrite & { op: 'create' | 'update' }; live: LiveObjects } {
  const write = only(smiRouter.writes(c, config, live, weightOnly(weight)));
  const next = apply(live, [write]);
  assert.deepEqual(smiRouter.writes(c, config, next, weightOnly(weight)), [], `idempotent at ${weight}`);
  assert.equal(smiRouter.observe(c, config, next).canaryWeight, weight);
  return { write, live: next };
}

describe('smiRouter: identity', () => {
  it('is selected by trafficRouting.smi and supports weights only', () => {
    assert.equal(smiRouter.key, 'smi');
    assert.equal(smiRouter.label, 'SMI TrafficSplit');
    assert.deepEqual(smiRouter.capabilities, { headerRoutes: false, headerMatchKinds: [], maxHeaderMatches: undefined, maxHeaderRoutes: undefined, mirrorRoutes: false });
    assert.deepEqual(smiRouter.kinds, [{ apiVersion: 'split.smi-spec.io/v1alpha4', kind: 'TrafficSplit', plural: 'trafficsplits' }]);
    assert.deepEqual(smiRouter.gitControlled(ctx, defaults), []);
  });

  it('reads the TrafficSplit named after the Rollout, or trafficSplitName', () => {
    assert.deepEqual(smiRouter.objects(ctx, defaults), [REF]);
    assert.deepEqual(smiRouter.objects(ctx, { trafficSplitName: 'web-split' }), [{ ...REF, name: 'web-split' }]);
  });
});

describe('smiRouter: a rollout', () => {
  it('creates the TrafficSplit when missing, at the weight asked, without owner references', () => {
    const empty = liveObjects();
    const observed = smiRouter.observe(ctx, defaults, empty);
    assert.equal(observed.canaryWeight, undefined);
    assert.deepEqual(observed.problems, []);
    assert.equal(observed.verified, undefined);
    assert.deepEqual(smiRouter.writes(ctx, defaults, empty, weightOnly(0)), [
      {
        op: 'create',
        ref: REF,
        body: {
          apiVersion: 'split.smi-spec.io/v1alpha4',
          kind: 'TrafficSplit',
          metadata: { name: 'web', namespace: 'shop', labels: { 'app.kubernetes.io/managed-by': 'weir' } },
          spec: {
            service: 'web-stable',
            backends: [
              { service: 'web-canary', weight: 0 },
              { service: 'web-stable', weight: 100 },
            ],
          },
        },
      },
    ]);
  });

  it('writes 20, 50, 100, then back to 0 at completion: the shape before the rollout', () => {
    const before = step(liveObjects(), 0);
    const spec0 = before.write.body.spec;
    let live = before.live;
    for (const [weight, stable] of [[20, 80], [50, 50], [100, 0]] as const) {
      const s = step(live, weight);
      assert.equal(s.write.op, 'update');
      assert.deepEqual(s.write.ref, REF);
      assert.deepEqual(s.write.body.spec, {
        service: 'web-stable',
        backends: [
          { service: 'web-canary', weight },
          { service: 'web-stable', weight: stable },
        ],
      });
      // The object as read: resourceVersion and owner kept.
      assert.equal(s.write.body.metadata.resourceVersion, live.get(refKey(REF))?.metadata.resourceVersion);
      assert.deepEqual(s.write.body.metadata.ownerReferences, [OWNER]);
      live = s.live;
    }
    const done = step(live, 0);
    assert.equal(done.write.op, 'update');
    assert.deepEqual(done.write.body.spec, spec0);
  });

  it('on abort goes back to 0/100 and never deletes the TrafficSplit', () => {
    const live = liveObjects(ownedSplit(50, 50));
    const writes = smiRouter.writes(ctx, defaults, live, weightOnly(0));
    assert.deepEqual(writes, [{ op: 'update', ref: REF, body: ownedSplit(0, 100) }]);
    assert.equal(smiRouter.observe(ctx, defaults, apply(live, writes)).canaryWeight, 0);
  });

  it('keeps the rest of the object as read', () => {
    const live = ownedSplit(0, 100, { status: { observed: true } });
    live.metadata.annotations = { note: 'kept' };
    const w = only(smiRouter.writes(ctx, defaults, liveObjects(live), weightOnly(20)));
    assert.deepEqual(w.body, { ...ownedSplit(20, 80, { status: { observed: true } }), metadata: { ...live.metadata } });
  });

  it('uses rootService and trafficSplitName', () => {
    const config: SmiConfig = { rootService: 'web', trafficSplitName: 'web-split' };
    const w = only(smiRouter.writes(ctx, config, liveObjects(), weightOnly(0)));
    assert.equal(w.op, 'create');
    assert.equal(w.ref.name, 'web-split');
    assert.equal(w.body.metadata.name, 'web-split');
    assert.deepEqual(w.body.spec, {
      service: 'web',
      backends: [
        { service: 'web-canary', weight: 0 },
        { service: 'web-stable', weight: 100 },
      ],
    });
    let live = apply(liveObjects(), [w]);
    live = step(live, 50, ctx, config).live;
    // The default-named split would be another object: this one is read under its configured name.
    assert.equal(smiRouter.observe(ctx, defaults, live).canaryWeight, undefined);
  });

  it('splits maxTrafficWeight 1000', () => {
    const c = testContext({ maxWeight: 1000 });
    const created = only(smiRouter.writes(c, defaults, liveObjects(), weightOnly(0)));
    assert.deepEqual(created.body.spec, { service: 'web-stable', backends: [{ service: 'web-canary', weight: 0 }, { service: 'web-stable', weight: 1000 }] });
    let live = apply(liveObjects(), [created]);
    for (const weight of [200, 500, 1000, 0]) {
      const s = step(live, weight, c);
      assert.deepEqual(s.write.body.spec, { service: 'web-stable', backends: [{ service: 'web-canary', weight }, { service: 'web-stable', weight: 1000 - weight }] });
      live = s.live;
    }
    // A split of 100 is not in shape for 1000.
    assert.equal(smiRouter.observe(c, defaults, liveObjects(ownedSplit(20, 80))).canaryWeight, undefined);
  });

  it('writes nothing when the TrafficSplit already holds the intent', () => {
    for (const weight of [0, 20, 100]) {
      const live = liveObjects(ownedSplit(weight, 100 - weight));
      assert.equal(smiRouter.observe(ctx, defaults, live).canaryWeight, weight);
      assert.deepEqual(smiRouter.writes(ctx, defaults, live, weightOnly(weight)), []);
    }
  });
});

describe('smiRouter: shape', () => {
  const outOfShape: [string, TrafficObject][] = [
    ['another root service', ownedSplit(20, 80, { spec: { service: 'web', backends: [{ service: 'web-canary', weight: 20 }, { service: 'web-stable', weight: 80 }] } })],
    ['the stable first', ownedSplit(20, 80, { spec: { service: 'web-stable', backends: [{ service: 'web-stable', weight: 80 }, { service: 'web-canary', weight: 20 }] } })],
    ['a third backend', ownedSplit(20, 80, { spec: { service: 'web-stable', backends: [{ service: 'web-canary', weight: 20 }, { service: 'web-stable', weight: 80 }, { service: 'web-old', weight: 0 }] } })],
    ['weights not summing to 100', ownedSplit(20, 70)],
    ['a weight as a string', ownedSplit(20, 80, { spec: { service: 'web-stable', backends: [{ service: 'web-canary', weight: '20' }, { service: 'web-stable', weight: 80 }] } })],
    ['matches', ownedSplit(20, 80, { spec: { service: 'web-stable', matches: [{ kind: 'HTTPRouteGroup', name: 'api' }], backends: [{ service: 'web-canary', weight: 20 }, { service: 'web-stable', weight: 80 }] } })],
    ['no spec', ownedSplit(20, 80, { spec: undefined })],
  ];
  for (const [name, split] of outOfShape) {
    it(`an owned TrafficSplit with ${name} observes no weight and is rewritten to the router's shape`, () => {
      const live = liveObjects(split);
      const observed = smiRouter.observe(ctx, defaults, live);
      assert.equal(observed.canaryWeight, undefined);
      assert.deepEqual(observed.problems, []);
      const w = only(smiRouter.writes(ctx, defaults, live, weightOnly(20)));
      assert.equal(w.op, 'update');
      assert.deepEqual(w.body.spec, ownedSplit(20, 80).spec);
      assert.deepEqual(smiRouter.writes(ctx, defaults, apply(live, [w]), weightOnly(20)), []);
    });
  }
});

describe('smiRouter: a TrafficSplit the Rollout does not control', () => {
  const strangers: [string, TrafficObject['metadata']['ownerReferences']][] = [
    ['no owner', undefined],
    ['another Rollout as controller', [{ ...OWNER, name: 'other', uid: 'uid-other' }]],
    ['the Rollout as owner but not controller', [{ ...OWNER, controller: false }]],
  ];
  for (const [name, ownerReferences] of strangers) {
    it(`with ${name} is a problem and never written`, () => {
      const split = ownedSplit(20, 70);
      if (ownerReferences === undefined) delete split.metadata.ownerReferences;
      else split.metadata.ownerReferences = ownerReferences;
      const live = liveObjects(split);
      const observed = smiRouter.observe(ctx, defaults, live);
      assert.equal(observed.canaryWeight, undefined);
      assert.equal(observed.problems.length, 1);
      assert.match(observed.problems[0] ?? '', /^TrafficSplit shop\/web exists but is not controlled by Rollout shop\/web/);
      for (const weight of [0, 20, 100]) assert.deepEqual(smiRouter.writes(ctx, defaults, live, weightOnly(weight)), []);
    });
  }
});

describe('smiRouter.parse', () => {
  it('accepts Argo\'s fields, an empty object and empty strings as the defaults', () => {
    assert.deepEqual(smiRouter.parse({}), { config: {} });
    assert.deepEqual(smiRouter.parse({ rootService: '', trafficSplitName: '' }), { config: {} });
    assert.deepEqual(smiRouter.parse({ rootService: 'web', trafficSplitName: 'web.split' }), { config: { rootService: 'web', trafficSplitName: 'web.split' } });
  });

  it('refuses unknown fields, naming the close one', () => {
    const result = smiRouter.parse({ trafficSplitNmae: 'web', weight: 5 });
    assert.ok('problems' in result);
    assert.deepEqual(result.problems.map((p) => p.path), [['trafficSplitNmae'], ['weight']]);
    assert.match(result.problems[0]?.message ?? '', /unknown field \(did you mean "trafficSplitName"\?\)/);
    assert.match(result.problems[1]?.message ?? '', /^unknown field: .*takes rootService and trafficSplitName/);
  });

  it('refuses wrong types and invalid names', () => {
    const result = smiRouter.parse({ rootService: 5, trafficSplitName: ['web'] });
    assert.ok('problems' in result);
    assert.deepEqual(result.problems, [
      { path: ['rootService'], message: 'must be a string, not a number' },
      { path: ['trafficSplitName'], message: 'must be a string, not a list' },
    ]);
    const names = smiRouter.parse({ rootService: 'Web_Root', trafficSplitName: 'web split' });
    assert.ok('problems' in names);
    assert.deepEqual(names.problems.map((p) => p.path), [['rootService'], ['trafficSplitName']]);
    assert.match(names.problems[0]?.message ?? '', /valid Service name/);
    assert.match(names.problems[1]?.message ?? '', /DNS-1123 subdomain/);
  });

  it('refuses a section that is not an object', () => {
    for (const raw of [null, 'web', ['web'], 3]) {
      const result = smiRouter.parse(raw);
      assert.ok('problems' in result);
      assert.deepEqual(result.problems.map((p) => p.path), [[]]);
      assert.match(result.problems[0]?.message ?? '', /must be an object/);
    }
  });
});
