// Repositories on a running sandbox's Git server.
import { createBareRepository, type CreateRepositoryOptions } from './git-server.ts';
import { instanceFiles } from './paths.ts';
import type { SandboxState } from './state.ts';

/** Creates `name` on the sandbox's Git server and returns its clone URL. */
export async function createSandboxRepository(state: SandboxState, name: string, opts: CreateRepositoryOptions = {}): Promise<string> {
  await createBareRepository(instanceFiles(state.dir).gitRoot, name, opts);
  return `${state.gitUrl}/${name}.git`;
}
