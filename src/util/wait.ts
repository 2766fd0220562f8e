// Waiting on conditions with a deadline: the only way tests and the sandbox wait.

export class DeadlineError extends Error {
  override name = 'DeadlineError';
}

/** Thrown by a `waitFor` probe to stop waiting at once: the condition can no longer come true. */
export class GiveUp extends Error {
  override name = 'GiveUp';
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) {
      reject(signal.reason as Error);
      return;
    }
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal?.reason as Error);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

export interface WaitOptions {
  /** How long to keep trying, in milliseconds. */
  timeoutMs: number;
  /** Pause between attempts, in milliseconds. */
  intervalMs?: number;
  /** What is being waited for, used in the error message. */
  what: string;
  signal?: AbortSignal;
}

/**
 * Calls `probe` until it returns a value other than undefined/false, or the
 * deadline passes. Errors thrown by `probe` count as "not yet" (the last one
 * is reported when the deadline passes), except `GiveUp`, which ends the wait.
 */
export async function waitFor<T>(probe: () => Promise<T | undefined | false> | T | undefined | false, opts: WaitOptions): Promise<T> {
  const deadline = Date.now() + opts.timeoutMs;
  const interval = opts.intervalMs ?? 250;
  let lastError: unknown;
  for (;;) {
    try {
      const value = await probe();
      if (value !== undefined && value !== false) return value;
    } catch (err) {
      if (err instanceof GiveUp) throw err;
      lastError = err;
    }
    if (Date.now() >= deadline) {
      const detail = lastError instanceof Error ? `: last error: ${lastError.message}` : '';
      throw new DeadlineError(`timed out after ${opts.timeoutMs} ms waiting for ${opts.what}${detail}`);
    }
    await sleep(Math.min(interval, Math.max(0, deadline - Date.now())), opts.signal);
  }
}
