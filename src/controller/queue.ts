// A work queue keyed by namespace/name, as client-go's: a key is processed by
// one worker at a time (per-key serialisation); adding a key that is being
// processed marks it to run again afterwards; failures back off per key
// exponentially; `addAt` schedules a key for a time (timed pauses, delays).
// Time and timers are injected so the queue is unit-testable without waiting.

export interface QueueClock {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realClock: QueueClock = {
  now: () => Date.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => {
    clearTimeout(handle as NodeJS.Timeout);
  },
};

export interface WorkQueueOptions {
  /** First retry delay after a failure; doubles per consecutive failure. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  clock?: QueueClock;
}

export class WorkQueue {
  readonly #ready: string[] = [];
  readonly #queued = new Set<string>();
  readonly #processing = new Set<string>();
  readonly #dirty = new Set<string>();
  readonly #failures = new Map<string, number>();
  readonly #timers = new Map<string, { at: number; handle: unknown }>();
  readonly #waiters: ((key: string | undefined) => void)[] = [];
  readonly #baseDelayMs: number;
  readonly #maxDelayMs: number;
  readonly #clock: QueueClock;
  #shutDown = false;

  constructor(opts: WorkQueueOptions = {}) {
    this.#baseDelayMs = opts.baseDelayMs ?? 50;
    this.#maxDelayMs = opts.maxDelayMs ?? 60_000;
    this.#clock = opts.clock ?? realClock;
  }

  get length(): number {
    return this.#ready.length;
  }

  /** Queue `key` now. A key already queued is not queued twice. */
  add(key: string): void {
    if (this.#shutDown) return;
    if (this.#processing.has(key)) {
      this.#dirty.add(key);
      return;
    }
    if (this.#queued.has(key)) return;
    this.#queued.add(key);
    const waiter = this.#waiters.shift();
    if (waiter) {
      this.#queued.delete(key);
      this.#processing.add(key);
      waiter(key);
    } else {
      this.#ready.push(key);
    }
  }

  /** Queue `key` at time `at` (ms since the epoch); an earlier schedule wins. */
  addAt(key: string, at: number): void {
    if (this.#shutDown) return;
    const delay = at - this.#clock.now();
    if (delay <= 0) {
      this.add(key);
      return;
    }
    const existing = this.#timers.get(key);
    if (existing && existing.at <= at) return;
    if (existing) this.#clock.clearTimeout(existing.handle);
    const handle = this.#clock.setTimeout(() => {
      this.#timers.delete(key);
      this.add(key);
    }, delay);
    this.#timers.set(key, { at, handle });
  }

  /** When `key` is next scheduled by addAt, if it is. */
  scheduledAt(key: string): number | undefined {
    return this.#timers.get(key)?.at;
  }

  /** Queue `key` again after its backoff; the delay doubles with each consecutive call. */
  addRateLimited(key: string): number {
    const failures = this.#failures.get(key) ?? 0;
    this.#failures.set(key, failures + 1);
    const delay = Math.min(this.#maxDelayMs, this.#baseDelayMs * 2 ** failures);
    this.addAt(key, this.#clock.now() + delay);
    return delay;
  }

  /** Clears `key`'s failure count (after a success). */
  forget(key: string): void {
    this.#failures.delete(key);
  }

  failures(key: string): number {
    return this.#failures.get(key) ?? 0;
  }

  /** The next key to process (waits for one); undefined once shut down. Call done(key) after. */
  get(): Promise<string | undefined> {
    if (this.#shutDown) return Promise.resolve(undefined);
    const key = this.#ready.shift();
    if (key !== undefined) {
      this.#queued.delete(key);
      this.#processing.add(key);
      return Promise.resolve(key);
    }
    return new Promise((resolve) => this.#waiters.push(resolve));
  }

  /** Marks `key` processed; if it was added meanwhile, it is queued again. */
  done(key: string): void {
    this.#processing.delete(key);
    if (this.#dirty.delete(key)) this.add(key);
  }

  shutDown(): void {
    this.#shutDown = true;
    for (const { handle } of this.#timers.values()) this.#clock.clearTimeout(handle);
    this.#timers.clear();
    for (const waiter of this.#waiters.splice(0)) waiter(undefined);
  }
}

/**
 * Runs `count` workers on `queue` until it shuts down. Each takes a key and
 * calls `reconcile`: on success the key's backoff is forgotten and the key is
 * queued again at the time `reconcile` returns (if any); on failure it is
 * queued again after its backoff, and `onError` hears of it.
 */
export function runWorkers(
  queue: WorkQueue,
  count: number,
  reconcile: (key: string) => Promise<number | undefined>,
  onError: (key: string, err: unknown, retryInMs: number) => void,
): Promise<void>[] {
  const work = async (): Promise<void> => {
    for (;;) {
      const key = await queue.get();
      if (key === undefined) return;
      try {
        const next = await reconcile(key);
        queue.forget(key);
        if (next !== undefined) queue.addAt(key, next);
      } catch (err) {
        onError(key, err, queue.addRateLimited(key));
      } finally {
        queue.done(key);
      }
    }
  };
  return Array.from({ length: count }, work);
}
