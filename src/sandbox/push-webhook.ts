// Push webhooks for repositories on the sandbox's Git server, as a Git host
// sends them: after every push, `git receive-pack` runs the repository's
// post-receive hook, which POSTs a GitHub-style push event signed with
// X-Hub-Signature-256 to the configured URL. The hook is this file run by
// Node; its configuration (URL, secret, clone URL) sits beside the bare
// repository, readable by its owner only.
import { createHmac } from 'node:crypto';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export interface PushWebhook {
  /** Where to POST the push event, e.g. the controller's http://127.0.0.1:PORT/hooks/git. */
  url: string;
  /** The HMAC secret (the controller's --webhook-secret). */
  secret: string;
}

interface HookConfig extends PushWebhook {
  cloneUrl: string;
}

export interface RefUpdate {
  before: string;
  after: string;
  ref: string;
}

const CONFIG_FILE = 'weir-push-webhook.json';
const HOOK_TIMEOUT_MS = 5_000;

/** The ref updates post-receive reads on stdin: "<old> <new> <ref>" per line. Pure. */
export function parseRefUpdates(stdin: string): RefUpdate[] {
  return stdin
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter((parts): parts is [string, string, string] => parts.length === 3)
    .map(([before, after, ref]) => ({ before, after, ref }));
}

/** A GitHub push event for one ref update, and its X-Hub-Signature-256. Pure. */
export function signedPushEvent(update: RefUpdate, cloneUrl: string, secret: string): { body: string; signature: string } {
  const body = JSON.stringify({ ref: update.ref, before: update.before, after: update.after, repository: { clone_url: cloneUrl } });
  return { body, signature: `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` };
}

/** Installs the post-receive hook of the bare repository `repoDir`. */
export async function installPushWebhook(repoDir: string, cloneUrl: string, webhook: PushWebhook): Promise<void> {
  const config: HookConfig = { ...webhook, cloneUrl };
  await writeFile(join(repoDir, CONFIG_FILE), JSON.stringify(config) + '\n', { mode: 0o600 });
  const quote = (s: string): string => `'${s.replace(/'/g, `'\\''`)}'`;
  const hook = join(repoDir, 'hooks', 'post-receive');
  // receive-pack runs hooks in the bare repository, so the configuration is found relative to it.
  await writeFile(hook, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(fileURLToPath(import.meta.url))} "$(pwd)/${CONFIG_FILE}"\n`);
  await chmod(hook, 0o755);
}

/** The hook itself: one POST per updated ref. Never fails the push; says what happened on stdout (the pusher sees "remote: ..."). */
async function runHook(configFile: string): Promise<void> {
  const config = JSON.parse(await readFile(configFile, 'utf8')) as HookConfig;
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  for (const update of parseRefUpdates(Buffer.concat(chunks).toString('utf8'))) {
    const { body, signature } = signedPushEvent(update, config.cloneUrl, config.secret);
    try {
      const res = await fetch(config.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature },
        body,
        signal: AbortSignal.timeout(HOOK_TIMEOUT_MS),
      });
      await res.text();
      process.stdout.write(`webhook ${config.url}: ${res.status} for ${update.ref}\n`);
    } catch (err) {
      process.stdout.write(`webhook ${config.url} failed for ${update.ref}: ${err instanceof Error ? err.message : String(err)}\n`);
    }
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  const configFile = process.argv[2];
  if (configFile === undefined) {
    process.stderr.write('usage: push-webhook.ts CONFIG_FILE < ref updates\n');
    process.exit(2);
  }
  await runHook(configFile);
}
