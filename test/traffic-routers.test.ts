// The sandbox's data plane honours each traffic router's objects as that data
// plane would: NGINX canary Ingresses, Istio VirtualServices (with
// DestinationRule subsets, header routes and mirrors), SMI TrafficSplits and
// Traefik TraefikServices. The tests write the routing objects themselves (no
// Weir controller) and measure what the demo apps counted, in Prometheus.
//
// The sandbox's own traffic generator runs in its supervisor; its stats are
// not reachable from here, so the split is read from Prometheus. For the
// header and mirror cases the test also runs a generator of its own
// (startTrafficGenerator, limited to the test's namespace, against the same
// API server and pods) to read the per-class and mirror stats: its requests
// add to the supervisor's, in the same proportions.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ApisApi, NetworkingV1Api, PatchStrategy, setHeaderOptions, type V1Ingress } from '@kubernetes/client-node';
import { startTrafficGenerator, type TargetStats } from '../src/sandbox/traffic/index.ts';
import { createLogger } from '../src/util/log.ts';
import { sleep, waitFor } from '../src/util/wait.ts';
import { demoDeployment, demoService, namespace } from './support/demo-app.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const RATE = '100';
const NGINX = 'nginx.ingress.kubernetes.io';

describe('traffic routers on the sandbox data plane', () => {
  let sb: TestSandbox;
  const namespaces: string[] = [];

  before(async () => {
    sb = await testSandbox();
  });
  after(async () => {
    for (const ns of namespaces) await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  /** A fresh namespace with one demo Deployment (1 replica) per app, each behind a Service of its name; all pods scraped. */
  async function appsNamespace(prefix: string, apps: readonly string[], extraLabels: Record<string, string> = {}): Promise<string> {
    const ns = uniqueName(prefix);
    namespaces.push(ns);
    await sb.core.createNamespace({ body: namespace(ns) });
    for (const app of apps) {
      await sb.apps.createNamespacedDeployment({ namespace: ns, body: demoDeployment({ name: app, namespace: ns, replicas: 1, version: app, labels: extraLabels }) });
      await sb.core.createNamespacedService({ namespace: ns, body: demoService({ name: app, namespace: ns, selector: { app } }) });
    }
    for (const app of apps) {
      await waitFor(async () => (await sb.apps.readNamespacedDeployment({ name: app, namespace: ns })).status?.availableReplicas === 1, {
        what: `${app} available`,
        timeoutMs: 60_000,
      });
    }
    // Every pod scraped before traffic starts, so every request is counted.
    await waitFor(async () => (await sb.promQuery(`up{namespace="${ns}"} == 1`)).length === apps.length, { what: 'all pods scraped', timeoutMs: 30_000 });
    return ns;
  }

  async function counts(ns: string): Promise<Record<string, number>> {
    const samples = await sb.promQuery(`sum by (app) (http_requests_total{namespace="${ns}"})`);
    return Object.fromEntries(samples.map((s) => [s.metric.app ?? '', s.value]));
  }

  const total = (c: Record<string, number>): number => Object.values(c).reduce((a, b) => a + b, 0);

  async function annotate(ns: string, service: string, annotations: Record<string, string | null>): Promise<void> {
    await sb.core.patchNamespacedService(
      { name: service, namespace: ns, body: { metadata: { annotations } } },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
  }

  /**
   * Sends traffic to `service` (rate 100/s plus `annotations`) until the apps
   * counted `requests` more, stops it, waits for the counts to settle and
   * returns what each app counted meanwhile.
   */
  async function measure(ns: string, service: string, annotations: Record<string, string>, requests = 1500): Promise<Record<string, number>> {
    const start = await counts(ns);
    await annotate(ns, service, { 'sandbox.weir.dev/traffic-rate': RATE, ...annotations });
    await waitFor(
      async () => {
        const c = await counts(ns);
        return total(c) - total(start) >= requests ? c : undefined;
      },
      { what: `${requests} requests counted`, timeoutMs: 90_000, intervalMs: 1000 },
    );
    // Stop the traffic (and the header) and let the last scrapes come in.
    await annotate(ns, service, Object.fromEntries(['sandbox.weir.dev/traffic-rate', ...Object.keys(annotations)].map((k) => [k, null])));
    let last = await counts(ns);
    for (;;) {
      await sleep(2500);
      const now = await counts(ns);
      if (total(now) === total(last)) break;
      last = now;
    }
    const delta = Object.fromEntries(Object.entries(last).map(([app, n]) => [app, n - (start[app] ?? 0)]));
    const sum = total(delta);
    process.stdout.write(
      `# ${service}: ${Object.entries(delta)
        .sort()
        .map(([app, n]) => `${app} ${n} (${((100 * n) / sum).toFixed(1)}%)`)
        .join(' / ')} over ${sum} requests\n`,
    );
    return delta;
  }

  const share = (c: Record<string, number>, app: string): number => (c[app] ?? 0) / total(c);

  /**
   * Starts a generator of the test's own on `ns` and waits for its informers
   * of `kinds` (and Services, Pods) to sync; `until` then resolves with the
   * target's stats once `done` holds for them, and stops the generator.
   */
  async function ownGenerator(ns: string, kinds: readonly string[]): Promise<{ until(target: string, done: (s: TargetStats) => boolean): Promise<TargetStats> }> {
    const generator = startTrafficGenerator({ kubeConfig: sb.kc, namespaces: [ns], logger: createLogger('traffic-test', 'error') });
    try {
      await waitFor(() => ['services', 'pods', ...kinds].every((k) => generator.stats().informers[k]?.synced === true), {
        what: `own generator's informers synced (${kinds.join(', ')})`,
        timeoutMs: 30_000,
        intervalMs: 100,
      });
    } catch (err) {
      await generator.stop();
      throw err;
    }
    return {
      async until(target, done) {
        try {
          return await waitFor(
            () => {
              const s = generator.stats().targets[`${ns}/${target}`];
              return s !== undefined && done(s) ? s : undefined;
            },
            { what: `own generator stats for ${target}`, timeoutMs: 90_000, intervalMs: 250 },
          );
        } finally {
          await generator.stop();
        }
      },
    };
  }

  /** The version of `group` the API server prefers; fails when the group (its CRDs) is not installed. */
  async function servedVersion(group: string, prefer: readonly string[] = []): Promise<string> {
    const groups = await sb.kc.makeApiClient(ApisApi).getAPIVersions();
    const g = groups.groups.find((x) => x.name === group);
    assert.ok(g !== undefined, `API group ${group} is served by the sandbox (its CRDs are installed)`);
    const served = g.versions.map((v) => v.version);
    const version = prefer.find((v) => served.includes(v)) ?? g.preferredVersion?.version ?? served[0];
    assert.ok(version !== undefined);
    return version;
  }

  async function createCustom(group: string, version: string, plural: string, ns: string, body: Record<string, unknown>): Promise<void> {
    await sb.custom.createNamespacedCustomObject({ group, version, namespace: ns, plural, body: { apiVersion: `${group}/${version}`, ...body } });
  }

  it('NGINX: a canary Ingress with canary-weight 30 gets 30% (±5), and canary-by-header routes the header to the canary only', async () => {
    const ns = await appsNamespace('nginx', ['stable', 'canary']);
    const ingress = (name: string, service: string, annotations: Record<string, string>): V1Ingress => ({
      apiVersion: 'networking.k8s.io/v1',
      kind: 'Ingress',
      metadata: { name, namespace: ns, annotations },
      spec: {
        ingressClassName: 'nginx',
        rules: [{ host: 'demo.example.com', http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: service, port: { name: 'http' } } } }] } }],
      },
    });
    const api = sb.kc.makeApiClient(NetworkingV1Api);
    await api.createNamespacedIngress({ namespace: ns, body: ingress('web', 'stable', {}) });
    await api.createNamespacedIngress({ namespace: ns, body: ingress('web-canary', 'canary', { [`${NGINX}/canary`]: 'true', [`${NGINX}/canary-weight`]: '30' }) });

    const weighted = await measure(ns, 'stable', {});
    assert.ok(Math.abs(share(weighted, 'canary') - 0.3) <= 0.05, `canary share ${share(weighted, 'canary').toFixed(3)} is within 5 points of 30%`);

    // Header routing: the header's exact value goes to the canary, the rest by weight (now 0).
    await api.patchNamespacedIngress(
      {
        name: 'web-canary',
        namespace: ns,
        body: { metadata: { annotations: { [`${NGINX}/canary-weight`]: '0', [`${NGINX}/canary-by-header`]: 'X-Canary', [`${NGINX}/canary-by-header-value`]: 'yes' } } },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const headerAnnotations = { 'sandbox.weir.dev/traffic-header': 'X-Canary: yes', 'sandbox.weir.dev/traffic-header-share': '0.25' };
    const own = (await ownGenerator(ns, ['ingresses'])).until('stable', (s) => s.byClass.header.sent + s.byClass.plain.sent >= 400);
    void own.catch(() => undefined); // awaited below; a rejection meanwhile is not unhandled
    const byHeader = await measure(ns, 'stable', headerAnnotations);
    const stats = await own;
    assert.ok(Math.abs(share(byHeader, 'canary') - 0.25) <= 0.03, `canary share ${share(byHeader, 'canary').toFixed(3)} is the header's 25% (±3)`);
    assert.deepEqual(Object.keys(stats.byClass.header.byBackend), ['canary'], 'requests with the header reached only the canary');
    assert.deepEqual(Object.keys(stats.byClass.plain.byBackend), ['stable'], 'requests without it reached only the stable');
    assert.equal(stats.router, 'Ingress');
  });

  it('Istio: VirtualService weights 70/30 over DestinationRule subsets, a header route and a mirror', async () => {
    const version = await servedVersion('networking.istio.io', ['v1', 'v1beta1', 'v1alpha3']);
    // Two Deployments behind one Service "web" (tier=web); subsets tell them apart by app label.
    const ns = await appsNamespace('istio', ['stable', 'canary'], { tier: 'web' });
    await sb.core.createNamespacedService({ namespace: ns, body: demoService({ name: 'web', namespace: ns, selector: { tier: 'web' } }) });
    await createCustom('networking.istio.io', version, 'destinationrules', ns, {
      kind: 'DestinationRule',
      metadata: { name: 'web', namespace: ns },
      spec: { host: 'web', subsets: [{ name: 'stable', labels: { app: 'stable' } }, { name: 'canary', labels: { app: 'canary' } }] },
    });
    await createCustom('networking.istio.io', version, 'virtualservices', ns, {
      kind: 'VirtualService',
      metadata: { name: 'web', namespace: ns },
      spec: {
        hosts: ['web'],
        http: [
          {
            name: 'primary',
            route: [
              { destination: { host: 'web', subset: 'stable', port: { number: 80 } }, weight: 70 },
              { destination: { host: `web.${ns}.svc.cluster.local`, subset: 'canary', port: { number: 80 } }, weight: 30 },
            ],
          },
        ],
      },
    });
    const weighted = await measure(ns, 'web', {});
    assert.ok(Math.abs(share(weighted, 'canary') - 0.3) <= 0.05, `canary share ${share(weighted, 'canary').toFixed(3)} is within 5 points of 30%`);

    // Host-level routes on the stable Service: a header route placed first, and a mirror of the primary route.
    await createCustom('networking.istio.io', version, 'virtualservices', ns, {
      kind: 'VirtualService',
      metadata: { name: 'stable', namespace: ns },
      spec: {
        hosts: ['stable'],
        http: [
          { name: 'canary-header', match: [{ headers: { 'x-canary': { exact: 'yes' } } }], route: [{ destination: { host: 'canary' } }] },
          {
            name: 'primary',
            route: [
              { destination: { host: 'stable' }, weight: 100 },
              { destination: { host: 'canary' }, weight: 0 },
            ],
          },
        ],
      },
    });
    const headerAnnotations = { 'sandbox.weir.dev/traffic-header': 'X-Canary: yes', 'sandbox.weir.dev/traffic-header-share': '0.25' };
    const ownHeader = (await ownGenerator(ns, ['virtualservices', 'destinationrules'])).until('stable', (s) => s.byClass.header.sent + s.byClass.plain.sent >= 400);
    void ownHeader.catch(() => undefined); // awaited below; a rejection meanwhile is not unhandled
    const byHeader = await measure(ns, 'stable', headerAnnotations);
    const headerStats = await ownHeader;
    assert.ok(Math.abs(share(byHeader, 'canary') - 0.25) <= 0.03, `canary share ${share(byHeader, 'canary').toFixed(3)} is the header's 25% (±3)`);
    assert.equal(headerStats.route, `${ns}/stable`);
    assert.deepEqual(Object.keys(headerStats.byClass.header.byBackend), ['canary'], 'requests with the header reached only the canary');
    assert.deepEqual(Object.keys(headerStats.byClass.plain.byBackend), ['stable']);

    // Mirror: the primary route copies 50% of its requests to the canary; responses come from stable.
    await sb.custom.patchNamespacedCustomObject(
      {
        group: 'networking.istio.io',
        version,
        namespace: ns,
        plural: 'virtualservices',
        name: 'stable',
        body: {
          spec: {
            http: [
              {
                name: 'primary',
                route: [{ destination: { host: 'stable' }, weight: 100 }, { destination: { host: 'canary' }, weight: 0 }],
                mirror: { host: 'canary' },
                mirrorPercentage: { value: 50 },
              },
            ],
          },
        },
      },
      setHeaderOptions('Content-Type', PatchStrategy.MergePatch),
    );
    const ownMirror = (await ownGenerator(ns, ['virtualservices', 'destinationrules'])).until('stable', (s) => s.sent >= 400 && s.mirrored.completed >= 200);
    void ownMirror.catch(() => undefined); // awaited below; a rejection meanwhile is not unhandled
    const mirrored = await measure(ns, 'stable', {});
    const mirrorStats = await ownMirror;
    const ratio = (mirrored.canary ?? 0) / (mirrored.stable ?? 1);
    process.stdout.write(`# mirror: canary received ${mirrored.canary ?? 0} copies for ${mirrored.stable ?? 0} requests (${(100 * ratio).toFixed(1)}%)\n`);
    assert.ok(Math.abs(ratio - 0.5) <= 0.05, `canary copies are 50% (±5) of the stable's requests, got ${(100 * ratio).toFixed(1)}%`);
    assert.deepEqual(Object.keys(mirrorStats.byBackend), ['stable'], 'every response came from stable');
    assert.deepEqual(Object.keys(mirrorStats.mirrored.byBackend), ['canary'], 'the canary received the copies');
    assert.ok(Math.abs(mirrorStats.mirrored.sent / mirrorStats.sent - 0.5) < 0.01, 'the own generator mirrored half of its requests');
  });

  it('SMI: a TrafficSplit of 25/75 sends 75% (±5) to the canary', async () => {
    const version = await servedVersion('split.smi-spec.io', ['v1alpha4', 'v1alpha3', 'v1alpha2', 'v1alpha1']);
    const ns = await appsNamespace('smi', ['stable', 'canary']);
    // v1alpha1 weights are quantities; later versions' are integers.
    const weight = (n: number): number | string => (version === 'v1alpha1' ? String(n) : n);
    await createCustom('split.smi-spec.io', version, 'trafficsplits', ns, {
      kind: 'TrafficSplit',
      metadata: { name: 'web', namespace: ns },
      spec: { service: 'stable', backends: [{ service: 'stable', weight: weight(25) }, { service: 'canary', weight: weight(75) }] },
    });
    const c = await measure(ns, 'stable', {});
    assert.ok(Math.abs(share(c, 'canary') - 0.75) <= 0.05, `canary share ${share(c, 'canary').toFixed(3)} is within 5 points of 75%`);
  });

  it('Traefik: a Service routed via a weighted TraefikService of 40/60 sends 60% (±5) to the canary', async () => {
    const version = await servedVersion('traefik.io', ['v1alpha1']);
    const ns = await appsNamespace('traefik', ['stable', 'canary']);
    await createCustom('traefik.io', version, 'traefikservices', ns, {
      kind: 'TraefikService',
      metadata: { name: 'web', namespace: ns },
      spec: { weighted: { services: [{ name: 'stable', port: 80, weight: 40 }, { name: 'canary', port: 80, weight: 60 }] } },
    });
    const c = await measure(ns, 'stable', { 'sandbox.weir.dev/traffic-via': 'traefikservice/web' });
    assert.ok(Math.abs(share(c, 'canary') - 0.6) <= 0.05, `canary share ${share(c, 'canary').toFixed(3)} is within 5 points of 60%`);
  });
});
