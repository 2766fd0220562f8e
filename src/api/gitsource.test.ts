import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { CRD_KINDS, GITSOURCE_KIND, buildCrd, crdFiles } from './crd.ts';
import { GITSOURCE_DEFAULTS, resolveGitSourceSpec, shortRevision, type GitSourceSpec } from './gitsource.ts';
import { lineOf, parseManifests } from './manifests.ts';
import { validateGitSource, type FieldError } from './validate.ts';

type Obj = Record<string, unknown>;

function base(): Obj {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'GitSource',
    metadata: { name: 'shop', namespace: 'shop' },
    spec: {
      url: 'https://git.example.com/shop/deploy.git',
      ref: { branch: 'main' },
      paths: ['apps', './infra/'],
      interval: '1m',
      secretRef: { name: 'git-credentials' },
      timeout: '60s',
      prune: true,
      rollback: { writeBack: 'revert' },
      suspend: false,
    },
  };
}

function spec(o: Obj): Obj {
  return o.spec as Obj;
}

function errorsOf(mutate: (s: Obj, o: Obj) => void): FieldError[] {
  const o = base();
  mutate(spec(o), o);
  return validateGitSource(o).errors;
}

function assertError(errors: FieldError[], path: string, message: RegExp): void {
  assert.ok(
    errors.some((e) => e.path === path && message.test(e.message)),
    `expected an error at ${path} matching ${String(message)}, got ${JSON.stringify(errors, null, 2)}`,
  );
}

describe('validateGitSource', () => {
  it('accepts a complete GitSource and returns it', () => {
    const result = validateGitSource(base());
    assert.deepEqual(result.errors, []);
    assert.equal(result.gitSource?.spec.url, 'https://git.example.com/shop/deploy.git');
  });

  it('accepts the smallest GitSource: a URL', () => {
    const result = validateGitSource({ apiVersion: 'weir.dev/v1alpha1', kind: 'GitSource', metadata: { name: 'a' }, spec: { url: 'http://127.0.0.1:8080/r.git' } });
    assert.deepEqual(result.errors, []);
  });

  it('drops nulls as the API server does', () => {
    const result = validateGitSource({ ...base(), spec: { ...spec(base()), secretRef: null, suspend: null } });
    assert.deepEqual(result.errors, []);
    assert.equal(result.gitSource?.spec.secretRef, undefined);
  });

  it('requires spec.url, and an http(s) one', () => {
    assertError(
      errorsOf((s) => delete s.url),
      'spec.url',
      /^required$/,
    );
    const ssh = errorsOf((s) => (s.url = 'git@github.com:shop/deploy.git'));
    assertError(ssh, 'spec.url', /must be an http:\/\/ or https:\/\/ URL.*SSH is not supported/);
    assert.equal(ssh.filter((e) => e.path === 'spec.url').length, 1, 'one message, not also the schema pattern');
    assertError(
      errorsOf((s) => (s.url = 'ftp://example.com/x')),
      'spec.url',
      /http:\/\/ or https:\/\//,
    );
    assertError(
      errorsOf((s) => (s.url = 42)),
      'spec.url',
      /must be a string/,
    );
  });

  it('refuses credentials in the URL (it is printed in status and logs)', () => {
    assertError(
      errorsOf((s) => (s.url = 'https://bot:hunter2@git.example.com/r.git')),
      'spec.url',
      /must not contain credentials.*secretRef/,
    );
  });

  it('checks ref: one of branch, tag, commit; commit with branch allowed', () => {
    assertError(
      errorsOf((s) => (s.ref = {})),
      'spec.ref',
      /must set branch, tag or commit/,
    );
    assertError(
      errorsOf((s) => (s.ref = { branch: 'main', tag: 'v1' })),
      'spec.ref.tag',
      /either branch or tag/,
    );
    assertError(
      errorsOf((s) => (s.ref = { tag: 'v1', commit: 'a'.repeat(40) })),
      'spec.ref.commit',
      /either tag or commit/,
    );
    assert.deepEqual(
      errorsOf((s) => (s.ref = { branch: 'release/1.x', commit: '0123456789abcdef0123456789abcdef01234567' })),
      [],
    );
    assert.deepEqual(
      errorsOf((s) => (s.ref = { tag: 'v1.2.3' })),
      [],
    );
    assertError(
      errorsOf((s) => (s.ref = { commit: 'abc1234' })),
      'spec.ref.commit',
      /full commit SHA/,
    );
    assertError(
      errorsOf((s) => (s.ref = { branch: 'feature..x' })),
      'spec.ref.branch',
      /valid Git ref name/,
    );
    assertError(
      errorsOf((s) => (s.ref = { branch: 'refs/heads/main' })),
      'spec.ref.branch',
      /without "refs\/heads\/"/,
    );
    assertError(
      errorsOf((s) => (s.ref = { tag: 'my tag' })),
      'spec.ref.tag',
      /no spaces/,
    );
    assertError(
      errorsOf((s) => (s.ref = { branch: 'main', sha: 'x' })),
      'spec.ref.sha',
      /unknown field/,
    );
  });

  it('checks paths: relative directories inside the repository, none twice', () => {
    assertError(
      errorsOf((s) => (s.paths = [])),
      'spec.paths',
      /at least one directory/,
    );
    assertError(
      errorsOf((s) => (s.paths = ['../other'])),
      'spec.paths[0]',
      /no "\.\."/,
    );
    assertError(
      errorsOf((s) => (s.paths = ['/etc'])),
      'spec.paths[0]',
      /relative/,
    );
    assertError(
      errorsOf((s) => (s.paths = ['apps', './apps/'])),
      'spec.paths[1]',
      /"apps" twice \(also paths\[0\]\)/,
    );
    assertError(
      errorsOf((s) => (s.paths = [''])),
      'spec.paths[0]',
      /must not be empty/,
    );
    assert.deepEqual(
      errorsOf((s) => (s.paths = ['.', 'a/b'])),
      [],
    );
  });

  it('checks interval and timeout as Go durations', () => {
    assertError(
      errorsOf((s) => (s.interval = '5 minutes')),
      'spec.interval',
      /invalid duration/,
    );
    assertError(
      errorsOf((s) => (s.interval = '60')),
      'spec.interval',
      /with a unit, such as "60s"/,
    );
    assertError(
      errorsOf((s) => (s.interval = '10ms')),
      'spec.interval',
      /at least 1s/,
    );
    assertError(
      errorsOf((s) => (s.timeout = '0s')),
      'spec.timeout',
      /at least/,
    );
    assertError(
      errorsOf((s) => (s.interval = 60)),
      'spec.interval',
      /must be a string/,
    );
  });

  it('checks secretRef, rollback.writeBack, prune and suspend', () => {
    assertError(
      errorsOf((s) => (s.secretRef = {})),
      'spec.secretRef.name',
      /^required$/,
    );
    assertError(
      errorsOf((s) => (s.secretRef = { name: 'Git_Creds' })),
      'spec.secretRef.name',
      /DNS-1123/,
    );
    assertError(
      errorsOf((s) => (s.rollback = { writeBack: 'push' })),
      'spec.rollback.writeBack',
      /must be one of "none", "revert" or "branch"/,
    );
    assertError(
      errorsOf((s) => (s.rollback = { onAnalysisError: 'ignore' })),
      'spec.rollback.onAnalysisError',
      /must be one of "retry" or "reject"/,
    );
    assertError(
      errorsOf((s) => (s.prune = 'yes')),
      'spec.prune',
      /boolean/,
    );
    assertError(
      errorsOf((s) => (s.supsend = true)),
      'spec.supsend',
      /did you mean "suspend"/,
    );
  });

  it('checks apiVersion, kind and metadata', () => {
    assertError(
      errorsOf((_s, o) => (o.apiVersion = 'source.toolkit.fluxcd.io/v1')),
      'apiVersion',
      /must be weir\.dev\/v1alpha1/,
    );
    assertError(
      errorsOf((_s, o) => (o.kind = 'GitRepository')),
      'kind',
      /"GitSource"/,
    );
    assertError(
      errorsOf((_s, o) => (o.metadata = {})),
      'metadata.name',
      /required/,
    );
  });

  it('never throws: not an object, a cycle', () => {
    assert.match(validateGitSource('x').errors[0]?.message ?? '', /must be a Kubernetes object/);
    const o = base();
    spec(o).rollback = o;
    assert.match(validateGitSource(o).errors[0]?.message ?? '', /refers to itself/);
  });

  it("gives paths that lineOf finds in the manifest's file", () => {
    const text = ['apiVersion: weir.dev/v1alpha1', 'kind: GitSource', 'metadata:', '  name: shop', 'spec:', '  url: https://example.com/r.git', '  ref:', '    commit: abc'].join('\n');
    const [doc] = parseManifests(text, 'gs.yaml').documents;
    assert.ok(doc);
    const [error] = validateGitSource(doc.object).errors;
    assert.equal(error?.path, 'spec.ref.commit');
    assert.equal(lineOf(doc, error.path), 8);
  });
});

describe('resolveGitSourceSpec', () => {
  it('fills in every default', () => {
    assert.deepEqual(resolveGitSourceSpec({ url: 'https://x/r.git' }), {
      url: 'https://x/r.git',
      ref: { branch: 'main' },
      paths: ['.'],
      interval: '1m',
      timeout: '60s',
      prune: true,
      rollback: { writeBack: 'none', onAnalysisError: 'retry' },
      suspend: false,
    });
  });

  it('keeps what is set and copies instead of sharing', () => {
    const given: GitSourceSpec = { url: 'https://x/r.git', ref: { tag: 'v1' }, paths: ['a'], prune: false, rollback: {}, secretRef: { name: 's' } };
    const resolved = resolveGitSourceSpec(given);
    assert.deepEqual(resolved.ref, { tag: 'v1' });
    assert.deepEqual(resolved.paths, ['a']);
    assert.equal(resolved.prune, false);
    assert.deepEqual(resolved.rollback, { writeBack: 'none', onAnalysisError: 'retry' });
    assert.equal(resolveGitSourceSpec({ ...given, rollback: { onAnalysisError: 'reject' } }).rollback.onAnalysisError, 'reject');
    assert.deepEqual(resolved.secretRef, { name: 's' });
    resolved.paths.push('b');
    assert.deepEqual(given.paths, ['a']);
    assert.deepEqual(GITSOURCE_DEFAULTS.paths, ['.']);
  });

  it('shortens revisions to 12 characters', () => {
    assert.equal(shortRevision('0123456789abcdef0123456789abcdef01234567'), '0123456789ab');
  });
});

describe('the GitSource CRD', () => {
  const crd = buildCrd(GITSOURCE_KIND) as { metadata: Obj; spec: { scope: string; names: Obj; versions: Obj[] } };
  const [version] = crd.spec.versions;
  const schema = (version?.schema as { openAPIV3Schema: Obj }).openAPIV3Schema;
  const prop = (node: Obj, path: string): Obj =>
    path.split('.').reduce<Obj>((n, key) => {
      const next = key === '[]' ? n.items : (n.properties as Obj | undefined)?.[key];
      assert.ok(typeof next === 'object' && next !== null, `no schema at ${path}`);
      return next as Obj;
    }, node);

  it('is generated with the other kinds, namespaced, short name gs', () => {
    assert.ok(CRD_KINDS.includes(GITSOURCE_KIND));
    assert.ok(crdFiles().some((f) => f.name === 'gitsources.weir.dev.yaml'));
    assert.deepEqual(crd.metadata, { name: 'gitsources.weir.dev' });
    assert.equal(crd.spec.scope, 'Namespaced');
    assert.deepEqual(crd.spec.names.shortNames, ['gs']);
    assert.equal(crd.spec.names.plural, 'gitsources');
    assert.deepEqual(version?.subresources, { status: {} });
  });

  it('prints URL, Ref, Applied, Ready and Age', () => {
    const columns = version?.additionalPrinterColumns as Obj[];
    assert.deepEqual(
      columns.map((c) => [c.name, c.jsonPath]),
      [
        ['URL', '.spec.url'],
        ['Ref', '.spec.ref.branch'],
        ['Applied', '.status.lastAppliedShortRevision'],
        ['Ready', '.status.conditions[?(@.type=="Ready")].status'],
        ['Age', '.metadata.creationTimestamp'],
      ],
    );
    prop(schema, 'status.lastAppliedShortRevision');
    prop(schema, 'spec.ref.branch');
  });

  it('declares the defaults, so the API server fills them in', () => {
    assert.deepEqual(prop(schema, 'spec.ref').default, { branch: 'main' });
    assert.deepEqual(prop(schema, 'spec.paths').default, ['.']);
    assert.equal(prop(schema, 'spec.interval').default, '1m');
    assert.equal(prop(schema, 'spec.timeout').default, '60s');
    assert.equal(prop(schema, 'spec.prune').default, true);
    assert.equal(prop(schema, 'spec.suspend').default, false);
    assert.deepEqual(prop(schema, 'spec.rollback').default, { writeBack: 'none', onAnalysisError: 'retry' });
    assert.deepEqual(prop(schema, 'spec.rollback.writeBack').enum, ['none', 'revert', 'branch']);
    assert.deepEqual(prop(schema, 'spec.rollback.onAnalysisError').enum, ['retry', 'reject']);
    assert.deepEqual(prop(schema, 'spec').required, ['url']);
    assert.equal(prop(schema, 'spec.url').pattern, '^https?://');
  });

  it('has the status fields the source controller writes', () => {
    for (const path of [
      'status.observedGeneration',
      'status.lastFetchedRevision',
      'status.lastAppliedRevision',
      'status.lastAttemptedRevision',
      'status.rejectedRevisions.[].rollout',
      'status.revertRevisions.[].revert',
      'status.paths.[].applied',
      'status.conditions.[].lastTransitionTime',
      'status.inventory.[].namespace',
      'status.lastDriftCorrection.time',
      'status.lastDriftCorrection.objects.[].name',
    ]) {
      prop(schema, path);
    }
    assert.deepEqual(prop(schema, 'status.inventory.[]').required, ['apiVersion', 'kind', 'name']);
  });

  it('round-trips through YAML', () => {
    const file = crdFiles().find((f) => f.name === 'gitsources.weir.dev.yaml');
    assert.deepEqual(load(file?.content ?? ''), crd);
  });
});
