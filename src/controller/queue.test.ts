import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { WorkQueue, runWorkers, type QueueClock } from './queue.ts';

/** A clock the test moves by hand. */
function manualClock(): QueueClock & { advance(ms: number): void } {
  let now = 1_000_000;
  const timers: { at: number; fn: () => void; id: number }[] = [];
  let nextId = 0;
  return {
    now: () => now,
    setTimeout(fn, ms) {
      const id = ++nextId;
      timers.push({ at: now + ms, fn, id });
      return id;
    },
    clearTimeout(handle) {
      const i = timers.findIndex((t) => t.id === handle);
      if (i >= 0) timers.splice(i, 1);
    },
    advance(ms) {
      now += ms;
      timers.sort((a, b) => a.at - b.at);
      while (timers[0] && timers[0].at <= now) timers.shift()?.fn();
    },
  };
}

describe('WorkQueue', () => {
  it('hands out keys in order and never twice while queued', async () => {
    const q = new WorkQueue();
    q.add('a/1');
    q.add('a/2');
    q.add('a/1');
    assert.equal(q.length, 2);
    assert.equal(await q.get(), 'a/1');
    assert.equal(await q.get(), 'a/2');
  });

  it('serialises a key: re-added while processing, it runs again after done()', async () => {
    const q = new WorkQueue();
    q.add('k');
    const key = await q.get();
    assert.equal(key, 'k');
    q.add('k');
    assert.equal(q.length, 0, 'not handed to a second worker while processing');
    q.done('k');
    assert.equal(q.length, 1);
    assert.equal(await q.get(), 'k');
    q.done('k');
    assert.equal(q.length, 0);
  });

  it('wakes a waiting worker when a key arrives', async () => {
    const q = new WorkQueue();
    const pending = q.get();
    q.add('x');
    assert.equal(await pending, 'x');
  });

  it('addAt queues at the given time, and the earlier of two schedules wins', () => {
    const clock = manualClock();
    const q = new WorkQueue({ clock });
    q.addAt('k', clock.now() + 5000);
    q.addAt('k', clock.now() + 2000);
    q.addAt('k', clock.now() + 9000);
    assert.equal(q.scheduledAt('k'), clock.now() + 2000);
    clock.advance(1999);
    assert.equal(q.length, 0);
    clock.advance(1);
    assert.equal(q.length, 1);
    assert.equal(q.scheduledAt('k'), undefined);
  });

  it('addAt in the past queues at once', () => {
    const clock = manualClock();
    const q = new WorkQueue({ clock });
    q.addAt('k', clock.now() - 1);
    assert.equal(q.length, 1);
  });

  it('backs off exponentially per key until forget()', () => {
    const clock = manualClock();
    const q = new WorkQueue({ clock, baseDelayMs: 10, maxDelayMs: 100 });
    assert.deepEqual([q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k'), q.addRateLimited('k')], [10, 20, 40, 80, 100]);
    assert.equal(q.failures('k'), 5);
    assert.equal(q.addRateLimited('other'), 10, 'per key');
    q.forget('k');
    assert.equal(q.addRateLimited('k'), 10);
  });

  it('shutDown releases waiting workers and drops timers', async () => {
    const clock = manualClock();
    const q = new WorkQueue({ clock });
    const pending = q.get();
    q.addAt('k', clock.now() + 1000);
    q.shutDown();
    assert.equal(await pending, undefined);
    clock.advance(2000);
    assert.equal(q.length, 0);
    assert.equal(await q.get(), undefined);
  });
});

describe('runWorkers', () => {
  it('schedules the time reconcile returns, backs off failures and reports them, and stops on shutDown', async () => {
    const clock = manualClock();
    const q = new WorkQueue({ clock, baseDelayMs: 100 });
    const calls: string[] = [];
    const errors: [string, number][] = [];
    const workers = runWorkers(
      q,
      2,
      (key) => {
        calls.push(key);
        if (key === 'bad') return Promise.reject(new Error('boom'));
        return Promise.resolve(key === 'timed' ? clock.now() + 5000 : undefined);
      },
      (key, _err, retryInMs) => errors.push([key, retryInMs]),
    );
    q.add('timed');
    q.add('bad');
    q.add('once');
    await waitUntil(() => calls.length === 3);
    assert.deepEqual([...calls].sort(), ['bad', 'once', 'timed']);
    assert.deepEqual(errors, [['bad', 100]]);
    assert.equal(q.scheduledAt('timed'), clock.now() + 5000);
    assert.equal(q.scheduledAt('bad'), clock.now() + 100);
    assert.equal(q.scheduledAt('once'), undefined);
    clock.advance(100);
    await waitUntil(() => calls.length === 4);
    assert.deepEqual(errors, [['bad', 100], ['bad', 200]], 'the backoff doubles');
    q.shutDown();
    await Promise.all(workers);
  });
});

/** Lets the workers' promises settle until `done` holds (bounded). */
async function waitUntil(done: () => boolean): Promise<void> {
  for (let i = 0; i < 1000 && !done(); i++) await new Promise<void>((r) => setImmediate(r));
  assert.ok(done(), 'condition reached');
}
