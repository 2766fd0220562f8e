// Runs the controller process: the Rollout controller and the HTTP server
// (/metrics, /healthz, /readyz), until SIGTERM/SIGINT.
import type { KubeConfig } from '@kubernetes/client-node';
import { createLogger } from '../util/log.ts';
import { startHttpServer } from '../server/http-server.ts';
import { ControllerMetrics } from './metrics.ts';
import { RolloutController } from './rollout-controller.ts';

export interface ControllerConfig {
  kubeConfig: KubeConfig;
  namespace?: string;
  /** host:port for /metrics, /healthz, /readyz. */
  listen: string;
  workers: number;
  version: string;
}

export function parseListen(listen: string): { host: string; port: number } {
  const match = /^(?:\[([^\]]+)\]|([^:]*)):(\d+)$/.exec(listen);
  if (!match) throw new Error(`--listen must be host:port, got "${listen}"`);
  const port = Number(match[3]);
  if (port > 65535) throw new Error(`--listen port out of range: ${port}`);
  const host = match[1] ?? match[2];
  return { host: host === undefined || host === '' ? '0.0.0.0' : host, port };
}

export async function runController(config: ControllerConfig): Promise<void> {
  const logger = createLogger('controller');
  const metrics = new ControllerMetrics(config.version);
  const controller = new RolloutController({
    kubeConfig: config.kubeConfig,
    logger,
    metrics,
    workers: config.workers,
    ...(config.namespace ? { namespace: config.namespace } : {}),
  });
  const { host, port } = parseListen(config.listen);
  const server = await startHttpServer({ host, port, registry: metrics.registry, ready: () => controller.ready });
  logger.info({ url: server.url, version: config.version, server: config.kubeConfig.getCurrentCluster()?.server }, 'weir controller starting');
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await controller.stop();
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));
  await controller.start();
}
