// Canary with a Gateway API HTTPRoute, end to end on the sandbox with the
// controller running as a process: first apply, steps with weights, the
// traffic split in Prometheus, promote, scale-down of the old ReplicaSet,
// and `weir get rollout --watch`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import { POD_TEMPLATE_HASH_LABEL } from '../src/engine/types.ts';
import { waitFor } from '../src/util/wait.ts';
import { useControllerNamespace } from './support/controller.ts';
import { ROLLOUTS, createRolloutNetworking, getRollout, demoRollout, recordRouteWeights, routeWeights, setImage, waitForRollout, weir } from './support/rollouts.ts';

describe('canary with an HTTPRoute', () => {
  const cx = useControllerNamespace('canary');
  const ns = cx.ns;
  const name = 'demo';
  const steps = [{ setWeight: 20 }, { pause: { duration: 5 } }, { setWeight: 50 }, { pause: {} }, { setWeight: 100 }];


  it('first apply becomes Healthy with no steps run', async () => {
    await createRolloutNetworking(cx.sb, { name, namespace: ns, router: true, trafficRate: 200 });
    await cx.sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body: demoRollout({ name, namespace: ns, replicas: 5, steps, router: true, scaleDownDelaySeconds: 5 }) });
    const r = await waitForRollout(cx.sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 5);
    assert.equal(r.status?.currentStepIndex, steps.length, 'all steps counted as done: none ran');
    assert.equal(r.status.stableRS, r.status.currentPodHash);
    const rss = (await cx.sb.apps.listNamespacedReplicaSet({ namespace: ns })).items;
    assert.equal(rss.length, 1);
    assert.deepEqual(await routeWeights(cx.sb, ns, name), { [`${name}-stable`]: 100, [`${name}-canary`]: 0 });
    const stable = await cx.sb.core.readNamespacedService({ name: `${name}-stable`, namespace: ns });
    assert.equal(stable.spec?.selector?.[POD_TEMPLATE_HASH_LABEL], r.status.stableRS);
  });

  it('an image change runs the steps; the split follows in Prometheus; promote finishes it', async () => {
    const before = await waitForRollout(cx.sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy');
    const oldHash = before.status?.stableRS ?? '';
    const history = await recordRouteWeights(cx.sb, ns, name, `${name}-canary`);
    const watchOutput: string[] = [];
    const getWatch = spawn(process.execPath, ['bin/weir.js', 'get', 'rollout', name, '-n', ns, '--watch', '--kubeconfig', cx.sb.state.kubeconfig], { stdio: ['ignore', 'pipe', 'pipe'] });
    getWatch.stdout.on('data', (c: Buffer) => watchOutput.push(c.toString()));
    try {
      await setImage(cx.sb, ns, name, 'v2');
      const paused = await waitForRollout(cx.sb, ns, name, 'paused at the indefinite pause (step 3)', (s) => s.currentStepIndex === 3 && s.phase === 'Paused');
      const newHash = paused.status?.currentPodHash ?? '';
      assert.notEqual(newHash, oldHash);
      assert.deepEqual(await routeWeights(cx.sb, ns, name), { [`${name}-stable`]: 50, [`${name}-canary`]: 50 });
      assert.deepEqual(history.weights.filter((w) => w !== 0), [20, 50], 'the route went 20 then 50');

      // The traffic generator's split follows the route: count requests per pod-template hash.
      const counts = async (): Promise<Record<string, number>> => {
        const samples = await cx.sb.promQuery(`sum by (rollouts_pod_template_hash) (http_requests_total{namespace="${ns}"})`);
        return Object.fromEntries(samples.map((s) => [s.metric.rollouts_pod_template_hash ?? '', s.value]));
      };
      const start = await waitFor(async () => { const c = await counts(); return (c[newHash] ?? 0) > 0 ? c : undefined; }, { what: 'canary requests counted', timeoutMs: 30_000 });
      const end = await waitFor(
        async () => {
          const c = await counts();
          const total = (c[newHash] ?? 0) - (start[newHash] ?? 0) + (c[oldHash] ?? 0) - (start[oldHash] ?? 0);
          return total >= 3000 ? c : undefined;
        },
        { what: '3000 requests at weight 50', timeoutMs: 60_000, intervalMs: 1000 },
      );
      const canary = (end[newHash] ?? 0) - (start[newHash] ?? 0);
      const stable = (end[oldHash] ?? 0) - (start[oldHash] ?? 0);
      const share = canary / (canary + stable);
      process.stdout.write(`# split at setWeight 50 over ${canary + stable} requests: canary ${(share * 100).toFixed(1)}%\n`);
      assert.ok(Math.abs(share - 0.5) < 0.08, `canary share ${share.toFixed(3)} follows the weight 50`);

      // Still paused: an indefinite pause waits for promote.
      assert.equal((await waitForRollout(cx.sb, ns, name, 'still paused', (s) => s.phase === 'Paused')).status?.currentStepIndex, 3);
      assert.match(await weir(cx.sb, ['promote', name, '-n', ns]), /promoted/);
      const done = await waitForRollout(cx.sb, ns, name, 'Healthy on the new version', (s) => s.phase === 'Healthy' && s.stableRS === newHash && s.availableReplicas === 5);
      assert.equal(done.status?.currentStepIndex, steps.length);
      assert.ok(history.weights.includes(100) || history.weights.at(-1) === 0);
      const stableSvc = await cx.sb.core.readNamespacedService({ name: `${name}-stable`, namespace: ns });
      assert.equal(stableSvc.spec?.selector?.[POD_TEMPLATE_HASH_LABEL], newHash, 'the stable Service points at the new pods');

      // The old ReplicaSet is scaled down after scaleDownDelaySeconds (5 s).
      await waitFor(
        async () => (await cx.sb.apps.readNamespacedReplicaSet({ name: `${name}-${oldHash}`, namespace: ns })).spec?.replicas === 0,
        { what: 'the old ReplicaSet scaled to 0 after the delay', timeoutMs: 30_000 },
      );
      for (const w of history.weights) assert.ok([0, 20, 50, 100].includes(w), `weight ${w} is one of the declared steps`);

      const shown = watchOutput.join('');
      assert.match(shown, /Paused/, 'the watch showed the pause');
      assert.match(shown, /Healthy/, 'and the end');
      assert.match(shown, new RegExp(newHash), 'with the new ReplicaSet');
    } finally {
      history.stop();
      getWatch.kill('SIGINT');
    }
  });

  it('abort sends all traffic back to stable at once and reports Degraded; retry runs the steps again', async () => {
    const before = await waitForRollout(cx.sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy');
    await setImage(cx.sb, ns, name, 'v3');
    await waitForRollout(cx.sb, ns, name, 'paused at 50%', (s) => s.currentStepIndex === 3 && s.phase === 'Paused' && s.currentPodHash !== before.status?.stableRS);
    assert.deepEqual(await routeWeights(cx.sb, ns, name), { [`${name}-stable`]: 50, [`${name}-canary`]: 50 });
    assert.match(await weir(cx.sb, ['abort', name, '-n', ns]), /aborted/);
    const aborted = await waitForRollout(cx.sb, ns, name, 'Degraded', (s) => s.phase === 'Degraded');
    assert.match(aborted.status?.message ?? '', /abort/i);
    assert.deepEqual(await routeWeights(cx.sb, ns, name), { [`${name}-stable`]: 100, [`${name}-canary`]: 0 }, 'all traffic on stable');
    assert.equal(aborted.status?.stableRS, before.status?.stableRS);
    await weir(cx.sb, ['retry', name, '-n', ns]);
    await waitForRollout(cx.sb, ns, name, 'steps again after retry', (s) => s.abort !== true && s.currentStepIndex === 3 && s.phase === 'Paused');
    assert.deepEqual(await routeWeights(cx.sb, ns, name), { [`${name}-stable`]: 50, [`${name}-canary`]: 50 });
  });

  it('serves /metrics, /healthz and /readyz, and records an Event for each transition', async () => {
    const get = async (path: string): Promise<{ status: number; body: string }> => {
      const res = await fetch(`${cx.controller.url}${path}`);
      return { status: res.status, body: await res.text() };
    };
    assert.equal((await get('/healthz')).status, 200);
    assert.equal((await get('/readyz')).status, 200);
    const metrics = (await get('/metrics')).body;
    assert.match(metrics, new RegExp(`weir_rollout_phase\\{namespace="${ns}",rollout="${name}",phase="Paused"\\} 1`));
    assert.match(metrics, new RegExp(`weir_rollout_canary_weight\\{namespace="${ns}",rollout="${name}"\\} 50`));
    assert.match(metrics, /weir_reconcile_duration_seconds_count\{kind="Rollout",result="success"\} [1-9]/);
    assert.match(metrics, /weir_info\{version="[^"]+",node="v24/);

    const reasons = new Set((await cx.sb.core.listNamespacedEvent({ namespace: ns })).items.filter((e) => e.involvedObject.kind === 'Rollout').map((e) => e.reason));
    for (const reason of ['StepCompleted', 'RolloutPaused', 'RolloutAborted', 'RolloutCompleted']) assert.ok(reasons.has(reason), `an Event ${reason} (saw ${[...reasons].join(', ')})`);
  });

  it('works as a kubectl plugin: kubectl weir list rollouts', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weir-plugin-'));
    try {
      await symlink(resolve('bin/weir.js'), join(dir, 'kubectl-weir'));
      const env = { ...process.env, PATH: `${dir}:${dirname(process.execPath)}:${process.env.PATH ?? ''}`, KUBECONFIG: cx.sb.state.kubeconfig };
      const out = await new Promise<string>((res, rej) => {
        execFile(cx.sb.state.kubectl, ['weir', 'list', 'rollouts', '-n', ns], { env }, (err, stdout, stderr) => {
          if (err) rej(new Error(stderr));
          else res(stdout);
        });
      });
      const phase = (await getRollout(cx.sb, ns, name)).status?.phase ?? '';
      assert.match(out, new RegExp(`^${name}\\s+Canary\\s+${phase}\\s`, 'm'));
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
