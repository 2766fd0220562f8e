// The status is the state: plans depend on (rollout, observed, now) only, so a
// controller restarted at any instant (even between two effects) continues
// where the previous one stopped.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rollout } from '../api/rollout.ts';
import { planRollout } from './plan.ts';
import {
  applyEffect,
  emittedWeights,
  healthyWorld,
  newWorld,
  reconcile,
  routeWeight,
  runUntilSteady,
  setImage,
  settlePods,
  updateStatus,
  type World,
  status,
} from './testkit.ts';
import { POD_TEMPLATE_HASH_LABEL, type Plan } from './types.ts';

const STEPS = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '30s' } }, { setWeight: 80 }];

/** A long story: canary, abort, retry, promote, a superseded canary, promote --full, a rollback, spec.paused. */
function story(router: boolean): World {
  const world = healthyWorld({ replicas: 10, router, services: true, steps: STEPS });
  setImage(world, 'demo:v2', 'c2');
  runUntilSteady(world);
  updateStatus(world, (s) => {
    s.abort = true;
  });
  runUntilSteady(world, { followTime: true });
  updateStatus(world, (s) => {
    s.abort = false;
    delete s.abortedAt;
    delete s.pauseConditions;
  });
  runUntilSteady(world);
  updateStatus(world, (s) => {
    delete s.pauseConditions;
  });
  runUntilSteady(world, { followTime: true });
  assert.equal(status(world).phase, 'Healthy');
  setImage(world, 'demo:v3', 'c3');
  runUntilSteady(world);
  setImage(world, 'demo:v4', 'c4');
  runUntilSteady(world);
  updateStatus(world, (s) => {
    s.promoteFull = true;
  });
  runUntilSteady(world, { followTime: true });
  assert.equal(status(world).phase, 'Healthy');
  setImage(world, 'demo:v5', 'c5');
  runUntilSteady(world);
  world.rollout = { ...world.rollout, spec: { ...world.rollout.spec, paused: true }, metadata: { ...world.rollout.metadata, generation: (world.rollout.metadata.generation ?? 0) + 1 } };
  runUntilSteady(world);
  world.rollout = { ...world.rollout, spec: { ...world.rollout.spec, paused: false }, metadata: { ...world.rollout.metadata, generation: (world.rollout.metadata.generation ?? 0) + 1 } };
  runUntilSteady(world);
  setImage(world, 'demo:v4', 'c6');
  runUntilSteady(world, { followTime: true });
  assert.equal(status(world).phase, 'Healthy');
  return world;
}

describe('restart determinism', () => {
  for (const router of [true, false]) {
    const kind = router ? 'router' : 'basic';

    it(`${kind}: at every point of a long story, a deep copy of the inputs gives a deep-equal plan`, () => {
      // reconcile() already re-plans every step from a JSON round-trip of the rollout; replay all inputs again here.
      const world = story(router);
      assert.ok(world.inputs.length > 40);
      world.inputs.forEach((input, i) => {
        const replay = planRollout(JSON.parse(JSON.stringify(input.rollout)) as Rollout, structuredClone(input.observed), new Date(input.now));
        assert.deepEqual(replay, world.plans[i], `plan ${i}`);
      });
    });

    it(`${kind}: no hidden state: replaying the inputs in another order gives the same plans`, () => {
      const world = story(router);
      const order = world.inputs.map((_, i) => i).sort((a, b) => ((a * 7919) % 97) - ((b * 7919) % 97) || a - b);
      for (const i of order) {
        const input = world.inputs[i];
        assert.ok(input);
        assert.deepEqual(planRollout(input.rollout, input.observed, new Date(input.now)), world.plans[i], `plan ${i}`);
      }
      assert.deepEqual(story(router).plans, world.plans, 'a second run in the same process plans the same');
    });

    it(`${kind}: planning from the persisted status continues the same way as an uninterrupted run`, () => {
      const world = story(router);
      // A new controller at every point: it reads the status the previous one wrote (JSON) and observes the same world.
      for (let i = 1; i < world.inputs.length; i++) {
        const input = world.inputs[i];
        const previous = world.plans[i - 1];
        assert.ok(input && previous);
        const persisted = JSON.parse(JSON.stringify(previous.status)) as Rollout['status'];
        if (JSON.stringify(input.rollout.status) !== JSON.stringify(persisted)) continue; // the user wrote status in between
        const restarted = planRollout({ ...input.rollout, status: persisted } as Rollout, input.observed, new Date(input.now));
        assert.deepEqual(restarted, world.plans[i], `plan ${i}`);
      }
    });

    it(`${kind}: no route weight outside the declared steps is ever written (incl. abort, retry, promote --full, rollback)`, () => {
      const world = story(router);
      const allowed = new Set([0, 20, 50, 80]);
      for (const w of emittedWeights(world)) assert.ok(allowed.has(w), `weight ${w}`);
      if (router) assert.ok(emittedWeights(world).length > 5);
      else assert.deepEqual(emittedWeights(world), []);
      for (const p of world.plans) {
        const weight = p.status.canary?.weights?.canary.weight;
        if (router) assert.ok(weight !== undefined && allowed.has(weight), `status weight ${String(weight)}`);
      }
    });
  }
});

/** Project what matters of a world's end state (timestamps aside). */
function outcome(world: World): unknown {
  const s = status(world);
  return {
    phase: s.phase,
    stableRS: s.stableRS,
    currentPodHash: s.currentPodHash,
    currentStepIndex: s.currentStepIndex,
    replicaSets: world.observed.replicaSets.map((rs) => [rs.podTemplateHash, rs.replicas, rs.revision, rs.scaleDownDeadline ?? null]).sort(),
    services: Object.fromEntries(Object.entries(world.observed.services).map(([k, v]) => [k, v?.selector[POD_TEMPLATE_HASH_LABEL]])),
    weight: routeWeight(world),
    conditions: s.conditions?.map((c) => [c.type, c.status, c.reason]),
  };
}

describe('crash between effects and the status write', () => {
  for (const router of [true, false]) {
    it(`${router ? 'router' : 'basic'}: a controller killed after any prefix of a plan's effects converges to the same end`, () => {
      const start = (): World => {
        const world = healthyWorld({ replicas: 4, router, services: true, steps: [{ setWeight: 25 }, { setWeight: 50 }, { pause: { duration: 30 } }, { setWeight: 75 }] });
        setImage(world, 'demo:v2');
        return world;
      };
      const reference = start();
      runUntilSteady(reference, { followTime: true });
      const expected = outcome(reference);
      const plansToSteady = reference.plans.length - start().plans.length;
      assert.ok(plansToSteady > 5);

      for (let k = 0; k < plansToSteady; k++) {
        // Replay k plans, then crash inside plan k after j of its effects (the status is never written).
        const probe = start();
        for (let i = 0; i < k; i++) reconcile(probe, { settle: true });
        const plan: Plan = planRollout(probe.rollout, probe.observed, probe.now);
        const mutations = plan.effects.filter((e) => e.type !== 'event');
        for (let j = 0; j <= mutations.length; j++) {
          const crashed = start();
          for (let i = 0; i < k; i++) reconcile(crashed, { settle: true });
          for (const e of mutations.slice(0, j)) applyEffect(crashed, e);
          settlePods(crashed);
          runUntilSteady(crashed, { followTime: true });
          assert.deepEqual(outcome(crashed), expected, `crash in plan ${k} after ${j} effects`);
        }
      }
    });
  }

  it('a restarted controller does not create a ReplicaSet twice', () => {
    const world = newWorld({ replicas: 2 });
    const plan = planRollout(world.rollout, world.observed, world.now);
    for (const e of plan.effects) applyEffect(world, e);
    // status lost: plan again from the old status against the new world
    const again = planRollout(world.rollout, world.observed, world.now);
    assert.equal(
      again.effects.some((e) => e.type === 'createReplicaSet'),
      false,
    );
  });
});
