// The sandbox's state file: written by the supervisor, read by every other
// command (up/down/status/env and the tests). Written atomically.
import { readFile, rename, writeFile } from 'node:fs/promises';

export type SandboxPhase = 'starting' | 'ready' | 'stopping' | 'stopped' | 'failed';

export interface ComponentRecord {
  name: string;
  pid: number;
  /** Substring of /proc/PID/cmdline that identifies it, to avoid signalling a reused pid. */
  match: string;
}

export interface SandboxState {
  name: string;
  dir: string;
  phase: SandboxPhase;
  /** The supervisor: leader of the process group every sandbox process belongs to. */
  pid: number;
  startedAt: string;
  message?: string;
  kubeconfig: string;
  apiServerUrl: string;
  prometheusUrl: string;
  gitUrl: string;
  etcdUrl: string;
  nodeName: string;
  /** The loopback /16 that pods get their addresses from, e.g. 127.42.0.0/16. */
  podCidr: string;
  kubectl: string;
  components: ComponentRecord[];
}

export async function readState(file: string): Promise<SandboxState | undefined> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw err;
  }
  return JSON.parse(text) as SandboxState;
}

export async function writeState(file: string, state: SandboxState): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, JSON.stringify(state, null, 2) + '\n', { mode: 0o600 });
  await rename(tmp, file);
}
