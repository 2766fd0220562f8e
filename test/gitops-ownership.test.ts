// Git and the Rollout controller share objects without fighting: with the
// HTTPRoute, the Services and an HPA-scaled Rollout all in Git and a 5 s
// poll, a canary's weights only rise through its steps, the Services keep
// the pod-template-hash the Rollout controller put in their selectors, the
// Rollout keeps the HPA's replica count, and no drift is "corrected" on any
// of those; a real drift of what Git owns (a ConfigMap value, a Service
// port) still is.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import type { GitSource } from '../src/api/gitsource.ts';
import { createSandboxRepository } from '../src/sandbox/index.ts';
import { waitFor } from '../src/util/wait.ts';
import { appFiles } from './support/app-repo.ts';
import { useControllerNamespace } from './support/controller.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { getRollout, recordChanges, recordRouteWeights, waitForRollout } from './support/rollouts.ts';
import type { TestSandbox } from './support/sandbox.ts';

const GITSOURCES = { group: 'weir.dev', version: 'v1alpha1', plural: 'gitsources' } as const;
const HASH = 'rollouts-pod-template-hash';
const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);

function selectorOf(obj: Record<string, unknown>): Record<string, string> {
  return ((obj.spec as { selector?: Record<string, string> } | undefined)?.selector) ?? {};
}

describe('Git and the Rollout controller own different fields', () => {
  const owners = useControllerNamespace('owners');
  const ns = owners.ns;
  const app = 'shared';
  let sb: TestSandbox;
  let w: GitWorkspace;

  before(async () => {
    sb = owners.sb;
    w = await GitWorkspace.create(await createSandboxRepository(sb.state, `${ns}-app`));
  });
  after(async () => {
    await w.dispose();
  });

  async function source(): Promise<GitSource> {
    return (await sb.custom.getNamespacedCustomObject({ ...GITSOURCES, namespace: ns, name: app })) as GitSource;
  }

  async function writeRelease(version: string): Promise<string> {
    const steps = [{ setWeight: 20 }, { pause: { duration: '8s' } }, { setWeight: 50 }, { pause: { duration: '8s' } }];
    for (const [path, content] of Object.entries(appFiles({ name: app, namespace: ns, version, greeting: 'hello', steps }))) await w.write(path, content);
    // The HPA owns the Rollout's replicas: Git says 2, the HPA's minimum is 3.
    await w.write(`apps/${app}/hpa.yaml`, `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata:
  name: ${app}
  namespace: ${ns}
spec:
  scaleTargetRef: { apiVersion: weir.dev/v1alpha1, kind: Rollout, name: ${app} }
  minReplicas: 3
  maxReplicas: 3
  metrics: [{ type: Resource, resource: { name: cpu, target: { type: Utilization, averageUtilization: 80 } } }]
`);
    return w.commit(`${app} ${version}`);
  }

  /** The messages of the source's DriftCorrected Events (each lists the objects it set back, and their fields). */
  async function driftEventMessages(): Promise<string[]> {
    const events = await sb.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.kind=GitSource,involvedObject.name=${app},reason=DriftCorrected` });
    return events.items.map((e) => e.message ?? '');
  }

  it('a canary from Git: weights only rise, selectors keep their hash, the HPA keeps its replicas, nothing is called drift', async () => {
    const v1 = await writeRelease('v1');
    await sb.custom.createNamespacedCustomObject({
      ...GITSOURCES,
      namespace: ns,
      body: { apiVersion: 'weir.dev/v1alpha1', kind: 'GitSource', metadata: { name: app, namespace: ns }, spec: { url: w.url, ref: { branch: 'main' }, paths: [`apps/${app}`], interval: '5s' } },
    });
    await waitForRollout(sb, ns, app, 'Healthy on v1', (s) => s.phase === 'Healthy' && s.git?.stableRevision === v1);
    await waitForRollout(sb, ns, app, 'scaled to 3 by the HPA', (s, r) => r.spec.replicas === 3 && s.availableReplicas === 3, 60_000);
    const stableHash = (await getRollout(sb, ns, app)).status?.stableRS;
    assert.ok(stableHash, 'the stable ReplicaSet is known');

    const weights = await recordRouteWeights(sb, ns, app, `${app}-canary`);
    const stableSelector = await recordChanges(sb, `/api/v1/namespaces/${ns}/services`, `${app}-stable`, selectorOf);
    const canarySelector = await recordChanges(sb, `/api/v1/namespaces/${ns}/services`, `${app}-canary`, selectorOf);
    const replicas = await recordChanges(sb, `/apis/weir.dev/v1alpha1/namespaces/${ns}/rollouts`, app, (o) => (o.spec as { replicas?: number }).replicas);
    try {
      // Several polls fall inside each step: each one applies or compares the route, the Services and the Rollout.
      const v2 = await writeRelease('v2');
      await waitForRollout(sb, ns, app, 'at its first step on v2', (s) => s.git?.currentRevision === v2 && (s.currentStepIndex ?? 0) >= 1, 60_000);
      // Another commit in the middle of the canary (the ConfigMap only): it is applied with the route and the Services.
      await w.write(`apps/${app}/notes.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${app}-notes, namespace: ${ns} }\ndata: { note: "mid-canary" }\n`);
      const notes = await w.commit('a note, pushed mid-canary');
      await waitFor(async () => ((await source()).status?.lastAppliedRevision === notes ? true : undefined), { what: 'the mid-canary commit applied', timeoutMs: 30_000, intervalMs: 200 });
      await waitForRollout(sb, ns, app, 'Healthy on v2', (s) => s.phase === 'Healthy' && s.stableRS !== stableHash, 120_000);
    } finally {
      weights.stop();
      stableSelector.stop();
      canarySelector.stop();
      replicas.stop();
    }

    const promotedTo = weights.weights.lastIndexOf(0);
    const rising = weights.weights.slice(0, promotedTo === -1 ? undefined : promotedTo);
    assert.deepEqual(rising, [0, 20, 50, 100].filter((x) => rising.includes(x)), `the canary weights only rose through the steps, then went back to 0 at promotion: ${weights.weights.join(' → ')}`);
    assert.ok(rising.includes(20) && rising.includes(50), `both steps were seen: ${weights.weights.join(' → ')}`);
    assert.equal(weights.weights.at(-1), 0, 'all traffic on the promoted stable at the end');
    assert.ok(stableSelector.values.every((s) => s[HASH] !== undefined), `the stable Service always selected one ReplicaSet: ${JSON.stringify(stableSelector.values)}`);
    assert.ok(canarySelector.values.every((s) => s[HASH] !== undefined), `the canary Service always selected one ReplicaSet: ${JSON.stringify(canarySelector.values)}`);
    assert.deepEqual(replicas.values, [3], 'the Rollout stayed at the HPA\'s 3 replicas, Git\'s 2 never came back');
    const events = await driftEventMessages();
    assert.deepEqual(events.filter((m) => /HTTPRoute|Service|Rollout/.test(m)), [], 'no controller-owned field was corrected');
    const s = await source();
    assert.equal(s.status?.lastDriftCorrection, undefined, 'no drift at all was recorded');
  });

  it('a real drift of what Git owns is still set back: a ConfigMap value and a Service port', async () => {
    await sb.core.patchNamespacedConfigMap({ name: `${app}-config`, namespace: ns, body: { data: { GREETING: 'edited by hand' } } }, mergePatch);
    await sb.core.patchNamespacedService({ name: `${app}-stable`, namespace: ns, body: { spec: { ports: [{ name: 'http', port: 8081, targetPort: 'http' }] } } }, mergePatch);
    await waitFor(
      async () => {
        const cm = await sb.core.readNamespacedConfigMap({ name: `${app}-config`, namespace: ns });
        const svc = await sb.core.readNamespacedService({ name: `${app}-stable`, namespace: ns });
        return cm.data?.GREETING === 'hello' && svc.spec?.ports?.length === 1 && svc.spec.ports[0]?.port === 80 ? true : undefined;
      },
      { what: 'the ConfigMap and the Service port set back to Git', timeoutMs: 30_000, intervalMs: 200 },
    );
    const svc = await sb.core.readNamespacedService({ name: `${app}-stable`, namespace: ns });
    assert.ok(svc.spec?.selector?.[HASH], 'the correction kept the Rollout controller\'s selector');
    const corrected = await waitFor(async () => (await source()).status?.lastDriftCorrection, { what: 'the correction recorded', timeoutMs: 10_000, intervalMs: 200 });
    assert.ok(corrected.objects.every((o) => o.kind === 'ConfigMap' || o.kind === 'Service'), `only what Git owns: ${JSON.stringify(corrected.objects)}`);
    // The two edits may be set back by one poll or by two: the Events name both, and nothing else.
    const events = await waitFor(
      async () => {
        const all = (await driftEventMessages()).join('\n');
        return all.includes(`ConfigMap ${ns}/${app}-config`) && all.includes(`Service ${ns}/${app}-stable`) ? all : undefined;
      },
      { what: 'DriftCorrected Events naming the ConfigMap and the Service', timeoutMs: 10_000, intervalMs: 200 },
    );
    assert.doesNotMatch(events, /HTTPRoute|Rollout|selector|weight|replicas/, events);
    assert.ok((await getRollout(sb, ns, app)).spec.replicas === 3, 'the HPA\'s replicas are untouched');
  });
});
