// `weir controller`: run the controller against the cluster of the kubeconfig
// (or in-cluster configuration).
import { homedir } from 'node:os';
import { join } from 'node:path';
import { Option, type Command } from 'commander';
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
    .action(async (opts: ControllerFlags) => {
      await runController({
        // The kubeconfig only: the controller watches all namespaces unless -n says otherwise.
        kubeConfig: loadKube({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) }).kubeConfig,
        listen: opts.listen,
        workers: Number(opts.workers),
        version,
        cacheDir: opts.cacheDir,
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
        ...(opts.webhookSecret ? { webhookSecret: opts.webhookSecret } : {}),
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
