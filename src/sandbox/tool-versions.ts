// The versions of the sandbox's tools, read from the wrapper modules under
// tools/ that pin them (scripts/build-sandbox-tools.sh builds from the same
// files), and where their builds are cached.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Each sandbox tool: its wrapper module under tools/, and the module whose version it pins. */
export const SANDBOX_TOOLS = {
  kubernetes: 'k8s.io/kubernetes',
  etcd: 'go.etcd.io/etcd/server/v3',
  prometheus: 'github.com/prometheus/prometheus',
  'gateway-api': 'sigs.k8s.io/gateway-api',
  istio: 'istio.io/api',
  traefik: 'github.com/traefik/traefik/v3',
  smi: 'github.com/servicemeshinterface/smi-sdk-go',
  helm: 'helm.sh/helm/v4',
  kustomize: 'sigs.k8s.io/kustomize/kustomize/v5',
} as const;

export type SandboxTool = keyof typeof SANDBOX_TOOLS;

/**
 * The sandbox tools that are a set of CRD manifests copied from their module
 * (nothing is built), with the sets scripts/build-sandbox-tools.sh copies into
 * the tool's cache directory (one subdirectory each) and the one the sandbox
 * installs at bootstrap.
 */
export const CRD_MANIFEST_TOOLS = {
  'gateway-api': { sets: ['standard', 'experimental'], installed: 'standard' },
  istio: { sets: ['crds'], installed: 'crds' },
  traefik: { sets: ['crds'], installed: 'crds' },
  smi: { sets: ['crds'], installed: 'crds' },
} as const satisfies Partial<Record<SandboxTool, { sets: readonly string[]; installed: string }>>;

export type CrdManifestTool = keyof typeof CRD_MANIFEST_TOOLS;

/** A set of manifests of one CRD manifest tool ("standard" of Gateway API). */
export type CrdManifestSet<T extends CrdManifestTool = CrdManifestTool> = (typeof CRD_MANIFEST_TOOLS)[T]['sets'][number];

/** The sandbox tools that are built binaries, one named after its tool unless it is Kubernetes (several). */
export type BuiltSandboxTool = Exclude<SandboxTool, CrdManifestTool>;

export function isCrdManifestTool(tool: SandboxTool): tool is CrdManifestTool {
  return Object.hasOwn(CRD_MANIFEST_TOOLS, tool);
}

/**
 * The version `goMod` requires of `module` ("v1.37.2"), from a one-line
 * `require M V` or a line `M V` of a require block; undefined when absent.
 */
export function requiredVersion(goMod: string, module: string): string | undefined {
  for (const raw of goMod.split('\n')) {
    const words = raw.replace(/\/\/.*$/, '').trim().split(/\s+/);
    const [first, second, third] = words;
    if (first === 'require' && second === module && third?.startsWith('v')) return third;
    if (first === module && second?.startsWith('v')) return second;
  }
  return undefined;
}

/**
 * The release a tool is known by: the module's version without its "v", except
 * Prometheus, whose Go module v0.3XY.Z is Prometheus 3.XY.Z.
 */
export function releaseOf(tool: SandboxTool, moduleVersion: string): string {
  const plain = moduleVersion.replace(/^v/, '');
  if (tool !== 'prometheus') return plain;
  const [major, minor, patch] = plain.split('.').map(Number);
  if (major !== 0 || minor === undefined || patch === undefined || minor < 300) throw new Error(`unexpected Prometheus module version ${moduleVersion}`);
  return `3.${minor - 300}.${patch}`;
}

const cached = new Map<SandboxTool, string>();

/** The release of a sandbox tool pinned under `toolsDir` ("1.37.2", "3.16.0"). */
export function toolRelease(toolsDir: string, tool: SandboxTool): string {
  const known = cached.get(tool);
  if (known) return known;
  const file = join(toolsDir, tool, 'go.mod');
  const version = requiredVersion(readFileSync(file, 'utf8'), SANDBOX_TOOLS[tool]);
  if (!version) throw new Error(`${file} requires no version of ${SANDBOX_TOOLS[tool]}`);
  const release = releaseOf(tool, version);
  cached.set(tool, release);
  return release;
}
