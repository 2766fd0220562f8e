// `weir controller`: run the controller against the cluster of the kubeconfig
// (or in-cluster configuration).
import { Option, type Command } from 'commander';
import { runController } from '../controller/run.ts';
import { loadKube } from './kube-options.ts';

export function registerControllerCommand(program: Command, version: string): void {
  program
    .command('controller')
    .description('run the Weir controller')
    .addOption(new Option('--kubeconfig <path>', 'kubeconfig file (default: $KUBECONFIG, ~/.kube/config, or in-cluster)').env('KUBECONFIG'))
    .addOption(new Option('--context <name>', 'kubeconfig context').env('WEIR_CONTEXT'))
    .addOption(new Option('-n, --namespace <namespace>', 'watch only this namespace (default: all)').env('WEIR_NAMESPACE'))
    .addOption(new Option('--listen <host:port>', 'address of /metrics, /healthz and /readyz').env('WEIR_LISTEN').default('0.0.0.0:8080'))
    .addOption(new Option('--workers <n>', 'rollouts reconciled in parallel').env('WEIR_WORKERS').default('4').argParser((v) => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1 || n > 64) throw new Error(`--workers must be 1..64, got "${v}"`);
      return String(n);
    }))
    .action(async (opts: { kubeconfig?: string; context?: string; namespace?: string; listen: string; workers: string }) => {
      await runController({
        // The kubeconfig only: the controller watches all namespaces unless -n says otherwise.
        kubeConfig: loadKube({ ...(opts.kubeconfig ? { kubeconfig: opts.kubeconfig } : {}), ...(opts.context ? { context: opts.context } : {}) }).kubeConfig,
        listen: opts.listen,
        workers: Number(opts.workers),
        version,
        ...(opts.namespace ? { namespace: opts.namespace } : {}),
      });
    });
}
