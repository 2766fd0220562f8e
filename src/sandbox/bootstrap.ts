// Objects every sandbox has: the Gateway API CRDs of the pinned release
// (standard channel, as `kubectl apply --server-side -f standard-install.yaml`
// installs them) and the RBAC of the sandbox's Prometheus.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { ObjectApplier } from '../cluster/apply.ts';
import { waitFor } from '../util/wait.ts';
import { gatewayApiManifestsDir } from './paths.ts';

const manifestsDir = fileURLToPath(new URL('manifests/', import.meta.url));

function objectsOf(yaml: string): KubernetesObject[] {
  return loadAll(yaml).filter((d): d is KubernetesObject => typeof d === 'object' && d !== null);
}

export async function loadManifests(file: string): Promise<KubernetesObject[]> {
  return objectsOf(await readFile(join(manifestsDir, file), 'utf8'));
}

/** Every object of the Gateway API release the sandbox pins, in one channel. */
export async function gatewayApiManifests(channel: 'standard' | 'experimental' = 'standard'): Promise<KubernetesObject[]> {
  const dir = gatewayApiManifestsDir(channel);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.yaml')).sort();
  if (files.length === 0) throw new Error(`no Gateway API manifests in ${dir}; run scripts/build-sandbox-tools.sh gateway-api`);
  const objects: KubernetesObject[] = [];
  for (const file of files) objects.push(...objectsOf(await readFile(join(dir, file), 'utf8')));
  return objects;
}

/** Server-side apply of each object, as the sandbox's own field manager. */
export async function applyAll(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const applier = ObjectApplier.forConfig(kc);
  for (const obj of objects) await applier.apply(obj, { fieldManager: 'weir-sandbox', force: true });
}

/** Waits until every CustomResourceDefinition among `objects` is Established. */
export async function waitEstablished(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const api = KubernetesObjectApi.makeApiClient(kc);
  const crds = objects.filter((o) => o.kind === 'CustomResourceDefinition').map((o) => o.metadata?.name ?? '');
  await waitFor(
    async () => {
      for (const name of crds) {
        const crd = await api.read({ apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name } });
        const conditions = (crd as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
        if (!conditions.some((c) => c.type === 'Established' && c.status === 'True')) return false;
      }
      return true;
    },
    { what: `CRDs established: ${crds.join(', ')}`, timeoutMs: 60_000 },
  );
}

export async function bootstrapCluster(kc: KubeConfig): Promise<void> {
  const gatewayApi = await gatewayApiManifests('standard');
  await applyAll(kc, [...gatewayApi, ...(await loadManifests('prometheus-rbac.yaml'))]);
  await waitEstablished(kc, gatewayApi);
}
