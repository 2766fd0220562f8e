// GitSources in end-to-end tests: create one in a namespace, read it, wait
// on its status, and tell the controller of a push as GitHub does.
import { createHmac } from 'node:crypto';
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

/** A condition of a GitSource's status. */
export function sourceCondition(s: GitSourceStatus, type: string): NonNullable<GitSourceStatus['conditions']>[number] | undefined {
  return s.conditions?.find((c) => c.type === type);
}

/** The messages of the Events with `reason` about the object `name` in `namespace`. */
export async function eventMessages(sb: TestSandbox, namespace: string, name: string, reason: string): Promise<string[]> {
  const list = await sb.core.listNamespacedEvent({ namespace, fieldSelector: `involvedObject.name=${name},reason=${reason}` });
  return list.items.map((e) => e.message ?? '');
}

/** POSTs a GitHub push event for `repoUrl`'s main, signed with `secret`, to the controller's /hooks/git; returns the HTTP status. */
export async function pushWebhook(controllerUrl: string, repoUrl: string, secret: string): Promise<number> {
  const body = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: repoUrl } });
  const res = await fetch(`${controllerUrl}/hooks/git`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': `sha256=${createHmac('sha256', secret).update(body).digest('hex')}` },
    body,
  });
  await res.text();
  return res.status;
}
