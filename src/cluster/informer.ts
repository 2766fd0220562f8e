// Informers that recover. client-node's informer (ListWatch) stops on some
// watch errors and does not restart itself; this wrapper restarts it with
// backoff, and re-lists periodically (a staleness guard against a watch that
// silently stopped delivering). Reads come from its cache, never from the API
// server.
//
// The periodic re-list does not stop and start the ListWatch: stopping aborts
// the watch request, client-node reports that abort as an error, and a restart
// from it keeps the last resourceVersion (so it never lists again). Instead the
// Watch given to the ListWatch ends its open request and tells the ListWatch
// the resourceVersion is gone (410), which is its own way to list afresh
// (emitting add/update/delete for what changed) and then watch from the list.
//
// One process watches a resource through one informer: a second informer of a
// resource that a live one already watches is refused (see InformerCache).
import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject } from '@kubernetes/client-node';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from '../util/log.ts';
import { describeKubeError } from './errors.ts';

export type Handler<T> = (obj: T) => void;
export type InformerEvent = 'add' | 'update' | 'delete';

export interface ResilientInformerOptions<T extends KubernetesObject> {
  kubeConfig: KubeConfig;
  /** Watch path, e.g. /apis/apps/v1/replicasets or /apis/weir.dev/v1alpha1/namespaces/ns/rollouts. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  logger: Logger;
  /** What it watches, for logs. */
  name: string;
  /** Full re-list interval (staleness guard); 0 disables. */
  resyncMs?: number;
}

/** The resource a watch path names, whatever its namespace: /apis/apps/v1/namespaces/x/replicasets → /apis/apps/v1/replicasets. */
export function watchedResource(path: string): string {
  return path.replace(/\/namespaces\/[^/]+\//, '/');
}

/** Resources watched by a live informer of this process, and by which. */
const liveInformers = new Map<string, { readonly name: string }>();

/** The resources this process watches now (one informer each). */
export function watchedResources(): string[] {
  return [...liveInformers.keys()].sort();
}

function claim(resource: string, informer: { readonly name: string }): void {
  const holder = liveInformers.get(resource);
  if (holder !== undefined && holder !== informer) {
    throw new Error(`${resource} is already watched in this process (informer "${holder.name}"): share that informer (InformerCache) rather than open a second watch`);
  }
  liveInformers.set(resource, informer);
}

/** A 410 as client-node's ListWatch understands it: drop the resourceVersion, list again, then watch. */
const RELIST = Object.assign(new Error('periodic re-list'), { statusCode: 410 });

interface OpenWatch {
  /** The request as client-node's Watch returned it (set once its response started). */
  request: AbortController | undefined;
  /** We ended it to re-list. */
  relist: boolean;
  /** The ListWatch ended it (its stop). */
  aborted: boolean;
}

/**
 * client-node's Watch as the ListWatch uses it, with two differences: a
 * request the ListWatch aborted itself (its stop) ends without an error, and
 * `relist()` ends the open request as a 410 so that the ListWatch lists again.
 */
class RelistingWatch extends Watch {
  #open: OpenWatch | undefined;
  /** The ListWatch is listing because we asked it to: its reconnect backoff is not for that. */
  #relisting = false;

  /**
   * The ListWatch's pause before it watches again (it backs off when watches
   * end without events): none after a re-list we asked for, or that re-list
   * would wait out a backoff that grows with each quiet period.
   */
  readonly reconnectDelay = (ms: number): Promise<void> => {
    if (this.#relisting) {
      this.#relisting = false;
      return Promise.resolve();
    }
    return sleep(ms);
  };

  override async watch(
    path: string,
    queryParams: Record<string, string | number | boolean | undefined>,
    // Watch's own signature (client-node types a watch event's object as any).
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    callback: (phase: string, apiObj: any, watchObj?: any) => void,
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    done: (err: any) => void,
  ): Promise<AbortController> {
    this.#relisting = false;
    const open: OpenWatch = { request: undefined, relist: false, aborted: false };
    this.#open = open;
    const handle = new AbortController();
    handle.signal.addEventListener('abort', () => {
      open.aborted = true;
      open.request?.abort();
    });
    open.request = await super.watch(path, queryParams, callback, (err: unknown) => {
      if (this.#open === open) this.#open = undefined;
      if (open.relist) {
        this.#relisting = true;
        done(RELIST);
      } else if (open.aborted) done(null);
      else done(err);
    });
    if (open.relist || open.aborted) open.request.abort();
    return handle;
  }

  /** Ends the open watch so that the ListWatch lists again; false when none is open (listing, waiting, failed). */
  relist(): boolean {
    const open = this.#open;
    if (open === undefined) return false;
    open.relist = true;
    open.request?.abort();
    return true;
  }
}

export class ResilientInformer<T extends KubernetesObject> {
  readonly name: string;
  /** What it watches, whatever the namespace (see watchedResource). */
  readonly resource: string;
  readonly #opts: ResilientInformerOptions<T>;
  readonly #watch: RelistingWatch;
  readonly #informer: ListWatch<T>;
  readonly #handlers: Record<InformerEvent, Handler<T>[]> = { add: [], update: [], delete: [] };
  #started = false;
  #stopped = false;
  #synced = false;
  /** start() calls waiting for the first list (or a stop). */
  #syncWaiters: (() => void)[] = [];
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #restarts = 0;
  #lists = 0;

  constructor(opts: ResilientInformerOptions<T>) {
    this.#opts = opts;
    this.name = opts.name;
    this.resource = watchedResource(opts.path);
    claim(this.resource, this);
    this.#watch = new RelistingWatch(opts.kubeConfig);
    const list = async (): Promise<KubernetesListObject<T>> => {
      const result = await opts.list();
      this.#lists++;
      // The ListWatch fills its cache from the list right after this resolves.
      setImmediate(() => {
        this.#markSynced();
      });
      return result;
    };
    this.#informer = new ListWatch<T>(opts.path, this.#watch, list, false, opts.labelSelector, undefined, { delayFn: this.#watch.reconnectDelay });
    this.#informer.on('add', (o) => {
      this.#emit('add', o);
    });
    this.#informer.on('update', (o) => {
      this.#emit('update', o);
    });
    this.#informer.on('delete', (o) => {
      this.#emit('delete', o);
    });
    this.#informer.on('connect', () => {
      this.#failures = 0;
    });
    this.#informer.on('error', (err: unknown) => {
      // Whatever our own stop causes is not a failure.
      if (this.#stopped) return;
      this.#scheduleRestart(err);
    });
  }

  /** Calls `handler` on each such event; a handler added after the start hears of what the cache holds as adds. */
  on(event: InformerEvent, handler: Handler<T>): void {
    this.#handlers[event].push(handler);
    if (event === 'add' && this.#started) {
      for (const o of this.#informer.list()) this.#call(handler, o);
    }
  }

  #emit(event: InformerEvent, obj: T): void {
    for (const h of this.#handlers[event]) this.#call(h, obj);
  }

  #call(handler: Handler<T>, obj: T): void {
    try {
      handler(obj);
    } catch (err) {
      this.#opts.logger.error({ informer: this.name, err: String(err) }, 'informer handler failed');
    }
  }

  #markSynced(): void {
    if (this.#synced) return;
    this.#synced = true;
    this.#releaseWaiters();
  }

  #releaseWaiters(): void {
    for (const release of this.#syncWaiters.splice(0)) release();
  }

  #scheduleRestart(err: unknown): void {
    this.#failures++;
    const delay = Math.min(30_000, 500 * 2 ** Math.min(this.#failures - 1, 6));
    this.#opts.logger.warn({ informer: this.name, err: describeKubeError(err), retryInMs: delay }, 'watch failed; restarting');
    clearTimeout(this.#restartTimer);
    this.#restartTimer = setTimeout(() => {
      void this.#restart();
    }, delay);
  }

  /** After a failure: the ListWatch has no request open then, so stop and start open exactly one. */
  async #restart(): Promise<void> {
    if (this.#stopped) return;
    this.#restarts++;
    try {
      await this.#informer.stop();
      await this.#informer.start();
    } catch (err) {
      this.#scheduleRestart(err);
    }
  }

  /** A full re-list now, then a watch from it (what the resync timer does). */
  relist(): void {
    if (this.#stopped || !this.#started) return;
    if (this.#watch.relist()) this.#opts.logger.debug({ informer: this.name }, 'periodic re-list');
  }

  /** Lists, then watches. Resolves once the cache holds a first list (retrying with backoff until then), or on stop. */
  async start(): Promise<void> {
    if (this.#started && !this.#stopped) return this.#whenSynced();
    claim(this.resource, this);
    this.#stopped = false;
    this.#started = true;
    try {
      await this.#informer.start();
    } catch (err) {
      if (!this.isStopped()) this.#scheduleRestart(err);
    }
    const resync = this.#opts.resyncMs ?? 10 * 60_000;
    if (resync > 0 && this.#resyncTimer === undefined) {
      this.#resyncTimer = setInterval(() => {
        this.relist();
      }, resync);
      this.#resyncTimer.unref();
    }
    return this.#whenSynced();
  }

  #whenSynced(): Promise<void> {
    if (this.#synced || this.#stopped) return Promise.resolve();
    return new Promise((resolve) => this.#syncWaiters.push(resolve));
  }

  /** Whether stop() was called (a method, so TypeScript does not narrow it across awaits). */
  isStopped(): boolean {
    return this.#stopped;
  }

  /** Whether the cache holds a complete list (it stays so through later re-lists and restarts). */
  get synced(): boolean {
    return this.#synced;
  }

  /** Restarts after failures. */
  get restarts(): number {
    return this.#restarts;
  }

  /** Lists made (the first, re-lists, and those after a 410). */
  get lists(): number {
    return this.#lists;
  }

  list(namespace?: string): readonly T[] {
    return this.#informer.list(namespace);
  }

  get(name: string, namespace?: string): T | undefined {
    return this.#informer.get(name, namespace);
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    clearTimeout(this.#restartTimer);
    clearInterval(this.#resyncTimer);
    this.#resyncTimer = undefined;
    if (liveInformers.get(this.resource) === (this)) liveInformers.delete(this.resource);
    await this.#informer.stop();
  }
}

/** What reading code needs of an informer: its cache. */
export interface CacheReader<T> {
  list(namespace?: string): readonly T[];
  get(name: string, namespace?: string): T | undefined;
  readonly synced: boolean;
}

/** The objects of `informer`'s cache that `keep` accepts (e.g. those with a label), without a watch of their own. */
export function filteredCache<T extends KubernetesObject>(informer: ResilientInformer<T>, keep: (obj: T) => boolean): CacheReader<T> {
  return {
    list: (namespace) => informer.list(namespace).filter(keep),
    get: (name, namespace) => {
      const obj = informer.get(name, namespace);
      return obj !== undefined && keep(obj) ? obj : undefined;
    },
    get synced() {
      return informer.synced;
    },
  };
}
