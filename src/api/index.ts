// The API (Rollout, GitSource, AnalysisTemplate, ClusterAnalysisTemplate,
// AnalysisRun): schemas and types (the one source the validation and the
// CRDs come from), validation, conversion from argoproj.io, the CRDs, and
// manifest loading with file:line positions.
export * from './common.ts';
export * from './rollout.ts';
export * from './gitsource.ts';
export * from './analysis.ts';
export { isValidDuration, parseDuration } from './duration.ts';
export {
  GATEWAY_API_PLUGIN,
  SUPPORTED_STEP_ACTIONS,
  UNSUPPORTED_STEP_ACTIONS,
  formatFieldPath,
  parseFieldPath,
  validateAnalysisRun,
  validateAnalysisTemplate,
  validateClusterAnalysisTemplate,
  validateGitSource,
  validateRollout,
  type AnalysisRunValidationResult,
  type AnalysisTemplateValidationResult,
  type ClusterAnalysisTemplateValidationResult,
  type ConditionChecker,
  type ConditionProblem,
  type FieldError,
  type GitSourceValidationResult,
  type PathSegment,
  type ValidationResult,
} from './validate.ts';
export { ARGO_KINDS, convertArgoObject, convertArgoRollout, isArgoKind, isArgoRollout } from './convert.ts';
export { MAX_ANNOTATIONS_BYTES, WEIR_KINDS, annotationsProblem, kindProblem, type KindProblem } from './kinds.ts';
export {
  ANALYSIS_RUN_KIND,
  ANALYSIS_TEMPLATE_KIND,
  CLUSTER_ANALYSIS_TEMPLATE_KIND,
  CRD_KINDS,
  GENERATED_HEADER,
  GITSOURCE_KIND,
  ROLLOUT_KIND,
  buildCrd,
  crdFiles,
  kindSchema,
  rolloutCrd,
  toStructuralSchema,
  type CrdKind,
  type GeneratedFile,
  type PrinterColumn,
  type StructuralSchema,
} from './crd.ts';
export {
  MAX_MANIFEST_FILE_BYTES,
  decodeManifestFile,
  lineOf,
  loadManifestFile,
  parseManifests,
  readManifestFile,
  type ManifestDocument,
  type ManifestError,
  type ParsedManifests,
} from './manifests.ts';
