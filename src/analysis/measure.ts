// One measurement of one metric: ask the provider, evaluate the conditions,
// and say what the measurement is (Successful, Failed, Inconclusive, Error).
// The metric's {{args.x}} must already be substituted.
import type { JudgeMetric, Measurement, Metric } from '../api/analysis.ts';
import { JUDGE_DEFAULTS } from '../api/analysis.ts';
import { parseDuration } from '../api/duration.ts';
import { evaluateCondition, evaluateTime } from './expression.ts';
import { judge, type JudgeResult } from './judge/index.ts';
import { measurementFromEvaluation, type Evaluation } from './measurements.ts';
import type { OAuth2ClientCredentials } from './providers/http-auth.ts';
import { queryPrometheus } from './providers/prometheus.ts';
import { queryWeb } from './providers/web.ts';

export interface MeasurementDetail {
  provider: 'prometheus' | 'web' | 'judge';
  /** What was asked: the query or the URL. */
  request: string;
  /** What came back (`result` in the conditions). */
  result?: unknown;
  conditions: { kind: 'success' | 'failure'; source: string; outcome: string }[];
  judgement?: JudgeResult;
}

export interface MeasurementOutcome {
  measurement: Measurement;
  detail: MeasurementDetail;
}

/** A provider's complete OAuth2 client credentials (validation refuses incomplete ones). */
function oauth2Of(auth: { oauth2?: { tokenUrl?: string; clientId?: string; clientSecret?: string; scopes?: string[] } } | undefined): { oauth2: OAuth2ClientCredentials } | Record<string, never> {
  const o = auth?.oauth2;
  if (o?.tokenUrl === undefined || o.clientId === undefined || o.clientSecret === undefined) return {};
  return { oauth2: { tokenUrl: o.tokenUrl, clientId: o.clientId, clientSecret: o.clientSecret, ...(o.scopes ? { scopes: o.scopes } : {}) } };
}

function headerMap(headers: readonly { key: string; value: string }[] | undefined): Record<string, string> {
  return Object.fromEntries((headers ?? []).map((h) => [h.key, h.value]));
}

function finite(series: number[][]): number[] {
  return series.flat().filter((v) => Number.isFinite(v));
}

/** A rangeQuery's [start, end] at `now` (its expressions: now() - duration("5m")), and its step in seconds. */
export function queryRange(rangeQuery: { start: string; end: string; step: string }, now: Date): { start: Date; end: Date; stepSeconds: number } {
  const time = (field: 'start' | 'end'): Date => {
    const r = evaluateTime(rangeQuery[field], now);
    if (!r.ok) throw new Error(`rangeQuery.${field} ${JSON.stringify(rangeQuery[field])}: ${r.error}`);
    return r.value;
  };
  const start = time('start');
  const end = time('end');
  if (end.getTime() < start.getTime()) throw new Error(`rangeQuery: end ${end.toISOString()} is before start ${start.toISOString()}`);
  let stepMs: number;
  try {
    stepMs = parseDuration(rangeQuery.step);
  } catch (err) {
    throw new Error(`rangeQuery.step ${JSON.stringify(rangeQuery.step)}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (!(stepMs > 0)) throw new Error(`rangeQuery.step ${JSON.stringify(rangeQuery.step)} must be more than 0`);
  return { start, end, stepSeconds: stepMs / 1000 };
}

async function judgeMeasure(provider: NonNullable<Metric['provider']['judge']>, now: Date, signal?: AbortSignal): Promise<JudgeResult> {
  const windowMs = parseDuration(provider.window ?? JUDGE_DEFAULTS.window);
  const stepSeconds = Math.max(1, Math.round(parseDuration(provider.step ?? JUDGE_DEFAULTS.step) / 1000));
  const range = { start: new Date(now.getTime() - windowMs), end: now, stepSeconds };
  const metrics: JudgeMetric[] =
    provider.metrics ??
    (provider.baseline && provider.canary
      ? [{ name: 'metric', baseline: provider.baseline, canary: provider.canary, ...(provider.direction ? { direction: provider.direction } : {}), ...(provider.effectSize ? { effectSize: provider.effectSize } : {}) }]
      : []);
  const samples = async (query: string): Promise<number[]> => {
    const r = await queryPrometheus(
      {
        address: provider.address,
        query,
        range,
        headers: headerMap(provider.headers),
        ...(provider.timeout ? { timeoutMs: provider.timeout * 1000 } : {}),
        ...(provider.insecure !== undefined ? { insecure: provider.insecure } : {}),
      },
      signal,
    );
    return Array.isArray(r.value) ? finite(r.value.map((v) => (Array.isArray(v) ? v : [v]))) : [];
  };
  const inputs = [];
  for (const m of metrics) {
    inputs.push({
      name: m.name,
      baseline: await samples(m.baseline.query),
      canary: await samples(m.canary.query),
      ...(m.weight === undefined ? {} : { weight: m.weight }),
      ...(m.critical === undefined ? {} : { critical: m.critical }),
      config: { direction: m.direction ?? provider.direction ?? JUDGE_DEFAULTS.direction, ...(m.effectSize ?? provider.effectSize ? { effectSize: m.effectSize ?? provider.effectSize ?? {} } : {}) },
    });
  }
  return judge(inputs, { pass: provider.pass ?? JUDGE_DEFAULTS.pass, marginal: provider.marginal ?? JUDGE_DEFAULTS.marginal });
}

/** "score 0 (fail): mean latency: High — canary is higher …": the metrics that did not pass, for the measurement's message. */
export function judgementSummary(j: JudgeResult): string {
  const notPassing = j.metrics.filter((m) => m.classification !== 'Pass').map((m) => `${m.name}: ${m.classification} — ${m.reason}`);
  return `score ${j.score} (${j.verdict}): ${notPassing.length > 0 ? notPassing.join('; ') : 'every metric passes'}`;
}

function conditionOutcome(source: string | undefined, kind: 'success' | 'failure', value: unknown, detail: MeasurementDetail): { ok?: boolean; error?: string } {
  if (source === undefined) return {};
  const r = evaluateCondition(source, value);
  detail.conditions.push({ kind, source, outcome: r.ok ? String(r.value) : `error: ${r.error}` });
  return r.ok ? { ok: r.value } : { error: `${kind}Condition ${JSON.stringify(source)}: ${r.error}` };
}

/** Takes one measurement of `metric` at `now`; never throws (provider failures are Error measurements). */
export async function measureMetric(metric: Metric, now: Date, signal?: AbortSignal): Promise<MeasurementOutcome> {
  const startedAt = now.toISOString();
  const p = metric.provider;
  const detail: MeasurementDetail = { provider: p.judge ? 'judge' : p.web ? 'web' : 'prometheus', request: p.prometheus?.query ?? p.web?.url ?? 'judge', conditions: [] };
  let evaluation: Evaluation;
  try {
    if (p.judge) {
      const j = await judgeMeasure(p.judge, now, signal);
      detail.judgement = j;
      detail.result = j.score;
      evaluation = { value: j.score, successOk: j.verdict === 'pass', failureOk: j.verdict === 'fail', note: judgementSummary(j) };
    } else {
      let value: unknown;
      if (p.prometheus) {
        const range = p.prometheus.rangeQuery === undefined ? undefined : queryRange(p.prometheus.rangeQuery, now);
        const answer = await queryPrometheus(
          {
            address: p.prometheus.address,
            query: p.prometheus.query,
            headers: headerMap(p.prometheus.headers),
            ...(p.prometheus.timeout ? { timeoutMs: p.prometheus.timeout * 1000 } : {}),
            ...(range !== undefined ? { range } : {}),
            ...(p.prometheus.insecure !== undefined ? { insecure: p.prometheus.insecure } : {}),
            ...oauth2Of(p.prometheus.authentication),
          },
          signal,
        );
        // A range query's samples, every series' in order, are one list (Argo's `result`: all(result, # < 1000) checks each).
        value = answer.resultType === 'matrix' && Array.isArray(answer.value) ? answer.value.flat() : answer.value;
      } else if (p.web) {
        value = await queryWeb(
          {
            url: p.web.url,
            ...(p.web.method ? { method: p.web.method } : {}),
            headers: headerMap(p.web.headers),
            ...(p.web.body !== undefined ? { body: p.web.body } : p.web.jsonBody !== undefined ? { json: p.web.jsonBody } : {}),
            ...(p.web.jsonPath ? { jsonPath: p.web.jsonPath } : {}),
            ...(p.web.timeoutSeconds ? { timeoutMs: p.web.timeoutSeconds * 1000 } : {}),
            ...(p.web.insecure !== undefined ? { insecure: p.web.insecure } : {}),
            ...oauth2Of(p.web.authentication),
          },
          signal,
        );
      } else {
        throw new Error('the metric names no provider Weir supports (prometheus, web, judge)');
      }
      detail.result = value;
      const success = conditionOutcome(metric.successCondition, 'success', value, detail);
      const failure = conditionOutcome(metric.failureCondition, 'failure', value, detail);
      evaluation = { value, successOk: success.ok, failureOk: failure.ok, error: success.error ?? failure.error };
    }
  } catch (err) {
    evaluation = { error: err instanceof Error ? err.message : String(err) };
  }
  return { measurement: measurementFromEvaluation(evaluation, { startedAt, finishedAt: new Date().toISOString() }), detail };
}
