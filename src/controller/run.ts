// Runs the controller process: the Rollout, GitSource and AnalysisRun controllers and the
// HTTP server (/metrics, /healthz, /readyz, /hooks/git), until SIGTERM/SIGINT. The
// controllers share one InformerCache: each kind is listed and watched once per process.
//
// With leader election the process starts as a standby: HTTP server up,
// nothing started that writes. Once it holds the Lease it starts the
// controllers; all their Kubernetes writes go through a KubeConfig that
// refuses them unless the Lease is still ours (checked against the clock at
// each request). Losing the Lease closes that gate at once and the process
// exits with status 1, as client-go controllers do, to be restarted as a
// fresh standby: nothing of the old leader's in-flight work survives.
import type { KubeConfig } from '@kubernetes/client-node';
import { ObjectApplier } from '../cluster/apply.ts';
import { InformerCache } from '../cluster/informer-cache.ts';
import { LeaderElector, defaultIdentity, type LeaderElectionTimings } from '../cluster/leader-election.ts';
import { writeGatedKubeConfig } from '../cluster/write-gate.ts';
import { gitWebhookHandler, normalizeRepoUrl } from '../server/git-webhook.ts';
import { forwardWebhookToLeader, WEBHOOK_URL_ANNOTATION } from '../server/webhook-forward.ts';
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
  /** Run only while holding this Lease; without it, this process assumes it is the only one. */
  leaderElection?: LeaderElectionConfig;
}

export interface LeaderElectionConfig extends LeaderElectionTimings {
  /** Namespace of the Lease. */
  namespace: string;
  /** Name of the Lease. */
  name: string;
  /** Default: hostname_pid_random. */
  identity?: string;
  /** Where other replicas reach this one's HTTP server (published on the Lease while leading, for webhooks). */
  advertiseUrl?: string;
}

/** Exit status of a leader that lost its Lease (client-go's Fatal exits 1 too). */
export const LOST_LEASE_EXIT_CODE = 1;

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
  const le = config.leaderElection;
  const elector = le
    ? new LeaderElector({
        ...le,
        kubeConfig: config.kubeConfig,
        identity: le.identity ?? defaultIdentity(),
        logger,
        ...(le.advertiseUrl ? { annotations: { [WEBHOOK_URL_ANNOTATION]: le.advertiseUrl } } : {}),
      })
    : undefined;
  // Controllers get a KubeConfig that sends writes only while the Lease is ours.
  const kubeConfig = elector ? writeGatedKubeConfig(config.kubeConfig, () => elector.isLeader()) : config.kubeConfig;
  const mayWrite = elector ? { mayWrite: () => elector.isLeader() } : {};
  const namespace = config.namespace ? { namespace: config.namespace } : {};
  // One informer per kind for the whole process: the controllers share them, so each kind is watched once.
  const informers = new InformerCache({ kubeConfig, logger, ...namespace });
  const rollouts = new RolloutController({ kubeConfig, informers, logger, metrics, workers: config.workers });
  const sources = new GitSourceController({ kubeConfig, logger, registry: metrics.registry, cacheDir: config.cacheDir, ...mayWrite }, informers);
  const analysisRuns = new AnalysisRunController({ kubeConfig, informers, logger });
  let started = false;
  const webhook = gitWebhookHandler({
    secret: config.webhookSecret,
    onPush: (urls) => sources.triggerByUrl(urls, normalizeRepoUrl),
    log: (level, fields, message) => {
      logger[level](fields, message);
    },
  });
  const { host, port } = parseListen(config.listen);
  const server = await startHttpServer({
    host,
    port,
    registry: metrics.registry,
    // A standby is ready (as with client-go's leader election): it is doing its job, and a
    // Deployment rolling update must not wait for it to lead.
    ready: () => {
      if (elector && !started) return { ready: true, detail: 'standby' };
      return rollouts.ready && sources.ready && analysisRuns.ready;
    },
    routes: {
      '/hooks/git': (req, res) => {
        // Only the leader fetches: a standby passes the push on to it (or says why it cannot).
        if (elector && !elector.isLeader()) return forwardWebhookToLeader(req, res, { leaderUrl: elector.leaseAnnotation(WEBHOOK_URL_ANNOTATION), identity: elector.identity });
        return webhook(req, res);
      },
    },
  });
  logger.info(
    { url: server.url, version: config.version, server: config.kubeConfig.getCurrentCluster()?.server, ...(elector ? { leaderElection: { lease: `${le?.namespace ?? ''}/${le?.name ?? ''}`, identity: elector.identity } } : {}) },
    'weir controller starting',
  );
  let stopping = false;
  const stop = async (signal: string): Promise<void> => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    await Promise.all([rollouts.stop(), sources.stop(), analysisRuns.stop()]);
    await informers.stop();
    // Hand the Lease over now rather than make the standby wait out its duration.
    await elector?.release();
    await server.close();
    process.exit(0);
  };
  process.on('SIGTERM', () => void stop('SIGTERM'));
  process.on('SIGINT', () => void stop('SIGINT'));

  const startControllers = async (): Promise<void> => {
    started = true;
    if (config.flagSource) {
      await ObjectApplier.forConfig(kubeConfig).apply(flagSourceObject(config.flagSource), { fieldManager: 'weir-flags', force: true });
      logger.info({ url: config.flagSource.url, ref: config.flagSource.ref, paths: config.flagSource.paths }, 'GitSource from flags');
    }
    await Promise.all([rollouts.start(), sources.start(), analysisRuns.start()]);
  };
  if (!elector) {
    await startControllers();
    return;
  }
  elector.start({
    onStartedLeading: () => {
      startControllers().catch((err: unknown) => {
        logger.fatal({ err: err instanceof Error ? err.message : String(err) }, 'could not start the controllers; exiting');
        process.exit(1);
      });
    },
    onStoppedLeading: (reason) => {
      // The gate is already shut (isLeader() is false); leave before anything else runs.
      logger.fatal({ reason, exitCode: LOST_LEASE_EXIT_CODE }, 'lost the leader lease; exiting so a fresh standby takes this place');
      process.exit(LOST_LEASE_EXIT_CODE);
    },
  });
}
