// Server-side apply of objects exactly as given.
//
// client-node's KubernetesObjectApi serialises known kinds through its typed
// models, which silently drops every key the model does not name (e.g. a
// CRD schema's x-kubernetes-int-or-string or x-kubernetes-preserve-unknown-
// fields). This subclass keeps its resource discovery and authentication but
// sends the object's own JSON.
import { HttpMethod, KubernetesObjectApi, PatchStrategy, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';

export interface ApplyOptions {
  fieldManager: string;
  /** Take over fields other managers own (kubectl apply --server-side --force-conflicts). */
  force?: boolean;
  /** Validate and admit on the server without persisting. */
  dryRun?: boolean;
}

export class ObjectApplier extends KubernetesObjectApi {
  static forConfig(kc: KubeConfig): ObjectApplier {
    return kc.makeApiClient(ObjectApplier);
  }

  async apply(obj: KubernetesObject, opts: ApplyOptions): Promise<KubernetesObject> {
    const path = await this.specUriPath(obj, 'patch');
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', PatchStrategy.ServerSideApply);
    ctx.setQueryParam('fieldManager', opts.fieldManager);
    if (opts.force) ctx.setQueryParam('force', 'true');
    if (opts.dryRun) ctx.setQueryParam('dryRun', 'All');
    ctx.setBody(JSON.stringify(obj));
    return this.requestPromise(ctx);
  }
}
