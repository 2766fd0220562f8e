// `weir sandbox up|down|status|env`: start the supervisor detached and wait
// for it, find a running one, stop every process of the sandbox by pid.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, openSync } from 'node:fs';
import { access, mkdir, readdir, rm, writeFile, readFile, unlink } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { constants } from 'node:fs';
import { GiveUp, sleep, waitFor } from '../util/wait.ts';
import { ensureHostTools, ensureSandboxTools } from './host-setup.ts';
import { instanceDir, instanceFiles, repoRoot } from './paths.ts';
import { pidAlive, processCmdline, processGroupMembers } from './processes.ts';
import { readState, writeState, type SandboxState } from './state.ts';

const SUPERVISOR_ENTRY = join(repoRoot, 'src', 'sandbox', 'supervisor-main.ts');

export type Progress = (line: string) => void;

/** `state` when it describes a supervisor that is alive now (not a reused pid). */
export async function liveState(state: SandboxState | undefined): Promise<SandboxState | undefined> {
  if (!state || !pidAlive(state.pid)) return undefined;
  const cmdline = await processCmdline(state.pid);
  return cmdline?.includes('supervisor-main.ts') && cmdline.includes(state.dir) ? state : undefined;
}

export async function sandboxStatus(name: string): Promise<{ running: boolean; state: SandboxState | undefined }> {
  const state = await readState(instanceFiles(instanceDir(name)).state);
  return { running: (await liveState(state)) !== undefined, state };
}

/** The /16 for pods: 42 for the default instance, another free one for the rest. */
async function choosePodOctet(name: string): Promise<number> {
  if (name === 'default') return 42;
  const taken = new Set<number>([42]);
  const root = dirname(instanceDir(name));
  for (const other of await readdir(root).catch(() => [])) {
    const state = await readState(join(root, other, 'state.json')).catch(() => undefined);
    const live = other === name ? undefined : await liveState(state);
    if (live) taken.add(Number(live.podCidr.split('.')[1]));
  }
  let octet = 50 + (createHash('sha256').update(name).digest().readUInt8(0) % 150);
  while (taken.has(octet)) octet = octet >= 199 ? 50 : octet + 1;
  return octet;
}

export interface UpOptions {
  name: string;
  progress: Progress;
  /** How long to wait for the sandbox to become ready. */
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface UpResult {
  state: SandboxState;
  /** False when a sandbox of that name was already running. */
  started: boolean;
}

export async function sandboxUp(opts: UpOptions): Promise<UpResult> {
  const dir = instanceDir(opts.name);
  const files = instanceFiles(dir);
  const existing = await readState(files.state);
  const running = await liveState(existing);
  if (running) {
    if (running.phase !== 'ready') opts.progress(`sandbox "${opts.name}" is starting (pid ${running.pid}); waiting for it`);
    return { state: await waitReady(files.state, running.pid, opts), started: false };
  }
  await ensureHostTools(opts.progress);
  await ensureSandboxTools(opts.progress);

  await mkdir(dir, { recursive: true });
  const release = await acquireLock(files.lock);
  try {
    // A stale group from a supervisor that was SIGKILLed: stop what is left of it.
    if (existing) await stopGroup(existing.pid, 5_000);
    for (const entry of await readdir(dir)) if (entry !== 'supervisor.lock') await rm(join(dir, entry), { recursive: true, force: true });
    const octet = await choosePodOctet(opts.name);
    const log = openSync(files.log, 'a');
    const child = spawn(process.execPath, [SUPERVISOR_ENTRY, opts.name, dir, String(octet)], {
      detached: true,
      stdio: ['ignore', log, log],
      cwd: repoRoot,
      env: process.env,
    });
    closeSync(log);
    child.unref();
    const pid = child.pid;
    if (pid === undefined) throw new Error('could not start the sandbox supervisor');
    opts.progress(`starting sandbox "${opts.name}" (supervisor pid ${pid}, log ${files.log})`);
    const state = await waitReady(files.state, pid, opts).catch(async (err: unknown) => {
      await stopGroup(pid, 15_000);
      throw err;
    });
    return { state, started: true };
  } finally {
    await release();
  }
}

async function waitReady(stateFile: string, pid: number, opts: UpOptions): Promise<SandboxState> {
  let lastMessage = '';
  return waitFor(
    async () => {
      if (opts.signal?.aborted) throw new GiveUp('interrupted');
      const state = await readState(stateFile).catch(() => undefined);
      if (state?.pid === pid && state.message && state.message !== lastMessage) {
        lastMessage = state.message;
        if (state.phase !== 'ready') opts.progress(`  ${state.message}`);
      }
      if (state?.pid === pid && (state.phase === 'failed' || state.phase === 'stopped')) {
        throw new GiveUp(`sandbox failed to start: ${state.message ?? 'unknown error'}`);
      }
      if (!pidAlive(pid)) throw new GiveUp(`sandbox supervisor exited during start-up; see ${instanceFiles(dirname(stateFile)).log}`);
      return state?.pid === pid && state.phase === 'ready' ? state : undefined;
    },
    { what: 'the sandbox to become ready', timeoutMs: opts.timeoutMs ?? 300_000, intervalMs: 200 },
  );
}

/** A lock file holding the pid of the `up` that owns it; stale locks are taken over. */
async function acquireLock(file: string): Promise<() => Promise<void>> {
  for (let attempt = 0; attempt < 3; attempt++) {
    try {
      await writeFile(file, String(process.pid), { flag: 'wx' });
      return async () => {
        await unlink(file).catch(() => undefined);
      };
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      const holder = Number(await readFile(file, 'utf8').catch(() => '0'));
      if (holder > 0 && pidAlive(holder)) throw new Error(`another "weir sandbox up" (pid ${holder}) is starting this sandbox`, { cause: err });
      await unlink(file).catch(() => undefined);
    }
  }
  throw new Error(`could not take the sandbox lock ${file}`);
}

/** SIGTERM the group's leader, then SIGKILL whatever of the group is left after `graceMs`. */
export async function stopGroup(pgid: number, graceMs: number): Promise<number[]> {
  const members = await processGroupMembers(pgid);
  if (members.length === 0) return [];
  if (members.includes(pgid)) {
    try {
      process.kill(pgid, 'SIGTERM');
    } catch {
      // already gone
    }
  } else {
    for (const pid of members) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
  }
  const deadline = Date.now() + graceMs;
  while (Date.now() < deadline && (await processGroupMembers(pgid)).length > 0) await sleep(100);
  const left = await processGroupMembers(pgid);
  for (const pid of left) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
  await waitFor(async () => (await processGroupMembers(pgid)).length === 0, { what: `process group ${pgid} to exit`, timeoutMs: 10_000, intervalMs: 50 });
  return members;
}

export async function sandboxDown(name: string, progress: Progress): Promise<{ stopped: number[] }> {
  const files = instanceFiles(instanceDir(name));
  const state = await readState(files.state);
  if (!state) {
    progress(`sandbox "${name}" is not running`);
    return { stopped: [] };
  }
  const stopped = await stopGroup(state.pid, 30_000);
  const current = await readState(files.state);
  if (current) await writeState(files.state, { ...current, phase: 'stopped', message: 'stopped by weir sandbox down', components: [] });
  progress(stopped.length ? `sandbox "${name}" stopped (${stopped.length} processes)` : `sandbox "${name}" is not running`);
  return { stopped };
}

export function envLines(state: SandboxState): string[] {
  const q = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  return [
    `export KUBECONFIG=${q(state.kubeconfig)}`,
    `export WEIR_SANDBOX=${q(state.name)}`,
    `export WEIR_PROMETHEUS_URL=${q(state.prometheusUrl)}`,
    `export WEIR_GIT_URL=${q(state.gitUrl)}`,
    `export PATH=${q(dirname(state.kubectl))}:"$PATH"`,
  ];
}

export async function fileExists(path: string): Promise<boolean> {
  return access(path, constants.F_OK).then(
    () => true,
    () => false,
  );
}
