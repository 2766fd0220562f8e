import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { planRollout } from './plan.ts';
import {
  actionsOf,
  advance,
  CANARY_SVC,
  condition,
  emittedWeights,
  eventsOf,
  healthyWorld,
  newWorld,
  reasonsOf,
  reconcile,
  routeWeight,
  rsByHash,
  runUntilSteady,
  setImage,
  STABLE_SVC,
  T0,
  updateStatus,
  type World,
  selector,
  status,
} from './testkit.ts';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, SCALE_DOWN_DEADLINE_ANNOTATION } from './types.ts';

const STEPS_ROUTER = [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '30s' } }];

/** Healthy at v1, then v2 applied: the plan that starts the canary. */
function startCanary(o: Parameters<typeof healthyWorld>[0]): { world: World; stable: string; canary: string } {
  const world = healthyWorld(o);
  const stable = status(world).stableRS ?? '';
  setImage(world, 'demo:v2', 'c2');
  reconcile(world, { settle: false });
  const canary = status(world).currentPodHash ?? '';
  assert.notEqual(canary, stable);
  return { world, stable, canary };
}

describe('first apply', () => {
  it('creates the ReplicaSet at full replicas with the hash label, selector and revision 1; no steps run', () => {
    const world = newWorld({ replicas: 3, steps: [{ setWeight: 20 }, { pause: {} }], gitRevision: 'c1' });
    const plan = reconcile(world, { settle: false });
    const hash = status(world).currentPodHash ?? '';
    assert.deepEqual(actionsOf(plan), [
      {
        type: 'createReplicaSet',
        name: `demo-${hash}`,
        podTemplateHash: hash,
        replicas: 3,
        revision: 1,
        template: { metadata: { labels: { app: 'demo', [POD_TEMPLATE_HASH_LABEL]: hash } }, spec: { containers: [{ name: 'app', image: 'demo:v1' }] } },
        selector: { matchLabels: { app: 'demo', [POD_TEMPLATE_HASH_LABEL]: hash } },
        minReadySeconds: 0,
      },
    ]);
    assert.deepEqual(reasonsOf(plan), ['RolloutUpdated', 'NewReplicaSetCreated']);
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(status(world).message, 'more replicas need to be updated');
    assert.equal(status(world).stableRS, undefined, 'stable only once available');
    assert.equal(status(world).currentStepIndex, 2, 'no steps on a first deploy');
    assert.equal(condition(world, 'Progressing')?.reason, 'NewReplicaSetCreated');
    assert.equal(status(world).git?.currentRevision, 'c1');
    assert.equal(status(world).git?.stableRevision, undefined);
  });

  it('becomes Healthy once available: stableRS set, Completed, Services select it, stableRevision recorded', () => {
    const world = newWorld({ replicas: 3, router: true, gitRevision: 'c1' });
    reconcile(world);
    const plan = reconcile(world);
    const hash = status(world).currentPodHash;
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).message, undefined);
    assert.equal(status(world).stableRS, hash);
    assert.deepEqual(reasonsOf(plan), ['RolloutCompleted']);
    assert.match(eventsOf(plan)[0]?.message ?? '', /Initial deploy/);
    assert.equal(condition(world, 'Completed')?.status, 'True');
    assert.equal(condition(world, 'Available')?.status, 'True');
    assert.equal(condition(world, 'Progressing')?.reason, 'NewReplicaSetAvailable');
    assert.equal(selector(world, CANARY_SVC), hash);
    assert.equal(selector(world, STABLE_SVC), hash);
    assert.equal(status(world).git?.stableRevision, 'c1');
    assert.deepEqual(status(world).canary?.weights, {
      canary: { weight: 0, podTemplateHash: hash, serviceName: CANARY_SVC },
      stable: { weight: 100, podTemplateHash: hash, serviceName: STABLE_SVC },
    });
  });

  it('a steady healthy rollout plans no effects and the same status', () => {
    for (const router of [false, true]) {
      const world = healthyWorld({ replicas: 4, router, steps: STEPS_ROUTER });
      const before = structuredClone(status(world));
      advance(world, 3600);
      const plan = reconcile(world);
      assert.deepEqual(plan.effects, []);
      assert.deepEqual(plan.status, before);
      assert.equal(plan.requeueAt, undefined);
    }
  });

  it('defaults to 1 replica and fills status fields', () => {
    const world = healthyWorld({});
    const s = status(world);
    assert.equal(s.replicas, 1);
    assert.equal(s.updatedReplicas, 1);
    assert.equal(s.availableReplicas, 1);
    assert.equal(s.readyReplicas, 1);
    assert.equal(s.selector, 'app=demo');
    assert.equal(s.observedGeneration, '1');
    assert.equal(s.currentStepIndex, undefined, 'no steps: no index');
    assert.match(s.currentStepHash ?? '', /^[bcdfghjklmnpqrstvwxz2456789]+$/);
  });
});

describe('canary with a traffic router', () => {
  it('runs setWeight, an indefinite pause, promote, setWeight, a timed pause, completion and the scale-down delay', () => {
    const { world, stable, canary } = startCanary({ replicas: 10, router: true, steps: STEPS_ROUTER });
    // Step 1: canary at ceil(20% of 10) = 2, stable stays at 10, no traffic until canary pods are available.
    let plan = world.plans.at(-1);
    assert.ok(plan);
    assert.deepEqual(
      actionsOf(plan).map((e) => [e.type, 'replicas' in e ? e.replicas : undefined]),
      [['createReplicaSet', 2]],
    );
    assert.deepEqual(reasonsOf(plan), ['RolloutUpdated', 'StepStarted', 'NewReplicaSetCreated']);
    assert.equal(eventsOf(plan)[1]?.message, 'Step 1/4: setWeight 20');
    assert.equal(status(world).currentStepIndex, 0);
    assert.equal(status(world).git?.currentRevision, 'c2');

    // Canary pods available: canary Service → canary, weight 20, step done; the pause starts at once.
    reconcile(world);
    plan = reconcile(world);
    assert.deepEqual(actionsOf(plan), [
      { type: 'setServiceSelector', service: CANARY_SVC, podTemplateHash: canary },
      { type: 'setTraffic', intent: { canaryWeight: 20, headerRoutes: [], mirrorRoutes: [] }, stableHash: stable, canaryHash: canary },
    ]);
    assert.deepEqual(reasonsOf(plan), ['StepCompleted', 'StepStarted', 'RolloutPaused', 'TrafficWeightUpdated']);
    assert.deepEqual(
      eventsOf(plan).map((e) => e.message),
      ['Step 1/4: setWeight 20', 'Step 2/4: pause', 'Rollout is paused (CanaryPauseStep)', 'Traffic weight updated from 0 to 20'],
    );
    assert.equal(status(world).phase, 'Paused');
    assert.equal(status(world).message, 'CanaryPauseStep');
    assert.deepEqual(status(world).pauseConditions, [{ reason: 'CanaryPauseStep', startTime: '2024-05-01T10:00:00Z' }]);
    assert.equal(status(world).controllerPause, true);
    assert.equal(condition(world, 'Paused')?.status, 'True');
    assert.equal(rsByHash(world, stable)?.replicas, 10);

    // Indefinite: steady, hours later.
    advance(world, 7200);
    const before = structuredClone(status(world));
    plan = reconcile(world);
    assert.deepEqual(plan.effects, []);
    assert.deepEqual(plan.status, before);
    assert.equal(plan.requeueAt, undefined);

    // Promote: the user clears the pause conditions.
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    plan = reconcile(world, { settle: false });
    assert.deepEqual(reasonsOf(plan), ['RolloutResumed', 'StepCompleted', 'StepStarted', 'ScalingReplicaSet']);
    assert.deepEqual(actionsOf(plan), [{ type: 'scaleReplicaSet', name: `demo-${canary}`, replicas: 5 }]);
    assert.equal(status(world).controllerPause, undefined);
    assert.equal(status(world).currentStepIndex, 2);
    assert.equal(routeWeight(world), 20, 'the weight stays until the 5 canary pods are available');

    // Weight 50 once available; then the timed pause: requeue at its end.
    reconcile(world, { settle: false });
    assert.equal(routeWeight(world), 20);
    reconcile(world);
    plan = reconcile(world);
    assert.equal(routeWeight(world), 50);
    assert.equal(status(world).currentStepIndex, 3);
    assert.equal(plan.requeueAt, '2024-05-01T12:00:30Z');

    // At the end of the pause: last step done, canary to full, then promotion.
    advance(world, 30);
    plan = reconcile(world, { settle: false });
    assert.equal(status(world).currentStepIndex, 4);
    assert.deepEqual(actionsOf(plan), [{ type: 'scaleReplicaSet', name: `demo-${canary}`, replicas: 10 }]);
    assert.equal(status(world).phase, 'Progressing');
    reconcile(world, { settle: false });
    assert.equal(status(world).stableRS, stable, 'not promoted before the canary is fully available');
    world.observed.replicaSets.forEach((rs) => {
      rs.currentReplicas = rs.replicas;
      rs.availableReplicas = rs.replicas;
      rs.readyReplicas = rs.replicas;
    });
    plan = reconcile(world);
    const deadline = '2024-05-01T12:01:00Z';
    assert.deepEqual(actionsOf(plan), [
      { type: 'setServiceSelector', service: STABLE_SVC, podTemplateHash: canary },
      { type: 'setTraffic', intent: { canaryWeight: 0, headerRoutes: [], mirrorRoutes: [] }, stableHash: canary, canaryHash: canary },
      { type: 'scaleReplicaSet', name: `demo-${stable}`, replicas: 10, annotations: { [SCALE_DOWN_DEADLINE_ANNOTATION]: deadline } },
    ]);
    assert.deepEqual(reasonsOf(plan), ['RolloutCompleted', 'TrafficWeightUpdated']);
    assert.match(eventsOf(plan)[0]?.message ?? '', /Completed all 4 canary steps/);
    assert.equal(status(world).stableRS, canary);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(condition(world, 'Completed')?.status, 'True');
    assert.equal(status(world).git?.stableRevision, 'c2');
    assert.equal(plan.requeueAt, deadline);

    // The old stable keeps its pods until the deadline, then goes to 0.
    advance(world, 10);
    plan = reconcile(world);
    assert.deepEqual(actionsOf(plan), []);
    assert.equal(plan.requeueAt, deadline);
    advance(world, 20);
    plan = reconcile(world);
    assert.deepEqual(actionsOf(plan), [{ type: 'scaleReplicaSet', name: `demo-${stable}`, replicas: 0, annotations: { [SCALE_DOWN_DEADLINE_ANNOTATION]: null } }]);
    assert.equal(plan.requeueAt, undefined);
    plan = reconcile(world);
    assert.deepEqual(plan.effects, []);
    assert.deepEqual(emittedWeights(world), [20, 50, 0]);
  });

  it('a canary with no pod available gets no traffic', () => {
    const { world } = startCanary({ replicas: 4, router: true, steps: [{ setWeight: 50 }, { pause: {} }] });
    world.podPolicy = (rs) => (rs.podTemplateHash === status(world).stableRS ? 'available' : 'unavailable');
    for (let i = 0; i < 5; i++) reconcile(world);
    assert.equal(routeWeight(world), 0);
    assert.equal(status(world).currentStepIndex, 0);
    assert.equal(selector(world, CANARY_SVC), status(world).stableRS, 'the canary Service waits for an available canary pod');
  });

  it('setCanaryScale sizes the canary without touching traffic; matchTrafficWeight goes back to the weight', () => {
    const { world, canary } = startCanary({
      replicas: 10,
      router: true,
      steps: [{ setCanaryScale: { replicas: 3 } }, { setWeight: 10 }, { pause: {} }, { setCanaryScale: { matchTrafficWeight: true } }, { pause: {} }],
    });
    assert.equal(rsByHash(world, canary)?.replicas, 3);
    runUntilSteady(world);
    // setCanaryScale done (weight 0), then setWeight 10 keeps 3 pods (setCanaryScale still in force), weight 10.
    assert.equal(status(world).currentStepIndex, 2);
    assert.equal(rsByHash(world, canary)?.replicas, 3);
    assert.equal(routeWeight(world), 10);
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 4);
    assert.equal(rsByHash(world, canary)?.replicas, 1, 'ceil(10% of 10)');
    assert.deepEqual(emittedWeights(world), [10]);
  });

  it('a missing route holds the step with a message', () => {
    const { world } = startCanary({ replicas: 2, router: true, steps: [{ setWeight: 50 }] });
    const traffic = world.observed.traffic[0];
    assert.ok(traffic);
    traffic.problems = ['HTTPRoute default/demo-route not found'];
    traffic.canaryWeight = undefined;
    for (let i = 0; i < 3; i++) reconcile(world);
    assert.equal(status(world).currentStepIndex, 0);
    assert.equal(status(world).message, 'HTTPRoute default/demo-route not found');
  });
});

describe('basic canary (no router)', () => {
  it('moves replicas within maxSurge/maxUnavailable: 10 replicas, 25%/25%, setWeight 20 then 50', () => {
    const { world, stable, canary } = startCanary({ replicas: 10, services: true, steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: {} }] });
    const counts = (): [number | undefined, number | undefined] => [rsByHash(world, canary)?.replicas, rsByHash(world, stable)?.replicas];
    assert.deepEqual(counts(), [2, 8]);
    runUntilSteady(world);
    assert.deepEqual(counts(), [2, 8]);
    assert.equal(status(world).currentStepIndex, 1);
    assert.deepEqual(status(world).canary?.weights?.canary, { weight: 20, podTemplateHash: canary, serviceName: CANARY_SVC });
    assert.deepEqual(emittedWeights(world), [], 'no router, no route weights');
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    reconcile(world, { settle: false });
    assert.deepEqual(counts(), [5, 6]);
    runUntilSteady(world);
    assert.deepEqual(counts(), [5, 5]);
    assert.equal(status(world).currentStepIndex, 3);
    assert.equal(status(world).canary?.weights?.canary.weight, 50);
  });

  it('completes by replacing the stable within the limits and ends Healthy with nothing left over', () => {
    const { world, stable, canary } = startCanary({ replicas: 4, services: true, steps: [{ setWeight: 25 }] });
    const seen: [number, number][] = [];
    for (let i = 0; i < 20 && status(world).phase !== 'Healthy'; i++) {
      reconcile(world);
      const c = rsByHash(world, canary);
      const s = rsByHash(world, stable);
      seen.push([c?.replicas ?? 0, s?.replicas ?? 0]);
      // never more than replicas + maxSurge (1) pods, never fewer than replicas - maxUnavailable (1) available
      assert.ok((c?.replicas ?? 0) + (s?.replicas ?? 0) <= 5, JSON.stringify(seen));
    }
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).stableRS, canary);
    assert.equal(rsByHash(world, stable)?.replicas, 0);
    assert.equal(rsByHash(world, canary)?.replicas, 4);
    assert.equal(selector(world, STABLE_SVC), canary);
    assert.equal(condition(world, 'Completed')?.status, 'True');
  });
});

describe('pause steps', () => {
  it('timed pause: requeueAt = start + duration; nothing before; advances at the deadline', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ pause: { duration: '1m30s' } }, { setWeight: 50 }] });
    setImage(world, 'demo:v2');
    const plan = reconcile(world);
    assert.equal(status(world).phase, 'Paused');
    const start = status(world).pauseConditions?.[0]?.startTime;
    assert.equal(start, '2024-05-01T10:00:00Z');
    assert.equal(plan.requeueAt, '2024-05-01T10:01:30Z');
    advance(world, 89);
    const early = reconcile(world);
    assert.equal(status(world).currentStepIndex, 0);
    assert.equal(early.requeueAt, '2024-05-01T10:01:30Z');
    assert.deepEqual(actionsOf(early), []);
    advance(world, 1);
    const due = reconcile(world);
    assert.equal(status(world).currentStepIndex, 1);
    assert.equal(status(world).pauseConditions, undefined);
    assert.deepEqual(reasonsOf(due).slice(0, 3), ['RolloutResumed', 'StepCompleted', 'StepStarted']);
  });

  it('a late reconcile after the deadline also advances (restart after downtime)', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ pause: { duration: 10 } }, { setWeight: 50 }] });
    setImage(world, 'demo:v2');
    reconcile(world);
    advance(world, 3600);
    reconcile(world);
    assert.equal(status(world).currentStepIndex, 1);
  });

  it('sub-second durations requeue to the millisecond; duration 0 does not stop', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ pause: { duration: '500ms' } }, { pause: { duration: 0 } }, { setWeight: 50 }] });
    setImage(world, 'demo:v2');
    const plan = reconcile(world);
    assert.equal(plan.requeueAt, '2024-05-01T10:00:00.500Z');
    advance(world, 0.5);
    reconcile(world);
    assert.equal(status(world).currentStepIndex, 1);
    const next = reconcile(world);
    assert.equal(status(world).currentStepIndex, 2);
    assert.ok(!reasonsOf(next).includes('RolloutPaused'));
  });

  it('an indefinite pause neither times out nor requeues', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ pause: {} }], progressDeadlineSeconds: 60 });
    setImage(world, 'demo:v2');
    reconcile(world);
    advance(world, 86_400);
    const plan = reconcile(world);
    assert.equal(status(world).phase, 'Paused');
    assert.equal(plan.requeueAt, undefined);
  });
});

describe('planRollout inputs', () => {
  it('does not modify its inputs', () => {
    const world = newWorld({ replicas: 2, router: true, steps: STEPS_ROUTER });
    const rollout = structuredClone(world.rollout);
    const observed = structuredClone(world.observed);
    planRollout(rollout, observed, T0);
    assert.deepEqual(rollout, world.rollout);
    assert.deepEqual(observed, world.observed);
  });

  it('bumps the revision of a ReplicaSet that becomes current again', () => {
    const world = healthyWorld({ replicas: 1 });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    setImage(world, 'demo:v1');
    const plan = reconcile(world);
    const scale = actionsOf(plan).find((e) => e.type === 'scaleReplicaSet' && e.name === `demo-${v1 ?? ''}`);
    assert.deepEqual(scale, { type: 'scaleReplicaSet', name: `demo-${v1 ?? ''}`, replicas: 1, annotations: { [REVISION_ANNOTATION]: '3' } });
  });
});
