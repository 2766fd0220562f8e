import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Argument, Metric, Rollout } from '../api/index.ts';
import {
  ArgumentError,
  argValues,
  flattenTemplateArgs,
  promqlEscape,
  promqlString,
  referencedArgs,
  resolveArgs,
  rolloutArgValue,
  substituteArgs,
  substituteMetric,
} from './args.ts';

function rollout(): Rollout {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'shop', namespace: 'prod', uid: 'u-1', labels: { env: 'prod', region: 'eu-west-1' }, annotations: { owner: 'team-a' } },
    spec: { strategy: { canary: { steps: [{ setWeight: 20 }] } } },
    status: { stableRS: '6f7c8d9b5', currentPodHash: '7d4b9c6f8', canary: { weights: { canary: { weight: 20 }, stable: { weight: 80 } } } },
  };
}

const context = { rollout: rollout() };

const template: Argument[] = [
  { name: 'service-name' },
  { name: 'api-url', value: 'http://example/measure' },
  { name: 'stable-hash' },
  { name: 'latest-hash' },
];

describe('resolveArgs', () => {
  it("overrides a template's default with the Rollout's value", () => {
    const args = resolveArgs(
      template,
      [
        { name: 'service-name', value: 'shop-canary' },
        { name: 'api-url', value: 'http://other-api' },
        { name: 'stable-hash', value: 'a' },
        { name: 'latest-hash', value: 'b' },
      ],
      context,
    );
    assert.deepEqual(args, [
      { name: 'service-name', value: 'shop-canary' },
      { name: 'api-url', value: 'http://other-api' },
      { name: 'stable-hash', value: 'a' },
      { name: 'latest-hash', value: 'b' },
    ]);
  });

  it("keeps the template's default when the Rollout does not set the argument", () => {
    const args = resolveArgs([{ name: 'api-url', value: 'http://example/measure' }], [], context);
    assert.deepEqual(args, [{ name: 'api-url', value: 'http://example/measure' }]);
  });

  it('says "missing argument" for a template argument without a value that the Rollout does not set', () => {
    assert.throws(
      () => resolveArgs([{ name: 'service-name' }], [], context),
      (err: unknown) => err instanceof ArgumentError && err.message.startsWith('missing argument "service-name": the template declares it without a value'),
    );
  });

  it('names every missing argument at once', () => {
    assert.throws(() => resolveArgs(template, [{ name: 'service-name', value: 'x' }], context), /missing arguments "stable-hash", "latest-hash"/);
  });

  it('treats a Rollout argument without value or valueFrom as not set', () => {
    assert.throws(() => resolveArgs([{ name: 'service-name' }], [{ name: 'service-name' }], context), /missing argument "service-name"/);
  });

  it('ignores Rollout arguments the template does not declare', () => {
    assert.deepEqual(resolveArgs([{ name: 'a', value: '1' }], [{ name: 'unused', value: 'x' }], context), [{ name: 'a', value: '1' }]);
  });

  it('takes podTemplateHashValue Stable and Latest from the Rollout status', () => {
    const args = resolveArgs(
      [{ name: 'stable-hash' }, { name: 'latest-hash' }],
      [
        { name: 'stable-hash', valueFrom: { podTemplateHashValue: 'Stable' } },
        { name: 'latest-hash', valueFrom: { podTemplateHashValue: 'Latest' } },
      ],
      context,
    );
    assert.deepEqual(args, [
      { name: 'stable-hash', value: '6f7c8d9b5' },
      { name: 'latest-hash', value: '7d4b9c6f8' },
    ]);
  });

  it('prefers the hashes the caller knows to the status', () => {
    assert.equal(rolloutArgValue({ name: 'h', valueFrom: { podTemplateHashValue: 'Latest' } }, { rollout: rollout(), latestHash: 'newer' }), 'newer');
  });

  it('refuses a podTemplateHashValue the Rollout does not have yet', () => {
    const fresh = { ...rollout(), status: {} };
    assert.throws(() => rolloutArgValue({ name: 'stable-hash', valueFrom: { podTemplateHashValue: 'Stable' } }, { rollout: fresh }), /argument "stable-hash": podTemplateHashValue Stable, but the Rollout has no stable ReplicaSet yet \(status\.stableRS\)/);
  });

  it('reads fieldRef from the Rollout: metadata, labels, annotations and status paths', () => {
    const value = (fieldPath: string) => rolloutArgValue({ name: 'x', valueFrom: { fieldRef: { fieldPath } } }, context);
    assert.equal(value('metadata.name'), 'shop');
    assert.equal(value('metadata.namespace'), 'prod');
    assert.equal(value("metadata.labels['region']"), 'eu-west-1');
    assert.equal(value("metadata.annotations['owner']"), 'team-a');
    assert.equal(value('status.canary.weights.canary.weight'), '20');
    assert.equal(value('spec.strategy.canary.steps[0].setWeight'), '20');
  });

  it('refuses a fieldRef to a label or field the Rollout does not have', () => {
    const value = (fieldPath: string) => rolloutArgValue({ name: 'x', valueFrom: { fieldRef: { fieldPath } } }, context);
    assert.throws(() => value("metadata.labels['team']"), /argument "x": the Rollout has no label "team"/);
    assert.throws(() => value('status.alb.canaryTargetGroup.name'), /the Rollout has no field status\.alb\.canaryTargetGroup\.name/);
    assert.throws(() => value('metadata.labels'), /must lead to a single value/);
  });

  it('resolves a template fieldRef from the Rollout and keeps a secretKeyRef for the caller to read', () => {
    const args = resolveArgs(
      [
        { name: 'env', valueFrom: { fieldRef: { fieldPath: "metadata.labels['env']" } } },
        { name: 'api-token', valueFrom: { secretKeyRef: { name: 'token-secret', key: 'apiToken' } } },
      ],
      [],
      context,
    );
    assert.deepEqual(args, [
      { name: 'env', value: 'prod' },
      { name: 'api-token', valueFrom: { secretKeyRef: { name: 'token-secret', key: 'apiToken' } } },
    ]);
  });
});

describe('flattenTemplateArgs', () => {
  it('combines the args of several templates by name, a value beating none', () => {
    assert.deepEqual(flattenTemplateArgs([[{ name: 'a' }, { name: 'b', value: '1' }], [{ name: 'a', value: '2' }, { name: 'b', value: '1' }, { name: 'c' }]]), [
      { name: 'a', value: '2' },
      { name: 'b', value: '1' },
      { name: 'c' },
    ]);
  });

  it('refuses one argument with two different values', () => {
    assert.throws(() => flattenTemplateArgs([[{ name: 'port', value: '9090' }], [{ name: 'port', value: '9091' }]]), /argument "port" is declared by two templates with different values: "9090" and "9091"/);
  });
});

describe('argValues', () => {
  it('reads secretKeyRef arguments through the caller', () => {
    const values = argValues([{ name: 'a', value: '1' }, { name: 'token', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }], (ref) => (ref.name === 's' && ref.key === 'k' ? 'sekret' : undefined));
    assert.deepEqual([...values], [
      ['a', '1'],
      ['token', 'sekret'],
    ]);
  });

  it('refuses arguments left without a value', () => {
    assert.throws(() => argValues([{ name: 'a' }, { name: 'token', valueFrom: { secretKeyRef: { name: 's', key: 'k' } } }]), /arguments without a value: "a", "token" \(Secret s, key k\)/);
  });
});

describe('substituteArgs', () => {
  const values = new Map([
    ['service-name', 'shop-canary'],
    ['quote', 'a"b\\c'],
  ]);

  it('replaces {{args.name}}, with or without spaces inside the braces, every time it occurs', () => {
    assert.equal(substituteArgs('up{svc="{{args.service-name}}"} / up{svc="{{ args.service-name }}"}', values), 'up{svc="shop-canary"} / up{svc="shop-canary"}');
    assert.deepEqual(referencedArgs('{{args.a}} {{ args.b }} {{args.a}}'), ['a', 'b']);
  });

  it('puts values in as they are, unless asked to escape them', () => {
    assert.equal(substituteArgs('x="{{args.quote}}"', values), 'x="a"b\\c"');
    assert.equal(substituteArgs('x="{{args.quote}}"', values, { escape: promqlEscape }), 'x="a\\"b\\\\c"');
  });

  it('refuses an unknown argument, naming it and the known ones', () => {
    assert.throws(() => substituteArgs('{{args.servce-name}}', values), /unknown argument "servce-name" in \{\{args\.servce-name\}\} \(arguments: service-name, quote\)/);
  });

  it('refuses placeholders other than {{args.name}}', () => {
    assert.throws(() => substituteArgs('{{templates.baseline.podTemplateHash}}', values), /\{\{templates\.baseline\.podTemplateHash\}\} is not an argument placeholder/);
  });

  it('refuses a "{{" without "}}"', () => {
    assert.throws(() => substituteArgs('up{a="{{args.service-name"}', values), /"\{\{" at position 6 has no closing "\}\}"/);
  });

  it('leaves text without placeholders alone', () => {
    assert.equal(substituteArgs('sum(rate(x[5m])) by (le)', new Map()), 'sum(rate(x[5m])) by (le)');
  });
});

describe('substituteMetric', () => {
  const metric: Metric = {
    name: 'success-rate',
    interval: '{{args.interval}}',
    count: '{{args.count}}',
    successCondition: 'result[0] >= {{args.threshold}}',
    provider: {
      web: {
        url: 'http://api/measure?service={{ args.service-name }}',
        headers: [{ key: 'Authorization', value: 'Bearer {{args.token}}' }],
        jsonPath: '{$.data.ok}',
      },
    },
  };
  const values = new Map([
    ['interval', '30s'],
    ['count', '3'],
    ['threshold', '0.95'],
    ['service-name', 'shop'],
    ['token', 't0k'],
  ]);

  it('replaces placeholders in every string of the metric, leaving the input as it was', () => {
    const before = JSON.stringify(metric);
    assert.deepEqual(substituteMetric(metric, values), {
      name: 'success-rate',
      interval: '30s',
      count: '3',
      successCondition: 'result[0] >= 0.95',
      provider: { web: { url: 'http://api/measure?service=shop', headers: [{ key: 'Authorization', value: 'Bearer t0k' }], jsonPath: '{$.data.ok}' } },
    });
    assert.equal(JSON.stringify(metric), before);
  });

  it('names the field of an unknown placeholder', () => {
    assert.throws(() => substituteMetric(metric, new Map([...values].filter(([k]) => k !== 'token'))), /^ArgumentError: provider\.web\.headers\[0\]\.value: unknown argument "token"/);
  });
});

describe('promqlString', () => {
  it('quotes a value for PromQL, escaping backslashes and double quotes', () => {
    assert.equal(promqlString('shop'), '"shop"');
    assert.equal(promqlString('a"b'), '"a\\"b"');
    assert.equal(promqlString('C:\\path'), '"C:\\\\path"');
    assert.equal(promqlString('line\nbreak'), '"line\\nbreak"');
  });
});
