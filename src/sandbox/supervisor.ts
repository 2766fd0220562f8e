// The sandbox supervisor: one long-running process, leader of a process group
// that every sandbox process belongs to. It starts etcd, kube-apiserver,
// kube-controller-manager, the kubelet stand-in, Prometheus, the Git server
// and the traffic generator, records them in state.json, and stops them all
// on SIGTERM/SIGINT, or when one of the servers dies.
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../cluster/errors.ts';
import { createLogger } from '../util/log.ts';
import { GiveUp, waitFor } from '../util/wait.ts';
import { bootstrapCluster } from './bootstrap.ts';
import { startApiServer, startControllerManager, startEtcd } from './control-plane.ts';
import { startGitServer, type GitServer } from './git-server.ts';
import { startKubelet, type KubeletStandIn } from './kubelet/index.ts';
import { instanceFiles, kubernetesBinDir, repoRoot, sandboxBinary } from './paths.ts';
import { createPki, kubeconfigYaml } from './pki.ts';
import { freePorts } from './ports.ts';
import type { ManagedProcess } from './processes.ts';
import { startPrometheus } from './prometheus.ts';
import { readState, writeState, type SandboxState } from './state.ts';
import { startTrafficGenerator } from './traffic/index.ts';

export const NODE_NAME = 'weir-sandbox';

export async function runSupervisor(name: string, dir: string, podOctet: number): Promise<void> {
  const files = instanceFiles(dir);
  const logger = createLogger('sandbox');
  await mkdir(files.logs, { recursive: true });
  const binDir = kubernetesBinDir();
  const processes: ManagedProcess[] = [];
  let kubelet: KubeletStandIn | undefined;
  let gitServer: GitServer | undefined;
  let traffic: { stop(): Promise<void> } | undefined;
  let stopping = false;

  const previous = await readState(files.state);
  const state: SandboxState = {
    name,
    dir,
    phase: 'starting',
    pid: process.pid,
    startedAt: previous?.startedAt ?? new Date().toISOString(),
    message: 'starting',
    kubeconfig: files.kubeconfig,
    apiServerUrl: '',
    prometheusUrl: '',
    gitUrl: '',
    etcdUrl: '',
    nodeName: NODE_NAME,
    podCidr: `127.${podOctet}.0.0/16`,
    kubectl: join(binDir, 'kubectl'),
    components: [],
  };
  const save = async (patch: Partial<SandboxState>): Promise<void> => {
    Object.assign(state, patch);
    state.components = processes.filter((p) => !p.hasExited()).map((p) => ({ name: p.name, pid: p.pid, match: p.name }));
    await writeState(files.state, state);
  };
  const track = (proc: ManagedProcess): ManagedProcess => {
    processes.push(proc);
    void proc.exited.then((code) => {
      if (stopping) return;
      logger.error({ component: proc.name, code }, 'sandbox component exited; stopping the sandbox');
      void shutdown('failed', `${proc.name} exited unexpectedly (${String(code)}); see ${files.logs}`);
    });
    return proc;
  };

  const shutdown = async (phase: 'stopped' | 'failed', message: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ phase, message }, 'stopping the sandbox');
    await save({ phase: 'stopping', message }).catch(() => undefined);
    const stopPart = async (part: string, stop: () => Promise<void> | undefined): Promise<void> => {
      try {
        await stop();
      } catch (err) {
        logger.warn({ err: String(err) }, `${part} stop failed`);
      }
    };
    await stopPart('traffic generator', () => traffic?.stop());
    await stopPart('git server', () => gitServer?.close());
    await stopPart('kubelet stand-in', () => kubelet?.stop());
    for (const proc of [...processes].reverse()) await proc.stop(10_000);
    await save({ phase, message }).catch(() => undefined);
    process.exit(phase === 'stopped' ? 0 : 1);
  };
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP'] as const) {
    process.on(signal, () => void shutdown('stopped', `stopped by ${signal}`));
  }

  try {
    const [etcdPort = 0, etcdPeerPort = 0, apiPort = 0, promPort = 0, gitPort = 0] = await freePorts(5);
    await save({ message: 'creating certificates' });
    const pki = await createPki(files.pki);

    await save({ message: 'starting etcd' });
    const etcd = await startEtcd({ binary: sandboxBinary('etcd'), dataDir: files.etcdData, clientPort: etcdPort, peerPort: etcdPeerPort, logDir: files.logs });
    track(etcd.proc);

    await save({ etcdUrl: etcd.url, message: 'starting kube-apiserver' });
    const api = await startApiServer({ binDir, etcdUrl: etcd.url, port: apiPort, pki, certDir: files.pki, logDir: files.logs });
    track(api.proc);
    await writeFile(files.kubeconfig, kubeconfigYaml({ server: api.url, caFile: pki.caCert, user: 'weir-sandbox-admin', token: pki.adminToken }), { mode: 0o600 });
    const kcmConfig = join(files.pki, 'kube-controller-manager.kubeconfig');
    await writeFile(kcmConfig, kubeconfigYaml({ server: api.url, caFile: pki.caCert, user: 'kube-controller-manager', token: pki.controllerManagerToken }), { mode: 0o600 });
    const kc = new KubeConfig();
    kc.loadFromFile(files.kubeconfig);
    await save({ apiServerUrl: api.url, message: 'installing CRDs' });
    await bootstrapCluster(kc);

    await save({ message: 'starting kube-controller-manager' });
    const kcm = track(startControllerManager({ binDir, kubeconfig: kcmConfig, pki, logDir: files.logs }));
    const core = kc.makeApiClient(CoreV1Api);
    // The ServiceAccount admission plugin admits a pod only once its
    // namespace's default ServiceAccount exists (its token is then projected
    // through the TokenRequest API, which the API server signs itself).
    await waitFor(
      async () => {
        if (kcm.hasExited()) throw new GiveUp(`kube-controller-manager exited; see ${files.logs}`);
        return core.readNamespacedServiceAccount({ name: 'default', namespace: 'default' }).then(
          () => true,
          () => false,
        );
      },
      { what: 'the default ServiceAccount (kube-controller-manager)', timeoutMs: 90_000, intervalMs: 300 },
    );

    await save({ message: 'starting the kubelet stand-in' });
    kubelet = await startKubelet({
      kubeConfig: kc,
      nodeName: NODE_NAME,
      podOctet,
      demoAppEntry: join(repoRoot, 'examples', 'demo-app', 'server.ts'),
      nodeBinary: process.execPath,
      logDir: files.logs,
      logger: logger.child({ part: 'kubelet' }),
    });
    await waitFor(
      async () => {
        const node = await core.readNode({ name: NODE_NAME });
        return node.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True');
      },
      { what: `node ${NODE_NAME} Ready`, timeoutMs: 30_000 },
    );

    await save({ message: 'starting Prometheus' });
    const prometheus = await startPrometheus({
      binary: sandboxBinary('prometheus'),
      port: promPort,
      dataDir: files.prometheusData,
      configFile: files.prometheusConfig,
      apiServerUrl: api.url,
      caFile: pki.caCert,
      tokenFile: pki.prometheusTokenFile,
      logDir: files.logs,
    });
    track(prometheus.proc);

    await save({ prometheusUrl: prometheus.url, message: 'starting the Git server' });
    gitServer = await startGitServer({ root: files.gitRoot, port: gitPort });

    traffic = startTrafficGenerator({ kubeConfig: kc, logger: logger.child({ part: 'traffic' }) });
    await save({ gitUrl: gitServer.url, phase: 'ready', message: 'ready' });
    logger.info({ kubeconfig: files.kubeconfig, prometheus: prometheus.url, git: gitServer.url }, 'sandbox ready');
  } catch (err) {
    const message = describeKubeError(err);
    logger.error({ err: message }, 'sandbox start-up failed');
    await shutdown('failed', message);
  }
}
