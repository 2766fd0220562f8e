// The engine's contract with the shell. The engine is pure: given a Rollout
// (spec + status), what the controller observed of its children, and `now`,
// it returns the next status, the effects to apply, and when to look again.
// It does no I/O, reads no clock and draws no random numbers.
import type { AnalysisPhase, AnalysisRunSpec, AnalysisTemplateSpec } from '../api/analysis.ts';
import type { Rollout, RolloutStatus } from '../api/rollout.ts';
import type { ObservedTraffic, TrafficIntent } from '../traffic/types.ts';

/** Label every ReplicaSet and pod of a Rollout carries (Argo Rollouts' name). */
export const POD_TEMPLATE_HASH_LABEL = 'rollouts-pod-template-hash';
/** ReplicaSet annotation: the revision number of its template (Argo's name). */
export const REVISION_ANNOTATION = 'rollout.argoproj.io/revision';
/** ReplicaSet annotation: when an old ReplicaSet is to be scaled down (RFC 3339; Argo's name). */
export const SCALE_DOWN_DEADLINE_ANNOTATION = 'scale-down-deadline';
/** Rollout annotation set by Git sync: the commit that last changed the Rollout (Weir). */
export const GIT_REVISION_ANNOTATION = 'weir.dev/git-revision';

/** A ReplicaSet owned by the Rollout, as the controller sees it in its cache. */
export interface ObservedReplicaSet {
  name: string;
  podTemplateHash: string;
  /** spec.replicas */
  replicas: number;
  /** status.replicas, readyReplicas, availableReplicas */
  currentReplicas: number;
  readyReplicas: number;
  availableReplicas: number;
  /** REVISION_ANNOTATION as a number (0 when absent). */
  revision: number;
  /** SCALE_DOWN_DEADLINE_ANNOTATION when set. */
  scaleDownDeadline?: string;
  creationTimestamp: string;
  /** Whether the ReplicaSet is being deleted. */
  deleting: boolean;
  /** Labels and annotations of its pod template (for the strategy's ephemeral pod metadata). */
  podLabels?: Record<string, string>;
  podAnnotations?: Record<string, string>;
}

/** A Service the strategy names (canaryService, stableService, ...). */
export interface ObservedService {
  name: string;
  /** spec.selector */
  selector: Record<string, string>;
}

/** A pod of one of the Rollout's ReplicaSets (for restarts). */
export interface ObservedPod {
  name: string;
  podTemplateHash: string;
  creationTimestamp: string;
  ready: boolean;
  /** Being deleted (deletionTimestamp set). */
  deleting: boolean;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
}

/** Why an AnalysisRun exists (Argo's `rollout-type` label values). */
export type AnalysisRunType = 'Step' | 'Background' | 'PrePromotion' | 'PostPromotion';

/** An AnalysisRun the Rollout owns, as the controller sees it in its cache. */
export interface ObservedAnalysisRun {
  name: string;
  /** status.phase; undefined before the AnalysisRun controller first wrote status. */
  phase?: AnalysisPhase | undefined;
  /** status.message */
  message?: string | undefined;
  /** spec.terminate */
  terminate: boolean;
  creationTimestamp: string;
}

export interface Observed {
  replicaSets: ObservedReplicaSet[];
  /** The pods of those ReplicaSets; only needed for spec.restartAt (absent: no restart decisions). */
  pods?: ObservedPod[];
  /** Services named by the strategy; undefined when named but not found. */
  services: Record<string, ObservedService | undefined>;
  /** What each configured traffic router's objects hold (empty without trafficRouting). */
  traffic: ObservedTraffic[];
  /** The AnalysisRuns the Rollout owns (absent: none). */
  analysisRuns?: ObservedAnalysisRun[];
  /**
   * The analysis templates the Rollout references, by templateKey()
   * ("AnalysisTemplate/name", "ClusterAnalysisTemplate/name"); a key that is
   * absent or undefined is a template that does not exist.
   */
  analysisTemplates?: Record<string, AnalysisTemplateSpec | undefined>;
}

/** An AnalysisRun to create: the controller adds the namespace and the owner reference. */
export interface AnalysisRunManifest {
  apiVersion: string;
  kind: 'AnalysisRun';
  metadata: { name: string; labels: Record<string, string>; annotations: Record<string, string> };
  spec: AnalysisRunSpec;
}

/** The pod template to create ReplicaSets from, with labels the engine adds. */
export type PodTemplate = Record<string, unknown>;

export type Effect =
  | {
      type: 'createReplicaSet';
      name: string;
      podTemplateHash: string;
      replicas: number;
      revision: number;
      /** The pod template, with POD_TEMPLATE_HASH_LABEL and any canary/stable metadata applied. */
      template: PodTemplate;
      /** The selector: the Rollout's, plus POD_TEMPLATE_HASH_LABEL. */
      selector: Record<string, unknown>;
      minReadySeconds: number;
    }
  | {
      type: 'scaleReplicaSet';
      name: string;
      replicas: number;
      /** Annotations to set (string) or remove (null). */
      annotations?: Record<string, string | null>;
      /** Pod labels/annotations to set on the ReplicaSet's template (canary/stable metadata). */
      podMetadata?: { labels?: Record<string, string | null>; annotations?: Record<string, string | null> };
    }
  | { type: 'deleteReplicaSet'; name: string }
  /** Set (string) or remove (null) labels and annotations of a running pod (ephemeral metadata of its role). */
  | { type: 'patchPodMetadata'; name: string; labels?: Record<string, string | null>; annotations?: Record<string, string | null> }
  /** Evict a pod through the Eviction API, which honours PodDisruptionBudgets (restarts). */
  | { type: 'evictPod'; name: string }
  /** Point a Service's selector at one pod-template hash (selector gets POD_TEMPLATE_HASH_LABEL). */
  | { type: 'setServiceSelector'; service: string; podTemplateHash: string }
  /** Make every traffic router hold the intent: the canary's weight and the managed routes (routers by subset also need the two pod-template hashes). */
  | { type: 'setTraffic'; intent: TrafficIntent; stableHash: string | undefined; canaryHash: string }
  /** Create an AnalysisRun (adopting one of the same name the Rollout already owns). */
  | { type: 'createAnalysisRun'; run: AnalysisRunManifest }
  /** Stop an AnalysisRun (spec.terminate): it is no longer needed. */
  | { type: 'terminateAnalysisRun'; name: string }
  /** Delete a finished AnalysisRun beyond the history limits. */
  | { type: 'deleteAnalysisRun'; name: string }
  | { type: 'event'; eventType: 'Normal' | 'Warning'; reason: string; message: string };

export interface Plan {
  /** The complete next status (written once, after the effects). */
  status: RolloutStatus;
  effects: Effect[];
  /** When to reconcile again even if nothing changes (a timed pause, a scale-down deadline, the progress deadline). */
  requeueAt?: string;
}

export type { Rollout, RolloutStatus };
