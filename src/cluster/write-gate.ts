// A KubeConfig whose API clients refuse to send writes unless a predicate
// (with leader election: "this process holds the Lease") says yes.
//
// Every request an API client made by KubeConfig.makeApiClient sends, typed
// or KubernetesObjectApi, asks its KubeConfig to authenticate it right
// before it goes out; that is where the gate sits. Reads (GET, watches) pass,
// so a standby keeps warm caches; anything else (POST, PUT, PATCH, DELETE)
// throws NotLeaderError instead of reaching the API server. The controllers
// need no change: a refused write is a failed reconcile, like any API error.
import { KubeConfig, type RequestContext } from '@kubernetes/client-node';

export class NotLeaderError extends Error {
  override name = 'NotLeaderError';
}

const READ_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export function isWriteMethod(method: string): boolean {
  return !READ_METHODS.has(method.toUpperCase());
}

class WriteGatedKubeConfig extends KubeConfig {
  readonly #mayWrite: () => boolean;

  constructor(mayWrite: () => boolean) {
    super();
    this.#mayWrite = mayWrite;
  }

  override async applySecurityAuthentication(context: RequestContext): Promise<void> {
    await super.applySecurityAuthentication(context);
    // Checked last, after any awaited credential refresh: nothing is awaited between here and the send.
    const method: string = context.getHttpMethod();
    if (isWriteMethod(method) && !this.#mayWrite()) {
      throw new NotLeaderError(`not the leader: refusing ${method} ${new URL(context.getUrl()).pathname}`);
    }
  }
}

/** A copy of `source` (same clusters, users, contexts) whose clients send writes only while `mayWrite()` is true. */
export function writeGatedKubeConfig(source: KubeConfig, mayWrite: () => boolean): KubeConfig {
  const kc = new WriteGatedKubeConfig(mayWrite);
  kc.loadFromOptions({
    clusters: source.getClusters(),
    users: source.getUsers(),
    contexts: source.getContexts(),
    currentContext: source.getCurrentContext(),
  });
  return kc;
}
