// What the HTTP providers (prometheus, web, judge) share about reaching a
// server: TLS (`insecure: true` skips verifying the server's certificate;
// otherwise Node's trust store is used, the system's CAs plus the PEM file
// NODE_EXTRA_CA_CERTS names, so a private CA is trusted by giving the
// controller that variable) and OAuth2 client credentials (RFC 6749 §4.4:
// the token is fetched from tokenUrl, kept until shortly before it expires,
// and sent as `Authorization: Bearer`). A client secret never appears in an
// error, a log line or a measurement.
import { createHash } from 'node:crypto';
import { Agent } from 'node:https';
import axios, { isAxiosError } from 'axios';
import { ProviderError } from './prometheus.ts';

/** Argo's `authentication.oauth2`. */
export interface OAuth2ClientCredentials {
  tokenUrl: string;
  clientId: string;
  clientSecret: string;
  scopes?: readonly string[];
}

/** One agent for every request that skips verification (keep-alive shared). */
const insecureAgent = new Agent({ rejectUnauthorized: false, keepAlive: true });

/** The axios options for a provider's TLS setting. */
export function tlsOptions(insecure: boolean | undefined): { httpsAgent?: Agent } {
  return insecure === true ? { httpsAgent: insecureAgent } : {};
}

interface CachedToken {
  accessToken: string;
  /** ms since the epoch; Infinity when the server gave no expiry. */
  expiresAt: number;
}

/** Tokens by client (a digest of URL, id, secret and scopes: the secret is not kept as a key). */
const tokens = new Map<string, CachedToken>();
const TOKEN_CACHE_LIMIT = 256;
/** A token is renewed this long before it expires (golang.org/x/oauth2 renews 10 s early). */
const EXPIRY_MARGIN_MS = 10_000;

function clientKey(c: OAuth2ClientCredentials): string {
  return createHash('sha256')
    .update(JSON.stringify([c.tokenUrl, c.clientId, c.clientSecret, [...(c.scopes ?? [])]]))
    .digest('hex');
}

/** Forgets every cached token (tests). */
export function clearTokenCache(): void {
  tokens.clear();
}

interface TokenAnswer {
  access_token?: unknown;
  token_type?: unknown;
  expires_in?: unknown;
  error?: unknown;
  error_description?: unknown;
}

/** Where a token came from, for messages: the token URL without query or credentials. */
function where(tokenUrl: string): string {
  try {
    const u = new URL(tokenUrl);
    return `${u.origin}${u.pathname}`;
  } catch {
    return 'the tokenUrl';
  }
}

/**
 * One token request. The client authenticates with HTTP Basic (RFC 6749
 * §2.3.1, client_secret_basic); a server that refuses that (400 or 401) is
 * asked again with the credentials in the body (client_secret_post), as
 * golang.org/x/oauth2 does when it has to guess.
 */
async function requestToken(c: OAuth2ClientCredentials, opts: { insecure?: boolean; timeoutMs: number; signal?: AbortSignal }): Promise<CachedToken> {
  const form = (extra: Record<string, string>): string =>
    new URLSearchParams({ grant_type: 'client_credentials', ...((c.scopes ?? []).length > 0 ? { scope: (c.scopes ?? []).join(' ') } : {}), ...extra }).toString();
  const basic = `Basic ${Buffer.from(`${encodeURIComponent(c.clientId)}:${encodeURIComponent(c.clientSecret)}`).toString('base64')}`;
  const attempt = async (style: 'basic' | 'post'): Promise<{ status: number; body: TokenAnswer }> => {
    const res = await axios.post<TokenAnswer>(c.tokenUrl, style === 'basic' ? form({}) : form({ client_id: c.clientId, client_secret: c.clientSecret }), {
      headers: { 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json', ...(style === 'basic' ? { Authorization: basic } : {}) },
      timeout: opts.timeoutMs,
      ...(opts.signal ? { signal: opts.signal } : {}),
      validateStatus: () => true,
      responseType: 'json',
      ...tlsOptions(opts.insecure),
    });
    return { status: res.status, body: typeof res.data === 'object' && (res.data as unknown) !== null ? res.data : {} };
  };
  let answer: { status: number; body: TokenAnswer };
  try {
    answer = await attempt('basic');
    if (answer.status === 400 || answer.status === 401) answer = await attempt('post');
  } catch (err) {
    const reason = isAxiosError(err) ? (err.code === 'ECONNABORTED' || err.code === 'ERR_CANCELED' ? `timed out after ${opts.timeoutMs} ms` : (err.code ?? err.message)) : 'request failed';
    throw new ProviderError(`OAuth2 token request to ${where(c.tokenUrl)} failed: ${reason}`);
  }
  const { status, body } = answer;
  if (status < 200 || status >= 300 || typeof body.access_token !== 'string' || body.access_token === '') {
    const said = typeof body.error === 'string' ? `: ${body.error}${typeof body.error_description === 'string' ? ` (${body.error_description.slice(0, 200)})` : ''}` : '';
    throw new ProviderError(`OAuth2 token request to ${where(c.tokenUrl)} answered HTTP ${status}${said}${status >= 200 && status < 300 ? ': no access_token in the answer' : ''}`);
  }
  if (typeof body.token_type === 'string' && body.token_type.toLowerCase() !== 'bearer') {
    throw new ProviderError(`OAuth2 token from ${where(c.tokenUrl)} is of type ${JSON.stringify(body.token_type.slice(0, 40))}: only Bearer tokens are supported`);
  }
  const expiresIn = typeof body.expires_in === 'number' ? body.expires_in : typeof body.expires_in === 'string' ? Number(body.expires_in) : Number.NaN;
  return { accessToken: body.access_token, expiresAt: Number.isFinite(expiresIn) && expiresIn > 0 ? Date.now() + expiresIn * 1000 : Number.POSITIVE_INFINITY };
}

/** The Authorization header for a client: a cached token while it is good, else a new one. */
export async function bearerHeader(c: OAuth2ClientCredentials, opts: { insecure?: boolean; timeoutMs: number; signal?: AbortSignal }): Promise<Record<string, string>> {
  const key = clientKey(c);
  let token = tokens.get(key);
  if (token === undefined || Date.now() >= token.expiresAt - EXPIRY_MARGIN_MS) {
    token = await requestToken(c, opts);
    if (tokens.size >= TOKEN_CACHE_LIMIT) tokens.delete(tokens.keys().next().value ?? '');
    tokens.set(key, token);
  }
  return { Authorization: `Bearer ${token.accessToken}` };
}

/** A provider's headers with its OAuth2 token added (in place of an Authorization header of its own). */
export async function authorizedHeaders(
  headers: Record<string, string> | undefined,
  oauth2: OAuth2ClientCredentials | undefined,
  opts: { insecure?: boolean; timeoutMs: number; signal?: AbortSignal },
): Promise<Record<string, string>> {
  if (oauth2 === undefined) return { ...(headers ?? {}) };
  const kept = Object.fromEntries(Object.entries(headers ?? {}).filter(([k]) => k.toLowerCase() !== 'authorization'));
  return { ...kept, ...(await bearerHeader(oauth2, opts)) };
}
