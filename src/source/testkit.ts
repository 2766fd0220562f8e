// Test helpers: the sandbox Git server in-process, and work repositories
// driven by the git CLI. Only for tests.
import { execFile } from 'node:child_process';
import { mkdir, mkdtemp, rm, symlink, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { startGitServer, type GitServer, type GitServerAuth } from '../sandbox/git-server.ts';

const execFileAsync = promisify(execFile);

export const TEST_AUTHOR = { name: 'Dev', email: 'dev@example.com' };

/** Temporary directories removed by `cleanup()`. */
export class TempDirs {
  readonly #dirs: string[] = [];

  async make(prefix = 'weir-source-'): Promise<string> {
    const dir = await mkdtemp(path.join(tmpdir(), prefix));
    this.#dirs.push(dir);
    return dir;
  }

  async cleanup(): Promise<void> {
    for (const dir of this.#dirs.splice(0)) await rm(dir, { recursive: true, force: true });
  }
}

export interface TestServer {
  server: GitServer;
  close(): Promise<void>;
}

export async function startTestServer(temp: TempDirs, auth?: GitServerAuth): Promise<TestServer> {
  const root = await temp.make('weir-git-root-');
  const server = await startGitServer({ root, port: 0, ...(auth === undefined ? {} : { auth }) });
  return { server, close: () => server.close() };
}

/** Runs the git CLI without user or system configuration. */
export async function gitCli(cwd: string, args: string[]): Promise<string> {
  const { stdout } = await execFileAsync(
    'git',
    ['-c', `user.name=${TEST_AUTHOR.name}`, '-c', `user.email=${TEST_AUTHOR.email}`, '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      env: {
        PATH: process.env.PATH ?? '/usr/bin:/bin',
        HOME: cwd,
        GIT_CONFIG_NOSYSTEM: '1',
        GIT_TERMINAL_PROMPT: '0',
        LC_ALL: 'C',
      },
      maxBuffer: 64 * 1024 * 1024,
    },
  );
  return stdout.trim();
}

/** A work repository on `main` whose `origin` is `url`. */
export class WorkRepo {
  readonly dir: string;
  readonly url: string;

  private constructor(dir: string, url: string) {
    this.dir = dir;
    this.url = url;
  }

  static async create(temp: TempDirs, url: string): Promise<WorkRepo> {
    const dir = await temp.make('weir-work-');
    await gitCli(dir, ['init', '--quiet', '--initial-branch=main']);
    await gitCli(dir, ['remote', 'add', 'origin', url]);
    return new WorkRepo(dir, url);
  }

  static async clone(temp: TempDirs, url: string, branch = 'main'): Promise<WorkRepo> {
    const dir = await temp.make('weir-clone-');
    await gitCli(dir, ['clone', '--quiet', '--branch', branch, url, '.']);
    return new WorkRepo(dir, url);
  }

  /**
   * Writes files (string or bytes), deletes those mapped to null, creates
   * symlinks for `{ symlink: target }`, then commits everything. Returns the sha.
   */
  async commit(files: Record<string, string | Uint8Array | null | { symlink: string }>, message: string): Promise<string> {
    for (const [file, content] of Object.entries(files)) {
      const full = path.join(this.dir, file);
      if (content === null) {
        await unlink(full);
        continue;
      }
      await mkdir(path.dirname(full), { recursive: true });
      if (typeof content === 'string' || content instanceof Uint8Array) await writeFile(full, content);
      else await symlink(content.symlink, full);
    }
    await gitCli(this.dir, ['add', '--all']);
    await gitCli(this.dir, ['commit', '--quiet', '--allow-empty', '-m', message]);
    return this.head();
  }

  head(): Promise<string> {
    return gitCli(this.dir, ['rev-parse', 'HEAD']);
  }

  async push(branch = 'main', force = false): Promise<void> {
    await gitCli(this.dir, ['push', '--quiet', ...(force ? ['--force'] : []), 'origin', `HEAD:refs/heads/${branch}`]);
  }

  async pull(branch = 'main'): Promise<void> {
    await gitCli(this.dir, ['pull', '--quiet', '--ff-only', 'origin', branch]);
  }

  git(args: string[]): Promise<string> {
    return gitCli(this.dir, args);
  }
}

/** The commit `branch` points at on the server, via `git ls-remote` (undefined when missing). */
export async function lsRemote(temp: TempDirs, url: string, branch: string): Promise<string | undefined> {
  const dir = await temp.make('weir-ls-');
  const out = await gitCli(dir, ['ls-remote', url, `refs/heads/${branch}`]);
  return out === '' ? undefined : out.split(/\s+/)[0];
}

/** Deterministic incompressible-ish text of about `bytes` bytes. */
export function noise(seed: number, bytes: number): string {
  let x = seed * 2654435761 + 1;
  let out = '';
  while (out.length < bytes) {
    x = (x * 1103515245 + 12345) % 2147483648;
    out += x.toString(36);
  }
  return out.slice(0, bytes);
}
