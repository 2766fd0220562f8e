// The blue/green engine: first deploy, the preview behind its Service while
// the active one stays, auto/manual/timed promotion, previewReplicaCount,
// pre- and post-promotion analysis, abort before and after the switch, the
// scale-down delay kept on the ReplicaSet, spec.paused, retry and promote --full.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { AnalysisTemplateSpec } from '../api/analysis.ts';
import type { BlueGreenStrategy } from '../api/rollout.ts';
import { INCONCLUSIVE_PAUSE, ROLLOUT_TYPE_LABEL } from './analysis.ts';
import { BLUE_GREEN_PAUSE } from './constants.ts';
import { stateFromBlueGreenStatus } from './bluegreen-machine.ts';
import {
  ACTIVE_SVC,
  advance,
  createdRuns,
  eventsOf,
  healthyWorld,
  newWorld,
  PREVIEW_SVC,
  reconcile,
  rsByHash,
  runUntilSteady,
  selector,
  setImage,
  setRunPhase,
  status,
  updateSpec,
  updateStatus,
  type World,
} from './testkit.ts';
import { SCALE_DOWN_DEADLINE_ANNOTATION, type Effect } from './types.ts';

const TEMPLATE: AnalysisTemplateSpec = {
  args: [{ name: 'hash' }],
  metrics: [{ name: 'errors', successCondition: 'result[0] < 0.01', provider: { prometheus: { address: 'http://prometheus:9090', query: 'rate{hash="{{args.hash}}"}' } } }],
};
const ANALYSIS = { templates: [{ templateName: 'errors' }], args: [{ name: 'hash', valueFrom: { podTemplateHashValue: 'Latest' as const } }] };

function bgWorld(blueGreen: Partial<BlueGreenStrategy> = {}, replicas = 3): World {
  return healthyWorld({ replicas, blueGreen, templates: { errors: TEMPLATE } });
}

function activeWrites(world: World): string[] {
  return world.effects.flatMap((e: Effect) => (e.type === 'setServiceSelector' && e.service === ACTIVE_SVC ? [e.podTemplateHash] : []));
}

function runName(world: World, field: 'prePromotionAnalysisRunStatus' | 'postPromotionAnalysisRunStatus'): string {
  const record = status(world).blueGreen?.[field] as { name?: string } | undefined;
  assert.ok(record?.name, `no ${field} in ${JSON.stringify(status(world).blueGreen)}`);
  return record.name;
}

describe('blue/green: first deploy', () => {
  it('brings the ReplicaSet up at full size, then points both Services at it and is Healthy', () => {
    const world = newWorld({ replicas: 3, blueGreen: {} });
    reconcile(world, { settle: false });
    assert.equal(world.observed.replicaSets[0]?.replicas, 3);
    assert.equal(selector(world, ACTIVE_SVC), undefined, 'no selector before the pods are available');
    runUntilSteady(world);
    const s = status(world);
    assert.equal(s.phase, 'Healthy');
    assert.equal(s.stableRS, s.currentPodHash);
    assert.equal(selector(world, ACTIVE_SVC), s.currentPodHash);
    assert.equal(selector(world, PREVIEW_SVC), s.currentPodHash);
    assert.deepEqual(s.blueGreen, { activeSelector: s.currentPodHash, previewSelector: s.currentPodHash });
    assert.equal(s.canary, undefined);
  });
});

describe('blue/green: an update with auto-promotion', () => {
  it('brings the preview up behind the preview Service; the active Service switches once, after it is fully available', () => {
    const world = bgWorld();
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    reconcile(world, { settle: false });
    const v2 = status(world).currentPodHash;
    assert.notEqual(v2, v1);
    reconcile(world, { settle: false });
    assert.equal(selector(world, PREVIEW_SVC), v2, 'the preview selects the new ReplicaSet at once');
    assert.equal(selector(world, ACTIVE_SVC), v1, 'the active Service is untouched');
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(status(world).message, 'waiting for the preview ReplicaSet to be available');
    runUntilSteady(world);
    assert.deepEqual(activeWrites(world).slice(-1), [v2]);
    assert.equal(activeWrites(world).filter((h) => h === v2).length, 1, 'one write switches the active Service');
    const s = status(world);
    assert.equal(s.phase, 'Healthy');
    assert.equal(s.stableRS, v2);
    // The previous ReplicaSet keeps its pods for scaleDownDelaySeconds (30 s by default), as an annotation.
    const old = rsByHash(world, v1);
    assert.equal(old?.replicas, 3);
    assert.ok(old.scaleDownDeadline, 'a scale-down deadline on the old ReplicaSet');
    assert.equal(Date.parse(old.scaleDownDeadline) - world.now.getTime() <= 30_000, true);
  });

  it('scales the previous ReplicaSet down at its deadline, from the annotation alone (a restarted controller)', () => {
    const world = bgWorld();
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const deadline = Date.parse(rsByHash(world, v1)?.scaleDownDeadline ?? '');
    // A new controller reads only the stored status and what the cluster holds.
    world.rollout = JSON.parse(JSON.stringify(world.rollout)) as World['rollout'];
    world.now = new Date(deadline - 1000);
    const early = reconcile(world);
    assert.equal(rsByHash(world, v1)?.replicas, 3, 'not before the deadline');
    assert.equal(Date.parse(early.requeueAt ?? ''), deadline);
    world.now = new Date(deadline);
    reconcile(world);
    assert.equal(rsByHash(world, v1)?.replicas, 0);
  });

  it('previewReplicaCount: the preview runs that many pods, then full size before the switch', () => {
    const world = bgWorld({ previewReplicaCount: 1 }, 4);
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    reconcile(world);
    const v2 = status(world).currentPodHash;
    assert.equal(rsByHash(world, v2)?.replicas, 1);
    runUntilSteady(world);
    assert.equal(rsByHash(world, v2)?.replicas, 4);
    const scaleTo4 = world.effects.findIndex((e) => e.type === 'scaleReplicaSet' && e.replicas === 4 && e.name.endsWith(v2 ?? ''));
    const switchIndex = world.effects.findIndex((e) => e.type === 'setServiceSelector' && e.service === ACTIVE_SVC && e.podTemplateHash === v2);
    assert.ok(scaleTo4 >= 0 && switchIndex > scaleTo4, 'full size first, then the switch');
    assert.equal(status(world).stableRS, v2);
    assert.equal(rsByHash(world, v1)?.replicas, 4, 'the old one waits for its deadline');
  });
});

describe('blue/green: promotion gates', () => {
  it('autoPromotionEnabled: false pauses with BlueGreenPause until promoted', () => {
    const world = bgWorld({ autoPromotionEnabled: false });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    let s = status(world);
    assert.equal(s.phase, 'Paused');
    assert.deepEqual(s.pauseConditions?.map((p) => p.reason), [BLUE_GREEN_PAUSE]);
    assert.equal(selector(world, ACTIVE_SVC), v1);
    assert.equal(selector(world, PREVIEW_SVC), s.currentPodHash);
    advance(world, 3600);
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Paused', 'no time limit');
    updateStatus(world, (st) => {
      delete st.pauseConditions;
    });
    runUntilSteady(world);
    s = status(world);
    assert.equal(s.phase, 'Healthy');
    assert.equal(selector(world, ACTIVE_SVC), s.currentPodHash);
  });

  it('autoPromotionSeconds counts from the moment the preview is fully available', () => {
    const world = bgWorld({ autoPromotionSeconds: 20 });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    reconcile(world, { settle: false });
    reconcile(world, { settle: false });
    advance(world, 15); // the pods take 15 s to come up: the 20 s start after that
    const plan = runUntilSteady(world);
    const s = status(world);
    assert.equal(s.phase, 'Paused');
    const start = Date.parse(s.pauseConditions?.[0]?.startTime ?? '');
    assert.equal(start, world.now.getTime());
    assert.equal(Date.parse(plan.requeueAt ?? ''), start + 20_000);
    advance(world, 19);
    reconcile(world);
    assert.equal(selector(world, ACTIVE_SVC), v1, 'not before 20 s');
    advance(world, 1);
    runUntilSteady(world);
    assert.equal(selector(world, ACTIVE_SVC), status(world).currentPodHash);
    assert.equal(status(world).phase, 'Healthy');
    assert.ok(world.plans.some((p) => eventsOf(p).some((e) => e.reason === 'RolloutPromoting' && e.message.includes('autoPromotionSeconds (20s)'))));
  });

  it('a promotion requested while the preview is coming up still waits for it', () => {
    const world = bgWorld({ autoPromotionEnabled: false });
    const v1 = status(world).stableRS;
    world.podPolicy = (rs) => (rs.podTemplateHash === v1 ? 'available' : 'unavailable');
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(status(world).pauseConditions, undefined, 'no pause before the preview is ready');
    world.podPolicy = () => 'available';
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Paused');
  });
});

describe('blue/green: analysis', () => {
  it('pre-promotion analysis starts once the preview is available and gates the switch', () => {
    const world = bgWorld({ prePromotionAnalysis: ANALYSIS });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const name = runName(world, 'prePromotionAnalysisRunStatus');
    const run = createdRuns(world)[0];
    assert.equal(run?.metadata.labels[ROLLOUT_TYPE_LABEL], 'PrePromotion');
    assert.match(name, /-pre$/);
    assert.deepEqual(run.spec.args, [{ name: 'hash', value: status(world).currentPodHash }]);
    assert.equal(selector(world, ACTIVE_SVC), v1);
    assert.equal(status(world).message, `waiting for pre-promotion analysis run "${name}" (Pending)`);
    setRunPhase(world, name, 'Successful');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
    assert.equal(selector(world, ACTIVE_SVC), status(world).currentPodHash);
  });

  it('a failed pre-promotion analysis aborts without a switch: active stays, preview back on stable, the new ReplicaSet goes after the abort delay', () => {
    const world = bgWorld({ prePromotionAnalysis: ANALYSIS, abortScaleDownDelaySeconds: 10 });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const v2 = status(world).currentPodHash;
    setRunPhase(world, runName(world, 'prePromotionAnalysisRunStatus'), 'Failed', 'error rate 0.3');
    runUntilSteady(world, { followTime: true });
    const s = status(world);
    assert.equal(s.abort, true);
    assert.equal(s.phase, 'Degraded');
    assert.match(s.message ?? '', /pre-promotion analysis run ".*-pre" Failed: error rate 0\.3/);
    assert.deepEqual(activeWrites(world).filter((h) => h === v2), [], 'the active Service never switched');
    assert.equal(selector(world, PREVIEW_SVC), v1);
    assert.equal(rsByHash(world, v2)?.replicas, 0);
    assert.equal(s.stableRS, v1);
  });

  it('an inconclusive pre-promotion analysis pauses; promote goes on', () => {
    const world = bgWorld({ prePromotionAnalysis: ANALYSIS });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    setRunPhase(world, runName(world, 'prePromotionAnalysisRunStatus'), 'Inconclusive');
    runUntilSteady(world);
    assert.deepEqual(status(world).pauseConditions?.map((p) => p.reason), [INCONCLUSIVE_PAUSE]);
    updateStatus(world, (s) => {
      delete s.pauseConditions;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
  });

  it('post-promotion analysis runs after the switch with the previous ReplicaSet still up; success makes the new one stable', () => {
    const world = bgWorld({ postPromotionAnalysis: ANALYSIS });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const v2 = status(world).currentPodHash;
    assert.equal(selector(world, ACTIVE_SVC), v2);
    assert.equal(status(world).stableRS, v1, 'not stable before post-promotion analysis');
    assert.equal(status(world).phase, 'Progressing');
    assert.equal(rsByHash(world, v1)?.replicas, 3);
    assert.equal(rsByHash(world, v1)?.scaleDownDeadline, undefined, 'no scale-down while post-promotion analysis runs');
    const name = runName(world, 'postPromotionAnalysisRunStatus');
    assert.match(name, /-post$/);
    assert.equal(stateFromBlueGreenStatus(status(world)), 'postPromotion');
    setRunPhase(world, name, 'Successful');
    runUntilSteady(world);
    assert.equal(status(world).stableRS, v2);
    assert.equal(status(world).phase, 'Healthy');
    assert.ok(rsByHash(world, v1)?.scaleDownDeadline);
  });

  it('a failed post-promotion analysis switches the active Service back to the previous ReplicaSet at once', () => {
    const world = bgWorld({ postPromotionAnalysis: ANALYSIS });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    setRunPhase(world, runName(world, 'postPromotionAnalysisRunStatus'), 'Failed');
    reconcile(world);
    assert.equal(selector(world, ACTIVE_SVC), v1);
    assert.equal(rsByHash(world, v1)?.replicas, 3);
    assert.equal(status(world).abort, true);
    assert.equal(status(world).stableRS, v1);
  });
});

describe('blue/green: user actions', () => {
  it('weir abort after the switch puts the active Service back at once', () => {
    const world = bgWorld({ postPromotionAnalysis: ANALYSIS });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    updateStatus(world, (s) => {
      s.abort = true;
    });
    const plan = reconcile(world);
    assert.ok(plan.effects.some((e) => e.type === 'setServiceSelector' && e.service === ACTIVE_SVC && e.podTemplateHash === v1));
    assert.equal(status(world).phase, 'Degraded');
    assert.ok(eventsOf(plan).some((e) => e.reason === 'RolloutAborted'));
  });

  it('retry after an abort previews again and measures with a new run', () => {
    const world = bgWorld({ prePromotionAnalysis: ANALYSIS, abortScaleDownDelaySeconds: 0 });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const first = runName(world, 'prePromotionAnalysisRunStatus');
    setRunPhase(world, first, 'Failed');
    runUntilSteady(world);
    updateStatus(world, (s) => {
      s.abort = false;
    });
    runUntilSteady(world);
    assert.equal(runName(world, 'prePromotionAnalysisRunStatus'), `${first}.2`);
    assert.equal(status(world).phase, 'Progressing');
  });

  it('promote --full skips the pause and the analysis', () => {
    const world = bgWorld({ autoPromotionEnabled: false, prePromotionAnalysis: ANALYSIS, postPromotionAnalysis: ANALYSIS });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    updateStatus(world, (s) => {
      s.promoteFull = true;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy', JSON.stringify(status(world)));
    assert.equal(selector(world, ACTIVE_SVC), status(world).currentPodHash);
  });

  it('spec.paused holds the switch', () => {
    const world = bgWorld();
    const v1 = status(world).stableRS;
    updateSpec(world, (r) => {
      r.spec.paused = true;
    });
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Paused');
    assert.equal(selector(world, ACTIVE_SVC), v1);
    updateSpec(world, (r) => {
      r.spec.paused = false;
    });
    runUntilSteady(world);
    assert.equal(status(world).phase, 'Healthy');
  });

  it('a missing active Service is named and nothing is switched', () => {
    const world = bgWorld();
    setImage(world, 'demo:v2');
    world.observed.services = Object.fromEntries(Object.entries(world.observed.services).filter(([name]) => name !== ACTIVE_SVC));
    runUntilSteady(world);
    assert.equal(status(world).message, `Service "${ACTIVE_SVC}" not found`);
    assert.notEqual(status(world).stableRS, status(world).currentPodHash, 'not promoted');
    assert.equal(status(world).blueGreen?.scaleUpPreviewCheckPoint, undefined, 'promotion not approved');
    assert.deepEqual(activeWrites(world).filter((h) => h === status(world).currentPodHash), [], 'no switch');
  });
});

describe('blue/green: old ReplicaSets', () => {
  it('scaleDownDelayRevisionLimit bounds how many previous ReplicaSets keep their pods', () => {
    const world = bgWorld({ scaleDownDelayRevisionLimit: 1, scaleDownDelaySeconds: 600 });
    const v1 = status(world).stableRS;
    setImage(world, 'demo:v2');
    runUntilSteady(world);
    const v2 = status(world).stableRS;
    setImage(world, 'demo:v3');
    runUntilSteady(world);
    assert.equal(rsByHash(world, v2)?.replicas, 3, 'the last one keeps its pods');
    assert.equal(rsByHash(world, v1)?.replicas, 0, 'beyond the limit: at once');
    assert.equal(rsByHash(world, v2)?.scaleDownDeadline !== undefined, true);
    assert.ok(world.effects.some((e) => e.type === 'scaleReplicaSet' && e.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION] === null));
  });
});
