// The process's informers, one per kind: every controller that reads or
// watches a kind gets the same informer, so each kind is listed and watched
// once per process however many controllers use it. The cache is scoped to
// one namespace or to all (cluster-scoped kinds are watched cluster-wide
// either way), starts each informer once, and stops them all.
//
// A second informer of a kind is refused: asking for a kind with another label
// selector than the informer already made throws, and so does constructing a
// ResilientInformer of a resource a live one already watches.
import type { KubeConfig, KubernetesListObject, KubernetesObject } from '@kubernetes/client-node';
import type { Logger } from '../util/log.ts';
import { ResilientInformer } from './informer.ts';

/** A kind as an informer watches it. */
export interface Kind<T extends KubernetesObject> {
  /** Its plural, for logs: `rollouts`. */
  readonly plural: string;
  /** Its group version's API path: `/api/v1`, `/apis/apps/v1`. */
  readonly apiPath: string;
  /** Watched cluster-wide whatever the cache's namespace. */
  readonly clusterScoped?: boolean;
  /** Only objects with this label selector are cached (one selector per kind and process). */
  readonly labelSelector?: string;
  /** Makes the list call (in `namespace`, or all when undefined) the informer lists with. */
  lister(kc: KubeConfig, namespace: string | undefined): () => Promise<KubernetesListObject<T>>;
}

export interface InformerCacheOptions {
  kubeConfig: KubeConfig;
  logger: Logger;
  /** Watch one namespace; all when undefined. */
  namespace?: string;
  /** Re-list interval of every informer (staleness guard); the informer's default when undefined. */
  resyncMs?: number;
}

interface Entry {
  kind: Kind<KubernetesObject>;
  informer: ResilientInformer<KubernetesObject>;
}

export class InformerCache {
  readonly #opts: InformerCacheOptions;
  readonly #entries = new Map<string, Entry>();

  constructor(opts: InformerCacheOptions) {
    this.#opts = opts;
  }

  get namespace(): string | undefined {
    return this.#opts.namespace;
  }

  /** The watch path of `kind` in this cache's scope. */
  pathOf(kind: Kind<KubernetesObject>): string {
    const ns = this.#opts.namespace;
    return `${kind.apiPath}${ns !== undefined && kind.clusterScoped !== true ? `/namespaces/${ns}` : ''}/${kind.plural}`;
  }

  /** The informer of `kind`: made at the first call, the same one after. */
  informer<T extends KubernetesObject>(kind: Kind<T>): ResilientInformer<T> {
    const path = this.pathOf(kind);
    const existing = this.#entries.get(path);
    if (existing) {
      if (existing.kind.labelSelector !== kind.labelSelector) {
        const selector = (s: string | undefined): string => (s === undefined ? 'no label selector' : `label selector "${s}"`);
        throw new Error(`${path} is already watched with ${selector(existing.kind.labelSelector)}; a second informer with ${selector(kind.labelSelector)} would watch it twice: filter the shared informer's objects instead`);
      }
      // The entry was made by this method for this path from a Kind<T> with the same selector.
      return existing.informer as unknown as ResilientInformer<T>;
    }
    const ns = kind.clusterScoped === true ? undefined : this.#opts.namespace;
    const informer = new ResilientInformer<T>({
      kubeConfig: this.#opts.kubeConfig,
      logger: this.#opts.logger,
      name: kind.plural,
      path,
      list: kind.lister(this.#opts.kubeConfig, ns),
      ...(kind.labelSelector === undefined ? {} : { labelSelector: kind.labelSelector }),
      ...(this.#opts.resyncMs === undefined ? {} : { resyncMs: this.#opts.resyncMs }),
    });
    this.#entries.set(path, { kind, informer: informer as unknown as ResilientInformer<KubernetesObject> });
    return informer;
  }

  /** Starts `kind`'s informer unless it runs already; resolves once it holds a first list (or on stop). */
  start(kind: Kind<KubernetesObject>): Promise<void> {
    return this.informer(kind).start();
  }

  synced(kind: Kind<KubernetesObject>): boolean {
    return this.informer(kind).synced;
  }

  /** The watch paths of the informers made so far. */
  watched(): string[] {
    return [...this.#entries.keys()].sort();
  }

  async stop(): Promise<void> {
    await Promise.all([...this.#entries.values()].map((e) => e.informer.stop()));
  }
}
