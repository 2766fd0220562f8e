// `weir controller`: run the controller against the cluster of the kubeconfig
// (or in-cluster configuration).
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
import { parseDuration } from '../api/duration.ts';
import { validateTimings } from '../cluster/leader-election.ts';
import { runController } from '../controller/run.ts';
import { loadKube } from './kube-options.ts';

interface ControllerFlags {
  kubeconfig?: string;
  context?: string;
  namespace?: string;
  listen: string;
  workers: string;
  cacheDir: string;
  webhookSecret?: string;
  gitUrl?: string;
  gitRef: string;
  gitPath: string[];
  gitInterval: string;
  gitNamespace?: string;
  leaderElect: boolean;
  leaderElectLeaseDuration: string;
  leaderElectRenewDeadline: string;
  leaderElectRetryPeriod: string;
  leaderElectNamespace?: string;
  leaderElectId: string;
  advertiseUrl?: string;
}

/** Where a pod's service account says its namespace is. */
const IN_CLUSTER_NAMESPACE_FILE = '/var/run/secrets/kubernetes.io/serviceaccount/namespace';

/** The Lease's namespace when no flag names it: the pod's own, else --namespace, else "default". */
export function defaultLeaseNamespace(watched: string | undefined, namespaceFile = IN_CLUSTER_NAMESPACE_FILE): string {
  if (existsSync(namespaceFile)) {
    const ns = readFileSync(namespaceFile, 'utf8').trim();
    if (ns !== '') return ns;
  }
  return watched ?? 'default';
}

/** true/false (and 1/0, yes/no), so WEIR_LEADER_ELECT=false means false. */
export function parseBool(flag: string): (value: string) => boolean {
  return (value) => {
    const v = value.trim().toLowerCase();
    if (['true', '1', 'yes', ''].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
    throw new Error(`${flag} must be true or false, got "${value}"`);
  };
}

function durationFlag(flag: string): (value: string) => string {
  return (value) => {
    try {
      const ms = parseDuration(value);
      if (ms <= 0) throw new Error('must be positive');
    } catch (err) {
      throw new Error(`${flag}: ${err instanceof Error ? err.message : String(err)} (a duration such as 15s or 1m)`, { cause: err });
    }
    return value;
  };
}

export function registerControllerCommand(program: Command, version: string): void {
  program
    .command('controller')
    .description('run the Weir controller')
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)').env('KUBECONFIG'))
    .addOption(new Option('--context <name>', 'kubeconfig context').env('WEIR_CONTEXT'))
    .addOption(new Option('-n, --namespace <namespace>', 'watch only this namespace (default: all)').env('WEIR_NAMESPACE'))
    .addOption(new Option('--listen <host:port>', 'address of /metrics, /healthz, /readyz and /hooks/git').env('WEIR_LISTEN').default('0.0.0.0:8080'))
    .addOption(
      new Option('--workers <n>', 'rollouts reconciled in parallel')
        .env('WEIR_WORKERS')
        .default('4')
        .argParser((v) => {
          const n = Number(v);
          if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--workers must be 1..64, got "${v}"`);
          return String(n);
        }),
    )
    .addOption(new Option('--cache-dir <dir>', 'where fetched Git repositories are kept').env('WEIR_CACHE_DIR').default(join(homedir(), '.cache', 'weir', 'git')))
    .addOption(new Option('--webhook-secret <secret>', 'secret of POST /hooks/git (GitHub HMAC or GitLab token); without it the webhook refuses every request').env('WEIR_WEBHOOK_SECRET'))
    .addOption(new Option('--git-url <url>', 'one-repository install: the repository to pull (makes a GitSource named weir-flags)').env('WEIR_GIT_URL'))
    .addOption(new Option('--git-ref <branch|sha>', 'branch or commit of --git-url').env('WEIR_GIT_REF').default('main'))
    .addOption(new Option('--git-path <dir...>', 'directories of manifests in --git-url').env('WEIR_GIT_PATH').default(['.']))
    .addOption(new Option('--git-interval <duration>', 'poll interval of --git-url').env('WEIR_GIT_INTERVAL').default('1m'))
    .addOption(new Option('--git-namespace <namespace>', 'namespace of the weir-flags GitSource (default: --namespace, or "default")').env('WEIR_GIT_NAMESPACE'))
    .addOption(
      new Option('--leader-elect [bool]', 'run only while holding a coordination.k8s.io Lease (for several replicas); a replica that loses it exits')
        .env('WEIR_LEADER_ELECT')
        .default(false)
        .preset('true')
        .argParser(parseBool('--leader-elect')),
    )
    .addOption(new Option('--leader-elect-lease-duration <duration>', 'how long standbys wait after the last renewal before taking the Lease').env('WEIR_LEADER_ELECT_LEASE_DURATION').default('15s').argParser(durationFlag('--leader-elect-lease-duration')))
    .addOption(new Option('--leader-elect-renew-deadline <duration>', 'how long the leader keeps writing without a successful renewal (less than the lease duration)').env('WEIR_LEADER_ELECT_RENEW_DEADLINE').default('10s').argParser(durationFlag('--leader-elect-renew-deadline')))
    .addOption(new Option('--leader-elect-retry-period <duration>', 'pause between attempts to acquire or renew the Lease').env('WEIR_LEADER_ELECT_RETRY_PERIOD').default('2s').argParser(durationFlag('--leader-elect-retry-period')))
    .addOption(new Option('--leader-elect-namespace <namespace>', "namespace of the Lease (default: the pod's own namespace in a cluster, else --namespace, else \"default\")").env('WEIR_LEADER_ELECT_NAMESPACE'))
    .addOption(new Option('--leader-elect-id <name>', 'name of the Lease; replicas with the same name and namespace elect one leader').env('WEIR_LEADER_ELECT_ID').default('weir-controller'))
    .addOption(
      new Option('--advertise-url <url>', "this replica's HTTP address for the others (e.g. http://$(POD_IP):8080): the leader publishes it on the Lease, and a standby passes webhooks on to it").env(
        'WEIR_ADVERTISE_URL',
      ),
    )
    .action(async (opts: ControllerFlags) => {
      const timings = {
        leaseDurationMs: parseDuration(opts.leaderElectLeaseDuration),
        renewDeadlineMs: parseDuration(opts.leaderElectRenewDeadline),
        retryPeriodMs: parseDuration(opts.leaderElectRetryPeriod),
      };
      if (opts.leaderElect) validateTimings(timings);
      await runController({
        // The kubeconfig only: the controller watches all namespaces unless -n says otherwise.
        kubeConfig: loadKube({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) }).kubeConfig,
        listen: opts.listen,
        workers: Number(opts.workers),
        version,
        cacheDir: opts.cacheDir,
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        ...(opts.webhookSecret ? { webhookSecret: opts.webhookSecret } : {}),
        ...(opts.leaderElect
          ? {
              leaderElection: {
                ...timings,
                name: opts.leaderElectId,
                namespace: opts.leaderElectNamespace ?? defaultLeaseNamespace(opts.namespace),
                ...(opts.advertiseUrl ? { advertiseUrl: opts.advertiseUrl } : {}),
              },
            }
          : {}),
        ...(opts.gitUrl
          ? {
              flagSource: {
                url: opts.gitUrl,
                ref: opts.gitRef,
                paths: opts.gitPath.flatMap((p) => p.split(',')),
                interval: opts.gitInterval,
                namespace: opts.gitNamespace ?? opts.namespace ?? 'default',
              },
            }
          : {}),
      });
    });
}
