// A working copy of a repository on a Git server, for tests that push
// commits the controller must pick up (isomorphic-git, real HTTP).
import fs from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';

const author = { name: 'Test Author', email: 'author@weir.dev' };

export class GitWorkspace {
  readonly dir: string;
  readonly url: string;

  private constructor(dir: string, url: string) {
    this.dir = dir;
    this.url = url;
  }

  /** A new local repository whose `main` will be pushed to the empty remote `url`. */
  static async create(url: string): Promise<GitWorkspace> {
    const dir = await mkdtemp(join(tmpdir(), 'weir-ws-'));
    await git.init({ fs, dir, defaultBranch: 'main' });
    await git.addRemote({ fs, dir, remote: 'origin', url });
    return new GitWorkspace(dir, url);
  }

  async write(path: string, content: string): Promise<void> {
    await mkdir(dirname(join(this.dir, path)), { recursive: true });
    await writeFile(join(this.dir, path), content);
    await git.add({ fs, dir: this.dir, filepath: path });
  }

  /** Writes many files and stages them at once (one index update, not one per file). */
  async writeAll(files: Readonly<Record<string, string>>): Promise<void> {
    const paths = Object.keys(files);
    for (const path of paths) {
      await mkdir(dirname(join(this.dir, path)), { recursive: true });
      await writeFile(join(this.dir, path), files[path] ?? '');
    }
    if (paths.length > 0) await git.add({ fs, dir: this.dir, filepath: paths });
  }

  /** A file of the working copy, or undefined when there is none. */
  async read(path: string): Promise<string | undefined> {
    return readFile(join(this.dir, path), 'utf8').catch(() => undefined);
  }

  async remove(path: string): Promise<void> {
    await rm(join(this.dir, path));
    await git.remove({ fs, dir: this.dir, filepath: path });
  }

  /** Commits what was written and pushes main (`force`: even when that drops commits from the remote); returns the commit. */
  async commit(message: string, opts: { force?: boolean; author?: { name: string; email: string } } = {}): Promise<string> {
    const sha = await git.commit({ fs, dir: this.dir, message, author: opts.author ?? author });
    await this.push(opts);
    return sha;
  }

  /** Pushes the local main. */
  async push(opts: { force?: boolean } = {}): Promise<void> {
    const result = await git.push({ fs, http, dir: this.dir, remote: 'origin', ref: 'main', force: opts.force === true });
    if (!result.ok) throw new Error(`push failed: ${JSON.stringify(result.refs)}`);
  }

  /** Moves the local main and the working copy to `commit` (as `git reset --hard`); push with `force` to rewrite the remote. */
  async reset(commit: string): Promise<void> {
    await git.writeRef({ fs, dir: this.dir, ref: 'refs/heads/main', value: commit, force: true });
    await git.checkout({ fs, dir: this.dir, ref: 'main', force: true });
  }

  /** Fetches main and moves the working copy to it (after the controller pushed a revert). */
  async pull(): Promise<string> {
    await git.fetch({ fs, http, dir: this.dir, remote: 'origin', ref: 'main', singleBranch: true });
    const remote = await git.resolveRef({ fs, dir: this.dir, ref: 'refs/remotes/origin/main' });
    await git.writeRef({ fs, dir: this.dir, ref: 'refs/heads/main', value: remote, force: true });
    await git.checkout({ fs, dir: this.dir, ref: 'main', force: true });
    return remote;
  }

  async log(): Promise<{ oid: string; message: string; author: string }[]> {
    const entries = await git.log({ fs, dir: this.dir, ref: 'main' });
    return entries.map((e) => ({ oid: e.oid, message: e.commit.message, author: e.commit.author.name }));
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
