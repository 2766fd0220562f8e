import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseManifests } from '../api/manifests.ts';
import { CompactLines, DEFAULT_YAML_LIMITS, countAliases, measureExpansion, parseDocuments } from './documents.ts';
import { formatProblem } from './types.ts';

/** The classic "billion laughs": nine levels of nine aliases, 81 aliases in all, 9^9 strings once expanded. */
const BILLION_LAUGHS = `apiVersion: v1
kind: ConfigMap
metadata:
  name: lol
data:
  a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]
  b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]
  c: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]
  d: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]
  e: &e [*d,*d,*d,*d,*d,*d,*d,*d,*d]
  f: &f [*e,*e,*e,*e,*e,*e,*e,*e,*e]
  g: &g [*f,*f,*f,*f,*f,*f,*f,*f,*f]
  h: &h [*g,*g,*g,*g,*g,*g,*g,*g,*g]
  i: &i [*h,*h,*h,*h,*h,*h,*h,*h,*h]
`;

const CONFIGMAP = `apiVersion: v1
kind: ConfigMap
metadata:
  name: settings
data:
  a: "1"
`;

describe('parseDocuments', () => {
  it('keeps each object with its file, position and line, across files', () => {
    const { documents, problems } = parseDocuments([
      { path: 'apps/a.yaml', content: `${CONFIGMAP}---\napiVersion: v1\nkind: Service\nmetadata:\n  name: web\n` },
      { path: 'apps/b.yml', content: CONFIGMAP.replace('settings', 'other') },
    ]);
    assert.deepEqual(problems, []);
    assert.deepEqual(
      documents.map((d) => [d.file, d.index, d.line, d.object.kind, d.object.metadata.name]),
      [
        ['apps/a.yaml', 0, 1, 'ConfigMap', 'settings'],
        ['apps/a.yaml', 1, 8, 'Service', 'web'],
        ['apps/b.yml', 0, 1, 'ConfigMap', 'other'],
      ],
    );
    assert.equal(documents[1]?.lines.get('metadata.name'), 11);
  });

  it('skips empty documents (they still count in the positions)', () => {
    const { documents, problems } = parseDocuments([{ path: 'a.yaml', content: `---\n# nothing\n---\n${CONFIGMAP}---\n` }]);
    assert.deepEqual(problems, []);
    assert.equal(documents.length, 1);
    assert.equal(documents[0]?.index, 1);
    assert.equal(documents[0].line, 4);
  });

  it('reports YAML errors with their line and still reads the other documents', () => {
    const { documents, problems } = parseDocuments([{ path: 'bad.yaml', content: `${CONFIGMAP}---\nkind: [unclosed\n` }]);
    assert.equal(documents.length, 1);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.file, 'bad.yaml');
    const line = problems[0].line;
    assert.ok(line >= 8 && line <= 9, `line ${line}: the unclosed flow sequence starts on line 8 and ends the file on line 9`);
    assert.match(problems[0].message, /invalid YAML/);
  });

  it('reports documents that are not Kubernetes objects', () => {
    const { documents, problems } = parseDocuments([
      {
        path: 'x.yaml',
        content: [
          '- a list',
          '---',
          'just a string',
          '---',
          'kind: ConfigMap',
          'metadata:',
          '  name: no-api-version',
          '---',
          'apiVersion: v1',
          'kind: 42',
          'metadata:',
          '  name: numeric-kind',
          '---',
          'apiVersion: v1',
          'kind: ConfigMap',
          'data: {}',
          '---',
          'apiVersion: v1',
          'kind: ConfigMap',
          'metadata:',
          '  generateName: gen-',
        ].join('\n'),
      },
    ]);
    assert.deepEqual(documents, []);
    assert.deepEqual(
      problems.map((p) => [p.index, p.line, p.field, p.message.split(/[,:(]/)[0]]),
      [
        [0, 1, undefined, 'must be a Kubernetes object'],
        [1, 3, undefined, 'must be a Kubernetes object'],
        [2, 5, 'apiVersion', 'required'],
        [3, 10, 'kind', 'must be a non-empty string '],
        [4, 14, 'metadata.name', 'required'],
        [5, 20, 'metadata.name', 'required'],
      ],
    );
    assert.match(problems[5]?.message ?? '', /generateName is not supported/);
    assert.equal(formatProblem(problems[2] ?? { file: '', line: 0, message: '' }), 'x.yaml:5: apiVersion: required: every Kubernetes object needs apiVersion and kind');
  });

  it('refuses a billion-laughs document quickly, naming the file and line, and keeps the others', () => {
    const started = Date.now();
    const { documents, problems } = parseDocuments([{ path: 'lol.yaml', content: `${CONFIGMAP}---\n${BILLION_LAUGHS}---\n${CONFIGMAP.replace('settings', 'after')}` }]);
    assert.ok(Date.now() - started < 2000, 'measured without expanding');
    assert.deepEqual(
      documents.map((d) => d.object.metadata.name),
      ['settings', 'after'],
    );
    assert.equal(problems.length, 1);
    const [problem] = problems;
    assert.equal(problem?.file, 'lol.yaml');
    assert.equal(problem.index, 1);
    assert.equal(problem.line, 8);
    assert.match(problem.message, /YAML aliases expand the document to more than 3 MiB.*billion laughs/);
  });

  it('refuses a document with more than 100 aliases, at the line of the 101st', () => {
    const lines = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: many', 'x: &v "value"', 'list:'];
    for (let i = 0; i < 120; i++) lines.push('  - *v');
    const { documents, problems } = parseDocuments([{ path: 'many.yaml', content: lines.join('\n') }]);
    assert.deepEqual(documents, []);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.line, 7 + 100);
    assert.match(problems[0].message, /uses 120 YAML aliases, more than the 100 allowed \(alias 101 is on line 107\)/);
  });

  it('accepts a few aliases and merge keys', () => {
    const { documents, problems } = parseDocuments([
      {
        path: 'ok.yaml',
        content: ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: ok', '  labels: &labels {app: web}', '  annotations:', '    <<: *labels', 'data:', '  a: &x "1"', '  b: *x'].join('\n'),
      },
    ]);
    assert.deepEqual(problems, []);
    assert.deepEqual(documents[0]?.object.metadata.annotations, { app: 'web' });
  });

  it('refuses a document that contains itself through an alias', () => {
    const { problems } = parseDocuments([{ path: 'cycle.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata:\n  name: c\ndata: &d\n  self: *d\n' }]);
    assert.equal(problems.length, 1);
    assert.equal(problems[0]?.field, 'data.self');
    assert.equal(problems[0].line, 6);
    assert.match(problems[0].message, /refers to itself through a YAML alias/);
  });

  it('takes its limits as a parameter', () => {
    const { problems } = parseDocuments([{ path: 'a.yaml', content: 'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\ndata: {a: &x "1", b: *x, c: *x}\n' }], { ...DEFAULT_YAML_LIMITS, maxAliases: 1 });
    assert.match(problems[0]?.message ?? '', /uses 2 YAML aliases, more than the 1 allowed/);
  });

  it('never throws, whatever the text', () => {
    for (const content of ['', '\uFEFF', '---\n---\n', ': :', '\t\t', '&a *a', 'a: !!binary x', '%YAML 9.9\n---\na: 1', '[[[[[[[[[[[[[[[[[[[[[[[[[[[[[[']) {
      assert.doesNotThrow(() => parseDocuments([{ path: 'x.yaml', content }]), JSON.stringify(content));
    }
  });
});

describe('CompactLines', () => {
  it('answers as the line map it was made from, for every path and for paths it does not hold', () => {
    const text = `apiVersion: v1
kind: ConfigMap
metadata:
  name: web
  labels:
    app.kubernetes.io/name: web
    "we\\u0001ird\\u0000key": x
data:
  settings.json: "{}"
  "": empty key
list:
  - a
  - [b, c]
`;
    const [doc] = parseManifests(text, 'a.yaml').documents;
    assert.ok(doc);
    const compact = CompactLines.from(doc.lines);
    assert.ok(compact instanceof CompactLines, 'JSON-quoted paths never hold its separators');
    assert.equal(compact.size, doc.lines.size);
    assert.deepEqual([...compact], [...doc.lines], 'same entries, same order');
    for (const [path, line] of doc.lines) assert.equal(compact.get(path), line, path);
    for (const path of ['metadata.nam', 'metadata.name.x', 'name', 'list[2]', 'list[1][0]x', '\u0000', 'metadata\u0001']) {
      assert.equal(compact.get(path), doc.lines.get(path), JSON.stringify(path));
      assert.equal(compact.has(path), doc.lines.has(path), JSON.stringify(path));
    }
    const seen: [string, number][] = [];
    compact.forEach((line, path) => seen.push([path, line]));
    assert.deepEqual(seen, [...doc.lines]);
    assert.deepEqual([...compact.keys()], [...doc.lines.keys()]);
    assert.deepEqual([...compact.values()], [...doc.lines.values()]);
  });

  it('keeps a map with a path it cannot hold as it is, and an empty map empty', () => {
    const odd = new Map([['a\u0000b', 3]]);
    assert.equal(CompactLines.from(odd), odd);
    const empty = CompactLines.from(new Map());
    assert.equal(empty.size, 0);
    assert.deepEqual([...empty], []);
    assert.equal(empty.get(''), undefined);
  });

  it('is what parseDocuments keeps with each document', () => {
    const { documents } = parseDocuments([{ path: 'a.yaml', content: CONFIGMAP }]);
    assert.ok(documents[0]?.lines instanceof CompactLines);
    assert.equal(documents[0].lines.get('data.a'), 6);
  });
});

describe('countAliases', () => {
  it('counts the aliases of each document, empty ones included', () => {
    assert.deepEqual(countAliases('a: &x 1\nb: *x\n---\n---\nc: [*y]\n'.replace('*y', '&y 2'), 100), [{ count: 1 }, { count: 0 }, { count: 0 }]);
    assert.equal(countAliases('a: [', 100), undefined);
  });
});

describe('measureExpansion', () => {
  it('measures the expanded size without expanding', () => {
    const leaf = ['lol', 'lol'];
    let level: unknown = leaf;
    for (let i = 0; i < 40; i++) level = [level, level];
    const m = measureExpansion({ data: level });
    assert.ok(m.bytes > 2 ** 40);
    assert.equal(m.sharedReferences, 40);
    assert.equal(m.cycle, undefined);
  });

  it('approximates the JSON size of plain values', () => {
    const value = { a: 'xyz', b: [1, true, null] };
    const m = measureExpansion(value);
    assert.ok(Math.abs(m.bytes - JSON.stringify(value).length) <= 8, `${m.bytes} vs ${JSON.stringify(value).length}`);
    assert.equal(m.sharedReferences, 0);
  });

  it('finds cycles with their path', () => {
    const a: Record<string, unknown> = { list: [] };
    (a.list as unknown[]).push({ back: a });
    assert.deepEqual(measureExpansion({ a }).cycle, ['a', 'list', 0, 'back']);
  });
});
