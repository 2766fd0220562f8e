// Rollback scoped to the app that failed, as pure functions. A failed
// Rollout's rejection covers the directory of its file (its app), not the
// whole source: the objects under that directory go back to the Rollout's
// last good commit, everything else stays as Git says. The hold lasts while
// Git still holds the rejected content there (matched by a digest of the
// manifests under the directory), so a neighbour's later commit neither
// releases it nor rolls the rejected release out again; a commit that changes
// the directory (a fix, or Weir's own scoped revert) ends it.
import { createHash } from 'node:crypto';
import { posix } from 'node:path';
import type { GitSourceStatus } from '../../api/gitsource.ts';
import type { GitCommitInfo } from '../../source/index.ts';
import { WEIR_AUTHOR } from '../../source/index.ts';
import type { RejectedRevision } from './verdicts.ts';

export type HeldBack = NonNullable<GitSourceStatus['heldBack']>[number];

function normalize(dir: string): string {
  return dir
    .split('/')
    .filter((s) => s !== '' && s !== '.')
    .join('/');
}

/** Whether `file` is under directory `dir` ('' is the repository root). */
export function inDirectory(file: string, dir: string): boolean {
  return dir === '' || file.startsWith(`${dir}/`);
}

/**
 * The directory a Rollout's rejection is scoped to: that of its file, when it
 * lies strictly inside one of the source's paths; undefined (the whole
 * source) when the file sits at a root of them, as in a one-app repository.
 */
export function rolloutScope(file: string, sourcePaths: readonly string[]): string | undefined {
  const dir = normalize(posix.dirname(file));
  const roots = (sourcePaths.length === 0 ? ['.'] : sourcePaths).map(normalize);
  if (roots.includes(dir)) return undefined;
  return roots.some((root) => root === '' || dir.startsWith(`${root}/`)) ? dir : undefined;
}

/** A digest of the manifests under `dir`, from each file's content hash: equal digests are equal manifests. */
export function scopeDigest(fileHashes: ReadonlyMap<string, string>, dir: string): string {
  const h = createHash('sha256');
  for (const file of [...fileHashes.keys()].filter((f) => inDirectory(f, dir)).sort()) h.update(`${file}\0${fileHashes.get(file) ?? ''}\n`);
  return h.digest('hex');
}

/** The content hash of one file, for scopeDigest. */
export function fileHash(content: string): string {
  return createHash('sha256').update(content).digest('hex');
}

/**
 * The directories to hold back when `revision` is applied: each scoped
 * rejection with a last good commit whose digest `revision` still has.
 * One hold per directory (the latest rejection), sorted by path.
 */
export function activeHolds(rejections: readonly RejectedRevision[], digestAt: (dir: string) => string): HeldBack[] {
  const byPath = new Map<string, HeldBack>();
  for (const r of rejections) {
    if (r.scope === undefined || r.scopeDigest === undefined || r.rollbackTo === undefined) continue;
    if (digestAt(r.scope) !== r.scopeDigest) continue;
    byPath.set(r.scope, { path: r.scope, revision: r.rollbackTo, rejected: r.revision, rollout: r.rollout });
  }
  return [...byPath.values()].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

/** Equal lists of holds (the status's and the wanted ones). */
export function sameHolds(a: readonly HeldBack[] | undefined, b: readonly HeldBack[] | undefined): boolean {
  const key = (l: readonly HeldBack[] | undefined): string => JSON.stringify((l ?? []).map((h) => [h.path, h.revision, h.rejected]));
  return key(a) === key(b);
}

/** The hold a file falls under: the deepest held directory holding it. */
export function holdOf(file: string, holds: readonly HeldBack[]): HeldBack | undefined {
  let found: HeldBack | undefined;
  for (const h of holds) if (inDirectory(file, h.path) && (found === undefined || h.path.length > found.path.length)) found = h;
  return found;
}

/** The documents of one commit that make up part of what the cluster should hold. */
export interface RevisionPart<D> {
  revision: string;
  documents: D[];
}

/**
 * What the cluster should hold: the target commit's documents outside every
 * held directory, and each held directory's documents from its last good commit.
 */
export function composeRevisions<D extends { file: string }>(
  target: RevisionPart<D>,
  held: readonly { hold: HeldBack; documents: readonly D[] }[],
): RevisionPart<D>[] {
  const holds = held.map((h) => h.hold);
  const parts: RevisionPart<D>[] = [{ revision: target.revision, documents: target.documents.filter((d) => holdOf(d.file, holds) === undefined) }];
  for (const { hold, documents } of held) parts.push({ revision: hold.revision, documents: documents.filter((d) => holdOf(d.file, holds) === hold) });
  return parts;
}

/** A commit Weir wrote to revert a rejected one: reverting it would put the rejected release back. */
export function isWeirRevert(info: Pick<GitCommitInfo, 'author' | 'message'>): boolean {
  return info.author.email === WEIR_AUTHOR.email && /^This reverts commit [0-9a-f]{40}\.$/m.test(info.message);
}
