// Sync: from a commit's files to the cluster, all or nothing (DESIGN
// principle 5). parseDocuments → prepareDocuments → validateDocuments; only
// with no problems: applyDocuments, then pruneObjects(toPrune(...)).
// detectDrift/correctDrift keep the cluster on what Git says between commits;
// yieldControlledFields leaves to the Rollout controller and HPAs what they own.
export { CRD_API_GROUP, crdDefines, isCrd, isNamespace, kindsDefinedBy, prepareDocuments, type PrepareOptions, type PreparedDocuments, type ScopeLookup } from './prepare.ts';
export {
  CompactLines,
  DEFAULT_YAML_LIMITS,
  countAliases,
  measureExpansion,
  parseDocuments,
  refusedDocuments,
  type Expansion,
  type ManifestFile,
  type ParsedDocuments,
  type YamlLimits,
} from './documents.ts';
export {
  FIELD_MANAGER,
  clusterTemplateLookup,
  duplicateProblems,
  parseApplyPath,
  serverDryRun,
  validateDocuments,
  type DryRun,
  type TemplateKind,
  type TemplateLookup,
  type ValidateOptions,
} from './validate.ts';
export {
  ApplyError,
  GIT_REVISION_ANNOTATION,
  MANAGED_BY,
  MANAGED_BY_LABEL,
  SOURCE_LABEL,
  applyDocuments,
  decorate,
  decorateDocuments,
  orderForApply,
  sourceLabelValue,
  type Applier,
  type ApplyDocumentsOptions,
  type DecorateOptions,
} from './apply.ts';
export { pruneObjects, toPrune, type PruneClient, type PruneResult } from './prune.ts';
export {
  correctDrift,
  describeDifference,
  detectDrift,
  liveReader,
  onceEach,
  ownershipTarget,
  projectOnto,
  subsetDiff,
  takeOwnership,
  type CorrectDriftOptions,
  type DetectDriftOptions,
  type Difference,
  type DriftCorrectionClient,
  type DriftedObject,
  type LiveGetter,
  type ManagedFieldsEntry,
  type OwnershipTarget,
} from './drift.ts';
export { SyncClient, sharedConnections } from './client.ts';
export { controlledFields, hasControlledFields, scaleTargetOf, withLiveControlledFields, yieldControlledFields, type ControlledFields, type LiveLookup } from './controlled-fields.ts';
export { formatProblem, formatRef, groupOf, refKey, refOf, type ObjectRef, type SourceRef, type SyncDocument, type SyncObject, type SyncProblem } from './types.ts';
