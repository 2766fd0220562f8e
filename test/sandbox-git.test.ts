// The sandbox's Git server: isomorphic-git clones, commits and pushes; the
// git CLI sees the push.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { testSandbox, uniqueName } from './support/sandbox.ts';

const run = promisify(execFile);

describe('sandbox Git server', () => {
  const dirs: string[] = [];
  after(async () => {
    for (const d of dirs) await rm(d, { recursive: true, force: true });
  });
  const tempDir = async (): Promise<string> => {
    const d = await mkdtemp(join(tmpdir(), 'weir-git-'));
    dirs.push(d);
    return d;
  };

  it('isomorphic-git clones, commits and pushes; git clone sees the push', async () => {
    const sb = await testSandbox();
    const name = uniqueName('apps');
    const created = await run(process.execPath, ['bin/weir.js', 'sandbox', '--name', sb.state.name, 'repo', 'create', name]);
    const url = created.stdout.trim();
    assert.equal(url, `${sb.state.gitUrl}/${name}.git`);

    const author = { name: 'Test', email: 'test@weir.dev' };
    // Seed the empty repository: a new local repository pushed as main.
    const seed = await tempDir();
    await git.init({ fs, dir: seed, defaultBranch: 'main' });
    await writeFile(join(seed, 'README.md'), 'apps\n');
    await git.add({ fs, dir: seed, filepath: 'README.md' });
    await git.commit({ fs, dir: seed, message: 'seed', author });
    await git.push({ fs, http, dir: seed, url, ref: 'main' });

    // Clone, commit and push with isomorphic-git.
    const work = await tempDir();
    await git.clone({ fs, http, dir: work, url, singleBranch: true, ref: 'main', depth: 1 });
    assert.equal(await readFile(join(work, 'README.md'), 'utf8'), 'apps\n');
    await writeFile(join(work, 'rollout.yaml'), 'kind: Rollout\n');
    await git.add({ fs, dir: work, filepath: 'rollout.yaml' });
    const sha = await git.commit({ fs, dir: work, message: 'add rollout', author });
    const pushed = await git.push({ fs, http, dir: work, remote: 'origin', ref: 'main' });
    assert.equal(pushed.ok, true);

    const clone = await tempDir();
    await run('git', ['clone', '--quiet', url, clone], { env: { ...process.env, GIT_TERMINAL_PROMPT: '0' } });
    const head = await run('git', ['-C', clone, 'rev-parse', 'HEAD']);
    assert.equal(head.stdout.trim(), sha);
    assert.equal(await readFile(join(clone, 'rollout.yaml'), 'utf8'), 'kind: Rollout\n');
  });
});
