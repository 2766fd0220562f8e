// Where the sandbox keeps its binaries (a cache shared by all instances) and
// its per-instance state (certificates, data, logs, state.json).
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CRD_MANIFEST_TOOLS, toolRelease, type BuiltSandboxTool, type CrdManifestSet, type CrdManifestTool, type SandboxTool } from './tool-versions.ts';

/** The repository root (this file is src/sandbox/paths.ts). */
export const repoRoot = resolve(fileURLToPath(import.meta.url), '..', '..', '..');

/** The release of a sandbox tool, as its wrapper module under tools/ pins it. */
export function sandboxToolRelease(tool: SandboxTool): string {
  return toolRelease(join(repoRoot, 'tools'), tool);
}

/** The Kubernetes release the sandbox runs ("1.37.2"). */
export function kubernetesVersion(): string {
  return sandboxToolRelease('kubernetes');
}

export function cacheDir(): string {
  return process.env.WEIR_CACHE_DIR ?? join(process.env.XDG_CACHE_HOME ?? join(homedir(), '.cache'), 'weir');
}

/** Where scripts/build-sandbox-tools.sh puts a tool's build: <cache>/<tool>-<release>. */
export function sandboxToolDir(tool: SandboxTool): string {
  return join(cacheDir(), `${tool}-${sandboxToolRelease(tool)}`);
}

export function kubernetesBinDir(): string {
  return join(sandboxToolDir('kubernetes'), 'bin');
}

/** The path of a built binary of one of the sandbox's tools. */
export function sandboxBinary(tool: Exclude<BuiltSandboxTool, 'kubernetes'>): string {
  return join(sandboxToolDir(tool), 'bin', tool);
}

/**
 * The directory of one set of a CRD manifest tool's manifests, as
 * scripts/build-sandbox-tools.sh copies them from its module: by default the
 * set the sandbox installs.
 */
export function crdManifestsDir<T extends CrdManifestTool>(tool: T, set?: CrdManifestSet<T>): string {
  return join(sandboxToolDir(tool), set ?? CRD_MANIFEST_TOOLS[tool].installed);
}

/** The Gateway API CRD manifests of one release channel. */
export function gatewayApiManifestsDir(channel: CrdManifestSet<'gateway-api'> = 'standard'): string {
  return crdManifestsDir('gateway-api', channel);
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
