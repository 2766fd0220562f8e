// The controller kit and its informers against the sandbox's API server, each
// request seen by a recording proxy, each test in a namespace of its own:
// a controller reconciles once its informers hold a first list, maps the
// events of the kinds it watches to keys, and requeues a key at the time its
// reconcile returns; two controllers on one InformerCache list and watch each
// kind once; an informer's late handlers and filtered views read its cache,
// and its stop ends its requests for good. (The periodic re-list is
// test/informer-resync.test.ts.)
import assert from 'node:assert/strict';
import { before, describe, it, type TestContext } from 'node:test';
import { CoreV1Api, KubeConfig, type V1ConfigMap, type V1Secret } from '@kubernetes/client-node';
import { InformerCache, type Kind } from '../src/cluster/informer-cache.ts';
import { ResilientInformer, filteredCache, type InformerEvent } from '../src/cluster/informer.ts';
import { Controller, controllerOwnerKey, objectKey, watches, type Keys } from '../src/controller/kit/index.ts';
import { createLogger } from '../src/util/log.ts';
import { sleep, waitFor } from '../src/util/wait.ts';
import { namespace } from './support/demo-app.ts';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

/** Only ours (not the namespace's kube-root-ca.crt). */
const LABEL = 'weir.dev/kit-test';
const labels = { [LABEL]: 'yes' };

const CONFIG_MAPS: Kind<V1ConfigMap> = {
  plural: 'configmaps',
  apiPath: '/api/v1',
  labelSelector: LABEL,
  lister(kc, ns) {
    const core = kc.makeApiClient(CoreV1Api);
    return () => (ns !== undefined ? core.listNamespacedConfigMap({ namespace: ns, labelSelector: LABEL }) : core.listConfigMapForAllNamespaces({ labelSelector: LABEL }));
  },
};
const SECRETS: Kind<V1Secret> = {
  plural: 'secrets',
  apiPath: '/api/v1',
  labelSelector: LABEL,
  lister(kc, ns) {
    const core = kc.makeApiClient(CoreV1Api);
    return () => (ns !== undefined ? core.listNamespacedSecret({ namespace: ns, labelSelector: LABEL }) : core.listSecretForAllNamespaces({ labelSelector: LABEL }));
  },
};
const ownerOf = controllerOwnerKey('ConfigMap', 'v1');

const logger = createLogger('controller-kit-test', process.env.WEIR_LOG_LEVEL ?? 'warn');

interface Scope {
  ns: string;
  proxy: RecordingProxy;
  /** Reaches the API server through the proxy. */
  kc: KubeConfig;
  /** GET requests to `plural` in the namespace: lists and watches. */
  requests(plural: string): { lists: number; watches: number };
  /** Runs `fn` after the test, before what was deferred earlier (and before the proxy closes and the namespace goes). */
  defer(fn: () => Promise<unknown>): void;
}

describe('controller kit on the API server', () => {
  let sb: TestSandbox;

  before(async () => {
    sb = await testSandbox();
  });

  /** A namespace and a recording proxy for this test, both gone after it. */
  async function scope(t: TestContext, prefix: string): Promise<Scope> {
    const ns = uniqueName(prefix);
    await sb.core.createNamespace({ body: namespace(ns) });
    const proxy = await startRecordingProxy(sb, { name: ns });
    const deferred: (() => Promise<unknown>)[] = [];
    t.after(async () => {
      for (const fn of deferred.reverse()) await fn();
      await proxy.close();
      await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
    });
    const kc = new KubeConfig();
    kc.loadFromFile(proxy.kubeconfig);
    return {
      ns,
      proxy,
      kc,
      requests(plural) {
        const path = `/api/v1/namespaces/${ns}/${plural}`;
        const mine = proxy.requests.filter((r) => r.method === 'GET' && new URL(r.path, 'http://proxy').pathname === path);
        const watchCount = mine.filter((r) => new URL(r.path, 'http://proxy').searchParams.get('watch') === 'true').length;
        return { lists: mine.length - watchCount, watches: watchCount };
      },
      defer(fn) {
        deferred.push(fn);
      },
    };
  }

  /** An InformerCache of the namespace through the proxy, and the controllers declared on it; all stopped after the test (before the proxy closes). */
  function kitOf(s: Scope): { cache: InformerCache; declare(name: string, reconcile: (key: string) => Promise<number | undefined>, trace?: string[]): Controller } {
    const cache = new InformerCache({ kubeConfig: s.kc, logger, namespace: s.ns, resyncMs: 0 });
    const controllers: Controller[] = [];
    s.defer(async () => {
      await Promise.all(controllers.map((c) => c.stop()));
      await cache.stop();
    });
    return {
      cache,
      declare(name, reconcile, trace = []) {
        const note =
          (plural: string, toKeys: (obj: V1ConfigMap | V1Secret) => Keys) =>
          (obj: V1ConfigMap | V1Secret, event: InformerEvent): Keys => {
            const keys = toKeys(obj);
            const shown = keys === undefined ? '-' : typeof keys === 'string' ? keys : [...keys].join(',');
            trace.push(`${plural} ${event} ${obj.metadata?.name ?? ''} -> ${shown}`);
            return keys;
          };
        const c = new Controller(cache, {
          name,
          kind: CONFIG_MAPS,
          watches: [watches(CONFIG_MAPS, note('configmaps', objectKey), { events: ['add', 'update'] }), watches(SECRETS, note('secrets', ownerOf))],
          backoff: { baseDelayMs: 50, maxDelayMs: 500 },
          workers: 2,
          reconcile,
          onFailure: (key, err) => {
            logger.error({ key, err: String(err) }, 'reconcile failed');
          },
          logger,
        });
        controllers.push(c);
        return c;
      },
    };
  }

  const configMap = (name: string, data: Record<string, string> = { name }, extraLabels: Record<string, string> = {}): V1ConfigMap => ({
    metadata: { name, labels: { ...labels, ...extraLabels } },
    data,
  });

  it('reconciles once its informers are synced, maps events of watched kinds to keys, and requeues at the time reconcile returns', async (t) => {
    const s = await scope(t, 'kit-reconcile');
    const { ns } = s;
    const core = sb.core;
    const w1 = await core.createNamespacedConfigMap({ namespace: ns, body: configMap('w1') });
    const ownedBy = (owner: V1ConfigMap, name: string): V1Secret => ({
      metadata: { name, labels, ownerReferences: [{ apiVersion: 'v1', kind: 'ConfigMap', name: owner.metadata?.name ?? '', uid: owner.metadata?.uid ?? '', controller: true }] },
      stringData: { owned: 'yes' },
    });
    await core.createNamespacedSecret({ namespace: ns, body: ownedBy(w1, 'p1') });

    const kit = kitOf(s);
    /** What the watches mapped and what was reconciled, in order. */
    const trace: string[] = [];
    const reconciles: { key: string; at: number; synced: boolean }[] = [];
    const REQUEUE_MS = 1500;
    let requeueAt: number | undefined;
    const c = kit.declare(
      'kit',
      (key) => {
        const at = Date.now();
        reconciles.push({ key, at, synced: kit.cache.synced(CONFIG_MAPS) && kit.cache.synced(SECRETS) });
        trace.push(`reconcile ${key}`);
        if (key === `${ns}/w2` && requeueAt === undefined) {
          requeueAt = at + REQUEUE_MS;
          return Promise.resolve(requeueAt);
        }
        return Promise.resolve(undefined);
      },
      trace,
    );
    /** Waits for a reconcile of `key` after the trace's entry `mapped` (an event mapped to it). */
    const reconciledAfter = (mapped: string, key: string, what: string): Promise<true> =>
      waitFor(
        () => {
          const i = trace.indexOf(mapped);
          return i >= 0 && trace.indexOf(`reconcile ${key}`, i + 1) > i;
        },
        { what, timeoutMs: 10_000, intervalMs: 20 },
      );

    assert.equal(c.ready, false);
    await c.start();
    assert.equal(c.ready, true, 'ready once started: every informer it waits for holds a first list');
    assert.equal(s.requests('configmaps').lists, 1);
    assert.equal(s.requests('secrets').lists, 1);

    // What the first lists held, as adds: w1 itself, and p1 mapped to its owner w1.
    await waitFor(() => reconciles.some((r) => r.key === `${ns}/w1`), { what: 'the reconcile of w1', timeoutMs: 10_000, intervalMs: 20 });
    await waitFor(() => trace.includes(`secrets add p1 -> ${ns}/w1`), { what: 'p1 mapped to its owner', timeoutMs: 10_000, intervalMs: 20 });
    assert.ok(trace.includes(`configmaps add w1 -> ${ns}/w1`), trace.join('\n'));

    // Events through the watches: a create and an update of the reconciled kind.
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap('w2') });
    await reconciledAfter(`configmaps add w2 -> ${ns}/w2`, `${ns}/w2`, 'the reconcile of w2 after its add');
    await core.replaceNamespacedConfigMap({ name: 'w1', namespace: ns, body: configMap('w1', { changed: 'yes' }) });
    await reconciledAfter(`configmaps update w1 -> ${ns}/w1`, `${ns}/w1`, 'the reconcile of w1 after its update');

    // The watched kind's create and delete map to the owner's key.
    const w9 = await core.createNamespacedConfigMap({ namespace: ns, body: configMap('w9') });
    await reconciledAfter(`configmaps add w9 -> ${ns}/w9`, `${ns}/w9`, 'the reconcile of w9 after its add');
    await core.createNamespacedSecret({ namespace: ns, body: ownedBy(w9, 'p2') });
    await reconciledAfter(`secrets add p2 -> ${ns}/w9`, `${ns}/w9`, 'the reconcile of w9 after the add of p2');
    await core.deleteNamespacedSecret({ name: 'p2', namespace: ns });
    await reconciledAfter(`secrets delete p2 -> ${ns}/w9`, `${ns}/w9`, 'the reconcile of w9 after the delete of p2');

    // The requeue w2's first reconcile asked for, at that time (nothing else touched w2).
    const w2 = await waitFor(() => {
      const all = reconciles.filter((r) => r.key === `${ns}/w2`);
      return all.length >= 2 ? all : undefined;
    }, { what: 'w2 requeued', timeoutMs: REQUEUE_MS + 10_000, intervalMs: 20 });
    assert.equal(w2.length, 2);
    const [first, second] = w2 as [(typeof w2)[number], (typeof w2)[number]];
    const late = second.at - (requeueAt ?? 0);
    assert.ok(late >= 0, `requeued ${-late} ms before the time its reconcile returned`);
    assert.ok(late < 1000, `requeued ${late} ms after the time its reconcile returned`);

    // The configmaps watch asked for add and update only: a delete maps nothing (the watch delivers in order, so w3's add comes after it).
    await core.deleteNamespacedConfigMap({ name: 'w2', namespace: ns });
    await core.createNamespacedConfigMap({ namespace: ns, body: configMap('w3') });
    await reconciledAfter(`configmaps add w3 -> ${ns}/w3`, `${ns}/w3`, 'the reconcile of w3 after its add');
    assert.ok(!trace.some((e) => e.startsWith('configmaps delete')), trace.join('\n'));

    c.enqueue(`${ns}/by-hand`);
    await waitFor(() => reconciles.some((r) => r.key === `${ns}/by-hand`), { what: 'an enqueued key', timeoutMs: 5000, intervalMs: 20 });

    assert.ok(reconciles.every((r) => r.synced), 'every reconcile came after both informers were synced');
    assert.equal(s.requests('configmaps').lists, 1, 'no re-list (resync off)');
    console.log(`controller kit: ${reconciles.length} reconciles; w2 reconciled at +0 and requeued at +${second.at - first.at} ms (asked +${REQUEUE_MS}, ${late} ms late); requests ${JSON.stringify({ configmaps: s.requests('configmaps'), secrets: s.requests('secrets') })}`);
  });

  it('controllers declared on one cache share its informers: one list and one watch per kind', async (t) => {
    const s = await scope(t, 'kit-shared');
    const { ns } = s;
    const kit = kitOf(s);
    const a: string[] = [];
    const b: string[] = [];
    const first = kit.declare('first', (key) => Promise.resolve(void a.push(key)));
    const second = kit.declare('second', (key) => Promise.resolve(void b.push(key)));
    await Promise.all([first.start(), second.start()]);
    assert.ok(first.ready && second.ready);
    await waitFor(() => s.requests('configmaps').watches >= 1 && s.requests('secrets').watches >= 1, { what: 'a watch of each kind', timeoutMs: 10_000, intervalMs: 20 });

    await sb.core.createNamespacedConfigMap({ namespace: ns, body: configMap('w') });
    await waitFor(() => a.includes(`${ns}/w`) && b.includes(`${ns}/w`), { what: 'both controllers to reconcile w', timeoutMs: 10_000, intervalMs: 20 });
    const counts = { configmaps: s.requests('configmaps'), secrets: s.requests('secrets') };
    console.log(`controller kit, two controllers: ${JSON.stringify(counts)}`);
    assert.deepEqual(counts, { configmaps: { lists: 1, watches: 1 }, secrets: { lists: 1, watches: 1 } });
    assert.deepEqual(kit.cache.watched(), [`/api/v1/namespaces/${ns}/configmaps`, `/api/v1/namespaces/${ns}/secrets`]);
  });

  it('an informer: late handlers hear of its cache, filtered views read it, and stop ends its requests without a restart', async (t) => {
    const s = await scope(t, 'kit-stop');
    const { ns } = s;
    await sb.core.createNamespacedConfigMap({ namespace: ns, body: configMap('managed', { a: '1' }, { owner: 'git' }) });
    await sb.core.createNamespacedConfigMap({ namespace: ns, body: configMap('other') });
    const core = s.kc.makeApiClient(CoreV1Api);
    const informer = new ResilientInformer<V1ConfigMap>({
      kubeConfig: s.kc,
      logger,
      name: 'configmaps',
      path: `/api/v1/namespaces/${ns}/configmaps`,
      labelSelector: LABEL,
      list: () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: LABEL }),
      resyncMs: 0,
    });
    s.defer(() => informer.stop());
    const added: string[] = [];
    informer.on('add', (cm) => added.push(cm.metadata?.name ?? ''));
    await informer.start();
    assert.equal(informer.synced, true);
    assert.deepEqual([...added].sort(), ['managed', 'other']);

    const managed = filteredCache(informer, (cm) => cm.metadata?.labels?.owner !== undefined);
    assert.deepEqual(managed.list(ns).map((cm) => cm.metadata?.name), ['managed']);
    assert.equal(managed.get('other', ns), undefined);
    assert.equal(managed.get('managed', ns)?.data?.a, '1');
    assert.equal(managed.synced, true);

    await sb.core.createNamespacedConfigMap({ namespace: ns, body: configMap('x') });
    await waitFor(() => added.includes('x'), { what: 'the add of x through the watch', timeoutMs: 10_000, intervalMs: 20 });
    const late: string[] = [];
    informer.on('add', (cm) => late.push(cm.metadata?.name ?? ''));
    assert.deepEqual(late.sort(), ['managed', 'other', 'x'], 'a handler added late hears of the cache as adds');

    await waitFor(() => s.requests('configmaps').watches >= 1, { what: 'the watch request', timeoutMs: 10_000, intervalMs: 20 });
    await informer.stop();
    const before = s.proxy.requests.length;
    const stoppedAt = Date.now();
    // A restart would come 500 ms after a reported failure, a re-watch at once: a window well past both.
    const WINDOW_MS = 1500;
    await sleep(WINDOW_MS);
    const after = s.proxy.requests.slice(before);
    assert.deepEqual(after, [], `requests within ${Date.now() - stoppedAt} ms of the stop`);
    assert.equal(informer.restarts, 0);
    assert.equal(informer.lists, 1);
    console.log(`controller kit, informer stop: ${JSON.stringify(s.requests('configmaps'))} before the stop, ${after.length} requests in the ${WINDOW_MS} ms after it`);
  });
});
