// A tiny pure simulator of a Rollout's world for the engine's tests: it applies
// a Plan's effects to an in-memory Observed (ReplicaSets, Service selectors,
// route weights) and lets pods come up when the test says so.
import assert from 'node:assert/strict';
import type { AnalysisPhase, AnalysisTemplateSpec } from '../api/analysis.ts';
import type { BlueGreenStrategy, CanaryStep, CanaryStrategy, Rollout } from '../api/rollout.ts';
import { planRollout } from './plan.ts';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, SCALE_DOWN_DEADLINE_ANNOTATION, type Effect, type Observed, type ObservedReplicaSet, type Plan } from './types.ts';

export const T0 = new Date('2024-05-01T10:00:00Z');
export const CANARY_SVC = 'demo-canary';
export const STABLE_SVC = 'demo-stable';
export const ROUTE = 'demo-route';
export const ACTIVE_SVC = 'demo-active';
export const PREVIEW_SVC = 'demo-preview';

export interface RolloutOptions {
  replicas?: number;
  steps?: CanaryStep[];
  router?: boolean;
  /** trafficRouting.managedRoutes (with router). */
  managedRoutes?: string[];
  services?: boolean;
  image?: string;
  maxSurge?: number | string;
  maxUnavailable?: number | string;
  paused?: boolean;
  progressDeadlineSeconds?: number;
  progressDeadlineAbort?: boolean;
  abortScaleDownDelaySeconds?: number;
  scaleDownDelaySeconds?: number;
  revisionHistoryLimit?: number;
  gitRevision?: string;
  /** strategy.canary.analysis (background analysis). */
  analysis?: CanaryStrategy['analysis'];
  /** Templates that exist, by name (AnalysisTemplate; "cluster:" prefix for ClusterAnalysisTemplate). */
  templates?: Record<string, AnalysisTemplateSpec>;
  /** A blue/green Rollout instead of a canary (activeService/previewService default to demo-active/demo-preview). */
  blueGreen?: Partial<BlueGreenStrategy>;
}

export function makeRollout(o: RolloutOptions = {}): Rollout {
  const withServices = o.services ?? o.router ?? false;
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: {
      name: 'demo',
      namespace: 'default',
      generation: 1,
      ...(o.gitRevision !== undefined ? { annotations: { 'weir.dev/git-revision': o.gitRevision } } : {}),
    },
    spec: {
      ...(o.replicas !== undefined ? { replicas: o.replicas } : {}),
      selector: { matchLabels: { app: 'demo' } },
      template: { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'app', image: o.image ?? 'demo:v1' }] } },
      ...(o.paused !== undefined ? { paused: o.paused } : {}),
      ...(o.progressDeadlineSeconds !== undefined ? { progressDeadlineSeconds: o.progressDeadlineSeconds } : {}),
      ...(o.progressDeadlineAbort !== undefined ? { progressDeadlineAbort: o.progressDeadlineAbort } : {}),
      ...(o.revisionHistoryLimit !== undefined ? { revisionHistoryLimit: o.revisionHistoryLimit } : {}),
      strategy: {
        canary: {
          ...(withServices ? { canaryService: CANARY_SVC, stableService: STABLE_SVC } : {}),
          ...(o.steps !== undefined ? { steps: o.steps } : {}),
          ...(o.maxSurge !== undefined ? { maxSurge: o.maxSurge } : {}),
          ...(o.maxUnavailable !== undefined ? { maxUnavailable: o.maxUnavailable } : {}),
          ...(o.abortScaleDownDelaySeconds !== undefined ? { abortScaleDownDelaySeconds: o.abortScaleDownDelaySeconds } : {}),
          ...(o.scaleDownDelaySeconds !== undefined ? { scaleDownDelaySeconds: o.scaleDownDelaySeconds } : {}),
          ...(o.analysis !== undefined ? { analysis: o.analysis } : {}),
          ...(o.router === true
            ? {
                trafficRouting: {
                  plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: ROUTE, namespace: 'default' } },
                  ...(o.managedRoutes ? { managedRoutes: o.managedRoutes.map((name) => ({ name })) } : {}),
                },
              }
            : {}),
        },
      },
    },
  };
}

export function emptyObserved(o: { router?: boolean; services?: boolean; templates?: Record<string, AnalysisTemplateSpec> } = {}): Observed {
  const withServices = o.services ?? o.router ?? false;
  const analysisTemplates: Record<string, AnalysisTemplateSpec> = {};
  for (const [name, spec] of Object.entries(o.templates ?? {})) {
    analysisTemplates[name.startsWith('cluster:') ? `ClusterAnalysisTemplate/${name.slice(8)}` : `AnalysisTemplate/${name}`] = spec;
  }
  return {
    analysisRuns: [],
    analysisTemplates,
    replicaSets: [],
    services: withServices
      ? { [CANARY_SVC]: { name: CANARY_SVC, selector: { app: 'demo' } }, [STABLE_SVC]: { name: STABLE_SVC, selector: { app: 'demo' } } }
      : {},
    traffic: o.router === true ? [{ router: ROUTE, canaryWeight: 0, headerRoutes: [], mirrorRoutes: [], verified: undefined, problems: [] }] : [],
  };
}

/** How pods behave: which ReplicaSets' pods become available (default: all). */
export type PodPolicy = (rs: ObservedReplicaSet) => 'available' | 'unavailable';

export interface World {
  rollout: Rollout;
  observed: Observed;
  now: Date;
  /** Every plan made, in order. */
  plans: Plan[];
  /** Every effect applied, in order. */
  effects: Effect[];
  podPolicy: PodPolicy;
  /** The inputs of every plan, as the controller would read them back. */
  inputs: { rollout: Rollout; observed: Observed; now: string }[];
}

export function newWorld(o: RolloutOptions = {}): World {
  const rollout = makeRollout(o);
  const observed = emptyObserved(o);
  if (o.blueGreen !== undefined) {
    rollout.spec.strategy = { blueGreen: { activeService: ACTIVE_SVC, previewService: PREVIEW_SVC, ...o.blueGreen } };
    for (const svc of [ACTIVE_SVC, PREVIEW_SVC]) observed.services[svc] = { name: svc, selector: { app: 'demo' } };
  }
  return {
    rollout,
    observed,
    now: new Date(T0),
    plans: [],
    effects: [],
    podPolicy: () => 'available',
    inputs: [],
  };
}

/** Apply one effect to the observed world (what the shell would do). */
export function applyEffect(world: World, effect: Effect): void {
  const observed = world.observed;
  switch (effect.type) {
    case 'createReplicaSet':
      assert.equal(
        observed.replicaSets.some((rs) => rs.name === effect.name),
        false,
        `ReplicaSet ${effect.name} created twice`,
      );
      observed.replicaSets.push({
        name: effect.name,
        podTemplateHash: effect.podTemplateHash,
        replicas: effect.replicas,
        currentReplicas: 0,
        readyReplicas: 0,
        availableReplicas: 0,
        revision: effect.revision,
        creationTimestamp: world.now.toISOString(),
        deleting: false,
        podLabels: { ...((effect.template.metadata as { labels?: Record<string, string> } | undefined)?.labels ?? {}) },
        podAnnotations: { ...((effect.template.metadata as { annotations?: Record<string, string> } | undefined)?.annotations ?? {}) },
      });
      break;
    case 'scaleReplicaSet': {
      const rs = observed.replicaSets.find((r) => r.name === effect.name);
      assert.ok(rs, `scale of unknown ReplicaSet ${effect.name}`);
      rs.replicas = effect.replicas;
      for (const [map, changes] of [['podLabels', effect.podMetadata?.labels], ['podAnnotations', effect.podMetadata?.annotations]] as const) {
        const target = { ...(rs[map] ?? {}) };
        for (const [k, v] of Object.entries(changes ?? {})) {
          if (v === null) Reflect.deleteProperty(target, k);
          else target[k] = v;
        }
        rs[map] = target;
      }
      for (const [key, value] of Object.entries(effect.annotations ?? {})) {
        if (key === REVISION_ANNOTATION && value !== null) rs.revision = Number(value);
        if (key === SCALE_DOWN_DEADLINE_ANNOTATION) {
          if (value === null) delete rs.scaleDownDeadline;
          else rs.scaleDownDeadline = value;
        }
      }
      break;
    }
    case 'deleteReplicaSet':
      observed.replicaSets = observed.replicaSets.filter((rs) => rs.name !== effect.name);
      break;
    case 'setServiceSelector': {
      const svc = observed.services[effect.service];
      assert.ok(svc, `selector of unknown Service ${effect.service}`);
      svc.selector = { ...svc.selector, [POD_TEMPLATE_HASH_LABEL]: effect.podTemplateHash };
      break;
    }
    case 'setTraffic': {
      assert.ok(observed.traffic.length > 0, 'traffic set without a router');
      // A router with a problem (its object missing) cannot take the write; the others do.
      for (const t of observed.traffic) {
        if (t.problems.length > 0) continue;
        t.canaryWeight = effect.intent.canaryWeight;
        t.headerRoutes = effect.intent.headerRoutes.map((h) => h.name);
        t.mirrorRoutes = effect.intent.mirrorRoutes.map((m) => m.name);
      }
      break;
    }
    case 'createAnalysisRun': {
      const runs = (observed.analysisRuns ??= []);
      assert.equal(
        runs.some((r) => r.name === effect.run.metadata.name),
        false,
        `AnalysisRun ${effect.run.metadata.name} created twice`,
      );
      runs.push({ name: effect.run.metadata.name, terminate: false, creationTimestamp: world.now.toISOString() });
      break;
    }
    case 'terminateAnalysisRun': {
      const run = observed.analysisRuns?.find((r) => r.name === effect.name);
      assert.ok(run, `terminate of unknown AnalysisRun ${effect.name}`);
      run.terminate = true;
      break;
    }
    case 'patchPodMetadata': {
      const pod = observed.pods?.find((x) => x.name === effect.name);
      assert.ok(pod, `metadata of unknown pod ${effect.name}`);
      for (const [map, changes] of [['labels', effect.labels], ['annotations', effect.annotations]] as const) {
        const target = { ...(pod[map] ?? {}) };
        for (const [k, v] of Object.entries(changes ?? {})) {
          if (v === null) Reflect.deleteProperty(target, k);
          else target[k] = v;
        }
        pod[map] = target;
      }
      break;
    }
    case 'deleteAnalysisRun':
      observed.analysisRuns = (observed.analysisRuns ?? []).filter((r) => r.name !== effect.name);
      break;
    case 'event':
      break;
  }
}

/** What the AnalysisRun controller would report: a run's phase (and message). */
export function setRunPhase(world: World, name: string, phase: AnalysisPhase, message?: string): void {
  const run = world.observed.analysisRuns?.find((r) => r.name === name);
  assert.ok(run, `no AnalysisRun ${name}; runs: ${(world.observed.analysisRuns ?? []).map((r) => r.name).join(', ')}`);
  run.phase = phase;
  if (message === undefined) delete run.message;
  else run.message = message;
}

/** The AnalysisRuns the plans created, in order. */
export function createdRuns(world: World): Extract<Effect, { type: 'createAnalysisRun' }>['run'][] {
  return world.effects.flatMap((e) => (e.type === 'createAnalysisRun' ? [e.run] : []));
}

/** Pods catch up with spec.replicas; available as the pod policy says. */
export function settlePods(world: World): void {
  for (const rs of world.observed.replicaSets) {
    rs.currentReplicas = rs.replicas;
    const up = world.podPolicy(rs) === 'available' ? rs.replicas : 0;
    rs.readyReplicas = up;
    rs.availableReplicas = up;
  }
}

/** Plan (checking purity and determinism), apply the effects and the status; pods settle unless told not to. */
export function reconcile(world: World, o: { settle?: boolean } = {}): Plan {
  const rolloutBefore = structuredClone(world.rollout);
  const observedBefore = structuredClone(world.observed);
  world.inputs.push({ rollout: structuredClone(world.rollout), observed: structuredClone(world.observed), now: world.now.toISOString() });
  const plan = planRollout(world.rollout, world.observed, world.now);
  assert.deepEqual(world.rollout, rolloutBefore, 'planRollout mutated the rollout');
  assert.deepEqual(world.observed, observedBefore, 'planRollout mutated observed');
  // Restart determinism: a deep copy (as read back from the API server) gives the same plan.
  const again = planRollout(JSON.parse(JSON.stringify(world.rollout)) as Rollout, structuredClone(world.observed), new Date(world.now.getTime()));
  assert.deepEqual(again, plan, 'planRollout is not deterministic');
  for (const effect of plan.effects) {
    applyEffect(world, effect);
    world.effects.push(effect);
  }
  world.rollout = { ...world.rollout, status: JSON.parse(JSON.stringify(plan.status)) as NonNullable<Rollout['status']> };
  world.plans.push(plan);
  if (o.settle !== false) settlePods(world);
  return plan;
}

/** Whether a plan changes nothing: no effects but events, the same status, nothing to requeue now. */
export function isSteady(world: World, plan: Plan, statusBefore: unknown): boolean {
  return plan.effects.every((e) => e.type === 'event') && JSON.stringify(plan.status) === JSON.stringify(statusBefore);
}

/** Reconcile until steady (or `max` rounds), moving the clock to requeueAt when nothing else happens and `followTime`. */
export function runUntilSteady(world: World, o: { max?: number; followTime?: boolean; until?: (w: World) => boolean } = {}): Plan {
  const max = o.max ?? 50;
  let last: Plan | undefined;
  for (let i = 0; i < max; i++) {
    const before = world.rollout.status;
    const observedBefore = JSON.stringify(world.observed);
    last = reconcile(world);
    if (o.until?.(world) === true) return last;
    if (isSteady(world, last, before) && JSON.stringify(world.observed) === observedBefore) {
      if (o.followTime === true && last.requeueAt !== undefined && Date.parse(last.requeueAt) > world.now.getTime()) {
        world.now = new Date(Date.parse(last.requeueAt));
        continue;
      }
      return last;
    }
  }
  assert.fail(`not steady after ${max} reconciles: ${JSON.stringify(world.rollout.status)}`);
}

/** Change the pod template (a new revision), as Git sync would: generation + 1. */
export function setImage(world: World, image: string, gitRevision?: string): void {
  const r = structuredClone(world.rollout);
  const template = r.spec.template as { spec: { containers: { image: string }[] } };
  const container = template.spec.containers[0];
  assert.ok(container);
  container.image = image;
  r.metadata.generation = (r.metadata.generation ?? 0) + 1;
  if (gitRevision !== undefined) r.metadata.annotations = { ...(r.metadata.annotations ?? {}), 'weir.dev/git-revision': gitRevision };
  world.rollout = r;
}

export function updateSpec(world: World, change: (r: Rollout) => void): void {
  const r = structuredClone(world.rollout);
  change(r);
  r.metadata.generation = (r.metadata.generation ?? 0) + 1;
  world.rollout = r;
}

export function updateStatus(world: World, change: (s: NonNullable<Rollout['status']>) => void): void {
  const r = structuredClone(world.rollout);
  r.status ??= {};
  change(r.status);
  world.rollout = r;
}

export function advance(world: World, seconds: number): void {
  world.now = new Date(world.now.getTime() + seconds * 1000);
}

export function eventsOf(plan: Plan): { reason: string; message: string; eventType: string }[] {
  return plan.effects.flatMap((e) => (e.type === 'event' ? [{ reason: e.reason, message: e.message, eventType: e.eventType }] : []));
}

export function reasonsOf(plan: Plan): string[] {
  return eventsOf(plan).map((e) => e.reason);
}

export function actionsOf(plan: Plan): Effect[] {
  return plan.effects.filter((e) => e.type !== 'event');
}

export function rsByHash(world: World, hash: string | undefined): ObservedReplicaSet | undefined {
  return world.observed.replicaSets.find((rs) => rs.podTemplateHash === hash);
}

export function routeWeight(world: World): number | undefined {
  return world.observed.traffic[0]?.canaryWeight;
}

/** The Rollout's status, which the tests expect to be there. */
export function status(world: World): NonNullable<World['rollout']['status']> {
  const s = world.rollout.status;
  assert.ok(s);
  return s;
}

/** The pod-template hash a Service selects. */
export function selector(world: World, svc: string): string | undefined {
  return world.observed.services[svc]?.selector[POD_TEMPLATE_HASH_LABEL];
}

export function condition(world: World, type: string): { status: string; reason?: string | undefined; message?: string | undefined } | undefined {
  return world.rollout.status?.conditions?.find((c) => c.type === type);
}

/** Every canary weight ever written to a route. */
export function emittedWeights(world: World): number[] {
  return world.effects.flatMap((e) => (e.type === 'setTraffic' ? [e.intent.canaryWeight] : []));
}

/** Bring a fresh world to a healthy first revision. */
export function healthyWorld(o: RolloutOptions = {}): World {
  const world = newWorld(o);
  runUntilSteady(world);
  assert.equal(world.rollout.status?.phase, 'Healthy');
  return world;
}
