import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import { CONVERTED_FROM_ANNOTATION, crdAsV1 } from './bootstrap.ts';

// A v1beta1 CRD of the shape SMI's TrafficSplit is published in: one
// top-level schema and printer column for several versions, the root of the
// schema without a type.
const schema = {
  properties: {
    spec: {
      type: 'object',
      required: ['backends'],
      properties: { backends: { type: 'array', items: { type: 'object', properties: { weight: { type: 'number' } } } } },
    },
  },
};
const v1beta1 = {
  apiVersion: 'apiextensions.k8s.io/v1beta1',
  kind: 'CustomResourceDefinition',
  metadata: { name: 'splits.example.dev', labels: { app: 'x' } },
  spec: {
    group: 'example.dev',
    scope: 'Namespaced',
    names: { kind: 'Split', plural: 'splits' },
    version: 'v2',
    versions: [
      { name: 'v2', served: true, storage: true },
      { name: 'v1', served: false, storage: false },
    ],
    additionalPrinterColumns: [{ name: 'Service', type: 'string', JSONPath: '.spec.service' }],
    subresources: { status: {} },
    validation: { openAPIV3Schema: schema },
    preserveUnknownFields: true,
  },
} as KubernetesObject;

describe('crdAsV1', () => {
  it('converts a v1beta1 CRD as the API server did: the top-level schema, columns and subresources on every version', () => {
    const v1 = crdAsV1(v1beta1) as KubernetesObject & { spec: Record<string, unknown> };
    assert.equal(v1.apiVersion, 'apiextensions.k8s.io/v1');
    assert.deepEqual(v1.metadata, { name: 'splits.example.dev', labels: { app: 'x' }, annotations: { [CONVERTED_FROM_ANNOTATION]: 'apiextensions.k8s.io/v1beta1' } });
    assert.deepEqual(v1.spec, {
      group: 'example.dev',
      scope: 'Namespaced',
      names: { kind: 'Split', plural: 'splits' },
      versions: ['v2', 'v1'].map((name) => ({
        name,
        served: name === 'v2',
        storage: name === 'v2',
        schema: { openAPIV3Schema: { type: 'object', ...schema } },
        subresources: { status: {} },
        additionalPrinterColumns: [{ name: 'Service', type: 'string', jsonPath: '.spec.service' }],
      })),
    });
  });

  it('keeps each version\'s own schema and a root type the schema has', () => {
    const own = { openAPIV3Schema: { type: 'object', properties: { spec: { type: 'string' } } } };
    const input = { ...v1beta1, spec: { group: 'example.dev', names: { kind: 'Split', plural: 'splits' }, scope: 'Namespaced', versions: [{ name: 'v1', served: true, storage: true, schema: own }] } };
    const v1 = crdAsV1(input) as { spec: { versions: { schema: unknown }[] } };
    assert.deepEqual(v1.spec.versions.map((v) => v.schema), [own]);
  });

  it('makes `version` the only version when `versions` is absent', () => {
    const { versions: _versions, ...spec } = (v1beta1 as { spec: Record<string, unknown> }).spec;
    const v1 = crdAsV1({ ...v1beta1, spec } as KubernetesObject) as { spec: { versions: { name: string; served: boolean; storage: boolean }[] } };
    assert.deepEqual(v1.spec.versions.map(({ name, served, storage }) => ({ name, served, storage })), [{ name: 'v2', served: true, storage: true }]);
  });

  it('moves a webhook conversion\'s client config under `webhook`', () => {
    const clientConfig = { service: { name: 'conv', namespace: 'ns', path: '/convert' } };
    const input = { ...v1beta1, spec: { ...(v1beta1 as { spec: object }).spec, conversion: { strategy: 'Webhook', webhookClientConfig: clientConfig } } };
    const v1 = crdAsV1(input) as { spec: { conversion: unknown } };
    assert.deepEqual(v1.spec.conversion, { strategy: 'Webhook', webhook: { clientConfig, conversionReviewVersions: ['v1beta1'] } });
  });

  it('returns a v1 CRD and any other object as they are', () => {
    const v1 = { apiVersion: 'apiextensions.k8s.io/v1', kind: 'CustomResourceDefinition', metadata: { name: 'a.b' }, spec: { versions: [] } };
    assert.equal(crdAsV1(v1), v1);
    const policy = { apiVersion: 'admissionregistration.k8s.io/v1', kind: 'ValidatingAdmissionPolicy', metadata: { name: 'p' } };
    assert.equal(crdAsV1(policy), policy);
  });
});
