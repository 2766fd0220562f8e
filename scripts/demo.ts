// `npm run demo`: until Weir's controller and the full story land, the demo
// starts the sandbox and runs its smoke check: the demo app deployed through
// the real control plane, scraped by Prometheus, with live traffic, and a
// repository on the Git server. `npm run demo -- --down` stops everything.
import { parseArgs } from 'node:util';
import { AppsV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import axios from 'axios';
import { describeKubeError, kubeErrorCode } from '../src/cluster/errors.ts';
import { createSandboxRepository, sandboxDown, sandboxUp } from '../src/sandbox/index.ts';
import { waitFor } from '../src/util/wait.ts';

const { values } = parseArgs({ options: { down: { type: 'boolean', default: false }, name: { type: 'string', default: 'default' } } });
const say = (line: string): void => {
  process.stdout.write(line + '\n');
};

if (values.down) {
  await sandboxDown(values.name, say);
  process.exit(0);
}

try {
  const { state } = await sandboxUp({ name: values.name, progress: say });
  const kc = new KubeConfig();
  kc.loadFromFile(state.kubeconfig);
  const core = kc.makeApiClient(CoreV1Api);
  const apps = kc.makeApiClient(AppsV1Api);
  const ns = 'weir-demo';
  const ignoreExisting = (err: unknown): void => {
    if (kubeErrorCode(err) !== 409) throw err;
  };
  await core.createNamespace({ body: { metadata: { name: ns } } }).catch(ignoreExisting);
  await apps
    .createNamespacedDeployment({
      namespace: ns,
      body: {
        metadata: { name: 'demo' },
        spec: {
          replicas: 3,
          selector: { matchLabels: { app: 'demo' } },
          template: {
            metadata: { labels: { app: 'demo' }, annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' } },
            spec: {
              containers: [
                {
                  name: 'app',
                  image: 'weir-demo:v1',
                  ports: [{ name: 'http', containerPort: 8080 }],
                  readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
                },
              ],
            },
          },
        },
      },
    })
    .catch(ignoreExisting);
  await core
    .createNamespacedService({
      namespace: ns,
      body: {
        metadata: { name: 'demo', annotations: { 'sandbox.weir.dev/traffic-rate': '20' } },
        spec: { selector: { app: 'demo' }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    })
    .catch(ignoreExisting);
  say('deployed the demo app (3 replicas) with 20 requests/s of traffic');
  await waitFor(async () => (await apps.readNamespacedDeployment({ name: 'demo', namespace: ns })).status?.availableReplicas === 3, {
    what: 'the demo app to be available (3/3)',
    timeoutMs: 90_000,
  });
  say('demo app available: 3/3');
  const rate = await waitFor(
    async () => {
      const res = await axios.get<{ data: { result: { value: [number, string] }[] } }>(`${state.prometheusUrl}/api/v1/query`, {
        params: { query: `sum(rate(http_requests_total{namespace="${ns}"}[10s]))` },
        timeout: 5000,
      });
      const value = Number(res.data.data.result[0]?.value[1] ?? 0);
      return value > 0 ? value : undefined;
    },
    { what: 'Prometheus to see the demo traffic', timeoutMs: 60_000, intervalMs: 1000 },
  );
  say(`Prometheus sees ${rate.toFixed(1)} requests/s`);
  const repo = await createSandboxRepository(state, `demo-${Date.now().toString(36)}`);
  say(`created Git repository ${repo}`);
  say('');
  say('The sandbox keeps running. Try:');
  say(`  eval "$(npx weir sandbox env)"`);
  say(`  kubectl get pods -n ${ns} -o wide`);
  say(`  open ${state.prometheusUrl}/graph?g0.expr=sum%20by%20(pod)%20(rate(http_requests_total[10s]))`);
  say(`  git clone ${repo}`);
  say('Stop it with: npm run demo -- --down');
} catch (err) {
  process.stderr.write(`demo failed: ${describeKubeError(err)}\n`);
  process.exit(1);
}
