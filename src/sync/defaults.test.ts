import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withApplyDefaults } from './defaults.ts';
import type { SyncObject } from './types.ts';

const service: SyncObject = {
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 's' },
  spec: { ports: [{ name: 'http', port: 80 }, { name: 'dns', port: 53, protocol: 'UDP' }] },
};

describe('withApplyDefaults', () => {
  it('sets protocol TCP on Service ports that omit it, keeping the given ones', () => {
    const out = withApplyDefaults(service);
    assert.deepEqual((out.spec as { ports: unknown[] }).ports, [
      { name: 'http', port: 80, protocol: 'TCP' },
      { name: 'dns', port: 53, protocol: 'UDP' },
    ]);
    assert.equal((service.spec as { ports: { protocol?: string }[] }).ports[0]?.protocol, undefined, 'the input is not changed');
  });

  it('sets it on container ports of workloads, CronJobs included', () => {
    const deployment: SyncObject = {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'd' },
      spec: { template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 8080 }] }, { name: 'b' }], initContainers: [{ name: 'i', ports: [{ containerPort: 1 }] }] } } },
    };
    const out = withApplyDefaults(deployment) as unknown as { spec: { template: { spec: { containers: { ports?: unknown[] }[]; initContainers: { ports: unknown[] }[] } } } };
    assert.deepEqual(out.spec.template.spec.containers[0]?.ports, [{ containerPort: 8080, protocol: 'TCP' }]);
    assert.equal(out.spec.template.spec.containers[1]?.ports, undefined);
    assert.deepEqual(out.spec.template.spec.initContainers[0]?.ports, [{ containerPort: 1, protocol: 'TCP' }]);
    const cron: SyncObject = {
      apiVersion: 'batch/v1',
      kind: 'CronJob',
      metadata: { name: 'c' },
      spec: { jobTemplate: { spec: { template: { spec: { containers: [{ name: 'a', ports: [{ containerPort: 9 }] }] } } } } },
    };
    assert.match(JSON.stringify(withApplyDefaults(cron)), /"protocol":"TCP"/);
  });

  it('returns the same object when nothing is missing, and leaves other kinds alone', () => {
    const complete: SyncObject = { ...service, spec: { ports: [{ port: 80, protocol: 'TCP' }] } };
    assert.equal(withApplyDefaults(complete), complete);
    const rollout: SyncObject = { apiVersion: 'weir.dev/v1alpha1', kind: 'Rollout', metadata: { name: 'r' }, spec: { template: { spec: { containers: [{ ports: [{ containerPort: 1 }] }] } } } };
    assert.equal(withApplyDefaults(rollout), rollout);
  });

  it('survives odd shapes without throwing', () => {
    const odd: SyncObject = { apiVersion: 'v1', kind: 'Service', metadata: { name: 's' }, spec: { ports: 'nope' } };
    assert.equal(withApplyDefaults(odd), odd);
    const noSpec: SyncObject = { apiVersion: 'apps/v1', kind: 'Deployment', metadata: { name: 'd' } };
    assert.equal(withApplyDefaults(noSpec), noSpec);
  });
});
