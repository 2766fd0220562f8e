// The web provider: an HTTP request whose JSON answer (or the part jsonPath
// selects) is the condition's `result`.
import axios, { isAxiosError } from 'axios';
import { JSONPath } from 'jsonpath-plus';
import { authorizedHeaders, tlsOptions, type OAuth2ClientCredentials } from './http-auth.ts';
import { ProviderError } from './prometheus.ts';

export interface WebRequest {
  url: string;
  method?: 'GET' | 'POST' | 'PUT';
  headers?: Record<string, string>;
  /** Sent as it is, with no Content-Type unless `headers` sets one (as Argo's provider sends `body`). */
  body?: string;
  /** Sent as JSON, with Content-Type: application/json unless `headers` sets one (Argo's `jsonBody`). */
  json?: unknown;
  jsonPath?: string;
  timeoutMs?: number;
  /** Skip verifying the server's TLS certificate. */
  insecure?: boolean;
  /** Client credentials to get a Bearer token with. */
  oauth2?: OAuth2ClientCredentials;
}

/** Applies an Argo-style jsonPath ("{$.data.ok}" or "$.data.ok") to a parsed answer. */
export function selectJsonPath(json: unknown, jsonPath: string | undefined): unknown {
  if (jsonPath === undefined || jsonPath === '') return json;
  const path = jsonPath.replace(/^\{(.*)\}$/, '$1');
  const found: unknown[] = JSONPath<unknown[]>({ path, json: json as object, wrap: true });
  if (found.length === 0) throw new ProviderError(`jsonPath ${jsonPath} matched nothing`);
  return found.length === 1 ? found[0] : found;
}

/** The request's headers, with the Content-Type its body calls for when the user set none; `false` keeps axios from adding its own (form-urlencoded for a string). */
function requestHeaders(r: WebRequest): Record<string, string | false> {
  const headers: Record<string, string | false> = { ...(r.headers ?? {}) };
  const userSet = Object.keys(headers).some((k) => k.toLowerCase() === 'content-type');
  if (!userSet && r.json !== undefined) headers['Content-Type'] = 'application/json';
  else if (!userSet && r.body !== undefined) headers['Content-Type'] = false;
  return headers;
}

export async function queryWeb(r: WebRequest, signal?: AbortSignal): Promise<unknown> {
  const timeout = r.timeoutMs ?? 10_000;
  const signals = [AbortSignal.timeout(timeout), ...(signal ? [signal] : [])];
  let status: number;
  let text: string;
  const authorized = await authorizedHeaders(r.headers, r.oauth2, { ...(r.insecure !== undefined ? { insecure: r.insecure } : {}), timeoutMs: timeout, signal: AbortSignal.any(signals) });
  try {
    const res = await axios.request<string>({
      url: r.url,
      method: r.method ?? 'GET',
      headers: requestHeaders({ ...r, headers: authorized }),
      ...tlsOptions(r.insecure),
      data: r.json !== undefined ? JSON.stringify(r.json) : r.body,
      timeout,
      signal: AbortSignal.any(signals),
      responseType: 'text',
      transformResponse: (d: unknown) => d,
      validateStatus: () => true,
    });
    status = res.status;
    text = res.data;
  } catch (err) {
    const reason = isAxiosError(err) && (err.code === 'ECONNABORTED' || err.code === 'ERR_CANCELED') ? `timed out after ${timeout} ms` : isAxiosError(err) ? (err.code ?? err.message) : String(err);
    throw new ProviderError(`${r.method ?? 'GET'} ${new URL(r.url).origin}${new URL(r.url).pathname} failed: ${reason}`, { cause: err });
  }
  if (status < 200 || status >= 300) throw new ProviderError(`${r.method ?? 'GET'} ${r.url} answered HTTP ${status}`);
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    throw new ProviderError(`${r.url} did not answer JSON (got ${JSON.stringify(text.slice(0, 80))})`);
  }
  return selectJsonPath(json, r.jsonPath);
}
