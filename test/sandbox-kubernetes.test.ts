// The sandbox is the Kubernetes the README says: the API server's version,
// Prometheus finding pods through kubernetes_sd_configs as in a production
// cluster, the released CRDs of Gateway API, Istio, Traefik and SMI
// validating what is written, and helm v4 installing a chart for real.
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
import { CONVERTED_FROM_ANNOTATION, crdManifests } from '../src/sandbox/bootstrap.ts';
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

  describe('the released CRDs of Istio, Traefik and SMI', () => {
    const VIRTUAL_SERVICES = { group: 'networking.istio.io', version: 'v1', plural: 'virtualservices', kind: 'VirtualService' };
    const DESTINATION_RULES = { group: 'networking.istio.io', version: 'v1', plural: 'destinationrules', kind: 'DestinationRule' };
    const TRAEFIK_SERVICES = { group: 'traefik.io', version: 'v1alpha1', plural: 'traefikservices', kind: 'TraefikService' };
    const TRAFFIC_SPLITS = { group: 'split.smi-spec.io', version: 'v1alpha4', plural: 'trafficsplits', kind: 'TrafficSplit' };
    type Resource = typeof VIRTUAL_SERVICES;

    const object = (r: Resource, name: string, spec: object): object => ({ apiVersion: `${r.group}/${r.version}`, kind: r.kind, metadata: { name, namespace: ns }, spec });
    const create = (r: Resource, name: string, spec: object): Promise<unknown> =>
      sb.custom.createNamespacedCustomObject({ group: r.group, version: r.version, plural: r.plural, namespace: ns, body: object(r, name, spec) });

    interface Cause {
      reason: string;
      field: string;
      message: string;
    }

    /** The causes of the 422 the API server answers an invalid object with. */
    async function rejection(r: Resource, name: string, spec: object): Promise<Cause[]> {
      try {
        await create(r, name, spec);
      } catch (err) {
        assert.ok(err instanceof ApiException, String(err));
        assert.equal(err.code, 422, `rejected as invalid: ${String(err.body)}`);
        return (JSON.parse(String(err.body)) as { details: { causes: Cause[] } }).details.causes;
      }
      assert.fail(`the API server accepted an invalid ${r.kind}`);
    }

    /** Asserts that the schema refused `field` for not being of `type`. */
    function refusedType(causes: Cause[], field: string, type: string): void {
      assert.ok(
        causes.some((c) => c.reason === 'FieldValueTypeInvalid' && c.field === field && c.message.includes(`${field} in body must be of type ${type}`)),
        `${field} refused as not ${type}: ${JSON.stringify(causes)}`,
      );
    }

    // What Weir's routers write: weights across the stable and canary backends.
    const virtualService = (weight: unknown): object => ({
      hosts: ['web'],
      http: [{ name: 'primary', route: [{ destination: { host: 'web-stable' }, weight }, { destination: { host: 'web-canary' }, weight: 20 }] }],
    });
    const destinationRule = (labels: unknown): object => ({
      host: 'web',
      subsets: [{ name: 'stable', labels }, { name: 'canary', labels: { 'rollouts-pod-template-hash': 'canary-hash' } }],
    });
    const traefikService = (weight: unknown): object => ({
      weighted: { services: [{ name: 'web-stable', port: 80, weight }, { name: 'web-canary', port: 80, weight: 20 }] },
    });
    const trafficSplit = (weight: unknown): object => ({ service: 'web', backends: [{ service: 'web-stable', weight }, { service: 'web-canary', weight: 20 }] });

    it('are installed from the pinned releases: every CRD of each, Established', async () => {
      const lines = await sb.kubectl(['get', 'crd', '-o', 'jsonpath={range .items[*]}{.metadata.name} {.status.conditions[?(@.type=="Established")].status}{"\\n"}{end}']);
      const established = new Set(lines.split('\n').filter((l) => l.endsWith(' True')).map((l) => l.split(' ')[0]));
      for (const tool of ['istio', 'traefik', 'smi'] as const) {
        const names = (await crdManifests(tool)).filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata?.name ?? '');
        assert.ok(names.length > 0, `${tool} has CRDs`);
        assert.deepEqual(names.filter((n) => !established.has(n)), [], `every ${tool} CRD Established`);
      }
    });

    it('serve VirtualService and DestinationRule in networking.istio.io/v1, TraefikService in traefik.io/v1alpha1, TrafficSplit in split.smi-spec.io/v1alpha4 only', async () => {
      const group = async (name: string): Promise<{ versions: string[]; preferred: string }> => {
        const g = JSON.parse(await sb.kubectl(['get', '--raw', `/apis/${name}`])) as { versions: { version: string }[]; preferredVersion: { version: string } };
        return { versions: g.versions.map((v) => v.version).sort(), preferred: g.preferredVersion.version };
      };
      assert.deepEqual(await group('networking.istio.io'), { versions: ['v1', 'v1alpha3', 'v1beta1'], preferred: 'v1' });
      assert.deepEqual(await group('traefik.io'), { versions: ['v1alpha1'], preferred: 'v1alpha1' });
      // SMI's v0.5.0 CRD lists v1alpha1 to v1alpha3 but serves only v1alpha4.
      assert.deepEqual(await group('split.smi-spec.io'), { versions: ['v1alpha4'], preferred: 'v1alpha4' });
      for (const r of [VIRTUAL_SERVICES, DESTINATION_RULES, TRAEFIK_SERVICES, TRAFFIC_SPLITS]) {
        const list = JSON.parse(await sb.kubectl(['get', '--raw', `/apis/${r.group}/${r.version}`])) as { resources: { name: string; kind: string }[] };
        assert.ok(list.resources.some((res) => res.name === r.plural && res.kind === r.kind), `${r.kind} served in ${r.group}/${r.version}`);
      }
    });

    it('SMI\'s TrafficSplit CRD, published as apiextensions.k8s.io/v1beta1, is installed converted to v1 with its schema', async () => {
      const crd = JSON.parse(await sb.kubectl(['get', 'crd', 'trafficsplits.split.smi-spec.io', '-o', 'json'])) as {
        metadata: { annotations: Record<string, string> };
        spec: { versions: { name: string; served: boolean; schema: { openAPIV3Schema: { properties: { spec: { required: string[] } } } } }[] };
      };
      assert.equal(crd.metadata.annotations[CONVERTED_FROM_ANNOTATION], 'apiextensions.k8s.io/v1beta1');
      assert.deepEqual(crd.spec.versions.map((v) => [v.name, v.served]), [['v1alpha4', true], ['v1alpha3', false], ['v1alpha2', false], ['v1alpha1', false]]);
      assert.deepEqual(crd.spec.versions[0]?.schema.openAPIV3Schema.properties.spec.required, ['service', 'backends']);
    });

    it('accept a valid object of each, as Weir writes them', async () => {
      await create(VIRTUAL_SERVICES, 'valid', virtualService(80));
      await create(DESTINATION_RULES, 'valid', destinationRule({ 'rollouts-pod-template-hash': 'stable-hash' }));
      await create(TRAEFIK_SERVICES, 'valid', traefikService(80));
      await create(TRAFFIC_SPLITS, 'valid', trafficSplit(80));
    });

    it('refuse a VirtualService whose route weight is not an integer, saying which field', async () => {
      refusedType(await rejection(VIRTUAL_SERVICES, 'string-weight', virtualService('eighty')), 'spec.http[0].route[0].weight', 'integer');
    });

    it('refuse a DestinationRule whose subset labels are not a map, saying which field', async () => {
      refusedType(await rejection(DESTINATION_RULES, 'string-labels', destinationRule('stable')), 'spec.subsets[0].labels', 'object');
    });

    it('refuse a TraefikService whose weighted service weight is not an integer, saying which field', async () => {
      refusedType(await rejection(TRAEFIK_SERVICES, 'string-weight', traefikService('eighty')), 'spec.weighted.services[0].weight', 'integer');
    });

    it('refuse a TrafficSplit whose backend weight is not a number, or without backends, saying which field', async () => {
      refusedType(await rejection(TRAFFIC_SPLITS, 'string-weight', trafficSplit('eighty')), 'spec.backends[0].weight', 'number');
      const missing = await rejection(TRAFFIC_SPLITS, 'no-backends', { service: 'web' });
      assert.ok(missing.some((c) => c.reason === 'FieldValueRequired' && c.field === 'spec.backends'), JSON.stringify(missing));
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
