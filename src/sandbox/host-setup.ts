// What the sandbox needs from the machine: Debian packages (git, openssl) and
// its servers and tools (Kubernetes, etcd, Prometheus, helm, kustomize, the
// Gateway API CRDs) built once from their Go modules into the cache.
import { spawn } from 'node:child_process';
import { access, constants } from 'node:fs/promises';
import { join } from 'node:path';
import { repoRoot } from './paths.ts';
import type { Progress } from './lifecycle.ts';

/** Commands the sandbox runs, and the Debian packages that provide them. */
export const HOST_TOOLS: Record<string, string> = {
  git: 'git',
  openssl: 'openssl',
  ps: 'procps',
};

async function onPath(command: string): Promise<boolean> {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    if (!dir) continue;
    try {
      await access(join(dir, command), constants.X_OK);
      return true;
    } catch {
      // keep looking
    }
  }
  return false;
}

function runStreaming(command: string, args: string[], progress: Progress): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
    let tail = '';
    const onData = (chunk: Buffer): void => {
      const text = chunk.toString('utf8');
      tail = (tail + text).slice(-4000);
      for (const line of text.split('\n')) if (line.startsWith('[')) progress(line);
    };
    child.stdout.on('data', onData);
    child.stderr.on('data', onData);
    child.on('error', reject);
    child.on('exit', (code) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} ${args.join(' ')} failed (exit ${String(code)}):\n${tail}`));
    });
  });
}

export async function ensureHostTools(progress: Progress): Promise<void> {
  const missing: string[] = [];
  for (const [command, pkg] of Object.entries(HOST_TOOLS)) if (!(await onPath(command))) missing.push(pkg);
  if (missing.length === 0) return;
  progress(`installing Debian packages: ${missing.join(' ')}`);
  await runStreaming('bash', [join(repoRoot, 'scripts', 'install-debian-packages.sh'), ...missing], progress);
}

/** Runs the build script, which owns the cache rule: it returns at once when the cache is valid. */
export async function ensureSandboxTools(progress: Progress): Promise<void> {
  const started = Date.now();
  const timer = setInterval(() => {
    progress(`  still building... ${Math.round((Date.now() - started) / 1000)}s`);
  }, 30_000);
  try {
    await runStreaming('bash', [join(repoRoot, 'scripts', 'build-sandbox-tools.sh')], progress);
  } finally {
    clearInterval(timer);
  }
}
