import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WEIR_AUTHOR } from '../../source/index.ts';
import { activeHolds, composeRevisions, fileHash, holdOf, isWeirRevert, rolloutScope, sameHolds, scopeDigest, type HeldBack } from './scope.ts';
import type { RejectedRevision } from './verdicts.ts';

const BAD = 'b'.repeat(40);
const GOOD = 'a'.repeat(40);
const NEXT = 'c'.repeat(40);

function hashes(files: Record<string, string>): Map<string, string> {
  return new Map(Object.entries(files).map(([f, c]) => [f, fileHash(c)]));
}

describe('rolloutScope', () => {
  it("is the Rollout file's directory inside a source path, the whole source at a root", () => {
    assert.equal(rolloutScope('apps/b/rollout.yaml', ['.']), 'apps/b');
    assert.equal(rolloutScope('apps/b/deep/rollout.yaml', ['apps']), 'apps/b/deep');
    assert.equal(rolloutScope('rollout.yaml', ['.']), undefined, 'a one-app repository');
    assert.equal(rolloutScope('apps/rollout.yaml', ['apps']), undefined, 'at the root of the only path');
    assert.equal(rolloutScope('apps/b/rollout.yaml', ['apps/b', 'shared']), undefined);
    assert.equal(rolloutScope('apps/b/rollout.yaml', []), 'apps/b', 'no paths: the repository root');
    assert.equal(rolloutScope('apps/b/rollout.yaml', ['./apps/']), 'apps/b');
  });
});

describe('scopeDigest', () => {
  it('changes with the manifests under the directory only', () => {
    const before = hashes({ 'apps/a/x.yaml': 'a: 1', 'apps/b/x.yaml': 'b: 1' });
    const neighbour = hashes({ 'apps/a/x.yaml': 'a: 2', 'apps/b/x.yaml': 'b: 1' });
    const changed = hashes({ 'apps/a/x.yaml': 'a: 1', 'apps/b/x.yaml': 'b: 2' });
    const added = hashes({ 'apps/a/x.yaml': 'a: 1', 'apps/b/x.yaml': 'b: 1', 'apps/b/y.yaml': 'y' });
    const prefix = hashes({ 'apps/a/x.yaml': 'a: 1', 'apps/b/x.yaml': 'b: 1', 'apps/bb/x.yaml': 'bb' });
    assert.equal(scopeDigest(neighbour, 'apps/b'), scopeDigest(before, 'apps/b'));
    assert.equal(scopeDigest(prefix, 'apps/b'), scopeDigest(before, 'apps/b'), 'apps/bb is not under apps/b');
    assert.notEqual(scopeDigest(changed, 'apps/b'), scopeDigest(before, 'apps/b'));
    assert.notEqual(scopeDigest(added, 'apps/b'), scopeDigest(before, 'apps/b'));
  });
});

function rejection(over: Partial<RejectedRevision>, drop: ('rollbackTo' | 'scope')[] = []): RejectedRevision {
  const r: RejectedRevision = { revision: BAD, rollout: 'b', reason: 'analysis failed', at: '2026-12-07T00:00:00Z', rollbackTo: GOOD, scope: 'apps/b', scopeDigest: 'd-bad', ...over };
  if (drop.includes('rollbackTo')) delete r.rollbackTo;
  if (drop.includes('scope')) delete r.scope;
  return r;
}

describe('activeHolds', () => {
  it('holds a directory while the commit still has the rejected digest there, one hold per directory (the latest)', () => {
    const digest = (dir: string): string => (dir === 'apps/b' ? 'd-bad' : 'd-other');
    assert.deepEqual(activeHolds([rejection({})], digest), [{ path: 'apps/b', revision: GOOD, rejected: BAD, rollout: 'b' }]);
    assert.deepEqual(activeHolds([rejection({})], () => 'd-fixed'), [], 'the directory changed: released');
    assert.deepEqual(activeHolds([rejection({}, ['rollbackTo'])], digest), [], 'nothing to go back to');
    assert.deepEqual(activeHolds([rejection({}, ['scope'])], digest), [], 'a whole-source rejection is not a hold');
    const later = rejection({ revision: NEXT, rollbackTo: GOOD });
    assert.deepEqual(activeHolds([rejection({}), later], digest), [{ path: 'apps/b', revision: GOOD, rejected: NEXT, rollout: 'b' }]);
  });

  it('sameHolds compares path, good and rejected commits', () => {
    const h: HeldBack = { path: 'apps/b', revision: GOOD, rejected: BAD, rollout: 'b' };
    assert.ok(sameHolds([h], [{ ...h }]));
    assert.ok(sameHolds(undefined, []));
    assert.ok(!sameHolds([h], undefined));
    assert.ok(!sameHolds([h], [{ ...h, rejected: NEXT }]));
  });
});

describe('composeRevisions', () => {
  it("takes the held directories from their good commit and everything else from the target", () => {
    const docs = (rev: string, files: string[]) => files.map((file) => ({ file, rev }));
    const outer: HeldBack = { path: 'apps/b', revision: GOOD, rejected: BAD, rollout: 'b' };
    const inner: HeldBack = { path: 'apps/b/sub', revision: NEXT, rejected: BAD, rollout: 'sub' };
    const holds = [outer, inner];
    const parts = composeRevisions({ revision: BAD, documents: docs(BAD, ['apps/a/x.yaml', 'apps/b/x.yaml', 'apps/b/sub/y.yaml', 'top.yaml']) }, [
      { hold: outer, documents: docs(GOOD, ['apps/a/x.yaml', 'apps/b/x.yaml', 'apps/b/old.yaml', 'apps/b/sub/y.yaml']) },
      { hold: inner, documents: docs(NEXT, ['apps/b/sub/y.yaml', 'apps/b/x.yaml']) },
    ]);
    assert.deepEqual(
      parts.map((p) => [p.revision, p.documents.map((d) => `${d.file}@${d.rev[0]}`)]),
      [
        [BAD, ['apps/a/x.yaml@b', 'top.yaml@b']],
        [GOOD, ['apps/b/x.yaml@a', 'apps/b/old.yaml@a']],
        [NEXT, ['apps/b/sub/y.yaml@c']],
      ],
    );
    assert.equal(holdOf('apps/b/sub/y.yaml', holds)?.path, 'apps/b/sub', 'the deepest hold');
    assert.equal(holdOf('apps/bb/y.yaml', holds), undefined);
  });
});

describe('isWeirRevert', () => {
  it("is Weir's own revert commit, not a person's revert nor a commit that mentions one", () => {
    const message = `Revert "bad"\n\nThis reverts commit ${BAD}.\n\nWeir rejected it: rollout shop/b failed: x\n`;
    assert.ok(isWeirRevert({ author: WEIR_AUTHOR, message }));
    assert.ok(!isWeirRevert({ author: { name: 'Dev', email: 'dev@example.com' }, message }));
    assert.ok(!isWeirRevert({ author: WEIR_AUTHOR, message: 'bump image' }));
  });
});
