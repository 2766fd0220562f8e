// Child processes of the sandbox and the process-group bookkeeping that lets
// `weir sandbox down` stop every one of them by pid.
import { spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { readdir, readFile } from 'node:fs/promises';
import { sleep } from '../util/wait.ts';

export interface ManagedProcess {
  name: string;
  pid: number;
  child: ChildProcess;
  /** Resolves with the exit code (or signal name) when the process ends. */
  exited: Promise<number | string>;
  hasExited(): boolean;
  /** SIGTERM, then SIGKILL after `graceMs`; resolves when it has exited. */
  stop(graceMs?: number): Promise<void>;
}

export interface SpawnOptions {
  name: string;
  command: string;
  args: string[];
  logFile: string;
  env?: NodeJS.ProcessEnv;
  cwd?: string;
}

/** Starts a process in the caller's process group with output appended to a log file. */
export function spawnManaged(opts: SpawnOptions): ManagedProcess {
  const log = createWriteStream(opts.logFile, { flags: 'a' });
  const child = spawn(opts.command, opts.args, {
    env: opts.env ?? process.env,
    cwd: opts.cwd,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout.pipe(log, { end: false });
  child.stderr.pipe(log, { end: false });
  let done = false;
  const exited = new Promise<number | string>((resolve) => {
    child.once('error', (err) => {
      done = true;
      log.end(`${opts.name}: failed to start: ${err.message}\n`);
      resolve('spawn-error');
    });
    child.once('exit', (code, signal) => {
      done = true;
      child.stdout.unpipe(log);
      child.stderr.unpipe(log);
      log.end();
      resolve(code ?? signal ?? 'unknown');
    });
  });
  if (child.pid === undefined) {
    // spawn failed synchronously (e.g. ENOENT is reported through 'error').
  }
  return {
    name: opts.name,
    pid: child.pid ?? -1,
    child,
    exited,
    hasExited: () => done,
    async stop(graceMs = 10_000) {
      if (done) return;
      child.kill('SIGTERM');
      const killed = await Promise.race([exited.then(() => true), sleep(graceMs).then(() => false)]);
      if (!killed) {
        child.kill('SIGKILL');
        await exited;
      }
    },
  };
}

export function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The command line of a live process, or undefined when it is gone. */
export async function processCmdline(pid: number): Promise<string | undefined> {
  try {
    const raw = await readFile(`/proc/${pid}/cmdline`, 'utf8');
    return raw.split('\0').join(' ').trim();
  } catch {
    return undefined;
  }
}

/** The pids of every live (non-zombie) process whose process group is `pgid`. */
export async function processGroupMembers(pgid: number): Promise<number[]> {
  const members: number[] = [];
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = await readFile(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Fields after the parenthesised command name: state ppid pgrp ...
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    if (fields[0] !== 'Z' && Number(fields[2]) === pgid) members.push(Number(entry));
  }
  return members;
}
