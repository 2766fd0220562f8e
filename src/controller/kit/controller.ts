// The one way to declare a controller, in the spirit of controller-runtime's
// builder: a name, the kind it reconciles, the kinds it watches and how an
// event of each maps to keys (namespace/name of the reconciled kind), its
// queue's backoff, its workers and its reconcile function (which returns when
// to look at the key again). The kit takes the informers from the process's
// InformerCache, so a controller cannot open a watch of its own; it builds the
// queue, the handlers and the workers, and starts the workers once every
// informer the controller waits for holds a first list.
import type { KubernetesObject } from '@kubernetes/client-node';
import type { InformerCache, Kind } from '../../cluster/informer-cache.ts';
import type { InformerEvent } from '../../cluster/informer.ts';
import type { Logger } from '../../util/log.ts';
import { WorkQueue, runWorkers } from '../queue.ts';

/** The keys an event asks to reconcile: one, several, or none. */
export type Keys = string | Iterable<string> | undefined;

/** A watched kind, its events mapped to keys (made by `watches`). */
export interface Watch {
  readonly kind: Kind<KubernetesObject>;
  /** Reconciling does not wait for it to be synced (an optional CRD). */
  readonly optional: boolean;
  /** Adds its handlers to the kind's shared informer. */
  attach(cache: InformerCache, enqueue: (key: string) => void): void;
}

const ALL_EVENTS: readonly InformerEvent[] = ['add', 'update', 'delete'];

/**
 * Watch `kind`: each of `events` (default all) of an object queues the keys
 * `toKeys` maps it to. `toKeys` may also note what the event means for the
 * controller (e.g. forget a deleted object), and return nothing.
 */
export function watches<T extends KubernetesObject>(
  kind: Kind<T>,
  toKeys: (obj: T, event: InformerEvent) => Keys,
  opts: { events?: readonly InformerEvent[]; optional?: boolean } = {},
): Watch {
  return {
    kind,
    optional: opts.optional === true,
    attach(cache, enqueue) {
      const informer = cache.informer(kind);
      for (const event of opts.events ?? ALL_EVENTS) {
        informer.on(event, (obj) => {
          const keys = toKeys(obj, event);
          if (keys === undefined) return;
          if (typeof keys === 'string') enqueue(keys);
          else for (const key of keys) enqueue(key);
        });
      }
    },
  };
}

/** The queue key of an object: namespace/name. */
export function objectKey(obj: { metadata?: { namespace?: string; name?: string } }): string {
  return `${obj.metadata?.namespace ?? 'default'}/${obj.metadata?.name ?? ''}`;
}

/** Maps an object to the key of its controller owner of `kind` (`apiVersion`), if it has one. */
export function controllerOwnerKey(kind: string, apiVersion: string): (obj: { metadata?: { namespace?: string; ownerReferences?: { controller?: boolean; kind: string; apiVersion: string; name: string }[] } }) => Keys {
  return (obj) => {
    const owner = obj.metadata?.ownerReferences?.find((o) => o.controller === true && o.kind === kind && o.apiVersion === apiVersion);
    return owner ? `${obj.metadata?.namespace ?? 'default'}/${owner.name}` : undefined;
  };
}

export interface ControllerDeclaration {
  /** For logs: `rollout` logs "rollout controller started". */
  name: string;
  /** The kind it reconciles: keys are its objects' namespace/name. Its events queue keys only through a watch of it. */
  kind: Kind<KubernetesObject>;
  watches: readonly Watch[];
  /** Retry backoff of a key whose reconcile failed: first delay, doubling up to the maximum. */
  backoff: { baseDelayMs: number; maxDelayMs: number };
  workers: number;
  /** One reconcile of `key`; returns when to reconcile it again (ms since the epoch), if at all. */
  reconcile(key: string): Promise<number | undefined>;
  /** Hears of a failed reconcile (it is retried in `retryInMs`). */
  onFailure(key: string, err: unknown, retryInMs: number): void;
  logger: Logger;
}

/** A declared controller at work: its queue fed by the shared informers' events, its workers reconciling. */
export class Controller {
  readonly name: string;
  readonly #decl: ControllerDeclaration;
  readonly #cache: InformerCache;
  readonly #queue: WorkQueue;
  /** The kinds it waits for before reconciling: the reconciled kind and each watched one not optional. */
  readonly #required: Kind<KubernetesObject>[];
  readonly #optional: Kind<KubernetesObject>[];
  #workers: Promise<void>[] = [];
  #running = false;
  #stopped = false;

  constructor(cache: InformerCache, decl: ControllerDeclaration) {
    this.name = decl.name;
    this.#decl = decl;
    this.#cache = cache;
    this.#queue = new WorkQueue(decl.backoff);
    cache.informer(decl.kind);
    const required = new Set<Kind<KubernetesObject>>([decl.kind]);
    const optional = new Set<Kind<KubernetesObject>>();
    for (const w of decl.watches) {
      w.attach(cache, (key) => {
        this.#queue.add(key);
      });
      (w.optional ? optional : required).add(w.kind);
    }
    this.#required = [...required];
    this.#optional = [...optional].filter((k) => !required.has(k));
  }

  /** Queue `key` now (e.g. a webhook asks for it). */
  enqueue(key: string): void {
    this.#queue.add(key);
  }

  /** Working, and every informer it waits for holds a first list. */
  get ready(): boolean {
    return this.#running && this.#required.every((k) => this.#cache.synced(k));
  }

  /** Starts the informers it uses (those not yet started), waits for those it needs, then its workers. */
  async start(): Promise<void> {
    for (const kind of this.#optional) void this.#cache.start(kind);
    await Promise.all(this.#required.map((kind) => this.#cache.start(kind)));
    if (this.#stopped) return;
    this.#running = true;
    this.#workers = runWorkers(this.#queue, this.#decl.workers, (key) => this.#decl.reconcile(key), (key, err, retryInMs) => {
      this.#decl.onFailure(key, err, retryInMs);
    });
    this.#decl.logger.info({ namespace: this.#cache.namespace ?? '(all)', workers: this.#decl.workers }, `${this.name} controller started`);
  }

  /** Stops taking keys and waits for the reconciles under way; the informers are the cache's to stop. */
  async stop(): Promise<void> {
    this.#stopped = true;
    this.#running = false;
    this.#queue.shutDown();
    await Promise.all(this.#workers);
  }
}
