// The Rollout controller: informers feed a work queue; each reconcile
// observes the Rollout and its children from the caches, asks the engine for
// a plan, applies its effects, and writes the status once, last.
import { isDeepStrictEqual } from 'node:util';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type KubeConfig,
  type KubernetesListObject,
  type V1Pod,
  type V1ReplicaSet,
  type V1Service,
} from '@kubernetes/client-node';
import type { AnalysisRun, AnalysisTemplateSpec } from '../api/analysis.ts';
import { API_VERSION, GROUP, VERSION } from '../api/common.ts';
import type { Rollout } from '../api/rollout.ts';
import { validateRollout } from '../api/validate.ts';
import { describeKubeError, kubeErrorCode } from '../cluster/errors.ts';
import { EventRecorder } from '../cluster/events.ts';
import { ResilientInformer } from '../cluster/informer.ts';
import { planRollout, referencedTemplates, templateKey } from '../engine/index.ts';
import { POD_TEMPLATE_HASH_LABEL, REVISION_ANNOTATION, SCALE_DOWN_DEADLINE_ANNOTATION, type Observed, type ObservedReplicaSet } from '../engine/types.ts';
import type { Logger } from '../util/log.ts';
import { EffectApplier } from './effects.ts';
import { INVALID_SPEC, invalidSpecStatus, withoutInvalidSpec } from './invalid-spec.ts';
import type { ControllerMetrics } from './metrics.ts';
import { WorkQueue, runWorkers } from './queue.ts';
import { observeRoute, rolloutRoutes, type HttpRoute } from './routes.ts';

/** A Rollout as stored: the schema's type with room for what the API server adds. */
type RolloutObject = Rollout & { metadata: Rollout['metadata'] & { uid?: string; generation?: number } };
type Owned = { metadata: { name?: string; namespace?: string; uid?: string; creationTimestamp?: Date; ownerReferences?: { controller?: boolean; kind: string; apiVersion: string; name: string; uid: string }[] } };
type RunObject = AnalysisRun & Owned;
type TemplateObject = { metadata: { name?: string; namespace?: string }; spec: AnalysisTemplateSpec };

export interface RolloutControllerOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  metrics: ControllerMetrics;
  /** Watch one namespace; all when undefined. */
  namespace?: string;
  workers?: number;
  /** Re-list interval of the informers (staleness guard). */
  resyncMs?: number;
  now?: () => Date;
}

const ROLLOUTS = { group: GROUP, version: VERSION, plural: 'rollouts' } as const;
const RUNS = { group: GROUP, version: VERSION, plural: 'analysisruns' } as const;
const TEMPLATES = { group: GROUP, version: VERSION, plural: 'analysistemplates' } as const;
const CLUSTER_TEMPLATES = { group: GROUP, version: VERSION, plural: 'clusteranalysistemplates' } as const;

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
  readonly #queue = new WorkQueue({ baseDelayMs: 100, maxDelayMs: 60_000 });
  readonly #custom: CustomObjectsApi;
  readonly #effects: EffectApplier;
  readonly rollouts: ResilientInformer<RolloutObject>;
  readonly replicaSets: ResilientInformer<V1ReplicaSet>;
  readonly services: ResilientInformer<V1Service>;
  readonly pods: ResilientInformer<V1Pod>;
  readonly routes: ResilientInformer<HttpRoute & { metadata: { name?: string; namespace?: string } }>;
  readonly analysisRuns: ResilientInformer<RunObject>;
  readonly templates: ResilientInformer<TemplateObject>;
  /** Cluster-scoped templates; not watched in namespaced mode (no cluster-wide read there). */
  readonly clusterTemplates: ResilientInformer<TemplateObject> | undefined;
  #workers: Promise<void>[] = [];
  #running = false;
  /** Per Rollout, the resourceVersion our last status write replaced: while the cache still shows it, the cache is behind us. */
  readonly #replaced = new Map<string, string>();

  constructor(opts: RolloutControllerOptions) {
    this.#opts = opts;
    this.#log = opts.logger.child({ controller: 'rollout' });
    const kc = opts.kubeConfig;
    const apps = kc.makeApiClient(AppsV1Api);
    const core = kc.makeApiClient(CoreV1Api);
    this.#custom = kc.makeApiClient(CustomObjectsApi);
    this.#effects = new EffectApplier(kc, new EventRecorder(kc, this.#log));
    const ns = opts.namespace;
    const nsPath = (group: string): string => (ns ? `${group}/namespaces/${ns}` : group);
    const common = { kubeConfig: kc, logger: this.#log, ...(opts.resyncMs === undefined ? {} : { resyncMs: opts.resyncMs }) };

    this.rollouts = new ResilientInformer<RolloutObject>({
      ...common,
      name: 'rollouts',
      path: `${nsPath(`/apis/${GROUP}/${VERSION}`)}/rollouts`,
      list: async () =>
        (ns
          ? await this.#custom.listNamespacedCustomObject({ ...ROLLOUTS, namespace: ns })
          : await this.#custom.listClusterCustomObject(ROLLOUTS)) as KubernetesListObject<RolloutObject>,
    });
    this.replicaSets = new ResilientInformer<V1ReplicaSet>({
      ...common,
      name: 'replicasets',
      path: `${nsPath('/apis/apps/v1')}/replicasets`,
      labelSelector: POD_TEMPLATE_HASH_LABEL,
      list: () =>
        ns
          ? apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: POD_TEMPLATE_HASH_LABEL })
          : apps.listReplicaSetForAllNamespaces({ labelSelector: POD_TEMPLATE_HASH_LABEL }),
    });
    this.pods = new ResilientInformer<V1Pod>({
      ...common,
      name: 'pods',
      path: `${nsPath('/api/v1')}/pods`,
      labelSelector: POD_TEMPLATE_HASH_LABEL,
      list: () =>
        ns
          ? core.listNamespacedPod({ namespace: ns, labelSelector: POD_TEMPLATE_HASH_LABEL })
          : core.listPodForAllNamespaces({ labelSelector: POD_TEMPLATE_HASH_LABEL }),
    });
    this.services = new ResilientInformer<V1Service>({
      ...common,
      name: 'services',
      path: `${nsPath('/api/v1')}/services`,
      list: () => (ns ? core.listNamespacedService({ namespace: ns }) : core.listServiceForAllNamespaces()),
    });
    const routeRef = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' };
    this.routes = new ResilientInformer({
      ...common,
      name: 'httproutes',
      path: `${nsPath('/apis/gateway.networking.k8s.io/v1')}/httproutes`,
      list: async () =>
        (ns
          ? await this.#custom.listNamespacedCustomObject({ ...routeRef, namespace: ns })
          : await this.#custom.listClusterCustomObject(routeRef)) as KubernetesListObject<HttpRoute & { metadata: { name?: string } }>,
    });

    this.analysisRuns = new ResilientInformer<RunObject>({
      ...common,
      name: 'analysisruns',
      path: `${nsPath(`/apis/${GROUP}/${VERSION}`)}/analysisruns`,
      list: async () =>
        (ns ? await this.#custom.listNamespacedCustomObject({ ...RUNS, namespace: ns }) : await this.#custom.listClusterCustomObject(RUNS)) as KubernetesListObject<RunObject>,
    });
    this.templates = new ResilientInformer<TemplateObject>({
      ...common,
      name: 'analysistemplates',
      path: `${nsPath(`/apis/${GROUP}/${VERSION}`)}/analysistemplates`,
      list: async () =>
        (ns
          ? await this.#custom.listNamespacedCustomObject({ ...TEMPLATES, namespace: ns })
          : await this.#custom.listClusterCustomObject(TEMPLATES)) as KubernetesListObject<TemplateObject>,
    });
    this.clusterTemplates = ns
      ? undefined
      : new ResilientInformer<TemplateObject>({
          ...common,
          name: 'clusteranalysistemplates',
          path: `/apis/${GROUP}/${VERSION}/clusteranalysistemplates`,
          list: async () => (await this.#custom.listClusterCustomObject(CLUSTER_TEMPLATES)) as KubernetesListObject<TemplateObject>,
        });

    const enqueueRollout = (r: RolloutObject): void => {
      this.#queue.add(keyOf(r.metadata.namespace, r.metadata.name));
    };
    this.rollouts.on('add', enqueueRollout);
    this.rollouts.on('update', enqueueRollout);
    this.rollouts.on('delete', (r) => {
      this.#replaced.delete(keyOf(r.metadata.namespace, r.metadata.name));
      opts.metrics.forgetRollout(r.metadata.namespace ?? 'default', r.metadata.name ?? '');
    });
    const enqueueOwner = (rs: V1ReplicaSet): void => {
      const owner = rs.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'Rollout' && o.apiVersion === API_VERSION);
      if (owner) this.#queue.add(keyOf(rs.metadata?.namespace, owner.name));
    };
    for (const event of ['add', 'update', 'delete'] as const) this.replicaSets.on(event, enqueueOwner);
    // Pods matter only for restarts; a pod's ReplicaSet names the Rollout.
    const enqueueRestarting = (pod: V1Pod): void => {
      const rsName = pod.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === 'ReplicaSet')?.name;
      const rs = rsName ? this.replicaSets.get(rsName, pod.metadata?.namespace) : undefined;
      if (rs) enqueueOwner(rs);
    };
    for (const event of ['update', 'delete'] as const) this.pods.on(event, enqueueRestarting);
    const enqueueUsersOfService = (svc: V1Service): void => {
      for (const r of this.rollouts.list(svc.metadata?.namespace)) {
        if (svc.metadata?.name !== undefined && strategyServices(r).includes(svc.metadata.name)) enqueueRollout(r);
      }
    };
    for (const event of ['add', 'update', 'delete'] as const) this.services.on(event, enqueueUsersOfService);
    const enqueueUsersOfRoute = (route: HttpRoute): void => {
      for (const r of this.rollouts.list()) {
        if (rolloutRoutes(r).some((ref) => ref.name === route.metadata.name && ref.namespace === route.metadata.namespace)) enqueueRollout(r);
      }
    };
    for (const event of ['add', 'update', 'delete'] as const) this.routes.on(event, enqueueUsersOfRoute);
    const enqueueRunOwner = (run: RunObject): void => {
      const owner = run.metadata.ownerReferences?.find((o) => o.controller === true && o.kind === 'Rollout' && o.apiVersion === API_VERSION);
      if (owner) this.#queue.add(keyOf(run.metadata.namespace, owner.name));
    };
    for (const event of ['add', 'update', 'delete'] as const) this.analysisRuns.on(event, enqueueRunOwner);
    const enqueueUsersOfTemplate = (clusterScope: boolean) => (t: TemplateObject): void => {
      const key = templateKey({ templateName: t.metadata.name ?? '', clusterScope });
      for (const r of this.rollouts.list(clusterScope ? undefined : t.metadata.namespace)) {
        if (referencedTemplates(r).some((ref) => templateKey(ref) === key)) enqueueRollout(r);
      }
    };
    for (const event of ['add', 'update', 'delete'] as const) {
      this.templates.on(event, enqueueUsersOfTemplate(false));
      this.clusterTemplates?.on(event, enqueueUsersOfTemplate(true));
    }
  }

  get ready(): boolean {
    return (
      this.#running &&
      this.rollouts.synced &&
      this.replicaSets.synced &&
      this.services.synced &&
      this.pods.synced &&
      this.analysisRuns.synced &&
      this.templates.synced &&
      (this.clusterTemplates?.synced ?? true)
    );
  }

  async start(): Promise<void> {
    // Children first, so the first reconcile of each Rollout sees them.
    await Promise.all([this.replicaSets.start(), this.services.start(), this.pods.start(), this.analysisRuns.start(), this.templates.start(), this.clusterTemplates?.start()]);
    // HTTPRoutes are optional (the CRD may not be installed): do not wait for them.
    void this.routes.start();
    await this.rollouts.start();
    this.#running = true;
    const workers = this.#opts.workers ?? 4;
    this.#workers = runWorkers(this.#queue, workers, (key) => this.#timedReconcile(key), (key, err, retryInMs) => {
      const conflict = kubeErrorCode(err) === 409;
      (conflict ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log))({ rollout: key, err: describeKubeError(err), retryInMs }, conflict ? 'conflict; retrying' : 'reconcile failed; retrying');
    });
    this.#log.info({ namespace: this.#opts.namespace ?? '(all)', workers }, 'rollout controller started');
  }

  async stop(): Promise<void> {
    this.#running = false;
    this.#queue.shutDown();
    await Promise.all(this.#workers);
    await Promise.all([
      this.rollouts.stop(),
      this.replicaSets.stop(),
      this.services.stop(),
      this.pods.stop(),
      this.routes.stop(),
      this.analysisRuns.stop(),
      this.templates.stop(),
      this.clusterTemplates?.stop(),
    ]);
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
    const canary = rollout.spec.strategy.canary;
    const services: Observed['services'] = {};
    for (const svcName of strategyServices(rollout)) {
      const svc = this.services.get(svcName, namespace);
      services[svcName] = svc ? { name: svcName, selector: svc.spec?.selector ?? {} } : undefined;
    }
    const routes: Observed['routes'] = {};
    for (const ref of rolloutRoutes(rollout)) {
      const route = this.routes.get(ref.name, ref.namespace);
      routes[ref.name] = route && canary?.stableService && canary.canaryService ? observeRoute(route, canary.stableService, canary.canaryService) : undefined;
    }
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
    return { replicaSets, services, routes, pods, analysisRuns, analysisTemplates };
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
