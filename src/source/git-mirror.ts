// Local mirrors of remote Git repositories, kept with isomorphic-git.
//
// One bare repository per remote URL under the cache directory. Fetches are
// shallow (depth 2: a commit and its parent, enough to read manifests and to
// revert) and single-branch, and send the previously fetched tip as a "have",
// so a new commit costs only its new objects. A poll costs one ref
// advertisement (`resolveRef`); when the commit is already here `fetch` makes
// no request at all. Files are read from the object database at a commit,
// never from a checked-out working tree, so symlinks are never followed.
//
// Every HTTP request has a deadline (see http-client.ts). Errors are
// GitSourceErrors whose messages name the remote without credentials.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import { mkdir, readdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import git, { Errors, type HttpClient, type ReadCommitResult, type ServerRef } from 'isomorphic-git';
import { MAX_MANIFEST_FILE_BYTES, decodeManifestFile } from '../api/manifests.ts';
import { createLogger, type Logger } from '../util/log.ts';
import { GitSourceError, scrubSecrets, toGitSourceError } from './errors.ts';
import { createGitHttpClient, newHttpStats, type GitTransportError, type HttpStats } from './http-client.ts';
import { resolveRemote, type GitRemote, type ResolvedRemote } from './remote.ts';
import { diffTrees, editTree, entryAt, readTreeEntries, sameLeaf, SUBMODULE_MODE, SYMLINK_MODE, type LeafEntry, type ObjectDb } from './tree.ts';

const defaultLog = createLogger('git-source');

const SHA = /^[0-9a-f]{40}$/;
const ZERO_SHA = '0'.repeat(40);
/** Git's "infinite" depth (what `git fetch --unshallow` sends). */
const FULL_DEPTH = 0x7fffffff;
/** Depths tried in turn until the wanted commit and its parent are here. */
const FETCH_DEPTHS = [2, 64, FULL_DEPTH] as const;
const PUSH_ATTEMPTS = 5;
/** Local ref holding a revert commit while it is pushed. */
const PUSH_REF = 'refs/weir/push';
/** Local refs of the commits a user of the mirror keeps (`pin`), one folder per owner. */
const KEEP_REFS = 'refs/weir/keep';
const OWNER = /^[A-Za-z0-9._-]{1,100}$/;

/** The size limit of a manifest file, as weir lint applies it too. */
export const DEFAULT_MAX_FILE_BYTES = MAX_MANIFEST_FILE_BYTES;
export const DEFAULT_MAX_FILES = 5000;
/** Pack files in a mirror beyond which the next fetch starts the mirror afresh. */
export const DEFAULT_MAX_PACKS = 64;
export const WEIR_AUTHOR: GitPerson = { name: 'Weir', email: 'weir@weir.dev' };

export interface GitPerson {
  name: string;
  email: string;
}

export interface GitCommitInfo {
  sha: string;
  author: GitPerson;
  committer: GitPerson;
  /** The full commit message. */
  message: string;
  /** Author time, ISO 8601 (UTC). */
  time: string;
  /** Committer time, ISO 8601 (UTC). */
  committedAt: string;
  parents: string[];
  /** The commit's tree: equal trees are equal content, whatever the sha. */
  tree: string;
}

export interface ReadFilesLimits {
  /** Larger files are refused (a problem). Default 1 MiB. */
  maxFileBytes?: number;
  /** More manifest files than this is a problem. Default 5000. */
  maxFiles?: number;
}

export interface SourceFile {
  /** Repository-relative path, `/`-separated. */
  path: string;
  content: string;
}

export interface SourceProblem {
  path: string;
  message: string;
}

export interface ReadFilesResult {
  /** Sorted by path. */
  files: SourceFile[];
  /** Sorted by path. */
  problems: SourceProblem[];
}

export interface RevertOptions {
  /** The branch the rejected commit is on. */
  branch: string;
  /** The commit to undo. */
  commit: string;
  /** Default `Weir <weir@weir.dev>`; also the committer. */
  author?: GitPerson;
  /** The commit message (see `revertMessage`). */
  message: string;
  /** Push here instead of `branch` (e.g. `weir/revert-<sha>` for a pull request). When it exists already, the revert builds on it. */
  targetBranch?: string;
  /** Undo only the commit's changes under these directories (one app's files); the rest of the commit stays. Default: all of it. */
  paths?: readonly string[];
}

export interface GitMirrorOptions {
  /** Directory holding one mirror per remote URL; created when missing. */
  cacheDir: string;
  /** Counters every request adds to (for tests and benchmarks); a fresh object when omitted. */
  stats?: HttpStats;
  /** Aborts every request (e.g. on shutdown). */
  signal?: AbortSignal;
  /** Wraps the HTTP client of each operation (tests inject faults and races here). */
  wrapHttp?: (client: HttpClient) => HttpClient;
  /** Pack files in one mirror beyond which it is started afresh on the next fetch. Default 64. */
  maxPacks?: number;
  /** Where to log (never credentials); default a `git-source` logger. */
  logger?: Logger;
}

/** One operation's view of a mirror: never log `remote.headers`. */
interface Session {
  remote: ResolvedRemote;
  http: HttpClient;
  gitdir: string;
  /** Transport failures of this operation's requests, in order. */
  failures: GitTransportError[];
}

/** The branch a revert goes to when `rollback.writeBack` is `branch`. */
export function revertBranchName(commit: string): string {
  return `weir/revert-${commit.slice(0, 12)}`;
}

/** A revert message in Git's style that names the rejected commit, the rollout and the reason. */
export function revertMessage(opts: { commit: string; subject?: string; rollout: string; reason: string; paths?: readonly string[] }): string {
  const subject = opts.subject === undefined || opts.subject === '' ? opts.commit.slice(0, 12) : opts.subject;
  const scope = opts.paths === undefined || opts.paths.length === 0 ? '' : `\nOnly its changes under ${opts.paths.join(', ')} are reverted: the rest of the commit stays.\n`;
  return `Revert "${subject}"\n\nThis reverts commit ${opts.commit}.\n\nWeir rejected it: rollout ${opts.rollout} failed: ${opts.reason}\n${scope}`;
}

/**
 * Normalises a repository-relative directory: `""`, `"."` and `"./"` are the
 * root (`""`); `a/./b/` is `a/b`. Absolute paths and `..` are refused.
 */
export function normalizeRepoPath(p: string): string {
  if (p.includes('\0')) throw new GitSourceError('invalid', `invalid path ${JSON.stringify(p)}: contains a NUL character`);
  if (p.startsWith('/') || p.startsWith('\\') || /^[A-Za-z]:[\\/]/.test(p)) {
    throw new GitSourceError('invalid', `invalid path ${JSON.stringify(p)}: must be relative to the repository root`);
  }
  const segments = p.split('/').filter((s) => s !== '' && s !== '.');
  if (segments.some((s) => s === '..')) {
    throw new GitSourceError('invalid', `invalid path ${JSON.stringify(p)}: ".." is not allowed (paths stay inside the repository)`);
  }
  return segments.join('/');
}

function assertSha(sha: string, what: string): void {
  if (!SHA.test(sha)) throw new GitSourceError('invalid', `invalid ${what} ${JSON.stringify(sha)}: expected a 40-character lowercase hex commit sha`);
}

function assertBranchName(name: string, what: string): void {
  const bad =
    name === '' ||
    name.startsWith('-') ||
    name.startsWith('/') ||
    name.endsWith('/') ||
    name.endsWith('.') ||
    name.endsWith('.lock') ||
    name.includes('..') ||
    name.includes('//') ||
    name.includes('@{') ||
    name.split('/').some((s) => s.startsWith('.')) ||
    // eslint-disable-next-line no-control-regex
    /[\x00-\x20\x7f~^:?*[\\]/.test(name);
  if (bad) throw new GitSourceError('invalid', `invalid ${what} ${JSON.stringify(name)}: not a valid Git branch name`);
}

function isYaml(name: string): boolean {
  return name.endsWith('.yaml') || name.endsWith('.yml');
}

function short(sha: string): string {
  return sha.slice(0, 12);
}

function iso(seconds: number): string {
  return new Date(seconds * 1000).toISOString();
}

function toCommitInfo(c: ReadCommitResult): GitCommitInfo {
  return {
    sha: c.oid,
    author: { name: c.commit.author.name, email: c.commit.author.email },
    committer: { name: c.commit.committer.name, email: c.commit.committer.email },
    message: c.commit.message,
    time: iso(c.commit.author.timestamp),
    committedAt: iso(c.commit.committer.timestamp),
    parents: [...c.commit.parent],
    tree: c.commit.tree,
  };
}

/** The full ref names `ref` may mean on a remote, most likely first. */
function refCandidates(ref: string): string[] {
  if (ref === 'HEAD' || ref.startsWith('refs/')) return [ref];
  return [`refs/heads/${ref}`, `refs/tags/${ref}`];
}

/** The local ref a fetched remote ref is kept under (its tip is the "have" of the next fetch). */
function localRefFor(fullRef: string): string {
  if (fullRef === 'HEAD') return 'refs/remotes/origin/HEAD';
  if (fullRef.startsWith('refs/heads/')) return `refs/remotes/origin/${fullRef.slice('refs/heads/'.length)}`;
  return fullRef;
}

export class GitMirror {
  readonly cacheDir: string;
  /** Requests and bytes of every operation of this mirror. */
  readonly stats: HttpStats;
  readonly #signal: AbortSignal | undefined;
  readonly #wrapHttp: ((client: HttpClient) => HttpClient) | undefined;
  readonly #maxPacks: number;
  readonly #log: Logger;
  /** One isomorphic-git cache (parsed pack indexes and packs) per mirror, shared by all its operations. */
  readonly #caches = new Map<string, object>();
  /** Tail of each mirror's operation queue: operations on one mirror run one at a time. */
  readonly #queues = new Map<string, Promise<void>>();
  readonly #initialised = new Set<string>();

  constructor(opts: GitMirrorOptions) {
    this.cacheDir = path.resolve(opts.cacheDir);
    this.stats = opts.stats ?? newHttpStats();
    this.#signal = opts.signal;
    this.#wrapHttp = opts.wrapHttp;
    this.#maxPacks = opts.maxPacks ?? DEFAULT_MAX_PACKS;
    this.#log = opts.logger ?? defaultLog;
  }

  /** The directory of `remote`'s mirror (a bare repository). */
  mirrorDir(remote: GitRemote): string {
    return path.join(this.cacheDir, resolveRemote(remote).key);
  }

  /**
   * The commit `ref` points at on the remote: a branch, else a tag (peeled),
   * `HEAD`, or a full ref name; a 40-hex sha is returned as is. Exactly one
   * request (a protocol v1 ref advertisement).
   */
  async resolveRef(remote: GitRemote, ref: string): Promise<string> {
    if (SHA.test(ref)) return ref;
    const s = this.#session(remote);
    const refs = await this.#advertisement(s);
    return pickRef(refs, ref, s.remote.url).commit;
  }

  /**
   * Makes `commit` and its first parent available locally, fetching from
   * `ref` (a branch, tag or full ref; for a sha, the default branch) only when
   * they are missing: shallow (depth 2, deepened only when the commit is
   * further back) and single-branch, incremental after the first fetch. A ref
   * that moved to unrelated history (force push) is simply fetched again.
   */
  async fetch(remote: GitRemote, ref: string, commit: string): Promise<void> {
    assertSha(commit, 'commit');
    const s = this.#session(remote);
    await this.#exclusive(s.gitdir, () => this.#ensureCommit(s, ref, commit));
  }

  /** Whether `commit` is in the local mirror (no network). */
  async hasCommit(remote: GitRemote, commit: string): Promise<boolean> {
    assertSha(commit, 'commit');
    const s = this.#session(remote);
    return this.#exclusive(s.gitdir, async () => {
      await this.#init(s);
      return (await this.#tryReadCommit(s, commit)) !== undefined;
    });
  }

  /**
   * Every `.yaml`/`.yml` file under `paths` (repository-relative directories;
   * `""`/`"."` is the root) at `commit`, read from the object database, sorted
   * by path. Hidden entries (names starting with `.`) are skipped while
   * descending; name a hidden directory in `paths` to read it. Symlinks and
   * submodules are never followed (each is a problem), nor are files over the
   * size limit or not UTF-8 loaded. `commit` must have been fetched.
   */
  async readFiles(remote: GitRemote, commit: string, paths: string[], limits: ReadFilesLimits = {}): Promise<ReadFilesResult> {
    assertSha(commit, 'commit');
    const dirs = [...new Set((paths.length === 0 ? [''] : paths).map(normalizeRepoPath))].sort(compareStrings);
    const maxFileBytes = limits.maxFileBytes ?? DEFAULT_MAX_FILE_BYTES;
    const maxFiles = limits.maxFiles ?? DEFAULT_MAX_FILES;
    const s = this.#session(remote);
    return this.#exclusive(s.gitdir, async () => {
      await this.#init(s);
      const db = this.#db(s);
      const root = (await this.#requireCommit(s, commit)).commit.tree;
      const blobs = new Map<string, string>();
      const problems: SourceProblem[] = [];
      let tooMany = false;

      const addBlob = (filePath: string, oid: string, dir: string): void => {
        if (blobs.has(filePath) || tooMany) return;
        if (blobs.size >= maxFiles) {
          tooMany = true;
          problems.push({ path: dir, message: `more than ${maxFiles} .yaml/.yml files; narrow the paths or raise the limit` });
          return;
        }
        blobs.set(filePath, oid);
      };
      const walk = async (treeOid: string, prefix: string, dir: string): Promise<void> => {
        for (const entry of await readTreeEntries(db, treeOid)) {
          if (tooMany) return;
          if (entry.path.startsWith('.')) continue;
          const entryPath = `${prefix}${entry.path}`;
          if (entry.type === 'tree') await walk(entry.oid, `${entryPath}/`, dir);
          else if (entry.mode === SYMLINK_MODE) problems.push({ path: entryPath, message: 'is a symlink; symlinks are not followed' });
          else if (entry.mode === SUBMODULE_MODE) problems.push({ path: entryPath, message: 'is a submodule; submodules are not followed' });
          else if (isYaml(entry.path)) addBlob(entryPath, entry.oid, dir);
        }
      };

      for (const dir of dirs) {
        if (dir === '') {
          await walk(root, '', '.');
          continue;
        }
        const entry = await entryAt(db, root, dir);
        if (entry === undefined) problems.push({ path: dir, message: `does not exist at commit ${short(commit)}` });
        else if (entry.type === 'tree') await walk(entry.oid, `${dir}/`, dir);
        else if (entry.mode === SYMLINK_MODE) problems.push({ path: dir, message: 'is a symlink; symlinks are not followed' });
        else if (entry.mode === SUBMODULE_MODE) problems.push({ path: dir, message: 'is a submodule; submodules are not followed' });
        else if (isYaml(dir)) addBlob(dir, entry.oid, dir);
        else problems.push({ path: dir, message: 'is a file, not a directory' });
      }

      const files: SourceFile[] = [];
      for (const filePath of [...blobs.keys()].sort(compareStrings)) {
        const oid = blobs.get(filePath) ?? '';
        const { blob } = await git.readBlob({ fs, gitdir: s.gitdir, oid, cache: db.cache });
        // The same guards as weir lint's (api/manifests.ts).
        const decoded = decodeManifestFile(blob, maxFileBytes);
        if ('problem' in decoded) problems.push({ path: filePath, message: decoded.problem });
        else files.push({ path: filePath, content: decoded.content });
      }
      // Overlapping paths (`.` and `apps`) walk some trees twice.
      const unique = [...new Map(problems.map((p) => [`${p.path}\0${p.message}`, p])).values()];
      unique.sort((a, b) => compareStrings(a.path, b.path) || compareStrings(a.message, b.message));
      return { files, problems: unique };
    });
  }

  /** Author, committer, message and times of a fetched commit. */
  async commitInfo(remote: GitRemote, commit: string): Promise<GitCommitInfo> {
    assertSha(commit, 'commit');
    const s = this.#session(remote);
    return this.#exclusive(s.gitdir, async () => {
      await this.#init(s);
      return toCommitInfo(await this.#requireCommit(s, commit));
    });
  }

  /**
   * Up to `depth` commits of `ref` (a fetched branch or tag, or a sha),
   * newest first, following first parents: the history the branch went
   * through. Only what is local (a shallow mirror stops early); no network.
   */
  async log(remote: GitRemote, ref: string, depth: number): Promise<GitCommitInfo[]> {
    const s = this.#session(remote);
    return this.#exclusive(s.gitdir, async () => {
      await this.#init(s);
      let oid: string | undefined = SHA.test(ref) ? ref : await this.#localRef(s, ref);
      if (oid === undefined) {
        throw new GitSourceError('not-found', `ref ${JSON.stringify(ref)} of ${s.remote.url} has not been fetched`);
      }
      const out: GitCommitInfo[] = [];
      while (oid !== undefined && out.length < depth) {
        const c = await this.#tryReadCommit(s, oid);
        if (c === undefined) break;
        out.push(toCommitInfo(c));
        oid = c.commit.parent[0];
      }
      return out;
    });
  }

  /**
   * Keeps `commits` (each with its first parent) in the mirror for `owner`,
   * replacing what `owner` kept before: a compaction copies them into the
   * fresh mirror, so they stay readable after the remote dropped them (a
   * force-push). Commits not in the mirror are skipped. No network.
   */
  async pin(remote: GitRemote, owner: string, commits: readonly string[]): Promise<void> {
    if (!OWNER.test(owner)) throw new GitSourceError('invalid', `invalid mirror owner ${JSON.stringify(owner)}`);
    for (const c of commits) assertSha(c, 'commit');
    const s = this.#session(remote);
    await this.#exclusive(s.gitdir, async () => {
      await this.#init(s);
      const folder = `${KEEP_REFS}/${owner}`;
      const wanted = new Set(commits);
      const existing = await git.listRefs({ fs, gitdir: s.gitdir, filepath: folder }).catch(() => [] as string[]);
      for (const name of existing) if (!wanted.has(name)) await git.deleteRef({ fs, gitdir: s.gitdir, ref: `${folder}/${name}` });
      for (const c of wanted) {
        if (existing.includes(c) || (await this.#tryReadCommit(s, c)) === undefined) continue;
        await git.writeRef({ fs, gitdir: s.gitdir, ref: `${folder}/${c}`, value: c, force: true });
      }
    });
  }

  /**
   * Commits, on top of the current tip of `targetBranch ?? branch`, the
   * undoing of `commit` (each file it changed goes back to its first
   * parent's version) and pushes it, never forcing. When the branch moves
   * in between, fetches and tries again (5 attempts). A file changed since
   * `commit` is a conflict error. When the tip already has the parent's
   * versions, returns the tip without committing. Returns the new tip.
   */
  async revert(remote: GitRemote, opts: RevertOptions): Promise<string> {
    assertSha(opts.commit, 'commit');
    assertBranchName(opts.branch, 'branch');
    if (opts.targetBranch !== undefined) assertBranchName(opts.targetBranch, 'target branch');
    const target = opts.targetBranch ?? opts.branch;
    const person = opts.author ?? WEIR_AUTHOR;
    const message = opts.message.endsWith('\n') ? opts.message : `${opts.message}\n`;
    const s = this.#session(remote);
    return this.#exclusive(s.gitdir, async () => {
      await this.#init(s);
      for (let attempt = 1; attempt <= PUSH_ATTEMPTS; attempt++) {
        if (this.#signal?.aborted === true) throw new GitSourceError('aborted', `reverting ${short(opts.commit)} on ${s.remote.url}: aborted`);
        const refs = await this.#advertisement(s);
        const targetTip = refs.get(`refs/heads/${target}`)?.oid;
        const baseBranch = targetTip === undefined ? opts.branch : target;
        const baseTip = targetTip ?? refs.get(`refs/heads/${opts.branch}`)?.oid;
        if (baseTip === undefined) {
          throw new GitSourceError('not-found', `cannot revert ${short(opts.commit)}: branch ${JSON.stringify(opts.branch)} not found on ${s.remote.url}`);
        }
        await this.#ensureCommit(s, baseBranch, baseTip);
        await this.#ensureCommit(s, opts.branch, opts.commit);

        const edits = await this.#planRevert(s, opts.commit, baseTip, baseBranch, opts.paths?.map(normalizeRepoPath));
        if (edits.size === 0) {
          this.#log.info({ url: s.remote.url, branch: baseBranch, commit: opts.commit, tip: baseTip }, 'revert: already reverted; nothing to commit');
          return baseTip;
        }
        const db = this.#db(s);
        const baseCommit = await this.#requireCommit(s, baseTip);
        const tree = await editTree(db, baseCommit.commit.tree, edits);
        const signature = { name: person.name, email: person.email, timestamp: Math.floor(Date.now() / 1000), timezoneOffset: 0 };
        const sha = await git.writeCommit({
          fs,
          gitdir: s.gitdir,
          commit: { message, tree, parent: [baseTip], author: signature, committer: signature },
        });
        await git.writeRef({ fs, gitdir: s.gitdir, ref: PUSH_REF, value: sha, force: true });
        const expectedOld = targetTip ?? ZERO_SHA;
        try {
          await this.#net(s, () =>
            git.push({
              fs,
              http: s.http,
              gitdir: s.gitdir,
              cache: db.cache,
              url: s.remote.url,
              ref: PUSH_REF,
              remoteRef: `refs/heads/${target}`,
              force: false,
              headers: { ...s.remote.headers },
              // The remote's tip as of this push's own advertisement: anything
              // but the tip the revert was built on means the branch moved.
              onPrePush: ({ remoteRef }) => remoteRef.oid === expectedOld,
            }),
          );
          this.#log.info({ url: s.remote.url, branch: target, commit: opts.commit, revert: sha, attempt }, 'revert pushed');
          return sha;
        } catch (err) {
          if (!(await this.#lostRace(s, err, target, expectedOld))) {
            throw toGitSourceError(err, this.#context(s, `pushing the revert of ${short(opts.commit)} to ${target} of ${s.remote.url}`));
          }
          const reason = scrubSecrets(err instanceof Error ? err.message : String(err), s.remote.secrets);
          this.#log.info({ url: s.remote.url, branch: target, attempt, reason }, 'revert push raced with another push; fetching and retrying');
        } finally {
          await git.deleteRef({ fs, gitdir: s.gitdir, ref: PUSH_REF }).catch(() => undefined);
        }
      }
      throw new GitSourceError(
        'push-rejected',
        `cannot push the revert of ${short(opts.commit)} to ${target} of ${s.remote.url}: the branch moved during each of ${PUSH_ATTEMPTS} attempts`,
      );
    });
  }

  // ---- internals ------------------------------------------------------------

  #session(remote: GitRemote): Session {
    let resolved: ResolvedRemote;
    try {
      resolved = resolveRemote(remote);
    } catch (err) {
      throw new GitSourceError('invalid', (err as Error).message);
    }
    const failures: GitTransportError[] = [];
    const client = createGitHttpClient({
      timeoutMs: resolved.timeoutMs,
      stats: this.stats,
      onFailure: (err) => failures.push(err),
      ...(this.#signal === undefined ? {} : { signal: this.#signal }),
    });
    return {
      remote: resolved,
      http: this.#wrapHttp === undefined ? client : this.#wrapHttp(client),
      gitdir: path.join(this.cacheDir, resolved.key),
      failures,
    };
  }

  /**
   * Runs one isomorphic-git network call. A transport failure during it wins
   * over whatever isomorphic-git made of the cut-short response (its
   * pkt-line reader reports a failed body as a normal end of stream).
   */
  async #net<T>(s: Session, fn: () => Promise<T>): Promise<T> {
    const mark = s.failures.length;
    let result: T;
    try {
      result = await fn();
    } catch (err) {
      throw s.failures[mark] ?? err;
    }
    const failure = s.failures[mark];
    if (failure !== undefined) throw failure;
    return result;
  }

  #db(s: Session): ObjectDb {
    let cache = this.#caches.get(s.gitdir);
    if (cache === undefined) {
      cache = {};
      this.#caches.set(s.gitdir, cache);
    }
    return { gitdir: s.gitdir, cache };
  }

  #context(s: Session, action: string): { action: string; secrets: string[]; hasCredentials: boolean } {
    return { action, secrets: s.remote.secrets, hasCredentials: s.remote.hasCredentials };
  }

  /** Runs `fn` after every earlier operation on the same mirror has finished. */
  async #exclusive<T>(gitdir: string, fn: () => Promise<T>): Promise<T> {
    const previous = this.#queues.get(gitdir) ?? Promise.resolve();
    const { promise: done, resolve } = Promise.withResolvers<undefined>();
    const tail = previous.then(() => done);
    this.#queues.set(gitdir, tail);
    await previous;
    try {
      return await fn();
    } finally {
      resolve(undefined);
      if (this.#queues.get(gitdir) === tail) this.#queues.delete(gitdir);
    }
  }

  /** Creates the mirror (a bare repository with an `origin` remote) atomically when missing. */
  async #init(s: Session): Promise<void> {
    if (this.#initialised.has(s.gitdir)) return;
    const exists = await stat(path.join(s.gitdir, 'config')).then(
      () => true,
      () => false,
    );
    if (!exists) {
      await mkdir(this.cacheDir, { recursive: true });
      const tmp = `${s.gitdir}.tmp-${randomBytes(6).toString('hex')}`;
      try {
        await git.init({ fs, dir: tmp, bare: true, defaultBranch: 'main' });
        await git.addRemote({ fs, gitdir: tmp, remote: 'origin', url: s.remote.url });
        await rename(tmp, s.gitdir);
      } catch (err) {
        await rm(tmp, { recursive: true, force: true });
        // Another process created it first: use theirs.
        const raced = await stat(path.join(s.gitdir, 'config')).then(
          () => true,
          () => false,
        );
        if (!raced) throw new GitSourceError('git', `cannot create the Git mirror in ${s.gitdir}: ${(err as Error).message}`, { cause: err });
      }
    }
    this.#initialised.add(s.gitdir);
  }

  /** Starts the mirror afresh when incremental fetches have left too many pack files. */
  async #compactIfNeeded(s: Session): Promise<void> {
    const packDir = path.join(s.gitdir, 'objects', 'pack');
    const packs = (await readdir(packDir).catch(() => [] as string[])).filter((f) => f.endsWith('.pack')).length;
    if (packs <= this.#maxPacks) return;
    this.#log.info({ url: s.remote.url, packs }, 'mirror has too many pack files; starting it afresh');
    const old = `${s.gitdir}.old-${randomBytes(6).toString('hex')}`;
    const oldDb = this.#db(s);
    await rename(s.gitdir, old);
    this.#initialised.delete(s.gitdir);
    this.#caches.delete(s.gitdir);
    try {
      await this.#init(s);
      await this.#copyKept({ gitdir: old, cache: oldDb.cache }, s.gitdir);
    } finally {
      await rm(old, { recursive: true, force: true });
    }
  }

  /** Copies the kept commits (refs under KEEP_REFS), their first parents and every object of their trees from `from` into the fresh mirror `to`. */
  async #copyKept(from: ObjectDb, to: string): Promise<void> {
    const kept = await git.listRefs({ fs, gitdir: from.gitdir, filepath: KEEP_REFS }).catch(() => [] as string[]);
    const copied = new Set<string>();
    const src = { fs, gitdir: from.gitdir, cache: from.cache };
    const copyTree = async (oid: string): Promise<void> => {
      if (copied.has(oid)) return;
      copied.add(oid);
      const { tree } = await git.readTree({ ...src, oid });
      for (const entry of tree) {
        if (entry.type === 'tree') {
          await copyTree(entry.oid);
        } else if (entry.type === 'blob' && !copied.has(entry.oid)) {
          copied.add(entry.oid);
          await git.writeBlob({ fs, gitdir: to, blob: (await git.readBlob({ ...src, oid: entry.oid })).blob });
        }
      }
      await git.writeTree({ fs, gitdir: to, tree });
    };
    /** A commit and its tree; false when it is not in `from` or does not come out the same (a commit Git would serialise otherwise). */
    const copyCommit = async (oid: string): Promise<boolean> => {
      if (copied.has(oid)) return true;
      const c = await git.readCommit({ ...src, oid }).catch(() => undefined);
      if (c === undefined) return false;
      await copyTree(c.commit.tree);
      copied.add(oid);
      return (await git.writeCommit({ fs, gitdir: to, commit: c.commit })) === oid;
    };
    for (const name of kept) {
      const commit = name.split('/').pop() ?? '';
      if (!SHA.test(commit) || !(await copyCommit(commit))) {
        this.#log.warn({ gitdir: to, commit }, 'a kept commit could not be copied into the fresh mirror');
        continue;
      }
      const parent = (await git.readCommit({ fs, gitdir: to, oid: commit })).commit.parent[0];
      if (parent !== undefined) await copyCommit(parent);
      await git.writeRef({ fs, gitdir: to, ref: `${KEEP_REFS}/${name}`, value: commit, force: true });
    }
    if (kept.length > 0) this.#log.info({ gitdir: to, commits: kept.length, objects: copied.size }, 'kept commits copied into the fresh mirror');
  }

  async #advertisement(s: Session): Promise<Map<string, ServerRef>> {
    try {
      // Protocol v1: the advertisement is the whole answer, in one request
      // (v2 needs a second one for ls-refs). Not listServerRefs: given an
      // empty repository's advertisement it falls through to a v2 ls-refs.
      const info = await this.#net(s, () =>
        git.getRemoteInfo2({ http: s.http, url: s.remote.url, headers: { ...s.remote.headers }, protocolVersion: 1 }),
      );
      if (info.refs === undefined) {
        throw new GitSourceError('protocol', `listing the refs of ${s.remote.url}: the server answered with protocol v2 when asked for v1`);
      }
      return new Map(info.refs.map((r) => [r.ref, r]));
    } catch (err) {
      throw toGitSourceError(err, this.#context(s, `listing the refs of ${s.remote.url}`));
    }
  }

  async #tryReadCommit(s: Session, oid: string): Promise<ReadCommitResult | undefined> {
    try {
      return await git.readCommit({ fs, gitdir: s.gitdir, oid, cache: this.#db(s).cache });
    } catch (err) {
      if (err instanceof Errors.NotFoundError) return undefined;
      if (err instanceof Errors.ObjectTypeError) throw new GitSourceError('invalid', `${oid} in ${s.remote.url} is not a commit`, { cause: err });
      throw toGitSourceError(err, this.#context(s, `reading commit ${short(oid)} of ${s.remote.url}`));
    }
  }

  async #requireCommit(s: Session, oid: string): Promise<ReadCommitResult> {
    const c = await this.#tryReadCommit(s, oid);
    if (c === undefined) {
      throw new GitSourceError('not-found', `commit ${short(oid)} of ${s.remote.url} is not in the local mirror; fetch it first`);
    }
    return c;
  }

  /** The commit and its first parent (when it has one) are both here. */
  async #hasCommitWithParent(s: Session, oid: string): Promise<boolean> {
    const c = await this.#tryReadCommit(s, oid);
    if (c === undefined) return false;
    const parent = c.commit.parent[0];
    return parent === undefined || (await this.#tryReadCommit(s, parent)) !== undefined;
  }

  async #localRef(s: Session, ref: string): Promise<string | undefined> {
    const names = ref === 'HEAD' || ref.startsWith('refs/') ? [localRefFor(ref)] : [`refs/remotes/origin/${ref}`, `refs/tags/${ref}`];
    for (const name of names) {
      try {
        const oid = await git.resolveRef({ fs, gitdir: s.gitdir, ref: name });
        // readCommit peels annotated tags.
        const c = await this.#tryReadCommit(s, oid);
        if (c !== undefined) return c.oid;
      } catch {
        // try the next name
      }
    }
    return undefined;
  }

  /** Caller holds the mirror's lock. */
  async #ensureCommit(s: Session, ref: string, commit: string): Promise<void> {
    await this.#init(s);
    if (await this.#hasCommitWithParent(s, commit)) return;
    await this.#compactIfNeeded(s);
    const candidates = SHA.test(ref) ? ['HEAD'] : refCandidates(ref);
    let fullRef: string | undefined;
    for (const depth of FETCH_DEPTHS) {
      fullRef = await this.#fetchOnce(s, fullRef === undefined ? candidates : [fullRef], ref, depth);
      if (depth === FULL_DEPTH) {
        if ((await this.#tryReadCommit(s, commit)) !== undefined) return;
      } else if (await this.#hasCommitWithParent(s, commit)) {
        return;
      }
    }
    const where = SHA.test(ref) ? 'the default branch' : JSON.stringify(ref);
    throw new GitSourceError('not-found', `commit ${commit} is not in the history of ${where} of ${s.remote.url}`);
  }

  /** One fetch of the first of `candidates` the remote has; returns the full ref fetched. */
  async #fetchOnce(s: Session, candidates: string[], ref: string, depth: number): Promise<string> {
    const db = this.#db(s);
    for (const fullRef of candidates) {
      const localRef = localRefFor(fullRef);
      const before = { ...this.stats };
      try {
        const result = await this.#net(s, () =>
          git.fetch({
            fs,
            http: s.http,
            gitdir: s.gitdir,
            cache: db.cache,
            url: s.remote.url,
            // The local ref whose tip is sent as a "have": only new objects come.
            ref: localRef,
            remoteRef: fullRef,
            singleBranch: true,
            tags: false,
            depth,
            headers: { ...s.remote.headers },
          }),
        );
        if (!fullRef.startsWith('refs/heads/') && fullRef !== 'HEAD' && result.fetchHead !== null) {
          await git.writeRef({ fs, gitdir: s.gitdir, ref: localRef, value: result.fetchHead, force: true });
        }
        this.#log.debug(
          {
            url: s.remote.url,
            ref: fullRef,
            depth: depth === FULL_DEPTH ? 'full' : depth,
            requests: this.stats.requests - before.requests,
            bytes: this.stats.bytesReceived - before.bytesReceived,
          },
          'fetched',
        );
        return fullRef;
      } catch (err) {
        if (err instanceof Errors.NotFoundError) continue;
        throw toGitSourceError(err, this.#context(s, `fetching ${fullRef} from ${s.remote.url}`));
      }
    }
    throw new GitSourceError(
      'not-found',
      `fetching ${JSON.stringify(ref)} from ${s.remote.url}: no such ref (looked for ${candidates.join(', ')})`,
    );
  }

  /** The files `commit` changed, mapped to their parent's version, checked against `tip`. */
  async #planRevert(s: Session, commit: string, tip: string, branch: string, paths?: readonly string[]): Promise<Map<string, LeafEntry | null>> {
    const db = this.#db(s);
    const c = await this.#requireCommit(s, commit);
    const parent = c.commit.parent[0];
    const parentTree = parent === undefined ? null : (await this.#requireCommit(s, parent)).commit.tree;
    const tipTree = (await this.#requireCommit(s, tip)).commit.tree;
    const within = (file: string): boolean => paths === undefined || paths.some((p) => p === '' || file === p || file.startsWith(`${p}/`));
    const changes = (await diffTrees(db, parentTree, c.commit.tree)).filter((change) => within(change.path));
    const edits = new Map<string, LeafEntry | null>();
    const conflicts: string[] = [];
    for (const change of changes) {
      const entry = await entryAt(db, tipTree, change.path);
      if (entry?.type === 'tree') {
        conflicts.push(change.path);
        continue;
      }
      const current = entry === undefined ? null : { oid: entry.oid, mode: entry.mode };
      if (sameLeaf(current, change.after)) edits.set(change.path, change.before);
      else if (!sameLeaf(current, change.before)) conflicts.push(change.path);
    }
    if (conflicts.length > 0) {
      throw new GitSourceError(
        'conflict',
        `cannot revert ${short(commit)} on ${branch} of ${s.remote.url} (at ${short(tip)}): ` +
          `${conflicts.length === 1 ? 'file' : 'files'} ${conflicts.join(', ')} changed since that commit; revert by hand`,
      );
    }
    return edits;
  }

  /** Whether a failed push failed because the branch moved (then fetch and try again). */
  async #lostRace(s: Session, err: unknown, target: string, expectedOld: string): Promise<boolean> {
    if (err instanceof Errors.UserCanceledError) return true; // onPrePush saw a moved tip
    if (err instanceof Errors.PushRejectedError && err.data.reason === 'not-fast-forward') return true;
    if (err instanceof Errors.GitPushError) {
      // The server refused the ref update; if the branch is no longer where
      // the push expected it, another push won the race.
      const refs = await this.#advertisement(s);
      return (refs.get(`refs/heads/${target}`)?.oid ?? ZERO_SHA) !== expectedOld;
    }
    return false;
  }
}

function compareStrings(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function pickRef(refs: Map<string, ServerRef>, ref: string, url: string): { fullRef: string; commit: string } {
  const candidates = refCandidates(ref);
  for (const name of candidates) {
    const found = refs.get(name);
    if (found !== undefined) return { fullRef: name, commit: found.peeled ?? found.oid };
  }
  const empty = refs.size === 0 ? '; the repository has no branches yet' : '';
  throw new GitSourceError('not-found', `ref ${JSON.stringify(ref)} not found on ${url} (looked for ${candidates.join(', ')})${empty}`);
}
