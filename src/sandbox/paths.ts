// Where the sandbox keeps its binaries (a cache shared by all instances) and
// its per-instance state (certificates, data, logs, state.json).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

export const KUBERNETES_VERSION = '1.20.2';

/** The repository root (this file is src/sandbox/paths.ts). */
export const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

export function cacheDir(): string {
  return process.env.WEIR_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'weir');
}

export function kubernetesBinDir(): string {
  return join(cacheDir(), `kubernetes-${KUBERNETES_VERSION}`, 'bin');
}

export const INSTANCE_NAME_PATTERN = /^[a-z0-9][a-z0-9-]{0,30}$/;

/** The state directory of a named sandbox instance. */
export function instanceDir(name: string): string {
  if (!INSTANCE_NAME_PATTERN.test(name)) {
    throw new Error(`sandbox name "${name}" is invalid: use 1-31 lowercase letters, digits and dashes`);
  }
  const stateHome = process.env.XDG_STATE_HOME ?? join(homedir(), '.local', 'state');
  return join(stateHome, 'weir', 'sandbox', name);
}

/** The files inside an instance directory. */
export function instanceFiles(dir: string) {
  return {
    state: join(dir, 'state.json'),
    lock: join(dir, 'supervisor.lock'),
    log: join(dir, 'supervisor.log'),
    kubeconfig: join(dir, 'kubeconfig'),
    pki: join(dir, 'pki'),
    etcdData: join(dir, 'etcd'),
    prometheusData: join(dir, 'prometheus'),
    prometheusConfig: join(dir, 'prometheus.yml'),
    gitRoot: join(dir, 'git'),
    logs: join(dir, 'logs'),
  };
}
