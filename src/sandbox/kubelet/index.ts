// The kubelet stand-in (KWOK-style): registers a Node, binds unscheduled
// pods to it (it is also the scheduler), runs them through PodRunner,
// reports their status, and completes their deletion.
import {
  CoreV1Api,
  PatchStrategy,
  makeInformer,
  setHeaderOptions,
  type KubeConfig,
  type V1Pod,
} from '@kubernetes/client-node';
import { describeKubeError, kubeErrorCode } from '../../cluster/errors.ts';
import type { Logger } from '../../util/log.ts';
import { sleep } from '../../util/wait.ts';
import type { EnvSources } from './env.ts';
import { heartbeat, registerNode } from './node.ts';
import { PodIpAllocator } from './ip-allocator.ts';
import { PodRunner } from './pod-runner.ts';
import { buildPodStatus } from './pod-status.ts';

export { PodIpAllocator } from './ip-allocator.ts';
export { DEMO_IMAGE_NAME, isDemoImage } from './images.ts';

const mergePatch = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
const HEARTBEAT_MS = 10_000;
const MAX_GRACE_MS = 30_000;

export interface KubeletOptions {
  kubeConfig: KubeConfig;
  nodeName: string;
  /** Pods get 127.<podOctet>.x.y. */
  podOctet: number;
  demoAppEntry: string;
  nodeBinary: string;
  logDir: string;
  logger: Logger;
}

export interface KubeletStandIn {
  /** The pids of the pod processes currently running. */
  pids(): number[];
  stop(): Promise<void>;
}

function key(pod: V1Pod): string {
  return `${pod.metadata?.namespace ?? ''}/${pod.metadata?.name ?? ''}`;
}

function decodeSecret(data: Record<string, string> | undefined): Record<string, string> {
  return Object.fromEntries(Object.entries(data ?? {}).map(([k, v]) => [k, Buffer.from(v, 'base64').toString('utf8')]));
}

export async function startKubelet(opts: KubeletOptions): Promise<KubeletStandIn> {
  const { nodeName, logger } = opts;
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const ips = new PodIpAllocator(opts.podOctet);
  const since = await registerNode(core, nodeName, ips.cidr);
  let stopped = false;
  const stopping = new AbortController();

  const heartbeatLoop = (async () => {
    for (;;) {
      try {
        await sleep(HEARTBEAT_MS, stopping.signal);
      } catch {
        break; // stopping
      }
      await heartbeat(core, nodeName, since).catch((err: unknown) => {
        logger.warn({ err: describeKubeError(err) }, 'node heartbeat failed');
      });
    }
  })();

  const envSources: EnvSources = {
    async configMap(namespace, name) {
      try {
        return (await core.readNamespacedConfigMap({ namespace, name })).data ?? {};
      } catch (err) {
        if (kubeErrorCode(err) === 404) return undefined;
        throw err;
      }
    },
    async secret(namespace, name) {
      try {
        return decodeSecret((await core.readNamespacedSecret({ namespace, name })).data);
      } catch (err) {
        if (kubeErrorCode(err) === 404) return undefined;
        throw err;
      }
    },
  };

  interface Entry {
    uid: string;
    runner: PodRunner;
    /** Serialises status writes; `dirty` coalesces bursts into one write. */
    writing: Promise<void>;
    dirty: boolean;
    /** Set once termination starts; later callers wait for the same one. */
    terminated: Promise<void> | undefined;
  }
  const pods = new Map<string, Entry>();
  const binding = new Set<string>();

  const writeStatus = (podKey: string, entry: Entry): void => {
    if (entry.dirty || stopped) return;
    entry.dirty = true;
    entry.writing = entry.writing.then(async () => {
      entry.dirty = false;
      if (stopped || entry.terminated) return;
      const [namespace = '', name = ''] = podKey.split('/');
      const status = buildPodStatus({
        podIp: entry.runner.podIp,
        hostIp: '127.0.0.1',
        startTime: entry.runner.startTime,
        readySince: entry.runner.readySince,
        containers: entry.runner.records(),
      });
      try {
        await core.patchNamespacedPodStatus({ namespace, name, body: { status } }, mergePatch);
      } catch (err) {
        if (kubeErrorCode(err) === 404) return;
        logger.warn({ pod: podKey, err: describeKubeError(err) }, 'pod status update failed; retrying');
        await sleep(1000);
        writeStatus(podKey, entry);
      }
    });
  };

  const bind = async (pod: V1Pod): Promise<void> => {
    const podKey = key(pod);
    if (binding.has(podKey)) return;
    binding.add(podKey);
    try {
      await core.createNamespacedPodBinding({
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        body: {
          apiVersion: 'v1',
          kind: 'Binding',
          metadata: { name: pod.metadata?.name ?? '', ...(pod.metadata?.uid ? { uid: pod.metadata.uid } : {}) },
          target: { apiVersion: 'v1', kind: 'Node', name: nodeName },
        },
      });
    } catch (err) {
      const code = kubeErrorCode(err);
      if (code !== 409 && code !== 404) logger.warn({ pod: podKey, err: describeKubeError(err) }, 'binding failed');
    } finally {
      binding.delete(podKey);
    }
  };

  const startPod = (pod: V1Pod): void => {
    const podKey = key(pod);
    const previous = pod.status?.podIP;
    const ip = previous !== undefined && ips.reserve(previous) ? previous : ips.allocate();
    const entry: Entry = {
      uid: pod.metadata?.uid ?? '',
      // onChange runs only after start(), when `entry` is initialised.
      runner: new PodRunner(pod, ip, {
        demoAppEntry: opts.demoAppEntry,
        nodeBinary: opts.nodeBinary,
        logDir: opts.logDir,
        envSources,
        logger: logger.child({ pod: podKey }),
        onChange: () => {
          writeStatus(podKey, entry);
        },
      }),
      writing: Promise.resolve(),
      dirty: false,
      terminated: undefined,
    };
    pods.set(podKey, entry);
    logger.info({ pod: podKey, ip }, 'starting pod');
    entry.runner.start();
    writeStatus(podKey, entry);
  };

  const terminate = (podKey: string, entry: Entry, graceMs: number): Promise<void> => {
    entry.terminated ??= entry.runner.stop(graceMs).then(() => {
      ips.release(entry.runner.podIp);
      if (pods.get(podKey) === entry) pods.delete(podKey);
    });
    return entry.terminated;
  };

  const finishDeletion = async (pod: V1Pod): Promise<void> => {
    const podKey = key(pod);
    const entry = pods.get(podKey);
    const graceMs = Math.min(MAX_GRACE_MS, (pod.metadata?.deletionGracePeriodSeconds ?? 30) * 1000);
    if (entry) await terminate(podKey, entry, graceMs);
    try {
      await core.deleteNamespacedPod({
        name: pod.metadata?.name ?? '',
        namespace: pod.metadata?.namespace ?? '',
        // With a body, the API server reads every option from it, not the query.
        body: { gracePeriodSeconds: 0, preconditions: { uid: pod.metadata?.uid ?? '' } },
      });
    } catch (err) {
      const code = kubeErrorCode(err);
      if (code !== 404 && code !== 409) logger.warn({ pod: podKey, err: describeKubeError(err) }, 'final pod deletion failed');
    }
  };

  const onPod = (pod: V1Pod): void => {
    if (stopped) return;
    const podKey = key(pod);
    const nodeOfPod = pod.spec?.nodeName;
    if (!nodeOfPod) {
      const scheduler = pod.spec?.schedulerName ?? 'default-scheduler';
      if (scheduler === 'default-scheduler' && !pod.metadata?.deletionTimestamp) void bind(pod);
      return;
    }
    if (nodeOfPod !== nodeName) return;
    const entry = pods.get(podKey);
    if (entry && entry.uid !== pod.metadata?.uid) {
      // A new pod with the same name: the old one is gone.
      void terminate(podKey, entry, 0);
    }
    if (pod.metadata?.deletionTimestamp) {
      void finishDeletion(pod);
      return;
    }
    const phase = pod.status?.phase;
    if (!pods.has(podKey) && phase !== 'Succeeded' && phase !== 'Failed') startPod(pod);
  };

  const onPodDeleted = (pod: V1Pod): void => {
    const podKey = key(pod);
    const entry = pods.get(podKey);
    if (entry && entry.uid === pod.metadata?.uid) void terminate(podKey, entry, 0);
  };

  const informer = makeInformer<V1Pod>(opts.kubeConfig, '/api/v1/pods', () => core.listPodForAllNamespaces());
  informer.on('add', onPod);
  informer.on('update', onPod);
  informer.on('delete', onPodDeleted);
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    logger.warn({ err: describeKubeError(err) }, 'pod watch failed; restarting');
    setTimeout(() => {
      if (!stopped) {
        informer.start().catch((e: unknown) => {
          logger.error({ err: describeKubeError(e) }, 'pod watch restart failed');
        });
      }
    }, 1000);
  });
  await informer.start();
  logger.info({ node: nodeName, podCidr: ips.cidr }, 'kubelet stand-in ready');

  return {
    pids: () => [...pods.values()].flatMap((e) => e.runner.pids()),
    async stop() {
      stopped = true;
      stopping.abort();
      await informer.stop();
      await Promise.all([...pods.entries()].map(([podKey, entry]) => terminate(podKey, entry, 5_000)));
      await heartbeatLoop;
    },
  };
}
