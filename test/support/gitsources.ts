// GitSources in end-to-end tests: create one in a namespace, read it, and
// wait on its status.
import type { GitSource } from '../../src/api/gitsource.ts';
import { waitFor } from '../../src/util/wait.ts';
import type { TestSandbox } from './sandbox.ts';

export const GITSOURCES = { group: 'weir.dev', version: 'v1alpha1', plural: 'gitsources' } as const;
export type GitSourceStatus = NonNullable<GitSource['status']>;

/** A GitSource following `main` of `url`; `spec` adds to or overrides that. */
export async function createGitSource(sb: TestSandbox, namespace: string, name: string, url: string, spec: Record<string, unknown>): Promise<void> {
  await sb.custom.createNamespacedCustomObject({
    ...GITSOURCES,
    namespace,
    body: { apiVersion: 'weir.dev/v1alpha1', kind: 'GitSource', metadata: { name, namespace }, spec: { url, ref: { branch: 'main' }, ...spec } },
  });
}

export async function getGitSource(sb: TestSandbox, namespace: string, name: string): Promise<GitSource> {
  return (await sb.custom.getNamespacedCustomObject({ ...GITSOURCES, namespace, name })) as GitSource;
}

/** Waits until the GitSource's status satisfies `predicate`; returns the GitSource. */
export function waitForGitSource(sb: TestSandbox, namespace: string, name: string, what: string, predicate: (s: GitSourceStatus) => boolean, timeoutMs = 60_000): Promise<GitSource> {
  return waitFor(
    async () => {
      const s = await getGitSource(sb, namespace, name);
      return s.status && predicate(s.status) ? s : undefined;
    },
    { what: `GitSource ${name}: ${what}`, timeoutMs, intervalMs: 200 },
  );
}
