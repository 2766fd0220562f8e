// Analysis in canary rollouts: step analysis and background analysis create
// AnalysisRuns from templates (names, labels, arguments), wait on their
// verdicts, abort on Failed/Error, pause on Inconclusive until promoted, show
// a missing template or argument without progressing, and stop or delete runs
// they no longer need.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalysisTemplateSpec } from '../api/analysis.ts';
import { INCONCLUSIVE_PAUSE, ROLLOUT_TYPE_LABEL, STEP_INDEX_LABEL } from './analysis.ts';
import {
  actionsOf,
  createdRuns,
  eventsOf,
  healthyWorld,
  reconcile,
  routeWeight,
  runUntilSteady,
  setImage,
  setRunPhase,
  status,
  updateSpec,
  updateStatus,
  type RolloutOptions,
  type World,
} from './testkit.ts';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION } from './types.ts';

const SUCCESS_RATE: AnalysisTemplateSpec = {
  args: [{ name: 'service' }, { name: 'canary-hash' }, { name: 'stable-hash' }],
  metrics: [
    {
      name: 'success-rate',
      successCondition: 'result[0] >= 0.99',
      provider: { prometheus: { address: 'http://prometheus:9090', query: 'rate{svc="{{args.service}}",hash="{{args.canary-hash}}"}' } },
    },
  ],
};

const STEP_ANALYSIS = {
  templates: [{ templateName: 'success-rate' }],
  args: [
    { name: 'service', value: 'demo' },
    { name: 'canary-hash', valueFrom: { podTemplateHashValue: 'Latest' as const } },
    { name: 'stable-hash', valueFrom: { podTemplateHashValue: 'Stable' as const } },
  ],
};

function analysisWorld(o: RolloutOptions = {}): World {
  return healthyWorld({
    replicas: 4,
    router: true,
    steps: [{ setWeight: 25 }, { analysis: STEP_ANALYSIS }, { setWeight: 50 }, { analysis: STEP_ANALYSIS }],
    templates: { 'success-rate': SUCCESS_RATE },
    ...o,
  });
}

function stepRunName(world: World): string {
  const record = status(world).canary?.currentStepAnalysisRunStatus as { name?: string } | undefined;
  assert.ok(record?.name, `no step analysis run in status: ${JSON.stringify(status(world).canary)}`);
  return record.name;
}

function backgroundRunName(world: World): string {
  const record = status(world).canary?.currentBackgroundAnalysisRunStatus as { name?: string } | undefined;
  assert.ok(record?.name, `no background analysis run in status: ${JSON.stringify(status(world).canary)}`);
  return record.name;
}

function terminated(world: World): string[] {
  return world.effects.flatMap((e) => (e.type === 'terminateAnalysisRun' ? [e.name] : []));
}

describe('step analysis', () => {
  it('creates one run named for the step, with Argo labels, the resolved arguments and the revision', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2', 'c0ffee');
    runUntilSteady(world);
    const s = status(world);
    assert.equal(s.currentStepIndex, 1);
    assert.equal(s.phase, 'Progressing');
    const runs = createdRuns(world);
    assert.equal(runs.length, 1);
    const run = runs[0];
    assert.ok(run);
    const hash = s.currentPodHash ?? '';
    assert.equal(run.metadata.name, `demo-${hash}-2-1`);
    assert.deepEqual(run.metadata.labels, { [POD_TEMPLATE_HASH_LABEL]: hash, [ROLLOUT_TYPE_LABEL]: 'Step', [STEP_INDEX_LABEL]: '1', 'weir.dev/rollout': 'demo' });
    assert.equal(run.metadata.annotations[REVISION_ANNOTATION], '2');
    assert.equal(run.metadata.annotations['weir.dev/git-revision'], 'c0ffee');
    assert.deepEqual(run.spec.args, [
      { name: 'service', value: 'demo' },
      { name: 'canary-hash', value: hash },
      { name: 'stable-hash', value: s.stableRS },
    ]);
    assert.deepEqual(run.spec.metrics, SUCCESS_RATE.metrics);
    assert.equal(s.message, `waiting for step analysis run "${run.metadata.name}" (Pending)`);
    assert.deepEqual(s.canary?.currentStepAnalysisRunStatus, { name: run.metadata.name, status: 'Pending' });
    assert.ok(eventsOf(world.plans.find((p) => p.effects.some((e) => e.type === 'createAnalysisRun')) ?? { status: {}, effects: [] }).some((e) => e.reason === 'AnalysisRunCreated'));
  });

  it('waits while the run measures: no progress, no deadline, weight held', () => {
    const world = analysisWorld({ progressDeadlineSeconds: 30 });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = stepRunName(world);
    setRunPhase(world, name, 'Running');
    for (let i = 0; i < 10; i++) {
      world.now = new Date(world.now.getTime() + 60_000);
      const plan = reconcile(world);
      assert.deepEqual(actionsOf(plan), []);
    }
    assert.equal(status(world).currentStepIndex, 1);
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(status(world).message, `waiting for step analysis run "${name}" (Running)`);
    assert.equal(routeWeight(world), 25);
  });

  it('goes on when the run is Successful, with a new run at the next analysis step, and is promoted', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const first = stepRunName(world);
    setRunPhase(world, first, 'Successful');
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 3);
    assert.equal(routeWeight(world), 50);
    const second = stepRunName(world);
    assert.notEqual(second, first);
    assert.match(second, /-3$/);
    setRunPhase(world, second, 'Successful');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(status(world).stableRS, status(world).currentPodHash);
    assert.deepEqual(terminated(world), [], 'finished runs need no terminate');
    assert.ok(world.plans.some((p) => eventsOf(p).some((e) => e.reason === 'AnalysisRunSuccessful' && e.message.includes(first))));
  });

  for (const phase of ['Failed', 'Error'] as const) {
    it(`aborts at once when the run is ${phase}, with the run's message, and traffic returns to stable`, () => {
      const world = analysisWorld();
      setImage(world, 'demo:v2');
      runUntilSteady(world);
      const name = stepRunName(world);
      setRunPhase(world, name, phase, 'metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)');
      const plan = reconcile(world);
      const s = status(world);
      assert.equal(s.abort, true);
      assert.equal(s.phase, 'Degraded');
      assert.match(s.message ?? '', new RegExp(`^RolloutAborted: Rollout aborted update to revision 2: step analysis run "${name}" ${phase}: metric "success-rate" assessed Failed`));
      assert.ok(eventsOf(plan).some((e) => e.reason === 'RolloutAborted' && e.eventType === 'Warning'));
      assert.ok(eventsOf(plan).some((e) => e.reason === `AnalysisRun${phase}`));
      runUntilSteady(world);
      assert.equal(routeWeight(world), 0);
      assert.deepEqual(s.canary?.currentStepAnalysisRunStatus, { name, status: phase, message: 'metric "success-rate" assessed Failed due to failed (1) > failureLimit (0)' });
    });
  }

  it('a retry after the abort measures again with a new run, never the old verdict', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = stepRunName(world);
    setRunPhase(world, name, 'Failed');
    runUntilSteady(world);
    updateStatus(world, (s) => {
      s.abort = false;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(status(world).currentStepIndex, 1);
    const again = stepRunName(world);
    assert.equal(again, `${name}.2`);
    setRunPhase(world, again, 'Successful');
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 3);
  });

  it('pauses on Inconclusive with the reason; promote continues past the step', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = stepRunName(world);
    setRunPhase(world, name, 'Inconclusive', 'metric "success-rate" assessed Inconclusive');
    runUntilSteady(world);
    let s = status(world);
    assert.equal(s.phase, 'Paused');
    assert.deepEqual(s.pauseConditions?.map((p) => p.reason), [INCONCLUSIVE_PAUSE]);
    assert.equal(s.controllerPause, true);
    assert.match(s.message ?? '', /^AnalysisRunInconclusive: analysis run ".*" is inconclusive \(metric "success-rate" assessed Inconclusive\); promote to continue or abort$/);
    assert.equal(s.currentStepIndex, 1);
    // weir promote: clears the pause conditions.
    updateStatus(world, (st) => {
      delete st.pauseConditions;
    });
    runUntilSteady(world);
    s = status(world);
    assert.equal(s.currentStepIndex, 3);
    assert.equal(s.phase, 'Progressing');
    assert.equal(routeWeight(world), 50);
  });

  it('a missing template: Degraded with the reason, one Warning, no progress; the template appearing lets it go on', () => {
    const world = analysisWorld({ templates: {} });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const s = status(world);
    assert.equal(s.currentStepIndex, 1);
    assert.equal(s.phase, 'Degraded');
    assert.equal(s.message, 'step analysis cannot start: AnalysisTemplate "success-rate" not found');
    assert.equal(createdRuns(world).length, 0);
    const warnings = world.plans.flatMap((p) => eventsOf(p)).filter((e) => e.reason === 'AnalysisRunNotCreated');
    assert.equal(warnings.length, 1);
    assert.equal(routeWeight(world), 25);
    world.observed.analysisTemplates = { 'AnalysisTemplate/success-rate': SUCCESS_RATE };
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(createdRuns(world).length, 1);
  });

  it('a missing argument: the rollout names it and does not progress', () => {
    const world = analysisWorld({
      steps: [{ setWeight: 25 }, { analysis: { templates: [{ templateName: 'success-rate' }], args: [{ name: 'service', value: 'demo' }] } }],
    });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Degraded');
    assert.match(status(world).message ?? '', /^step analysis cannot start: missing arguments "canary-hash", "stable-hash"/);
    assert.equal(createdRuns(world).length, 0);
    assert.equal(status(world).currentStepIndex, 1);
  });

  it('a new template mid-analysis stops the old run and starts over with one for the new revision', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const old = stepRunName(world);
    setRunPhase(world, old, 'Running');
    setImage(world, 'demo:v3');
    runUntilSteady(world);
    assert.deepEqual(terminated(world), [old]);
    const next = stepRunName(world);
    assert.notEqual(next, old);
    assert.match(next, new RegExp(`^demo-${status(world).currentPodHash ?? ''}-3-1$`));
  });

  it('promote --full skips the analysis and stops the run', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = stepRunName(world);
    setRunPhase(world, name, 'Running');
    updateStatus(world, (s) => {
      s.promoteFull = true;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.deepEqual(terminated(world), [name]);
  });

  it('a user abort stops the running run', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = stepRunName(world);
    setRunPhase(world, name, 'Running');
    updateStatus(world, (s) => {
      s.abort = true;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Degraded');
    assert.deepEqual(terminated(world), [name]);
  });

  it('a run deleted while it measures is created again under the same name', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = stepRunName(world);
    world.observed.analysisRuns = [];
    const plan = reconcile(world);
    const creates = plan.effects.filter((e) => e.type === 'createAnalysisRun');
    assert.deepEqual(creates.map((e) => e.run.metadata.name), [name]);
    assert.equal(stepRunName(world), name);
    assert.equal(eventsOf(plan).filter((e) => e.reason === 'AnalysisRunCreated').length, 0, 'no second "created" event');
  });

  it('a status write that was lost: the run still measuring is adopted, not started twice', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = stepRunName(world);
    setRunPhase(world, name, 'Running');
    updateStatus(world, (s) => {
      s.canary = { ...(s.canary ?? {}) };
      delete s.canary.currentStepAnalysisRunStatus;
    });
    const plan = reconcile(world);
    assert.deepEqual(plan.effects.filter((e) => e.type === 'createAnalysisRun'), []);
    assert.equal(stepRunName(world), name);
    assert.deepEqual(terminated(world), []);
  });

  it('a run stopped before its verdict is no verdict, even though a terminated run ends Successful', () => {
    const world = analysisWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = stepRunName(world);
    const run = world.observed.analysisRuns?.find((r) => r.name === name);
    assert.ok(run);
    run.terminate = true;
    setRunPhase(world, name, 'Successful', 'Run Terminated');
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 1, 'the step did not pass');
    assert.equal(stepRunName(world), `${name}.2`, 'measured again with a new run');
  });

  it('keeps 5 successful and 5 unsuccessful finished runs by default, deleting the oldest', () => {
    const world = analysisWorld({ steps: [{ setWeight: 25 }, { analysis: STEP_ANALYSIS }] });
    for (let i = 0; i < 8; i++) {
      world.observed.analysisRuns?.push({ name: `old-ok-${i}`, phase: 'Successful', terminate: false, creationTimestamp: `2024-04-0${i + 1}T00:00:00Z` });
      world.observed.analysisRuns?.push({ name: `old-bad-${i}`, phase: 'Failed', terminate: false, creationTimestamp: `2024-04-0${i + 1}T00:00:00Z` });
    }
    reconcile(world);
    const deleted = world.effects.flatMap((e) => (e.type === 'deleteAnalysisRun' ? [e.name] : []));
    assert.deepEqual(deleted.sort(), ['old-bad-0', 'old-bad-1', 'old-bad-2', 'old-ok-0', 'old-ok-1', 'old-ok-2']);
  });
});

describe('background analysis', () => {
  const background = { templates: [{ templateName: 'success-rate' }], args: STEP_ANALYSIS.args, startingStep: 1 };
  function backgroundWorld(): World {
    return healthyWorld({
      replicas: 4,
      router: true,
      steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: {} }],
      analysis: background,
      templates: { 'success-rate': SUCCESS_RATE },
    });
  }

  it('starts at startingStep, runs through the steps, and is stopped when the rollout is promoted', () => {
    const world = backgroundWorld();
    setImage(world, 'demo:v2');
    reconcile(world);
    assert.equal(createdRuns(world).length, 0, 'not before startingStep');
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 1);
    const name = backgroundRunName(world);
    const run = createdRuns(world)[0];
    assert.equal(run?.metadata.labels[ROLLOUT_TYPE_LABEL], 'Background');
    assert.equal(name, `demo-${status(world).currentPodHash ?? ''}-2`);
    setRunPhase(world, name, 'Running');
    for (let step = 0; step < 2; step++) {
      updateStatus(world, (s) => {
        delete s.pauseConditions;
      });
      runUntilSteady(world);
    }
    assert.equal(status(world).phase, 'Healthy');
    assert.deepEqual(terminated(world), [name]);
    assert.equal(createdRuns(world).length, 1);
  });

  it('a Failed background run aborts the rollout wherever it is, even during a pause step', () => {
    const world = backgroundWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Paused');
    setRunPhase(world, backgroundRunName(world), 'Failed', 'error rate too high');
    runUntilSteady(world);
    assert.equal(status(world).abort, true);
    assert.match(status(world).message ?? '', /background analysis run ".*" Failed: error rate too high/);
    assert.equal(routeWeight(world), 0);
  });

  it('an Inconclusive background run pauses beside a pause step; one promote clears both and the rollout completes', () => {
    const world = backgroundWorld();
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 3);
    const name = backgroundRunName(world);
    setRunPhase(world, name, 'Inconclusive');
    runUntilSteady(world);
    assert.deepEqual(status(world).pauseConditions?.map((p) => p.reason).sort(), [INCONCLUSIVE_PAUSE, 'CanaryPauseStep'].sort());
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
  });

  it('an Inconclusive background run pauses a running step; promote resumes it with a new background run', () => {
    const world = healthyWorld({
      replicas: 4,
      router: true,
      steps: [{ setWeight: 25 }, { analysis: STEP_ANALYSIS }],
      analysis: { ...background, startingStep: 0 },
      templates: { 'success-rate': SUCCESS_RATE },
    });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    assert.equal(status(world).currentStepIndex, 1);
    const bg = backgroundRunName(world);
    setRunPhase(world, stepRunName(world), 'Running');
    setRunPhase(world, bg, 'Inconclusive', 'no decision');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Paused');
    assert.deepEqual(status(world).pauseConditions?.map((p) => p.reason), [INCONCLUSIVE_PAUSE]);
    assert.match(status(world).message ?? '', /background|is inconclusive \(no decision\)/);
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(status(world).currentStepIndex, 1, 'the step analysis still decides the step');
    assert.equal(backgroundRunName(world), `${bg}.2`);
  });

  it('a first deploy runs no analysis', () => {
    const world = backgroundWorld();
    assert.equal(createdRuns(world).length, 0);
    updateSpec(world, (r) => {
      r.spec.replicas = 5;
    });
    runUntilSteady(world);
    assert.equal(createdRuns(world).length, 0);
  });
});
