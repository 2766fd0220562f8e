// The sandbox's data-plane stand-in: sends real HTTP requests to pod
// addresses, routed the way the routing objects' data plane would route them
// (weights, header matches, mirrors), so a canary's errors and latency reach
// Prometheus in proportion to its share of traffic.
//
// It watches Services, Pods, Gateway API HTTPRoutes, Ingresses, Istio
// VirtualServices and DestinationRules, SMI TrafficSplits and Traefik
// TraefikServices (all namespaces; each CRD may be missing, its informer keeps
// retrying). A Service annotated `sandbox.weir.dev/traffic-rate: "<rps>"` is a
// target; see routing.ts for which object decides its requests, endpoints.ts
// for where they go and split.ts for how a rule's backends share them.
//
// Request classes: a target annotated `sandbox.weir.dev/traffic-header:
// "<Name>: <value>"` sends the share `sandbox.weir.dev/traffic-header-share`
// (0..1, default 1) of its requests with that header, deterministically: the
// n-th request carries it when floor(n * share) grows (exactly `share` of
// every window, evenly spread). Each request goes through the first rule
// whose match matches it; the rule's own smooth weighted round-robin picks
// the responder. A rule's mirrors each receive a copy of `percent` of the
// rule's requests, chosen the same deterministic way; copies' responses are
// discarded and counted apart from the requests.
import http from 'node:http';
import {
  ApisApi,
  CoreV1Api,
  CustomObjectsApi,
  NetworkingV1Api,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Ingress,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { createLogger, type Logger } from '../../util/log.ts';
import {
  DEFAULT_MAX_RATE_PER_TARGET,
  isLoopbackIPv4,
  parseTrafficTarget,
  planRouting,
  type PlannedRule,
  type RejectedEndpoint,
  type TrafficHeader,
} from './endpoints.ts';
import type { GatewayHTTPRouteLike } from './gateway.ts';
import type { DestinationRuleLike, VirtualServiceLike } from './istio.ts';
import type { IngressLike } from './nginx.ts';
import type { RoutingObjects, TrafficVia } from './routing.ts';
import { describeMatch, selectRule, type RequestInfo, type RouterKind } from './rules.ts';
import type { TrafficSplitLike } from './smi.ts';
import { createRequestRouter, targetRequest, type RequestRouter } from './request-router.ts';
import type { Backend } from './split.ts';
import type { TraefikServiceLike } from './traefik.ts';

export const HTTPROUTE_GROUP = 'gateway.networking.k8s.io';
export const HTTPROUTE_VERSION = 'v1';
export const HTTPROUTE_PLURAL = 'httproutes';

/** The CRD kinds watched besides HTTPRoutes; each is served at whatever version the API server prefers. */
export const ROUTING_CRDS = {
  virtualservices: { kind: 'VirtualService', group: 'networking.istio.io', plural: 'virtualservices' },
  destinationrules: { kind: 'DestinationRule', group: 'networking.istio.io', plural: 'destinationrules' },
  trafficsplits: { kind: 'TrafficSplit', group: 'split.smi-spec.io', plural: 'trafficsplits' },
  traefikservices: { kind: 'TraefikService', group: 'traefik.io', plural: 'traefikservices' },
} as const;

export const DEFAULT_MAX_IN_FLIGHT_PER_TARGET = 32;
export const REQUEST_TIMEOUT_MS = 2000;

/** Backoff for restarting a failed informer: doubles from BASE to MAX. */
const INFORMER_BACKOFF_BASE_MS = 500;
const INFORMER_BACKOFF_MAX_MS = 10_000;
/** An informer that ran this long before failing restarts from the base backoff. */
const INFORMER_HEALTHY_RUN_MS = 30_000;
/** At most this many requests are sent at once to catch up after a late timer. */
const MAX_CATCH_UP = 10;

export interface TrafficGeneratorOptions {
  kubeConfig: KubeConfig;
  logger?: Logger;
  /** Upper bound on any target's rate, in requests per second (default 200). */
  maxRatePerTarget?: number;
  /** Requests in flight per target above which ticks are skipped (default 32); mirrored copies have their own limit of the same size. */
  maxInFlightPerTarget?: number;
  /** Only Services of these namespaces are targets (default: every namespace). */
  namespaces?: readonly string[];
}

/** What happened to one class of a target's requests (with or without the header). */
export interface RequestClassStats {
  /** Requests sent. */
  sent: number;
  /** Requests finished, with a response or an error. */
  completed: number;
  /** Requests that matched no rule (a proxy would answer 404); not sent. */
  skippedNoRoute: number;
  /** Requests whose rule had no eligible backend; not sent. */
  skippedNoEndpoints: number;
  /** Requests sent, by the backend that answered them. */
  byBackend: Record<string, number>;
  /** Finished requests by backend, then code (as byCode). */
  byBackendCode: Record<string, Record<string, number>>;
  /** Requests sent, by the rule (its source) that routed them. */
  byRule: Record<string, number>;
  /** Mirrored copies of this class's requests sent, by mirror backend. */
  mirroredByBackend: Record<string, number>;
}

/** Mirrored copies: sent besides the requests, responses discarded. */
export interface MirrorStats {
  sent: number;
  completed: number;
  /** Copies due whose mirror backend had no endpoints. */
  skippedNoEndpoints: number;
  /** Copies dropped because the mirror in-flight limit was reached. */
  skippedInFlightLimit: number;
  /** Copies sent, by mirror backend. */
  byBackend: Record<string, number>;
  /** Finished copies by mirror backend, then code. */
  byBackendCode: Record<string, Record<string, number>>;
}

/** A routing rule as the target uses it now. */
export interface RuleSummary {
  source: string;
  /** describeMatch(): "*" matches every request. */
  match: string;
  backends: Backend[];
  mirrors: { backend: string; percent: number; endpoints: string[] }[];
}

export interface TargetStats {
  /** namespace/name of the Service. */
  service: string;
  /** False once the Service is gone or no longer annotated; counts are kept. */
  active: boolean;
  /** Effective rate (after the cap), requests per second. */
  rate: number;
  path: string;
  /** namespace/name of the routing object deciding the split (any kind); absent when replica-proportional. */
  route?: string;
  /** The kind of that object. */
  router?: RouterKind;
  /** Other objects that took part ("Kind namespace/name"). */
  related: string[];
  /** The header some requests carry (traffic-header annotations). */
  header?: TrafficHeader;
  /** Backends of the rule a request without the header goes through; empty when none matches. */
  backends: Backend[];
  /** The rules, in order. */
  rules: RuleSummary[];
  /** What the sandbox cannot honour in the routing objects. */
  problems: string[];
  /** Requests sent. */
  sent: number;
  /** Requests finished, with a response or an error. */
  completed: number;
  inFlight: number;
  /** Ticks with no eligible backend. */
  skippedNoEndpoints: number;
  /** Ticks dropped because the in-flight limit was reached. */
  skippedInFlightLimit: number;
  /** Ticks whose request matched no rule. */
  skippedNoRoute: number;
  /** Requests by class: `header` carry the traffic-header, `plain` do not. */
  byClass: { header: RequestClassStats; plain: RequestClassStats };
  /** Mirrored copies. */
  mirrored: MirrorStats;
  /** Requests sent, by backend name (mirrored copies not included). */
  byBackend: Record<string, number>;
  /** Finished requests by HTTP status ("200", "500") or error ("error:ECONNREFUSED", "error:timeout"). */
  byCode: Record<string, number>;
  /** byCode per backend. */
  byBackendCode: Record<string, Record<string, number>>;
  /** Requests sent, by "ip:port". */
  byEndpoint: Record<string, number>;
}

export interface InformerStatus {
  /** Whether a list has succeeded at least once. */
  synced: boolean;
  /** The API path watched (for CRDs: at the served version found). */
  path?: string;
  errors: number;
  lastError?: string;
}

export interface TrafficStats {
  /** By "namespace/name" of the target Service. */
  targets: Record<string, TargetStats>;
  informers: Record<string, InformerStatus>;
}

export interface TrafficGenerator {
  /** Stops sending, aborts in-flight requests and stops the informers. Idempotent. */
  stop(): Promise<void>;
  stats(): TrafficStats;
}

type HTTPRoute = KubernetesObject & GatewayHTTPRouteLike;
// Watched objects are read through structural types whose every field is
// optional; the CRDs' schemas guarantee the shapes the routers rely on.
type VirtualService = KubernetesObject & VirtualServiceLike;
type DestinationRule = KubernetesObject & DestinationRuleLike;
type TrafficSplit = KubernetesObject & TrafficSplitLike;
type TraefikService = KubernetesObject & TraefikServiceLike;

interface Target {
  key: string;
  rate: number;
  path: string;
  intervalMs: number;
  header: TrafficHeader | undefined;
  rules: PlannedRule[];
  router: RequestRouter;
  timer: NodeJS.Timeout | undefined;
  /** performance.now() at which the next request is due. */
  nextDue: number;
  inFlight: Set<http.ClientRequest>;
  mirrorInFlight: Set<http.ClientRequest>;
  stats: TargetStats;
}

interface WatchedResource<T extends KubernetesObject> {
  list(): readonly T[];
  status(): InformerStatus;
  stop(): Promise<void>;
}

interface ResourceSource<T extends KubernetesObject> {
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
}

function emptyClassStats(): RequestClassStats {
  return { sent: 0, completed: 0, skippedNoRoute: 0, skippedNoEndpoints: 0, byBackend: {}, byBackendCode: {}, byRule: {}, mirroredByBackend: {} };
}

/** A one-line description of an error (client-node's ApiException messages span lines and include headers). */
function errorMessage(err: unknown): string {
  let message: string;
  if (err instanceof Error) message = err.message;
  else if (typeof err === 'string') message = err;
  else {
    try {
      message = JSON.stringify(err);
    } catch {
      message = String(err);
    }
  }
  const firstLine = message.split('\n', 1)[0] ?? message;
  const body = typeof err === 'object' && err !== null ? (err as { body?: unknown }).body : undefined;
  if (typeof body === 'string') {
    try {
      const status = JSON.parse(body) as { message?: unknown };
      if (typeof status.message === 'string') return `${firstLine}: ${status.message}`;
    } catch {
      // not a Status object
    }
  }
  return firstLine;
}

function errorStatusCode(err: unknown): number | undefined {
  if (typeof err !== 'object' || err === null) return undefined;
  const e = err as { statusCode?: unknown; code?: unknown };
  if (typeof e.statusCode === 'number') return e.statusCode;
  if (typeof e.code === 'number') return e.code;
  return undefined;
}

function increment(record: Record<string, number>, key: string): void {
  record[key] = (record[key] ?? 0) + 1;
}

/**
 * An informer that restarts itself after errors (client-node informers stop
 * on list failures and non-timeout watch errors), with exponential backoff.
 * `resolve` says, at each (re)start, which path to watch and how to list it:
 * a CRD's served version is looked up again, so a resource whose CRD does not
 * exist yet simply keeps retrying, and one served at another version after a
 * restart is followed there.
 */
function watchResource<T extends KubernetesObject>(args: {
  kind: string;
  kubeConfig: KubeConfig;
  resolve: () => Promise<ResourceSource<T>>;
  onChange: () => void;
  log: Logger;
}): WatchedResource<T> {
  const { kind, log } = args;
  const status: InformerStatus = { synced: false, errors: 0 };
  let stopped = false;
  let backoffMs = INFORMER_BACKOFF_BASE_MS;
  let startedAt = 0;
  let restartTimer: NodeJS.Timeout | undefined;
  const seenErrors = new Set<string>();
  let informer: (Informer<T> & ObjectCache<T>) | undefined;

  const onError = (err: unknown): void => {
    if (stopped) return; // stop() aborts the watch, which reports an error
    status.errors += 1;
    const message = errorMessage(err);
    status.lastError = message;
    if (Date.now() - startedAt >= INFORMER_HEALTHY_RUN_MS) backoffMs = INFORMER_BACKOFF_BASE_MS;
    const delay = backoffMs;
    backoffMs = Math.min(backoffMs * 2, INFORMER_BACKOFF_MAX_MS);
    const code = errorStatusCode(err);
    const fields = { kind, err: message, statusCode: code, retryInMs: delay };
    // Repeats of the same failure (e.g. a CRD not installed yet) go to debug.
    const fingerprint = code === undefined ? message : `status:${code}`;
    if (seenErrors.has(fingerprint)) {
      log.debug(fields, 'informer failed; restarting');
    } else {
      seenErrors.add(fingerprint);
      log.warn(fields, code === 404 ? 'resource not served (yet); will keep retrying' : 'informer failed; restarting');
    }
    scheduleStart(delay);
  };

  const create = (source: ResourceSource<T>): Informer<T> & ObjectCache<T> => {
    const created: Informer<T> & ObjectCache<T> = makeInformer<T>(args.kubeConfig, source.path, async () => {
      const list = await source.list();
      if (!status.synced) log.debug({ kind, path: source.path, items: list.items.length }, 'informer synced');
      status.synced = true;
      return list;
    });
    const ifCurrent = (): void => {
      if (created === informer) args.onChange();
    };
    created.on('add', ifCurrent);
    created.on('update', ifCurrent);
    created.on('delete', ifCurrent);
    created.on('error', (err: unknown) => {
      if (created === informer) onError(err);
    });
    return created;
  };

  const isStopped = (): boolean => stopped;
  const start = (): void => {
    if (stopped) return;
    startedAt = Date.now();
    void (async () => {
      const source = await args.resolve();
      // stop() may have run while discovery was answering.
      if (isStopped()) return;
      if (informer === undefined || source.path !== status.path) {
        const old = informer;
        informer = create(source);
        if (old !== undefined) {
          log.info({ kind, from: status.path, to: source.path }, 'resource now served at another path');
          await old.stop().catch(() => undefined);
          args.onChange();
        }
        status.path = source.path;
      }
      await informer.start();
    })().catch(onError);
  };

  const scheduleStart = (delayMs: number): void => {
    if (stopped || restartTimer !== undefined) return;
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      start();
    }, delayMs);
  };

  start();

  return {
    list: () => informer?.list() ?? [],
    status: () => ({ ...status }),
    stop: async () => {
      stopped = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      restartTimer = undefined;
      await informer?.stop();
    },
  };
}

/** A list response of the custom objects API, checked to have items. */
function asList<T extends KubernetesObject>(list: unknown, kind: string): KubernetesListObject<T> {
  if (typeof list !== 'object' || list === null || !Array.isArray((list as { items?: unknown }).items)) {
    throw new Error(`${kind} list response has no items array`);
  }
  return list as KubernetesListObject<T>;
}

export function startTrafficGenerator(opts: TrafficGeneratorOptions): TrafficGenerator {
  const log = opts.logger ?? createLogger('traffic');
  const maxRate = opts.maxRatePerTarget ?? DEFAULT_MAX_RATE_PER_TARGET;
  const maxInFlight = opts.maxInFlightPerTarget ?? DEFAULT_MAX_IN_FLIGHT_PER_TARGET;
  if (!(maxRate > 0) || !Number.isFinite(maxRate)) throw new RangeError(`maxRatePerTarget must be a positive number, got ${maxRate}`);
  if (!Number.isInteger(maxInFlight) || maxInFlight < 1) {
    throw new RangeError(`maxInFlightPerTarget must be a positive integer, got ${maxInFlight}`);
  }

  const agent = new http.Agent({ keepAlive: true, maxSockets: maxInFlight, maxFreeSockets: maxInFlight });
  const targets = new Map<string, Target>();
  const statsByTarget = new Map<string, TargetStats>();
  const warned = new Set<string>();
  let stopped = false;
  let reconcileScheduled: NodeJS.Immediate | undefined;

  const warnOnce = (key: string, fields: Record<string, unknown>, msg: string): void => {
    if (warned.has(key)) return;
    warned.add(key);
    log.warn(fields, msg);
  };

  const scheduleReconcile = (): void => {
    if (stopped || reconcileScheduled !== undefined) return;
    reconcileScheduled = setImmediate(() => {
      reconcileScheduled = undefined;
      try {
        reconcile();
      } catch (err) {
        log.error({ err: errorMessage(err) }, 'traffic reconcile failed');
      }
    });
  };

  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const networking = opts.kubeConfig.makeApiClient(NetworkingV1Api);
  const custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
  const apis = opts.kubeConfig.makeApiClient(ApisApi);
  const namespaces = opts.namespaces === undefined ? undefined : new Set(opts.namespaces);

  const fixed = <T extends KubernetesObject>(path: string, list: () => Promise<KubernetesListObject<T>>) => () => Promise.resolve({ path, list });
  /** A CRD kind at the version its group's discovery prefers (any version: the routers read what all versions share). */
  const discovered =
    <T extends KubernetesObject>(crd: { kind: string; group: string; plural: string }) =>
    async (): Promise<ResourceSource<T>> => {
      const groups = await apis.getAPIVersions();
      const group = groups.groups.find((g) => g.name === crd.group);
      const version = group?.preferredVersion?.version ?? group?.versions[0]?.version;
      if (version === undefined) throw Object.assign(new Error(`API group ${crd.group} is not served`), { statusCode: 404 });
      return {
        path: `/apis/${crd.group}/${version}/${crd.plural}`,
        list: async () => asList<T>(await custom.listClusterCustomObject({ group: crd.group, version, plural: crd.plural }), crd.kind),
      };
    };
  const watch = <T extends KubernetesObject>(kind: string, resolve: () => Promise<ResourceSource<T>>): WatchedResource<T> =>
    watchResource<T>({ kind, kubeConfig: opts.kubeConfig, resolve, onChange: scheduleReconcile, log });

  const services = watch<V1Service>('Service', fixed('/api/v1/services', () => core.listServiceForAllNamespaces()));
  const pods = watch<V1Pod>('Pod', fixed('/api/v1/pods', () => core.listPodForAllNamespaces()));
  const routes = watch<HTTPRoute>(
    'HTTPRoute',
    fixed(`/apis/${HTTPROUTE_GROUP}/${HTTPROUTE_VERSION}/${HTTPROUTE_PLURAL}`, async () =>
      asList<HTTPRoute>(await custom.listClusterCustomObject({ group: HTTPROUTE_GROUP, version: HTTPROUTE_VERSION, plural: HTTPROUTE_PLURAL }), 'HTTPRoute'),
    ),
  );
  const ingresses = watch<V1Ingress>('Ingress', fixed('/apis/networking.k8s.io/v1/ingresses', () => networking.listIngressForAllNamespaces()));
  const virtualServices = watch<VirtualService>('VirtualService', discovered(ROUTING_CRDS.virtualservices));
  const destinationRules = watch<DestinationRule>('DestinationRule', discovered(ROUTING_CRDS.destinationrules));
  const trafficSplits = watch<TrafficSplit>('TrafficSplit', discovered(ROUTING_CRDS.trafficsplits));
  const traefikServices = watch<TraefikService>('TraefikService', discovered(ROUTING_CRDS.traefikservices));
  const informers = { services, pods, httproutes: routes, ingresses, virtualservices: virtualServices, destinationrules: destinationRules, trafficsplits: trafficSplits, traefikservices: traefikServices };

  function reportRejected(target: string, rejected: readonly RejectedEndpoint[]): void {
    for (const r of rejected) {
      warnOnce(`rejected:${r.pod}:${r.ip}:${r.reason}`, { target, pod: r.pod, ip: r.ip }, `skipping endpoint: ${r.reason}`);
    }
  }

  function reconcile(): void {
    if (stopped) return;
    const allServices = services.list();
    const allPods = pods.list();
    const ingressList: readonly IngressLike[] = ingresses.list();
    const objects: RoutingObjects = {
      httpRoutes: routes.list(),
      ingresses: ingressList,
      virtualServices: virtualServices.list(),
      destinationRules: destinationRules.list(),
      trafficSplits: trafficSplits.list(),
      traefikServices: traefikServices.list(),
    };
    const seen = new Set<string>();

    for (const service of allServices) {
      const namespace = service.metadata?.namespace ?? 'default';
      if (namespaces !== undefined && !namespaces.has(namespace)) continue;
      const spec = parseTrafficTarget(service, maxRate);
      if (spec === undefined) continue;
      const key = `${namespace}/${service.metadata?.name ?? ''}`;
      if (!spec.ok) {
        warnOnce(`invalid:${key}:${spec.reason}`, { target: key }, `ignoring traffic target: ${spec.reason}`);
        continue;
      }
      if (spec.capped) {
        warnOnce(`capped:${key}:${maxRate}`, { target: key, maxRate }, 'traffic rate capped');
      }
      const plan = planRouting(service, allServices, allPods, objects, spec.via);
      reportRejected(key, plan.rejected);
      for (const problem of plan.problems) warnOnce(`problem:${key}:${problem}`, { target: key }, problem);
      seen.add(key);
      upsertTarget(key, spec.rate, spec.path, spec.header, spec.via, plan);
    }

    for (const key of [...targets.keys()]) {
      if (!seen.has(key)) removeTarget(key);
    }
  }

  function newStats(key: string, rate: number, path: string): TargetStats {
    return {
      service: key,
      active: true,
      rate,
      path,
      related: [],
      backends: [],
      rules: [],
      problems: [],
      sent: 0,
      completed: 0,
      inFlight: 0,
      skippedNoEndpoints: 0,
      skippedInFlightLimit: 0,
      skippedNoRoute: 0,
      byBackend: {},
      byCode: {},
      byBackendCode: {},
      byEndpoint: {},
      byClass: { header: emptyClassStats(), plain: emptyClassStats() },
      mirrored: { sent: 0, completed: 0, skippedNoEndpoints: 0, skippedInFlightLimit: 0, byBackend: {}, byBackendCode: {} },
    };
  }

  function upsertTarget(
    key: string,
    rate: number,
    path: string,
    header: TrafficHeader | undefined,
    via: TrafficVia | undefined,
    plan: ReturnType<typeof planRouting>,
  ): void {
    let target = targets.get(key);
    if (target === undefined) {
      let stats = statsByTarget.get(key);
      if (stats === undefined) {
        stats = newStats(key, rate, path);
        statsByTarget.set(key, stats);
      }
      target = {
        key,
        rate: -1, // forces scheduling below
        path,
        intervalMs: Infinity,
        header,
        rules: plan.rules,
        router: createRequestRouter(),
        timer: undefined,
        nextDue: 0,
        inFlight: new Set(),
        mirrorInFlight: new Set(),
        stats,
      };
      targets.set(key, target);
      log.info({ target: key, rate, path, router: plan.router, object: plan.object, via, header }, 'traffic target added');
    }

    const previousObject = target.stats.route;
    target.path = path;
    target.header = header;
    target.rules = plan.rules;
    target.router.retain(plan.rules);

    const { stats } = target;
    stats.active = true;
    stats.path = path;
    if (header === undefined) delete stats.header;
    else stats.header = { ...header };
    const plainRule = plan.rules[selectRule(plan.rules, targetRequest(path, header, false))];
    stats.backends = (plainRule?.backends ?? []).map(copyBackend);
    stats.rules = plan.rules.map((r) => ({
      source: r.source,
      match: describeMatch(r.match),
      backends: r.backends.map(copyBackend),
      mirrors: r.mirrors.map((m) => ({ backend: m.backend.name, percent: m.percent, endpoints: [...m.backend.endpoints] })),
    }));
    stats.related = [...plan.related];
    stats.problems = [...plan.problems];
    if (plan.object === undefined) delete stats.route;
    else stats.route = plan.object;
    if (plan.router === undefined) delete stats.router;
    else stats.router = plan.router;
    if (previousObject !== plan.object && targets.get(key) === target && target.rate >= 0) {
      log.info({ target: key, router: plan.router, object: plan.object }, 'traffic routing object changed');
    }

    if (target.rate !== rate) {
      if (target.rate >= 0) log.info({ target: key, from: target.rate, to: rate }, 'traffic rate changed');
      target.rate = rate;
      target.stats.rate = rate;
      target.intervalMs = rate > 0 ? 1000 / rate : Infinity;
      if (target.timer !== undefined) clearTimeout(target.timer);
      target.timer = undefined;
      target.nextDue = performance.now() + (Number.isFinite(target.intervalMs) ? target.intervalMs : 0);
      schedule(target);
    }
  }

  function copyBackend(b: Backend): Backend {
    return { name: b.name, weight: b.weight, endpoints: [...b.endpoints] };
  }

  function removeTarget(key: string): void {
    const target = targets.get(key);
    if (target === undefined) return;
    targets.delete(key);
    if (target.timer !== undefined) clearTimeout(target.timer);
    target.timer = undefined;
    target.stats.active = false;
    abortInFlight(target, 'traffic target removed');
    log.info({ target: key }, 'traffic target removed');
  }

  function abortInFlight(target: Target, reason: string): void {
    for (const req of [...target.inFlight, ...target.mirrorInFlight]) {
      req.destroy(Object.assign(new Error(reason), { code: 'ABORTED' }));
    }
  }

  function schedule(target: Target): void {
    if (stopped || target.rate <= 0 || targets.get(target.key) !== target || target.timer !== undefined) return;
    const delay = Math.max(0, target.nextDue - performance.now());
    target.timer = setTimeout(() => {
      tick(target);
    }, delay);
  }

  function tick(target: Target): void {
    target.timer = undefined;
    if (stopped || targets.get(target.key) !== target) return;
    const now = performance.now();
    let due = 0;
    while (target.nextDue <= now && due < MAX_CATCH_UP) {
      due += 1;
      target.nextDue += target.intervalMs;
    }
    // Too far behind (event loop stalled): drop the backlog rather than burst.
    if (target.nextDue <= now) target.nextDue = now + target.intervalMs;
    for (let i = 0; i < due; i++) send(target);
    schedule(target);
  }

  function send(target: Target): void {
    const { stats } = target;
    if (target.inFlight.size >= maxInFlight) {
      stats.skippedInFlightLimit += 1;
      return;
    }
    const { withHeader, request, rule, pick, mirrors } = target.router.next(target.rules, target.path, target.header);
    const cls = withHeader ? stats.byClass.header : stats.byClass.plain;
    if (rule === undefined) {
      stats.skippedNoRoute += 1;
      cls.skippedNoRoute += 1;
      return;
    }
    const sent =
      pick !== undefined &&
      dispatch(target, target.inFlight, pick.endpoint, request, (code) => {
        stats.inFlight = target.inFlight.size;
        stats.completed += 1;
        cls.completed += 1;
        increment(stats.byCode, code);
        increment((stats.byBackendCode[pick.backend] ??= {}), code);
        increment((cls.byBackendCode[pick.backend] ??= {}), code);
      });
    if (pick === undefined || !sent) {
      stats.skippedNoEndpoints += 1;
      cls.skippedNoEndpoints += 1;
    } else {
      stats.inFlight = target.inFlight.size;
      stats.sent += 1;
      cls.sent += 1;
      increment(stats.byBackend, pick.backend);
      increment(stats.byEndpoint, pick.endpoint);
      increment(cls.byBackend, pick.backend);
      increment(cls.byRule, rule.source);
    }
    // Copies go out whatever became of the request itself (Envoy mirrors on
    // receipt, independently of the primary upstream).
    for (const copy of mirrors) sendMirror(target, cls, copy.backend, copy.endpoint, request);
  }

  function sendMirror(target: Target, cls: RequestClassStats, backend: string, endpoint: string | undefined, request: RequestInfo): void {
    const m = target.stats.mirrored;
    if (target.mirrorInFlight.size >= maxInFlight) {
      m.skippedInFlightLimit += 1;
      return;
    }
    const sent =
      endpoint !== undefined &&
      dispatch(target, target.mirrorInFlight, endpoint, request, (code) => {
        m.completed += 1;
        increment((m.byBackendCode[backend] ??= {}), code);
      });
    if (!sent) {
      m.skippedNoEndpoints += 1;
      return;
    }
    m.sent += 1;
    increment(m.byBackend, backend);
    increment(cls.mirroredByBackend, backend);
  }

  /**
   * Sends `request` to `endpoint` ("ip:port" on loopback), tracked in
   * `inFlight`; `onFinish` gets the status code or "error:<code>" once.
   * Returns false (and sends nothing) for an endpoint off the loopback network.
   */
  function dispatch(target: Target, inFlight: Set<http.ClientRequest>, endpoint: string, request: RequestInfo, onFinish: (code: string) => void): boolean {
    const sep = endpoint.lastIndexOf(':');
    const host = endpoint.slice(0, sep);
    const port = Number(endpoint.slice(sep + 1));
    // Last line of defence: the sandbox never sends traffic off the loopback network.
    if (sep < 0 || !isLoopbackIPv4(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
      warnOnce(`bad-endpoint:${endpoint}`, { target: target.key, endpoint }, 'refusing to send to a non-loopback endpoint');
      return false;
    }

    let finished = false;
    const req = http.request({
      host,
      port,
      path: request.path,
      method: request.method,
      agent,
      headers: { ...request.headers, 'user-agent': 'weir-sandbox-traffic/1' },
    });
    const deadline = setTimeout(() => {
      req.destroy(Object.assign(new Error(`request timed out after ${REQUEST_TIMEOUT_MS} ms`), { code: 'timeout' }));
    }, REQUEST_TIMEOUT_MS);
    inFlight.add(req);

    const finish = (code: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      inFlight.delete(req);
      onFinish(code);
    };
    const fail = (err: unknown): void => {
      const code = typeof err === 'object' && err !== null ? (err as { code?: unknown }).code : undefined;
      finish(`error:${typeof code === 'string' ? code : 'unknown'}`);
    };

    req.on('response', (res) => {
      const status = String(res.statusCode ?? 0);
      res.on('error', fail);
      res.on('end', () => {
        finish(status);
      });
      res.on('close', () => {
        // Closed before 'end': the response was cut short.
        if (!res.complete) fail(Object.assign(new Error('response aborted'), { code: 'aborted' }));
      });
      res.resume();
    });
    req.on('error', fail);
    req.end();
    return true;
  }

  let stopping: Promise<void> | undefined;

  return {
    stop() {
      stopping ??= (async () => {
        stopped = true;
        if (reconcileScheduled !== undefined) clearImmediate(reconcileScheduled);
        reconcileScheduled = undefined;
        for (const target of targets.values()) {
          if (target.timer !== undefined) clearTimeout(target.timer);
          target.timer = undefined;
          target.stats.active = false;
          abortInFlight(target, 'traffic generator stopped');
        }
        targets.clear();
        const results = await Promise.allSettled(Object.values(informers).map((i) => i.stop()));
        for (const r of results) {
          if (r.status === 'rejected') log.debug({ err: errorMessage(r.reason) }, 'informer stop failed');
        }
        agent.destroy();
        log.info('traffic generator stopped');
      })();
      return stopping;
    },
    stats() {
      const result: TrafficStats = { targets: {}, informers: {} };
      for (const [key, stats] of statsByTarget) result.targets[key] = structuredClone(stats);
      for (const [name, informer] of Object.entries(informers)) result.informers[name] = informer.status();
      return result;
    },
  };
}
