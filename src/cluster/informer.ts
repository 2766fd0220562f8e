// Informers that recover. client-node's informer stops on some watch errors
// and does not restart itself; this wrapper restarts it with backoff, and
// re-lists periodically (a staleness guard against a watch that silently
// stopped delivering). Reads come from its cache, never from the API server.
import { makeInformer, type Informer, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '../util/log.ts';
import { describeKubeError } from './errors.ts';

export type Handler<T> = (obj: T) => void;

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

export class ResilientInformer<T extends KubernetesObject> {
  readonly name: string;
  readonly #opts: ResilientInformerOptions<T>;
  readonly #informer: Informer<T> & ObjectCache<T>;
  readonly #handlers = { add: [] as Handler<T>[], update: [] as Handler<T>[], delete: [] as Handler<T>[] };
  #stopped = false;
  #synced = false;
  #failures = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #resyncTimer: NodeJS.Timeout | undefined;
  #restarts = 0;

  constructor(opts: ResilientInformerOptions<T>) {
    this.#opts = opts;
    this.name = opts.name;
    this.#informer = makeInformer<T>(opts.kubeConfig, opts.path, opts.list, opts.labelSelector);
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
      if (this.#stopped) return;
      this.#scheduleRestart(err);
    });
  }

  on(event: 'add' | 'update' | 'delete', handler: Handler<T>): void {
    this.#handlers[event].push(handler);
  }

  #emit(event: 'add' | 'update' | 'delete', obj: T): void {
    for (const h of this.#handlers[event]) {
      try {
        h(obj);
      } catch (err) {
        this.#opts.logger.error({ informer: this.name, err: String(err) }, 'informer handler failed');
      }
    }
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

  async #restart(): Promise<void> {
    if (this.#stopped) return;
    this.#restarts++;
    try {
      await this.#informer.stop();
      await this.#informer.start();
      this.#synced = true;
    } catch (err) {
      this.#scheduleRestart(err);
    }
  }

  /** Lists, then watches. Resolves once the cache holds the first list; retries until it does. */
  async start(): Promise<void> {
    this.#stopped = false;
    for (;;) {
      try {
        await this.#informer.start();
        break;
      } catch (err) {
        if (this.isStopped()) return;
        this.#failures++;
        const delay = Math.min(30_000, 500 * 2 ** Math.min(this.#failures - 1, 6));
        this.#opts.logger.warn({ informer: this.name, err: describeKubeError(err), retryInMs: delay }, 'initial list failed; retrying');
        await new Promise((r) => setTimeout(r, delay));
      }
    }
    this.#synced = true;
    const resync = this.#opts.resyncMs ?? 10 * 60_000;
    if (resync > 0) {
      this.#resyncTimer = setInterval(() => {
        void this.#restart();
      }, resync);
      this.#resyncTimer.unref();
    }
  }

  /** Whether stop() was called (a method, so TypeScript does not narrow it across awaits). */
  isStopped(): boolean {
    return this.#stopped;
  }

  get synced(): boolean {
    return this.#synced;
  }

  get restarts(): number {
    return this.#restarts;
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
    await this.#informer.stop();
  }
}
