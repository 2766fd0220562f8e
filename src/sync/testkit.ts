// Helpers for the sync unit tests: documents from YAML, and errors shaped
// like the Kubernetes client's.
import { parseDocuments } from './documents.ts';
import type { SyncDocument } from './types.ts';

/** The documents of one YAML file; throws if the YAML has problems (tests of problems call parseDocuments). */
export function docs(yaml: string, file = 'app.yaml'): SyncDocument[] {
  const parsed = parseDocuments([{ path: file, content: yaml }]);
  if (parsed.problems.length > 0) throw new Error(`unexpected problems: ${JSON.stringify(parsed.problems)}`);
  return parsed.documents;
}

/** An error as client-node's ApiException carries it: HTTP code and the API server's Status as the body. */
export function kubeError(code: number, reason: string | undefined, message: string, causes?: { field?: string; message: string }[]): Error & { code: number; body: string } {
  const status = { kind: 'Status', apiVersion: 'v1', status: 'Failure', message, ...(reason ? { reason } : {}), ...(causes ? { details: { causes } } : {}), code };
  return Object.assign(new Error(`HTTP ${code}`), { code, body: JSON.stringify(status) });
}

/** The API server's "404 page not found" for a group/version it does not serve. */
export function notServed(): Error & { code: number; body: string } {
  return Object.assign(new Error('HTTP 404'), { code: 404, body: '404 page not found\n' });
}
