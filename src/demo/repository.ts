// The demo's working copy of its repository on the sandbox's Git server:
// write files, commit, push (isomorphic-git over real HTTP), and fetch what
// Weir pushed.
import fs from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';

/** Who the story's commits are by (Weir's own reverts are by "Weir"). */
export const DEMO_AUTHOR = { name: 'Demo Developer', email: 'developer@weir.invalid' };

export class DemoRepository {
  readonly dir: string;
  readonly url: string;

  private constructor(dir: string, url: string) {
    this.dir = dir;
    this.url = url;
  }

  /** A local repository whose main is pushed to the empty remote `url`. */
  static async create(url: string): Promise<DemoRepository> {
    const dir = await mkdtemp(join(tmpdir(), 'weir-demo-'));
    await git.init({ fs, dir, defaultBranch: 'main' });
    await git.addRemote({ fs, dir, remote: 'origin', url });
    return new DemoRepository(dir, url);
  }

  async writeFiles(files: Readonly<Record<string, string>>): Promise<void> {
    for (const [path, content] of Object.entries(files)) {
      await mkdir(dirname(join(this.dir, path)), { recursive: true });
      await writeFile(join(this.dir, path), content);
      await git.add({ fs, dir: this.dir, filepath: path });
    }
  }

  /** Commits what was written and pushes main; returns the commit. */
  async commitAndPush(message: string): Promise<string> {
    const sha = await git.commit({ fs, dir: this.dir, message, author: DEMO_AUTHOR });
    const result = await git.push({ fs, http, dir: this.dir, remote: 'origin', ref: 'main' });
    if (!result.ok) throw new Error(`git push of ${sha.slice(0, 7)} failed: ${JSON.stringify(result.refs)}`);
    return sha;
  }

  /** The remote main's head commit and its author and subject, after a fetch. */
  async fetchHead(): Promise<{ sha: string; author: string; subject: string }> {
    await git.fetch({ fs, http, dir: this.dir, remote: 'origin', ref: 'main', singleBranch: true });
    const sha = await git.resolveRef({ fs, dir: this.dir, ref: 'refs/remotes/origin/main' });
    const { commit } = await git.readCommit({ fs, dir: this.dir, oid: sha });
    return { sha, author: commit.author.name, subject: commit.message.split('\n')[0] ?? '' };
  }

  async dispose(): Promise<void> {
    await rm(this.dir, { recursive: true, force: true });
  }
}
