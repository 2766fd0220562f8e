import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { checkContainerFields } from './pod-template.ts';

function problems(container: Record<string, unknown>): string[] {
  const out: string[] = [];
  checkContainerFields(container, ['c'], (path, message) => out.push(`${path.join('.')}: ${message}`));
  return out;
}

describe('pod template rules (what the ReplicaSet would refuse mid-rollout)', () => {
  it('accepts what Kubernetes accepts', () => {
    assert.deepEqual(
      problems({
        name: 'app',
        imagePullPolicy: 'IfNotPresent',
        ports: [{ name: 'http', containerPort: 8080, protocol: 'TCP' }, { name: 'metrics-2', containerPort: 9090, hostPort: 19090 }],
        env: [{ name: 'A', value: '1' }, { name: 'B', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } }, { name: 'C' }],
        resources: { limits: { memory: '256Mi', cpu: '500m', 'nvidia.com/gpu': 1 }, requests: { cpu: 0.25, memory: '1e9', storage: '1.5Gi' } },
      }),
      [],
    );
  });

  it('ports: integers from 1 to 65535, a known protocol, IANA names, each once', () => {
    assert.deepEqual(problems({ ports: [{ containerPort: '8080' }, { containerPort: 70000 }, {}, { containerPort: 80, protocol: 'tcp' }] }), [
      'c.ports.0.containerPort: must be an integer from 1 to 65535 (got string "8080"): write it without quotes, 8080',
      'c.ports.1.containerPort: must be from 1 to 65535 (got 70000)',
      'c.ports.2.containerPort: required',
      'c.ports.3.protocol: must be one of TCP, UDP, SCTP (got string "tcp"): did you mean "TCP"?',
    ]);
    assert.deepEqual(problems({ ports: [{ containerPort: 1, name: 'HTTP' }, { containerPort: 2, name: 'a-very-long-port-name' }, { containerPort: 3, name: '8080' }] }).length, 3);
    assert.deepEqual(problems({ ports: [{ containerPort: 1, name: 'http' }, { containerPort: 2, name: 'http' }] }), ['c.ports.1.name: duplicate port name "http" (also ports[0])']);
  });

  it('env: a name each, a string value, not value and valueFrom both', () => {
    assert.deepEqual(problems({ env: [{ name: 'N', value: 4 }, { value: 'x' }, { name: 'F', value: true }, { name: 'B', value: 'x', valueFrom: {} }] }), [
      'c.env.0.value: must be a string (got 4): quote it, "4"',
      'c.env.1.name: required',
      'c.env.2.value: must be a string (got true): quote it, "true"',
      'c.env.3.valueFrom: must not be set with value: one or the other',
    ]);
  });

  it('resources: Kubernetes quantities, not negative', () => {
    assert.deepEqual(problems({ resources: { limits: { memory: '256mb', cpu: '-1' }, requests: { cpu: -0.5, memory: '1 Gi' } } }), [
      'c.resources.limits.memory: must be a Kubernetes quantity such as 256Mi, 1Gi, 500m or 0.5 (got string "256mb")',
      'c.resources.limits.cpu: must not be negative (got string "-1")',
      'c.resources.requests.cpu: must not be negative (got -0.5)',
      'c.resources.requests.memory: must be a Kubernetes quantity such as 256Mi, 1Gi, 500m or 0.5 (got string "1 Gi")',
    ]);
  });

  it('imagePullPolicy: exactly Always, IfNotPresent or Never', () => {
    assert.deepEqual(problems({ imagePullPolicy: 'always' }), ['c.imagePullPolicy: must be one of Always, IfNotPresent, Never (got string "always"): did you mean "Always"?']);
    assert.deepEqual(problems({ imagePullPolicy: 'Sometimes' }), ['c.imagePullPolicy: must be one of Always, IfNotPresent, Never (got string "Sometimes")']);
  });
});
