// The sandbox is the Kubernetes the README says: the API server's version,
// Prometheus finding pods through kubernetes_sd_configs as in a production
// cluster, the released Gateway API CRDs validating what is written, and
// helm v4 installing a chart for real.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import { ApiException, VersionApi } from '@kubernetes/client-node';
import axios from 'axios';
import { load } from 'js-yaml';
import { kubernetesVersion, sandboxBinary, sandboxToolRelease } from '../src/sandbox/index.ts';
import { repoRoot } from '../src/sandbox/paths.ts';
import { waitFor } from '../src/util/wait.ts';
import { demoDeployment, namespace } from './support/demo-app.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

interface PromTarget {
  scrapePool: string;
  scrapeUrl: string;
  health: string;
  labels: Record<string, string>;
  discoveredLabels: Record<string, string>;
}

const ROUTES = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };

/** The one Kubernetes release the README says the sandbox, and so every test, runs. */
async function readmeKubernetesVersion(): Promise<string> {
  const readme = await readFile(join(repoRoot, 'README.md'), 'utf8');
  const stated = /^Tested on Kubernetes v(\d+\.\d+\.\d+)\b/m.exec(readme)?.[1];
  assert.ok(stated, 'the README states the tested Kubernetes version ("Tested on Kubernetes vX.Y.Z")');
  return stated;
}

describe('sandbox on current Kubernetes', () => {
  let sb: TestSandbox;
  const ns = uniqueName('k8s');

  before(async () => {
    sb = await testSandbox();
    await sb.core.createNamespace({ body: namespace(ns) });
  });
  after(async () => {
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('the API server and kubectl report the version the README states, which tools/kubernetes pins', async () => {
    const stated = await readmeKubernetesVersion();
    assert.equal(kubernetesVersion(), stated, 'tools/kubernetes/go.mod pins the release the README states');
    const server = await sb.kc.makeApiClient(VersionApi).getCode();
    assert.equal(server.gitVersion, `v${stated}`);
    const [major, minor] = stated.split('.');
    assert.equal(server.major, major);
    assert.equal(server.minor, minor);
    const kubectl = JSON.parse(await sb.kubectl(['version', '-o', 'json'])) as { clientVersion: { gitVersion: string }; serverVersion: { gitVersion: string } };
    assert.equal(kubectl.serverVersion.gitVersion, `v${stated}`);
    assert.equal(kubectl.clientVersion.gitVersion, `v${stated}`, 'kubectl of the same version');
  });

  it('Prometheus discovers pods through kubernetes_sd_configs, and drops a deleted pod', async () => {
    const prometheus = axios.create({ baseURL: sb.state.prometheusUrl, timeout: 5000 });
    const config = await prometheus.get<{ data: { yaml: string } }>('/api/v1/status/config');
    const loaded = load(config.data.data.yaml) as { scrape_configs: { job_name: string; kubernetes_sd_configs?: { role: string; api_server: string }[] }[] };
    const job = loaded.scrape_configs.find((c) => c.job_name === 'kubernetes-pods');
    assert.deepEqual(
      job?.kubernetes_sd_configs?.map((c) => [c.role, c.api_server]),
      [['pod', sb.state.apiServerUrl]],
      'the pods job discovers with kubernetes_sd_configs against the sandbox API server',
    );
    const build = await prometheus.get<{ data: { version: string } }>('/api/v1/status/buildinfo');
    assert.equal(build.data.data.version, sandboxToolRelease('prometheus'));
    assert.match(build.data.data.version, /^3\./, 'Prometheus 3');

    await sb.apps.createNamespacedDeployment({ namespace: ns, body: demoDeployment({ name: 'found', namespace: ns, replicas: 2 }) });
    const targetsOf = async (): Promise<PromTarget[]> => {
      const res = await prometheus.get<{ data: { activeTargets: PromTarget[] } }>('/api/v1/targets', { params: { state: 'active' } });
      return res.data.data.activeTargets.filter((t) => t.labels.namespace === ns);
    };
    const pods = await waitFor(
      async () => {
        const list = (await sb.core.listNamespacedPod({ namespace: ns, labelSelector: 'app=found' })).items;
        return list.length === 2 && list.every((p) => p.status?.podIP) ? list : undefined;
      },
      { what: 'two pods with addresses', timeoutMs: 60_000 },
    );
    const healthy = await waitFor(
      async () => {
        const targets = await targetsOf();
        return targets.length === 2 && targets.every((t) => t.health === 'up') ? targets : undefined;
      },
      { what: 'both pods scraped, up', timeoutMs: 60_000, intervalMs: 500 },
    );
    for (const pod of pods) {
      const name = pod.metadata?.name ?? '';
      const target = healthy.find((t) => t.labels.pod === name);
      assert.ok(target, `a target for pod ${name}`);
      assert.equal(target.scrapePool, 'kubernetes-pods');
      assert.equal(target.scrapeUrl, `http://${pod.status?.podIP ?? ''}:8080/metrics`);
      // What only kubernetes_sd_configs (role: pod) attaches, straight from the pod object.
      assert.equal(target.discoveredLabels.__meta_kubernetes_pod_uid, pod.metadata?.uid);
      assert.equal(target.discoveredLabels.__meta_kubernetes_pod_controller_kind, 'ReplicaSet');
      assert.equal(target.discoveredLabels.__meta_kubernetes_pod_container_port_name, 'http');
      assert.equal(target.labels.app, 'found', 'pod labels mapped by the relabelling');
    }

    const [gone] = pods;
    await sb.core.deleteNamespacedPod({ name: gone?.metadata?.name ?? '', namespace: ns, gracePeriodSeconds: 0 });
    await waitFor(
      async () => {
        const targets = await targetsOf();
        return !targets.some((t) => t.discoveredLabels.__meta_kubernetes_pod_uid === gone?.metadata?.uid);
      },
      { what: 'the deleted pod no longer a target', timeoutMs: 60_000, intervalMs: 500 },
    );
  });

  describe('the released Gateway API CRDs', () => {
    it('are installed from the pinned release, standard channel', async () => {
      const crd = JSON.parse(await sb.kubectl(['get', 'crd', 'httproutes.gateway.networking.k8s.io', '-o', 'json'])) as { metadata: { annotations: Record<string, string> } };
      assert.equal(crd.metadata.annotations['gateway.networking.k8s.io/bundle-version'], `v${sandboxToolRelease('gateway-api')}`);
      assert.equal(crd.metadata.annotations['gateway.networking.k8s.io/channel'], 'standard');
      for (const kind of ['gateways', 'gatewayclasses', 'grpcroutes', 'referencegrants']) {
        await sb.kubectl(['get', 'crd', `${kind}.gateway.networking.k8s.io`, '-o', 'name']);
      }
    });

    const route = (name: string, backendRef: Record<string, unknown>): object => ({
      apiVersion: 'gateway.networking.k8s.io/v1',
      kind: 'HTTPRoute',
      metadata: { name, namespace: ns },
      spec: { rules: [{ backendRefs: [backendRef] }] },
    });

    async function rejection(body: object): Promise<string> {
      try {
        await sb.custom.createNamespacedCustomObject({ ...ROUTES, namespace: ns, body });
      } catch (err) {
        assert.ok(err instanceof ApiException, String(err));
        assert.equal(err.code, 422, `rejected as invalid: ${String(err.body)}`);
        return String(err.body);
      }
      assert.fail('the API server accepted an invalid HTTPRoute');
    }

    it('reject a weight out of range and a backendRef without a name, saying which field', async () => {
      assert.match(await rejection(route('too-heavy', { name: 'web', port: 80, weight: 1_000_001 })), /spec\.rules\[0\]\.backendRefs\[0\]\.weight/);
      assert.match(await rejection(route('nameless', { port: 80, weight: 1 })), /spec\.rules\[0\]\.backendRefs\[0\]\.name: Required value/);
    });

    it('reject what only their CEL rules catch: a Service backend without a port', async () => {
      assert.match(await rejection(route('portless', { name: 'web', weight: 1 })), /Must have port for Service reference/);
    });

    it('accept a valid weighted route, as Weir writes them', async () => {
      await sb.custom.createNamespacedCustomObject({
        ...ROUTES,
        namespace: ns,
        body: { ...route('valid', { name: 'web-stable', port: 80, weight: 80 }), spec: { rules: [{ backendRefs: [{ name: 'web-stable', port: 80, weight: 80 }, { name: 'web-canary', port: 80, weight: 20 }] }] } },
      });
    });
  });

  it('helm v4 installs a chart for real and waits for it to be ready', async () => {
    const helm = sandboxBinary('helm');
    const run = promisify(execFile);
    const dir = await mkdtemp(join(tmpdir(), 'weir-helm-'));
    const env = { ...process.env, KUBECONFIG: sb.state.kubeconfig, HELM_CACHE_HOME: join(dir, 'cache'), HELM_CONFIG_HOME: join(dir, 'config'), HELM_DATA_HOME: join(dir, 'data') };
    try {
      const version = await run(helm, ['version', '--template', '{{.Version}}'], { env });
      assert.equal(version.stdout, `v${sandboxToolRelease('helm')}`);
      await run(helm, ['create', join(dir, 'hello')], { env });
      await run(helm, ['install', 'hello', join(dir, 'hello'), '--namespace', ns, '--wait', '--timeout', '90s'], { env });
      const list = JSON.parse((await run(helm, ['list', '--namespace', ns, '-o', 'json'], { env })).stdout) as { name: string; status: string }[];
      assert.deepEqual(list.map((r) => [r.name, r.status]), [['hello', 'deployed']]);
      const deployment = await sb.apps.readNamespacedDeployment({ name: 'hello', namespace: ns });
      assert.equal(deployment.status?.readyReplicas, 1, 'the chart Deployment is ready');
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
