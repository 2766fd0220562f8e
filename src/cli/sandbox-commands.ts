// `weir sandbox up|down|status|env|token`.
import type { Command } from 'commander';
import { KubeConfig } from '@kubernetes/client-node';
import { createSandboxRepository, envLines, mintServiceAccountToken, sandboxDown, sandboxStatus, sandboxUp, type SandboxState } from '../sandbox/index.ts';

function print(line: string): void {
  process.stdout.write(line + '\n');
}

async function runningSandbox(name: string): Promise<SandboxState> {
  const { running, state } = await sandboxStatus(name);
  if (!running || !state) throw new Error(`sandbox "${name}" is not running: start it with "weir sandbox up"`);
  return state;
}

export function registerSandboxCommands(program: Command): void {
  const sandbox = program
    .command('sandbox')
    .description('the local platform of real servers on loopback (etcd, kube-apiserver, kube-controller-manager, a kubelet stand-in, Prometheus, a Git server, a traffic generator)')
    .option('--name <name>', 'sandbox instance name', process.env.WEIR_SANDBOX ?? 'default');

  sandbox
    .command('up')
    .description('start the sandbox (or report the running one) and print how to reach it')
    .action(async () => {
      const { name } = sandbox.opts<{ name: string }>();
      const abort = new AbortController();
      const onSigint = (): void => {
        process.stderr.write('\ninterrupted: stopping the sandbox\n');
        abort.abort();
      };
      process.once('SIGINT', onSigint);
      process.once('SIGTERM', onSigint);
      try {
        const { state, started } = await sandboxUp({ name, progress: (l) => process.stderr.write(l + '\n'), signal: abort.signal });
        print(started ? `sandbox "${name}" is ready` : `sandbox "${name}" is already running (pid ${state.pid}); not starting another`);
        print(`kubeconfig:     ${state.kubeconfig}`);
        print(`API server:     ${state.apiServerUrl}`);
        print(`Prometheus:     ${state.prometheusUrl}`);
        print(`Git server:     ${state.gitUrl}`);
        print(`kubectl:        ${state.kubectl}`);
        print(`environment:    eval "$(weir sandbox env${name === 'default' ? '' : ` --name ${name}`})"`);
      } catch (err) {
        if (abort.signal.aborted) {
          await sandboxDown(name, (l) => process.stderr.write(l + '\n'));
          process.exitCode = 130;
          return;
        }
        throw err;
      } finally {
        process.off('SIGINT', onSigint);
        process.off('SIGTERM', onSigint);
      }
    });

  sandbox
    .command('down')
    .description('stop every process the sandbox started')
    .action(async () => {
      const { name } = sandbox.opts<{ name: string }>();
      await sandboxDown(name, print);
    });

  sandbox
    .command('status')
    .description('show whether the sandbox runs, and where (exit 1 when it does not)')
    .option('-o, --output <format>', 'text or json', 'text')
    .action(async (opts: { output: string }) => {
      const { name } = sandbox.opts<{ name: string }>();
      const { running, state } = await sandboxStatus(name);
      if (opts.output === 'json') {
        print(JSON.stringify({ running, ...state }, null, 2));
      } else if (!running || !state) {
        print(`sandbox "${name}" is not running${state ? ` (last: ${state.phase}: ${state.message ?? ''})` : ''}`);
      } else {
        print(`sandbox "${name}": ${state.phase} (pid ${state.pid}, since ${state.startedAt})`);
        print(`kubeconfig: ${state.kubeconfig}`);
        print(`Prometheus: ${state.prometheusUrl}`);
        print(`Git server: ${state.gitUrl}`);
        for (const c of state.components) print(`  ${c.name.padEnd(24)} pid ${c.pid}`);
      }
      if (!running) process.exitCode = 1;
    });

  sandbox
    .command('env')
    .description('print export lines for the running sandbox: eval "$(weir sandbox env)"')
    .action(async () => {
      const { name } = sandbox.opts<{ name: string }>();
      for (const line of envLines(await runningSandbox(name))) print(line);
    });

  sandbox
    .command('token')
    .description("mint a token for a ServiceAccount of the sandbox (TokenRequest API)")
    .argument('<serviceaccount>', 'the ServiceAccount name')
    .option('-n, --namespace <namespace>', 'its namespace', 'default')
    .option('--duration <seconds>', 'lifetime in seconds', '3600')
    .action(async (serviceAccount: string, opts: { namespace: string; duration: string }) => {
      const { name } = sandbox.opts<{ name: string }>();
      const kc = new KubeConfig();
      kc.loadFromFile((await runningSandbox(name)).kubeconfig);
      print(await mintServiceAccountToken(kc, opts.namespace, serviceAccount, Number(opts.duration)));
    });

  sandbox
    .command('repo')
    .description("repositories on the sandbox's Git server")
    .command('create')
    .description('create an empty repository and print its clone URL')
    .argument('<repository>', 'a name such as "apps" or "team/apps"')
    .option('--branch <branch>', 'default branch', 'main')
    .option('--webhook-url <url>', 'after every push, POST a GitHub push event here, signed with $WEIR_WEBHOOK_SECRET (e.g. the controller\'s /hooks/git)')
    .action(async (repository: string, opts: { branch: string; webhookUrl?: string }) => {
      const { name } = sandbox.opts<{ name: string }>();
      let webhook: { url: string; secret: string } | undefined;
      if (opts.webhookUrl !== undefined) {
        const secret = process.env.WEIR_WEBHOOK_SECRET;
        if (!secret) throw new Error('--webhook-url needs the secret in WEIR_WEBHOOK_SECRET (not a flag, so it stays out of ps)');
        webhook = { url: opts.webhookUrl, secret };
      }
      print(await createSandboxRepository(await runningSandbox(name), repository, { defaultBranch: opts.branch, ...(webhook ? { webhook } : {}) }));
    });
}
