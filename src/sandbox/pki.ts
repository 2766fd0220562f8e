// Certificates and keys for the sandbox's API server, made with openssl
// (Node's crypto makes keys but not X.509 certificates).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { dump } from 'js-yaml';

const run = promisify(execFile);

export interface SandboxPki {
  caCert: string;
  caKey: string;
  serverCert: string;
  serverKey: string;
  /** Signs service-account tokens (private) and verifies them (public). */
  serviceAccountKey: string;
  serviceAccountPub: string;
  tokenFile: string;
  adminToken: string;
  controllerManagerToken: string;
  /** Prometheus' discovery identity (user PROMETHEUS_USER), in a file of its own. */
  prometheusTokenFile: string;
}

/** The user Prometheus discovers pods as; manifests/prometheus-rbac.yaml lets it read pods. */
export const PROMETHEUS_USER = 'weir-sandbox-prometheus';

function token(): string {
  return randomBytes(24).toString('hex');
}

export async function createPki(dir: string): Promise<SandboxPki> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const p = (f: string): string => join(dir, f);
  const ecKey = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  await run('openssl', ['req', '-x509', ...ecKey, '-keyout', p('ca.key'), '-out', p('ca.crt'), '-days', '3650', '-subj', '/CN=weir-sandbox-ca']);
  await run('openssl', ['req', '-new', ...ecKey, '-keyout', p('apiserver.key'), '-out', p('apiserver.csr'), '-subj', '/CN=kube-apiserver']);
  await writeFile(
    p('apiserver.ext'),
    'subjectAltName=IP:127.0.0.1,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc\n' +
      'extendedKeyUsage=serverAuth\nkeyUsage=digitalSignature,keyEncipherment\n',
  );
  await run('openssl', [
    'x509', '-req', '-in', p('apiserver.csr'), '-CA', p('ca.crt'), '-CAkey', p('ca.key'), '-CAcreateserial',
    '-out', p('apiserver.crt'), '-days', '3650', '-extfile', p('apiserver.ext'),
  ]);
  await run('openssl', ['genrsa', '-out', p('sa.key'), '2048']);
  await run('openssl', ['rsa', '-in', p('sa.key'), '-pubout', '-out', p('sa.pub')]);

  const pki: SandboxPki = {
    caCert: p('ca.crt'),
    caKey: p('ca.key'),
    serverCert: p('apiserver.crt'),
    serverKey: p('apiserver.key'),
    serviceAccountKey: p('sa.key'),
    serviceAccountPub: p('sa.pub'),
    tokenFile: p('tokens.csv'),
    adminToken: token(),
    controllerManagerToken: token(),
    prometheusTokenFile: p('prometheus.token'),
  };
  const prometheusToken = token();
  await writeFile(pki.prometheusTokenFile, prometheusToken, { mode: 0o600 });
  // Static tokens: token,user,uid,"group1,group2"
  await writeFile(
    pki.tokenFile,
    [
      `${pki.adminToken},weir-sandbox-admin,admin,"system:masters"`,
      `${pki.controllerManagerToken},system:kube-controller-manager,kcm,"system:masters"`,
      `${prometheusToken},${PROMETHEUS_USER},prometheus`,
    ].join('\n') + '\n',
    { mode: 0o600 },
  );
  return pki;
}

/** A kubeconfig that authenticates with a bearer token. */
export function kubeconfigYaml(opts: { server: string; caFile: string; user: string; token: string; context?: string }): string {
  const context = opts.context ?? 'weir-sandbox';
  return dump({
    apiVersion: 'v1',
    kind: 'Config',
    clusters: [{ name: context, cluster: { server: opts.server, 'certificate-authority': opts.caFile } }],
    users: [{ name: opts.user, user: { token: opts.token } }],
    contexts: [{ name: context, context: { cluster: context, user: opts.user, namespace: 'default' } }],
    'current-context': context,
  });
}
