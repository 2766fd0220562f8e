// The Weir controller as a real process against the test sandbox, so tests
// can kill it (SIGKILL) and start it again.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import { waitFor } from '../../src/util/wait.ts';
import type { TestSandbox } from './sandbox.ts';

export interface ControllerProcess {
  child: ChildProcess;
  url: string;
  logFile: string;
  /** SIGKILL, no cleanup: as if the machine died. */
  kill(): Promise<void>;
  stop(): Promise<void>;
}

export async function startController(sb: TestSandbox, opts: { namespace: string; logName: string; args?: string[] }): Promise<ControllerProcess> {
  const logDir = join(sb.state.dir, 'logs', 'controllers');
  await mkdir(logDir, { recursive: true });
  const logFile = join(logDir, `${opts.logName}.log`);
  const log = createWriteStream(logFile, { flags: 'a' });
  const child = spawn(
    process.execPath,
    ['bin/weir.js', 'controller', '--kubeconfig', sb.state.kubeconfig, '--namespace', opts.namespace, '--listen', '127.0.0.1:0', '--cache-dir', join(sb.state.dir, 'git-cache', opts.logName), ...(opts.args ?? [])],
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
