import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { lineOf, loadManifestFile, parseManifests } from './manifests.ts';

const TEXT = `# leading comment
apiVersion: v1
kind: Service
metadata:
  name: app
---
# second
apiVersion: weir.dev/v1alpha1
kind: Rollout
metadata:
  name: app
spec:
  strategy:
    canary:
      trafficRouting:
        plugins:
          "argoproj-labs/gatewayAPI":
            httpRoute: app
      steps:
        - setWeight: 20
        - pause: { duration: 30s }
        -
          setWeight: 150
---
---
restartAt: 2024-01-01T00:00:00Z
enabled: yes
mode: 0755
`;

describe('parseManifests', () => {
  it('gives each document its file, index, first line and object', () => {
    const { documents, errors } = parseManifests(TEXT, 'm.yaml');
    assert.deepEqual(errors, []);
    assert.deepEqual(
      documents.map((d) => [d.file, d.index, d.line]),
      [
        ['m.yaml', 0, 2],
        ['m.yaml', 1, 8],
        ['m.yaml', 2, 24],
        ['m.yaml', 3, 26],
      ],
    );
    assert.deepEqual(documents[0]?.object, { apiVersion: 'v1', kind: 'Service', metadata: { name: 'app' } });
    assert.equal(documents[2]?.object, null);
  });

  it('reads YAML as Kubernetes does for timestamps (kept as strings)', () => {
    const doc = parseManifests(TEXT, 'm.yaml').documents[3];
    assert.deepEqual(doc?.object, { restartAt: '2024-01-01T00:00:00Z', enabled: 'yes', mode: 755 });
  });

  it('maps field paths to their lines, falling back to the nearest parent, then the document', () => {
    const doc = parseManifests(TEXT, 'm.yaml').documents[1];
    assert.ok(doc);
    assert.equal(lineOf(doc, 'spec.strategy.canary.steps[0].setWeight'), 20);
    assert.equal(lineOf(doc, 'spec.strategy.canary.steps[1].pause.duration'), 21);
    assert.equal(lineOf(doc, 'spec.strategy.canary.steps[2].setWeight'), 23);
    assert.equal(lineOf(doc, 'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"].httpRoute'), 18);
    assert.equal(lineOf(doc, ['spec', 'strategy', 'canary', 'steps', 1]), 21);
    assert.equal(lineOf(doc, 'spec.selector'), 12, 'a missing field is reported at its parent');
    assert.equal(lineOf(doc, 'spec.strategy.canary.maxSurge'), 14);
    assert.equal(lineOf(doc, ''), 8);
    assert.equal(lineOf(doc, 'nothing.here'), 8);
  });

  it('reports malformed YAML with its line and still reads the other documents', () => {
    const text = 'kind: A\n---\nkind: B\n  bad: indentation\n---\nkind: C\n';
    const { documents, errors } = parseManifests(text, 'bad.yaml');
    assert.equal(errors.length, 1);
    const [error] = errors;
    assert.equal(error?.file, 'bad.yaml');
    assert.equal(error.line, 4);
    assert.match(error.message, /^invalid YAML: bad indentation/);
    assert.deepEqual(
      documents.map((d) => [d.object, d.line]),
      [
        [{ kind: 'A' }, 1],
        [{ kind: 'C' }, 6],
      ],
    );
  });

  it('never throws on malformed input', () => {
    const inputs = ['a: [1,', '\t- a', 'a: 1\na: 2\n', 'x: !unknown 1\n', '%YAML 9.9\n---\na: 1\n', '{{{{', ': :', '- &a [*a]\n', '"unterminated', '\u0000\u0001'];
    for (const input of inputs) {
      const result = parseManifests(input, 'x.yaml');
      assert.ok(Array.isArray(result.documents) && Array.isArray(result.errors), input);
      for (const e of result.errors) assert.ok(typeof e.line === 'number' && e.line >= 1, `${input}: ${e.message}`);
    }
    assert.equal(parseManifests('a: 1\na: 2\n', 'dup.yaml').errors[0]?.line, 2, 'duplicate keys are errors, as in kubectl');
  });

  it('reads merge keys, as Kubernetes does', () => {
    const { documents } = parseManifests('base: &b { a: 1 }\nother:\n  <<: *b\n  c: 2\n', 'm.yaml');
    assert.deepEqual(documents[0]?.object, { base: { a: 1 }, other: { a: 1, c: 2 } });
  });

  it('ignores a byte order mark', () => {
    assert.deepEqual(parseManifests('\uFEFFkind: A\n', 'bom.yaml').documents[0]?.object, { kind: 'A' });
  });
});

describe('loadManifestFile', () => {
  it('reads a file, and reports an unreadable one without a line', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weir-manifests-'));
    try {
      const file = join(dir, 'a.yaml');
      await writeFile(file, 'kind: A\n---\nkind: B\n');
      const loaded = await loadManifestFile(file);
      assert.deepEqual(
        loaded.documents.map((d) => [d.file, d.index, d.object]),
        [
          [file, 0, { kind: 'A' }],
          [file, 1, { kind: 'B' }],
        ],
      );
      const missing = await loadManifestFile(join(dir, 'missing.yaml'));
      assert.deepEqual(missing, { documents: [], errors: [{ file: join(dir, 'missing.yaml'), message: 'cannot read: ENOENT' }] });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
