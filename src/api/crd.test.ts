import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { describe, it } from 'node:test';
import Type from 'typebox';
import { load } from 'js-yaml';
import { CRD_KINDS, GENERATED_HEADER, crdFiles, rolloutCrd, toStructuralSchema, type CrdKind } from './crd.ts';

type Node = Record<string, unknown>;

const crdsDir = new URL('../../crds/', import.meta.url);

/** Keys a JSONSchemaProps node of apiextensions.k8s.io/v1 may have. */
const ALLOWED_KEYS = new Set([
  'description',
  'type',
  'format',
  'title',
  'default',
  'maximum',
  'exclusiveMaximum',
  'minimum',
  'exclusiveMinimum',
  'maxLength',
  'minLength',
  'pattern',
  'maxItems',
  'minItems',
  'uniqueItems',
  'multipleOf',
  'enum',
  'maxProperties',
  'minProperties',
  'required',
  'items',
  'allOf',
  'oneOf',
  'anyOf',
  'not',
  'properties',
  'additionalProperties',
  'nullable',
  'example',
  'externalDocs',
  'x-kubernetes-preserve-unknown-fields',
  'x-kubernetes-int-or-string',
  'x-kubernetes-embedded-resource',
  'x-kubernetes-list-type',
  'x-kubernetes-list-map-keys',
  'x-kubernetes-map-type',
]);

function isNode(value: unknown): value is Node {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Every violation of Kubernetes' structural schema rules under `node`. */
function structuralProblems(node: unknown, path: string, out: string[]): void {
  if (!isNode(node)) {
    out.push(`${path}: not a schema object`);
    return;
  }
  for (const key of Object.keys(node)) if (!ALLOWED_KEYS.has(key)) out.push(`${path}: key ${JSON.stringify(key)} is not allowed in a CRD schema`);
  const intOrString = node['x-kubernetes-int-or-string'] === true;
  const preserve = node['x-kubernetes-preserve-unknown-fields'] === true;
  if (typeof node.type !== 'string' && !intOrString && !preserve) out.push(`${path}: has no type`);
  if (node.type === 'object' && node.properties !== undefined && node.additionalProperties !== undefined) out.push(`${path}: both properties and additionalProperties`);
  if (typeof node.additionalProperties === 'boolean') out.push(`${path}: additionalProperties must be a schema, not a boolean`);
  if (node.uniqueItems === true) out.push(`${path}: uniqueItems: true is forbidden`);
  for (const junctor of ['allOf', 'oneOf', 'not'] as const) if (node[junctor] !== undefined) out.push(`${path}: ${junctor} is not used by Weir's schemas`);
  if (node.anyOf !== undefined) {
    const expected = [{ type: 'integer' }, { type: 'string' }];
    if (!intOrString) out.push(`${path}: anyOf without x-kubernetes-int-or-string`);
    else if (JSON.stringify(node.anyOf) !== JSON.stringify(expected)) out.push(`${path}: int-or-string anyOf must be exactly ${JSON.stringify(expected)}`);
  }
  if (intOrString && node.type !== undefined) out.push(`${path}: int-or-string must not have a type`);
  if (node.type === 'array') {
    if (node.items === undefined) out.push(`${path}: array without items`);
    else structuralProblems(node.items, `${path}[]`, out);
  }
  if (isNode(node.properties)) {
    for (const [key, value] of Object.entries(node.properties)) structuralProblems(value, `${path}.${key}`, out);
    if (Array.isArray(node.required)) for (const r of node.required) if (!(String(r) in node.properties)) out.push(`${path}: required ${String(r)} is not a property`);
  } else if (node.required !== undefined) {
    out.push(`${path}: required without properties`);
  }
  if (isNode(node.additionalProperties)) structuralProblems(node.additionalProperties, `${path}[*]`, out);
  if (Array.isArray(node.enum) && typeof node.type !== 'string') out.push(`${path}: enum without a type`);
}

function openApiSchema(crd: Node): Node {
  const spec = crd.spec as { versions: { schema: { openAPIV3Schema: Node } }[] };
  const [version] = spec.versions;
  assert.ok(version);
  return version.schema.openAPIV3Schema;
}

function at(schema: Node, path: string): Node {
  let node: unknown = schema;
  for (const part of path.split('.')) {
    if (part === '[]') node = (node as Node).items;
    else node = ((node as Node).properties as Node | undefined)?.[part];
    assert.ok(isNode(node), `no schema at ${path}`);
  }
  return node as Node;
}

describe('crds/', () => {
  it('is what the schemas generate (run `npm run generate` after changing src/api)', () => {
    const expected = crdFiles();
    const onDisk = readdirSync(crdsDir).filter((name) => /\.ya?ml$/.test(name));
    assert.deepEqual(
      onDisk.sort(),
      expected.map((f) => f.name).sort(),
      'crds/ does not hold exactly the generated files: run `npm run generate`',
    );
    for (const file of expected) {
      const actual = readFileSync(new URL(file.name, crdsDir), 'utf8');
      assert.ok(actual === file.content, `crds/${file.name} is out of date: run \`npm run generate\``);
    }
  });

  it('starts every file with the generated-file header', () => {
    for (const file of crdFiles()) assert.ok(file.content.startsWith(GENERATED_HEADER), file.name);
    assert.equal(GENERATED_HEADER, '# generated by npm run generate; do not edit\n');
  });

  it('lists every CRD in kustomization.yaml', () => {
    const kustomization = load(readFileSync(new URL('kustomization.yaml', crdsDir), 'utf8')) as { kind: string; resources: string[] };
    assert.equal(kustomization.kind, 'Kustomization');
    assert.deepEqual(kustomization.resources, CRD_KINDS.map((k) => `${k.plural}.weir.dev.yaml`));
  });
});

describe('rolloutCrd', () => {
  const crd = rolloutCrd();
  const schema = openApiSchema(crd);

  it('is the CustomResourceDefinition rollouts.weir.dev', () => {
    assert.equal(crd.apiVersion, 'apiextensions.k8s.io/v1');
    assert.equal(crd.kind, 'CustomResourceDefinition');
    assert.deepEqual(crd.metadata, { name: 'rollouts.weir.dev' });
    const spec = crd.spec as Node;
    assert.equal(spec.group, 'weir.dev');
    assert.equal(spec.scope, 'Namespaced');
    assert.deepEqual(spec.names, {
      kind: 'Rollout',
      listKind: 'RolloutList',
      plural: 'rollouts',
      singular: 'rollout',
      shortNames: ['wro'],
      categories: ['weir', 'all'],
    });
    const versions = spec.versions as Node[];
    assert.equal(versions.length, 1);
    const [version] = versions;
    assert.equal(version?.name, 'v1alpha1');
    assert.equal(version.served, true);
    assert.equal(version.storage, true);
  });

  it('has the status and scale subresources', () => {
    const [version] = (crd.spec as { versions: Node[] }).versions;
    assert.deepEqual(version?.subresources, {
      status: {},
      scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
    });
  });

  it('prints the columns kubectl get shows', () => {
    const [version] = (crd.spec as { versions: Node[] }).versions;
    const columns = version?.additionalPrinterColumns as Node[];
    assert.deepEqual(
      columns.map((c) => [c.name, c.type, c.jsonPath, c.priority]),
      [
        ['Desired', 'integer', '.spec.replicas', undefined],
        ['Phase', 'string', '.status.phase', undefined],
        ['Step', 'integer', '.status.currentStepIndex', undefined],
        ['Weight', 'integer', '.status.canary.weights.canary.weight', undefined],
        ['Stable', 'string', '.status.stableRS', undefined],
        ['Revision', 'string', '.status.git.currentRevision', 1],
        ['Age', 'date', '.metadata.creationTimestamp', undefined],
      ],
    );
    // Every column's path exists in the schema (metadata is the API server's).
    for (const c of columns) {
      const path = String(c.jsonPath).slice(1);
      if (!path.startsWith('metadata.')) at(schema, path);
    }
  });

  it('is a structural schema', () => {
    const problems: string[] = [];
    structuralProblems(schema, '(root)', problems);
    assert.deepEqual(problems, []);
    assert.equal(schema.type, 'object');
  });

  it('says only that metadata is an object, and requires spec', () => {
    assert.deepEqual(at(schema, 'metadata'), { type: 'object' });
    assert.deepEqual(schema.required, ['spec']);
    assert.equal(at(schema, 'apiVersion').type, 'string');
    assert.equal(at(schema, 'kind').type, 'string');
    assert.deepEqual(at(schema, 'spec').required, ['strategy']);
  });

  it('turns literal unions into enums', () => {
    assert.deepEqual(at(schema, 'status.phase'), { type: 'string', enum: ['Healthy', 'Progressing', 'Paused', 'Degraded'] });
    assert.deepEqual(at(schema, 'spec.selector.matchExpressions.[].operator'), { type: 'string', enum: ['In', 'NotIn', 'Exists', 'DoesNotExist'] });
  });

  it('keeps int-or-string fields in the form Kubernetes allows', () => {
    for (const path of ['spec.strategy.canary.maxSurge', 'spec.strategy.canary.maxUnavailable', 'spec.strategy.canary.steps.[].pause.duration']) {
      const node = at(schema, path);
      assert.equal(node['x-kubernetes-int-or-string'], true, path);
      assert.deepEqual(node.anyOf, [{ type: 'integer' }, { type: 'string' }], path);
      assert.equal(node.type, undefined, path);
    }
  });

  it('turns records into objects with additionalProperties', () => {
    assert.deepEqual(at(schema, 'spec.selector.matchLabels'), { type: 'object', additionalProperties: { type: 'string' } });
    const plugins = at(schema, 'spec.strategy.canary.trafficRouting.plugins');
    assert.deepEqual(plugins.additionalProperties, {
      type: 'object',
      description: 'router plugin configuration',
      'x-kubernetes-preserve-unknown-fields': true,
    });
  });

  it('keeps opaque objects as given', () => {
    const template = at(schema, 'spec.template');
    assert.equal(template.type, 'object');
    assert.equal(template['x-kubernetes-preserve-unknown-fields'], true);
    assert.equal(template.properties, undefined);
    assert.equal(at(schema, 'spec.strategy.canary.trafficRouting')['x-kubernetes-preserve-unknown-fields'], true);
  });

  it('leaves out TypeBox-only keys', () => {
    const text = JSON.stringify(crd);
    for (const key of ['~kind', '~optional', 'patternProperties', '"const"', '$id', '$schema']) assert.equal(text.includes(key), false, key);
  });
});

describe('toStructuralSchema', () => {
  it('refuses unions a structural schema cannot express', () => {
    assert.throws(() => toStructuralSchema(Type.Object({ x: Type.Union([Type.String(), Type.Object({ a: Type.String() })]) })), /\.x: a union cannot be expressed/);
  });

  it('makes a nullable type of a union with null', () => {
    assert.deepEqual(toStructuralSchema(Type.Union([Type.String(), Type.Null()])), { type: 'string', nullable: true });
  });

  it('lets the generator take more kinds by listing them', () => {
    const extra: CrdKind = {
      kind: 'Example',
      plural: 'examples',
      singular: 'example',
      scope: 'Namespaced',
      schema: Type.Object({ apiVersion: Type.String(), kind: Type.String(), metadata: Type.Object({}), spec: Type.Object({ url: Type.String() }) }),
      statusSubresource: true,
    };
    const files = crdFiles([...CRD_KINDS, extra]);
    assert.deepEqual(
      files.map((f) => f.name),
      [...CRD_KINDS.map((k) => `${k.plural}.weir.dev.yaml`), 'examples.weir.dev.yaml', 'kustomization.yaml'],
    );
    const generated = load(files.at(-2)?.content ?? '') as Node;
    assert.equal((generated.metadata as Node).name, 'examples.weir.dev');
    const problems: string[] = [];
    structuralProblems(openApiSchema(generated), '(root)', problems);
    assert.deepEqual(problems, []);
    assert.match(files.at(-1)?.content ?? '', /- examples\.weir\.dev\.yaml/);
  });
});
