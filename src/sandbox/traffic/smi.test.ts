import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findTrafficSplitRouting, parseQuantity, type TrafficSplitLike } from './smi.ts';

const target = { name: 'web', namespace: 'shop' };

describe('SMI TrafficSplit routing', () => {
  test('parseQuantity reads quantities and numbers', () => {
    assert.equal(parseQuantity('500m'), 0.5);
    assert.equal(parseQuantity('1'), 1);
    assert.equal(parseQuantity('1.5'), 1.5);
    assert.equal(parseQuantity('2k'), 2000);
    assert.equal(parseQuantity('1Ki'), 1024);
    assert.equal(parseQuantity('1e3'), 1000);
    assert.equal(parseQuantity(75), 75);
    assert.equal(parseQuantity('abc'), undefined);
    assert.equal(parseQuantity('5x'), undefined);
    assert.equal(parseQuantity(undefined), undefined);
  });

  test('v1alpha2+ integer weights: 25/75 for the Service spec.service names', () => {
    const split: TrafficSplitLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { service: 'web', backends: [{ service: 'web-stable', weight: 25 }, { service: 'web-canary', weight: 75 }] },
    };
    const routing = findTrafficSplitRouting([split], target);
    assert.equal(routing?.kind, 'TrafficSplit');
    assert.equal(routing.object, 'shop/web');
    assert.deepEqual(routing.rules, [
      {
        source: 'TrafficSplit shop/web',
        match: {},
        backends: [
          { name: 'web-stable', namespace: 'shop', weight: 25 },
          { name: 'web-canary', namespace: 'shop', weight: 75 },
        ],
        mirrors: [],
      },
    ]);
    assert.equal(findTrafficSplitRouting([split], { name: 'web-stable', namespace: 'shop' }), undefined, 'backends are not fronted');
  });

  test('v1alpha1 quantity weights ("500m") are scaled to thousandths', () => {
    const split: TrafficSplitLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { service: 'web.shop.svc.cluster.local', backends: [{ service: 'web-stable', weight: '750m' }, { service: 'web-canary', weight: '250m' }] },
    };
    assert.deepEqual(
      findTrafficSplitRouting([split], target)?.rules[0]?.backends.map((b) => [b.name, b.weight]),
      [
        ['web-stable', 750],
        ['web-canary', 250],
      ],
    );
    const whole: TrafficSplitLike = { metadata: { name: 'web', namespace: 'shop' }, spec: { service: 'web', backends: [{ service: 'a', weight: '1' }, { service: 'b', weight: '3' }] } };
    assert.deepEqual(findTrafficSplitRouting([whole], target)?.rules[0]?.backends.map((b) => b.weight), [1, 3]);
  });

  test('first by name in the namespace; bad weights and matches are problems', () => {
    const mk = (name: string, namespace: string, weight: number | string): TrafficSplitLike => ({
      metadata: { name, namespace },
      spec: { service: 'web', backends: [{ service: 'web-canary', weight }], matches: name === 'b' ? [{ kind: 'HTTPRouteGroup', name: 'g' }] : undefined },
    });
    assert.equal(findTrafficSplitRouting([mk('c', 'shop', 1), mk('b', 'shop', 1), mk('a', 'other', 1)], target)?.object, 'shop/b');
    assert.equal(findTrafficSplitRouting([mk('b', 'shop', 1)], target)?.problems.length, 1);
    const bad = findTrafficSplitRouting([mk('c', 'shop', 'lots')], target);
    assert.equal(bad?.rules[0]?.backends[0]?.weight, 0);
    assert.equal(bad.problems.length, 1);
  });
});
