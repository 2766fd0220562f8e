import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rollout, RolloutStatus } from '../api/rollout.ts';
import { describeStep } from '../engine/index.ts';
import {
  currentSetWeight,
  humanDuration,
  labelSelectorString,
  ownedReplicaSets,
  podStatus,
  renderRollout,
  renderRolloutList,
  type PodLike,
  type ReplicaSetLike,
} from './rollout-view.ts';

const NOW = new Date('2024-05-01T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString();

function rollout(status: RolloutStatus, extra: { paused?: boolean } = {}): Rollout {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'demo', namespace: 'shop', uid: 'ro-uid', creationTimestamp: ago(3600) } as Rollout['metadata'],
    spec: {
      replicas: 4,
      selector: { matchLabels: { app: 'demo' } },
      ...(extra.paused === undefined ? {} : { paused: extra.paused }),
      strategy: {
        canary: {
          steps: [{ setWeight: 25 }, { pause: {} }, { setWeight: 50 }, { pause: { duration: '5m' } }, { analysis: { templates: [{ templateName: 'error-rate' }] } }],
        },
      },
      template: { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'app', image: 'demo:v2' }] } },
    },
    status,
  };
}

function rs(hash: string, revision: number, image: string, replicas: number, ready: number, opts: { owner?: string; ageSeconds?: number; annotations?: Record<string, string> } = {}): ReplicaSetLike {
  return {
    metadata: {
      name: `demo-${hash}`,
      namespace: 'shop',
      uid: `rs-${hash}`,
      creationTimestamp: ago(opts.ageSeconds ?? 600),
      labels: { app: 'demo', 'rollouts-pod-template-hash': hash },
      annotations: { 'rollout.argoproj.io/revision': String(revision), ...opts.annotations },
      ownerReferences: [{ uid: opts.owner ?? 'ro-uid', kind: 'Rollout', name: 'demo', controller: true }],
    },
    spec: { replicas, template: { spec: { containers: [{ name: 'app', image }] } } },
    status: { replicas, readyReplicas: ready, availableReplicas: ready },
  };
}

function pod(name: string, hash: string, opts: { ready?: boolean; restarts?: number; waiting?: string; ageSeconds?: number } = {}): PodLike {
  const ready = opts.ready ?? true;
  return {
    metadata: { name, namespace: 'shop', creationTimestamp: ago(opts.ageSeconds ?? 300), labels: { app: 'demo', 'rollouts-pod-template-hash': hash } },
    spec: { containers: [{ name: 'app' }] },
    status: {
      phase: opts.waiting ? 'Pending' : 'Running',
      conditions: [{ type: 'Ready', status: ready ? 'True' : 'False' }],
      containerStatuses: [
        {
          name: 'app',
          ready,
          restartCount: opts.restarts ?? 0,
          state: opts.waiting ? { waiting: { reason: opts.waiting } } : { running: {} },
        },
      ],
    },
  };
}

const midRollout = rollout({
  phase: 'Paused',
  message: 'CanaryPauseStep',
  currentStepIndex: 1,
  pauseConditions: [{ reason: 'CanaryPauseStep', startTime: ago(90) }],
  controllerPause: true,
  currentPodHash: 'bbb222',
  stableRS: 'aaa111',
  replicas: 5,
  updatedReplicas: 1,
  readyReplicas: 5,
  availableReplicas: 5,
  git: { currentRevision: 'c0ffee0000000000000000000000000000000000', stableRevision: 'beef000000000000000000000000000000000000' },
});
const midSets = [rs('aaa111', 1, 'demo:v1', 4, 4, { ageSeconds: 3600 }), rs('bbb222', 2, 'demo:v2', 1, 1, { ageSeconds: 120 }), rs('zzz999', 7, 'other:v1', 3, 3, { owner: 'someone-else' })];
const midPods = [
  pod('demo-aaa111-p1', 'aaa111'),
  pod('demo-aaa111-p2', 'aaa111', { restarts: 3 }),
  pod('demo-aaa111-p3', 'aaa111'),
  pod('demo-aaa111-p4', 'aaa111'),
  pod('demo-bbb222-q1', 'bbb222', { ageSeconds: 100 }),
  pod('other-zzz999-x', 'zzz999'),
];


function lineWith(text: string, needle: string): string {
  const line = text.split('\n').find((l) => l.includes(needle));
  assert.ok(line !== undefined, `no line contains ${JSON.stringify(needle)} in:\n${text}`);
  return line;
}

describe('rollout view', () => {
  it('names the step and background analysis runs with their phase and message', () => {
    const out = renderRollout(
      rollout({
        phase: 'Paused',
        currentPodHash: 'bbb222',
        stableRS: 'aaa111',
        canary: {
          currentStepAnalysisRunStatus: { name: 'demo-bbb222-2-1', status: 'Inconclusive', message: 'metric "rate" assessed Inconclusive' },
          currentBackgroundAnalysisRunStatus: { name: 'demo-bbb222-2', status: 'Running' },
        },
      }),
      midSets,
      [],
      NOW,
    );
    assert.match(out, /^Analysis:$/m);
    assert.match(out, /^ {2}Step: +demo-bbb222-2-1 \(Inconclusive: metric "rate" assessed Inconclusive\)$/m);
    assert.match(out, /^ {2}Background: +demo-bbb222-2 \(Running\)$/m);
    assert.doesNotMatch(renderRollout(midRollout, midSets, midPods, NOW), /^Analysis:/m, 'no section without runs');
  });

  it('shows a blue/green rollout’s active and preview ReplicaSets and its promotion analysis runs', () => {
    const ro = rollout({
      phase: 'Paused',
      currentPodHash: 'bbb222',
      stableRS: 'aaa111',
      blueGreen: { activeSelector: 'aaa111', previewSelector: 'bbb222', prePromotionAnalysisRunStatus: { name: 'demo-bbb222-2-pre', status: 'Running' } },
    });
    ro.spec.strategy = { blueGreen: { activeService: 'demo-active', previewService: 'demo-preview' } };
    const out = renderRollout(ro, midSets, [], NOW);
    assert.match(out, /^Strategy: +BlueGreen$/m);
    assert.match(out, /^ {2}Active: +aaa111$/m);
    assert.match(out, /^ {2}Preview: +bbb222$/m);
    assert.match(out, /^ {2}PrePromotion: +demo-bbb222-2-pre \(Running\)$/m);
    assert.match(lineWith(out, '⧉ demo-bbb222'), /preview/);
    assert.match(lineWith(out, '⧉ demo-aaa111'), /stable,active/);
  });

  describe('a canary mid-rollout, paused at step 1', () => {
    const out = renderRollout(midRollout, midSets, midPods, NOW);

    it('has the header: name, namespace, status with icon and message, strategy, step, weights, replicas, Git', () => {
      assert.match(out, /^Name: +demo$/m);
      assert.match(out, /^Namespace: +shop$/m);
      assert.match(out, /^Status: +॥ Paused$/m);
      assert.match(out, /^Message: +CanaryPauseStep$/m);
      assert.match(out, /^Strategy: +Canary$/m);
      assert.match(out, /^ {2}Step: +1\/5$/m);
      assert.match(out, /^ {2}SetWeight: +25$/m);
      assert.match(out, /^ {2}ActualWeight: +20$/m, '1 canary pod of 5 available');
      assert.match(out, /^ {2}Desired: +4$/m);
      assert.match(out, /^ {2}Current: +5$/m);
      assert.match(out, /^ {2}Updated: +1$/m);
      assert.match(out, /^ {2}Ready: +5$/m);
      assert.match(out, /^ {2}Available: +5$/m);
      assert.match(out, /^ {2}Current: +c0ffee0{34}$/m);
      assert.match(out, /^ {2}Stable: +beef0{36}$/m);
    });

    it('lists the images with their roles, stable first', () => {
      assert.match(out, /^Images: +demo:v1 \(stable\)\n +demo:v2 \(canary\)$/m);
      assert.doesNotMatch(out, /other:v1/);
    });

    it('marks done steps, the current step (with how long it has waited) and leaves the rest unmarked', () => {
      assert.match(out, /^ {2}✔ 0: setWeight 25$/m);
      assert.match(out, /^ {2}► 1: pause \{\} \(paused 90s\)$/m);
      assert.match(out, /^ {4}2: setWeight 50$/m);
      assert.match(out, /^ {4}3: pause 5m$/m);
      assert.match(out, /^ {4}4: analysis error-rate$/m);
      assert.equal(out.match(/►/g)?.length, 1);
    });

    it('draws revisions newest first, each ReplicaSet with role and ready/desired', () => {
      const rev2 = out.indexOf('# revision:2');
      const rev1 = out.indexOf('# revision:1');
      assert.ok(rev2 > 0 && rev1 > rev2, 'revision 2 above revision 1');
      assert.match(lineWith(out, '⧉ demo-bbb222'), /ReplicaSet +✔ Healthy +2m +canary,ready:1\/1$/);
      assert.match(lineWith(out, '⧉ demo-aaa111'), /ReplicaSet +✔ Healthy +60m +stable,ready:4\/4$/);
      assert.match(lineWith(out, '⟳ demo'), /Rollout +॥ Paused +60m$/);
    });

    it('puts the pods under their ReplicaSet with status, ready, restarts and age', () => {
      assert.match(lineWith(out, 'demo-bbb222-q1'), /^│ {5}└──□ demo-bbb222-q1 +Pod +✔ Running +100s +ready:1\/1$/);
      assert.match(lineWith(out, 'demo-aaa111-p2'), /Pod +✔ Running +5m +ready:1\/1,restarts:3$/);
      assert.ok(out.indexOf('demo-bbb222-q1') < out.indexOf('# revision:1'));
      assert.ok(out.indexOf('demo-aaa111-p1') > out.indexOf('⧉ demo-aaa111'));
    });

    it('leaves out ReplicaSets the Rollout does not own, and their pods', () => {
      assert.doesNotMatch(out, /zzz999/);
    });

    it('has no ANSI codes unless asked, and colors icons when asked', () => {
      const ESC = '\x1b';
      assert.ok(!out.includes(ESC));
      const colored = renderRollout(midRollout, midSets, midPods, NOW, { color: true });
      assert.ok(colored.includes(`${ESC}[32m✔${ESC}[0m`));
      assert.equal(colored.replace(new RegExp(`${ESC}\\[\\d+m`, 'g'), ''), out, 'same text once the colors are stripped');
    });
  });

  describe('a canary at a timed pause, with a pod not ready yet', () => {
    const ro = rollout({
      ...midRollout.status,
      phase: 'Paused',
      currentStepIndex: 3,
      pauseConditions: [{ reason: 'CanaryPauseStep', startTime: ago(60) }],
      canary: { weights: { canary: { weight: 50, podTemplateHash: 'bbb222' }, stable: { weight: 50, podTemplateHash: 'aaa111' } } },
    });
    const sets = [rs('aaa111', 1, 'demo:v1', 2, 2), rs('bbb222', 2, 'demo:v2', 2, 1)];
    const pods = [pod('demo-bbb222-q1', 'bbb222'), pod('demo-bbb222-q2', 'bbb222', { ready: false, waiting: 'ContainerCreating', ageSeconds: 5 })];
    const out = renderRollout(ro, sets, pods, NOW);

    it('shows the time left, the routed weight and progress', () => {
      assert.match(out, /^ {2}► 3: pause 5m \(4m left\)$/m);
      assert.match(out, /^ {2}SetWeight: +50$/m);
      assert.match(out, /^ {2}ActualWeight: +50$/m, 'from status.canary.weights');
      assert.match(lineWith(out, '⧉ demo-bbb222'), /◌ Progressing .*canary,ready:1\/2$/);
      assert.match(lineWith(out, 'demo-bbb222-q2'), /Pod +◌ ContainerCreating +5s +ready:0\/1$/);
    });
  });

  describe('a healthy rollout', () => {
    const ro = rollout({
      phase: 'Healthy',
      currentStepIndex: 5,
      currentPodHash: 'bbb222',
      stableRS: 'bbb222',
      replicas: 4,
      updatedReplicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
    });
    const sets = [
      rs('aaa111', 1, 'demo:v1', 0, 0, { ageSeconds: 7200 }),
      rs('bbb222', 2, 'demo:v2', 4, 4, { ageSeconds: 3000 }),
    ];
    const pods = ['q1', 'q2', 'q3', 'q4'].map((n) => pod(`demo-bbb222-${n}`, 'bbb222'));
    const out = renderRollout(ro, sets, pods, NOW);

    it('is Healthy at step n/n with all weight on the new version', () => {
      assert.match(out, /^Status: +✔ Healthy$/m);
      assert.doesNotMatch(out, /^Message:/m);
      assert.match(out, /^ {2}Step: +5\/5$/m);
      assert.match(out, /^ {2}SetWeight: +100$/m);
      assert.match(out, /^ {2}ActualWeight: +100$/m);
      assert.match(out, /^Images: +demo:v2 \(stable\)$/m);
      assert.doesNotMatch(out, /demo:v1/, 'a scaled-down old image is not listed');
    });

    it('marks every step done and none current', () => {
      assert.equal(out.match(/^ {2}✔ \d: /gm)?.length, 5);
      assert.doesNotMatch(out, /►/);
    });

    it('shows the old ReplicaSet scaled down, and only the stable pods', () => {
      assert.match(lineWith(out, '⧉ demo-aaa111'), /• ScaledDown .*old,ready:0\/0$/);
      assert.match(lineWith(out, '⧉ demo-bbb222'), /✔ Healthy .*stable,ready:4\/4$/);
      assert.equal(out.match(/□ demo-bbb222-q\d/g)?.length, 4);
    });
  });

  describe('an aborted rollout', () => {
    const ro = rollout({
      phase: 'Degraded',
      message: 'RolloutAborted: Rollout aborted update to revision 2',
      abort: true,
      abortedAt: ago(30),
      currentStepIndex: 0,
      currentPodHash: 'bbb222',
      stableRS: 'aaa111',
      replicas: 4,
      readyReplicas: 4,
      availableReplicas: 4,
    });
    const sets = [
      rs('aaa111', 1, 'demo:v1', 4, 4),
      rs('bbb222', 2, 'demo:v2', 0, 0, {
        annotations: {},
      }),
    ];
    sets[1] = { ...sets[1], status: { replicas: 1, readyReplicas: 0, availableReplicas: 0 } };
    const pods = [pod('demo-aaa111-p1', 'aaa111'), pod('demo-bbb222-q1', 'bbb222', { ready: false, waiting: 'CrashLoopBackOff', restarts: 4 })];
    const out = renderRollout(ro, sets, pods, NOW);

    it('says Degraded, aborted, and why', () => {
      assert.match(out, /^Status: +✖ Degraded \(aborted\)$/m);
      assert.match(out, /^Message: +RolloutAborted: Rollout aborted update to revision 2$/m);
      assert.match(out, /^ {2}SetWeight: +0$/m);
    });

    it('marks no current step', () => {
      assert.match(out, /^Steps \(aborted\):$/m);
      assert.doesNotMatch(out, /►/);
    });

    it('keeps the canary role on the aborted ReplicaSet and shows its failing pod', () => {
      assert.match(lineWith(out, '⧉ demo-bbb222'), /ReplicaSet +◌ Progressing .*canary,ready:0\/0$/);
      assert.match(lineWith(out, 'demo-bbb222-q1'), /Pod +✖ CrashLoopBackOff +5m +ready:0\/1,restarts:4$/);
      assert.match(lineWith(out, '⧉ demo-aaa111'), /stable,ready:4\/4$/);
    });
  });

  it('shows a scale-down delay on an old ReplicaSet still scaled up', () => {
    const ro = rollout({ phase: 'Healthy', currentStepIndex: 5, currentPodHash: 'bbb222', stableRS: 'bbb222' });
    const deadline = new Date(NOW.getTime() + 25_000).toISOString();
    const out = renderRollout(ro, [rs('aaa111', 1, 'demo:v1', 4, 4, { annotations: { 'scale-down-deadline': deadline } }), rs('bbb222', 2, 'demo:v2', 4, 4)], [], NOW);
    assert.match(lineWith(out, '⧉ demo-aaa111'), /old,ready:4\/4,delay:25s$/);
  });

  it('a rollout with no status and no ReplicaSets yet still renders', () => {
    const ro = rollout({});
    delete ro.status;
    const out = renderRollout(ro, [], [], NOW);
    assert.match(out, /^Status: +\? Unknown$/m);
    assert.match(out, /^Images: +demo:v2$/m, 'from the pod template');
    assert.match(out, /^ {2}► 0: setWeight 25$/m);
    assert.match(out, /⟳ demo +Rollout +\? Unknown +60m$/m);
  });

  describe('list', () => {
    const a = rollout({ phase: 'Paused', currentStepIndex: 1, replicas: 5, readyReplicas: 4, updatedReplicas: 1, availableReplicas: 4 });
    const b: Rollout = {
      apiVersion: 'weir.dev/v1alpha1',
      kind: 'Rollout',
      metadata: { name: 'bg', namespace: 'apps' },
      spec: { replicas: 2, strategy: { blueGreen: { activeService: 'bg' } } },
      status: { phase: 'Healthy', replicas: 2, readyReplicas: 2, updatedReplicas: 2, availableReplicas: 2 },
    };

    it('prints Argo-style columns', () => {
      const lines = renderRolloutList([a, b]).trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^NAME +STRATEGY +STATUS +STEP +SET-WEIGHT +READY +DESIRED +UP-TO-DATE +AVAILABLE$/);
      assert.match(lines[1] ?? '', /^bg +BlueGreen +Healthy +- +- +2\/2 +2 +2 +2$/);
      assert.match(lines[2] ?? '', /^demo +Canary +Paused +1\/5 +25 +4\/5 +4 +1 +4$/);
    });

    it('adds NAMESPACE with --all-namespaces', () => {
      const lines = renderRolloutList([a, b], { allNamespaces: true }).trimEnd().split('\n');
      assert.match(lines[0] ?? '', /^NAMESPACE +NAME +STRATEGY/);
      assert.match(lines[1] ?? '', /^apps +bg +BlueGreen/);
      assert.match(lines[2] ?? '', /^shop +demo +Canary/);
    });
  });

  describe('helpers', () => {
    it('humanDuration reads like kubectl', () => {
      assert.equal(humanDuration(45_000), '45s');
      assert.equal(humanDuration(119_000), '119s');
      assert.equal(humanDuration(303_000), '5m3s');
      assert.equal(humanDuration(3_600_000), '60m');
      assert.equal(humanDuration(4 * 3_600_000 + 600_000), '4h10m');
      assert.equal(humanDuration(30 * 3_600_000), '30h');
      assert.equal(humanDuration(3 * 86_400_000 + 3_600_000), '3d1h');
      assert.equal(humanDuration(400 * 86_400_000), '400d');
      assert.equal(humanDuration(-500), '0s');
    });

    it('labelSelectorString covers labels and expressions', () => {
      assert.equal(
        labelSelectorString({
          matchLabels: { app: 'demo' },
          matchExpressions: [
            { key: 'tier', operator: 'In', values: ['web', 'api'] },
            { key: 'env', operator: 'NotIn', values: ['dev'] },
            { key: 'team', operator: 'Exists' },
            { key: 'legacy', operator: 'DoesNotExist' },
          ],
        }),
        'app=demo,tier in (web,api),env notin (dev),team,!legacy',
      );
      assert.equal(labelSelectorString(undefined), '');
    });

    it('describeStep', () => {
      assert.equal(describeStep({ setWeight: 20 }), 'setWeight 20');
      assert.equal(describeStep({ pause: {} }), 'pause {}');
      assert.equal(describeStep({ pause: { duration: 30 } }), 'pause 30s');
      assert.equal(describeStep({ pause: { duration: '1h' } }), 'pause 1h');
      assert.equal(describeStep({ setCanaryScale: { replicas: 2 } }), 'setCanaryScale replicas 2');
      assert.equal(describeStep({ analysis: { templates: [{ templateName: 'a' }, { templateName: 'b' }] } }), 'analysis a,b');
    });

    it('currentSetWeight follows the last setWeight at or before the current step', () => {
      assert.equal(currentSetWeight(rollout({ currentStepIndex: 0 })), 25);
      assert.equal(currentSetWeight(rollout({ currentStepIndex: 1 })), 25);
      assert.equal(currentSetWeight(rollout({ currentStepIndex: 3 })), 50);
      assert.equal(currentSetWeight(rollout({ currentStepIndex: 5 })), 100);
      assert.equal(currentSetWeight(rollout({ currentStepIndex: 3, abort: true })), 0);
    });

    it('ownedReplicaSets keeps the Rollout\'s own, newest revision first', () => {
      assert.deepEqual(
        ownedReplicaSets(midRollout, midSets).map((r) => r.metadata?.name),
        ['demo-bbb222', 'demo-aaa111'],
      );
    });

    it('podStatus reads like kubectl', () => {
      assert.equal(podStatus(pod('p', 'h')), 'Running');
      assert.equal(podStatus(pod('p', 'h', { waiting: 'ImagePullBackOff' })), 'ImagePullBackOff');
      assert.equal(podStatus({ ...pod('p', 'h'), metadata: { name: 'p', deletionTimestamp: NOW } }), 'Terminating');
      assert.equal(
        podStatus({ status: { phase: 'Pending', initContainerStatuses: [{ name: 'init', ready: false, restartCount: 0, state: { running: {} } }] } }),
        'Init:0/1',
      );
      assert.equal(
        podStatus({ status: { phase: 'Failed', containerStatuses: [{ name: 'a', ready: false, restartCount: 0, state: { terminated: { exitCode: 137 } } }] } }),
        'ExitCode:137',
      );
    });
  });
});
