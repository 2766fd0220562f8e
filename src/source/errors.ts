// One error type for everything the Git source can fail at, with a kind the
// caller can act on (retry with backoff, or report and wait for a new
// commit) and a message that names the remote without its credentials.
import { Errors } from 'isomorphic-git';
import { GitTransportError } from './http-client.ts';

export type GitSourceErrorKind =
  /** No (complete) answer within the deadline. */
  | 'timeout'
  /** Connection refused, DNS failure, host unreachable. */
  | 'unreachable'
  /** Connection reset or closed, TLS failure, too many redirects. */
  | 'network'
  /** The operation was aborted through its AbortSignal. */
  | 'aborted'
  /** HTTP 401/403: missing or wrong credentials. */
  | 'auth'
  /** The repository, ref or commit does not exist. */
  | 'not-found'
  /** HTTP 5xx, 429 or another unexpected status. */
  | 'server'
  /** The server did not speak Git's smart HTTP protocol. */
  | 'protocol'
  /** A revert could not be applied: the files changed since. */
  | 'conflict'
  /** The server refused a push for a reason other than a race. */
  | 'push-rejected'
  /** Bad input (a path with `..`, a malformed sha). */
  | 'invalid'
  /** Anything else from isomorphic-git or the file system. */
  | 'git';

const RETRYABLE = new Set<GitSourceErrorKind>(['timeout', 'unreachable', 'network', 'server']);

export class GitSourceError extends Error {
  override name = 'GitSourceError';
  readonly kind: GitSourceErrorKind;
  /** Whether trying again later (with backoff) can help. */
  readonly retryable: boolean;

  constructor(kind: GitSourceErrorKind, message: string, options?: ErrorOptions) {
    super(message, options);
    this.kind = kind;
    this.retryable = RETRYABLE.has(kind);
  }
}

export interface ErrorContext {
  /** What was being done, e.g. `listing refs of http://host/repo.git`. */
  action: string;
  /** Secrets that must not appear in any message (passwords, tokens). */
  secrets: readonly string[];
  /** Whether credentials were configured (for a better 401 message). */
  hasCredentials: boolean;
}

/** Replaces every occurrence of each secret (and its URL-encoded form) with `[redacted]`. */
export function scrubSecrets(text: string, secrets: readonly string[]): string {
  let out = text;
  for (const secret of secrets) {
    if (secret.length < 3) continue;
    for (const form of new Set([secret, encodeURIComponent(secret), Buffer.from(secret).toString('base64')])) {
      out = out.split(form).join('[redacted]');
    }
  }
  return out;
}

/** First line of a server's error body, trimmed to something that fits in a message. */
function bodySnippet(body: string): string {
  const text = body.replace(/<[^>]*>/g, ' ').replace(/\s+/g, ' ').trim();
  if (text === '') return '';
  return `: ${text.length > 200 ? `${text.slice(0, 200)}…` : text}`;
}

/** Turns anything thrown while talking to a remote into a GitSourceError with a clear, credential-free message. */
export function toGitSourceError(err: unknown, ctx: ErrorContext): GitSourceError {
  const make = (kind: GitSourceErrorKind, message: string): GitSourceError =>
    new GitSourceError(kind, scrubSecrets(`${ctx.action}: ${message}`, ctx.secrets), { cause: err });
  if (err instanceof GitSourceError) return err;
  if (err instanceof GitTransportError) {
    const kind: GitSourceErrorKind =
      err.kind === 'timeout' ? 'timeout' : err.kind === 'unreachable' ? 'unreachable' : err.kind === 'aborted' ? 'aborted' : 'network';
    return make(kind, err.message);
  }
  if (err instanceof Errors.HttpError) {
    const { statusCode, statusMessage, response } = err.data;
    const status = `HTTP ${statusCode}${statusMessage === '' ? '' : ` ${statusMessage}`}`;
    if (statusCode === 401 || statusCode === 403) {
      const hint = ctx.hasCredentials
        ? 'the credentials were rejected (check the secret referenced by secretRef)'
        : 'the server requires credentials and none are configured (set secretRef)';
      return make('auth', `${hint} (${status})`);
    }
    if (statusCode === 404) return make('not-found', `repository not found (${status})${bodySnippet(response)}`);
    return make('server', `the server answered ${status}${bodySnippet(response)}`);
  }
  if (err instanceof Errors.SmartHttpError) {
    return make('protocol', 'the server did not answer with the Git smart HTTP protocol (is the URL a Git repository?)');
  }
  if (err instanceof Errors.EmptyServerResponseError || err instanceof Errors.ParseError) {
    return make('protocol', `malformed answer from the server: ${err.message}`);
  }
  if (err instanceof Errors.GitPushError) return make('push-rejected', `the server refused the push:${err.data.prettyDetails}`);
  if (err instanceof Errors.PushRejectedError) return make('push-rejected', err.message);
  if (err instanceof Errors.UserCanceledError) return make('aborted', 'canceled');
  const message = err instanceof Error ? err.message : String(err);
  return make('git', message);
}
