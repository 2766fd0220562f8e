// The sandbox's Git server: `git http-backend` run as a CGI program behind
// node:http, serving smart HTTP (clone, fetch, push; protocol v0/v1/v2) for
// bare repositories under one root directory, with optional basic auth.
//
// Only for the sandbox: it listens on loopback by default and has no TLS.
import { execFile, spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { createHash, timingSafeEqual } from 'node:crypto';
import { access, constants, mkdir, stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { pipeline } from 'node:stream';
import { promisify } from 'node:util';
import { createLogger } from '../util/log.ts';
import { sleep } from '../util/wait.ts';

const execFileAsync = promisify(execFile);
const log = createLogger('git-server');

/** Realm sent in `WWW-Authenticate` when basic auth is on. */
export const AUTH_REALM = 'weir-sandbox';

/** How long `close()` lets in-flight CGI processes finish before killing them. */
const CLOSE_GRACE_MS = 5_000;
/** Largest CGI response head (status line and headers) accepted. */
const MAX_CGI_HEAD_BYTES = 64 * 1024;
/** Stderr lines kept per request for the 502 message. */
const STDERR_TAIL_LINES = 5;

const SEGMENT = '[a-z0-9][a-z0-9._-]*';
const REPOSITORY_NAME = new RegExp(`^${SEGMENT}(?:/${SEGMENT})*$`);
const MAX_REPOSITORY_NAME_LENGTH = 200;

export interface GitServerAuth {
  username: string;
  password: string;
}

export interface GitServerOptions {
  /** Directory holding the bare repositories (`<root>/<name>.git`); created if missing. */
  root: string;
  /** Address to listen on; default 127.0.0.1. */
  host?: string;
  /** Port to listen on; default 0 (any free port). */
  port?: number;
  /** When set, every request needs these basic-auth credentials. */
  auth?: GitServerAuth;
}

export interface CreateRepositoryOptions {
  /** Branch HEAD points at in the new repository; default `main`. */
  defaultBranch?: string;
}

export interface GitServer {
  /** Base URL, e.g. `http://127.0.0.1:PORT` (no trailing slash). */
  readonly url: string;
  readonly port: number;
  /** Absolute path of the repository root. */
  readonly root: string;
  /** Creates the bare repository `<root>/<name>.git` and returns its clone URL. */
  createRepository(name: string, opts?: CreateRepositoryOptions): Promise<string>;
  /** Stops listening, lets in-flight CGI processes finish (or kills them), closes connections. */
  close(): Promise<void>;
}

/** Throws unless `name` is a valid repository name (`a`, `team/app`, `my-app.v2`). */
export function validateRepositoryName(name: string): void {
  if (
    name.length === 0 ||
    name.length > MAX_REPOSITORY_NAME_LENGTH ||
    !REPOSITORY_NAME.test(name) ||
    name.includes('..') ||
    name.endsWith('.git')
  ) {
    throw new Error(
      `invalid repository name ${JSON.stringify(name)}: use lowercase letters, digits, '.', '_' and '-', ` +
        `starting with a letter or digit, optionally in '/'-separated segments, without '..' ` +
        `and without the '.git' suffix (at most ${MAX_REPOSITORY_NAME_LENGTH} characters)`,
    );
  }
}

/**
 * Creates the bare repository `<root>/<name>.git` that accepts pushes over
 * HTTP, and returns its directory. A running server serves it at once, so
 * other processes (the CLI, tests) can create repositories too.
 */
export async function createBareRepository(root: string, name: string, opts: CreateRepositoryOptions = {}): Promise<string> {
  validateRepositoryName(name);
  const baseEnv = gitBaseEnv(root);
  const branch = opts.defaultBranch ?? 'main';
  try {
    await execFileAsync('git', ['check-ref-format', '--branch', branch], { env: baseEnv });
  } catch {
    throw new Error(`invalid default branch name ${JSON.stringify(branch)}`);
  }
  const dir = path.join(root, `${name}.git`);
  const exists = await stat(dir).then(
    () => true,
    () => false,
  );
  if (exists) throw new Error(`repository ${JSON.stringify(name)} already exists at ${dir}`);
  await mkdir(path.dirname(dir), { recursive: true });
  await execFileAsync('git', ['init', '--quiet', '--bare', `--initial-branch=${branch}`, dir], { env: baseEnv });
  await execFileAsync('git', ['config', 'http.receivepack', 'true'], { env: { ...baseEnv, GIT_DIR: dir } });
  return dir;
}

/** Environment for every git process: no inherited GIT_* variables, no user or system config. */
function gitBaseEnv(root: string): NodeJS.ProcessEnv {
  return {
    PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
    HOME: root,
    GIT_CONFIG_NOSYSTEM: '1',
    GIT_TERMINAL_PROMPT: '0',
    LC_ALL: 'C',
  };
}

async function findHttpBackend(): Promise<string> {
  const candidates: string[] = [];
  try {
    const { stdout } = await execFileAsync('git', ['--exec-path'], { env: { PATH: process.env.PATH ?? '' } });
    const execPath = stdout.trim();
    if (execPath !== '') candidates.push(path.join(execPath, 'git-http-backend'));
  } catch {
    // git not on PATH; fall back to Debian's location.
  }
  candidates.push('/usr/lib/git-core/git-http-backend');
  for (const candidate of candidates) {
    try {
      await access(candidate, constants.X_OK);
      return candidate;
    } catch {
      // try the next one
    }
  }
  throw new Error(
    `git http-backend not found (looked at ${candidates.join(', ')}); install git (Debian package "git")`,
  );
}

function sha256(value: string): Buffer {
  return createHash('sha256').update(value, 'utf8').digest();
}

/** Checks a basic-auth Authorization header in constant time with respect to the secret. */
function checkBasicAuth(header: string | undefined, auth: GitServerAuth): boolean {
  if (header === undefined) return false;
  const match = /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  const encoded = match?.[1];
  if (encoded === undefined) return false;
  const decoded = Buffer.from(encoded, 'base64').toString('utf8');
  const colon = decoded.indexOf(':');
  if (colon < 0) return false;
  const userOk = timingSafeEqual(sha256(decoded.slice(0, colon)), sha256(auth.username));
  const passwordOk = timingSafeEqual(sha256(decoded.slice(colon + 1)), sha256(auth.password));
  return userOk && passwordOk;
}

interface CgiHead {
  status: number;
  statusMessage: string | undefined;
  headers: [string, string][];
}

/** Parses a CGI response head (without the terminating blank line). */
function parseCgiHead(text: string): CgiHead {
  const head: CgiHead = { status: 200, statusMessage: undefined, headers: [] };
  let sawLocation = false;
  let sawStatus = false;
  for (const line of text.split(/\r?\n/)) {
    if (line === '') continue;
    const colon = line.indexOf(':');
    if (colon <= 0) throw new Error(`malformed CGI header line ${JSON.stringify(line)}`);
    const name = line.slice(0, colon).trim();
    const value = line.slice(colon + 1).trim();
    if (name.toLowerCase() === 'status') {
      const status = /^(\d{3})(?:\s+(.*))?$/.exec(value);
      if (status?.[1] === undefined) throw new Error(`malformed CGI Status header ${JSON.stringify(value)}`);
      head.status = Number(status[1]);
      head.statusMessage = status[2] === undefined || status[2] === '' ? undefined : status[2];
      sawStatus = true;
    } else {
      if (name.toLowerCase() === 'location') sawLocation = true;
      head.headers.push([name, value]);
    }
  }
  if (sawLocation && !sawStatus) head.status = 302;
  return head;
}

/** Finds the end of the CGI head: returns [headEnd, bodyStart] or undefined. */
function findHeadEnd(buf: Buffer): [number, number] | undefined {
  const crlf = buf.indexOf('\r\n\r\n');
  const lf = buf.indexOf('\n\n');
  if (crlf >= 0 && (lf < 0 || crlf < lf)) return [crlf, crlf + 4];
  if (lf >= 0) return [lf, lf + 2];
  return undefined;
}

function sendPlain(res: ServerResponse, status: number, message: string, headers: Record<string, string> = {}): void {
  if (res.headersSent) {
    res.destroy();
    return;
  }
  res.writeHead(status, { 'Content-Type': 'text/plain; charset=utf-8', 'Cache-Control': 'no-cache', ...headers });
  res.end(`${message}\n`);
}

export async function startGitServer(opts: GitServerOptions): Promise<GitServer> {
  const root = path.resolve(opts.root);
  const host = opts.host ?? '127.0.0.1';
  const auth = opts.auth;
  await mkdir(root, { recursive: true });
  const backend = await findHttpBackend();
  const baseEnv = gitBaseEnv(root);

  /** Running CGI processes, each with a promise settled when it has exited and its pipes closed. */
  const inFlight = new Map<ChildProcessWithoutNullStreams, Promise<void>>();

  function handle(req: IncomingMessage, res: ServerResponse): void {
    const method = req.method ?? 'GET';
    const rawUrl = req.url ?? '/';
    const queryAt = rawUrl.indexOf('?');
    const rawPath = queryAt < 0 ? rawUrl : rawUrl.slice(0, queryAt);
    const query = queryAt < 0 ? '' : rawUrl.slice(queryAt + 1);

    res.on('finish', () => {
      log.debug({ method, path: rawPath, status: res.statusCode }, 'request');
    });

    if (auth !== undefined && !checkBasicAuth(req.headers.authorization, auth)) {
      sendPlain(res, 401, 'authentication required', { 'WWW-Authenticate': `Basic realm="${AUTH_REALM}"` });
      return;
    }

    let pathInfo: string;
    try {
      pathInfo = decodeURIComponent(rawPath);
    } catch {
      sendPlain(res, 400, 'malformed URL path');
      return;
    }
    if (pathInfo.includes('\0') || pathInfo.split('/').includes('..')) {
      sendPlain(res, 400, 'invalid URL path');
      return;
    }

    const env: NodeJS.ProcessEnv = {
      ...baseEnv,
      GATEWAY_INTERFACE: 'CGI/1.1',
      SERVER_PROTOCOL: `HTTP/${req.httpVersion}`,
      SERVER_SOFTWARE: 'weir-sandbox-git-server',
      GIT_PROJECT_ROOT: root,
      GIT_HTTP_EXPORT_ALL: '1',
      PATH_INFO: pathInfo,
      QUERY_STRING: query,
      REQUEST_METHOD: method,
      REMOTE_ADDR: req.socket.remoteAddress ?? '',
    };
    const contentType = req.headers['content-type'];
    if (contentType !== undefined) env.CONTENT_TYPE = contentType;
    const contentLength = req.headers['content-length'];
    if (contentLength !== undefined) env.CONTENT_LENGTH = contentLength;
    const contentEncoding = req.headers['content-encoding'];
    if (contentEncoding !== undefined) env.HTTP_CONTENT_ENCODING = contentEncoding;
    const gitProtocol = req.headers['git-protocol'];
    if (typeof gitProtocol === 'string') env.GIT_PROTOCOL = gitProtocol;
    if (auth !== undefined) {
      env.REMOTE_USER = auth.username;
      env.AUTH_TYPE = 'Basic';
    }

    const child = spawn(backend, [], { env, stdio: ['pipe', 'pipe', 'pipe'] });
    let exited!: () => void;
    inFlight.set(
      child,
      new Promise<void>((resolve) => {
        exited = resolve;
      }),
    );

    const stderrTail: string[] = [];
    let stderrPartial = '';
    const flushStderrLine = (line: string): void => {
      if (line.trim() === '') return;
      log.warn({ method, path: rawPath, stderr: line }, 'git http-backend stderr');
      stderrTail.push(line);
      if (stderrTail.length > STDERR_TAIL_LINES) stderrTail.shift();
    };
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (chunk: string) => {
      const lines = (stderrPartial + chunk).split('\n');
      stderrPartial = lines.pop() ?? '';
      for (const line of lines) flushStderrLine(line);
    });

    const fail = (reason: string): void => {
      const detail = stderrTail.length > 0 ? `: ${stderrTail.join(' | ')}` : '';
      log.warn({ method, path: rawPath, reason }, 'git http-backend failed');
      sendPlain(res, 502, `git http-backend failed: ${reason}${detail}`);
    };

    // Client went away before the response was complete: stop the CGI.
    res.on('close', () => {
      if (!res.writableFinished && child.exitCode === null && child.signalCode === null) {
        log.debug({ method, path: rawPath }, 'client disconnected; killing git http-backend');
        child.kill('SIGTERM');
      }
    });
    req.on('error', (err) => {
      log.debug({ method, path: rawPath, err: err.message }, 'request stream error');
      child.kill('SIGTERM');
    });

    // Request body -> CGI stdin. EPIPE here means the CGI stopped reading; its exit tells the story.
    child.stdin.on('error', (err) => {
      log.debug({ method, path: rawPath, err: err.message }, 'CGI stdin error');
    });
    req.pipe(child.stdin);

    // CGI stdout: head (until the blank line), then the body streamed to the client.
    let headChunks: Buffer[] = [];
    let headBytes = 0;
    let headDone = false;
    const onStdout = (chunk: Buffer): void => {
      headChunks.push(chunk);
      headBytes += chunk.length;
      const buf = Buffer.concat(headChunks, headBytes);
      const end = findHeadEnd(buf);
      if (end === undefined) {
        headChunks = [buf];
        if (headBytes > MAX_CGI_HEAD_BYTES) {
          child.stdout.off('data', onStdout);
          child.kill('SIGTERM');
          fail(`response head larger than ${MAX_CGI_HEAD_BYTES} bytes`);
        }
        return;
      }
      headDone = true;
      child.stdout.off('data', onStdout);
      headChunks = [];
      let head: CgiHead;
      try {
        head = parseCgiHead(buf.subarray(0, end[0]).toString('latin1'));
      } catch (err) {
        child.kill('SIGTERM');
        fail(err instanceof Error ? err.message : String(err));
        return;
      }
      if (res.destroyed) return;
      res.statusCode = head.status;
      if (head.statusMessage !== undefined) res.statusMessage = head.statusMessage;
      for (const [name, value] of head.headers) res.appendHeader(name, value);
      const rest = buf.subarray(end[1]);
      if (rest.length > 0) res.write(rest);
      pipeline(child.stdout, res, (err) => {
        if (err !== null && !res.destroyed) res.destroy();
      });
    };
    child.stdout.on('data', onStdout);

    child.on('error', (err) => {
      // Spawn failure; 'close' may or may not follow.
      if (!headDone) {
        headDone = true;
        fail(`cannot run ${backend}: ${err.message}`);
      }
      inFlight.delete(child);
      exited();
    });
    child.on('close', (code, signal) => {
      flushStderrLine(stderrPartial);
      stderrPartial = '';
      inFlight.delete(child);
      exited();
      if (!headDone) {
        headDone = true;
        if (!res.destroyed) {
          fail(signal !== null ? `killed by ${signal} before responding` : `exited with code ${code ?? '?'} before responding`);
        }
      } else if (code !== 0 && code !== null) {
        log.warn({ method, path: rawPath, code }, 'git http-backend exited with an error after responding');
      }
    });
  }

  const server: Server = createServer((req, res) => {
    try {
      handle(req, res);
    } catch (err) {
      log.error({ err: err instanceof Error ? err.message : String(err) }, 'git server request handler failed');
      sendPlain(res, 500, 'internal error');
    }
  });
  server.on('clientError', (err, socket) => {
    log.debug({ err: err.message }, 'client error');
    if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
    else socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (err: Error): void => {
      reject(err);
    };
    server.once('error', onError);
    server.listen(opts.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const urlHost = host.includes(':') ? `[${host}]` : host;
  const url = `http://${urlHost}:${port}`;
  log.info({ url, root, auth: auth !== undefined }, 'git server listening');

  let closing: Promise<void> | undefined;

  async function closeServer(): Promise<void> {
    const closed = new Promise<void>((resolve) => {
      server.close(() => {
        resolve();
      });
    });
    server.closeIdleConnections();
    const pending = [...inFlight.values()];
    if (pending.length > 0) {
      const grace = new AbortController();
      const finished = Promise.all(pending).then(() => true);
      const timedOut = sleep(CLOSE_GRACE_MS, grace.signal).then(
        () => false,
        () => true,
      );
      const allDone = await Promise.race([finished, timedOut]);
      grace.abort();
      if (!allDone) {
        log.warn({ count: inFlight.size }, 'killing git http-backend processes still running at close');
        for (const child of inFlight.keys()) child.kill('SIGKILL');
        await Promise.all([...inFlight.values()]);
      }
    }
    server.closeAllConnections();
    await closed;
    log.info({ url }, 'git server closed');
  }

  async function createRepository(name: string, repoOpts: CreateRepositoryOptions = {}): Promise<string> {
    const dir = await createBareRepository(root, name, repoOpts);
    log.info({ name, dir, defaultBranch: repoOpts.defaultBranch ?? 'main' }, 'repository created');
    return `${url}/${name}.git`;
  }

  return {
    url,
    port,
    root,
    createRepository,
    close(): Promise<void> {
      closing ??= closeServer();
      return closing;
    },
  };
}
