// Objects every sandbox has: the real CRDs of the traffic routers Weir writes
// to, from the pinned releases (CRD_MANIFEST_TOOLS: Gateway API's standard
// channel, as `kubectl apply --server-side -f standard-install.yaml` installs
// it, Istio's, Traefik's and SMI's TrafficSplit), and the RBAC of the
// sandbox's Prometheus.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import { ObjectApplier } from '../cluster/apply.ts';
import { waitFor } from '../util/wait.ts';
import { crdManifestsDir } from './paths.ts';
import { CRD_MANIFEST_TOOLS, type CrdManifestSet, type CrdManifestTool } from './tool-versions.ts';

const manifestsDir = fileURLToPath(new URL('manifests/', import.meta.url));

function objectsOf(yaml: string): KubernetesObject[] {
  return loadAll(yaml).filter((d): d is KubernetesObject => typeof d === 'object' && d !== null);
}

export async function loadManifests(file: string): Promise<KubernetesObject[]> {
  return objectsOf(await readFile(join(manifestsDir, file), 'utf8'));
}

/** Every object of one set of a CRD manifest tool's manifests (by default the set the sandbox installs), CRDs in apiextensions.k8s.io/v1. */
export async function crdManifests<T extends CrdManifestTool>(tool: T, set?: CrdManifestSet<T>): Promise<KubernetesObject[]> {
  const dir = crdManifestsDir(tool, set);
  const files = (await readdir(dir).catch(() => [])).filter((f) => /\.ya?ml$/.test(f)).sort();
  if (files.length === 0) throw new Error(`no ${tool} manifests in ${dir}; run scripts/build-sandbox-tools.sh ${tool}`);
  const objects: KubernetesObject[] = [];
  for (const file of files) objects.push(...objectsOf(await readFile(join(dir, file), 'utf8')).map(crdAsV1));
  return objects;
}

/** Every object of the Gateway API release the sandbox pins, in one channel. */
export function gatewayApiManifests(channel: CrdManifestSet<'gateway-api'> = 'standard'): Promise<KubernetesObject[]> {
  return crdManifests('gateway-api', channel);
}

/** Every object the sandbox installs from its CRD manifest tools: each one's installed set. */
export async function sandboxCrdManifests(): Promise<KubernetesObject[]> {
  const tools = Object.keys(CRD_MANIFEST_TOOLS) as CrdManifestTool[];
  return (await Promise.all(tools.map((tool) => crdManifests(tool)))).flat();
}

/** Marks a CRD that crdAsV1 converted: the value is the apiVersion it was written in. */
export const CONVERTED_FROM_ANNOTATION = 'sandbox.weir.dev/converted-from';

type Json = Record<string, unknown>;
const isJson = (v: unknown): v is Json => typeof v === 'object' && v !== null && !Array.isArray(v);

/**
 * A CustomResourceDefinition in apiextensions.k8s.io/v1, which is all that
 * Kubernetes 1.22 and newer install: a v1beta1 one (SMI's) is converted as the
 * API server converted stored v1beta1 CRDs, schema unchanged. The top-level
 * `validation`, `subresources` and `additionalPrinterColumns` (`JSONPath`
 * becoming `jsonPath`) move to each version; `version` goes (it names the
 * first of `versions`, or becomes the only one); a webhook conversion's
 * `webhookClientConfig` and `conversionReviewVersions` move under `webhook`.
 * Two things v1 requires are not in v1beta1's form: a root `type: object`
 * when the schema has no root type (every object is one, so it refuses
 * nothing), and `preserveUnknownFields` false (v1beta1's default was true):
 * fields the schema does not name are pruned, as for every v1 CRD. Anything
 * else is returned as it is.
 */
export function crdAsV1(obj: KubernetesObject): KubernetesObject {
  if (obj.kind !== 'CustomResourceDefinition' || obj.apiVersion !== 'apiextensions.k8s.io/v1beta1') return obj;
  const { version, validation, subresources, additionalPrinterColumns, preserveUnknownFields: _dropped, conversion, versions, ...rest } = ((obj as Json).spec ?? {}) as Json;
  const listed = Array.isArray(versions) && versions.length > 0 ? (versions as Json[]) : [{ name: version, served: true, storage: true }];
  const columnsV1 = (columns: unknown): Json[] | undefined =>
    Array.isArray(columns) ? (columns as Json[]).map(({ JSONPath, ...column }) => ({ ...column, jsonPath: JSONPath })) : undefined;
  const schemaV1 = (v: unknown): Json | undefined => {
    if (!isJson(v) || !isJson(v.openAPIV3Schema)) return undefined;
    return { ...v, openAPIV3Schema: { ...(v.openAPIV3Schema.type === undefined ? { type: 'object' } : {}), ...v.openAPIV3Schema } };
  };
  const converted = listed.map(({ schema, subresources: own, additionalPrinterColumns: ownColumns, ...v }) => {
    const out: Json = { ...v };
    const s = schemaV1(schema ?? validation);
    if (s) out.schema = s;
    if (own ?? subresources) out.subresources = own ?? subresources;
    const columns = columnsV1(ownColumns ?? additionalPrinterColumns);
    if (columns) out.additionalPrinterColumns = columns;
    return out;
  });
  const spec: Json = { ...rest, versions: converted };
  if (isJson(conversion)) {
    const { webhookClientConfig, conversionReviewVersions, ...strategy } = conversion;
    spec.conversion = strategy.strategy === 'Webhook' ? { ...strategy, webhook: { clientConfig: webhookClientConfig, conversionReviewVersions: conversionReviewVersions ?? ['v1beta1'] } } : strategy;
  }
  // Parsed YAML: plain objects, whatever client-node's types say.
  const metadata = (obj.metadata ?? {}) as Json;
  const annotations = (metadata.annotations ?? {}) as Record<string, string>;
  return {
    ...obj,
    apiVersion: 'apiextensions.k8s.io/v1',
    metadata: { ...metadata, annotations: { ...annotations, [CONVERTED_FROM_ANNOTATION]: 'apiextensions.k8s.io/v1beta1' } },
    spec,
  } as KubernetesObject;
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
  const crds = await sandboxCrdManifests();
  await applyAll(kc, [...crds, ...(await loadManifests('prometheus-rbac.yaml'))]);
  await waitEstablished(kc, crds);
}
