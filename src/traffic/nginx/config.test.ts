import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { ConfigProblem } from '../types.ts';
import { parseNginxConfig, type NginxConfig } from './config.ts';

function config(raw: unknown): NginxConfig {
  const parsed = parseNginxConfig(raw);
  if ('problems' in parsed) assert.fail(`unexpected problems: ${JSON.stringify(parsed.problems)}`);
  return parsed.config;
}

function problems(raw: unknown): ConfigProblem[] {
  const parsed = parseNginxConfig(raw);
  if ('config' in parsed) assert.fail(`expected problems, got ${JSON.stringify(parsed.config)}`);
  return parsed.problems;
}

describe('parseNginxConfig', () => {
  it('takes stableIngress with the default prefix and no annotations', () => {
    assert.deepEqual(config({ stableIngress: 'web' }), { stableIngresses: ['web'], annotationPrefix: 'nginx.ingress.kubernetes.io', annotations: {} });
  });

  it('takes stableIngresses in order', () => {
    assert.deepEqual(config({ stableIngresses: ['web', 'web-internal'] }).stableIngresses, ['web', 'web-internal']);
  });

  it('takes both fields, a name in both once, stableIngress first', () => {
    assert.deepEqual(config({ stableIngress: 'web', stableIngresses: ['web-internal', 'web'] }).stableIngresses, ['web', 'web-internal']);
  });

  it('refuses a name listed twice in stableIngresses', () => {
    assert.deepEqual(problems({ stableIngresses: ['web', 'web'] }), [{ path: ['stableIngresses', 1], message: 'Ingress "web" is listed twice' }]);
  });

  it('needs a stable Ingress', () => {
    for (const raw of [{}, { stableIngresses: [] }, { annotationPrefix: 'x.io' }]) {
      const found = problems(raw);
      assert.equal(found.length, 1, JSON.stringify(found));
      assert.deepEqual(found.map((p) => p.path), [[]]);
      assert.match(found[0]?.message ?? '', /needs stableIngress or stableIngresses/);
    }
  });

  it('refuses a section that is not a map', () => {
    for (const raw of [undefined, null, 'web', ['web']]) {
      assert.deepEqual(problems(raw).map((p) => p.path), [[]]);
    }
  });

  it('refuses unknown fields, naming the ones it accepts', () => {
    const found = problems({ stableIngress: 'web', stableIngressName: 'web', canaryIngress: 'x' });
    assert.deepEqual(found.map((p) => p.path), [['stableIngressName'], ['canaryIngress']]);
    assert.match(found[0]?.message ?? '', /unknown field "stableIngressName": NGINX accepts stableIngress, stableIngresses, annotationPrefix, additionalIngressAnnotations, canaryIngressAnnotations/);
  });

  it('refuses wrong types, at their paths', () => {
    const found = problems({
      stableIngress: 3,
      stableIngresses: 'web',
      annotationPrefix: true,
      additionalIngressAnnotations: ['canary-by-header'],
      canaryIngressAnnotations: { 'example.com/a': 5, 'example.com/b': 'ok' },
    });
    assert.deepEqual(found.map((p) => p.path), [
      ['stableIngress'],
      ['stableIngresses'],
      ['annotationPrefix'],
      ['additionalIngressAnnotations'],
      ['canaryIngressAnnotations', 'example.com/a'],
    ]);
    assert.match(found[0]?.message ?? '', /must be the name of an Ingress/);
    assert.match(found[4]?.message ?? '', /must be a string \(quote it in YAML: "5"\)/);
  });

  it('refuses names that are not Ingress names, and non-strings in the list', () => {
    const found = problems({ stableIngress: 'Web_1', stableIngresses: ['ok', 7, ''] });
    assert.deepEqual(found.map((p) => p.path), [['stableIngress'], ['stableIngresses', 1], ['stableIngresses', 2]]);
    assert.match(found[0]?.message ?? '', /"Web_1" is not a valid Ingress name/);
  });

  it('writes additionalIngressAnnotations under the prefix, keeping a key that already has it', () => {
    const c = config({
      stableIngress: 'web',
      additionalIngressAnnotations: { 'canary-by-header': 'X-Canary', 'nginx.ingress.kubernetes.io/canary-by-cookie': 'canary' },
    });
    assert.deepEqual(c.annotations, {
      'nginx.ingress.kubernetes.io/canary-by-header': 'X-Canary',
      'nginx.ingress.kubernetes.io/canary-by-cookie': 'canary',
    });
  });

  it('uses annotationPrefix for additionalIngressAnnotations; an empty one is the default', () => {
    const c = config({ stableIngress: 'web', annotationPrefix: 'custom.nginx.example.com', additionalIngressAnnotations: { 'canary-by-header': 'X-Canary' } });
    assert.equal(c.annotationPrefix, 'custom.nginx.example.com');
    assert.deepEqual(c.annotations, { 'custom.nginx.example.com/canary-by-header': 'X-Canary' });
    assert.equal(config({ stableIngress: 'web', annotationPrefix: '' }).annotationPrefix, 'nginx.ingress.kubernetes.io');
  });

  it('refuses an annotationPrefix that is not a DNS subdomain', () => {
    assert.deepEqual(problems({ stableIngress: 'web', annotationPrefix: 'Nginx/Ingress' }).map((p) => p.path), [['annotationPrefix']]);
  });

  it('writes canaryIngressAnnotations as they are, winning over additionalIngressAnnotations', () => {
    const c = config({
      stableIngress: 'web',
      additionalIngressAnnotations: { 'canary-by-header': 'X-Canary' },
      canaryIngressAnnotations: { 'nginx.ingress.kubernetes.io/canary-by-header': 'X-Other', 'example.com/team': 'shop' },
    });
    assert.deepEqual(c.annotations, { 'nginx.ingress.kubernetes.io/canary-by-header': 'X-Other', 'example.com/team': 'shop' });
  });

  it('refuses the annotations Weir writes itself', () => {
    const found = problems({
      stableIngress: 'web',
      additionalIngressAnnotations: { 'canary-weight': '10', 'nginx.ingress.kubernetes.io/canary': 'true' },
      canaryIngressAnnotations: { 'nginx.ingress.kubernetes.io/canary-weight-total': '1000', 'weir.dev/header-route': 'x' },
    });
    assert.deepEqual(found.map((p) => p.path), [
      ['additionalIngressAnnotations', 'canary-weight'],
      ['additionalIngressAnnotations', 'nginx.ingress.kubernetes.io/canary'],
      ['canaryIngressAnnotations', 'nginx.ingress.kubernetes.io/canary-weight-total'],
      ['canaryIngressAnnotations', 'weir.dev/header-route'],
    ]);
    assert.match(found[0]?.message ?? '', /"nginx.ingress.kubernetes.io\/canary-weight" is written by Weir from the steps' weights/);
  });

  it('refuses annotation keys the API server would refuse', () => {
    const found = problems({
      stableIngress: 'web',
      additionalIngressAnnotations: { 'a/b': 'x', '-bad': 'x' },
      canaryIngressAnnotations: { 'Example.com/x': 'y', 'example.com/': 'y', [`example.com/${'n'.repeat(64)}`]: 'y' },
    });
    assert.equal(found.length, 5, JSON.stringify(found));
    assert.match(found[0]?.message ?? '', /makes the annotation "nginx.ingress.kubernetes.io\/a\/b"/);
  });

  it('refuses an additional annotation given twice, with and without the prefix', () => {
    const found = problems({ stableIngress: 'web', additionalIngressAnnotations: { 'canary-by-header': 'A', 'nginx.ingress.kubernetes.io/canary-by-header': 'B' } });
    assert.deepEqual(found.map((p) => p.path), [['additionalIngressAnnotations', 'nginx.ingress.kubernetes.io/canary-by-header']]);
  });
});
