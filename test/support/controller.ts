// The Weir controller as a real process against the test sandbox, so tests
// can kill it (SIGKILL) and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../src/util/wait.ts';
import { after, before } from 'node:test';
import { namespace } from './demo-app.ts';
import { installCrds } from './rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './sandbox.ts';

export interface ControllerProcess {
  child: ChildProcess;
  url: string;
  logFile: string;
  /** SIGKILL, no cleanup: as if the machine died. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startController(
  sb: TestSandbox,
  opts: {
    /** Watch this namespace only; undefined: all namespaces. */
    namespace: string | undefined;
    logName: string;
    args?: string[];
    /** Default: the sandbox admin's kubeconfig. */
    kubeconfig?: string;
    /** Options for node itself, before the script (e.g. heap limits). */
    nodeArgs?: string[];
  },
): Promise<ControllerProcess> {
  const logDir = join(sb.state.dir, 'logs', 'controllers');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${opts.logName}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    [...(opts.nodeArgs ?? []), 'bin/weir.js', 'controller', '--kubeconfig', opts.kubeconfig ?? sb.state.kubeconfig, ...(opts.namespace === undefined ? [] : ['--namespace', opts.namespace]), '--listen', '127.0.0.1:0', '--cache-dir', join(sb.state.dir, 'git-cache', opts.logName), ...(opts.args ?? [])],
    { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, WEIR_LOG_LEVEL: 'debug' } },
  );
  let output = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => { resolve(); }));
  child.stdout.on('data', (c: Buffer) => {
    output += c.toString();
    log.write(c);
  });
  child.stderr.on('data', (c: Buffer) => log.write(c));
  const url = await waitFor(
    () => {
      if (child.exitCode !== null) throw new Error(`controller exited (${child.exitCode}); see ${logFile}`);
      return /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(output)?.[1];
    },
    { what: 'the controller to start', timeoutMs: 20_000, intervalMs: 50 },
  );
  return {
    child,
    url,
    logFile,
    async kill() {
      child.kill('SIGKILL');
      await exited;
      log.end();
    },
    async stop() {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
      log.end();
    },
  };
}

export interface ControllerNamespace {
  readonly ns: string;
  readonly sb: TestSandbox;
  readonly controller: ControllerProcess;
  /** Stops the controller and starts it again (`wipeCache`: with its Git cache deleted, as on a new machine). */
  restart(opts?: { wipeCache?: boolean }): Promise<ControllerProcess>;
}

/**
 * For a describe block: before its tests, a fresh namespace on the test
 * sandbox, Weir's CRDs installed, and a controller process watching that
 * namespace; after them, the controller stopped and the namespace deleted.
 */
export function useControllerNamespace(prefix: string, opts: { args?: string[] } = {}): ControllerNamespace {
  const ns = uniqueName(prefix);
  let sandbox: TestSandbox | undefined;
  let proc: ControllerProcess | undefined;
  before(async () => {
    sandbox = await testSandbox();
    await installCrds(sandbox);
    await sandbox.core.createNamespace({ body: namespace(ns) });
    proc = await startController(sandbox, { namespace: ns, logName: ns, ...(opts.args ? { args: opts.args } : {}) });
  });
  after(async () => {
    await proc?.stop();
    await sandbox?.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });
  return {
    ns,
    get sb(): TestSandbox {
      if (!sandbox) throw new Error('the test sandbox is not ready: use it inside a test');
      return sandbox;
    },
    get controller(): ControllerProcess {
      if (!proc) throw new Error('the controller is not started: use it inside a test');
      return proc;
    },
    async restart(restartOpts = {}) {
      if (!sandbox || !proc) throw new Error('the controller is not started: use it inside a test');
      await proc.stop();
      if (restartOpts.wipeCache === true) await rm(join(sandbox.state.dir, 'git-cache', ns), { recursive: true, force: true });
      proc = await startController(sandbox, { namespace: ns, logName: ns, ...(opts.args ? { args: opts.args } : {}) });
      return proc;
    },
  };
}
