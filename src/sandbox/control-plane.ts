// etcd, kube-apiserver and kube-controller-manager as real processes on loopback.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GiveUp, waitFor } from '../util/wait.ts';
import { httpGet } from './http-probe.ts';
import type { SandboxPki } from './pki.ts';
import { spawnManaged, type ManagedProcess } from './processes.ts';

/** Service ClusterIPs are bookkeeping only: nothing in the sandbox connects to them. */
export const SERVICE_CLUSTER_IP_RANGE = '10.96.0.0/16';

function exitedEarly(proc: ManagedProcess, logFile: string): () => Promise<never> {
  return async () => {
    const log = await readFile(logFile, 'utf8').catch(() => '');
    throw new GiveUp(`${proc.name} exited during start-up; last log lines:\n${log.split('\n').slice(-15).join('\n')}`);
  };
}

/** Waits for `probe`, failing at once (with the log tail) if the process dies first. */
async function waitReady(proc: ManagedProcess, logFile: string, what: string, timeoutMs: number, probe: () => Promise<boolean>): Promise<void> {
  await waitFor(
    async () => {
      if (proc.hasExited()) return exitedEarly(proc, logFile)();
      return probe();
    },
    { what, timeoutMs, intervalMs: 200 },
  );
}

export async function startEtcd(opts: { binary: string; dataDir: string; clientPort: number; peerPort: number; logDir: string }): Promise<{ proc: ManagedProcess; url: string }> {
  const url = `http://127.0.0.1:${opts.clientPort}`;
  const peer = `http://127.0.0.1:${opts.peerPort}`;
  const logFile = join(opts.logDir, 'etcd.log');
  const proc = spawnManaged({
    name: 'etcd',
    command: opts.binary,
    args: [
      '--name', 'sandbox',
      '--data-dir', opts.dataDir,
      '--listen-client-urls', url,
      '--advertise-client-urls', url,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `sandbox=${peer}`,
      '--initial-cluster-state', 'new',
      '--listen-metrics-urls', '',
      '--log-level', 'warn',
      '--logger', 'zap',
    ],
    logFile,
  });
  await waitReady(proc, logFile, 'etcd health', 30_000, async () => {
    const res = await httpGet(`${url}/health`);
    return res.status === 200 && res.body.includes('true');
  });
  return { proc, url };
}

export async function startApiServer(opts: {
  binDir: string;
  etcdUrl: string;
  port: number;
  pki: SandboxPki;
  certDir: string;
  logDir: string;
}): Promise<{ proc: ManagedProcess; url: string }> {
  const url = `https://127.0.0.1:${opts.port}`;
  const logFile = join(opts.logDir, 'kube-apiserver.log');
  const { pki } = opts;
  const proc = spawnManaged({
    name: 'kube-apiserver',
    command: join(opts.binDir, 'kube-apiserver'),
    args: [
      `--etcd-servers=${opts.etcdUrl}`,
      '--bind-address=127.0.0.1',
      '--advertise-address=127.0.0.1',
      `--secure-port=${opts.port}`,
      `--cert-dir=${opts.certDir}`,
      `--tls-cert-file=${pki.serverCert}`,
      `--tls-private-key-file=${pki.serverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--token-auth-file=${pki.tokenFile}`,
      '--authorization-mode=RBAC',
      '--anonymous-auth=false',
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-account-issuer=https://kubernetes.default.svc',
      '--api-audiences=https://kubernetes.default.svc',
      `--service-cluster-ip-range=${SERVICE_CLUSTER_IP_RANGE}`,
      // Pods live on 127.x addresses, which Endpoints validation rejects, and the
      // API server's own endpoint would be loopback too: no endpoint reconciling.
      '--endpoint-reconciler-type=none',
      '--enable-admission-plugins=NamespaceLifecycle,LimitRanger,ServiceAccount,DefaultTolerationSeconds,DefaultStorageClass,ResourceQuota,MutatingAdmissionWebhook,ValidatingAdmissionWebhook',
      '--profiling=false',
      '--v=1',
    ],
    logFile,
  });
  const ca = await readFile(pki.caCert);
  await waitReady(proc, logFile, 'kube-apiserver /readyz', 120_000, async () => {
    const res = await httpGet(`${url}/readyz`, { ca, token: pki.adminToken });
    return res.status === 200;
  });
  return { proc, url };
}

export function startControllerManager(opts: { binDir: string; kubeconfig: string; pki: SandboxPki; logDir: string }): ManagedProcess {
  return spawnManaged({
    name: 'kube-controller-manager',
    command: join(opts.binDir, 'kube-controller-manager'),
    args: [
      `--kubeconfig=${opts.kubeconfig}`,
      `--authentication-kubeconfig=${opts.kubeconfig}`,
      `--authorization-kubeconfig=${opts.kubeconfig}`,
      '--secure-port=0',
      '--leader-elect=false',
      `--service-account-private-key-file=${opts.pki.serviceAccountKey}`,
      `--root-ca-file=${opts.pki.caCert}`,
      '--use-service-account-credentials=false',
      // Endpoints and EndpointSlices cannot hold loopback pod addresses.
      '--controllers=*,-endpoint,-endpointslice,-endpointslicemirroring',
      '--node-monitor-grace-period=40s',
      '--v=1',
    ],
    logFile: join(opts.logDir, 'kube-controller-manager.log'),
  });
}
