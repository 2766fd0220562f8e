// Progress deadline, spec changes mid-rollout, rollback to stable, revision
// history, and the events a whole rollout records.
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
  newWorld,
  reasonsOf,
  reconcile,
  routeWeight,
  rsByHash,
  runUntilSteady,
  setImage,
  STABLE_SVC,
  updateSpec,
  updateStatus,
  type World,
  selector,
  status,
} from './testkit.ts';

/** Only the stable's pods ever become available: the canary is stuck. */
function stuckCanary(world: World): void {
  world.podPolicy = (rs) => (rs.podTemplateHash === world.rollout.status?.stableRS ? 'available' : 'unavailable');
}

describe('progress deadline', () => {
  it('no progress for progressDeadlineSeconds: Degraded, ProgressDeadlineExceeded, one Warning, exact requeueAt before', () => {
    const world = healthyWorld({ replicas: 4, router: true, steps: [{ setWeight: 25 }, { pause: {} }], progressDeadlineSeconds: 120 });
    stuckCanary(world);
    setImage(world, 'demo:v2');
    reconcile(world);
    let plan = reconcile(world); // the canary's pods are created (progress), never available
    assert.equal(plan.requeueAt, '2024-05-01T10:02:00Z');
    advance(world, 60);
    plan = reconcile(world);
    assert.equal(plan.requeueAt, '2024-05-01T10:02:00Z', 'lastUpdateTime + deadline, unchanged without progress');
    assert.equal(status(world).phase, 'Progressing');
    advance(world, 60);
    plan = reconcile(world);
    const name = `demo-${status(world).currentPodHash ?? ''}`;
    assert.equal(status(world).phase, 'Degraded');
    assert.equal(status(world).message, `ProgressDeadlineExceeded: ReplicaSet "${name}" has timed out progressing.`);
    assert.equal(condition(world, 'Progressing')?.status, 'False');
    assert.equal(condition(world, 'Progressing')?.reason, 'ProgressDeadlineExceeded');
    assert.deepEqual(eventsOf(plan), [{ reason: 'ProgressDeadlineExceeded', eventType: 'Warning', message: `ReplicaSet "${name}" has timed out progressing.` }]);
    assert.equal(status(world).abort, undefined, 'no abort without progressDeadlineAbort');
    advance(world, 600);
    plan = reconcile(world);
    assert.deepEqual(plan.effects, [], 'once only');
    assert.equal(plan.requeueAt, undefined);
  });

  it('with progressDeadlineAbort: aborts (traffic back to stable)', () => {
    const world = healthyWorld({ replicas: 4, router: true, steps: [{ setWeight: 25 }, { pause: {} }], progressDeadlineSeconds: 60, progressDeadlineAbort: true });
    stuckCanary(world);
    setImage(world, 'demo:v2');
    reconcile(world);
    reconcile(world);
    advance(world, 60);
    const plan = reconcile(world);
    assert.deepEqual(reasonsOf(plan).slice(0, 2), ['ProgressDeadlineExceeded', 'RolloutAborted']);
    assert.equal(status(world).phase, 'Degraded');
    assert.equal(status(world).abort, true);
    assert.equal(status(world).abortedAt, '2024-05-01T10:01:00Z');
    assert.match(status(world).message ?? '', /^RolloutAborted: Rollout aborted update to revision 2: ReplicaSet ".*" has timed out progressing\.$/);
    assert.equal(routeWeight(world), 0);
    runUntilSteady(world, { followTime: true });
    assert.equal(rsByHash(world, status(world).currentPodHash)?.replicas, 0);
    assert.equal(status(world).phase, 'Degraded');
  });

  it('progressDeadlineAbort set after the deadline passed also aborts', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ setWeight: 50 }], progressDeadlineSeconds: 30 });
    stuckCanary(world);
    setImage(world, 'demo:v2');
    reconcile(world);
    reconcile(world);
    advance(world, 30);
    reconcile(world);
    assert.equal(status(world).phase, 'Degraded');
    updateSpec(world, (r) => {
      r.spec.progressDeadlineAbort = true;
    });
    const plan = reconcile(world);
    assert.ok(reasonsOf(plan).includes('RolloutAborted'));
    assert.equal(status(world).abort, true);
  });

  it('paused time does not count', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ setWeight: 50 }], progressDeadlineSeconds: 60 });
    stuckCanary(world);
    setImage(world, 'demo:v2');
    reconcile(world);
    reconcile(world);
    updateSpec(world, (r) => {
      r.spec.paused = true;
    });
    advance(world, 30);
    reconcile(world);
    advance(world, 3600);
    reconcile(world);
    updateSpec(world, (r) => {
      r.spec.paused = false;
    });
    const resumed = reconcile(world);
    assert.equal(condition(world, 'Progressing')?.reason, 'RolloutResumed');
    assert.equal(resumed.requeueAt, '2024-05-01T11:01:30Z', 'the deadline counts again from the resume');
    advance(world, 59);
    reconcile(world);
    assert.equal(status(world).phase, 'Progressing');
    advance(world, 1);
    reconcile(world);
    assert.equal(status(world).phase, 'Degraded');
  });

  it('progress after the deadline returns to Progressing and the rollout completes', () => {
    const world = healthyWorld({ replicas: 2, steps: [{ setWeight: 50 }], progressDeadlineSeconds: 30 });
    stuckCanary(world);
    setImage(world, 'demo:v2');
    reconcile(world);
    reconcile(world);
    advance(world, 31);
    reconcile(world);
    assert.equal(status(world).phase, 'Degraded');
    world.podPolicy = () => 'available';
    runUntilSteady(world, { followTime: true });
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).stableRS, status(world).currentPodHash);
  });
});

describe('spec change mid-rollout', () => {
  it('a third template supersedes the canary: new canary RS, previous canary scaled down, steps restart', () => {
    const world = healthyWorld({ replicas: 10, router: true, steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }] });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const v2 = status(world).currentPodHash;
    assert.equal(status(world).currentStepIndex, 1);
    setImage(world, 'demo:v3');
    let plan = reconcile(world, { settle: false });
    const v3 = status(world).currentPodHash;
    assert.notEqual(v3, v2);
    assert.equal(status(world).currentStepIndex, 0);
    assert.equal(status(world).pauseConditions, undefined);
    assert.equal(status(world).message, `superseded: canary ${v2 ?? ''} replaced by revision 3 (${v3 ?? ''}); steps restart`);
    assert.match(eventsOf(plan)[0]?.message ?? '', new RegExp(`superseding canary ${v2 ?? ''}`));
    assert.equal(actionsOf(plan)[0]?.type, 'createReplicaSet');
    assert.equal(routeWeight(world), 0, 'no traffic to a canary without available pods');
    assert.equal(rsByHash(world, v2)?.replicas, 2, 'still selected by the canary Service');
    reconcile(world);
    plan = reconcile(world);
    assert.deepEqual(reasonsOf(plan).slice(0, 3), ['StepCompleted', 'StepStarted', 'RolloutPaused']);
    assert.equal(selector(world, CANARY_SVC), v3);
    assert.equal(rsByHash(world, v2)?.replicas, 0, 'the intermediate canary goes at once');
    assert.equal(rsByHash(world, v1)?.replicas, 10);
    assert.equal(status(world).currentStepIndex, 1);
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world, { followTime: true });
    assert.equal(status(world).stableRS, v3);
    assert.equal(rsByHash(world, v1)?.replicas, 0);
    assert.deepEqual(new Set(emittedWeights(world)), new Set([0, 20, 50]));
  });

  it('a change of the steps alone restarts them', () => {
    const world = healthyWorld({ replicas: 4, steps: [{ setWeight: 25 }, { pause: {} }] });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 1);
    updateSpec(world, (r) => {
      const canary = r.spec.strategy.canary;
      assert.ok(canary);
      canary.steps = [{ setWeight: 50 }, { pause: {} }];
    });
    const plan = reconcile(world);
    assert.equal(status(world).currentStepIndex, 0);
    assert.ok(reasonsOf(plan).includes('StepStarted'));
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 1);
    assert.equal(rsByHash(world, status(world).currentPodHash)?.replicas, 2);
  });

  it('observedGeneration follows metadata.generation', () => {
    const world = healthyWorld({ replicas: 1 });
    setImage(world, 'demo:v2');
    reconcile(world);
    assert.equal(status(world).observedGeneration, '2');
  });
});

describe('rollback to the stable template', () => {
  it('with a router: no steps, traffic and canary Service back to stable, Healthy; the canary goes after the scale-down delay', () => {
    const world = healthyWorld({ replicas: 10, router: true, steps: [{ setWeight: 20 }, { pause: {} }, { setWeight: 50 }], gitRevision: 'c1' });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2', 'c2');
    runUntilSteady(world);
    const v2 = status(world).currentPodHash;
    assert.equal(routeWeight(world), 20);
    setImage(world, 'demo:v1', 'c3');
    const plan = reconcile(world);
    assert.equal(status(world).currentPodHash, v1);
    assert.equal(status(world).currentStepIndex, 3);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).pauseConditions, undefined);
    assert.equal(routeWeight(world), 0);
    assert.equal(selector(world, CANARY_SVC), v1);
    assert.equal(selector(world, STABLE_SVC), v1);
    assert.deepEqual(reasonsOf(plan).slice(0, 1), ['RolloutUpdated']);
    assert.match(eventsOf(plan)[0]?.message ?? '', /back to the stable ReplicaSet/);
    assert.equal(status(world).git?.stableRevision, 'c3');
    assert.equal(rsByHash(world, v2)?.replicas, 2);
    assert.ok(rsByHash(world, v2)?.scaleDownDeadline);
    runUntilSteady(world, { followTime: true });
    assert.equal(rsByHash(world, v2)?.replicas, 0);
    assert.deepEqual(emittedWeights(world), [20, 0]);
  });

  it('basic canary: the canary is scaled down within maxUnavailable', () => {
    const world = healthyWorld({ replicas: 4, services: true, steps: [{ setWeight: 50 }, { pause: {} }] });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const v2 = status(world).currentPodHash;
    setImage(world, 'demo:v1');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(rsByHash(world, v2)?.replicas, 0);
    assert.equal(rsByHash(world, v1)?.replicas, 4);
    assert.equal(selector(world, CANARY_SVC), v1);
  });

  it('from aborted: the abort ends and the rollout is Healthy', () => {
    const world = healthyWorld({ replicas: 4, router: true, steps: [{ setWeight: 50 }, { pause: {} }] });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    updateStatus(world, (s) => {
      s.abort = true;
    });
    reconcile(world);
    assert.equal(status(world).phase, 'Degraded');
    setImage(world, 'demo:v1');
    reconcile(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).abort, undefined);
    assert.equal(status(world).abortedAt, undefined);
    assert.equal(status(world).currentPodHash, v1);
  });
});

describe('revision history', () => {
  it('deletes old ReplicaSets beyond revisionHistoryLimit, oldest first, once scaled to 0', () => {
    const world = healthyWorld({ replicas: 1, revisionHistoryLimit: 1, steps: [{ setWeight: 50 }] });
    const hashes = [status(world).stableRS];
    for (const image of ['demo:v2', 'demo:v3', 'demo:v4']) {
      advance(world, 60);
      setImage(world, image);
      runUntilSteady(world, { followTime: true });
      hashes.push(status(world).stableRS);
    }
    assert.deepEqual(
      world.observed.replicaSets.map((rs) => rs.podTemplateHash),
      [hashes[2], hashes[3]],
      'the stable and one old ReplicaSet are kept',
    );
    const deletes = world.effects.filter((e) => e.type === 'deleteReplicaSet').map((e) => e.name);
    assert.deepEqual(deletes, [`demo-${hashes[0] ?? ''}`, `demo-${hashes[1] ?? ''}`]);
  });
});

describe('events', () => {
  it('a whole rollout records each transition once, and steady reconciles record nothing', () => {
    const world = healthyWorld({ replicas: 4, router: true, steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: 60 } }] });
    const start = world.plans.length;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world, { followTime: true });
    const plans = world.plans.slice(start);
    const counts: Record<string, number> = {};
    for (const e of plans.flatMap((p) => eventsOf(p))) counts[e.reason] = (counts[e.reason] ?? 0) + 1;
    assert.deepEqual(counts, {
      RolloutUpdated: 1,
      StepStarted: 4,
      StepCompleted: 4,
      NewReplicaSetCreated: 1,
      RolloutPaused: 2,
      RolloutResumed: 2,
      TrafficWeightUpdated: 3,
      ScalingReplicaSet: 3,
      RolloutCompleted: 1,
    });
    // A reconcile that changes nothing (same status in and out, no actions) records no events.
    plans.forEach((p, i) => {
      const input = world.inputs[start + i];
      if (JSON.stringify(input?.rollout.status) === JSON.stringify(p.status) && p.effects.every((e) => e.type === 'event')) {
        assert.deepEqual(p.effects, [], `plan ${start + i}`);
      }
    });
    const steps = plans.flatMap((p) => eventsOf(p)).filter((e) => e.reason === 'StepCompleted').map((e) => e.message);
    assert.deepEqual(steps, ['Step 1/4: setWeight 25', 'Step 2/4: pause', 'Step 3/4: setWeight 50', 'Step 4/4: pause 60s']);
    const steady = reconcile(world);
    assert.deepEqual(steady.effects, []);
  });

  it('conditions keep lastTransitionTime while their status holds', () => {
    const world = healthyWorld({ replicas: 2, router: true, steps: [{ setWeight: 50 }, { pause: {} }] });
    const available = condition(world, 'Available');
    setImage(world, 'demo:v2');
    advance(world, 10);
    runUntilSteady(world);
    advance(world, 10);
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world, { followTime: true });
    assert.deepEqual(condition(world, 'Available'), available);
  });
});

describe('one step per reconcile', () => {
  it('when a second step is already met, the plan asks to be run again at once', () => {
    const world = healthyWorld({ replicas: 4, router: true, steps: [{ setWeight: 25 }, { setWeight: 25 }, { pause: {} }] });
    setImage(world, 'demo:v2');
    reconcile(world);
    const plan = reconcile(world);
    assert.equal(status(world).currentStepIndex, 1);
    assert.equal(plan.requeueAt, '2024-05-01T10:00:00Z');
    reconcile(world);
    assert.equal(status(world).currentStepIndex, 2);
    assert.equal(status(world).phase, 'Paused');
  });
});

describe('first deploy edge cases', () => {
  it('abort before there is a stable ReplicaSet is a no-op', () => {
    const world = newWorld({ replicas: 2, steps: [{ setWeight: 50 }] });
    world.podPolicy = () => 'unavailable';
    reconcile(world);
    updateStatus(world, (s) => {
      s.abort = true;
    });
    reconcile(world);
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(status(world).abort, undefined);
  });

  it('a fix applied before the first revision became available replaces it at full scale', () => {
    const world = newWorld({ replicas: 2, steps: [{ setWeight: 50 }, { pause: {} }] });
    world.podPolicy = () => 'unavailable';
    reconcile(world);
    const broken = status(world).currentPodHash;
    world.podPolicy = (rs) => (rs.podTemplateHash === broken ? 'unavailable' : 'available');
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).stableRS, status(world).currentPodHash);
    assert.equal(rsByHash(world, broken)?.replicas, 0);
    assert.equal(rsByHash(world, status(world).currentPodHash)?.replicas, 2);
  });
});

describe('scale-down delay of the previous stable (router)', () => {
  function promoteTo(o: { scaleDownDelaySeconds?: number }): { world: World; previous: string | undefined } {
    const world = healthyWorld({ replicas: 2, router: true, steps: [{ setWeight: 50 }], ...o });
    const previous = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    return { world, previous };
  }

  it('scaleDownDelaySeconds (default 30) keeps the old pods that long', () => {
    const { world, previous } = promoteTo({});
    assert.equal(rsByHash(world, previous)?.replicas, 2);
    assert.equal(rsByHash(world, previous)?.scaleDownDeadline, '2024-05-01T10:00:30Z');
  });

  it('scaleDownDelaySeconds 0 scales the old stable down at once', () => {
    const { world, previous } = promoteTo({ scaleDownDelaySeconds: 0 });
    assert.equal(rsByHash(world, previous)?.replicas, 0);
    assert.equal(rsByHash(world, previous)?.scaleDownDeadline, undefined);
  });

  it('scaleDownDelayRevisionLimit bounds how many old ReplicaSets wait', () => {
    const world = healthyWorld({ replicas: 2, router: true, steps: [{ setWeight: 50 }], scaleDownDelaySeconds: 600 });
    updateSpec(world, (r) => {
      const canary = r.spec.strategy.canary;
      assert.ok(canary);
      canary.scaleDownDelayRevisionLimit = 1;
    });
    runUntilSteady(world);
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const v2 = status(world).stableRS;
    assert.equal(rsByHash(world, v1)?.replicas, 2, 'v1 waits');
    setImage(world, 'demo:v3');
    runUntilSteady(world);
    assert.equal(rsByHash(world, v2)?.replicas, 2, 'v2 (newest old) waits');
    assert.equal(rsByHash(world, v1)?.replicas, 0, 'v1 beyond the limit goes');
  });
});


describe('git revisions', () => {
  it('a commit that changes only other objects becomes the last good revision once Healthy; a canary does not until promoted', () => {
    const world = healthyWorld({ replicas: 2, router: true, steps: [{ setWeight: 50 }, { pause: {} }] });
    setImage(world, 'demo:v2', 'c1');
    runUntilSteady(world);
    updateStatus(world, (s) => {
      s.pauseConditions = [];
    });
    runUntilSteady(world, { followTime: true });
    assert.equal(status(world).git?.stableRevision, 'c1');

    // A commit that changed a ConfigMap, not the template: the Rollout runs Healthy under it.
    updateSpec(world, (r) => {
      r.metadata.annotations = { ...(r.metadata.annotations ?? {}), 'weir.dev/git-revision': 'c2' };
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).git?.currentRevision, 'c1', 'the template still comes from c1');
    assert.equal(status(world).git?.stableRevision, 'c2', 'c2 is the last commit it runs healthy under');

    // A new template from c3: c2 stays the last good revision while the canary runs.
    setImage(world, 'demo:v3', 'c3');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Paused');
    assert.equal(status(world).git?.currentRevision, 'c3');
    assert.equal(status(world).git?.stableRevision, 'c2');
  });
});
