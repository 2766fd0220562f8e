// The sandbox as a cluster: node, workloads through the real
// kube-controller-manager and the kubelet stand-in, Prometheus scraping and
// the traffic generator.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../src/util/wait.ts';
import { demoDeployment, demoService, namespace } from './support/demo-app.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

describe('sandbox cluster', () => {
  let sb: TestSandbox;
  const ns = uniqueName('smoke');

  before(async () => {
    sb = await testSandbox();
    await sb.core.createNamespace({ body: namespace(ns) });
  });
  after(async () => {
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('kubectl get nodes through the printed kubeconfig shows the node Ready', async () => {
    const out = await sb.kubectl(['get', 'nodes', '--no-headers']);
    const line = out.split('\n').find((l) => l.startsWith(sb.state.nodeName));
    assert.ok(line, `node ${sb.state.nodeName} missing from:\n${out}`);
    assert.match(line, /\sReady\s/);
  });

  it('runs a 3-replica Deployment of the demo app to 3/3 available, scraped by Prometheus, with traffic', async () => {
    await sb.apps.createNamespacedDeployment({ namespace: ns, body: demoDeployment({ name: 'demo', namespace: ns, replicas: 3 }) });
    await sb.core.createNamespacedService({ namespace: ns, body: demoService({ name: 'demo', namespace: ns, selector: { app: 'demo' }, trafficRate: 30 }) });

    const deployment = await waitFor(
      async () => {
        const d = await sb.apps.readNamespacedDeployment({ name: 'demo', namespace: ns });
        return d.status?.availableReplicas === 3 ? d : undefined;
      },
      { what: 'deployment demo 3/3 available', timeoutMs: 60_000 },
    );
    assert.equal(deployment.status?.readyReplicas, 3);

    const pods = (await sb.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=demo' })).items;
    assert.equal(pods.length, 3);
    const ips = pods.map((p) => p.status?.podIP ?? '');
    assert.equal(new Set(ips).size, 3, 'each pod has its own address');
    for (const ip of ips) assert.match(ip, /^127\.\d+\.\d+\.\d+$/);

    const up = await waitFor(
      async () => {
        const samples = await sb.promQuery(`up{namespace="${ns}"} == 1`);
        return samples.length === 3 ? samples : undefined;
      },
      { what: 'Prometheus up == 1 for the 3 pods', timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.deepEqual(up.map((s) => s.metric.pod).sort(), pods.map((p) => p.metadata?.name).sort());

    const rate = await waitFor(
      async () => {
        const [sample] = await sb.promQuery(`sum(rate(http_requests_total{namespace="${ns}"}[5s]))`);
        return sample && sample.value > 0 ? sample.value : undefined;
      },
      { what: 'a non-zero request rate in Prometheus', timeoutMs: 30_000, intervalMs: 500 },
    );
    assert.ok(rate > 0);
  });

  it('stops the process of a deleted pod and reports restarts of a crashed one', async () => {
    await sb.apps.createNamespacedDeployment({ namespace: ns, body: demoDeployment({ name: 'crash', namespace: ns, replicas: 1 }) });
    const pod = await waitFor(
      async () => {
        const [p] = (await sb.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=crash' })).items;
        return p?.status?.containerStatuses?.[0]?.ready ? p : undefined;
      },
      { what: 'crash pod ready', timeoutMs: 30_000 },
    );
    const containerId = pod.status?.containerStatuses?.[0]?.containerID ?? '';
    const pid = Number(/pid\/(\d+)$/.exec(containerId)?.[1]);
    assert.ok(pid > 0, `container id names the process: ${containerId}`);
    process.kill(pid, 'SIGKILL');
    const restarted = await waitFor(
      async () => {
        const p = await sb.core.readNamespacedPod({ name: pod.metadata?.name ?? '', namespace: ns });
        const status = p.status?.containerStatuses?.[0];
        return status && status.restartCount >= 1 && status.ready ? status : undefined;
      },
      { what: 'the crashed container restarted and ready', timeoutMs: 30_000 },
    );
    assert.equal(restarted.lastState?.terminated?.exitCode, 137);
    const newPid = Number(/pid\/(\d+)$/.exec(restarted.containerID ?? '')?.[1]);
    assert.notEqual(newPid, pid);

    await sb.apps.deleteNamespacedDeployment({ name: 'crash', namespace: ns });
    await waitFor(
      async () => (await sb.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=crash' })).items.length === 0,
      { what: 'crash pod deleted', timeoutMs: 30_000 },
    );
    assert.throws(() => process.kill(newPid, 0), /ESRCH/, 'the pod process is gone');
  });
});
