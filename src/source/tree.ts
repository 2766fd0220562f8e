// Tree arithmetic on a repository's object database, without a working tree:
// look an entry up by path, diff two trees, and write a tree with some paths
// changed. Used by the revert, which never checks anything out.
import fs from 'node:fs';
import git, { type TreeEntry } from 'isomorphic-git';

/** A repository's object database plus the pack cache shared by every call on it. */
export interface ObjectDb {
  gitdir: string;
  cache: object;
}

/** A non-tree entry: a file (100644/100755), symlink (120000) or submodule (160000). */
export interface LeafEntry {
  oid: string;
  mode: string;
}

/** One path that differs between two trees: `null` means absent on that side. */
export interface TreeChange {
  path: string;
  before: LeafEntry | null;
  after: LeafEntry | null;
}

export const TREE_MODE = '040000';
export const SYMLINK_MODE = '120000';
export const SUBMODULE_MODE = '160000';

export async function readTreeEntries(db: ObjectDb, treeOid: string): Promise<TreeEntry[]> {
  const { tree } = await git.readTree({ fs, gitdir: db.gitdir, oid: treeOid, cache: db.cache });
  return tree;
}

/** The entry at `path` (segments joined by `/`) under `treeOid`, or undefined. */
export async function entryAt(db: ObjectDb, treeOid: string, path: string): Promise<TreeEntry | undefined> {
  const segments = path.split('/');
  let current = treeOid;
  for (let i = 0; i < segments.length; i++) {
    const entries = await readTreeEntries(db, current);
    const entry = entries.find((e) => e.path === segments[i]);
    if (entry === undefined) return undefined;
    if (i === segments.length - 1) return entry;
    if (entry.type !== 'tree') return undefined;
    current = entry.oid;
  }
  return undefined;
}

export function sameLeaf(a: LeafEntry | null | undefined, b: LeafEntry | null | undefined): boolean {
  if (a && b) return a.oid === b.oid && a.mode === b.mode;
  return !a && !b;
}

/** Every non-tree path whose entry differs between trees `a` and `b` (either may be null: empty). Unchanged subtrees are skipped. */
export async function diffTrees(db: ObjectDb, a: string | null, b: string | null, prefix = ''): Promise<TreeChange[]> {
  if (a === b) return [];
  const left = new Map((a === null ? [] : await readTreeEntries(db, a)).map((e) => [e.path, e]));
  const right = new Map((b === null ? [] : await readTreeEntries(db, b)).map((e) => [e.path, e]));
  const names = [...new Set([...left.keys(), ...right.keys()])].sort();
  const changes: TreeChange[] = [];
  for (const name of names) {
    const x = left.get(name);
    const y = right.get(name);
    if (sameLeaf(x, y)) continue; // same oid and mode: identical (sub)trees too
    const path = `${prefix}${name}`;
    const xTree = x?.type === 'tree' ? x.oid : null;
    const yTree = y?.type === 'tree' ? y.oid : null;
    if (xTree !== null || yTree !== null) changes.push(...(await diffTrees(db, xTree, yTree, `${path}/`)));
    const xLeaf = x !== undefined && x.type !== 'tree' ? { oid: x.oid, mode: x.mode } : null;
    const yLeaf = y !== undefined && y.type !== 'tree' ? { oid: y.oid, mode: y.mode } : null;
    if (!sameLeaf(xLeaf, yLeaf)) changes.push({ path, before: xLeaf, after: yLeaf });
  }
  return changes;
}

/**
 * Writes the tree `treeOid` with `edits` applied (path → new leaf, or null to
 * delete) and returns its oid. Directories left empty disappear; missing ones
 * are created. A leaf replacing a directory (or the reverse) works either way.
 */
export async function editTree(db: ObjectDb, treeOid: string | null, edits: ReadonlyMap<string, LeafEntry | null>): Promise<string> {
  return (await editSubtree(db, treeOid, edits)) ?? (await git.writeTree({ fs, gitdir: db.gitdir, tree: [] }));
}

async function editSubtree(db: ObjectDb, treeOid: string | null, edits: ReadonlyMap<string, LeafEntry | null>): Promise<string | null> {
  const entries = new Map((treeOid === null ? [] : await readTreeEntries(db, treeOid)).map((e) => [e.path, e]));
  const direct = new Map<string, LeafEntry | null>();
  const nested = new Map<string, Map<string, LeafEntry | null>>();
  for (const [path, leaf] of edits) {
    const slash = path.indexOf('/');
    if (slash < 0) {
      direct.set(path, leaf);
    } else {
      const head = path.slice(0, slash);
      let sub = nested.get(head);
      if (sub === undefined) {
        sub = new Map();
        nested.set(head, sub);
      }
      sub.set(path.slice(slash + 1), leaf);
    }
  }
  // Leaves first, so a directory that replaces a file (or a file that
  // replaces a directory) is settled by the nested edits below.
  for (const [name, leaf] of direct) {
    if (leaf === null) entries.delete(name);
    else entries.set(name, { mode: leaf.mode, path: name, oid: leaf.oid, type: leafType(leaf.mode) });
  }
  for (const [name, sub] of nested) {
    const existing = entries.get(name);
    const base = existing?.type === 'tree' ? existing.oid : null;
    const oid = await editSubtree(db, base, sub);
    if (oid !== null) entries.set(name, { mode: TREE_MODE, path: name, oid, type: 'tree' });
    else if (existing?.type === 'tree') entries.delete(name);
  }
  if (entries.size === 0) return null;
  return git.writeTree({ fs, gitdir: db.gitdir, tree: [...entries.values()] });
}

function leafType(mode: string): TreeEntry['type'] {
  return mode === SUBMODULE_MODE ? 'commit' : 'blob';
}
