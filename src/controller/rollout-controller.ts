// The Rollout controller, declared on the controller kit: events of Rollouts
// and their children (from the process's shared informers) queue Rollouts;
// each reconcile observes the Rollout and its children from the caches, asks
// the engine for a plan, applies its effects, and writes the status once, last.
import { isDeepStrictEqual } from 'node:util';
import { CustomObjectsApi, type KubeConfig, type V1Pod, type V1ReplicaSet, type V1Service } from '@kubernetes/client-node';
import { API_VERSION, GROUP, VERSION } from '../api/common.ts';
import type { Rollout } from '../api/rollout.ts';
import { validateRollout } from '../api/validate.ts';
import { describeKubeError, kubeErrorCode } from '../cluster/errors.ts';
import { EventRecorder } from '../cluster/events.ts';
import type { ResilientInformer } from '../cluster/informer.ts';
import type { InformerCache } from '../cluster/informer-cache.ts';
import { planRollout, referencedTemplates, templateKey } from '../engine/index.ts';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, SCALE_DOWN_DEADLINE_ANNOTATION, type Observed, type ObservedReplicaSet } from '../engine/types.ts';
import type { Logger } from '../util/log.ts';
import { EffectApplier, FIELD_MANAGER } from './effects.ts';
import { INVALID_SPEC, invalidSpecStatus, withoutInvalidSpec } from './invalid-spec.ts';
import type { ControllerMetrics } from './metrics.ts';
import {
  ANALYSIS_RUNS,
  ANALYSIS_TEMPLATES,
  CLUSTER_ANALYSIS_TEMPLATES,
  Controller,
  TRAFFIC_KINDS,
  PODS,
  REPLICA_SETS,
  ROLLOUTS as ROLLOUT_KIND,
  SERVICES,
  controllerOwnerKey,
  objectKey,
  watches,
  type AnalysisRunObject,
  type AnalysisTemplateObject,
  type TrafficObjectOf,
  type Keys,
  type RolloutObject,
} from './kit/index.ts';
import { TrafficRouting } from './traffic.ts';

export interface RolloutControllerOptions {
  kubeConfig: KubeConfig;
  /** The process's informers (its namespace scope is the controller's). */
  informers: InformerCache;
  logger: Logger;
  metrics: ControllerMetrics;
  workers?: number;
  now?: () => Date;
}

const ROLLOUTS = { group: GROUP, version: VERSION, plural: 'rollouts' } as const;

/** The Services the strategy names: canary and stable, or active and preview. */
function strategyServices(r: Rollout): string[] {
  const { canary, blueGreen } = r.spec.strategy;
  const names = [canary?.canaryService, canary?.stableService, blueGreen?.activeService, blueGreen?.previewService];
  return names.filter((n): n is string => n !== undefined && n !== '');
}

function keyOf(namespace: string | undefined, name: string | undefined): string {
  return `${namespace ?? 'default'}/${name ?? ''}`;
}

export class RolloutController {
  readonly #opts: RolloutControllerOptions;
  readonly #log: Logger;
  readonly #controller: Controller;
  readonly #custom: CustomObjectsApi;
  readonly #effects: EffectApplier;
  readonly rollouts: ResilientInformer<RolloutObject>;
  readonly replicaSets: ResilientInformer<V1ReplicaSet>;
  readonly services: ResilientInformer<V1Service>;
  readonly pods: ResilientInformer<V1Pod>;
  readonly #traffic: TrafficRouting;
  readonly analysisRuns: ResilientInformer<AnalysisRunObject>;
  readonly templates: ResilientInformer<AnalysisTemplateObject>;
  /** Cluster-scoped templates; not watched in namespaced mode (no cluster-wide read there). */
  readonly clusterTemplates: ResilientInformer<AnalysisTemplateObject> | undefined;
  /** Per Rollout, the resourceVersion our last status write replaced: while the cache still shows it, the cache is behind us. */
  readonly #replaced = new Map<string, string>();

  constructor(opts: RolloutControllerOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ controller: 'rollout' });
    const kc = opts.kubeConfig;
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    const cache = opts.informers;
    const namespaced = cache.namespace !== undefined;
    this.rollouts = cache.informer(ROLLOUT_KIND);
    this.replicaSets = cache.informer(REPLICA_SETS);
    this.pods = cache.informer(PODS);
    this.services = cache.informer(SERVICES);
    this.#traffic = new TrafficRouting(kc, cache, FIELD_MANAGER);
    this.#effects = new EffectApplier(kc, new EventRecorder(kc, this.#log), this.#traffic);
    this.analysisRuns = cache.informer(ANALYSIS_RUNS);
    this.templates = cache.informer(ANALYSIS_TEMPLATES);
    this.clusterTemplates = namespaced ? undefined : cache.informer(CLUSTER_ANALYSIS_TEMPLATES);

    const ownerRollout = controllerOwnerKey('Rollout', API_VERSION);
    // Pods matter only for restarts; a pod's ReplicaSet names the Rollout.
    const restartingPodOwner = (pod: V1Pod): Keys => {
      const rsName = pod.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'ReplicaSet')?.name;
      const rs = rsName ? this.replicaSets.get(rsName, pod.metadata?.namespace) : undefined;
      return rs ? ownerRollout(rs) : undefined;
    };
    const usersOfService = (svc: V1Service): Keys =>
      this.rollouts
        .list(svc.metadata?.namespace)
        .filter((r) => svc.metadata?.name !== undefined && strategyServices(r).includes(svc.metadata.name))
        .map(objectKey);
    const usersOfTrafficObject = (obj: TrafficObjectOf): Keys =>
      this.rollouts
        .list()
        .filter((r) => TrafficRouting.concerns(r, obj))
        .map(objectKey);
    const usersOfTemplate = (clusterScope: boolean) => (t: AnalysisTemplateObject): Keys => {
      const key = templateKey({ templateName: t.metadata.name ?? '', clusterScope });
      return this.rollouts
        .list(clusterScope ? undefined : t.metadata.namespace)
        .filter((r) => referencedTemplates(r).some((ref) => templateKey(ref) === key))
        .map(objectKey);
    };
    this.#controller = new Controller(cache, {
      name: 'rollout',
      kind: ROLLOUT_KIND,
      watches: [
        watches(ROLLOUT_KIND, (r, event) => {
          if (event !== 'delete') return objectKey(r);
          this.#replaced.delete(objectKey(r));
          opts.metrics.forgetRollout(r.metadata.namespace ?? 'default', r.metadata.name ?? '');
          return undefined;
        }),
        watches(REPLICA_SETS, ownerRollout),
        watches(PODS, restartingPodOwner, { events: ['update', 'delete'] }),
        watches(SERVICES, usersOfService),
        // The routers' kinds are optional (their CRDs may not be installed): do not wait for them.
        ...TRAFFIC_KINDS.map(({ kind }) => watches(kind, usersOfTrafficObject, { optional: true })),
        watches(ANALYSIS_RUNS, ownerRollout),
        watches(ANALYSIS_TEMPLATES, usersOfTemplate(false)),
        ...(namespaced ? [] : [watches(CLUSTER_ANALYSIS_TEMPLATES, usersOfTemplate(true))]),
      ],
      backoff: { baseDelayMs: 100, maxDelayMs: 60_000 },
      workers: opts.workers ?? 4,
      reconcile: (key) => this.#timedReconcile(key),
      onFailure: (key, err, retryInMs) => {
        const conflict = kubeErrorCode(err) === 409;
        (conflict ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log))({ rollout: key, err: describeKubeError(err), retryInMs }, conflict ? 'conflict; retrying' : 'reconcile failed; retrying');
      },
      logger: this.#log,
    });
  }

  get ready(): boolean {
    return this.#controller.ready;
  }

  /** Its informers first (children and Rollouts alike, so the first reconcile of each Rollout sees its children), then its workers. */
  start(): Promise<void> {
    return this.#controller.start();
  }

  stop(): Promise<void> {
    return this.#controller.stop();
  }

  /** A reconcile, timed and counted in the metrics. */
  async #timedReconcile(key: string): Promise<number | undefined> {
    const started = process.hrtime.bigint();
    let result = 'error';
    try {
      const next = await this.reconcile(key);
      result = 'success';
      return next;
    } finally {
      if (result === 'error') this.#opts.metrics.reconcileErrors.inc({ kind: 'Rollout' });
      this.#opts.metrics.reconcileDuration.observe({ kind: 'Rollout', result }, Number(process.hrtime.bigint() - started) / 1e9);
    }
  }

  /** One reconcile of the Rollout `namespace/name`; returns when to look again. */
  async reconcile(key: string): Promise<number | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const stored = this.rollouts.get(name, namespace);
    // Being deleted: the garbage collector removes the children.
    if (!stored || 'deletionTimestamp' in stored.metadata) return undefined;
    const now = this.#opts.now?.() ?? new Date();
    // Planning from a cache that has not caught up with our own last status write would repeat its
    // decisions (a second AnalysisRun, a second Event). The watch event of that write enqueues it again.
    const replaced = this.#replaced.get(key);
    if (replaced !== undefined && replaced === stored.metadata.resourceVersion) return now.getTime() + 1000;
    this.#replaced.delete(key);

    const { rollout: valid, errors } = validateRollout(stored);
    if (!valid || errors.length > 0) {
      const status = invalidSpecStatus(stored.status, name, errors, now);
      const wasInvalid = stored.status?.conditions?.find((c) => c.type === INVALID_SPEC)?.message === status.conditions?.at(-1)?.message;
      if (!wasInvalid) {
        await this.#effects.apply(stored, { type: 'event', eventType: 'Warning', reason: INVALID_SPEC, message: status.message ?? '' });
      }
      await this.#writeStatus(stored, status);
      this.#opts.metrics.setRollout(namespace, name, status.phase, undefined);
      return undefined;
    }
    const status = withoutInvalidSpec(stored.status);
    const rollout: Rollout = { ...valid, metadata: stored.metadata, ...(status ? { status } : {}) };
    const plan = planRollout(rollout, this.observe(stored), now);
    for (const effect of plan.effects) {
      await this.#effects.apply(stored, effect);
    }
    await this.#writeStatus(stored, plan.status);
    this.#opts.metrics.setRollout(namespace, name, plan.status.phase, plan.status.canary?.weights?.canary.weight);
    return plan.requeueAt === undefined ? undefined : Date.parse(plan.requeueAt);
  }

  /** What the engine needs to know about the Rollout's children, from the caches. */
  observe(rollout: RolloutObject): Observed {
    const namespace = rollout.metadata.namespace ?? 'default';
    const replicaSets: ObservedReplicaSet[] = this.replicaSets
      .list(namespace)
      .filter((rs) => rs.metadata?.ownerReferences?.some((o) => o.controller === true && o.uid === rollout.metadata.uid))
      .map((rs) => ({
        name: rs.metadata?.name ?? '',
        podTemplateHash: rs.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL] ?? '',
        replicas: rs.spec?.replicas ?? 0,
        currentReplicas: rs.status?.replicas ?? 0,
        readyReplicas: rs.status?.readyReplicas ?? 0,
        availableReplicas: rs.status?.availableReplicas ?? 0,
        revision: Number(rs.metadata?.annotations?.[REVISION_ANNOTATION] ?? 0) || 0,
        ...(rs.metadata?.annotations?.[SCALE_DOWN_DEADLINE_ANNOTATION] ? { scaleDownDeadline: rs.metadata.annotations[SCALE_DOWN_DEADLINE_ANNOTATION] } : {}),
        creationTimestamp: rs.metadata?.creationTimestamp ? new Date(rs.metadata.creationTimestamp).toISOString() : '',
        deleting: rs.metadata?.deletionTimestamp !== undefined,
        podLabels: rs.spec?.template?.metadata?.labels ?? {},
        podAnnotations: rs.spec?.template?.metadata?.annotations ?? {},
      }));
    const services: Observed['services'] = {};
    for (const svcName of strategyServices(rollout)) {
      const svc = this.services.get(svcName, namespace);
      services[svcName] = svc ? { name: svcName, selector: svc.spec?.selector ?? {} } : undefined;
    }
    const traffic = this.#traffic.observe(rollout);
    const hashes = new Set(replicaSets.map((rs) => rs.podTemplateHash));
    const pods = this.pods
      .list(namespace)
      .filter((p) => hashes.has(p.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL] ?? ''))
      .map((p) => ({
        name: p.metadata?.name ?? '',
        podTemplateHash: p.metadata?.labels?.[POD_TEMPLATE_HASH_LABEL] ?? '',
        creationTimestamp: p.metadata?.creationTimestamp ? new Date(p.metadata.creationTimestamp).toISOString() : '',
        ready: p.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ?? false,
        deleting: p.metadata?.deletionTimestamp !== undefined,
        labels: p.metadata?.labels ?? {},
        annotations: p.metadata?.annotations ?? {},
      }));
    const analysisRuns = this.analysisRuns
      .list(namespace)
      .filter((run) => run.metadata.ownerReferences?.some((o) => o.controller === true && o.uid === rollout.metadata.uid))
      .map((run) => ({
        name: run.metadata.name ?? '',
        phase: run.status?.phase,
        message: run.status?.message,
        terminate: run.spec.terminate === true,
        creationTimestamp: run.metadata.creationTimestamp ? new Date(run.metadata.creationTimestamp).toISOString() : '',
      }));
    const analysisTemplates: NonNullable<Observed['analysisTemplates']> = {};
    for (const ref of referencedTemplates(rollout)) {
      const template = ref.clusterScope === true ? this.clusterTemplates?.get(ref.templateName) : this.templates.get(ref.templateName, namespace);
      analysisTemplates[templateKey(ref)] = template?.spec;
    }
    return { replicaSets, services, traffic, pods, analysisRuns, analysisTemplates };
  }

  /** The one status write of a reconcile, skipped when nothing changed; guarded by resourceVersion. */
  async #writeStatus(stored: RolloutObject, status: Rollout['status']): Promise<void> {
    if (isDeepStrictEqual(stored.status, status)) return;
    await this.#custom.replaceNamespacedCustomObjectStatus({
      ...ROLLOUTS,
      namespace: stored.metadata.namespace ?? 'default',
      name: stored.metadata.name ?? '',
      body: { ...stored, status },
    });
    const rv = stored.metadata.resourceVersion;
    if (rv !== undefined) this.#replaced.set(keyOf(stored.metadata.namespace, stored.metadata.name), rv);
  }
}
