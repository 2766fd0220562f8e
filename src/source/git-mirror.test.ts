// GitMirror against the real sandbox Git server (git http-backend), started
// in-process; repositories are populated with the git CLI.
import assert from 'node:assert/strict';
import { readdir } from 'node:fs/promises';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GitSourceError } from './errors.ts';
import { GitMirror } from './git-mirror.ts';
import { diffHttpStats, snapshotHttpStats } from './http-client.ts';
import { gitCli, noise, startTestServer, TempDirs, TEST_AUTHOR, WorkRepo, type TestServer } from './testkit.ts';

const temp = new TempDirs();
let srv: TestServer;

before(async () => {
  srv = await startTestServer(temp);
});
after(async () => {
  await srv.close();
  await temp.cleanup();
});

async function newMirror(): Promise<GitMirror> {
  return new GitMirror({ cacheDir: await temp.make('weir-cache-') });
}

let repoCounter = 0;
async function newRepo(): Promise<{ url: string; work: WorkRepo }> {
  repoCounter += 1;
  const url = await srv.server.createRepository(`repo-${repoCounter}`);
  return { url, work: await WorkRepo.create(temp, url) };
}

function packCount(dir: string): Promise<number> {
  return readdir(path.join(dir, 'objects', 'pack')).then((f) => f.filter((n) => n.endsWith('.pack')).length);
}

describe('resolveRef', () => {
  let url: string;
  let first: string;
  let second: string;

  before(async () => {
    const repo = await newRepo();
    url = repo.url;
    first = await repo.work.commit({ 'a.yaml': 'a: 1\n' }, 'first');
    await repo.work.git(['tag', '-a', 'v1', '-m', 'release v1']);
    second = await repo.work.commit({ 'a.yaml': 'a: 2\n' }, 'second');
    await repo.work.git(['tag', 'light']);
    await repo.work.git(['branch', 'feature', first]);
    await repo.work.git(['push', '--quiet', 'origin', 'main', 'feature', 'v1', 'light']);
  });

  it('returns the commit of a branch, a peeled annotated tag, a lightweight tag, HEAD, a full ref and a sha as is', async () => {
    const mirror = await newMirror();
    const remote = { url };
    assert.equal(await mirror.resolveRef(remote, 'main'), second);
    assert.equal(await mirror.resolveRef(remote, 'feature'), first);
    assert.equal(await mirror.resolveRef(remote, 'v1'), first, 'annotated tag peeled to its commit');
    assert.equal(await mirror.resolveRef(remote, 'light'), second);
    assert.equal(await mirror.resolveRef(remote, 'HEAD'), second);
    assert.equal(await mirror.resolveRef(remote, 'refs/heads/feature'), first);
    const before = mirror.stats.requests;
    assert.equal(await mirror.resolveRef(remote, first), first);
    assert.equal(mirror.stats.requests, before, 'a sha needs no request');
  });

  it('names a missing ref in its error', async () => {
    const mirror = await newMirror();
    await assert.rejects(mirror.resolveRef({ url }, 'nope'), (err: unknown) => {
      assert.ok(err instanceof GitSourceError);
      assert.equal(err.kind, 'not-found');
      assert.match(err.message, /ref "nope" not found on http:\/\/127\.0\.0\.1:\d+\/repo-\d+\.git/);
      assert.match(err.message, /refs\/heads\/nope, refs\/tags\/nope/);
      return true;
    });
  });

  it('says when the repository is empty', async () => {
    const url = await srv.server.createRepository('empty-repo');
    const mirror = await newMirror();
    await assert.rejects(mirror.resolveRef({ url }, 'main'), /not found .*the repository has no branches yet/);
    assert.equal(mirror.stats.requests, 1);
  });

  it('reports a missing repository as not found (HTTP 404)', async () => {
    const mirror = await newMirror();
    await assert.rejects(mirror.resolveRef({ url: `${srv.server.url}/does-not-exist.git` }, 'main'), (err: unknown) => {
      assert.ok(err instanceof GitSourceError);
      assert.equal(err.kind, 'not-found');
      assert.match(err.message, /repository not found \(HTTP 404/);
      return true;
    });
  });
});

describe('fetch', () => {
  it('a poll with no new commit costs one request; fetching a present commit costs none', async () => {
    const { url, work } = await newRepo();
    const sha = await work.commit({ 'a.yaml': 'a: 1\n' }, 'first');
    await work.push();
    const mirror = await newMirror();
    const remote = { url };
    await mirror.fetch(remote, 'main', await mirror.resolveRef(remote, 'main'));

    // The steady-state poll: resolve the branch, find the commit already applied.
    const start = snapshotHttpStats(mirror.stats);
    const tip = await mirror.resolveRef(remote, 'main');
    const afterResolve = diffHttpStats(mirror.stats, start);
    await mirror.fetch(remote, 'main', tip);
    const afterFetch = diffHttpStats(mirror.stats, start);
    assert.equal(tip, sha);
    assert.equal(afterResolve.requests, 1, 'one ref advertisement');
    assert.equal(afterResolve.posts, 0, 'no upload-pack exchange');
    assert.equal(afterFetch.requests, 1, 'fetch of a present commit makes no request');
    assert.ok(afterFetch.bytesReceived < 2048, `advertisement only (${afterFetch.bytesReceived} bytes)`);
  });

  it('fetches incrementally: a new push costs only its new objects', async () => {
    const { url, work } = await newRepo();
    const files: Record<string, string> = {};
    for (let i = 0; i < 40; i++) files[`apps/app-${i}.yaml`] = `data: ${noise(i, 8000)}\n`;
    await work.commit(files, 'big');
    await work.push();
    const mirror = await newMirror();
    const remote = { url };

    let start = snapshotHttpStats(mirror.stats);
    const c1 = await mirror.resolveRef(remote, 'main');
    await mirror.fetch(remote, 'main', c1);
    const first = diffHttpStats(mirror.stats, start);

    const c2 = await work.commit({ 'apps/app-0.yaml': 'data: small\n' }, 'small change');
    await work.push();
    start = snapshotHttpStats(mirror.stats);
    assert.equal(await mirror.resolveRef(remote, 'main'), c2);
    await mirror.fetch(remote, 'main', c2);
    const second = diffHttpStats(mirror.stats, start);

    assert.equal(first.requests, 3, 'advertisement + fetch (advertisement, upload-pack)');
    assert.equal(second.requests, 3);
    assert.ok(first.bytesReceived > 200_000, `first fetch brings the content (${first.bytesReceived} bytes)`);
    assert.ok(
      second.bytesReceived * 20 < first.bytesReceived,
      `second fetch (${second.bytesReceived} bytes) is much smaller than the first (${first.bytesReceived} bytes)`,
    );
    const info = await mirror.commitInfo(remote, c2);
    assert.equal(info.parents[0], c1);
  });

  it('handles a force push to unrelated history', async () => {
    const { url, work } = await newRepo();
    await work.commit({ 'a.yaml': 'a: 1\n' }, 'one');
    const old = await work.commit({ 'a.yaml': 'a: 2\n' }, 'two');
    await work.push();
    const mirror = await newMirror();
    const remote = { url };
    await mirror.fetch(remote, 'main', await mirror.resolveRef(remote, 'main'));

    // A new history with no common ancestor replaces main.
    const other = await WorkRepo.create(temp, url);
    await other.commit({ 'b.yaml': 'b: 1\n' }, 'unrelated one');
    const unrelated = await other.commit({ 'b.yaml': 'b: 2\n' }, 'unrelated two');
    await other.push('main', true);

    const tip = await mirror.resolveRef(remote, 'main');
    assert.equal(tip, unrelated);
    assert.notEqual(tip, old);
    await mirror.fetch(remote, 'main', tip);
    const { files } = await mirror.readFiles(remote, tip, ['.']);
    assert.deepEqual(files, [{ path: 'b.yaml', content: 'b: 2\n' }]);

    // And back to a descendant of the old history.
    await work.commit({ 'a.yaml': 'a: 3\n' }, 'three');
    await work.push('main', true);
    const back = await mirror.resolveRef(remote, 'main');
    await mirror.fetch(remote, 'main', back);
    assert.deepEqual((await mirror.readFiles(remote, back, [''])).files, [{ path: 'a.yaml', content: 'a: 3\n' }]);
  });

  it('deepens when the commit is further back than the shallow depth', async () => {
    const { url, work } = await newRepo();
    const old = await work.commit({ 'a.yaml': 'a: 0\n' }, 'c0');
    for (let i = 1; i <= 6; i++) await work.commit({ 'a.yaml': `a: ${i}\n` }, `c${i}`);
    await work.push();
    const mirror = await newMirror();
    const remote = { url };
    const tip = await mirror.resolveRef(remote, 'main');
    await mirror.fetch(remote, 'main', tip);
    assert.equal(await mirror.hasCommit(remote, old), false, 'depth 2 does not reach c0');
    assert.equal((await mirror.log(remote, 'main', 100)).length, 2, 'the shallow mirror holds the tip and its parent');
    await mirror.fetch(remote, 'main', old);
    assert.deepEqual((await mirror.readFiles(remote, old, ['.'])).files, [{ path: 'a.yaml', content: 'a: 0\n' }]);
  });

  it('a raw sha ref fetches the default branch; an unknown sha is a clear error', async () => {
    const { url, work } = await newRepo();
    const c1 = await work.commit({ 'a.yaml': 'a: 1\n' }, 'one');
    await work.commit({ 'a.yaml': 'a: 2\n' }, 'two');
    await work.push();
    const mirror = await newMirror();
    const remote = { url };
    await mirror.fetch(remote, c1, c1);
    assert.equal(await mirror.hasCommit(remote, c1), true);
    const unknown = 'f'.repeat(40);
    await assert.rejects(mirror.fetch(remote, unknown, unknown), (err: unknown) => {
      assert.ok(err instanceof GitSourceError);
      assert.equal(err.kind, 'not-found');
      assert.match(err.message, new RegExp(`commit ${unknown} is not in the history of the default branch of http://`));
      return true;
    });
  });

  it('names a missing branch; rejects a malformed commit', async () => {
    const { url, work } = await newRepo();
    const c1 = await work.commit({ 'a.yaml': 'a: 1\n' }, 'one');
    await work.push();
    const mirror = await newMirror();
    await assert.rejects(mirror.fetch({ url }, 'nope', c1), /fetching "nope" from http:\/\/127\.0\.0\.1:\d+\/repo-\d+\.git: no such ref/);
    await assert.rejects(mirror.fetch({ url }, 'main', 'HEAD'), /invalid commit "HEAD"/);
  });

  it('keeps one mirror per URL under the cache directory, with an origin remote and no credentials', async () => {
    const { url, work } = await newRepo();
    const c1 = await work.commit({ 'a.yaml': 'a: 1\n' }, 'one');
    await work.push();
    const cacheDir = await temp.make('weir-cache-');
    const mirror = new GitMirror({ cacheDir });
    await mirror.fetch({ url: url.replace('http://', 'http://someone:pw123@') }, 'main', c1);
    const dir = mirror.mirrorDir({ url });
    assert.equal(path.dirname(dir), cacheDir);
    assert.match(path.basename(dir), /^repo-\d+-[0-9a-f]{24}$/);
    assert.equal(mirror.mirrorDir({ url: `${url}/` }), dir, 'a trailing slash is the same remote');
    assert.equal(await gitCli(dir, ['config', 'remote.origin.url']), url);
    assert.equal(await gitCli(dir, ['rev-parse', 'refs/remotes/origin/main']), c1);
    assert.equal(await packCount(dir), 1);
  });

  it('starts a mirror afresh when it has too many pack files', async () => {
    const { url, work } = await newRepo();
    const cacheDir = await temp.make('weir-cache-');
    const mirror = new GitMirror({ cacheDir, maxPacks: 2 });
    const remote = { url };
    const dir = mirror.mirrorDir(remote);
    let last = '';
    for (let i = 0; i < 4; i++) {
      last = await work.commit({ 'a.yaml': `a: ${i}\n` }, `c${i}`);
      await work.push();
      await mirror.fetch(remote, 'main', last);
    }
    assert.ok((await packCount(dir)) <= 3, 'never more than maxPacks + 1 packs');
    assert.deepEqual((await mirror.readFiles(remote, last, ['.'])).files, [{ path: 'a.yaml', content: 'a: 3\n' }]);
  });

  it('keeps pinned commits, with their parent, across a fresh start after a force-push dropped them from the remote', async () => {
    const { url, work } = await newRepo();
    const mirror = new GitMirror({ cacheDir: await temp.make('weir-cache-'), maxPacks: 2 });
    const remote = { url };
    await work.commit({ 'app/a.yaml': 'a: 0\n', 'app/b.yaml': 'b: 0\n' }, 'base');
    const good = await work.commit({ 'app/a.yaml': 'a: good\n' }, 'good');
    await work.push();
    await mirror.fetch(remote, 'main', good);
    const info = await mirror.commitInfo(remote, good);
    await mirror.pin(remote, 'team-a.shop', [good]);
    await mirror.pin(remote, 'other', [info.parents[0] ?? '']);

    // History is rewritten without `good`; then enough fetches to start the mirror afresh.
    const other = await WorkRepo.create(temp, url);
    for (let i = 0; i < 4; i++) {
      const last = await other.commit({ 'app/a.yaml': `a: new-${i}\n` }, `new ${i}`);
      await other.push('main', true);
      await mirror.fetch(remote, 'main', last);
    }
    assert.ok((await packCount(mirror.mirrorDir(remote))) <= 3, 'the mirror was started afresh');
    assert.equal(await mirror.hasCommit(remote, good), true, 'the pinned commit is still here');
    assert.deepEqual((await mirror.readFiles(remote, good, ['app'])).files, [
      { path: 'app/a.yaml', content: 'a: good\n' },
      { path: 'app/b.yaml', content: 'b: 0\n' },
    ]);
    assert.equal((await mirror.commitInfo(remote, good)).tree, info.tree);
    // Fetching it again needs no request: it and its parent are here.
    const before = snapshotHttpStats(mirror.stats);
    await mirror.fetch(remote, 'main', good);
    assert.equal(diffHttpStats(mirror.stats, before).requests, 0);

    // Unpinned, it goes with the next fresh start.
    await mirror.pin(remote, 'team-a.shop', []);
    await mirror.pin(remote, 'other', []);
    for (let i = 4; i < 8; i++) {
      const last = await other.commit({ 'app/a.yaml': `a: new-${i}\n` }, `new ${i}`);
      await other.push('main', true);
      await mirror.fetch(remote, 'main', last);
    }
    assert.equal(await mirror.hasCommit(remote, good), false);
  });
});

describe('readFiles', () => {
  let url: string;
  let sha: string;
  const mirrorP = newMirror();

  before(async () => {
    const repo = await newRepo();
    url = repo.url;
    sha = await repo.work.commit(
      {
        'README.md': '# apps\n',
        'top.yaml': 'kind: Top\n',
        'apps/web/rollout.yaml': 'kind: Rollout\n',
        'apps/web/service.yml': 'kind: Service\n',
        'apps/web/notes.txt': 'not yaml\n',
        'apps/web/deep/er/analysis.yaml': 'kind: AnalysisTemplate\n',
        'apps/api/rollout.yaml': 'kind: Rollout\nname: api\n',
        'apps/api/big.yaml': `data: ${'x'.repeat(2000)}\n`,
        'apps/api/latin1.yaml': new Uint8Array([0x6b, 0x3a, 0x20, 0xe9, 0x0a]),
        'apps/api/link.yaml': { symlink: '../../top.yaml' },
        'apps/api/escape': { symlink: '../../../../etc' },
        'apps/api/.hidden/skip.yaml': 'kind: Hidden\n',
        'apps/bom.yaml': '\ufeffkind: Bom\n',
        'other/x.yaml': 'kind: Other\n',
        '.github/workflows/ci.yml': 'on: push\n',
      },
      'layout',
    );
    await repo.work.push();
    const mirror = await mirrorP;
    await mirror.fetch({ url }, 'main', sha);
  });

  it('loads only .yaml/.yml under the paths, nested, sorted by path', async () => {
    const mirror = await mirrorP;
    const { files, problems } = await mirror.readFiles({ url }, sha, ['apps/web']);
    assert.deepEqual(
      files.map((f) => f.path),
      ['apps/web/deep/er/analysis.yaml', 'apps/web/rollout.yaml', 'apps/web/service.yml'],
    );
    assert.equal(files[1]?.content, 'kind: Rollout\n');
    assert.deepEqual(problems, []);
  });

  it('refuses files over the size limit, non-UTF-8 content and symlinks (never followed)', async () => {
    const mirror = await mirrorP;
    const { files, problems } = await mirror.readFiles({ url }, sha, ['apps/api'], { maxFileBytes: 1000 });
    assert.deepEqual(
      files.map((f) => f.path),
      ['apps/api/rollout.yaml'],
    );
    assert.deepEqual(problems, [
      { path: 'apps/api/big.yaml', message: 'is 2007 bytes, over the limit of 1000 bytes' },
      { path: 'apps/api/escape', message: 'is a symlink; symlinks are not followed' },
      { path: 'apps/api/latin1.yaml', message: 'is not valid UTF-8' },
      { path: 'apps/api/link.yaml', message: 'is a symlink; symlinks are not followed' },
    ]);
  });

  it('reads the root with "." or "", skips hidden entries below it, strips a BOM, dedupes overlapping paths', async () => {
    const mirror = await mirrorP;
    const root = await mirror.readFiles({ url }, sha, ['.', 'apps/web', './other/'], { maxFileBytes: 10_000 });
    assert.deepEqual(
      root.files.map((f) => f.path),
      [
        'apps/api/big.yaml',
        'apps/api/rollout.yaml',
        'apps/bom.yaml',
        'apps/web/deep/er/analysis.yaml',
        'apps/web/rollout.yaml',
        'apps/web/service.yml',
        'other/x.yaml',
        'top.yaml',
      ],
    );
    assert.equal(root.files.find((f) => f.path === 'apps/bom.yaml')?.content, 'kind: Bom\n');
    const empty = await mirror.readFiles({ url }, sha, ['']);
    assert.deepEqual(
      empty.files.map((f) => f.path),
      root.files.map((f) => f.path),
    );
    assert.deepEqual(
      (await mirror.readFiles({ url }, sha, ['.', 'apps/api'])).problems.filter((p) => p.path === 'apps/api/link.yaml').length,
      1,
      'overlapping paths report a problem once',
    );
    const hidden = await mirror.readFiles({ url }, sha, ['.github']);
    assert.deepEqual(
      hidden.files.map((f) => f.path),
      ['.github/workflows/ci.yml'],
      'a hidden directory named in paths is read',
    );
  });

  it('reports a path that does not exist, or is a file', async () => {
    const mirror = await mirrorP;
    const { files, problems } = await mirror.readFiles({ url }, sha, ['missing/dir', 'README.md', 'other']);
    assert.deepEqual(
      files.map((f) => f.path),
      ['other/x.yaml'],
    );
    assert.deepEqual(problems, [
      { path: 'README.md', message: 'is a file, not a directory' },
      { path: 'missing/dir', message: `does not exist at commit ${sha.slice(0, 12)}` },
    ]);
  });

  it('rejects ".." and absolute paths', async () => {
    const mirror = await mirrorP;
    await assert.rejects(mirror.readFiles({ url }, sha, ['apps/../..']), /invalid path "apps\/\.\.\/\.\.": "\.\." is not allowed/);
    await assert.rejects(mirror.readFiles({ url }, sha, ['..']), /"\.\." is not allowed/);
    await assert.rejects(mirror.readFiles({ url }, sha, ['/etc']), /invalid path "\/etc": must be relative/);
  });

  it('stops at maxFiles with a problem', async () => {
    const mirror = await mirrorP;
    const { files, problems } = await mirror.readFiles({ url }, sha, ['apps/web'], { maxFiles: 2 });
    assert.equal(files.length, 2);
    assert.deepEqual(problems, [{ path: 'apps/web', message: 'more than 2 .yaml/.yml files; narrow the paths or raise the limit' }]);
  });

  it('needs the commit to have been fetched', async () => {
    const mirror = await newMirror();
    await assert.rejects(mirror.readFiles({ url }, sha, ['.']), /is not in the local mirror; fetch it first/);
  });
});

describe('history', () => {
  it('commitInfo and log give authors, messages and times, newest first', async () => {
    const { url, work } = await newRepo();
    const t0 = Math.floor(Date.now() / 1000) - 1;
    const c1 = await work.commit({ 'a.yaml': 'a: 1\n' }, 'first change');
    const c2 = await work.commit({ 'a.yaml': 'a: 2\n' }, 'second change\n\nwith a body');
    await work.push();
    const mirror = await newMirror();
    const remote = { url };
    await mirror.fetch(remote, 'main', c2);
    const info = await mirror.commitInfo(remote, c2);
    assert.equal(info.sha, c2);
    assert.deepEqual(info.author, TEST_AUTHOR);
    assert.equal(info.message, 'second change\n\nwith a body\n');
    assert.deepEqual(info.parents, [c1]);
    assert.ok(Date.parse(info.time) / 1000 >= t0);
    assert.match(info.time, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.000Z$/);
    const history = await mirror.log(remote, 'main', 10);
    assert.deepEqual(
      history.map((h) => [h.sha, h.message]),
      [
        [c2, 'second change\n\nwith a body\n'],
        [c1, 'first change\n'],
      ],
    );
    assert.equal((await mirror.log(remote, 'main', 1)).length, 1);
    await assert.rejects(mirror.log(remote, 'other', 5), /ref "other" of http:.* has not been fetched/);
  });
});
