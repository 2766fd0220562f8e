// The traffic generator follows the weights of the HTTPRoute fronting a
// Service, and the split shows in Prometheus as the apps count requests.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PatchStrategy, setHeaderOptions } from '@kubernetes/client-node';
import { waitFor } from '../src/util/wait.ts';
import { demoDeployment, demoService, namespace } from './support/demo-app.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

describe('traffic generator', () => {
  let sb: TestSandbox;
  const ns = uniqueName('split');

  before(async () => {
    sb = await testSandbox();
    await sb.core.createNamespace({ body: namespace(ns) });
  });
  after(async () => {
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  async function counts(): Promise<Record<string, number>> {
    const samples = await sb.promQuery(`sum by (app) (http_requests_total{namespace="${ns}"})`);
    return Object.fromEntries(samples.map((s) => [s.metric.app ?? '', s.value]));
  }

  it('splits requests 80/20 by the HTTPRoute weights, as Prometheus counts them', async () => {
    for (const app of ['stable', 'canary']) {
      await sb.apps.createNamespacedDeployment({ namespace: ns, body: demoDeployment({ name: app, namespace: ns, replicas: 2, version: app }) });
      await sb.core.createNamespacedService({ namespace: ns, body: demoService({ name: app, namespace: ns, selector: { app } }) });
    }
    await sb.custom.createNamespacedCustomObject({
      group: 'gateway.networking.k8s.io',
      version: 'v1',
      namespace: ns,
      plural: 'httproutes',
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: 'app', namespace: ns },
        spec: {
          rules: [
            {
              backendRefs: [
                { name: 'stable', port: 80, weight: 80 },
                { name: 'canary', port: 80, weight: 20 },
              ],
            },
          ],
        },
      },
    });
    for (const app of ['stable', 'canary']) {
      await waitFor(async () => (await sb.apps.readNamespacedDeployment({ name: app, namespace: ns })).status?.availableReplicas === 2, {
        what: `${app} available`,
        timeoutMs: 60_000,
      });
    }
    // All four pods scraped before traffic starts, so every request is counted.
    await waitFor(async () => (await sb.promQuery(`up{namespace="${ns}"} == 1`)).length === 4, { what: 'four pods scraped', timeoutMs: 30_000 });

    // Traffic enters through the stable Service, which the route fronts.
    await sb.core.patchNamespacedService(
      { name: 'stable', namespace: ns, body: { metadata: { annotations: { 'sandbox.weir.dev/traffic-rate': '100' } } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const final = await waitFor(
      async () => {
        const c = await counts();
        return (c.stable ?? 0) + (c.canary ?? 0) >= 1500 ? c : undefined;
      },
      { what: '1500 requests counted', timeoutMs: 90_000, intervalMs: 1000 },
    );
    const total = (final.stable ?? 0) + (final.canary ?? 0);
    const canaryShare = (final.canary ?? 0) / total;
    process.stdout.write(`# measured split over ${total} requests: stable ${(100 - canaryShare * 100).toFixed(1)}% / canary ${(canaryShare * 100).toFixed(1)}%\n`);
    assert.ok(Math.abs(canaryShare - 0.2) < 0.03, `canary share ${canaryShare.toFixed(3)} is within 3 points of 20%`);
  });
});
