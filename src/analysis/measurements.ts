// The bookkeeping of an AnalysisRun, pure: no I/O, no clock (`now` is given),
// the input never modified. It follows Argo Rollouts' analysis controller
// (analysis/analysis.go, utils/analysis/helpers.go):
//
// Scheduling (nextMeasurementTimes):
// - the first measurement of a metric at the run's start, or `initialDelay`
//   after it;
// - then one `interval` after the last measurement finished, or 10s after it
//   when it was an Error (whatever the interval);
// - a metric is done after `count` measurements that were not Errors; without
//   count and interval the count is 1, with only an interval it measures until
//   the run ends;
// - a terminating run (spec.terminate, or a metric not in dry-run that is
//   Failed, Error or Inconclusive) takes no new measurements.
//
// A metric's phase (from its counters, after each measurement; a completed
// phase never changes again):
// - Failed when failed > failureLimit (default 0), so with failureLimit 2 the
//   third failure fails it; Inconclusive when inconclusive > inconclusiveLimit
//   (default 0); Error when consecutiveError > consecutiveErrorLimit (default
//   4). When several hold, the later one in that list wins, as in Argo;
// - consecutiveError counts Errors in a row and goes back to 0 at any other
//   measurement; Errors do not count towards `count`; consecutiveSuccess
//   counts Successful measurements in a row and goes back to 0 at any other;
// - failureLimit -1 turns the failure limit off (with consecutiveSuccessLimit);
// - Successful as soon as consecutiveSuccess reaches consecutiveSuccessLimit
//   (when above 0);
// - when `count` is reached: Successful, except with a consecutiveSuccessLimit
//   not reached, which is Inconclusive (Failed when failureLimit is -1: only
//   the successes could have passed it); on termination, Successful when
//   none of the above holds (and when it never measured).
//
// The run's phase:
// - Running until every metric is done; then the worst metric phase, from
//   best to worst Successful, Inconclusive, Error, Failed (Argo's
//   analysisStatusOrder);
// - a terminating run ends at once with the worst phase among its completed
//   metrics (Successful when none): a failure ends the run early, and
//   spec.terminate ends it Successful unless something already failed;
// - dry-run metrics never decide the phase (a completed one counts as
//   Successful) and never terminate the run; they are counted in
//   dryRunSummary instead of runSummary. Like any metric, a dry-run metric
//   still measuring keeps the run Running.
//
// measurementRetention keeps the last `limit` measurements of the metrics a
// rule matches (the last matching rule wins; limit 0 or no rule: 10).
//
// Where Weir differs: a measurement is due when `now` reaches its time
// (Argo: strictly after, one reconcile later), and measurementFromEvaluation
// never makes missing data a success unless a successCondition says so.
import { ANALYSIS_DEFAULTS, isCompletedPhase, parseDuration } from '../api/index.ts';
import type { AnalysisPhase, AnalysisRun, AnalysisRunStatus, Measurement, Metric, MetricResult, RunSummary } from '../api/index.ts';

/** Order of completed phases from best to worst (Argo's analysisStatusOrder). */
const PHASE_ORDER: readonly AnalysisPhase[] = ['Successful', 'Running', 'Pending', 'Inconclusive', 'Error', 'Failed'];

const ERROR_RETRY_MS = parseDuration(ANALYSIS_DEFAULTS.errorRetryInterval);

/** Whether `candidate` is a worse phase than `current` (Argo's IsWorse). */
export function isWorse(current: AnalysisPhase, candidate: AnalysisPhase): boolean {
  return PHASE_ORDER.indexOf(candidate) > PHASE_ORDER.indexOf(current);
}

// ---------------------------------------------------------------------------
// Reading a metric's settings

/**
 * The integer of an int-or-string (Kubernetes' IntOrString.IntValue): the
 * number, or the string's integer; anything else is 0, as in Argo.
 * Validation rejects such values; an unresolved `{{args.x}}` ends up here.
 */
function intValue(value: number | string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  if (typeof value === 'number') return Math.trunc(value);
  return /^\s*-?[0-9]+\s*$/.test(value) ? Number(value.trim()) : 0;
}

/** How many non-Error measurements the metric takes; undefined: until the run ends. */
export function effectiveCount(metric: Metric): number | undefined {
  const count = intValue(metric.count, 0);
  if (count > 0) return count;
  return metric.interval === undefined || metric.interval === '' ? 1 : undefined;
}

export interface MetricLimits {
  /** -1: no failure limit. */
  failureLimit: number;
  inconclusiveLimit: number;
  consecutiveErrorLimit: number;
  /** 0: off. */
  consecutiveSuccessLimit: number;
}

export function metricLimits(metric: Metric): MetricLimits {
  return {
    failureLimit: intValue(metric.failureLimit, ANALYSIS_DEFAULTS.failureLimit),
    inconclusiveLimit: intValue(metric.inconclusiveLimit, ANALYSIS_DEFAULTS.inconclusiveLimit),
    consecutiveErrorLimit: intValue(metric.consecutiveErrorLimit, ANALYSIS_DEFAULTS.consecutiveErrorLimit),
    consecutiveSuccessLimit: Math.max(0, intValue(metric.consecutiveSuccessLimit, 0)),
  };
}

/** A metricName rule as Argo matches it: a regular expression, unanchored (Go's regexp.MatchString). */
function ruleMatches(rule: string, name: string): boolean {
  try {
    return new RegExp(rule).test(name);
  } catch {
    return rule === name;
  }
}

/** Names of the run's metrics in dry-run mode. */
export function dryRunMetrics(run: AnalysisRun): Set<string> {
  const rules = run.spec.dryRun ?? [];
  return new Set(run.spec.metrics.map((m) => m.name).filter((name) => rules.some((r) => ruleMatches(r.metricName, name))));
}

/** How many measurements of the metric are kept. */
export function retentionLimit(run: AnalysisRun, metricName: string): number {
  let limit: number = ANALYSIS_DEFAULTS.measurementRetention;
  for (const rule of run.spec.measurementRetention ?? []) {
    if (ruleMatches(rule.metricName, metricName)) limit = rule.limit > 0 ? rule.limit : ANALYSIS_DEFAULTS.measurementRetention;
  }
  return limit;
}

function durationMs(value: string | undefined): number | undefined {
  if (value === undefined || value === '') return undefined;
  return parseDuration(value);
}

/** Why the run's metrics cannot be scheduled (a duration that does not parse), or undefined. */
function specProblem(run: AnalysisRun): string | undefined {
  for (const [i, metric] of run.spec.metrics.entries()) {
    for (const key of ['interval', 'initialDelay'] as const) {
      try {
        durationMs(metric[key]);
      } catch (err) {
        return `Analysis spec invalid: metrics[${i}].${key}: ${err instanceof Error ? err.message : String(err)}`;
      }
    }
  }
  return undefined;
}

// ---------------------------------------------------------------------------
// Times

function ms(time: string | undefined): number | undefined {
  if (time === undefined) return undefined;
  const t = Date.parse(time);
  return Number.isNaN(t) ? undefined : t;
}

/** An instant as RFC 3339: to the second when whole, else with milliseconds. */
function instant(t: number): string {
  const iso = new Date(t).toISOString();
  return iso.endsWith('.000Z') ? iso.replace('.000Z', 'Z') : iso;
}

// ---------------------------------------------------------------------------
// Metric phases

function resultOf(status: AnalysisRunStatus | undefined, name: string): MetricResult | undefined {
  return status?.metricResults?.find((r) => r.name === name);
}

function lastOf<T>(items: readonly T[]): T | undefined {
  return items.length > 0 ? items[items.length - 1] : undefined;
}

/**
 * Failed, Inconclusive or Error when a limit is exceeded, with Argo's reason
 * (`failed (3) > failureLimit (2)`); undefined otherwise.
 */
export function limitExceeded(metric: Metric, result: MetricResult): { phase: AnalysisPhase; reason: string } | undefined {
  const limits = metricLimits(metric);
  let out: { phase: AnalysisPhase; reason: string } | undefined;
  if (limits.failureLimit >= 0 && result.failed > limits.failureLimit) {
    out = { phase: 'Failed', reason: `failed (${result.failed}) > failureLimit (${limits.failureLimit})` };
  }
  if (result.inconclusive > limits.inconclusiveLimit) {
    out = { phase: 'Inconclusive', reason: `inconclusive (${result.inconclusive}) > inconclusiveLimit (${limits.inconclusiveLimit})` };
  }
  if (result.consecutiveError > limits.consecutiveErrorLimit) {
    out = { phase: 'Error', reason: `consecutiveErrors (${result.consecutiveError}) > consecutiveErrorLimit (${limits.consecutiveErrorLimit})` };
  }
  return out;
}

/** Inconclusive (Failed without a failure limit) when `count` was reached short of consecutiveSuccessLimit; undefined otherwise. */
export function successLimitMissed(metric: Metric, result: MetricResult): { phase: AnalysisPhase; reason: string } | undefined {
  const limits = metricLimits(metric);
  const count = effectiveCount(metric);
  const inARow = result.consecutiveSuccess ?? 0;
  if (limits.consecutiveSuccessLimit === 0 || inARow >= limits.consecutiveSuccessLimit || count === undefined || result.count < count) return undefined;
  return {
    phase: limits.failureLimit >= 0 ? 'Inconclusive' : 'Failed',
    reason: `consecutiveSuccess (${inARow}) < consecutiveSuccessLimit (${limits.consecutiveSuccessLimit}) after count (${count}) measurements`,
  };
}

/** A metric's phase from its result (Argo's assessMetricStatus). */
export function metricPhase(metric: Metric, result: MetricResult, terminating: boolean): AnalysisPhase {
  if (isCompletedPhase(result.phase)) return result.phase;
  const last = lastOf(result.measurements);
  if (last === undefined) return terminating ? 'Successful' : 'Pending';
  if (!isCompletedPhase(last.phase)) return 'Running';
  const exceeded = limitExceeded(metric, result);
  if (exceeded) return exceeded.phase;
  const limits = metricLimits(metric);
  if (limits.consecutiveSuccessLimit > 0 && (result.consecutiveSuccess ?? 0) >= limits.consecutiveSuccessLimit) return 'Successful';
  // The successes in a row were asked for and did not come within count.
  const missed = successLimitMissed(metric, result);
  if (missed) return missed.phase;
  const count = effectiveCount(metric);
  if (count !== undefined && result.count >= count) return 'Successful';
  return terminating ? 'Successful' : 'Running';
}

/** Whether the run stops measuring: terminate was asked, or a metric not in dry-run ended badly. */
export function isTerminating(run: AnalysisRun): boolean {
  if (run.spec.terminate === true) return true;
  return (run.status?.metricResults ?? []).some((r) => r.dryRun !== true && (r.phase === 'Failed' || r.phase === 'Error' || r.phase === 'Inconclusive'));
}

function emptySummary(): RunSummary {
  return { count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0 };
}

function countInto(summary: RunSummary, phase: AnalysisPhase): void {
  if (phase === 'Failed') summary.failed++;
  else if (phase === 'Error') summary.error++;
  else if (phase === 'Inconclusive') summary.inconclusive++;
  else summary.successful++;
}

function reassessMetrics(run: AnalysisRun, results: MetricResult[], terminating: boolean): MetricResult[] {
  return results.map((result) => {
    const metric = run.spec.metrics.find((m) => m.name === result.name);
    if (!metric) return result;
    const phase = metricPhase(metric, result, terminating);
    if (phase === result.phase) return result;
    const next: MetricResult = { ...result, phase };
    const message = lastOf(result.measurements)?.message;
    if (message !== undefined) next.message = message;
    else delete next.message;
    return next;
  });
}

/**
 * The run's status with every phase, message and summary worked out from
 * its metric results (Argo's assessRunStatus, carried on until nothing
 * changes: a metric that fails terminates the others in the same call).
 * `now` sets startedAt when the run has none; give it when the run starts.
 */
export function assessRun(run: AnalysisRun, now?: Date): AnalysisRunStatus {
  const previous = run.status;
  const status: AnalysisRunStatus = { ...(previous ?? { phase: 'Pending' }), metricResults: [...(previous?.metricResults ?? [])] };
  if (status.startedAt === undefined && now !== undefined) status.startedAt = instant(now.getTime());
  if (isCompletedPhase(previous?.phase)) return status;

  const problem = specProblem(run);
  if (problem !== undefined) return { ...status, phase: 'Error', message: problem };

  const dryRun = dryRunMetrics(run);
  let terminating = isTerminating(run);
  let results = reassessMetrics(run, status.metricResults ?? [], terminating);
  const nowTerminating = isTerminating({ ...run, status: { ...status, metricResults: results } });
  if (nowTerminating && !terminating) {
    terminating = true;
    results = reassessMetrics(run, results, true);
  }

  let worst: AnalysisPhase | undefined;
  let message = run.spec.terminate === true ? 'Run Terminated' : '';
  let everythingCompleted = true;
  const runSummary = emptySummary();
  const dryRunSummary = emptySummary();
  results = [...results];
  for (const metric of run.spec.metrics) {
    const isDry = dryRun.has(metric.name);
    (isDry ? dryRunSummary : runSummary).count++;
    const index = results.findIndex((r) => r.name === metric.name);
    const result = results[index];
    if (result === undefined) {
      everythingCompleted = false; // not started yet (initialDelay)
      continue;
    }
    if (!isCompletedPhase(result.phase)) {
      everythingCompleted = false;
      continue;
    }
    const exceeded = limitExceeded(metric, result) ?? (result.phase === 'Successful' ? undefined : successLimitMissed(metric, result));
    if (!isDry) {
      if (worst === undefined || isWorse(worst, result.phase)) {
        worst = result.phase;
        if (exceeded) {
          message = `Metric "${metric.name}" assessed ${result.phase} due to ${exceeded.reason}`;
          if (result.message !== undefined && result.message !== '') message += `: "Error Message: ${result.message}"`;
        }
      }
      countInto(runSummary, exceeded?.phase ?? 'Successful');
    } else {
      worst ??= 'Successful';
      if (exceeded) results[index] = { ...result, message: `Metric assessed ${result.phase} due to ${exceeded.reason}` };
      countInto(dryRunSummary, exceeded?.phase ?? 'Successful');
    }
  }

  status.metricResults = results;
  status.runSummary = runSummary;
  status.dryRunSummary = dryRunSummary;
  let phase: AnalysisPhase;
  if (terminating) phase = worst ?? 'Successful';
  else if (!everythingCompleted || worst === undefined) phase = 'Running';
  else phase = worst;
  status.phase = phase;
  message = message.trim();
  if (phase === 'Running' || message === '') delete status.message;
  else status.message = message;
  return status;
}

/** The run's phase and message as assessRun works them out. */
export function runPhase(run: AnalysisRun): { phase: AnalysisPhase; message?: string } {
  const status = assessRun(run);
  return status.message === undefined ? { phase: status.phase } : { phase: status.phase, message: status.message };
}

// ---------------------------------------------------------------------------
// Recording

function withMeasurement(result: MetricResult, measurement: Measurement): MetricResult {
  const next: MetricResult = { ...result, measurements: [...result.measurements] };
  const completed = isCompletedPhase(measurement.phase);
  const recorded: Measurement = completed && measurement.finishedAt === undefined ? { ...measurement, finishedAt: measurement.startedAt } : { ...measurement };
  if (completed) {
    switch (measurement.phase) {
      case 'Successful':
        next.successful++;
        break;
      case 'Failed':
        next.failed++;
        break;
      case 'Inconclusive':
        next.inconclusive++;
        break;
      default:
        break;
    }
    if (measurement.phase === 'Error') {
      next.error++;
      next.consecutiveError++;
    } else {
      next.count++;
      next.consecutiveError = 0;
    }
    next.consecutiveSuccess = measurement.phase === 'Successful' ? (result.consecutiveSuccess ?? 0) + 1 : 0;
  }
  // An in-flight measurement (no finishedAt) is replaced by what it became.
  const last = lastOf(next.measurements);
  if (last !== undefined && last.finishedAt === undefined) next.measurements[next.measurements.length - 1] = recorded;
  else next.measurements.push(recorded);
  return next;
}

/**
 * The run's status after a measurement of one metric: the counters, the
 * measurement list (trimmed to the retention limit), every phase and the
 * summaries. A measurement that is not completed (Pending, Running, no
 * finishedAt) is kept as in flight and counted once it is recorded again
 * completed. A completed measurement without finishedAt finishes when it
 * started. Nothing changes for a run or metric that already ended.
 * Throws for a metric the run does not have (a caller's mistake).
 */
export function recordMeasurement(run: AnalysisRun, metricName: string, measurement: Measurement): AnalysisRunStatus {
  const metric = run.spec.metrics.find((m) => m.name === metricName);
  if (!metric) throw new Error(`the AnalysisRun has no metric ${JSON.stringify(metricName)} (metrics: ${run.spec.metrics.map((m) => m.name).join(', ')})`);
  const current = run.status ?? { phase: 'Pending' as const };
  if (isCompletedPhase(current.phase)) return current;
  const existing = resultOf(current, metricName);
  if (existing && isCompletedPhase(existing.phase)) return current;

  const base: MetricResult = existing ?? {
    name: metricName,
    phase: 'Running',
    measurements: [],
    count: 0,
    successful: 0,
    failed: 0,
    inconclusive: 0,
    error: 0,
    consecutiveError: 0,
    ...(dryRunMetrics(run).has(metricName) ? { dryRun: true } : {}),
  };
  const updated = withMeasurement(base, measurement);
  const results = existing ? (current.metricResults ?? []).map((r) => (r.name === metricName ? updated : r)) : [...(current.metricResults ?? []), updated];
  const status = assessRun(
    { ...run, status: { ...current, metricResults: results, ...(current.startedAt === undefined ? { startedAt: measurement.startedAt } : {}) } },
  );
  status.metricResults = (status.metricResults ?? []).map((r) => {
    const limit = retentionLimit(run, r.name);
    return r.measurements.length > limit ? { ...r, measurements: r.measurements.slice(r.measurements.length - limit) } : r;
  });
  return status;
}

// ---------------------------------------------------------------------------
// Scheduling

export interface MeasurementDue {
  metric: string;
  /** When to measure (RFC 3339); at or before now: due now. */
  at: string;
  /** An in-flight measurement to look at again, rather than a new one. */
  resume?: true;
}

/**
 * When each metric takes its next measurement, in the order of the spec;
 * metrics that are done (or waiting for nothing) are left out, and so is
 * everything once the run has ended. A time at or before `now` is due now.
 */
export function nextMeasurementTimes(run: AnalysisRun, now: Date): MeasurementDue[] {
  const status = run.status;
  if (isCompletedPhase(status?.phase) || specProblem(run) !== undefined) return [];
  const nowMs = now.getTime();
  const startedMs = ms(status?.startedAt) ?? nowMs;
  const terminating = isTerminating(run);
  const due: MeasurementDue[] = [];
  for (const metric of run.spec.metrics) {
    const result = resultOf(status, metric.name);
    if (result && isCompletedPhase(result.phase)) continue;
    const last = result ? lastOf(result.measurements) : undefined;
    if (last !== undefined && last.finishedAt === undefined) {
      due.push({ metric: metric.name, at: instant(ms(last.resumeAt) ?? nowMs), resume: true });
      continue;
    }
    if (terminating) continue;
    if (last === undefined) {
      due.push({ metric: metric.name, at: instant(startedMs + (durationMs(metric.initialDelay) ?? 0)) });
      continue;
    }
    const count = effectiveCount(metric);
    if (count !== undefined && result !== undefined && result.count >= count) continue;
    const interval = last.phase === 'Error' ? ERROR_RETRY_MS : (durationMs(metric.interval) ?? ERROR_RETRY_MS);
    const finished = ms(last.finishedAt) ?? nowMs;
    due.push({ metric: metric.name, at: instant(finished + interval) });
  }
  return due;
}

/** Names of the metrics to measure now. */
export function dueMetrics(run: AnalysisRun, now: Date): string[] {
  const nowMs = now.getTime();
  return nextMeasurementTimes(run, now)
    .filter((d) => (ms(d.at) ?? nowMs) <= nowMs)
    .map((d) => d.metric);
}

/**
 * When to look at the run again: the earliest next measurement, not before
 * `now`; undefined when the run has ended or nothing is scheduled.
 */
export function nextRequeueAt(run: AnalysisRun, now: Date): string | undefined {
  const times = nextMeasurementTimes(run, now).map((d) => ms(d.at) ?? now.getTime());
  if (times.length === 0) return undefined;
  return instant(Math.max(now.getTime(), Math.min(...times)));
}

// ---------------------------------------------------------------------------
// From a provider's result to a measurement

/**
 * What the caller found: the provider's result and the conditions' values.
 * successOk/failureOk are undefined when the metric has no such condition.
 */
export interface Evaluation {
  successOk?: boolean | undefined;
  failureOk?: boolean | undefined;
  /** The provider's result, `result` in the conditions; stored as the measurement's value. */
  value?: unknown;
  /** The provider failed, or a condition could not be evaluated: the measurement is an Error. */
  error?: string | undefined;
  /** What the provider says of its result (the judge's classifications): the message unless the phase has its own. */
  note?: string | undefined;
}

/**
 * Whether a result is no data: nothing, NaN, an empty string, an empty list,
 * or a list of nothing but such values (a vector whose only sample is NaN).
 */
export function isMissingData(value: unknown): boolean {
  if (value === undefined || value === null) return true;
  if (typeof value === 'number') return Number.isNaN(value);
  if (typeof value === 'string') return value.trim() === '' || value.trim().toLowerCase() === 'nan';
  if (Array.isArray(value)) return value.every((v) => isMissingData(v));
  return false;
}

/** A result as the measurement's value: "0.97", "[0.97,0.95]", "NaN", "+Inf", JSON for objects. */
export function formatValue(value: unknown): string | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') {
    if (Number.isNaN(value)) return 'NaN';
    if (value === Infinity) return '+Inf';
    if (value === -Infinity) return '-Inf';
    return String(value);
  }
  if (typeof value === 'string') return value;
  if (typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v) ?? 'null').join(',')}]`;
  try {
    return JSON.stringify(value);
  } catch {
    return typeof value === 'function' || typeof value === 'symbol' ? typeof value : '(unprintable)';
  }
}

/**
 * A measurement's phase from an evaluation, in this order:
 *
 * 1. an error → Error;
 * 2. failureCondition true → Failed;
 * 3. successCondition true → Successful (also on missing data: the template
 *    said so, e.g. `isNaN(result) || result[0] >= 0.95`);
 * 4. successCondition false, no failureCondition → Failed;
 * 5. successCondition false, failureCondition false → Inconclusive;
 * 6. no successCondition, failureCondition false → Successful, as Argo; but
 *    Inconclusive on missing data (Weir: the template only said "not failed");
 * 7. no condition at all → Inconclusive (as Argo's documentation says;
 *    Argo's controller says Successful; Weir never promotes on nothing).
 *
 * Empty or NaN data that a condition cannot evaluate (`result[0]` of an
 * empty vector) is the caller's `error` (rule 1).
 */
export function evaluationPhase(evaluation: Evaluation): { phase: AnalysisPhase; message?: string } {
  const { successOk, failureOk, value, error } = evaluation;
  if (error !== undefined) return { phase: 'Error', message: error };
  if (failureOk === true) return { phase: 'Failed' };
  if (successOk === true) return { phase: 'Successful' };
  if (successOk === false) return failureOk === false ? { phase: 'Inconclusive' } : { phase: 'Failed' };
  if (failureOk === false) {
    return isMissingData(value) ? { phase: 'Inconclusive', message: 'no data: without a successCondition, missing data is not a success' } : { phase: 'Successful' };
  }
  return { phase: 'Inconclusive', message: 'the metric has no successCondition or failureCondition' };
}

/** A completed measurement from an evaluation (see evaluationPhase), taken from startedAt to finishedAt. */
export function measurementFromEvaluation(
  evaluation: Evaluation,
  at: { startedAt: string; finishedAt?: string; metadata?: Record<string, string> },
): Measurement {
  const judged = evaluationPhase(evaluation);
  const phase = judged.phase;
  const message = judged.message ?? evaluation.note;
  const value = formatValue(evaluation.value);
  return {
    phase,
    startedAt: at.startedAt,
    finishedAt: at.finishedAt ?? at.startedAt,
    ...(value !== undefined ? { value } : {}),
    ...(message !== undefined ? { message } : {}),
    ...(at.metadata !== undefined ? { metadata: { ...at.metadata } } : {}),
  };
}
