// Repositories on a running sandbox's Git server.
import { createBareRepository, type CreateRepositoryOptions } from './git-server.ts';
import { instanceFiles } from './paths.ts';
import { installPushWebhook, type PushWebhook } from './push-webhook.ts';
import type { SandboxState } from './state.ts';

export interface SandboxRepositoryOptions extends CreateRepositoryOptions {
  /** POST a signed push event here after every push (see push-webhook.ts). */
  webhook?: PushWebhook;
}

/** Creates `name` on the sandbox's Git server and returns its clone URL. */
export async function createSandboxRepository(state: SandboxState, name: string, opts: SandboxRepositoryOptions = {}): Promise<string> {
  const { webhook, ...create } = opts;
  const dir = await createBareRepository(instanceFiles(state.dir).gitRoot, name, create);
  const url = `${state.gitUrl}/${name}.git`;
  if (webhook) await installPushWebhook(dir, url, webhook);
  return url;
}
