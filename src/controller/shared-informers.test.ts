// The controller process's wiring as run.ts does it: the three controllers on
// one InformerCache. Each kind gets exactly one informer, and nothing builds
// an informer of its own (the process-wide guard would throw while a cache
// informer of the same resource lives, and watchedResources() would list it).
import assert from 'node:assert/strict';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { InformerCache } from '../cluster/informer-cache.ts';
import { watchedResources } from '../cluster/informer.ts';
import { createLogger } from '../util/log.ts';
import { AnalysisRunController } from './analysisrun-controller.ts';
import { GitSourceController } from './gitsource-controller.ts';
import { ControllerMetrics } from './metrics.ts';
import { RolloutController } from './rollout-controller.ts';
import { unreachableKubeConfig } from '../cluster/testkit.ts';

const WEIR = '/apis/weir.dev/v1alpha1';
const CLUSTER_WIDE = [
  '/api/v1/pods',
  '/api/v1/services',
  '/apis/apps/v1/replicasets',
  '/apis/gateway.networking.k8s.io/v1/grpcroutes',
  '/apis/gateway.networking.k8s.io/v1/httproutes',
  '/apis/networking.istio.io/v1/destinationrules',
  '/apis/networking.istio.io/v1/virtualservices',
  '/apis/networking.k8s.io/v1/ingresses',
  '/apis/split.smi-spec.io/v1alpha4/trafficsplits',
  '/apis/traefik.io/v1alpha1/traefikservices',
  `${WEIR}/analysisruns`,
  `${WEIR}/analysistemplates`,
  `${WEIR}/clusteranalysistemplates`,
  `${WEIR}/gitsources`,
  `${WEIR}/rollouts`,
];

async function wire(namespace: string | undefined): Promise<{ watched: string[]; resources: string[] }> {
  const logger = createLogger('shared-informers-test', 'silent');
  const kubeConfig = unreachableKubeConfig();
  const cacheDir = await mkdtemp(join(tmpdir(), 'weir-shared-informers-'));
  const informers = new InformerCache({ kubeConfig, logger, ...(namespace ? { namespace } : {}) });
  try {
    const metrics = new ControllerMetrics('test');
    new RolloutController({ kubeConfig, informers, logger, metrics, workers: 1 });
    new GitSourceController({ kubeConfig, logger, registry: metrics.registry, cacheDir }, informers);
    new AnalysisRunController({ kubeConfig, informers, logger });
    return { watched: informers.watched(), resources: watchedResources() };
  } finally {
    await informers.stop();
    await rm(cacheDir, { recursive: true, force: true });
  }
}

describe('the controllers share one informer per kind', () => {
  it("cluster-wide: one informer for each kind, the routers' kinds among them, none of their own", async () => {
    const { watched, resources } = await wire(undefined);
    assert.deepEqual(watched, CLUSTER_WIDE);
    assert.deepEqual(resources, CLUSTER_WIDE);
    assert.deepEqual(watchedResources(), [], 'stopping the cache releases them');
  });

  it('namespaced: the same kinds in the namespace, cluster-scoped templates not watched', async () => {
    const { watched, resources } = await wire('team-a');
    const expected = CLUSTER_WIDE.filter((p) => !p.endsWith('/clusteranalysistemplates'));
    assert.deepEqual(watched, expected.map((p) => p.replace(/\/([a-z]+)$/, '/namespaces/team-a/$1')).sort());
    assert.deepEqual(resources, expected);
  });
});
