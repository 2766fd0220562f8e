import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { convertArgoObject, convertArgoRollout, isArgoKind, isArgoRollout } from './convert.ts';
import { validateRollout } from './validate.ts';

function argoRollout(): Record<string, unknown> {
  return {
    apiVersion: 'argoproj.io/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'app', annotations: { 'rollout.argoproj.io/revision': '3' } },
    spec: {
      selector: { matchLabels: { app: 'app' } },
      template: { metadata: { labels: { app: 'app' } }, spec: { containers: [{ name: 'app', image: 'app:1' }] } },
      strategy: {
        canary: {
          steps: [{ setWeight: 20 }, { pause: { duration: '1m' } }],
          // Not supported by Weir: must survive conversion for validation to report it.
          trafficRouting: { alb: { ingress: 'app' } },
        },
      },
    },
  };
}

describe('convertArgoRollout', () => {
  it('changes the apiVersion and keeps every other field, supported or not', () => {
    const input = argoRollout();
    const converted = convertArgoRollout(input);
    assert.equal(converted.apiVersion, 'weir.dev/v1alpha1');
    assert.deepEqual({ ...converted, apiVersion: input.apiVersion }, input);
    const errors = validateRollout(converted).errors;
    assert.ok(errors.some((e) => e.path === 'spec.strategy.canary.trafficRouting.alb' && e.message.includes('not supported by Weir')));
  });

  it('is pure: the input is not modified and the result shares nothing with it', () => {
    const input = argoRollout();
    const snapshot = structuredClone(input);
    const converted = convertArgoRollout(input);
    assert.deepEqual(input, snapshot);
    (converted.metadata as { name: string }).name = 'changed';
    assert.equal((input.metadata as { name: string }).name, 'app');
  });

  it('throws for anything but an argoproj.io/v1alpha1 Rollout', () => {
    assert.throws(() => convertArgoRollout({ ...argoRollout(), apiVersion: 'weir.dev/v1alpha1' }), /not an argoproj\.io\/v1alpha1 Rollout/);
    assert.throws(() => convertArgoRollout({ ...argoRollout(), kind: 'AnalysisTemplate' }), /not an argoproj\.io\/v1alpha1 Rollout/);
    assert.throws(() => convertArgoRollout(null), /not an argoproj\.io\/v1alpha1 Rollout/);
  });

  it('converts the other Argo kinds Weir has the same way', () => {
    const template = { apiVersion: 'argoproj.io/v1alpha1', kind: 'AnalysisTemplate', metadata: { name: 't' }, spec: { metrics: [] } };
    assert.deepEqual(convertArgoObject(template), { ...template, apiVersion: 'weir.dev/v1alpha1' });
    assert.throws(() => convertArgoObject({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Experiment' }), /not an argoproj\.io\/v1alpha1 object/);
  });
});

describe('isArgoKind', () => {
  it('recognises argoproj.io/v1alpha1 objects of the kinds Weir reads', () => {
    assert.equal(isArgoKind(argoRollout()), true);
    assert.equal(isArgoRollout(argoRollout()), true);
    assert.equal(isArgoKind({ apiVersion: 'argoproj.io/v1alpha1', kind: 'ClusterAnalysisTemplate' }), true);
    assert.equal(isArgoRollout({ apiVersion: 'argoproj.io/v1alpha1', kind: 'ClusterAnalysisTemplate' }), false);
    assert.equal(isArgoKind({ apiVersion: 'argoproj.io/v1alpha1', kind: 'Experiment' }), false);
    assert.equal(isArgoKind({ apiVersion: 'argoproj.io/v1beta1', kind: 'Rollout' }), false);
    assert.equal(isArgoKind({ apiVersion: 'weir.dev/v1alpha1', kind: 'Rollout' }), false);
    assert.equal(isArgoKind(null), false);
    assert.equal(isArgoKind('Rollout'), false);
    assert.equal(isArgoKind([argoRollout()]), false);
  });
});
