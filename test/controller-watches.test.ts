// A controller process watches each kind once: every request it sends goes
// through a recording proxy, and from its start until it is ready and has
// opened its watches, each kind it uses was listed once and watched once (the
// three controllers share one informer per kind; before, Rollouts and
// AnalysisRuns were watched twice and Rollouts a third time with a label).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { waitFor } from '../src/util/wait.ts';
import { startController, type ControllerProcess } from './support/controller.ts';
import { namespace } from './support/demo-app.ts';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.ts';
import { installCrds } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

describe('controller watches', () => {
  let sb: TestSandbox;
  let proxy: RecordingProxy;
  let controller: ControllerProcess | undefined;
  const ns = uniqueName('watches');
  const resources = [
    '/api/v1/pods',
    '/api/v1/services',
    '/apis/apps/v1/replicasets',
    '/apis/gateway.networking.k8s.io/v1/httproutes',
    '/apis/gateway.networking.k8s.io/v1/grpcroutes',
    '/apis/networking.k8s.io/v1/ingresses',
    '/apis/networking.istio.io/v1/destinationrules',
    '/apis/networking.istio.io/v1/virtualservices',
    '/apis/split.smi-spec.io/v1alpha4/trafficsplits',
    '/apis/traefik.io/v1alpha1/traefikservices',
    '/apis/weir.dev/v1alpha1/analysisruns',
    '/apis/weir.dev/v1alpha1/analysistemplates',
    '/apis/weir.dev/v1alpha1/gitsources',
    '/apis/weir.dev/v1alpha1/rollouts',
  ];
  const inNamespace = (resource: string): string => resource.replace(/\/([a-z]+)$/, `/namespaces/${ns}/$1`);

  before(async () => {
    sb = await testSandbox();
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
    proxy = await startRecordingProxy(sb, { name: ns });
  });
  after(async () => {
    await controller?.stop();
    await proxy.close();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('lists and watches each kind it uses once, in its namespace', async () => {
    const proc = controller = await startController(sb, { namespace: ns, logName: ns, kubeconfig: proxy.kubeconfig });
    await waitFor(async () => (await fetch(`${proc.url}/readyz`)).status === 200, { what: 'the controller to be ready', timeoutMs: 20_000 });
    const gets = (): { path: string; watch: boolean }[] =>
      proxy.requests
        .filter((r) => r.method === 'GET')
        .map((r) => {
          const url = new URL(r.path, 'http://proxy');
          return { path: url.pathname, watch: url.searchParams.get('watch') === 'true' };
        });
    const watched = (): string[] => gets().filter((g) => g.watch).map((g) => g.path);
    const expected = resources.map(inNamespace).sort();
    // Ready means listed; the watches open right after each list.
    await waitFor(() => expected.every((p) => watched().includes(p)), { what: 'a watch of each kind', timeoutMs: 10_000, intervalMs: 50 });

    const count = (paths: string[]): Record<string, number> => {
      const out: Record<string, number> = {};
      for (const p of paths) out[p] = (out[p] ?? 0) + 1;
      return out;
    };
    const once = Object.fromEntries(expected.map((p) => [p, 1]));
    const watches = count(watched());
    const lists = count(gets().filter((g) => !g.watch && expected.includes(g.path)).map((g) => g.path));
    console.log(`controller watches: ${JSON.stringify(watches)}; lists: ${JSON.stringify(lists)}`);
    assert.deepEqual(watches, once, 'one watch per kind, and nothing else watched');
    assert.deepEqual(lists, once, 'one list per kind');
  });
});
