// The demo's view of the cluster: Weir's CRDs installed, a fresh namespace,
// the GitSource applied, and snapshots of what the story watches.
import { readdir, readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { CoreV1Api, CustomObjectsApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { load, loadAll } from 'js-yaml';
import { GROUP, VERSION } from '../api/common.ts';
import type { AnalysisRun } from '../api/analysis.ts';
import type { GitSource } from '../api/gitsource.ts';
import type { Rollout } from '../api/rollout.ts';
import { ObjectApplier } from '../cluster/apply.ts';
import { kubeErrorCode } from '../cluster/errors.ts';
import { TrafficRouting } from '../controller/traffic.ts';
import { applyAll } from '../sandbox/bootstrap.ts';
import { repoRoot } from '../sandbox/paths.ts';
import { waitFor } from '../util/wait.ts';
import type { Snapshot } from './events.ts';

/** Metadata fields the API types leave out (ObjectMeta keeps unknown fields). */
interface RunMetadata {
  creationTimestamp?: string;
  ownerReferences?: { kind?: string; name?: string }[];
}

function createdAt(run: AnalysisRun): string {
  return (run.metadata as RunMetadata).creationTimestamp ?? '';
}

function ownedBy(run: AnalysisRun, rollout: string): boolean {
  const owners = (run.metadata as RunMetadata).ownerReferences;
  return owners === undefined || owners.some((o) => o.kind === 'Rollout' && o.name === rollout);
}

const plural = (p: string) => ({ group: GROUP, version: VERSION, plural: p }) as const;

export class DemoCluster {
  readonly core: CoreV1Api;
  readonly custom: CustomObjectsApi;
  readonly #kc: KubeConfig;
  readonly #traffic: TrafficRouting;

  constructor(kc: KubeConfig) {
    this.#kc = kc;
    this.core = kc.makeApiClient(CoreV1Api);
    this.custom = kc.makeApiClient(CustomObjectsApi);
    this.#traffic = new TrafficRouting(kc, undefined, 'weir-demo');
  }

  /** Weir's CRDs (crds/*.weir.dev.yaml), applied and served. */
  async installCrds(): Promise<void> {
    const dir = join(repoRoot, 'crds');
    const docs: KubernetesObject[] = [];
    for (const f of (await readdir(dir)).filter((name) => name.endsWith('.weir.dev.yaml'))) {
      docs.push(...(loadAll(await readFile(join(dir, f), 'utf8')) as KubernetesObject[]));
    }
    await applyAll(this.#kc, docs);
    for (const p of ['rollouts', 'gitsources', 'analysistemplates', 'analysisruns']) {
      await waitFor(async () => Array.isArray(((await this.custom.listClusterCustomObject(plural(p))) as { items?: unknown[] }).items), {
        what: `the ${p} CRD to be served`,
        timeoutMs: 30_000,
      });
    }
  }

  /** The namespace, emptied: a previous run's is deleted first (and waited for). */
  async freshNamespace(name: string): Promise<void> {
    try {
      await this.core.deleteNamespace({ name });
      await waitFor(
        async () => {
          try {
            await this.core.readNamespace({ name });
            return false;
          } catch (err) {
            if (kubeErrorCode(err) === 404) return true;
            throw err;
          }
        },
        { what: `the previous demo's namespace ${name} to be deleted`, timeoutMs: 120_000, intervalMs: 500 },
      );
    } catch (err) {
      if (kubeErrorCode(err) !== 404) throw err;
    }
    await this.core.createNamespace({ body: { metadata: { name, labels: { 'app.kubernetes.io/part-of': 'weir-demo' } } } });
  }

  async applyManifest(text: string, namespace: string): Promise<void> {
    const obj = load(text) as KubernetesObject;
    obj.metadata = Object.assign({}, obj.metadata, { namespace });
    await ObjectApplier.forConfig(this.#kc).apply(obj, { fieldManager: 'weir-demo', force: true });
  }

  async configMapValue(namespace: string, name: string, key: string): Promise<string | undefined> {
    return (await this.core.readNamespacedConfigMap({ name, namespace })).data?.[key];
  }

  async #get<T>(p: string, namespace: string, name: string): Promise<T | undefined> {
    try {
      return (await this.custom.getNamespacedCustomObject({ ...plural(p), namespace, name })) as T;
    } catch (err) {
      if (kubeErrorCode(err) === 404) return undefined;
      throw err;
    }
  }

  /** The Rollout, its GitSource, its AnalysisRuns and its route's canary weight, read now. */
  async snapshot(namespace: string, rolloutName: string, sourceName: string): Promise<Snapshot> {
    const [rollout, source, runList] = await Promise.all([
      this.#get<Rollout>('rollouts', namespace, rolloutName),
      this.#get<GitSource>('gitsources', namespace, sourceName),
      this.custom.listNamespacedCustomObject({ ...plural('analysisruns'), namespace }) as Promise<{ items: AnalysisRun[] }>,
    ]);
    const runs = runList.items
      .filter((r) => ownedBy(r, rolloutName))
      .sort((a, b) => createdAt(a).localeCompare(createdAt(b)));
    const snapshot: Snapshot = { runs, ...(rollout ? { rollout } : {}), ...(source ? { source } : {}) };
    const weight = rollout ? (await this.#traffic.read(rollout).catch(() => []))[0]?.canaryWeight : undefined;
    if (weight !== undefined) snapshot.canaryWeight = weight;
    return snapshot;
  }
}
