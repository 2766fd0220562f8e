import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { loadAll } from 'js-yaml';
import { checkPromQL } from './promql.ts';

function valid(query: string): void {
  const problem = checkPromQL(query);
  assert.equal(problem, undefined, `${JSON.stringify(query)} was reported: ${JSON.stringify(problem)}`);
}

describe('checkPromQL', () => {
  it('accepts valid PromQL of every shape an analysis uses', () => {
    for (const q of [
      'up',
      'vector(1)',
      'sum(rate(http_requests_total{app="demo",code=~"2.."}[1m])) / sum(rate(http_requests_total{app="demo"}[1m]))',
      'histogram_quantile(0.99, sum by (le) (rate(http_request_duration_seconds_bucket{job="api"}[5m])))',
      'sum(rate(x[5m])) by (pod) > 0.5',
      'count(up == 0) or vector(0)',
      'rate(x[5m] offset 1h)',
      'max_over_time(rate(x[1m])[10m:30s])',
      'x @ end()',
      'x{a=`raw`} + on(pod) group_left(node) y',
      "x{a='single'} == bool 1",
      'scalar(sum(x)) * 100',
      '{__name__=~"http_.*", job!="test"}',
      '-x + 1e3 - 0x1F',
      'label_replace(x, "dst", "$1", "src", "(.*)")',
      'sum(x) # a comment',
      'sum(\n  rate(x{a="b"}[5m])\n)\n/\nsum(rate(x[5m]))',
    ]) {
      valid(q);
    }
  });

  it('accepts Argo-style placeholders in label values, in every spelling', () => {
    valid('sum(rate(x{service="{{args.service-name}}"}[5m]))');
    valid('sum(rate(x{service="{{ args.service-name }}"}[5m]))');
    valid("x{ns='{{args.namespace}}', pod=~`{{args.pod}}-.*`}");
    valid('x{a="prefix-{{args.a}}-{{ args.b }}-suffix"}');
  });

  it('accepts placeholders standing for a duration, a number, a name, a whole expression', () => {
    valid('rate(x[{{args.window}}])');
    valid('rate(x[{{ args.window }}])');
    valid('max_over_time(x[{{args.range}}:{{args.step}}])');
    valid('x offset {{args.offset}}');
    valid('rate(x[{{args.minutes}}m])');
    valid('sum(x) > {{args.threshold}}');
    valid('histogram_quantile({{args.quantile}}, sum by (le) (rate(x_bucket[5m])))');
    valid('{{args.metric}}_total');
    valid('http_{{args.kind}}_requests_total{code="200"}');
    valid('sum by ({{args.label}}) (x)');
    valid('{{args.query}}');
    valid('sum({{args.selector}})');
  });

  it('accepts placeholders standing for an aggregation, an operator, a quoted string or nothing', () => {
    valid('{{args.aggregation}}(rate(x[5m]))');
    valid('{{args.aggregation}} by (pod) (rate(x[5m]))');
    valid('x {{args.op}} y');
    valid('x {{args.comparison}} bool {{args.threshold}}');
    valid('x{a={{args.quoted}}}');
    valid('x{a="b"{{args.more-matchers}}}');
    valid('x{ {{args.matchers}} }');
    valid('sum(x) {{args.optional-suffix}}');
  });

  it('reports a missing closing parenthesis at the end, naming the one left open', () => {
    assert.deepEqual(checkPromQL('sum(rate(x[5m])'), { message: 'the query ends before "(" at column 4 is closed', offset: 15, line: 1, column: 16 });
  });

  it('gives line and column within a multi-line query', () => {
    assert.deepEqual(checkPromQL('sum(rate(x[5m]))\n/\nsum(rate(y[5m])'), {
      message: 'the query ends before "(" at line 3, column 4 is closed',
      offset: 34,
      line: 3,
      column: 16,
    });
    const problem = checkPromQL('sum(\n  rate(x{a="b" c="d"}[5m])\n)');
    assert.deepEqual(problem, { message: 'unexpected "c": expected "," or "}"', offset: 20, line: 2, column: 16 });
  });

  it('says what is wrong: an unknown function, an unquoted label value, a stray bracket, an open string, an empty query', () => {
    assert.deepEqual(checkPromQL('sum(rat(x[5m]))'), { message: 'unknown function "rat"', offset: 4, line: 1, column: 5 });
    assert.equal(checkPromQL('x{a=b}')?.message, 'unexpected "b": a label value is a quoted string');
    assert.deepEqual(checkPromQL('sum(x))'), { message: 'unexpected ")"', offset: 6, line: 1, column: 7 });
    assert.equal(checkPromQL('rate(x[5m]]')?.message, 'unexpected "]"');
    assert.deepEqual(checkPromQL('x{a="b}'), { message: 'unterminated quoted string "b}', offset: 4, line: 1, column: 5 });
    assert.equal(checkPromQL('x +')?.message, 'the query ends in the middle of an expression');
    assert.equal(checkPromQL('   ')?.message, 'the query is empty');
  });

  it('reports an error away from the placeholders, at its position in the query as written', () => {
    // The placeholders are longer or shorter than what replaces them when measuring; the position is the text's.
    assert.deepEqual(checkPromQL('sum(rate(x{ns="{{ args.namespace }}"}[{{args.window}}])'), {
      message: 'the query ends before "(" at column 4 is closed',
      offset: 55,
      line: 1,
      column: 56,
    });
    assert.deepEqual(checkPromQL('{{args.aggregation}}(rat(x[5m]))'), { message: 'unknown function "rat"', offset: 21, line: 1, column: 22 });
  });

  it('never blames a placeholder: an error next to one may be the argument’s doing', () => {
    // With {{args.rest}} = "[5m" this is valid.
    assert.equal(checkPromQL('rate(x{a="b"} {{args.rest}} ])'), undefined);
    assert.equal(checkPromQL('x + {{args.fragment}}'), undefined);
  });

  it('leaves a "{{" without "}}" to the placeholder check', () => {
    assert.equal(checkPromQL('x{a="{{args.a"}'), undefined);
  });
});

describe('checkPromQL over the repository’s manifests', () => {
  const root = fileURLToPath(new URL('../..', import.meta.url));

  function yamlFiles(dir: string): string[] {
    return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
      const path = join(dir, e.name);
      if (e.isDirectory()) return yamlFiles(path);
      return /\.ya?ml$/.test(e.name) ? [path] : [];
    });
  }

  /** Every PromQL query of the analysis kinds in a value: prometheus.query and the judge's baseline/canary queries. */
  function queries(value: unknown, path: string, out: [string, string][]): void {
    if (Array.isArray(value)) {
      value.forEach((v: unknown, i) => {
        queries(v, `${path}[${i}]`, out);
      });
    }
    else if (typeof value === 'object' && value !== null) {
      for (const [key, v] of Object.entries(value)) {
        if (key === 'query' && typeof v === 'string' && /(prometheus|baseline|canary)$/.test(path)) out.push([path, v]);
        queries(v, `${path}.${key}`, out);
      }
    }
  }

  /** The lint fixture whose query is wrong on purpose. */
  const BAD = 'test/fixtures/lint/invalid/analysis-template-bad-promql.yaml';

  it('finds no error in the PromQL of examples/ and test/fixtures/ (but the one fixture that has one)', () => {
    const found: [string, string][] = [];
    for (const file of [...yamlFiles(join(root, 'examples')), ...yamlFiles(join(root, 'test/fixtures'))]) {
      let docs: unknown[];
      try {
        docs = loadAll(readFileSync(file, 'utf8'));
      } catch {
        continue; // the malformed-YAML fixtures
      }
      docs.forEach((d, i) => {
        queries(d, `${file.slice(root.length)}#${i}`, found);
      });
    }
    assert.ok(found.length >= 8, `the examples and fixtures hold queries: ${found.length}`);
    for (const [where, query] of found) {
      if (where.startsWith(`${BAD}#`)) assert.notEqual(checkPromQL(query), undefined, `${where} is reported`);
      else assert.equal(checkPromQL(query), undefined, `${where}: ${query}`);
    }
  });
});
