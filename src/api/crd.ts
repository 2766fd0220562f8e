// CustomResourceDefinitions from the TypeBox schemas: the same source as the
// TypeScript types and the validation. Kubernetes wants a *structural*
// schema (every node typed, no unions except int-or-string, no $ref or
// patternProperties), so the JSON Schema is rewritten into that form here.
//
// Each kind is one entry of CRD_KINDS; `npm run generate` writes one file per
// entry into crds/ plus a kustomization listing them, and crd.test.ts fails
// when crds/ is not what this module produces.
import { dump } from 'js-yaml';
import { AnalysisRun, AnalysisTemplate, ClusterAnalysisTemplate } from './analysis.ts';
import { GROUP, VERSION } from './common.ts';
import { GitSource } from './gitsource.ts';
import { Rollout } from './rollout.ts';

/** A node of an apiextensions.k8s.io/v1 JSONSchemaProps. */
export type StructuralSchema = Record<string, unknown>;

export interface PrinterColumn {
  name: string;
  type: 'integer' | 'number' | 'string' | 'boolean' | 'date';
  jsonPath: string;
  description?: string;
  priority?: number;
}

/** One custom resource kind, as the generator lists them. */
export interface CrdKind {
  kind: string;
  plural: string;
  singular: string;
  shortNames?: string[];
  categories?: string[];
  scope: 'Namespaced' | 'Cluster';
  /** The TypeBox schema of the whole object (apiVersion, kind, metadata, spec, status). */
  schema: unknown;
  /** Whether status is a subresource (written through /status). */
  statusSubresource?: boolean;
  scale?: { specReplicasPath: string; statusReplicasPath: string; labelSelectorPath?: string };
  printerColumns?: PrinterColumn[];
}

export const ROLLOUT_KIND: CrdKind = {
  kind: 'Rollout',
  plural: 'rollouts',
  singular: 'rollout',
  // Not "ro": Argo Rollouts' CRD has it, and both may be installed during a migration.
  shortNames: ['wro'],
  categories: ['weir', 'all'],
  scope: 'Namespaced',
  schema: Rollout,
  statusSubresource: true,
  scale: { specReplicasPath: '.spec.replicas', statusReplicasPath: '.status.replicas', labelSelectorPath: '.status.selector' },
  printerColumns: [
    { name: 'Desired', type: 'integer', jsonPath: '.spec.replicas', description: 'Number of desired pods' },
    { name: 'Phase', type: 'string', jsonPath: '.status.phase', description: 'Healthy, Progressing, Paused or Degraded' },
    { name: 'Step', type: 'integer', jsonPath: '.status.currentStepIndex', description: 'Index of the current canary step' },
    { name: 'Weight', type: 'integer', jsonPath: '.status.canary.weights.canary.weight', description: 'Percentage of traffic sent to the canary' },
    { name: 'Stable', type: 'string', jsonPath: '.status.stableRS', description: 'Pod template hash of the stable ReplicaSet' },
    { name: 'Revision', type: 'string', jsonPath: '.status.git.currentRevision', description: 'Git commit being rolled out', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};

export const GITSOURCE_KIND: CrdKind = {
  kind: 'GitSource',
  plural: 'gitsources',
  singular: 'gitsource',
  shortNames: ['gs'],
  categories: ['weir'],
  scope: 'Namespaced',
  schema: GitSource,
  statusSubresource: true,
  printerColumns: [
    { name: 'URL', type: 'string', jsonPath: '.spec.url', description: 'Repository URL' },
    { name: 'Ref', type: 'string', jsonPath: '.spec.ref.branch', description: 'Branch followed (see spec.ref for a tag or commit)' },
    { name: 'Applied', type: 'string', jsonPath: '.status.lastAppliedShortRevision', description: 'Commit last applied in full' },
    { name: 'Ready', type: 'string', jsonPath: '.status.conditions[?(@.type=="Ready")].status', description: 'Whether the last fetched revision is applied' },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};

// Short names: Argo Rollouts' CRDs have at, cat and ar, and both may be
// installed during a migration, so Weir's carry a "w" as "wro" does.

export const ANALYSIS_TEMPLATE_KIND: CrdKind = {
  kind: 'AnalysisTemplate',
  plural: 'analysistemplates',
  singular: 'analysistemplate',
  shortNames: ['wat'],
  categories: ['weir'],
  scope: 'Namespaced',
  schema: AnalysisTemplate,
  printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
};

export const CLUSTER_ANALYSIS_TEMPLATE_KIND: CrdKind = {
  kind: 'ClusterAnalysisTemplate',
  plural: 'clusteranalysistemplates',
  singular: 'clusteranalysistemplate',
  shortNames: ['wcat'],
  categories: ['weir'],
  scope: 'Cluster',
  schema: ClusterAnalysisTemplate,
  printerColumns: [{ name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' }],
};

export const ANALYSIS_RUN_KIND: CrdKind = {
  kind: 'AnalysisRun',
  plural: 'analysisruns',
  singular: 'analysisrun',
  shortNames: ['war'],
  categories: ['weir'],
  scope: 'Namespaced',
  schema: AnalysisRun,
  statusSubresource: true,
  printerColumns: [
    { name: 'Status', type: 'string', jsonPath: '.status.phase', description: 'Pending, Running, Successful, Failed, Error or Inconclusive' },
    { name: 'Message', type: 'string', jsonPath: '.status.message', description: 'Why the run ended as it did', priority: 1 },
    { name: 'Age', type: 'date', jsonPath: '.metadata.creationTimestamp' },
  ],
};

/** Every kind `npm run generate` writes, in file order. */
export const CRD_KINDS: readonly CrdKind[] = [ROLLOUT_KIND, GITSOURCE_KIND, ANALYSIS_TEMPLATE_KIND, CLUSTER_ANALYSIS_TEMPLATE_KIND, ANALYSIS_RUN_KIND];

/** Value validations Kubernetes accepts, copied as they are. */
const VALUE_KEYWORDS = [
  'description',
  'format',
  'minimum',
  'maximum',
  'exclusiveMinimum',
  'exclusiveMaximum',
  'multipleOf',
  'minLength',
  'maxLength',
  'pattern',
  'minItems',
  'maxItems',
  'uniqueItems',
  'minProperties',
  'maxProperties',
  'default',
] as const;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** OpenAPI v3 draft-04 style: a boolean exclusiveMinimum plus minimum. */
function copyValueKeywords(from: Record<string, unknown>, to: StructuralSchema): void {
  for (const key of VALUE_KEYWORDS) {
    const value = from[key];
    if (value === undefined) continue;
    if ((key === 'exclusiveMinimum' || key === 'exclusiveMaximum') && typeof value === 'number') {
      to[key === 'exclusiveMinimum' ? 'minimum' : 'maximum'] = value;
      to[key] = true;
      continue;
    }
    if (key === 'uniqueItems' && value === true) continue; // Kubernetes forbids uniqueItems: true; validation checks it instead
    to[key] = value;
  }
}

/**
 * Rewrites a TypeBox (JSON Schema) node into a Kubernetes structural schema
 * node. Throws for constructs a structural schema cannot express (a union of
 * different object shapes, say), naming the path, so the schema gets fixed
 * rather than the CRD silently losing validation.
 */
export function toStructuralSchema(schema: unknown, path = ''): StructuralSchema {
  if (!isRecord(schema)) throw new Error(`${path || '(root)'}: not a schema`);
  const description = typeof schema.description === 'string' ? { description: schema.description } : {};

  if (schema['x-kubernetes-int-or-string'] === true) {
    return { ...description, 'x-kubernetes-int-or-string': true, anyOf: [{ type: 'integer' }, { type: 'string' }] };
  }

  if (Array.isArray(schema.anyOf)) {
    const members = schema.anyOf.filter(isRecord);
    const nonNull = members.filter((m) => m.type !== 'null');
    const nullable = nonNull.length < members.length ? { nullable: true } : {};
    if (nonNull.length > 0 && nonNull.every((m) => 'const' in m)) {
      const types = new Set(nonNull.map((m) => m.type));
      const [type] = types;
      if (types.size !== 1 || typeof type !== 'string') throw new Error(`${path}: a union of literals of different types`);
      return { ...description, type, enum: nonNull.map((m) => m.const), ...nullable };
    }
    const [only] = nonNull;
    if (nonNull.length === 1 && only) return { ...toStructuralSchema(only, path), ...description, ...nullable };
    throw new Error(`${path}: a union cannot be expressed in a structural schema (only literal unions, nullable types and int-or-string can)`);
  }

  if ('const' in schema) {
    const type = typeof schema.type === 'string' ? schema.type : typeof schema.const === 'number' ? 'number' : typeof schema.const;
    return { ...description, type, enum: [schema.const] };
  }

  const type = schema.type;
  const out: StructuralSchema = {};
  switch (type) {
    case 'object': {
      out.type = 'object';
      copyValueKeywords(schema, out);
      const properties = isRecord(schema.properties) ? schema.properties : {};
      const preserve = schema['x-kubernetes-preserve-unknown-fields'] === true || (schema.additionalProperties === true && !isRecord(schema.patternProperties));
      if (Object.keys(properties).length > 0) {
        const converted: Record<string, StructuralSchema> = {};
        for (const [key, value] of Object.entries(properties)) converted[key] = toStructuralSchema(value, `${path}.${key}`);
        out.properties = converted;
        const required = Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string' && r in properties) : [];
        if (required.length > 0) out.required = required;
      } else if (isRecord(schema.patternProperties)) {
        const [valueSchema] = Object.values(schema.patternProperties);
        out.additionalProperties = toStructuralSchema(valueSchema, `${path}[*]`);
      } else if (isRecord(schema.additionalProperties)) {
        out.additionalProperties = toStructuralSchema(schema.additionalProperties, `${path}[*]`);
      }
      if (preserve) out['x-kubernetes-preserve-unknown-fields'] = true;
      return out;
    }
    case 'array':
      out.type = 'array';
      copyValueKeywords(schema, out);
      if (schema.items === undefined) throw new Error(`${path}: an array without an item schema`);
      out.items = toStructuralSchema(schema.items, `${path}[]`);
      return out;
    case 'string':
    case 'integer':
    case 'number':
    case 'boolean':
      out.type = type;
      copyValueKeywords(schema, out);
      if (Array.isArray(schema.enum)) out.enum = schema.enum as unknown[];
      return out;
    default:
      throw new Error(`${path || '(root)'}: no type Kubernetes can express (${JSON.stringify(type)})`);
  }
}

/** The openAPIV3Schema of a kind: the object's schema, with apiVersion/kind/metadata as every CRD has them. */
export function kindSchema(kind: CrdKind): StructuralSchema {
  const root = toStructuralSchema(kind.schema);
  const properties = isRecord(root.properties) ? { ...root.properties } : {};
  properties.apiVersion = {
    type: 'string',
    description: 'APIVersion defines the versioned schema of this representation of an object.',
  };
  properties.kind = { type: 'string', description: 'Kind is a string value representing the REST resource this object represents.' };
  // The API server owns metadata's schema: a CRD may only say it is an object.
  properties.metadata = { type: 'object' };
  const required = Array.isArray(root.required) ? root.required.filter((r) => r !== 'apiVersion' && r !== 'kind' && r !== 'metadata') : [];
  const out: StructuralSchema = { ...root, properties };
  if (required.length > 0) out.required = required;
  else delete out.required;
  return out;
}

/** The CustomResourceDefinition (apiextensions.k8s.io/v1) of a kind. */
export function buildCrd(kind: CrdKind): Record<string, unknown> {
  const subresources: Record<string, unknown> = {};
  if (kind.statusSubresource === true) subresources.status = {};
  if (kind.scale) subresources.scale = { ...kind.scale };
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${kind.plural}.${GROUP}` },
    spec: {
      group: GROUP,
      names: {
        kind: kind.kind,
        listKind: `${kind.kind}List`,
        plural: kind.plural,
        singular: kind.singular,
        ...(kind.shortNames ? { shortNames: [...kind.shortNames] } : {}),
        ...(kind.categories ? { categories: [...kind.categories] } : {}),
      },
      scope: kind.scope,
      versions: [
        {
          name: VERSION,
          served: true,
          storage: true,
          schema: { openAPIV3Schema: kindSchema(kind) },
          ...(Object.keys(subresources).length > 0 ? { subresources } : {}),
          ...(kind.printerColumns ? { additionalPrinterColumns: kind.printerColumns.map((c) => ({ ...c })) } : {}),
        },
      ],
    },
  };
}

/** The CustomResourceDefinition `rollouts.weir.dev`. */
export function rolloutCrd(): Record<string, unknown> {
  return buildCrd(ROLLOUT_KIND);
}

export const GENERATED_HEADER = '# generated by npm run generate; do not edit\n';

export interface GeneratedFile {
  /** File name inside crds/. */
  name: string;
  content: string;
}

function toYaml(value: unknown): string {
  return dump(value, { lineWidth: -1, noRefs: true });
}

/** The contents of crds/: one file per kind, and a kustomization.yaml listing them. */
export function crdFiles(kinds: readonly CrdKind[] = CRD_KINDS): GeneratedFile[] {
  const files = kinds.map((kind) => ({ name: `${kind.plural}.${GROUP}.yaml`, content: GENERATED_HEADER + toYaml(buildCrd(kind)) }));
  const kustomization = {
    apiVersion: 'kustomize.config.k8s.io/v1beta1',
    kind: 'Kustomization',
    resources: files.map((f) => f.name),
  };
  return [...files, { name: 'kustomization.yaml', content: GENERATED_HEADER + toYaml(kustomization) }];
}
