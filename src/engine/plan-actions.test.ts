// User actions as the CLI writes them (Argo's kubectl plugin semantics):
// promote = pause conditions cleared or currentStepIndex + 1; promote --full =
// status.promoteFull; abort = status.abort; retry = status.abort false
// (abortedAt and pauseConditions cleared); pause/resume = spec.paused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  actionsOf,
  advance,
  CANARY_SVC,
  condition,
  emittedWeights,
  eventsOf,
  healthyWorld,
  reasonsOf,
  reconcile,
  routeWeight,
  rsByHash,
  runUntilSteady,
  setImage,
  STABLE_SVC,
  updateSpec,
  updateStatus,
  type RolloutOptions,
  type World,
  selector,
  status,
} from './testkit.ts';
import { SCALE_DOWN_DEADLINE_ANNOTATION } from './types.ts';

/** v1 healthy, v2 rolling out and waiting at the indefinite pause after setWeight 20. */
function atPause(o: RolloutOptions = {}): { world: World; stable: string; canary: string } {
  const world = healthyWorld({ replicas: 10, router: true, steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }, { pause: {} }], ...o });
  const stable = status(world).stableRS ?? '';
  setImage(world, 'demo:v2');
  runUntilSteady(world);
  assert.equal(status(world).phase, 'Paused');
  assert.equal(status(world).currentStepIndex, 1);
  return { world, stable, canary: status(world).currentPodHash ?? '' };
}

const promote = (world: World): void => {
  updateStatus(world, (s) => {
    delete s.pauseConditions;
  });
};
const promoteFull = (world: World): void => {
  updateStatus(world, (s) => {
    s.promoteFull = true;
  });
};
const abort = (world: World): void => {
  updateStatus(world, (s) => {
    s.abort = true;
  });
};
const retry = (world: World): void => {
  updateStatus(world, (s) => {
    s.abort = false;
    delete s.abortedAt;
    delete s.pauseConditions;
  });
};
const pause = (world: World, paused: boolean): void => {
  updateSpec(world, (r) => {
    r.spec.paused = paused;
  });
};

describe('promote', () => {
  it('at a pause step: clearing the pause conditions goes to the next step', () => {
    const { world, canary } = atPause();
    promote(world);
    const plan = reconcile(world);
    assert.equal(status(world).currentStepIndex, 2);
    assert.equal(status(world).controllerPause, undefined);
    assert.equal(rsByHash(world, canary)?.replicas, 5);
    assert.deepEqual(reasonsOf(plan).slice(0, 3), ['RolloutResumed', 'StepCompleted', 'StepStarted']);
  });

  it('not paused: the step index the CLI incremented is honoured', () => {
    const world = healthyWorld({ replicas: 10, router: true, steps: [{ setWeight: 20 }, { setWeight: 40 }, { pause: {} }] });
    setImage(world, 'demo:v2');
    const canary = (): number | undefined => rsByHash(world, status(world).currentPodHash)?.replicas;
    world.podPolicy = (rs) => (rs.podTemplateHash === status(world).stableRS ? 'available' : 'unavailable');
    reconcile(world);
    reconcile(world);
    assert.equal(status(world).currentStepIndex, 0, 'stuck: canary pods not available');
    updateStatus(world, (s) => {
      s.currentStepIndex = 1;
    });
    reconcile(world);
    assert.equal(status(world).currentStepIndex, 1);
    assert.equal(canary(), 4);
  });

  it('when healthy there is nothing to promote: no effects', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ setWeight: 50 }] });
    promote(world);
    assert.deepEqual(actionsOf(reconcile(world)), []);
    assert.equal(status(world).phase, 'Healthy');
  });
});

describe('promote --full', () => {
  it('from a pause step: skips the remaining steps, scales the canary up, keeps the weight, then promotes', () => {
    const { world, stable, canary } = atPause();
    promoteFull(world);
    const plan = reconcile(world, { settle: false });
    assert.deepEqual(reasonsOf(plan).slice(0, 1), ['RolloutPromoted']);
    assert.equal(status(world).currentStepIndex, 4);
    assert.equal(status(world).promoteFull, true);
    assert.equal(status(world).pauseConditions, undefined);
    assert.equal(rsByHash(world, canary)?.replicas, 10);
    assert.equal(routeWeight(world), 20, 'traffic stays at the last weight until promotion');
    runUntilSteady(world, { followTime: true });
    assert.equal(status(world).stableRS, canary);
    assert.equal(status(world).promoteFull, undefined);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(rsByHash(world, stable)?.replicas, 0);
    const completed = world.plans.flatMap((p) => eventsOf(p)).filter((e) => e.reason === 'RolloutCompleted');
    assert.match(completed.at(-1)?.message ?? '', /Full promotion requested/);
    assert.deepEqual(emittedWeights(world), [20, 0]);
  });

  it('while progressing (canary not yet available)', () => {
    const world = healthyWorld({ replicas: 4, steps: [{ setWeight: 25 }, { pause: {} }] });
    setImage(world, 'demo:v2');
    reconcile(world, { settle: false });
    promoteFull(world);
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).stableRS, status(world).currentPodHash);
  });

  it('from aborted: ends the abort and promotes', () => {
    const { world, canary } = atPause();
    abort(world);
    reconcile(world);
    assert.equal(status(world).phase, 'Degraded');
    promoteFull(world);
    runUntilSteady(world, { followTime: true });
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).stableRS, canary);
    assert.equal(status(world).abort, undefined);
    assert.equal(status(world).abortedAt, undefined);
  });

  it('when healthy: the flag is dropped and nothing happens', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ setWeight: 50 }] });
    promoteFull(world);
    const plan = reconcile(world);
    assert.deepEqual(plan.effects, []);
    assert.equal(status(world).promoteFull, undefined);
  });

  it('while paused by spec.paused: held until resumed', () => {
    const { world, canary } = atPause();
    pause(world, true);
    reconcile(world);
    promoteFull(world);
    reconcile(world);
    assert.equal(status(world).phase, 'Paused');
    assert.equal(status(world).promoteFull, true);
    assert.equal(rsByHash(world, canary)?.replicas, 2);
    pause(world, false);
    runUntilSteady(world, { followTime: true });
    assert.equal(status(world).stableRS, canary);
  });
});

describe('abort', () => {
  it('with a router: traffic to stable at once, canary Service back to stable, canary scaled down after abortScaleDownDelaySeconds', () => {
    const { world, stable, canary } = atPause();
    abort(world);
    advance(world, 5);
    let plan = reconcile(world);
    const deadline = '2024-05-01T10:00:35Z';
    assert.deepEqual(actionsOf(plan), [
      { type: 'scaleReplicaSet', name: `demo-${canary}`, replicas: 2, annotations: { [SCALE_DOWN_DEADLINE_ANNOTATION]: deadline } },
      { type: 'setServiceSelector', service: CANARY_SVC, podTemplateHash: stable },
      { type: 'setTraffic', intent: { canaryWeight: 0, headerRoutes: [], mirrorRoutes: [] }, stableHash: stable, canaryHash: canary },
    ]);
    assert.deepEqual(
      eventsOf(plan).filter((e) => e.reason === 'RolloutAborted'),
      [{ reason: 'RolloutAborted', eventType: 'Warning', message: 'Rollout aborted update to revision 2' }],
    );
    const s = status(world);
    assert.equal(s.phase, 'Degraded');
    assert.equal(s.message, 'RolloutAborted: Rollout aborted update to revision 2');
    assert.equal(s.abort, true);
    assert.equal(s.abortedAt, '2024-05-01T10:00:05Z');
    assert.equal(s.currentStepIndex, 0);
    assert.equal(s.pauseConditions, undefined);
    assert.equal(s.controllerPause, undefined);
    assert.equal(s.stableRS, stable);
    assert.equal(condition(world, 'Progressing')?.reason, 'RolloutAborted');
    assert.equal(condition(world, 'Progressing')?.status, 'False');
    assert.equal(plan.requeueAt, deadline);
    assert.equal(selector(world, STABLE_SVC), stable);

    advance(world, 10);
    plan = reconcile(world);
    assert.deepEqual(plan.effects, [], 'steady while waiting: no effects, no events');
    assert.equal(plan.requeueAt, deadline);
    advance(world, 20);
    plan = reconcile(world);
    assert.deepEqual(actionsOf(plan), [{ type: 'scaleReplicaSet', name: `demo-${canary}`, replicas: 0 }]);
    plan = reconcile(world);
    assert.deepEqual(plan.effects, []);
    assert.equal(status(world).abortedAt, '2024-05-01T10:00:05Z', 'abortedAt is kept');
  });

  it('abortScaleDownDelaySeconds 0 leaves the canary scaled up', () => {
    const { world, canary } = atPause({ abortScaleDownDelaySeconds: 0 });
    abort(world);
    runUntilSteady(world, { followTime: true });
    assert.equal(rsByHash(world, canary)?.replicas, 2);
    assert.equal(routeWeight(world), 0);
  });

  it('basic canary: rolls back to stable within maxUnavailable', () => {
    const world = healthyWorld({ replicas: 4, services: true, steps: [{ setWeight: 50 }, { pause: {} }] });
    const stable = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const canary = status(world).currentPodHash;
    assert.equal(rsByHash(world, canary)?.replicas, 2);
    abort(world);
    runUntilSteady(world);
    assert.equal(rsByHash(world, canary)?.replicas, 0);
    assert.equal(rsByHash(world, stable)?.replicas, 4);
    assert.equal(selector(world, CANARY_SVC), stable);
    assert.equal(status(world).phase, 'Degraded');
    assert.equal(status(world).canary?.weights?.canary.weight, 0);
  });

  it('when healthy: a no-op (nothing to abort)', () => {
    const world = healthyWorld({ replicas: 2, router: true, steps: [{ setWeight: 50 }] });
    abort(world);
    const plan = reconcile(world);
    assert.deepEqual(plan.effects, []);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).abort, undefined);
  });

  it('while paused by spec.paused: Degraded, traffic back to stable, no scaling', () => {
    const { world, canary } = atPause();
    pause(world, true);
    reconcile(world);
    abort(world);
    reconcile(world);
    assert.equal(status(world).phase, 'Degraded');
    assert.equal(routeWeight(world), 0);
    assert.equal(rsByHash(world, canary)?.scaleDownDeadline, undefined, 'no scaling while spec.paused');
  });

  it('emits RolloutAborted once', () => {
    const { world } = atPause();
    abort(world);
    runUntilSteady(world, { followTime: true });
    const aborted = world.plans.flatMap((p) => reasonsOf(p)).filter((r) => r === 'RolloutAborted');
    assert.equal(aborted.length, 1);
  });
});

describe('retry', () => {
  it('runs the steps again from the first one; the scale-down deadline is lifted', () => {
    const { world, canary } = atPause();
    abort(world);
    reconcile(world);
    assert.ok(rsByHash(world, canary)?.scaleDownDeadline);
    retry(world);
    // The canary still has its 2 pods: step 1 (setWeight 20) is met at once and the pause follows.
    const plan = reconcile(world);
    assert.deepEqual(reasonsOf(plan), ['RolloutRetry', 'StepStarted', 'StepCompleted', 'StepStarted', 'RolloutPaused', 'TrafficWeightUpdated']);
    assert.equal(eventsOf(plan)[1]?.message, 'Step 1/4: setWeight 20');
    assert.equal(status(world).phase, 'Paused');
    assert.equal(status(world).currentStepIndex, 1);
    assert.equal(status(world).abort, undefined);
    assert.equal(status(world).abortedAt, undefined);
    assert.equal(rsByHash(world, canary)?.scaleDownDeadline, undefined);
    assert.equal(routeWeight(world), 20);
    assert.equal(selector(world, CANARY_SVC), canary);
  });

  it('after the canary was scaled down: scales it back up', () => {
    const { world, canary } = atPause();
    abort(world);
    runUntilSteady(world, { followTime: true });
    assert.equal(rsByHash(world, canary)?.replicas, 0);
    retry(world);
    runUntilSteady(world);
    assert.equal(rsByHash(world, canary)?.replicas, 2);
    assert.equal(status(world).currentStepIndex, 1);
  });

  it('when not aborted: a no-op', () => {
    const { world } = atPause();
    const before = structuredClone(status(world));
    updateStatus(world, (s) => {
      s.abort = false;
    });
    const plan = reconcile(world);
    assert.deepEqual(plan.effects, []);
    assert.deepEqual(plan.status, before);
  });
});

describe('pause and resume (spec.paused)', () => {
  it('mid-step: Paused "manually paused", no scaling and no step progress; resume continues', () => {
    const world = healthyWorld({ replicas: 10, router: true, steps: [{ setWeight: 20 }, { setWeight: 50 }] });
    setImage(world, 'demo:v2');
    reconcile(world, { settle: false });
    pause(world, true);
    let plan = reconcile(world);
    assert.deepEqual(reasonsOf(plan), ['RolloutPaused']);
    assert.equal(status(world).phase, 'Paused');
    assert.equal(status(world).message, 'manually paused');
    assert.equal(condition(world, 'Paused')?.status, 'True');
    assert.equal(condition(world, 'Progressing')?.reason, 'RolloutPaused');
    for (let i = 0; i < 3; i++) {
      plan = reconcile(world);
      assert.deepEqual(plan.effects, []);
    }
    assert.equal(status(world).currentStepIndex, 0, 'pods are available, but paused');
    pause(world, false);
    plan = reconcile(world);
    assert.equal(reasonsOf(plan)[0], 'RolloutResumed');
    assert.equal(status(world).currentStepIndex, 1);
    assert.equal(condition(world, 'Paused')?.status, 'False');
  });

  it('when healthy: Paused, then Healthy again on resume', () => {
    const world = healthyWorld({ replicas: 2 });
    pause(world, true);
    reconcile(world);
    assert.equal(status(world).phase, 'Paused');
    pause(world, false);
    const plan = reconcile(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.deepEqual(reasonsOf(plan), ['RolloutResumed']);
  });

  it('at a pause step: the pause condition stays; resume returns to the pause step', () => {
    const { world } = atPause();
    const conditions = status(world).pauseConditions;
    pause(world, true);
    reconcile(world);
    assert.equal(status(world).message, 'manually paused');
    assert.deepEqual(status(world).pauseConditions, conditions);
    pause(world, false);
    const plan = reconcile(world);
    assert.equal(status(world).phase, 'Paused');
    assert.equal(status(world).message, 'CanaryPauseStep');
    assert.deepEqual(status(world).pauseConditions, conditions);
    assert.deepEqual(reasonsOf(plan), ['RolloutResumed']);
  });

  it('a new template while paused creates nothing until resumed', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ setWeight: 50 }] });
    pause(world, true);
    reconcile(world);
    setImage(world, 'demo:v2');
    const plan = reconcile(world);
    assert.deepEqual(actionsOf(plan), []);
    assert.equal(status(world).phase, 'Paused');
    pause(world, false);
    const resumed = reconcile(world);
    assert.equal(actionsOf(resumed)[0]?.type, 'createReplicaSet');
  });

  it('resume when not paused: a no-op', () => {
    const { world } = atPause();
    const before = structuredClone(status(world));
    pause(world, false);
    const plan = reconcile(world);
    assert.deepEqual(plan.effects, []);
    assert.deepEqual({ ...plan.status, observedGeneration: before.observedGeneration }, before);
  });
});
