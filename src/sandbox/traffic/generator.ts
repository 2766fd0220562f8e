// The sandbox's data-plane stand-in: sends real HTTP requests to pod
// addresses, split the way a Gateway would split them, so a canary's errors
// and latency reach Prometheus in proportion to its share of traffic.
//
// It watches Services, Pods and Gateway API HTTPRoutes (all namespaces). A
// Service annotated `sandbox.weir.dev/traffic-rate: "<rps>"` is a target; see
// endpoints.ts for where its requests go and split.ts for how they are split.
import http from 'node:http';
import {
  CoreV1Api,
  CustomObjectsApi,
  makeInformer,
  type Informer,
  type KubeConfig,
  type KubernetesListObject,
  type KubernetesObject,
  type ObjectCache,
  type V1Pod,
  type V1Service,
} from '@kubernetes/client-node';
import { createLogger, type Logger } from '../../util/log.ts';
import {
  DEFAULT_MAX_RATE_PER_TARGET,
  isLoopbackIPv4,
  parseTrafficTarget,
  planTraffic,
  type RejectedEndpoint,
} from './endpoints.ts';
import { createWeightedPicker, type Backend, type HTTPRouteLike, type WeightedPicker } from './split.ts';

export const HTTPROUTE_GROUP = 'gateway.networking.k8s.io';
export const HTTPROUTE_VERSION = 'v1';
export const HTTPROUTE_PLURAL = 'httproutes';

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
  /** Requests in flight per target above which ticks are skipped (default 32). */
  maxInFlightPerTarget?: number;
}

export interface TargetStats {
  /** namespace/name of the Service. */
  service: string;
  /** False once the Service is gone or no longer annotated; counts are kept. */
  active: boolean;
  /** Effective rate (after the cap), requests per second. */
  rate: number;
  path: string;
  /** namespace/name of the HTTPRoute deciding the split; absent when replica-proportional. */
  route?: string;
  backends: Backend[];
  /** Requests sent. */
  sent: number;
  /** Requests finished, with a response or an error. */
  completed: number;
  inFlight: number;
  /** Ticks with no eligible backend. */
  skippedNoEndpoints: number;
  /** Ticks dropped because the in-flight limit was reached. */
  skippedInFlightLimit: number;
  /** Requests sent, by backend name. */
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

type HTTPRoute = KubernetesObject & HTTPRouteLike;

interface Target {
  key: string;
  rate: number;
  path: string;
  intervalMs: number;
  backends: Backend[];
  picker: WeightedPicker;
  timer: NodeJS.Timeout | undefined;
  /** performance.now() at which the next request is due. */
  nextDue: number;
  inFlight: Set<http.ClientRequest>;
  stats: TargetStats;
}

interface WatchedResource<T extends KubernetesObject> {
  cache: ObjectCache<T>;
  status(): InformerStatus;
  stop(): Promise<void>;
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
 * A resource whose CRD does not exist yet simply keeps retrying.
 */
function watchResource<T extends KubernetesObject>(args: {
  kind: string;
  kubeConfig: KubeConfig;
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
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

  const informer: Informer<T> & ObjectCache<T> = makeInformer<T>(args.kubeConfig, args.path, async () => {
    const list = await args.list();
    if (!status.synced) log.debug({ kind, items: list.items.length }, 'informer synced');
    status.synced = true;
    return list;
  });

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
    // Repeats of the same failure (e.g. the HTTPRoute CRD not installed yet) go to debug.
    const fingerprint = code === undefined ? message : `status:${code}`;
    if (seenErrors.has(fingerprint)) {
      log.debug(fields, 'informer failed; restarting');
    } else {
      seenErrors.add(fingerprint);
      log.warn(fields, code === 404 ? 'resource not served (yet); will keep retrying' : 'informer failed; restarting');
    }
    scheduleStart(delay);
  };

  const start = (): void => {
    if (stopped) return;
    startedAt = Date.now();
    informer.start().catch(onError);
  };

  const scheduleStart = (delayMs: number): void => {
    if (stopped || restartTimer !== undefined) return;
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      start();
    }, delayMs);
  };

  informer.on('add', args.onChange);
  informer.on('update', args.onChange);
  informer.on('delete', args.onChange);
  informer.on('error', onError);
  start();

  return {
    cache: informer,
    status: () => ({ ...status }),
    stop: async () => {
      stopped = true;
      if (restartTimer !== undefined) clearTimeout(restartTimer);
      restartTimer = undefined;
      await informer.stop();
    },
  };
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
  const custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);

  const services = watchResource<V1Service>({
    kind: 'Service',
    kubeConfig: opts.kubeConfig,
    path: '/api/v1/services',
    list: () => core.listServiceForAllNamespaces(),
    onChange: scheduleReconcile,
    log,
  });
  const pods = watchResource<V1Pod>({
    kind: 'Pod',
    kubeConfig: opts.kubeConfig,
    path: '/api/v1/pods',
    list: () => core.listPodForAllNamespaces(),
    onChange: scheduleReconcile,
    log,
  });
  const routes = watchResource<HTTPRoute>({
    kind: 'HTTPRoute',
    kubeConfig: opts.kubeConfig,
    path: `/apis/${HTTPROUTE_GROUP}/${HTTPROUTE_VERSION}/${HTTPROUTE_PLURAL}`,
    list: async () => {
      const list: unknown = await custom.listClusterCustomObject({
        group: HTTPROUTE_GROUP,
        version: HTTPROUTE_VERSION,
        plural: HTTPROUTE_PLURAL,
      });
      if (typeof list !== 'object' || list === null || !Array.isArray((list as { items?: unknown }).items)) {
        throw new Error('HTTPRoute list response has no items array');
      }
      return list as KubernetesListObject<HTTPRoute>;
    },
    onChange: scheduleReconcile,
    log,
  });

  function reportRejected(target: string, rejected: readonly RejectedEndpoint[]): void {
    for (const r of rejected) {
      warnOnce(`rejected:${r.pod}:${r.ip}:${r.reason}`, { target, pod: r.pod, ip: r.ip }, `skipping endpoint: ${r.reason}`);
    }
  }

  function reconcile(): void {
    if (stopped) return;
    const allServices = services.cache.list();
    const allPods = pods.cache.list();
    const allRoutes = routes.cache.list();
    const seen = new Set<string>();

    for (const service of allServices) {
      const spec = parseTrafficTarget(service, maxRate);
      if (spec === undefined) continue;
      const key = `${service.metadata?.namespace ?? 'default'}/${service.metadata?.name ?? ''}`;
      if (!spec.ok) {
        warnOnce(`invalid:${key}:${spec.reason}`, { target: key }, `ignoring traffic target: ${spec.reason}`);
        continue;
      }
      if (spec.capped) {
        warnOnce(`capped:${key}:${maxRate}`, { target: key, maxRate }, 'traffic rate capped');
      }
      const plan = planTraffic(service, allServices, allPods, allRoutes);
      reportRejected(key, plan.rejected);
      seen.add(key);
      upsertTarget(key, spec.rate, spec.path, plan.backends, plan.route);
    }

    for (const key of [...targets.keys()]) {
      if (!seen.has(key)) removeTarget(key);
    }
  }

  function upsertTarget(key: string, rate: number, path: string, backends: Backend[], route: string | undefined): void {
    let target = targets.get(key);
    if (target === undefined) {
      let stats = statsByTarget.get(key);
      if (stats === undefined) {
        stats = {
          service: key,
          active: true,
          rate,
          path,
          backends: [],
          sent: 0,
          completed: 0,
          inFlight: 0,
          skippedNoEndpoints: 0,
          skippedInFlightLimit: 0,
          byBackend: {},
          byCode: {},
          byBackendCode: {},
          byEndpoint: {},
        };
        statsByTarget.set(key, stats);
      }
      target = {
        key,
        rate: -1, // forces scheduling below
        path,
        intervalMs: Infinity,
        backends,
        picker: createWeightedPicker(),
        timer: undefined,
        nextDue: 0,
        inFlight: new Set(),
        stats,
      };
      targets.set(key, target);
      log.info({ target: key, rate, path, route }, 'traffic target added');
    }

    target.path = path;
    target.backends = backends;
    target.stats.active = true;
    target.stats.path = path;
    target.stats.backends = backends.map((b) => ({ name: b.name, weight: b.weight, endpoints: [...b.endpoints] }));
    if (route === undefined) delete target.stats.route;
    else target.stats.route = route;

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
    for (const req of target.inFlight) {
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
    const pick = target.picker.pick(target.backends);
    if (pick === undefined) {
      stats.skippedNoEndpoints += 1;
      return;
    }
    const sep = pick.endpoint.lastIndexOf(':');
    const host = pick.endpoint.slice(0, sep);
    const port = Number(pick.endpoint.slice(sep + 1));
    // Last line of defence: the sandbox never sends traffic off the loopback network.
    if (sep < 0 || !isLoopbackIPv4(host) || !Number.isInteger(port) || port < 1 || port > 65535) {
      warnOnce(`bad-endpoint:${pick.endpoint}`, { target: target.key, endpoint: pick.endpoint }, 'refusing to send to a non-loopback endpoint');
      stats.skippedNoEndpoints += 1;
      return;
    }

    stats.sent += 1;
    increment(stats.byBackend, pick.backend);
    increment(stats.byEndpoint, pick.endpoint);

    let finished = false;
    const req = http.request({
      host,
      port,
      path: target.path,
      method: 'GET',
      agent,
      headers: { 'user-agent': 'weir-sandbox-traffic/1' },
    });
    const deadline = setTimeout(() => {
      req.destroy(Object.assign(new Error(`request timed out after ${REQUEST_TIMEOUT_MS} ms`), { code: 'timeout' }));
    }, REQUEST_TIMEOUT_MS);
    target.inFlight.add(req);
    stats.inFlight = target.inFlight.size;

    const finish = (code: string): void => {
      if (finished) return;
      finished = true;
      clearTimeout(deadline);
      target.inFlight.delete(req);
      stats.inFlight = target.inFlight.size;
      stats.completed += 1;
      increment(stats.byCode, code);
      const perBackend = (stats.byBackendCode[pick.backend] ??= {});
      increment(perBackend, code);
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
        const results = await Promise.allSettled([services.stop(), pods.stop(), routes.stop()]);
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
      result.informers.services = services.status();
      result.informers.pods = pods.status();
      result.informers.httproutes = routes.status();
      return result;
    },
  };
}
