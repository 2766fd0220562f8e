// Schema pieces shared by Weir's kinds. Every schema here is plain JSON
// Schema (TypeBox), from which come the TypeScript types, the validation and
// the CRDs' OpenAPI v3 schemas.
import Type, { type Static, type TSchema } from 'typebox';

export const GROUP = 'weir.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;
export const ARGO_API_VERSION = 'argoproj.io/v1alpha1';
/** The label naming the GitSource an object was applied from (prune follows it). */
export const SOURCE_LABEL = 'weir.dev/source';
/** The well-known managed-by label, and Weir's value of it, on what Weir writes. */
export const MANAGED_BY_LABEL = 'app.kubernetes.io/managed-by';
export const MANAGED_BY = 'weir';

/** An integer or a string such as "25%" (Kubernetes' IntOrString). */
export const IntOrString = Type.Union([Type.Integer(), Type.String()], { 'x-kubernetes-int-or-string': true });
export type IntOrString = Static<typeof IntOrString>;

/** Seconds as an integer, or a Go-style duration string such as "1m30s". */
export const Duration = Type.Union([Type.Integer({ minimum: 0 }), Type.String()], { 'x-kubernetes-int-or-string': true });

export const StringMap = Type.Record(Type.String(), Type.String());

/** An object Kubernetes keeps as given (pod templates and the like). */
export function Opaque(description: string): TSchema {
  return Type.Object({}, { additionalProperties: true, description, 'x-kubernetes-preserve-unknown-fields': true });
}

export const ObjectMeta = Type.Object(
  {
    name: Type.Optional(Type.String()),
    namespace: Type.Optional(Type.String()),
    uid: Type.Optional(Type.String()),
    generation: Type.Optional(Type.Integer()),
    resourceVersion: Type.Optional(Type.String()),
    labels: Type.Optional(StringMap),
    annotations: Type.Optional(StringMap),
  },
  { additionalProperties: true },
);

export const LabelSelector = Type.Object({
  matchLabels: Type.Optional(StringMap),
  matchExpressions: Type.Optional(
    Type.Array(
      Type.Object({
        key: Type.String(),
        operator: Type.Union([Type.Literal('In'), Type.Literal('NotIn'), Type.Literal('Exists'), Type.Literal('DoesNotExist')]),
        values: Type.Optional(Type.Array(Type.String())),
      }),
    ),
  ),
});
export type LabelSelector = Static<typeof LabelSelector>;

export const PodMetadata = Type.Object({
  labels: Type.Optional(StringMap),
  annotations: Type.Optional(StringMap),
});

export const Condition = Type.Object({
  type: Type.String(),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  reason: Type.Optional(Type.String()),
  message: Type.Optional(Type.String()),
  lastTransitionTime: Type.Optional(Type.String({ format: 'date-time' })),
  lastUpdateTime: Type.Optional(Type.String({ format: 'date-time' })),
});
export type Condition = Static<typeof Condition>;

/** Argument of an analysis template, as Argo Rollouts declares it. */
export const AnalysisRunArgument = Type.Object({
  name: Type.String(),
  value: Type.Optional(Type.String()),
  valueFrom: Type.Optional(
    Type.Object({
      podTemplateHashValue: Type.Optional(Type.Union([Type.Literal('Stable'), Type.Literal('Latest')])),
      fieldRef: Type.Optional(Type.Object({ fieldPath: Type.String() })),
    }),
  ),
});

export const AnalysisTemplateRef = Type.Object({
  templateName: Type.String(),
  clusterScope: Type.Optional(Type.Boolean()),
});

export const RolloutAnalysis = Type.Object({
  templates: Type.Optional(Type.Array(AnalysisTemplateRef)),
  args: Type.Optional(Type.Array(AnalysisRunArgument)),
  dryRun: Type.Optional(Type.Array(Type.Object({ metricName: Type.String() }))),
  measurementRetention: Type.Optional(Type.Array(Type.Object({ metricName: Type.String(), limit: Type.Integer({ minimum: 0 }) }))),
  analysisRunMetadata: Type.Optional(PodMetadata),
});
export type RolloutAnalysis = Static<typeof RolloutAnalysis>;
