// Runs the controller process: the Rollout, GitSource and AnalysisRun controllers and the
// HTTP server (/metrics, /healthz, /readyz, /hooks/git), until SIGTERM/SIGINT.
import type { KubeConfig } from '@kubernetes/client-node';
import { ObjectApplier } from '../cluster/apply.ts';
import { gitWebhookHandler, normalizeRepoUrl } from '../server/git-webhook.ts';
import { startHttpServer } from '../server/http-server.ts';
import { createLogger } from '../util/log.ts';
import { AnalysisRunController } from './analysisrun-controller.ts';
import { GitSourceController } from './gitsource-controller.ts';
import { ControllerMetrics } from './metrics.ts';
import { RolloutController } from './rollout-controller.ts';

/** The one-repository install: a GitSource made from flags instead of a manifest. */
export interface FlagSource {
  url: string;
  ref: string;
  paths: string[];
  interval: string;
  namespace: string;
}

export interface ControllerConfig {
  kubeConfig: KubeConfig;
  namespace?: string;
  /** host:port for /metrics, /healthz, /readyz and /hooks/git. */
  listen: string;
  workers: number;
  version: string;
  cacheDir: string;
  webhookSecret?: string;
  flagSource?: FlagSource;
}

export const FLAG_SOURCE_NAME = 'weir-flags';

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!match) throw new Error(`--listen must be host:port, got "${listen}"`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`--listen port out of range: ${port}`);
  const host = match[1] ?? match[2];
  return { host: host === undefined || host === '' ? '0.0.0.0' : host, port };
}

export function flagSourceObject(f: FlagSource): { apiVersion: string; kind: string; metadata: { name: string; namespace: string }; spec: Record<string, unknown> } {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name: FLAG_SOURCE_NAME, namespace: f.namespace },
    spec: { url: f.url, ref: /^[0-9a-f]{40}$/.test(f.ref) ? { commit: f.ref } : { branch: f.ref }, paths: f.paths, interval: f.interval },
  };
}

export async function runController(config: ControllerConfig): Promise<void> {
  const logger = createLogger('controller');
  const metrics = new ControllerMetrics(config.version);
  const namespace = config.namespace ? { namespace: config.namespace } : {};
  const rollouts = new RolloutController({ kubeConfig: config.kubeConfig, logger, metrics, workers: config.workers, ...namespace });
  const sources = new GitSourceController({ kubeConfig: config.kubeConfig, logger, registry: metrics.registry, cacheDir: config.cacheDir, ...namespace });
  const analysisRuns = new AnalysisRunController({ kubeConfig: config.kubeConfig, logger, ...namespace });
  const { host, port } = parseListen(config.listen);
  const server = await startHttpServer({
    host,
    port,
    registry: metrics.registry,
    ready: () => rollouts.ready && sources.ready && analysisRuns.ready,
    routes: {
      '/hooks/git': gitWebhookHandler({
        secret: config.webhookSecret,
        onPush: (urls) => sources.triggerByUrl(urls, normalizeRepoUrl),
        log: (level, fields, message) => {
          logger[level](fields, message);
        },
      }),
    },
  });
  logger.info({ url: server.url, version: config.version, server: config.kubeConfig.getCurrentCluster()?.server }, 'weir controller starting');
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await Promise.all([rollouts.stop(), sources.stop(), analysisRuns.stop()]);
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  if (config.flagSource) {
    await ObjectApplier.forConfig(config.kubeConfig).apply(flagSourceObject(config.flagSource), { fieldManager: 'weir-flags', force: true });
    logger.info({ url: config.flagSource.url, ref: config.flagSource.ref, paths: config.flagSource.paths }, 'GitSource from flags');
  }
  await Promise.all([rollouts.start(), sources.start(), analysisRuns.start()]);
}
