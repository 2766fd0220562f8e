// The Prometheus provider: an instant or range query against the HTTP API,
// with a timeout and an abort signal on every request. The result is what a
// condition sees as `result`: a number (scalar), an array of numbers
// (instant vector, one per series), or an array of arrays (range query,
// one array of values per series). NaN stays NaN and an empty vector stays
// empty, so a condition can never succeed on missing data by accident.
import axios, { isAxiosError } from 'axios';
import { authorizedHeaders, tlsOptions, type OAuth2ClientCredentials } from './http-auth.ts';

export interface PrometheusQuery {
  address: string;
  query: string;
  /** Milliseconds. */
  timeoutMs?: number;
  headers?: Record<string, string>;
  /** A range query over [start, end] with this step (seconds); instant when absent. */
  range?: { start: Date; end: Date; stepSeconds: number };
  /** Skip verifying the server's TLS certificate. */
  insecure?: boolean;
  /** Client credentials to get a Bearer token with. */
  oauth2?: OAuth2ClientCredentials;
}

export interface QueryResult {
  value: number | number[] | number[][] | string;
  /** The result type Prometheus reported. */
  resultType: 'scalar' | 'vector' | 'matrix' | 'string';
  /** Series labels, in the order of `value` (vector and matrix). */
  series: Record<string, string>[];
}

interface PromResponse {
  status: 'success' | 'error';
  errorType?: string;
  error?: string;
  data?: { resultType: QueryResult['resultType']; result: unknown };
}

function sampleValue(v: unknown): number {
  // Prometheus encodes sample values as strings: "1.5", "NaN", "+Inf".
  if (typeof v !== 'string') return Number.NaN;
  if (v === '+Inf') return Number.POSITIVE_INFINITY;
  if (v === '-Inf') return Number.NEGATIVE_INFINITY;
  return Number(v);
}

/** Parses the `data` of a successful Prometheus query response. */
export function parsePrometheusData(data: { resultType: QueryResult['resultType']; result: unknown }): QueryResult {
  switch (data.resultType) {
    case 'scalar': {
      const pair = data.result as [number, string];
      return { value: sampleValue(pair[1]), resultType: 'scalar', series: [] };
    }
    case 'string': {
      const pair = data.result as [number, string];
      return { value: pair[1], resultType: 'string', series: [] };
    }
    case 'vector': {
      const samples = data.result as { metric: Record<string, string>; value: [number, string] }[];
      return { value: samples.map((s) => sampleValue(s.value[1])), resultType: 'vector', series: samples.map((s) => s.metric) };
    }
    case 'matrix': {
      const series = data.result as { metric: Record<string, string>; values: [number, string][] }[];
      return { value: series.map((s) => s.values.map((v) => sampleValue(v[1]))), resultType: 'matrix', series: series.map((s) => s.metric) };
    }
  }
}

export class ProviderError extends Error {
  override name = 'ProviderError';
}

export async function queryPrometheus(q: PrometheusQuery, signal?: AbortSignal): Promise<QueryResult> {
  const base = q.address.replace(/\/+$/, '');
  const timeout = q.timeoutMs ?? 10_000;
  const params: Record<string, string> = { query: q.query };
  let path = '/api/v1/query';
  if (q.range) {
    path = '/api/v1/query_range';
    params.start = String(q.range.start.getTime() / 1000);
    params.end = String(q.range.end.getTime() / 1000);
    params.step = String(q.range.stepSeconds);
  }
  const signals = [AbortSignal.timeout(timeout), ...(signal ? [signal] : [])];
  let body: PromResponse;
  const headers = await authorizedHeaders(q.headers, q.oauth2, { ...(q.insecure !== undefined ? { insecure: q.insecure } : {}), timeoutMs: timeout, signal: AbortSignal.any(signals) });
  try {
    const res = await axios.get<PromResponse>(`${base}${path}`, {
      params,
      timeout,
      signal: AbortSignal.any(signals),
      headers,
      validateStatus: () => true,
      responseType: 'json',
      ...tlsOptions(q.insecure),
    });
    body = res.data;
    if (res.status < 200 || res.status >= 300) {
      throw new ProviderError(`Prometheus at ${base} answered HTTP ${res.status}${body.error ? `: ${body.error}` : ''}`);
    }
  } catch (err) {
    if (err instanceof ProviderError) throw err;
    if (isAxiosError(err)) {
      const reason = err.code === 'ECONNABORTED' || err.code === 'ERR_CANCELED' ? `timed out after ${timeout} ms` : (err.code ?? err.message);
      throw new ProviderError(`Prometheus at ${base} unreachable: ${reason}`, { cause: err });
    }
    throw new ProviderError(`Prometheus at ${base}: ${err instanceof Error ? err.message : String(err)}`, { cause: err });
  }
  if (typeof body !== 'object' || body.status !== 'success' || !body.data) {
    throw new ProviderError(`Prometheus query failed: ${body.errorType ?? 'error'}: ${body.error ?? 'no data in the response'}`);
  }
  return parsePrometheusData(body.data);
}
