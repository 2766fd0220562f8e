// The AnalysisRun controller, declared on the controller kit: takes each
// metric's measurements when they are due (providers, conditions), records
// them with Argo's counting rules, and writes the run's status once per
// reconcile; requeues at the next due time.
import { isDeepStrictEqual } from 'node:util';
import { CoreV1Api, CustomObjectsApi, type KubeConfig } from '@kubernetes/client-node';
import type { AnalysisRunStatus, Measurement } from '../api/analysis.ts';
import { GROUP, VERSION } from '../api/common.ts';
import { argValues, substituteMetric } from '../analysis/args.ts';
import { measureMetric } from '../analysis/measure.ts';
import { assessRun, dueMetrics, nextRequeueAt, recordMeasurement } from '../analysis/measurements.ts';
import { describeKubeError, kubeErrorCode } from '../cluster/errors.ts';
import type { ResilientInformer } from '../cluster/informer.ts';
import type { InformerCache } from '../cluster/informer-cache.ts';
import type { Logger } from '../util/log.ts';
import { ANALYSIS_RUNS, Controller, objectKey, watches, type AnalysisRunObject } from './kit/index.ts';

const RUNS = { group: GROUP, version: VERSION, plural: 'analysisruns' } as const;

export interface AnalysisRunControllerOptions {
  kubeConfig: KubeConfig;
  /** The process's informers (its namespace scope is the controller's). */
  informers: InformerCache;
  logger: Logger;
  workers?: number;
}

function keyOf(r: AnalysisRunObject): string {
  return objectKey(r);
}

/** A measurement's message with every secret value replaced, so Secrets never reach status. */
function redact(m: Measurement, secrets: readonly string[]): Measurement {
  if (m.message === undefined || secrets.length === 0) return m;
  let message = m.message;
  for (const s of secrets) if (s.length > 0) message = message.split(s).join('***');
  return { ...m, message };
}

export class AnalysisRunController {
  readonly #log: Logger;
  readonly #controller: Controller;
  readonly #custom: CustomObjectsApi;
  readonly #core: CoreV1Api;
  readonly runs: ResilientInformer<AnalysisRunObject>;

  constructor(opts: AnalysisRunControllerOptions) {
    this.#log = opts.logger.child({ controller: 'analysisrun' });
    this.#custom = opts.kubeConfig.makeApiClient(CustomObjectsApi);
    this.#core = opts.kubeConfig.makeApiClient(CoreV1Api);
    this.runs = opts.informers.informer(ANALYSIS_RUNS);
    this.#controller = new Controller(opts.informers, {
      name: 'analysisrun',
      kind: ANALYSIS_RUNS,
      watches: [
        // Status writes come back as updates: only spec changes (terminate) need a reconcile then.
        watches(ANALYSIS_RUNS, (r, event) => (event === 'add' || r.spec.terminate === true ? objectKey(r) : undefined), { events: ['add', 'update'] }),
      ],
      backoff: { baseDelayMs: 500, maxDelayMs: 60_000 },
      workers: opts.workers ?? 4,
      reconcile: (key) => this.reconcile(key),
      onFailure: (key, err, retryInMs) => {
        (kubeErrorCode(err) === 409 ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log))({ run: key, err: describeKubeError(err), retryInMs }, 'reconcile failed; retrying');
      },
      logger: this.#log,
    });
  }

  get ready(): boolean {
    return this.#controller.ready;
  }

  start(): Promise<void> {
    return this.#controller.start();
  }

  stop(): Promise<void> {
    return this.#controller.stop();
  }

  /** Values of secretKeyRef arguments, read from the run's namespace. */
  async #secrets(run: AnalysisRunObject): Promise<Map<string, string>> {
    const out = new Map<string, string>();
    for (const arg of run.spec.args ?? []) {
      const ref = arg.valueFrom?.secretKeyRef;
      if (!ref) continue;
      try {
        const secret = await this.#core.readNamespacedSecret({ name: ref.name, namespace: run.metadata.namespace ?? 'default' });
        const value = secret.data?.[ref.key];
        if (value !== undefined) out.set(`${ref.name}/${ref.key}`, Buffer.from(value, 'base64').toString('utf8'));
      } catch (err) {
        if (kubeErrorCode(err) !== 404) throw err;
      }
    }
    return out;
  }

  async reconcile(key: string): Promise<number | undefined> {
    const [namespace = '', name = ''] = key.split('/');
    const stored = this.runs.get(name, namespace);
    if (!stored) return undefined;
    const now = new Date();
    let run: AnalysisRunObject = { ...stored, status: assessRun(stored, now) };
    const due = dueMetrics(run, now);
    if (due.length > 0) {
      const secrets = await this.#secrets(run);
      let values: Map<string, string> | undefined;
      let argError: string | undefined;
      try {
        values = argValues(run.spec.args ?? [], (ref) => secrets.get(`${ref.name}/${ref.key}`));
      } catch (err) {
        argError = err instanceof Error ? err.message : String(err);
      }
      for (const metricName of due) {
        const metric = run.spec.metrics.find((m) => m.name === metricName);
        if (!metric) continue;
        let measurement: Measurement;
        try {
          if (values === undefined) throw new Error(argError ?? 'arguments unavailable');
          measurement = (await measureMetric(substituteMetric(metric, values), now)).measurement;
        } catch (err) {
          const at = now.toISOString();
          measurement = { phase: 'Error', startedAt: at, finishedAt: new Date().toISOString(), message: err instanceof Error ? err.message : String(err) };
        }
        measurement = redact(measurement, [...secrets.values()]);
        run = { ...run, status: recordMeasurement(run, metricName, measurement) };
        run = { ...run, status: assessRun(run, now) };
      }
    }
    await this.#writeStatus(stored, run.status);
    const next = nextRequeueAt(run, new Date());
    return next === undefined ? undefined : Date.parse(next);
  }

  async #writeStatus(stored: AnalysisRunObject, status: AnalysisRunStatus | undefined): Promise<void> {
    if (status === undefined || isDeepStrictEqual(stored.status, status)) return;
    await this.#custom.replaceNamespacedCustomObjectStatus({ ...RUNS, namespace: stored.metadata.namespace ?? 'default', name: stored.metadata.name ?? '', body: { ...stored, status } });
    if (status.phase !== stored.status?.phase) this.#log.info({ run: keyOf(stored), phase: status.phase, message: status.message }, 'analysis run phase');
  }
}
