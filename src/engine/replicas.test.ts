import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  approximateWeightedCounts,
  basicCanaryReplicaCounts,
  resolveSurgeAndUnavailable,
  scaledValue,
  scaleDownOlderReplicaSets,
  trafficRoutedReplicaCounts,
  trafficWeightToReplicas,
  type ReplicaCounts,
} from './replicas.ts';

const rs = (replicas: number, available: number): ReplicaCounts => ({ replicas, currentReplicas: replicas, availableReplicas: available });

describe('surge and unavailable', () => {
  it('scales percentages: surge rounds up, unavailable rounds down', () => {
    assert.equal(scaledValue('25%', 10, true), 3);
    assert.equal(scaledValue('25%', 10, false), 2);
    assert.equal(scaledValue(4, 10, true), 4);
  });

  it('defaults to 25%/25% and allows one unavailable pod when both come to 0', () => {
    assert.deepEqual(resolveSurgeAndUnavailable(10), { maxSurge: 3, maxUnavailable: 2 });
    assert.deepEqual(resolveSurgeAndUnavailable(1), { maxSurge: 1, maxUnavailable: 0 });
    assert.deepEqual(resolveSurgeAndUnavailable(10, '0%', '0%'), { maxSurge: 0, maxUnavailable: 1 });
    assert.deepEqual(resolveSurgeAndUnavailable(3, 0, 5), { maxSurge: 0, maxUnavailable: 3 });
    assert.deepEqual(resolveSurgeAndUnavailable(0), { maxSurge: 0, maxUnavailable: 0 });
  });
});

describe('approximateWeightedCounts (Argo TestApproximateWeightedNewStableReplicaCounts)', () => {
  // [replicas, weight, maxSurge, canary, stable]
  const table: [number, number, number, number, number][] = [
    [0, 50, 1, 0, 0],
    [1, 0, 0, 0, 1],
    [1, 49, 0, 0, 1],
    [1, 50, 0, 1, 0],
    [1, 1, 1, 1, 1],
    [1, 100, 1, 1, 0],
    [2, 1, 0, 1, 1],
    [2, 99, 0, 1, 1],
    [2, 1, 1, 1, 2],
    [2, 99, 1, 2, 1],
    [3, 10, 0, 1, 2],
    [3, 50, 0, 2, 1],
    [3, 10, 1, 1, 3],
    [3, 33, 1, 1, 2],
    [3, 49, 1, 2, 2],
    [10, 1, 0, 1, 9],
    [10, 14, 0, 1, 9],
    [10, 15, 0, 2, 8],
    [10, 99, 0, 9, 1],
    [10, 1, 1, 1, 10],
    [10, 18, 1, 2, 9],
    [10, 20, 1, 2, 8],
    [10, 24, 1, 3, 8],
    [10, 99, 1, 10, 1],
    [10, 100, 1, 10, 0],
  ];
  for (const [replicas, weight, surge, canary, stable] of table) {
    it(`replicas ${replicas}, weight ${weight}, surge ${surge} → canary ${canary}, stable ${stable}`, () => {
      assert.deepEqual(approximateWeightedCounts(replicas, weight, surge), { canary, stable });
    });
  }
});

describe('basicCanaryReplicaCounts (Argo TestCalculateReplicaCountsForCanary, no traffic routing)', () => {
  interface Case {
    name: string;
    replicas: number;
    weight: number;
    surge: number | string;
    unavailable: number | string;
    stable: [spec: number, available: number];
    canary: [spec: number, available: number];
    older?: [spec: number, available: number];
    expect: { canary: number; stable: number };
  }
  const cases: Case[] = [
    { name: 'spec < available does not count extra pods', replicas: 10, weight: 100, surge: 3, unavailable: 0, stable: [7, 8], canary: [6, 3], expect: { stable: 7, canary: 6 } },
    { name: 'max surge int scales up the canary', replicas: 10, weight: 20, surge: 2, unavailable: 0, stable: [10, 10], canary: [0, 0], expect: { stable: 10, canary: 2 } },
    { name: 'max surge percentage scales up the canary', replicas: 10, weight: 20, surge: '20%', unavailable: 0, stable: [10, 10], canary: [0, 0], expect: { stable: 10, canary: 2 } },
    { name: 'extra stable replicas scale down', replicas: 10, weight: 20, surge: '20%', unavailable: 0, stable: [10, 10], canary: [2, 2], expect: { stable: 8, canary: 2 } },
    { name: 'never past max surge', replicas: 10, weight: 30, surge: 2, unavailable: 0, stable: [10, 10], canary: [0, 0], expect: { stable: 10, canary: 2 } },
    { name: 'max unavailable int scales the stable down', replicas: 10, weight: 20, surge: 0, unavailable: 2, stable: [10, 10], canary: [0, 0], expect: { stable: 8, canary: 0 } },
    { name: 'max unavailable percentage scales the stable down', replicas: 10, weight: 20, surge: 0, unavailable: '20%', stable: [10, 10], canary: [0, 0], expect: { stable: 8, canary: 0 } },
    { name: 'never past max unavailable', replicas: 10, weight: 30, surge: 0, unavailable: 2, stable: [10, 10], canary: [0, 0], expect: { stable: 8, canary: 0 } },
    { name: 'surge and unavailable together', replicas: 10, weight: 50, surge: 2, unavailable: 1, stable: [10, 10], canary: [0, 0], expect: { stable: 9, canary: 2 } },
    { name: 'setWeight 0 scales the canary to 0', replicas: 10, weight: 0, surge: 1, unavailable: 1, stable: [10, 10], canary: [1, 1], expect: { stable: 10, canary: 0 } },
    { name: 'setWeight 100 scales the stable to 0', replicas: 10, weight: 100, surge: 1, unavailable: 1, stable: [1, 1], canary: [10, 10], expect: { stable: 0, canary: 10 } },
    { name: 'a non-zero weight keeps a canary pod (1 replica)', replicas: 1, weight: 20, surge: 1, unavailable: 0, stable: [1, 1], canary: [0, 0], expect: { stable: 1, canary: 1 } },
    { name: 'a non-100 weight keeps a canary pod (1 replica)', replicas: 1, weight: 90, surge: 1, unavailable: 0, stable: [1, 1], canary: [0, 0], expect: { stable: 1, canary: 1 } },
    { name: 'the stable scales up before the canary', replicas: 10, weight: 30, surge: 1, unavailable: 0, stable: [1, 1], canary: [0, 0], older: [3, 3], expect: { stable: 7, canary: 1 } },
    { name: 'canary and stable scale down together', replicas: 10, weight: 30, surge: 0, unavailable: 3, stable: [8, 5], canary: [4, 4], expect: { stable: 7, canary: 3 } },
    { name: 'stable and canary availability both count', replicas: 10, weight: 100, surge: 1, unavailable: 0, stable: [10, 2], canary: [10, 8], expect: { stable: 2, canary: 9 } },
    { name: 'older ReplicaSets go down first', replicas: 10, weight: 30, surge: 0, unavailable: 1, stable: [8, 6], canary: [4, 2], older: [3, 3], expect: { stable: 8, canary: 4 } },
    { name: 'an uneven weight does not round past max surge', replicas: 10, weight: 5, surge: 0, unavailable: 1, stable: [10, 10], canary: [0, 0], expect: { stable: 9, canary: 0 } },
    { name: 'an uneven weight does not round past max surge (part 2)', replicas: 10, weight: 5, surge: 0, unavailable: 1, stable: [9, 9], canary: [0, 0], expect: { stable: 9, canary: 1 } },
    { name: '0% surge and 0% unavailable allow one unavailable', replicas: 10, weight: 10, surge: '0%', unavailable: '0%', stable: [10, 10], canary: [0, 0], expect: { stable: 9, canary: 0 } },
    { name: 'max surge holds while the stable is unavailable', replicas: 4, weight: 100, surge: 1, unavailable: 0, stable: [4, 1], canary: [0, 0], expect: { stable: 4, canary: 1 } },
    { name: 'scale down to max unavailable without exceeding max surge', replicas: 3, weight: 99, surge: 0, unavailable: 2, stable: [3, 3], canary: [0, 0], expect: { stable: 1, canary: 0 } },
    { name: 'scale down to max unavailable without exceeding max surge (part 2)', replicas: 3, weight: 99, surge: 0, unavailable: 2, stable: [1, 1], canary: [0, 0], expect: { stable: 1, canary: 2 } },
    { name: 'max unavailable holds while the stable is unavailable', replicas: 4, weight: 100, surge: 1, unavailable: 0, stable: [4, 1], canary: [1, 1], expect: { stable: 3, canary: 1 } },
    { name: 'abort: the canary stays until the stable surged', replicas: 4, weight: 0, surge: 1, unavailable: 0, stable: [0, 0], canary: [4, 4], expect: { stable: 1, canary: 4 } },
    { name: 'abort: no change while the surged stable is unavailable', replicas: 4, weight: 0, surge: 1, unavailable: 0, stable: [1, 0], canary: [4, 4], expect: { stable: 1, canary: 4 } },
    { name: 'abort: the canary goes down one at a time', replicas: 4, weight: 0, surge: 1, unavailable: 0, stable: [1, 1], canary: [4, 4], expect: { stable: 1, canary: 3 } },
    { name: 'full promotion ignores the step weight', replicas: 4, weight: 100, surge: 4, unavailable: 4, stable: [4, 4], canary: [0, 0], expect: { stable: 0, canary: 4 } },
    { name: 'full promotion honours max surge and max unavailable', replicas: 4, weight: 100, surge: 3, unavailable: 0, stable: [4, 4], canary: [0, 0], expect: { stable: 4, canary: 3 } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const fence = resolveSurgeAndUnavailable(c.replicas, c.surge, c.unavailable);
      const got = basicCanaryReplicaCounts(
        { replicas: c.replicas, weight: c.weight, ...fence },
        rs(...c.canary),
        rs(...c.stable),
        c.older === undefined ? [] : [rs(...c.older)],
      );
      assert.deepEqual(got, c.expect);
    });
  }

  it('without a distinct stable the canary aims at all replicas', () => {
    assert.deepEqual(basicCanaryReplicaCounts({ replicas: 10, weight: 10, maxSurge: 0, maxUnavailable: 1 }, rs(9, 9), undefined, []), { canary: 10, stable: 0 });
  });

  it('10 replicas, 25%/25%: setWeight 20 then 50, step by step', () => {
    const fence = resolveSurgeAndUnavailable(10); // surge 3, unavailable 2
    const at = (weight: number, canary: ReplicaCounts, stable: ReplicaCounts): { canary: number; stable: number } =>
      basicCanaryReplicaCounts({ replicas: 10, weight, ...fence }, canary, stable, []);
    // setWeight 20: canary created at 2 (within the surge), stable down to 8 (within unavailable).
    assert.deepEqual(at(20, rs(0, 0), rs(10, 10)), { canary: 2, stable: 8 });
    assert.deepEqual(at(20, rs(2, 2), rs(8, 8)), { canary: 2, stable: 8 }, 'at the step: nothing moves');
    // setWeight 50: canary to 5 (surge 3), stable only to 6 while 3 canary pods are not yet available.
    assert.deepEqual(at(50, rs(2, 2), rs(8, 8)), { canary: 5, stable: 6 });
    assert.deepEqual(at(50, rs(5, 5), rs(6, 6)), { canary: 5, stable: 5 });
    assert.deepEqual(at(50, rs(5, 5), rs(5, 5)), { canary: 5, stable: 5 });
    // Completion (weight 100).
    assert.deepEqual(at(100, rs(5, 5), rs(5, 5)), { canary: 8, stable: 3 });
    assert.deepEqual(at(100, rs(8, 8), rs(3, 3)), { canary: 10, stable: 0 });
  });
});

describe('traffic-routed counts (Argo, dynamicStableScale off)', () => {
  it('canary = ceil(weight% of replicas), stable stays full', () => {
    assert.deepEqual(trafficRoutedReplicaCounts(10, 20), { canary: 2, stable: 10 });
    assert.deepEqual(trafficRoutedReplicaCounts(10, 10), { canary: 1, stable: 10 });
    assert.deepEqual(trafficRoutedReplicaCounts(10, 0), { canary: 0, stable: 10 });
  });
  it('setCanaryScale replicas or weight decide the canary', () => {
    assert.deepEqual(trafficRoutedReplicaCounts(1, 100, { fixedCanaryReplicas: 9 }), { canary: 9, stable: 1 });
    assert.deepEqual(trafficRoutedReplicaCounts(4, 200), { canary: 8, stable: 4 });
  });
  it('minPodsPerReplicaSet raises a non-zero canary', () => {
    assert.deepEqual(trafficRoutedReplicaCounts(10, 5, { minPodsPerReplicaSet: 2 }), { canary: 2, stable: 10 });
    assert.deepEqual(trafficRoutedReplicaCounts(10, 0, { minPodsPerReplicaSet: 2 }), { canary: 0, stable: 10 });
  });
  it('trafficWeightToReplicas rounds up', () => {
    assert.deepEqual(
      [0, 20, 25, 33, 99, 100].map((w) => trafficWeightToReplicas(10, w)),
      [0, 2, 3, 4, 10, 10],
    );
  });
});

describe('scaleDownOlderReplicaSets', () => {
  const older = (name: string, revision: number, replicas: number, available: number): Parameters<typeof scaleDownOlderReplicaSets>[0][number] => ({
    name,
    revision,
    replicas,
    currentReplicas: replicas,
    availableReplicas: available,
    creationTimestamp: `2024-01-0${revision}T00:00:00Z`,
  });

  it('drops unavailable pods at once, then available ones within maxUnavailable, newest first', () => {
    const next = scaleDownOlderReplicaSets([older('a', 1, 3, 3), older('b', 2, 4, 2)], 15, 10, 2);
    // b: 2 unavailable pods go first (4 → 2); then 15 - 8 = 7 may go: b 2 → 0, a 3 → 0.
    assert.deepEqual(Object.fromEntries(next), { b: 0, a: 0 });
  });

  it('stops at the minimum availability', () => {
    const next = scaleDownOlderReplicaSets([older('a', 1, 5, 5)], 10, 10, 2);
    assert.deepEqual(Object.fromEntries(next), { a: 3 });
    assert.equal(scaleDownOlderReplicaSets([older('a', 1, 5, 5)], 8, 10, 2).size, 0);
  });
});
