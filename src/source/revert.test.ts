// Writing reverts back to Git: the revert commit, pushes that race with
// other pushes, conflicts, and the pull-request branch.
import assert from 'node:assert/strict';
import { readFile, readdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { GitHttpRequest, HttpClient } from 'isomorphic-git';
import { GitSourceError } from './errors.ts';
import { GitMirror, revertBranchName, revertMessage, WEIR_AUTHOR } from './git-mirror.ts';
import { lsRemote, startTestServer, TempDirs, TEST_AUTHOR, WorkRepo, type TestServer } from './testkit.ts';

const temp = new TempDirs();
let srv: TestServer;

before(async () => {
  srv = await startTestServer(temp);
});
after(async () => {
  await srv.close();
  await temp.cleanup();
});

let counter = 0;

/** A repository with a good commit and a bad one on top (it modifies a.yaml and adds b.yaml), pushed. */
async function repoWithBadCommit(): Promise<{ url: string; work: WorkRepo; good: string; bad: string }> {
  counter += 1;
  const url = await srv.server.createRepository(`revert-${counter}`);
  const work = await WorkRepo.create(temp, url);
  const good = await work.commit({ 'apps/a.yaml': 'replicas: 1\n', 'keep.yaml': 'keep: true\n' }, 'good');
  const bad = await work.commit({ 'apps/a.yaml': 'replicas: 99\n', 'apps/new/b.yaml': 'added: true\n' }, 'bad change');
  await work.push();
  return { url, work, good, bad };
}

async function newMirror(wrapHttp?: (client: HttpClient) => HttpClient): Promise<GitMirror> {
  return new GitMirror({ cacheDir: await temp.make('weir-cache-'), ...(wrapHttp === undefined ? {} : { wrapHttp }) });
}

/** Files of a fresh `git clone` of `branch` (CLI), without .git. */
async function cloneFiles(url: string, branch = 'main'): Promise<Record<string, string>> {
  const clone = await WorkRepo.clone(temp, url, branch);
  const out: Record<string, string> = {};
  const walk = async (dir: string): Promise<void> => {
    for (const entry of await readdir(dir, { withFileTypes: true })) {
      if (entry.name === '.git') continue;
      const full = path.join(dir, entry.name);
      if (entry.isDirectory()) await walk(full);
      else out[path.relative(clone.dir, full)] = await readFile(full, 'utf8');
    }
  };
  await walk(clone.dir);
  return out;
}

const message = revertMessage({ commit: 'c'.repeat(40), subject: 'bad change', rollout: 'prod/web', reason: 'error rate 12% > 5%' });

describe('revert', () => {
  it('undoes a modified and an added file, pushes, and git clone shows the files as before', async () => {
    const { url, good, bad } = await repoWithBadCommit();
    const before = await cloneFiles(url);
    assert.equal(before['apps/a.yaml'], 'replicas: 99\n');
    const mirror = await newMirror();
    const sha = await mirror.revert({ url }, { branch: 'main', commit: bad, message });

    assert.equal(await lsRemote(temp, url, 'main'), sha);
    assert.deepEqual(await cloneFiles(url), { 'apps/a.yaml': 'replicas: 1\n', 'keep.yaml': 'keep: true\n' });
    const clone = await WorkRepo.clone(temp, url);
    assert.equal(await clone.git(['log', '-1', '--format=%an <%ae>|%cn <%ce>|%P']), `Weir <weir@weir.dev>|Weir <weir@weir.dev>|${bad}`);
    assert.equal(await clone.git(['log', '-1', '--format=%B']), message.trim());
    assert.equal(await clone.git(['diff', '--stat', good, sha]), '', 'the tree is the good commit’s tree');
    assert.equal(await clone.git(['fsck', '--strict', '--no-progress']), '', 'git accepts the objects');
    const info = await mirror.commitInfo({ url }, sha);
    assert.deepEqual(info.author, WEIR_AUTHOR);
  });

  it('restores a deleted file and keeps unrelated later changes', async () => {
    counter += 1;
    const url = await srv.server.createRepository(`revert-${counter}`);
    const work = await WorkRepo.create(temp, url);
    await work.commit({ 'x/gone.yaml': 'gone: false\n', 'x/stay.yaml': 'stay: 1\n' }, 'base');
    const bad = await work.commit({ 'x/gone.yaml': null }, 'delete gone.yaml');
    await work.commit({ 'x/stay.yaml': 'stay: 2\n', 'later.yaml': 'later: true\n' }, 'unrelated later change');
    await work.push();
    const mirror = await newMirror();
    await mirror.revert({ url }, { branch: 'main', commit: bad, message: 'restore', author: TEST_AUTHOR });
    assert.deepEqual(await cloneFiles(url), { 'later.yaml': 'later: true\n', 'x/gone.yaml': 'gone: false\n', 'x/stay.yaml': 'stay: 2\n' });
  });

  it('builds on a branch that another clone pushed to after the bad commit', async () => {
    const { url, bad } = await repoWithBadCommit();
    const mirror = await newMirror();
    // The controller had fetched the bad commit...
    await mirror.fetch({ url }, 'main', bad);
    // ...then somebody pushed an unrelated commit.
    const other = await WorkRepo.clone(temp, url);
    const theirs = await other.commit({ 'other.yaml': 'other: 1\n' }, 'unrelated');
    await other.push();

    const sha = await mirror.revert({ url }, { branch: 'main', commit: bad, message });
    const clone = await WorkRepo.clone(temp, url);
    assert.equal(await clone.git(['rev-parse', 'HEAD^']), theirs, 'on top of the moved tip, no force push');
    assert.equal(await clone.git(['rev-parse', 'HEAD']), sha);
    assert.deepEqual(await cloneFiles(url), { 'apps/a.yaml': 'replicas: 1\n', 'keep.yaml': 'keep: true\n', 'other.yaml': 'other: 1\n' });
  });

  it('retries when another push lands between its advertisement and its push (the server refuses the stale update)', async () => {
    const { url, bad } = await repoWithBadCommit();
    const other = await WorkRepo.clone(temp, url);
    let raced = 0;
    const receivePacks: number[] = [];
    const mirror = await newMirror((client) => ({
      async request(req: GitHttpRequest) {
        if (req.method === 'POST' && req.url.endsWith('/git-receive-pack')) {
          receivePacks.push(Date.now());
          if (raced === 0) {
            raced += 1;
            // A concurrent push wins the race right before ours reaches the server.
            await other.commit({ 'race.yaml': 'race: 1\n' }, 'concurrent push');
            await other.push();
          }
        }
        return client.request(req);
      },
    }));
    const sha = await mirror.revert({ url }, { branch: 'main', commit: bad, message });
    assert.equal(raced, 1);
    assert.equal(receivePacks.length, 2, 'pushed twice: refused, then accepted');
    assert.equal(await lsRemote(temp, url, 'main'), sha);
    const clone = await WorkRepo.clone(temp, url);
    assert.equal(await clone.git(['log', '-1', '--format=%s', 'HEAD^']), 'concurrent push', 'the concurrent commit was kept');
    assert.deepEqual(await cloneFiles(url), { 'apps/a.yaml': 'replicas: 1\n', 'keep.yaml': 'keep: true\n', 'race.yaml': 'race: 1\n' });
  });

  it('retries when the branch moves before its push (seen in the push advertisement)', async () => {
    const { url, bad } = await repoWithBadCommit();
    const other = await WorkRepo.clone(temp, url);
    let raced = 0;
    const mirror = await newMirror((client) => ({
      async request(req: GitHttpRequest) {
        if (raced === 0 && req.url.endsWith('/info/refs?service=git-receive-pack')) {
          raced += 1;
          await other.commit({ 'race.yaml': 'race: 2\n' }, 'concurrent push');
          await other.push();
        }
        return client.request(req);
      },
    }));
    const sha = await mirror.revert({ url }, { branch: 'main', commit: bad, message });
    assert.equal(raced, 1);
    assert.equal(await lsRemote(temp, url, 'main'), sha);
    assert.deepEqual(await cloneFiles(url), { 'apps/a.yaml': 'replicas: 1\n', 'keep.yaml': 'keep: true\n', 'race.yaml': 'race: 2\n' });
  });

  it('gives up after 5 attempts when the branch keeps moving', async () => {
    const { url, bad } = await repoWithBadCommit();
    const other = await WorkRepo.clone(temp, url);
    let n = 0;
    const mirror = await newMirror((client) => ({
      async request(req: GitHttpRequest) {
        if (req.url.endsWith('/info/refs?service=git-receive-pack')) {
          n += 1;
          await other.commit({ 'race.yaml': `race: ${n}\n` }, `concurrent push ${n}`);
          await other.push();
        }
        return client.request(req);
      },
    }));
    await assert.rejects(mirror.revert({ url }, { branch: 'main', commit: bad, message }), (err: unknown) => {
      assert.ok(err instanceof GitSourceError);
      assert.equal(err.kind, 'push-rejected');
      assert.match(err.message, /the branch moved during each of 5 attempts/);
      return true;
    });
    assert.equal(n, 5);
  });

  it('a push the server refuses for another reason (a hook) is an error, not retried', async () => {
    const { url, bad } = await repoWithBadCommit();
    const hook = path.join(srv.server.root, `revert-${counter}.git`, 'hooks', 'pre-receive');
    await writeFile(hook, '#!/bin/sh\necho "main is protected" >&2\nexit 1\n', { mode: 0o755 });
    let pushes = 0;
    const mirror = await newMirror((client) => ({
      request(req: GitHttpRequest) {
        if (req.method === 'POST' && req.url.endsWith('/git-receive-pack')) pushes += 1;
        return client.request(req);
      },
    }));
    await assert.rejects(mirror.revert({ url }, { branch: 'main', commit: bad, message }), (err: unknown) => {
      assert.ok(err instanceof GitSourceError);
      assert.equal(err.kind, 'push-rejected');
      assert.match(err.message, /^pushing the revert of [0-9a-f]{12} to main of http:.*: the server refused the push:.*refs\/heads\/main/s);
      return true;
    });
    assert.equal(pushes, 1);
    assert.equal(await lsRemote(temp, url, 'main'), bad);
  });

  it('refuses with a conflict naming the file when the file changed since', async () => {
    const { url, work, bad } = await repoWithBadCommit();
    const after = await work.commit({ 'apps/a.yaml': 'replicas: 100\n' }, 'tweak the bad change');
    await work.push();
    const mirror = await newMirror();
    await assert.rejects(mirror.revert({ url }, { branch: 'main', commit: bad, message }), (err: unknown) => {
      assert.ok(err instanceof GitSourceError);
      assert.equal(err.kind, 'conflict');
      assert.equal(err.retryable, false);
      assert.match(err.message, /cannot revert [0-9a-f]{12} on main .*: file apps\/a\.yaml changed since that commit; revert by hand/);
      return true;
    });
    assert.equal(await lsRemote(temp, url, 'main'), after, 'nothing pushed');
  });

  it('paths: undoes only the changes under those directories, and a conflict elsewhere does not stop it', async () => {
    counter += 1;
    const url = await srv.server.createRepository(`revert-${counter}`);
    const work = await WorkRepo.create(temp, url);
    await work.commit({ 'apps/a/app.yaml': 'a: 1\n', 'apps/b/app.yaml': 'b: 1\n' }, 'base');
    const bad = await work.commit({ 'apps/a/app.yaml': 'a: 2\n', 'apps/b/app.yaml': 'b: 2\n', 'apps/b/new.yaml': 'new: true\n' }, 'release a and b');
    // a changed again since: a whole revert would conflict on it.
    await work.commit({ 'apps/a/app.yaml': 'a: 3\n' }, 'a again');
    await work.push();
    const mirror = await newMirror();
    const scoped = revertMessage({ commit: bad, subject: 'release a and b', rollout: 'prod/b', reason: 'analysis failed', paths: ['apps/b'] });
    await assert.rejects(mirror.revert({ url }, { branch: 'main', commit: bad, message }), /file apps\/a\/app\.yaml changed since that commit/);
    const sha = await mirror.revert({ url }, { branch: 'main', commit: bad, message: scoped, paths: ['apps/b'] });
    assert.equal(await lsRemote(temp, url, 'main'), sha);
    assert.deepEqual(await cloneFiles(url), { 'apps/a/app.yaml': 'a: 3\n', 'apps/b/app.yaml': 'b: 1\n' });
    const clone = await WorkRepo.clone(temp, url);
    assert.match(await clone.git(['log', '-1', '--format=%B']), /Only its changes under apps\/b are reverted: the rest of the commit stays\./);
    // Nothing of the commit under the paths left to undo: the tip, no commit.
    assert.equal(await mirror.revert({ url }, { branch: 'main', commit: bad, message: scoped, paths: ['apps/b'] }), sha);
  });

  it('does not revert twice: an already reverted commit returns the tip', async () => {
    const { url, bad } = await repoWithBadCommit();
    const mirror = await newMirror();
    const first = await mirror.revert({ url }, { branch: 'main', commit: bad, message });
    const again = await mirror.revert({ url }, { branch: 'main', commit: bad, message });
    assert.equal(again, first);
    assert.equal(await lsRemote(temp, url, 'main'), first);
  });

  it('targetBranch pushes weir/revert-<sha> for a pull request and leaves the branch alone', async () => {
    const { url, bad } = await repoWithBadCommit();
    const mirror = await newMirror();
    const branch = revertBranchName(bad);
    assert.equal(branch, `weir/revert-${bad.slice(0, 12)}`);
    const sha = await mirror.revert({ url }, { branch: 'main', commit: bad, message, targetBranch: branch });
    assert.equal(await lsRemote(temp, url, 'main'), bad, 'main untouched');
    assert.equal(await lsRemote(temp, url, branch), sha);
    assert.deepEqual(await cloneFiles(url, branch), { 'apps/a.yaml': 'replicas: 1\n', 'keep.yaml': 'keep: true\n' });
    // Asking again finds the branch already holding the revert.
    assert.equal(await mirror.revert({ url }, { branch: 'main', commit: bad, message, targetBranch: branch }), sha);
  });

  it('rejects bad branch names and shas before any request', async () => {
    const mirror = await newMirror();
    const url = `${srv.server.url}/nothing.git`;
    await assert.rejects(mirror.revert({ url }, { branch: 'main', commit: 'abc', message }), /invalid commit "abc"/);
    await assert.rejects(mirror.revert({ url }, { branch: 'ma..in', commit: 'a'.repeat(40), message }), /invalid branch "ma\.\.in"/);
    await assert.rejects(
      mirror.revert({ url }, { branch: 'main', commit: 'a'.repeat(40), message, targetBranch: 'weir/x y' }),
      /invalid target branch "weir\/x y"/,
    );
    assert.equal(mirror.stats.requests, 0);
  });

  it('revertMessage names the rejected commit, the rollout and the reason', () => {
    assert.equal(
      revertMessage({ commit: 'd'.repeat(40), subject: 'bump web to v2', rollout: 'prod/web', reason: 'analysis failed' }),
      `Revert "bump web to v2"\n\nThis reverts commit ${'d'.repeat(40)}.\n\nWeir rejected it: rollout prod/web failed: analysis failed\n`,
    );
  });
});
