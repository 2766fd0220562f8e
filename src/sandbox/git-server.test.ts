import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { request } from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { test, type TestContext } from 'node:test';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { startGitServer, type GitServer, type GitServerOptions } from './git-server.ts';

const execFileAsync = promisify(execFile);

const author = { name: 'Weir Test', email: 'test@weir.invalid' };

/** Runs the git CLI with no prompts, no user/system config and a fixed identity. */
async function gitRun(args: string[], cwd?: string, extraEnv: Record<string, string> = {}): Promise<{ stdout: string; stderr: string }> {
  return execFileAsync('git', ['-c', `user.name=${author.name}`, '-c', `user.email=${author.email}`, ...args], {
    ...(cwd === undefined ? {} : { cwd }),
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: os.tmpdir(),
      GIT_CONFIG_NOSYSTEM: '1',
      GIT_CONFIG_GLOBAL: '/dev/null',
      GIT_TERMINAL_PROMPT: '0',
      LC_ALL: 'C',
      ...extraEnv,
    },
    timeout: 30_000,
    maxBuffer: 64 * 1024 * 1024,
  });
}

async function gitCli(args: string[], cwd?: string): Promise<string> {
  return (await gitRun(args, cwd)).stdout;
}

async function tempDir(t: TestContext, prefix: string): Promise<string> {
  const dir = await mkdtemp(path.join(os.tmpdir(), prefix));
  t.after(() => rm(dir, { recursive: true, force: true }));
  return dir;
}

async function startServer(t: TestContext, extra: Omit<GitServerOptions, 'root'> = {}): Promise<{ server: GitServer; work: string }> {
  const work = await tempDir(t, 'weir-git-server-');
  const server = await startGitServer({ root: path.join(work, 'repos'), ...extra });
  t.after(() => server.close());
  return { server, work };
}

/** Initialises a local repository with isomorphic-git and commits one file on main. */
async function isoCommit(dir: string, file: string, content: string): Promise<string> {
  await git.init({ fs, dir, defaultBranch: 'main' });
  await writeFile(path.join(dir, file), content);
  await git.add({ fs, dir, filepath: file });
  return git.commit({ fs, dir, message: `add ${file}`, author });
}

function withCredentials(url: string, username: string, password: string): string {
  const u = new URL(url);
  u.username = username;
  u.password = password;
  return u.toString();
}

async function rejectsWithStatus(promise: Promise<unknown>, statusCode: number): Promise<void> {
  await assert.rejects(promise, (err: unknown) => {
    assert.ok(err instanceof git.Errors.HttpError, `expected HttpError, got ${String(err)}`);
    assert.equal(err.data.statusCode, statusCode);
    return true;
  });
}

test('isomorphic-git push to an empty repository is visible to git clone', async (t) => {
  const { server, work } = await startServer(t);
  const url = await server.createRepository('demo');
  assert.equal(url, `${server.url}/demo.git`);
  assert.match(server.url, /^http:\/\/127\.0\.0\.1:\d+$/);
  assert.ok((await stat(path.join(server.root, 'demo.git', 'HEAD'))).isFile());

  const local = path.join(work, 'iso');
  const oid = await isoCommit(local, 'rollout.yaml', 'kind: Rollout\n');
  const result = await git.push({ fs, http, dir: local, url, ref: 'main' });
  assert.equal(result.ok, true);

  const clone = path.join(work, 'cli-clone');
  await gitCli(['clone', '--quiet', url, clone]);
  assert.equal((await gitCli(['rev-parse', 'HEAD'], clone)).trim(), oid);
  assert.equal((await gitCli(['rev-parse', '--abbrev-ref', 'HEAD'], clone)).trim(), 'main');
  assert.equal(await readFile(path.join(clone, 'rollout.yaml'), 'utf8'), 'kind: Rollout\n');
});

test('git CLI push is fetched by isomorphic-git, and fetch picks up later pushes', async (t) => {
  const { server, work } = await startServer(t);
  const url = await server.createRepository('team/app');
  assert.equal(url, `${server.url}/team/app.git`);

  const cli = path.join(work, 'cli');
  await gitCli(['clone', '--quiet', url, cli]); // empty clone, protocol v2 discovery
  await writeFile(path.join(cli, 'a.txt'), 'one\n');
  await gitCli(['add', 'a.txt'], cli);
  await gitCli(['commit', '--quiet', '-m', 'one'], cli);
  await gitCli(['push', '--quiet', 'origin', 'HEAD:main'], cli);
  const first = (await gitCli(['rev-parse', 'HEAD'], cli)).trim();

  const iso = path.join(work, 'iso');
  await git.clone({ fs, http, dir: iso, url, ref: 'main', singleBranch: true });
  assert.equal(await git.resolveRef({ fs, dir: iso, ref: 'HEAD' }), first);
  assert.equal(await readFile(path.join(iso, 'a.txt'), 'utf8'), 'one\n');

  // A bigger second commit, so the CLI's pack upload is non-trivial.
  await writeFile(path.join(cli, 'b.txt'), 'x'.repeat(256 * 1024));
  await gitCli(['add', 'b.txt'], cli);
  await gitCli(['commit', '--quiet', '-m', 'two'], cli);
  await gitCli(['push', '--quiet', 'origin', 'HEAD:main'], cli);
  const second = (await gitCli(['rev-parse', 'HEAD'], cli)).trim();

  const fetched = await git.fetch({ fs, http, dir: iso, url, ref: 'main', singleBranch: true });
  assert.equal(fetched.fetchHead, second);

  // The CLI fetches too (protocol v2 upload-pack through the CGI).
  const cli2 = path.join(work, 'cli2');
  await gitCli(['clone', '--quiet', url, cli2]);
  assert.equal((await gitCli(['rev-parse', 'HEAD'], cli2)).trim(), second);
});

test('basic auth: rejects missing and wrong credentials, accepts the right ones', async (t) => {
  const credentials = { username: 'weir', password: 's3cret-pass' };
  const { server, work } = await startServer(t, { auth: credentials });
  const url = await server.createRepository('secured');

  // Plain HTTP: 401 with the challenge.
  const challenge = await new Promise<{ status: number | undefined; header: string | undefined }>((resolve, reject) => {
    request(`${url}/info/refs?service=git-upload-pack`, (res) => {
      res.resume();
      resolve({ status: res.statusCode, header: res.headers['www-authenticate'] });
    })
      .on('error', reject)
      .end();
  });
  assert.deepEqual(challenge, { status: 401, header: 'Basic realm="weir-sandbox"' });

  const local = path.join(work, 'iso');
  await isoCommit(local, 'README', 'secured\n');

  await rejectsWithStatus(git.push({ fs, http, dir: local, url, ref: 'main' }), 401);
  await rejectsWithStatus(
    git.push({ fs, http, dir: local, url, ref: 'main', onAuth: () => ({ username: 'weir', password: 'wrong' }) }),
    401,
  );
  await rejectsWithStatus(
    git.push({ fs, http, dir: local, url, ref: 'main', onAuth: () => ({ username: 'other', password: credentials.password }) }),
    401,
  );
  await rejectsWithStatus(git.clone({ fs, http, dir: path.join(work, 'anon'), url }), 401);

  const pushed = await git.push({ fs, http, dir: local, url, ref: 'main', onAuth: () => credentials });
  assert.equal(pushed.ok, true);

  // git CLI: no credentials fails, wrong fails, credentials in the URL work for clone and push.
  await assert.rejects(gitCli(['clone', '--quiet', url, path.join(work, 'cli-anon')]), /terminal prompts disabled/);
  await assert.rejects(
    gitCli(['clone', '--quiet', withCredentials(url, 'weir', 'nope'), path.join(work, 'cli-wrong')]),
    /401|Authentication failed/,
  );
  const cli = path.join(work, 'cli');
  const authedUrl = withCredentials(url, credentials.username, credentials.password);
  await gitCli(['clone', '--quiet', authedUrl, cli]);
  assert.equal(await readFile(path.join(cli, 'README'), 'utf8'), 'secured\n');
  await writeFile(path.join(cli, 'README'), 'secured, twice\n');
  await gitCli(['commit', '--quiet', '-am', 'update'], cli);
  await gitCli(['push', '--quiet', authedUrl, 'HEAD:main'], cli);
  const head = (await gitCli(['rev-parse', 'HEAD'], cli)).trim();

  const iso = path.join(work, 'iso-clone');
  await git.clone({ fs, http, dir: iso, url, onAuth: () => credentials });
  assert.equal(await git.resolveRef({ fs, dir: iso, ref: 'HEAD' }), head);
});

test('invalid repository names are rejected', async (t) => {
  const { server } = await startServer(t);
  for (const name of [
    '',
    '../escape',
    'a/../b',
    'a..b',
    '/abs',
    'trailing/',
    'a//b',
    'Upper',
    '-dash',
    '.hidden',
    'a/.hidden',
    'sp ace',
    'repo.git',
    'x'.repeat(201),
  ]) {
    await assert.rejects(server.createRepository(name), /invalid repository name/, `name ${JSON.stringify(name)}`);
  }
  assert.equal(await server.createRepository('ok-name_1.2/sub'), `${server.url}/ok-name_1.2/sub.git`);
  await assert.rejects(server.createRepository('ok-name_1.2/sub'), /already exists/);
  await assert.rejects(server.createRepository('other', { defaultBranch: 'bad..branch' }), /invalid default branch/);
});

test('git CLI fetch over protocol v2 with gzip-compressed negotiation', async (t) => {
  const { server, work } = await startServer(t);
  const url = await server.createRepository('gzip');
  const upstream = path.join(work, 'upstream');
  await gitCli(['init', '--quiet', '--initial-branch=main', upstream]);
  await gitCli(['commit', '--quiet', '--allow-empty', '-m', 'base'], upstream);
  await gitCli(['push', '--quiet', url, 'main'], upstream);

  // A clone with many local-only commits sends a large "have" list, which git gzips.
  const downstream = path.join(work, 'downstream');
  await gitCli(['clone', '--quiet', url, downstream]);
  for (let i = 0; i < 150; i++) await gitCli(['commit', '--quiet', '--allow-empty', '-m', `local ${i}`], downstream);
  await writeFile(path.join(upstream, 'new.txt'), 'new\n');
  await gitCli(['add', 'new.txt'], upstream);
  await gitCli(['commit', '--quiet', '-m', 'new'], upstream);
  await gitCli(['push', '--quiet', url, 'main'], upstream);
  const expected = (await gitCli(['rev-parse', 'HEAD'], upstream)).trim();

  const { stderr } = await gitRun(['-c', 'protocol.version=2', 'fetch', 'origin'], downstream, { GIT_TRACE_CURL: '1', GIT_TRACE_CURL_NO_DATA: '1' });
  assert.match(stderr, /Send header: Git-Protocol: version=2/);
  assert.match(stderr, /Send header: Content-Encoding: gzip/);
  assert.equal((await gitCli(['rev-parse', 'origin/main'], downstream)).trim(), expected);
});

test('a client disconnecting mid-request kills the CGI and the server keeps serving', async (t) => {
  const { server } = await startServer(t);
  const url = await server.createRepository('drop');

  // Announce a large body, send a few bytes, then drop the connection.
  await new Promise<void>((resolve) => {
    const req = request(`${url}/git-upload-pack`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/x-git-upload-pack-request', 'Content-Length': '1000000' },
    });
    req.on('error', () => {
      resolve();
    });
    req.on('close', () => {
      resolve();
    });
    req.write('0014command=ls-refs\n');
    setTimeout(() => req.destroy(), 200);
  });

  const status = await new Promise<number | undefined>((resolve, reject) => {
    request(`${url}/info/refs?service=git-upload-pack`, (res) => {
      res.resume();
      resolve(res.statusCode);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(status, 200);

  // Nothing is left running: close() does not wait out its grace period.
  const started = Date.now();
  await server.close();
  assert.ok(Date.now() - started < 2_000, `close took ${Date.now() - started} ms`);
});

test('unknown repositories give 404 and close() is idempotent', async (t) => {
  const { server } = await startServer(t);
  const status = await new Promise<number | undefined>((resolve, reject) => {
    request(`${server.url}/missing.git/info/refs?service=git-upload-pack`, (res) => {
      res.resume();
      resolve(res.statusCode);
    })
      .on('error', reject)
      .end();
  });
  assert.equal(status, 404);
  await server.close();
  await server.close();
});
