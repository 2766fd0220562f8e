// A Git remote as the rest of Weir describes it (a GitSource's URL plus the
// credentials from its secretRef), and its normalised form: the URL without
// credentials (used in messages, logs and the mirror's cache key) and the
// Authorization header sent with every request.
import { Buffer } from 'node:buffer';
import { createHash } from 'node:crypto';
import { DEFAULT_HTTP_TIMEOUT_MS, redactUrl } from './http-client.ts';

/** Credentials from a GitSource's secretRef: basic auth, or a token (sent as basic auth). */
export interface GitAuth {
  username?: string;
  password?: string;
  /** A personal access token or app token; sent as the basic-auth password (username `x-access-token` unless given). */
  token?: string;
}

export interface GitRemote {
  /** `http://` or `https://` URL of the repository; credentials in it are accepted but `auth` is preferred. */
  url: string;
  auth?: GitAuth;
  /** Deadline of each HTTP request (connect, answer and body); default 30 s. */
  timeoutMs?: number;
}

/** A remote ready for use: never log `headers`. */
export interface ResolvedRemote {
  /** The URL without credentials and without trailing slashes. */
  url: string;
  /** Headers for every request (Authorization when there are credentials). */
  headers: Record<string, string>;
  /** Strings that must never appear in messages. */
  secrets: string[];
  hasCredentials: boolean;
  timeoutMs: number;
  /** Directory name of this remote's mirror: readable prefix plus a hash of `url`. */
  key: string;
}

export const TOKEN_USERNAME = 'x-access-token';

export function resolveRemote(remote: GitRemote): ResolvedRemote {
  let parsed: URL;
  try {
    parsed = new URL(remote.url);
  } catch {
    throw new Error(`invalid Git URL ${JSON.stringify(redactUrl(remote.url))}: expected http(s)://host/path`);
  }
  if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
    throw new Error(`unsupported Git URL scheme ${JSON.stringify(parsed.protocol)}: only http:// and https:// are supported`);
  }
  let username = remote.auth?.username;
  let password = remote.auth?.token ?? remote.auth?.password;
  if (remote.auth?.token !== undefined && username === undefined) username = TOKEN_USERNAME;
  if (username === undefined && password === undefined && (parsed.username !== '' || parsed.password !== '')) {
    username = decodeURIComponent(parsed.username);
    password = decodeURIComponent(parsed.password);
  }
  parsed.username = '';
  parsed.password = '';
  parsed.hash = '';
  const url = parsed.toString().replace(/\/+$/, '');
  const headers: Record<string, string> = {};
  const secrets: string[] = [];
  const hasCredentials = username !== undefined || password !== undefined;
  if (hasCredentials) {
    const user = username ?? '';
    const pass = password ?? '';
    headers.authorization = `Basic ${Buffer.from(`${user}:${pass}`).toString('base64')}`;
    if (pass !== '') secrets.push(pass);
  }
  const timeoutMs = remote.timeoutMs ?? DEFAULT_HTTP_TIMEOUT_MS;
  if (!Number.isFinite(timeoutMs) || timeoutMs <= 0) throw new Error(`invalid Git timeout ${timeoutMs} ms: must be a positive number`);
  return { url, headers, secrets, hasCredentials, timeoutMs, key: mirrorKey(url) };
}

/** `<last path segment>-<24 hex of sha256(url)>`: stable, filesystem-safe, and readable in a directory listing. */
export function mirrorKey(url: string): string {
  const hash = createHash('sha256').update(url).digest('hex').slice(0, 24);
  const last = url.split(/[/?#]/).filter((s) => s !== '').pop() ?? 'repo';
  const base = last.replace(/\.git$/, '').replace(/[^A-Za-z0-9._-]/g, '_').replace(/^\.+/, '').slice(0, 40);
  return `${base === '' ? 'repo' : base}-${hash}`;
}
