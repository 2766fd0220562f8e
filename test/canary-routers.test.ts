// Each traffic router end to end on the sandbox, driven by Weir: the example
// manifest of examples/rollouts/ for that router (Argo Rollouts' own
// argoproj.io/v1alpha1 Rollout, unchanged) is pushed to a Git repository and
// applied by a GitSource; a new image runs its steps. At each indefinite
// pause the test measures the split twice over the same window: what the
// demo pods counted (Prometheus, by pod-template hash), and what a traffic
// generator of the test's own got back, by request class (with or without the
// header) and with the mirrored copies apart. Then the rollout completes, and
// a second one is aborted at its last route: the router's objects must reach
// their pre-rollout shape, in one write each.
//
// The test's copy of each example sends more traffic than the example does
// (sandbox.weir.dev/traffic-rate 100 instead of 40), so that a measurement
// takes seconds; nothing else differs.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { Watch } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { createSandboxRepository } from '../src/sandbox/index.ts';
import { startTrafficGenerator, type InformerStatus, type TargetStats } from '../src/sandbox/traffic/index.ts';
import { createLogger } from '../src/util/log.ts';
import { waitFor } from '../src/util/wait.ts';
import { startController, type ControllerProcess } from './support/controller.ts';
import { namespace } from './support/demo-app.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { createGitSource, waitForGitSource } from './support/gitsources.ts';
import { getRollout, installCrds, waitForRollout, weir } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

interface Kind {
  group: string;
  version: string;
  plural: string;
}

interface RouterCase {
  router: string;
  example: string;
  /** The kinds of the router's objects, whose shape before the rollout must come back after it. */
  kinds: Kind[];
}

const CASES: RouterCase[] = [
  { router: 'Gateway API', example: 'canary-gateway-api-routes.yaml', kinds: [{ group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' }] },
  { router: 'NGINX Ingress', example: 'canary-nginx.yaml', kinds: [{ group: 'networking.k8s.io', version: 'v1', plural: 'ingresses' }] },
  { router: 'Istio', example: 'canary-istio.yaml', kinds: [{ group: 'networking.istio.io', version: 'v1', plural: 'virtualservices' }] },
  { router: 'SMI', example: 'canary-smi.yaml', kinds: [{ group: 'split.smi-spec.io', version: 'v1alpha4', plural: 'trafficsplits' }] },
  { router: 'Traefik', example: 'canary-traefik.yaml', kinds: [{ group: 'traefik.io', version: 'v1alpha1', plural: 'traefikservices' }] },
];

const RATE = 100;
/** Tolerances, in shares of 1: at RATE the own generator's window holds ~600 requests and Prometheus's ~1,200 (σ ≤ 2 points). */
const GENERATOR_TOLERANCE = 0.07;
const PROMETHEUS_TOLERANCE = 0.06;

interface RouterObjectList {
  items: { metadata: { name: string; annotations?: Record<string, string> }; spec?: unknown }[];
}

/** What is in force at one indefinite pause of the example's steps. */
interface PauseState {
  step: number;
  weight: number;
  header: boolean;
  mirror: boolean;
}

interface ExampleStep {
  setWeight?: number;
  pause?: { duration?: unknown };
  setHeaderRoute?: { match?: unknown[] };
  setMirrorRoute?: { match?: unknown[] };
}

interface ExampleRollout {
  kind: string;
  metadata: { name: string };
  spec: { strategy: { canary: { stableService: string; canaryService: string; steps: ExampleStep[] } } };
}

/** The indefinite pauses of `steps` and what the steps before each put in force. */
function pausesOf(steps: readonly ExampleStep[]): PauseState[] {
  const pauses: PauseState[] = [];
  let weight = 0;
  let header = false;
  let mirror = false;
  steps.forEach((s, step) => {
    if (s.setWeight !== undefined) weight = s.setWeight;
    if (s.setHeaderRoute !== undefined) header = (s.setHeaderRoute.match?.length ?? 0) > 0;
    if (s.setMirrorRoute !== undefined) mirror = (s.setMirrorRoute.match?.length ?? 0) > 0;
    if (s.pause !== undefined && s.pause.duration === undefined) pauses.push({ step, weight, header, mirror });
  });
  return pauses;
}

/** An object's shape as the test compares it: its spec and annotations, without the ones Git sync stamps per commit. */
function shapeOf(obj: { metadata?: { annotations?: Record<string, string> }; spec?: unknown }): unknown {
  const annotations = Object.entries(obj.metadata?.annotations ?? {}).filter(([k]) => !k.startsWith('weir.dev/git-') && k !== 'kubectl.kubernetes.io/last-applied-configuration');
  return { spec: obj.spec, annotations: Object.fromEntries(annotations.sort(([a], [b]) => a.localeCompare(b))) };
}

/** The counts of a generator target the test reads, over a window. */
interface WindowStats {
  header: Counted;
  plain: Counted;
  mirrored: Counted & { sent: number };
}

interface Counted {
  completed: number;
  /** Requests (or copies) sent, by the backend that answered them. */
  byBackend: Record<string, number>;
}

function windowStats(s: TargetStats | undefined): WindowStats {
  const counted = (c: Counted | undefined): Counted => ({ completed: c?.completed ?? 0, byBackend: { ...c?.byBackend } });
  return { header: counted(s?.byClass.header), plain: counted(s?.byClass.plain), mirrored: { ...counted(s?.mirrored), sent: s?.mirrored.sent ?? 0 } };
}

/** `a - b`, dropping backends with nothing in the window. */
function minus(a: WindowStats, b: WindowStats): WindowStats {
  const counted = (x: Counted, y: Counted): Counted => ({
    completed: x.completed - y.completed,
    byBackend: Object.fromEntries(Object.entries(x.byBackend).map(([k, n]): [string, number] => [k, n - (y.byBackend[k] ?? 0)]).filter(([, n]) => n !== 0)),
  });
  return { header: counted(a.header, b.header), plain: counted(a.plain, b.plain), mirrored: { ...counted(a.mirrored, b.mirrored), sent: a.mirrored.sent - b.mirrored.sent } };
}

describe('canary rollouts through each traffic router, driven by Weir', () => {
  let sb: TestSandbox;
  let controller: ControllerProcess;
  const ns = uniqueName('routers');
  const workspaces: GitWorkspace[] = [];

  before(async () => {
    sb = await testSandbox();
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
    controller = await startController(sb, { namespace: ns, logName: ns });
  });
  after(async () => {
    await controller.stop();
    for (const w of workspaces) await w.dispose();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  /** Every object of the router's kinds in the namespace, by kind/name, in the shape compared. */
  async function routerObjects(c: RouterCase): Promise<Record<string, unknown>> {
    const out: Record<string, unknown> = {};
    for (const k of c.kinds) {
      const list = (await sb.custom.listNamespacedCustomObject({ ...k, namespace: ns })) as RouterObjectList;
      for (const item of list.items) out[`${k.plural}/${item.metadata.name}`] = shapeOf(item);
    }
    return out;
  }

  /**
   * Watches the router's kinds from now on; `writes` lists each change of an
   * object's shape (a create, a delete, or an update of its spec or
   * annotations), by kind/name; updates that change neither are not writes
   * of traffic.
   */
  async function watchWrites(c: RouterCase): Promise<{ writes: string[]; stop(): void }> {
    const writes: string[] = [];
    const requests: AbortController[] = [];
    for (const k of c.kinds) {
      const list = (await sb.custom.listNamespacedCustomObject({ ...k, namespace: ns })) as RouterObjectList & { metadata: { resourceVersion: string } };
      const last = new Map(list.items.map((o) => [o.metadata.name, JSON.stringify(shapeOf(o))]));
      requests.push(
        await new Watch(sb.kc).watch(
          `/apis/${k.group}/${k.version}/namespaces/${ns}/${k.plural}`,
          { resourceVersion: list.metadata.resourceVersion },
          (type: string, obj: RouterObjectList['items'][number]) => {
            const shape = JSON.stringify(shapeOf(obj));
            if (type === 'MODIFIED' && last.get(obj.metadata.name) === shape) return;
            last.set(obj.metadata.name, shape);
            writes.push(`${type} ${k.plural}/${obj.metadata.name}`);
          },
          () => undefined,
        ),
      );
    }
    return { writes, stop: () => { for (const r of requests) r.abort(); } };
  }

  /** Requests the demo pods of `app` counted, by pod-template hash. */
  async function hashCounts(app: string): Promise<Record<string, number>> {
    const samples = await sb.promQuery(`sum by (rollouts_pod_template_hash) (http_requests_total{namespace="${ns}",app="${app}"})`);
    return Object.fromEntries(samples.map((s) => [s.metric.rollouts_pod_template_hash ?? '', s.value]));
  }

  /** Waits until Prometheus has scraped every ready pod of `app` after `since` (ms), so its counters include everything sent before. */
  async function scrapedAfter(app: string, since: number): Promise<void> {
    await waitFor(
      async () => {
        const pods = (await sb.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${app}` })).items.filter(
          (p) => p.metadata?.deletionTimestamp === undefined && p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true,
        );
        const scraped = new Map((await sb.promQuery(`timestamp(up{namespace="${ns}"})`)).map((s) => [s.metric.pod ?? '', s.value * 1000]));
        return pods.length > 0 && pods.every((p) => (scraped.get(p.metadata?.name ?? '') ?? 0) > since);
      },
      { what: `every ready pod of ${app} scraped after the window`, timeoutMs: 30_000, intervalMs: 500 },
    );
  }

  /**
   * One measurement window: a generator of the test's own sends traffic to
   * `target` (alongside the sandbox's) until its own requests reach `requests`
   * (and, with a mirror, as many copies completed); returns its stats and what
   * the pods counted meanwhile, by hash.
   */
  async function measure(app: string, target: string, opts: { requests: number; copies: number }): Promise<{ own: WindowStats; pods: Record<string, number> }> {
    const start = Date.now();
    await scrapedAfter(app, start);
    const before = await hashCounts(app);
    const generator = startTrafficGenerator({ kubeConfig: sb.kc, namespaces: [ns], logger: createLogger('traffic-test', 'error') });
    let own: WindowStats;
    try {
      // Requests sent before the generator knows every routing object would go by the Service alone: count from its sync on.
      const informers = (): InformerStatus[] => Object.values(generator.stats().informers);
      await waitFor(() => informers().length >= 3 && informers().every((i) => i.synced), { what: "the test's own generator synced", timeoutMs: 30_000, intervalMs: 50 });
      const base = windowStats(generator.stats().targets[`${ns}/${target}`]);
      own = await waitFor(
        () => {
          const s = minus(windowStats(generator.stats().targets[`${ns}/${target}`]), base);
          return s.header.completed + s.plain.completed >= opts.requests && s.mirrored.completed >= opts.copies ? s : undefined;
        },
        { what: `${opts.requests} requests of the test's own generator to ${target}`, timeoutMs: 90_000, intervalMs: 250 },
      );
    } finally {
      await generator.stop();
    }
    const end = Date.now();
    await scrapedAfter(app, end);
    const after = await hashCounts(app);
    const pods = Object.fromEntries(Object.entries(after).map(([hash, n]) => [hash, n - (before[hash] ?? 0)]));
    return { own, pods };
  }

  const share = (counts: Record<string, number>, key: string): number => {
    const total = Object.values(counts).reduce((a, b) => a + b, 0);
    return total === 0 ? Number.NaN : (counts[key] ?? 0) / total;
  };
  const pct = (x: number): string => `${(100 * x).toFixed(1)}%`;

  for (const c of CASES) {
    describe(c.router, () => {
      let w: GitWorkspace;
      let rollout: ExampleRollout;
      let text: string;
      let before: Record<string, unknown>;
      let headerShare = 0;

      it(`applies examples/rollouts/${c.example} (argoproj.io/v1alpha1) from Git and becomes Healthy; its router objects' shape is the one to come back to`, async () => {
        text = (await readFile(new URL(`../examples/rollouts/${c.example}`, import.meta.url), 'utf8')).replace(/sandbox\.weir\.dev\/traffic-rate: "\d+"/, `sandbox.weir.dev/traffic-rate: "${RATE}"`);
        const docs = loadAll(text) as { apiVersion: string; kind: string; metadata: { name: string; annotations?: Record<string, string> } }[];
        const found = docs.find((d) => d.kind === 'Rollout');
        assert.ok(found !== undefined);
        assert.equal(found.apiVersion, 'argoproj.io/v1alpha1', 'the example is an Argo Rollouts manifest');
        rollout = found as unknown as ExampleRollout;
        const stable = docs.find((d) => d.kind === 'Service' && d.metadata.name === rollout.spec.strategy.canary.stableService);
        headerShare = Number(stable?.metadata.annotations?.['sandbox.weir.dev/traffic-header-share'] ?? 0);

        w = await GitWorkspace.create(await createSandboxRepository(sb.state, `${ns}-${rollout.metadata.name}`));
        workspaces.push(w);
        await w.write('app/rollout.yaml', text);
        const v1 = await w.commit('v1');
        await createGitSource(sb, ns, rollout.metadata.name, w.url, { paths: ['app'], interval: '2s' });
        await waitForGitSource(sb, ns, rollout.metadata.name, 'v1 applied', (s) => s.lastAppliedRevision === v1);
        const name = rollout.metadata.name;
        const healthy = await waitForRollout(sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 4, 120_000);
        assert.equal(healthy.status?.git?.stableRevision, v1);
        before = await routerObjects(c);
        assert.ok(Object.keys(before).length > 0, `the router's objects exist (${c.kinds.map((k) => k.plural).join(', ')})`);
      });

      it('a new image runs the steps: at each pause the split follows the weight, the header reaches only the canary, mirrored copies reach it while stable answers', async () => {
        const name = rollout.metadata.name;
        const { stableService, canaryService, steps } = rollout.spec.strategy.canary;
        const pauses = pausesOf(steps);
        assert.ok(pauses.some((p) => p.weight === 20) && pauses.some((p) => p.weight === 50) && pauses.some((p) => p.weight === 100), 'the example pauses at 20, 50 and 100');
        const stableHash = (await getRollout(sb, ns, name)).status?.stableRS ?? '';
        await w.write('app/rollout.yaml', text.replace('weir-demo:v1', 'weir-demo:v2'));
        const v2 = await w.commit('v2');

        for (const p of pauses) {
          const at = await waitForRollout(sb, ns, name, `paused at step ${p.step}`, (s) => s.phase === 'Paused' && s.currentStepIndex === p.step && s.git?.currentRevision === v2, 120_000);
          const canaryHash = at.status?.currentPodHash ?? '';
          assert.notEqual(canaryHash, stableHash);
          const { own, pods } = await measure(name, stableService, { requests: 600, copies: p.mirror ? 300 : 0 });
          const plainCanary = share(own.plain.byBackend, canaryService);
          const h = p.header ? headerShare : 0;
          // Copies per request the mirror route matched: all but the header route's.
          const m = p.mirror ? own.mirrored.completed / (own.plain.completed + (p.header ? 0 : own.header.completed)) : 0;
          // The pods' share of the canary: the header route's requests, the rest by weight, and the copies.
          const expected = (h + (1 - h) * (p.weight / 100 + m)) / (h + (1 - h) * (1 + m));
          const measured = share(pods, canaryHash);
          process.stdout.write(
            `# ${c.router} step ${p.step} (weight ${p.weight}${p.header ? ', header' : ''}${p.mirror ? ', mirror' : ''}): pods counted canary ${pct(measured)} (expected ${pct(expected)}); own generator: plain canary ${pct(plainCanary)}, header ${JSON.stringify(own.header.byBackend)}, copies ${JSON.stringify(own.mirrored.byBackend)}\n`,
          );
          assert.ok(Math.abs(measured - expected) <= PROMETHEUS_TOLERANCE, `the pods counted ${pct(measured)} on the canary, expected ${pct(expected)} ± ${pct(PROMETHEUS_TOLERANCE)}`);
          assert.ok(Math.abs(plainCanary - p.weight / 100) <= GENERATOR_TOLERANCE, `requests without the header follow the weight ${p.weight}: ${pct(plainCanary)}`);
          if (p.weight === 0) assert.deepEqual(Object.keys(own.plain.byBackend), [stableService], 'at weight 0 stable answers every request');
          if (p.mirror) {
            assert.deepEqual(Object.keys(own.mirrored.byBackend), [canaryService], 'the canary receives the copies');
            assert.ok(m >= 0.9, `a copy of nearly every mirrored request (percentage 100): ${pct(m)}`);
          } else {
            assert.equal(own.mirrored.sent, 0, 'no copies without a mirror route');
          }
          if (p.header) assert.deepEqual(Object.keys(own.header.byBackend), [canaryService], 'requests with the header reach only the canary');
          else if (headerShare > 0) assert.ok(Math.abs(share(own.header.byBackend, canaryService) - p.weight / 100) <= GENERATOR_TOLERANCE * 2, 'without a header route the header changes nothing');
          await weir(sb, ['promote', name, '-n', ns]);
        }
        const done = await waitForRollout(sb, ns, name, 'Healthy on v2', (s) => s.phase === 'Healthy' && s.git?.stableRevision === v2, 120_000);
        assert.equal(done.status?.stableRS, done.status?.currentPodHash);
        await waitFor(async () => JSON.stringify(await routerObjects(c)) === JSON.stringify(before), { what: `the ${c.router} objects back in their pre-rollout shape`, timeoutMs: 30_000, intervalMs: 250 });
      });

      it('an abort with the most routes in force puts 100% back on stable in one write per object, and the objects in their pre-rollout shape', async () => {
        const name = rollout.metadata.name;
        const { stableService, steps } = rollout.spec.strategy.canary;
        const pauses = pausesOf(steps);
        // The first pause with the most routes in force (both, with a header and a mirror route).
        const inForce = (p: PauseState): number => Number(p.header) + Number(p.mirror);
        const target = pauses.reduce<PauseState | undefined>((best, p) => (best === undefined || inForce(p) > inForce(best) ? p : best), undefined);
        assert.ok(target !== undefined);
        const stableHash = (await getRollout(sb, ns, name)).status?.stableRS ?? '';
        await w.write('app/rollout.yaml', text.replace('weir-demo:v1', 'weir-demo:v3'));
        const v3 = await w.commit('v3');
        for (;;) {
          const at = await waitForRollout(sb, ns, name, 'at a pause of v3', (s) => s.phase === 'Paused' && s.git?.currentRevision === v3 && pauses.some((p) => p.step === s.currentStepIndex), 120_000);
          if (at.status?.currentStepIndex === target.step) break;
          await weir(sb, ['promote', name, '-n', ns]);
          await waitForRollout(sb, ns, name, 'past the pause', (s) => s.currentStepIndex !== at.status?.currentStepIndex);
        }
        assert.notDeepEqual(await routerObjects(c), before, 'the router objects carry the canary');
        const writes = await watchWrites(c);
        try {
          assert.match(await weir(sb, ['abort', name, '-n', ns]), /aborted/);
          // Aborted, and then (the GitSource rejects the aborted commit) back on the last good revision.
          const aborted = await waitForRollout(sb, ns, name, 'aborted', (s) => s.phase === 'Degraded' || (s.phase === 'Healthy' && s.currentPodHash === stableHash));
          assert.equal(aborted.status?.stableRS, stableHash);
          await waitFor(async () => JSON.stringify(await routerObjects(c)) === JSON.stringify(before), { what: `the ${c.router} objects back in their pre-rollout shape`, timeoutMs: 30_000, intervalMs: 250 });
          // Meanwhile (and as an observation window for further writes): all traffic on stable.
          const { own, pods } = await measure(name, stableService, { requests: 400, copies: 0 });
          assert.deepEqual(Object.keys(own.plain.byBackend), [stableService], 'every request reaches stable');
          if (headerShare > 0) assert.deepEqual(Object.keys(own.header.byBackend), [stableService], 'those with the header too');
          assert.equal(own.mirrored.sent, 0, 'no copies');
          assert.ok(share(pods, stableHash) === 1, `the stable pods counted every request: ${JSON.stringify(pods)}`);
        } finally {
          writes.stop();
        }
        const perObject = new Map<string, number>();
        for (const e of writes.writes) {
          const key = e.split(' ')[1] ?? '';
          perObject.set(key, (perObject.get(key) ?? 0) + 1);
        }
        process.stdout.write(`# ${c.router} abort: ${writes.writes.join(', ')}\n`);
        assert.ok(writes.writes.length > 0, 'the abort wrote the router objects');
        for (const [key, n] of perObject) assert.equal(n, 1, `${key} written once on abort (saw ${writes.writes.join(', ')})`);
      });
    });
  }
});
