// The controller killed with SIGKILL during a timed pause and during a
// weight change, then restarted: the rollout continues from its status to the
// same end, the pause keeps its original deadline, and the route never holds
// a weight outside the declared steps.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../src/util/wait.ts';
import { startController, type ControllerProcess } from './support/controller.ts';
import { namespace } from './support/demo-app.ts';
import { ROLLOUTS, createRolloutNetworking, demoRollout, getRollout, installCrds, recordRouteWeights, setImage, waitForRollout } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

describe('controller restarts', () => {
  let sb: TestSandbox;
  let controller: ControllerProcess | undefined;
  const ns = uniqueName('restart');
  const name = 'demo';

  before(async () => {
    sb = await testSandbox();
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
  });
  after(async () => {
    await controller?.stop();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('continues after SIGKILL during a timed pause and during a weight change', async () => {
    controller = await startController(sb, { namespace: ns, logName: `${ns}-1` });
    await createRolloutNetworking(sb, { name, namespace: ns, router: true });
    const steps = [{ setWeight: 25 }, { pause: { duration: '8s' } }, { setWeight: 75 }, { pause: { duration: 2 } }];
    await sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body: demoRollout({ name, namespace: ns, replicas: 4, steps, router: true, scaleDownDelaySeconds: 2 }) });
    await waitForRollout(sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 4);
    const history = await recordRouteWeights(sb, ns, name, `${name}-canary`);
    try {
      await setImage(sb, ns, name, 'v2');
      // Kill during the timed pause.
      const paused = await waitForRollout(sb, ns, name, 'in the timed pause', (s) => s.currentStepIndex === 1 && (s.pauseConditions?.length ?? 0) > 0);
      const pauseStart = paused.status?.pauseConditions?.[0]?.startTime ?? '';
      await controller.kill();
      controller = await startController(sb, { namespace: ns, logName: `${ns}-2` });
      const restarted = await getRollout(sb, ns, name);
      if (restarted.status?.currentStepIndex === 1) {
        assert.equal(restarted.status.pauseConditions?.[0]?.startTime, pauseStart, 'the pause keeps its original start');
      }
      await waitForRollout(sb, ns, name, 'past the pause', (s) => (s.currentStepIndex ?? 0) >= 2);
      assert.ok(Date.now() >= Date.parse(pauseStart) + 8000, 'the pause lasted its full 8 s across the restart');

      // Kill right as the weight changes to 75.
      await waitFor(() => history.weights.includes(75) || undefined, { what: 'the weight change to 75', timeoutMs: 30_000, intervalMs: 20 });
      await controller.kill();
      controller = await startController(sb, { namespace: ns, logName: `${ns}-3` });
      const done = await waitForRollout(sb, ns, name, 'Healthy on v2', (s) => s.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.availableReplicas === 4 && s.stableRS !== undefined, 120_000);
      assert.equal(done.status?.currentStepIndex, steps.length);
      for (const w of history.weights) assert.ok([0, 25, 75, 100].includes(w), `weight ${w} is declared by a step`);
      assert.deepEqual(history.weights.filter((w) => w !== 0 && w !== 100), [25, 75]);
    } finally {
      history.stop();
    }
  });
});
