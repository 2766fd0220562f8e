// The informer's periodic resync against the real API server, every request
// seen by a recording proxy: with a 2 s period it lists about once per period
// and opens one watch after each list, rather than restarting its watch over
// and over (issue 17: the client library reported our own stop as an error,
// which restarted the watch 500 ms later, for ever, and never re-listed). The
// cache stays complete and the watch keeps delivering events meanwhile.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CoreV1Api, KubeConfig, type V1ConfigMap } from '@kubernetes/client-node';
import { ResilientInformer } from '../src/cluster/informer.ts';
import { createLogger } from '../src/util/log.ts';
import { GiveUp, waitFor } from '../src/util/wait.ts';
import { namespace } from './support/demo-app.ts';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const RESYNC_MS = 2000;
const PERIODS = 5;
/** Only ours (not the namespace's kube-root-ca.crt). */
const LABEL = 'weir.dev/resync-test';

describe('informer resync', () => {
  let sb: TestSandbox;
  let proxy: RecordingProxy;
  let informer: ResilientInformer<V1ConfigMap> | undefined;
  const ns = uniqueName('resync');

  before(async () => {
    sb = await testSandbox();
    await sb.core.createNamespace({ body: namespace(ns) });
    await sb.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'first', labels: { [LABEL]: 'yes' } }, data: { a: '1' } } });
    proxy = await startRecordingProxy(sb, { name: ns });
  });
  after(async () => {
    await informer?.stop();
    await proxy.close();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it(`re-lists about once per ${RESYNC_MS} ms and opens one watch per list, with no restarts`, async () => {
    const kc = new KubeConfig();
    kc.loadFromFile(proxy.kubeconfig);
    const core = kc.makeApiClient(CoreV1Api);
    const path = `/api/v1/namespaces/${ns}/configmaps`;
    const watched = informer = new ResilientInformer<V1ConfigMap>({
      kubeConfig: kc,
      logger: createLogger('informer-resync-test'),
      name: 'configmaps',
      path,
      labelSelector: LABEL,
      list: () => core.listNamespacedConfigMap({ namespace: ns, labelSelector: LABEL }),
      resyncMs: RESYNC_MS,
    });
    const added: string[] = [];
    watched.on('add', (cm) => added.push(cm.metadata?.name ?? ''));
    const ours = (): { lists: number; watches: number } => {
      const mine = proxy.requests.filter((r) => r.method === 'GET' && r.path.startsWith(path));
      const watches = mine.filter((r) => new URL(r.path, 'http://x').searchParams.get('watch') === 'true').length;
      return { lists: mine.length - watches, watches };
    };
    const startedAt = Date.now();
    await watched.start();
    assert.equal(watched.synced, true);
    assert.deepEqual(added, ['first']);

    // Wait for PERIODS re-lists after the first list; dozens of watch requests meanwhile is the bug.
    const seen = await waitFor(
      () => {
        const counts = ours();
        if (counts.watches > 3 * (PERIODS + 2)) throw new GiveUp(`${counts.watches} watch requests and ${counts.lists} lists in ${Date.now() - startedAt} ms: the watch restarts in a loop`);
        // The informer counts a list once its answer is in: wait until its count agrees with what the wire saw.
        return counts.lists >= PERIODS + 1 && watched.lists === counts.lists ? counts : undefined;
      },
      { what: `${PERIODS} re-lists`, timeoutMs: (PERIODS + 4) * RESYNC_MS, intervalMs: 50 },
    );
    const elapsed = Date.now() - startedAt;
    const periods = elapsed / RESYNC_MS;
    // No faster than the period, and one watch opened after each list (a quiet watch may also be re-opened once after its client-side timeout).
    assert.ok(seen.lists <= Math.floor(periods) + 1, `${seen.lists} lists in ${elapsed} ms`);
    assert.ok(elapsed <= (PERIODS + 1.5) * RESYNC_MS, `${seen.lists} lists took ${elapsed} ms: a re-list waits for something`);
    assert.ok(seen.watches <= seen.lists + 1, `${seen.watches} watch requests for ${seen.lists} lists in ${elapsed} ms`);
    assert.ok(seen.watches >= seen.lists - 1, `${seen.watches} watch requests for ${seen.lists} lists in ${elapsed} ms`);
    assert.equal(watched.restarts, 0, 'no restart: a re-list is not a failure');
    // The re-lists announced nothing new (nothing changed), and the cache is whole.
    assert.deepEqual(added, ['first']);
    assert.deepEqual(watched.list(ns).map((cm) => cm.metadata?.name), ['first']);

    // The watch opened after the last list delivers.
    await sb.core.createNamespacedConfigMap({ namespace: ns, body: { metadata: { name: 'second', labels: { [LABEL]: 'yes' } }, data: { b: '2' } } });
    await waitFor(() => added.includes('second'), { what: 'the add of "second" through the watch', timeoutMs: RESYNC_MS * 3, intervalMs: 50 });
    assert.equal(watched.get('second', ns)?.data?.b, '2');
    console.log(`informer resync: ${seen.lists} lists and ${seen.watches} watch requests in ${elapsed} ms (period ${RESYNC_MS} ms)`);
  });
});
