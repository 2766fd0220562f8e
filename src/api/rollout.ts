// The Rollout kind: Argo Rollouts' v1alpha1 field names and semantics, plus
// Weir's Git fields in status.
import Type, { type Static } from 'typebox';
import { AnalysisTemplateRef, AnalysisRunArgument, Condition, Duration, IntOrString, LabelSelector, ObjectMeta, Opaque, PodMetadata, RolloutAnalysis, StringMap } from './common.ts';

/** Argo's StringMatch: exactly one of exact, prefix, regex (validation). */
export const StringMatch = Type.Object({
  exact: Type.Optional(Type.String()),
  prefix: Type.Optional(Type.String()),
  regex: Type.Optional(Type.String()),
});

export const SetHeaderRoute = Type.Object({
  name: Type.String({ description: 'A route listed in trafficRouting.managedRoutes.' }),
  match: Type.Optional(
    Type.Array(Type.Object({ headerName: Type.String(), headerValue: StringMatch }), {
      description: 'All must match (AND); requests that match go to the canary. Without a match the route is removed.',
    }),
  ),
});

export const SetMirrorRoute = Type.Object({
  name: Type.String({ description: 'A route listed in trafficRouting.managedRoutes.' }),
  match: Type.Optional(
    Type.Array(
      Type.Object({
        method: Type.Optional(StringMatch),
        path: Type.Optional(StringMatch),
        headers: Type.Optional(Type.Record(Type.String(), StringMatch)),
      }),
      { description: 'Any may match (OR); matched requests are copied to the canary. Without a match the route is removed.' },
    ),
  ),
  percentage: Type.Optional(Type.Integer({ description: 'Share of the matched requests copied, 0-100 (default 100).' })),
});

export const CanaryStep = Type.Object({
  setWeight: Type.Optional(Type.Integer({ description: 'Percentage of traffic to send to the canary (0-100).' })),
  pause: Type.Optional(
    Type.Object({
      duration: Type.Optional(Duration),
    }),
  ),
  setCanaryScale: Type.Optional(
    Type.Object({
      weight: Type.Optional(Type.Integer()),
      replicas: Type.Optional(Type.Integer()),
      matchTrafficWeight: Type.Optional(Type.Boolean()),
    }),
  ),
  analysis: Type.Optional(RolloutAnalysis),
  experiment: Type.Optional(Opaque('Argo Rollouts experiment step (not supported by Weir)')),
  setHeaderRoute: Type.Optional(SetHeaderRoute),
  setMirrorRoute: Type.Optional(SetMirrorRoute),
  plugin: Type.Optional(Opaque('Argo Rollouts step plugin (not supported by Weir)')),
});
export type CanaryStep = Static<typeof CanaryStep>;

export const TrafficRouting = Type.Object(
  {
    plugins: Type.Optional(Type.Record(Type.String(), Opaque('router plugin configuration'))),
    managedRoutes: Type.Optional(Type.Array(Type.Object({ name: Type.String() }))),
    maxTrafficWeight: Type.Optional(Type.Integer({ description: 'Argo Rollouts: the total weight setWeight is relative to (not supported by Weir)' })),
  },
  { additionalProperties: true, 'x-kubernetes-preserve-unknown-fields': true },
);

/** Argo Rollouts' anti-affinity injection between old and new pods (not supported by Weir). */
export const AntiAffinity = Type.Object(
  {
    preferredDuringSchedulingIgnoredDuringExecution: Type.Optional(Type.Object({ weight: Type.Integer() })),
    requiredDuringSchedulingIgnoredDuringExecution: Type.Optional(Type.Object({})),
  },
  { description: 'Argo Rollouts anti-affinity injection (not supported by Weir)' },
);

export const CanaryStrategy = Type.Object({
  canaryService: Type.Optional(Type.String()),
  stableService: Type.Optional(Type.String()),
  steps: Type.Optional(Type.Array(CanaryStep)),
  maxSurge: Type.Optional(IntOrString),
  maxUnavailable: Type.Optional(IntOrString),
  scaleDownDelaySeconds: Type.Optional(Type.Integer()),
  scaleDownDelayRevisionLimit: Type.Optional(Type.Integer()),
  abortScaleDownDelaySeconds: Type.Optional(Type.Integer()),
  minPodsPerReplicaSet: Type.Optional(Type.Integer()),
  dynamicStableScale: Type.Optional(Type.Boolean()),
  trafficRouting: Type.Optional(TrafficRouting),
  analysis: Type.Optional(
    Type.Object({
      templates: Type.Optional(Type.Array(AnalysisTemplateRef)),
      args: Type.Optional(Type.Array(AnalysisRunArgument)),
      startingStep: Type.Optional(Type.Integer()),
      dryRun: Type.Optional(Type.Array(Type.Object({ metricName: Type.String() }))),
      measurementRetention: Type.Optional(Type.Array(Type.Object({ metricName: Type.String(), limit: Type.Integer({ minimum: 0 }) }))),
      analysisRunMetadata: Type.Optional(PodMetadata),
    }),
  ),
  canaryMetadata: Type.Optional(PodMetadata),
  stableMetadata: Type.Optional(PodMetadata),
  antiAffinity: Type.Optional(AntiAffinity),
  pingPong: Type.Optional(
    Type.Object({ pingService: Type.String(), pongService: Type.String() }, { description: 'Argo Rollouts ALB ping-pong services (not supported by Weir)' }),
  ),
});
export type CanaryStrategy = Static<typeof CanaryStrategy>;

export const BlueGreenStrategy = Type.Object({
  activeService: Type.String(),
  previewService: Type.Optional(Type.String()),
  previewReplicaCount: Type.Optional(Type.Integer()),
  autoPromotionEnabled: Type.Optional(Type.Boolean()),
  autoPromotionSeconds: Type.Optional(Type.Integer()),
  scaleDownDelaySeconds: Type.Optional(Type.Integer()),
  scaleDownDelayRevisionLimit: Type.Optional(Type.Integer()),
  abortScaleDownDelaySeconds: Type.Optional(Type.Integer()),
  prePromotionAnalysis: Type.Optional(RolloutAnalysis),
  postPromotionAnalysis: Type.Optional(RolloutAnalysis),
  activeMetadata: Type.Optional(PodMetadata),
  previewMetadata: Type.Optional(PodMetadata),
  maxUnavailable: Type.Optional(IntOrString),
  antiAffinity: Type.Optional(AntiAffinity),
});
export type BlueGreenStrategy = Static<typeof BlueGreenStrategy>;

export const RolloutSpec = Type.Object({
  replicas: Type.Optional(Type.Integer()),
  selector: Type.Optional(LabelSelector),
  template: Type.Optional(Opaque('the pod template (core/v1 PodTemplateSpec)')),
  workloadRef: Type.Optional(Opaque('reference to a Deployment whose template to use (not supported by Weir)')),
  minReadySeconds: Type.Optional(Type.Integer()),
  revisionHistoryLimit: Type.Optional(Type.Integer()),
  paused: Type.Optional(Type.Boolean()),
  progressDeadlineSeconds: Type.Optional(Type.Integer()),
  progressDeadlineAbort: Type.Optional(Type.Boolean()),
  restartAt: Type.Optional(Type.String({ format: 'date-time' })),
  analysis: Type.Optional(
    Type.Object(
      {
        successfulRunHistoryLimit: Type.Optional(Type.Integer()),
        unsuccessfulRunHistoryLimit: Type.Optional(Type.Integer()),
      },
      { description: 'how many finished analysis runs to keep (Argo Rollouts)' },
    ),
  ),
  rollbackWindow: Type.Optional(
    Type.Object({ revisions: Type.Optional(Type.Integer()) }, { description: 'Argo Rollouts fast-tracked rollback window (not supported by Weir)' }),
  ),
  strategy: Type.Object({
    canary: Type.Optional(CanaryStrategy),
    blueGreen: Type.Optional(BlueGreenStrategy),
  }),
});
export type RolloutSpec = Static<typeof RolloutSpec>;

export const PauseCondition = Type.Object({
  reason: Type.String({ description: 'CanaryPauseStep, BlueGreenPause, AnalysisRunInconclusive or Weir-specific reasons' }),
  startTime: Type.String({ format: 'date-time' }),
});
export type PauseCondition = Static<typeof PauseCondition>;

const WeightDestination = Type.Object({
  weight: Type.Integer(),
  podTemplateHash: Type.Optional(Type.String()),
  serviceName: Type.Optional(Type.String()),
});

export const RolloutStatus = Type.Object({
  phase: Type.Optional(Type.Union([Type.Literal('Healthy'), Type.Literal('Progressing'), Type.Literal('Paused'), Type.Literal('Degraded')])),
  message: Type.Optional(Type.String()),
  observedGeneration: Type.Optional(Type.String()),
  currentStepIndex: Type.Optional(Type.Integer()),
  currentStepHash: Type.Optional(Type.String()),
  currentPodHash: Type.Optional(Type.String()),
  stableRS: Type.Optional(Type.String()),
  pauseConditions: Type.Optional(Type.Array(PauseCondition)),
  controllerPause: Type.Optional(Type.Boolean()),
  abort: Type.Optional(Type.Boolean()),
  abortedAt: Type.Optional(Type.String({ format: 'date-time' })),
  promoteFull: Type.Optional(Type.Boolean()),
  restartedAt: Type.Optional(Type.String({ format: 'date-time' })),
  replicas: Type.Optional(Type.Integer()),
  updatedReplicas: Type.Optional(Type.Integer()),
  readyReplicas: Type.Optional(Type.Integer()),
  availableReplicas: Type.Optional(Type.Integer()),
  HPAReplicas: Type.Optional(Type.Integer()),
  selector: Type.Optional(Type.String()),
  collisionCount: Type.Optional(Type.Integer()),
  conditions: Type.Optional(Type.Array(Condition)),
  canary: Type.Optional(
    Type.Object({
      weights: Type.Optional(Type.Object({ canary: WeightDestination, stable: WeightDestination })),
      currentStepAnalysisRunStatus: Type.Optional(Opaque('the step analysis run: name, status, message')),
      currentBackgroundAnalysisRunStatus: Type.Optional(Opaque('the background analysis run: name, status, message')),
    }),
  ),
  blueGreen: Type.Optional(
    Type.Object({
      activeSelector: Type.Optional(Type.String()),
      previewSelector: Type.Optional(Type.String()),
      scaleUpPreviewCheckPoint: Type.Optional(Type.Boolean({ description: 'promotion approved: the preview scales to full size, then the active Service switches' })),
      prePromotionAnalysisRunStatus: Type.Optional(Opaque('the pre-promotion analysis run: name, status, message')),
      postPromotionAnalysisRunStatus: Type.Optional(Opaque('the post-promotion analysis run: name, status, message')),
    }),
  ),
  /** Weir: the Git commits behind the current and the last good template. */
  git: Type.Optional(
    Type.Object({
      currentRevision: Type.Optional(Type.String({ description: 'commit that introduced the template being rolled out' })),
      stableRevision: Type.Optional(Type.String({ description: 'commit of the last template that finished healthy (last good revision)' })),
      rejectedRevisions: Type.Optional(Type.Array(Type.Object({ revision: Type.String(), reason: Type.String(), at: Type.String({ format: 'date-time' }) }))),
    }),
  ),
});
export type RolloutStatus = Static<typeof RolloutStatus>;

export const Rollout = Type.Object({
  apiVersion: Type.String(),
  kind: Type.Literal('Rollout'),
  metadata: ObjectMeta,
  spec: RolloutSpec,
  status: Type.Optional(RolloutStatus),
});
export type Rollout = Static<typeof Rollout>;

export { StringMap };
