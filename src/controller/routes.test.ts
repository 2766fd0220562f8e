import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Rollout } from '../api/rollout.ts';
import { observeRoute, rolloutRoutes, setRuleWeights, type HttpRoute } from './routes.ts';

const route: HttpRoute = {
  metadata: { name: 'web', namespace: 'shop' },
  spec: {
    rules: [
      { backendRefs: [{ name: 'other', weight: 1 }] },
      {
        backendRefs: [
          { name: 'web-stable', port: 80, weight: 100 },
          { name: 'web-canary', port: 80, weight: 0 },
          { name: 'web-canary', kind: 'ServiceImport', group: 'multicluster.x-k8s.io', weight: 7 },
        ],
      },
    ],
  },
};

function rollout(plugins: Record<string, unknown> | undefined): Rollout {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: 'web', namespace: 'shop' },
    spec: { strategy: { canary: { ...(plugins ? { trafficRouting: { plugins } } : {}) } } },
  };
}

describe('rolloutRoutes', () => {
  it("reads Argo's gatewayAPI plugin config, httpRoute and httpRoutes, defaulting the namespace", () => {
    assert.deepEqual(rolloutRoutes(rollout({ 'argoproj-labs/gatewayAPI': { httpRoute: 'a', httpRoutes: [{ name: 'b' }, { name: 'a' }] } })), [
      { name: 'a', namespace: 'shop' },
      { name: 'b', namespace: 'shop' },
    ]);
    assert.deepEqual(rolloutRoutes(rollout({ 'argoproj-labs/gatewayAPI': { httpRoute: 'a', namespace: 'gw' } })), [{ name: 'a', namespace: 'gw' }]);
  });
  it('is empty without traffic routing or with another plugin', () => {
    assert.deepEqual(rolloutRoutes(rollout(undefined)), []);
    assert.deepEqual(rolloutRoutes(rollout({ 'example/other': { httpRoute: 'a' } })), []);
  });
});

describe('observeRoute', () => {
  it('reports the weights of the rule that names both Services, ignoring non-Service refs', () => {
    assert.deepEqual(observeRoute(route, 'web-stable', 'web-canary'), {
      name: 'web',
      namespace: 'shop',
      weights: { 'web-stable': 100, 'web-canary': 0 },
      hasRule: true,
    });
  });
  it('says when no rule names both Services', () => {
    assert.equal(observeRoute(route, 'web-stable', 'nope').hasRule, false);
  });
});

describe('setRuleWeights', () => {
  it('sets canary to the weight and stable to the rest, on a copy', () => {
    const updated = setRuleWeights(route, 'web-stable', 'web-canary', 30);
    assert.ok(updated);
    assert.deepEqual(observeRoute(updated, 'web-stable', 'web-canary').weights, { 'web-stable': 70, 'web-canary': 30 });
    assert.equal(updated.spec?.rules?.[1]?.backendRefs?.[2]?.weight, 7, 'a non-Service ref keeps its weight');
    assert.equal(route.spec?.rules?.[1]?.backendRefs?.[1]?.weight, 0, 'the input is not changed');
    assert.deepEqual(updated.spec.rules[0], route.spec.rules[0], 'other rules are untouched');
  });
  it('returns undefined without a matching rule', () => {
    assert.equal(setRuleWeights(route, 'x', 'y', 10), undefined);
  });
});
