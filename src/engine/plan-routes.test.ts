// Header and mirror route steps: the routes the steps set are in force until
// the rollout ends or aborts, each step completes once every router holds
// them, and the intent the engine sends the routers says exactly that.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { CanaryStep } from '../api/rollout.ts';
import { healthyWorld, reconcile, runUntilSteady, setImage, status, updateStatus, type World } from './testkit.ts';
import type { Effect } from './types.ts';

const header = { headerName: 'X-Canary', headerValue: { exact: 'yes' } };
const mirrorMatch = { path: { prefix: '/api' } };
const steps: CanaryStep[] = [
  { setWeight: 10 },
  { setHeaderRoute: { name: 'beta', match: [header] } },
  { setMirrorRoute: { name: 'copy', match: [mirrorMatch], percentage: 40 } },
  { pause: {} },
  { setHeaderRoute: { name: 'beta' } },
  { setWeight: 50 },
  { pause: {} },
];

function intents(world: World): Extract<Effect, { type: 'setTraffic' }>['intent'][] {
  return world.effects.flatMap((e) => (e.type === 'setTraffic' ? [e.intent] : []));
}

function held(world: World): { weight: number | undefined; header: string[]; mirror: string[] } {
  const t = world.observed.traffic[0];
  assert.ok(t);
  return { weight: t.canaryWeight, header: t.headerRoutes, mirror: t.mirrorRoutes };
}

function started(): World {
  const world = healthyWorld({ replicas: 4, router: true, managedRoutes: ['beta', 'copy'], steps });
  setImage(world, 'demo:v2');
  runUntilSteady(world);
  return world;
}

describe('managed route steps', () => {
  it('set the header and mirror routes step by step, keep them across the pause, and remove the header route when its step has no match', () => {
    const world = started();
    assert.equal(status(world).currentStepIndex, 3, 'paused after the route steps');
    assert.deepEqual(held(world), { weight: 10, header: ['beta'], mirror: ['copy'] });
    assert.deepEqual(intents(world).at(-1), {
      canaryWeight: 10,
      headerRoutes: [{ name: 'beta', match: [header] }],
      mirrorRoutes: [{ name: 'copy', match: [mirrorMatch], percentage: 40 }],
    });
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 6);
    assert.deepEqual(held(world), { weight: 50, header: [], mirror: ['copy'] }, 'beta removed, the mirror kept, the weight moved on');
  });

  it('a route step waits until the routers hold the route', () => {
    const world = healthyWorld({ replicas: 4, router: true, managedRoutes: ['beta', 'copy'], steps });
    setImage(world, 'demo:v2');
    // The router cannot take writes (its object went missing): the header step must not complete.
    runUntilSteady(world, { until: (w) => status(w).currentStepIndex === 1 });
    const t = world.observed.traffic[0];
    assert.ok(t);
    t.problems = ['HTTPRoute default/demo-route not found'];
    t.headerRoutes = [];
    for (let i = 0; i < 5; i++) reconcile(world);
    assert.equal(status(world).currentStepIndex, 1);
    assert.deepEqual(held(world).header, []);
    t.problems = [];
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 3);
  });

  it('all managed routes go at completion, with the weight back to 0', () => {
    const world = started();
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world);
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.deepEqual(held(world), { weight: 0, header: [], mirror: [] });
    assert.deepEqual(intents(world).at(-1), { canaryWeight: 0, headerRoutes: [], mirrorRoutes: [] });
  });

  it('an abort removes every managed route in the same intent that sends all traffic to stable', () => {
    const world = started();
    updateStatus(world, (s) => {
      s.abort = true;
    });
    const before = intents(world).length;
    runUntilSteady(world);
    const sent = intents(world).slice(before);
    assert.deepEqual(sent, [{ canaryWeight: 0, headerRoutes: [], mirrorRoutes: [] }], 'one intent: weight 0 and no routes');
    assert.deepEqual(held(world), { weight: 0, header: [], mirror: [] });
  });

  it('promote --full drops the managed routes at once', () => {
    const world = started();
    updateStatus(world, (s) => {
      s.promoteFull = true;
    });
    runUntilSteady(world);
    assert.deepEqual(held(world).header, []);
    assert.deepEqual(held(world).mirror, []);
    assert.equal(status(world).phase, 'Healthy');
  });
});
