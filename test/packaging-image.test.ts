// The Dockerfile without a container engine: what it copies exists and is
// not excluded by .dockerignore, and the image's layout, built here with the
// same steps (npm ci of production dependencies, the COPY lines, the
// .dockerignore exclusions), runs the entrypoint.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { cp, mkdtemp, readFile, readdir, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join, matchesGlob, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';

const run = promisify(execFile);
const root = fileURLToPath(new URL('..', import.meta.url));

interface Copy {
  stage: number;
  from?: string;
  sources: string[];
  dest: string;
}

/** Instructions of a Dockerfile, continuation lines joined, comments dropped. */
function instructions(text: string): { op: string; args: string }[] {
  const joined = text
    .split('\n')
    .filter((l) => !/^\s*#/.test(l))
    .join('\n')
    .replace(/\\\n/g, ' ');
  return joined
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '')
    .map((l) => {
      const [op = '', ...rest] = l.split(/\s+/);
      return { op: op.toUpperCase(), args: rest.join(' ') };
    });
}

function parse(text: string): { copies: Copy[]; runs: { stage: number; command: string }[]; entrypoint: string[]; stages: number } {
  let stage = -1;
  const copies: Copy[] = [];
  const runs: { stage: number; command: string }[] = [];
  let entrypoint: string[] = [];
  for (const { op, args } of instructions(text)) {
    if (op === 'FROM') stage++;
    if (op === 'RUN') runs.push({ stage, command: args });
    if (op === 'ENTRYPOINT') entrypoint = JSON.parse(args) as string[];
    if (op === 'COPY') {
      const words = args.split(/\s+/);
      const from = words.find((w) => w.startsWith('--from='))?.slice('--from='.length);
      const paths = words.filter((w) => !w.startsWith('--'));
      copies.push({ stage, ...(from ? { from } : {}), sources: paths.slice(0, -1), dest: paths.at(-1) ?? '' });
    }
  }
  return { copies, runs, entrypoint, stages: stage + 1 };
}

/** .dockerignore as Docker reads it: later lines win, `!` re-includes. */
function ignoreMatcher(text: string): (path: string) => boolean {
  const rules = text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !l.startsWith('#'))
    .map((l) => (l.startsWith('!') ? { include: true, pattern: l.slice(1).replace(/\/$/, '') } : { include: false, pattern: l.replace(/\/$/, '') }));
  return (path) => {
    let ignored = false;
    for (const r of rules) {
      // A pattern matching a directory covers what is inside it.
      const parts = path.split('/');
      const hit = parts.some((_, i) => matchesGlob(parts.slice(0, i + 1).join('/'), r.pattern));
      if (hit) ignored = !r.include;
    }
    return ignored;
  };
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => relative(dir, join(e.parentPath, e.name)));
}

describe('container image (Dockerfile)', () => {
  let dockerfile: ReturnType<typeof parse>;
  let ignored: (path: string) => boolean;
  let layout: string;

  before(async () => {
    dockerfile = parse(await readFile(join(root, 'Dockerfile'), 'utf8'));
    ignored = ignoreMatcher(await readFile(join(root, '.dockerignore'), 'utf8'));
    layout = await mkdtemp(join(tmpdir(), 'weir-image-'));
  });
  after(async () => {
    await rm(layout, { recursive: true, force: true });
  });

  it('is multi-stage on node:24-slim, installs production dependencies only, runs as non-root', async () => {
    const text = await readFile(join(root, 'Dockerfile'), 'utf8');
    assert.ok(dockerfile.stages >= 2, 'multi-stage');
    assert.match(text, /^ARG NODE_IMAGE=node:24-slim$/m);
    assert.ok(dockerfile.runs.some((r) => r.stage === 0 && r.command.includes('npm ci --omit=dev --ignore-scripts')), 'npm ci --omit=dev in the first stage');
    assert.match(text, /^USER 1000:1000$/m);
    assert.deepEqual(dockerfile.entrypoint, ['node', 'bin/weir.js', 'controller']);
  });

  it('copies only files that exist and that .dockerignore lets into the build context', () => {
    const fromContext = dockerfile.copies.filter((c) => c.from === undefined);
    assert.ok(fromContext.length > 0);
    for (const c of fromContext) {
      for (const source of c.sources) {
        const path = source.replace(/^\.\//, '').replace(/\/$/, '');
        assert.ok(existsSync(join(root, path)), `COPY ${source}: exists`);
        assert.equal(ignored(path), false, `COPY ${source}: not excluded by .dockerignore`);
      }
    }
    // The context leaves tests out and keeps the sources.
    assert.equal(ignored('src/engine/plan.test.ts'), true);
    assert.equal(ignored('src/engine/testkit.ts'), true);
    assert.equal(ignored('test/canary-basic.test.ts'), true);
    assert.equal(ignored('node_modules/axios/index.js'), true);
    assert.equal(ignored('src/engine/plan.ts'), false);
  });

  it('the entrypoint runs from the layout the image would have', { timeout: 120_000 }, async () => {
    // Stage 0: package files, then npm ci of production dependencies (from the npm cache).
    const deps = join(layout, 'deps');
    for (const c of dockerfile.copies.filter((x) => x.stage === 0)) {
      for (const s of c.sources) await cp(join(root, s), join(deps, s));
    }
    try {
      await run('npm', ['ci', '--omit=dev', '--ignore-scripts', '--no-audit', '--no-fund', '--offline'], { cwd: deps, env: { ...process.env, npm_config_loglevel: 'error' } });
    } catch (err) {
      throw new Error(`npm ci --offline failed (run "npm ci" once so the npm cache holds the packages): ${err instanceof Error ? err.message : String(err)}`, { cause: err });
    }
    // Final stage: node_modules from stage 0, then each COPY from the context, minus .dockerignore.
    const app = join(layout, 'app');
    for (const c of dockerfile.copies.filter((x) => x.stage === dockerfile.stages - 1)) {
      for (const s of c.sources) {
        if (c.from !== undefined) {
          await cp(join(deps, relative('/app', s)), join(app, c.dest), { recursive: true });
          continue;
        }
        const source = join(root, s);
        // COPY dir ./dir copies the directory's contents; COPY file ./ keeps the file's name.
        const target = (await stat(source)).isDirectory() ? join(app, c.dest) : join(app, c.dest, basename(s));
        await cp(source, target, { recursive: true, filter: (from) => !ignored(relative(root, from)) });
      }
    }
    assert.ok(existsSync(join(app, 'bin', 'weir.js')));
    assert.ok(existsSync(join(app, 'node_modules', '@kubernetes', 'client-node')), 'production dependencies installed');
    assert.ok(!existsSync(join(app, 'node_modules', 'typescript')), 'no devDependencies');
    assert.deepEqual((await filesUnder(join(app, 'src'))).filter((f) => f.endsWith('.test.ts')), [], 'no tests in the image');

    // The entrypoint, as the image runs it (node is the image's Node 24: ours).
    const [cmd = '', ...args] = dockerfile.entrypoint;
    const node = cmd === 'node' ? process.execPath : cmd;
    const env = { PATH: process.env.PATH ?? '', HOME: join(layout, 'home'), NODE_ENV: 'production' };
    const help = await run(node, [...args, '--help'], { cwd: app, env });
    assert.match(help.stdout, /run the Weir controller/);
    assert.match(help.stdout, /--leader-elect/);
    const version = await run(node, ['bin/weir.js', 'version'], { cwd: app, env });
    const pkg = JSON.parse(await readFile(join(root, 'package.json'), 'utf8')) as { version: string };
    assert.match(version.stdout, new RegExp(`^weir ${pkg.version.replace(/\./g, '\\.')} \\(node v24\\.`));
  });
});
