// An invalid Rollout gets InvalidSpec naming the field, the running version
// is untouched, and fixing the spec resumes normal operation.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { useControllerNamespace } from './support/controller.ts';
import { ROLLOUTS, createRolloutNetworking, demoRollout, setImage, waitForRollout } from './support/rollouts.ts';

describe('invalid Rollout', () => {
  const cx = useControllerNamespace('invalid');
  const ns = cx.ns;
  const name = 'demo';


  it('setWeight 150 gets InvalidSpec naming the field; the running version is untouched; a fix resumes', async () => {
    await createRolloutNetworking(cx.sb, { name, namespace: ns, router: false });
    await cx.sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body: demoRollout({ name, namespace: ns, replicas: 3, steps: [{ setWeight: 50 }, { pause: {} }] }) });
    const healthy = await waitForRollout(cx.sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 3);
    const rsBefore = (await cx.sb.apps.listNamespacedReplicaSet({ namespace: ns })).items.map((rs) => `${rs.metadata?.name ?? ''}=${rs.spec?.replicas ?? 0}`);

    // A bad step and a new image in the same change: nothing of it may run.
    const jsonPatch = setHeaderOptions('Content-Type', PatchStrategy.JsonPatch);
    await cx.sb.custom.patchNamespacedCustomObject(
      {
        ...ROLLOUTS,
        namespace: ns,
        name,
        body: [
          { op: 'replace', path: '/spec/strategy/canary/steps/0/setWeight', value: 150 },
          { op: 'replace', path: '/spec/template/spec/containers/0/image', value: 'weir-demo:v2' },
        ],
      },
      jsonPatch,
    );
    const invalid = await waitForRollout(cx.sb, ns, name, 'InvalidSpec', (s) => s.conditions?.some((c) => c.type === 'InvalidSpec' && c.status === 'True') ?? false);
    const condition = invalid.status?.conditions?.find((c) => c.type === 'InvalidSpec');
    assert.match(condition?.message ?? '', /spec\.strategy\.canary\.steps\[0\]\.setWeight/);
    assert.equal(invalid.status?.phase, 'Degraded');
    assert.equal(invalid.status.stableRS, healthy.status?.stableRS);
    const rsAfter = (await cx.sb.apps.listNamespacedReplicaSet({ namespace: ns })).items.map((rs) => `${rs.metadata?.name ?? ''}=${rs.spec?.replicas ?? 0}`);
    assert.deepEqual(rsAfter, rsBefore, 'no ReplicaSet created or scaled');
    const events = (await cx.sb.core.listNamespacedEvent({ namespace: ns })).items;
    assert.ok(events.some((e) => e.reason === 'InvalidSpec' && (e.message ?? '').includes('setWeight')), 'an InvalidSpec Event names the field');

    await cx.sb.custom.patchNamespacedCustomObject(
      { ...ROLLOUTS, namespace: ns, name, body: [{ op: 'replace', path: '/spec/strategy/canary/steps/0/setWeight', value: 50 }] },
      jsonPatch,
    );
    const resumed = await waitForRollout(cx.sb, ns, name, 'the fixed spec rolls out', (s) => s.currentStepIndex === 1 && s.phase === 'Paused');
    assert.ok(!resumed.status?.conditions?.some((c) => c.type === 'InvalidSpec'), 'InvalidSpec is gone');
    await setImage(cx.sb, ns, name, 'v2');
  });
});
