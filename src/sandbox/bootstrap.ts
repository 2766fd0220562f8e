// Objects every sandbox has: the Gateway API HTTPRoute CRD.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { ObjectApplier } from '../cluster/apply.ts';
import { waitFor } from '../util/wait.ts';

const manifestsDir = fileURLToPath(new URL('manifests/', import.meta.url));

export async function loadManifests(file: string): Promise<KubernetesObject[]> {
  const docs = loadAll(await readFile(join(manifestsDir, file), 'utf8'));
  return docs.filter((d): d is KubernetesObject => typeof d === 'object' && d !== null);
}

/** Server-side apply of each object, as the sandbox's own field manager. */
export async function applyAll(kc: KubeConfig, objects: KubernetesObject[]): Promise<void> {
  const applier = ObjectApplier.forConfig(kc);
  for (const obj of objects) await applier.apply(obj, { fieldManager: 'weir-sandbox', force: true });
}

export async function bootstrapCluster(kc: KubeConfig): Promise<void> {
  await applyAll(kc, await loadManifests('gateway-api-httproute.crd.yaml'));
  const api = KubernetesObjectApi.makeApiClient(kc);
  await waitFor(
    async () => {
      const crd = await api.read({
        apiVersion: 'apiextensions.k8s.io/v1',
        kind: 'CustomResourceDefinition',
        metadata: { name: 'httproutes.gateway.networking.k8s.io' },
      });
      const conditions = (crd as { status?: { conditions?: { type: string; status: string }[] } }).status?.conditions ?? [];
      return conditions.some((c) => c.type === 'Established' && c.status === 'True');
    },
    { what: 'HTTPRoute CRD established', timeoutMs: 30_000 },
  );
}
