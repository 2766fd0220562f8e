// The demo's controller: `weir controller` as a process of its own (its own
// process group, so it can outlive the demo with --keep), logging to a file
// in the sandbox's state directory, its pid recorded there so `--down`
// stops it by pid. The webhook secret goes through the environment, never
// argv (visible in ps).
import { spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { pidAlive, processCmdline } from '../sandbox/processes.ts';
import { repoRoot } from '../sandbox/paths.ts';
import { GiveUp, sleep, waitFor } from '../util/wait.ts';

export interface DemoControllerRecord {
  pid: number;
  url: string;
  logFile: string;
  namespace: string;
  /** Part of the process's command line, to never signal a reused pid. */
  match: string;
  startedAt: string;
}

/** Where the demo keeps its files inside a sandbox's state directory. */
export function demoDir(sandboxDir: string): string {
  return join(sandboxDir, 'demo');
}

function recordFile(sandboxDir: string): string {
  return join(demoDir(sandboxDir), 'controller.json');
}

/** Environment the controller would read as flags (KUBECONFIG, WEIR_*): the demo passes its own; the log level stays the user's. */
function isControllerSetting(name: string): boolean {
  return name === 'KUBECONFIG' || (name.startsWith('WEIR_') && name !== 'WEIR_LOG_LEVEL');
}

export async function startDemoController(opts: { sandboxDir: string; kubeconfig: string; namespace: string; webhookSecret: string }): Promise<DemoControllerRecord> {
  const dir = demoDir(opts.sandboxDir);
  await mkdir(dir, { recursive: true });
  const logFile = join(dir, 'controller.log');
  const env: NodeJS.ProcessEnv = Object.fromEntries(Object.entries(process.env).filter(([name]) => !isControllerSetting(name)));
  env.WEIR_WEBHOOK_SECRET = opts.webhookSecret;
  const log = openSync(logFile, 'w');
  const cacheDir = join(dir, 'git-cache');
  const child = spawn(
    process.execPath,
    [join(repoRoot, 'bin', 'weir.js'), 'controller', '--kubeconfig', opts.kubeconfig, '--namespace', opts.namespace, '--listen', '127.0.0.1:0', '--cache-dir', cacheDir],
    { detached: true, stdio: ['ignore', log, log], env, cwd: repoRoot },
  );
  closeSync(log);
  child.unref();
  const pid = child.pid;
  if (pid === undefined) throw new Error('could not start the controller');
  const url = await waitFor(
    async () => {
      if (!pidAlive(pid)) throw new GiveUp(`the controller exited at start-up; see ${logFile}`);
      return /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(await readFile(logFile, 'utf8'))?.[1];
    },
    { what: 'the controller to start', timeoutMs: 30_000, intervalMs: 100 },
  ).catch(async (err: unknown) => {
    await stopPid(pid, cacheDir);
    throw err;
  });
  const record: DemoControllerRecord = { pid, url, logFile, namespace: opts.namespace, match: cacheDir, startedAt: new Date().toISOString() };
  await writeFile(recordFile(opts.sandboxDir), JSON.stringify(record, null, 2) + '\n');
  await waitFor(async () => (await fetch(`${url}/readyz`)).status === 200, { what: 'the controller to be ready (/readyz)', timeoutMs: 30_000, intervalMs: 200 });
  return record;
}

/** SIGTERM, then SIGKILL after the grace period; only while the pid still runs the command matched. */
async function stopPid(pid: number, match: string, graceMs = 10_000): Promise<boolean> {
  const isOurs = async (): Promise<boolean> => pidAlive(pid) && ((await processCmdline(pid))?.includes(match) ?? false);
  if (!(await isOurs())) return false;
  process.kill(pid, 'SIGTERM');
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (await isOurs())) await sleep(100);
  if (await isOurs()) process.kill(pid, 'SIGKILL');
  await waitFor(async () => !(await isOurs()), { what: `the controller (pid ${pid}) to exit`, timeoutMs: 10_000, intervalMs: 50 });
  return true;
}

/** Stops the controller a demo recorded in this sandbox's state directory; the pid it stopped, if any. */
export async function stopDemoController(sandboxDir: string): Promise<number | undefined> {
  const file = recordFile(sandboxDir);
  let record: DemoControllerRecord;
  try {
    record = JSON.parse(await readFile(file, 'utf8')) as DemoControllerRecord;
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  const stopped = await stopPid(record.pid, record.match);
  await rm(file, { force: true });
  return stopped ? record.pid : undefined;
}
