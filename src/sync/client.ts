// The Kubernetes client the sync steps use: ObjectApplier (server-side
// apply of objects as given) plus API discovery of a kind's scope, and a
// JSON patch of metadata.managedFields for taking over drifted fields.
import { HttpMethod, PatchStrategy, type KubeConfig } from '@kubernetes/client-node';
import { ObjectApplier } from '../cluster/apply.ts';
import { kubeErrorCode } from '../cluster/errors.ts';
import type { ManagedFieldsEntry } from './drift.ts';
import type { ObjectRef } from './types.ts';

export class SyncClient extends ObjectApplier {
  static override forConfig(kc: KubeConfig): SyncClient {
    return kc.makeApiClient(SyncClient);
  }

  /**
   * Whether the API server serves `kind` of `apiVersion` namespaced (true),
   * cluster-scoped (false), or not at all (undefined). Discovery results are
   * cached per apiVersion; a kind missing from the cache is looked up again.
   */
  async isNamespaced(apiVersion: string, kind: string): Promise<boolean | undefined> {
    try {
      const resource = await this.resource(apiVersion, kind);
      return resource?.namespaced;
    } catch (err) {
      if (kubeErrorCode(err) === 404) return undefined; // the group/version is not served
      throw err;
    }
  }

  /** Replaces metadata.managedFields, only if the object is still at `resourceVersion` (else 409/422). */
  async replaceManagedFields(ref: ObjectRef, resourceVersion: string, entries: ManagedFieldsEntry[]): Promise<void> {
    const path = await this.specUriPath(
      { apiVersion: ref.apiVersion, kind: ref.kind, metadata: { name: ref.name, ...(ref.namespace === undefined ? {} : { namespace: ref.namespace }) } },
      'patch',
    );
    const ctx = this.configuration.baseServer.makeRequestContext(path, HttpMethod.PATCH);
    ctx.setHeaderParam('Accept', 'application/json');
    ctx.setHeaderParam('Content-Type', PatchStrategy.JsonPatch);
    ctx.setBody(
      JSON.stringify([
        { op: 'test', path: '/metadata/resourceVersion', value: resourceVersion },
        { op: 'replace', path: '/metadata/managedFields', value: entries },
      ]),
    );
    await this.requestPromise(ctx);
  }
}
