import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DeadlineError, GiveUp, sleep, waitFor } from './wait.ts';

/** A probe that returns (or throws) the given results in turn, counting its calls. */
function scripted<T>(results: (() => T)[]): { probe: () => Promise<T>; calls: () => number } {
  let calls = 0;
  return {
    probe: () => {
      const next = results[Math.min(calls, results.length - 1)];
      calls++;
      assert.ok(next);
      return Promise.resolve().then(next);
    },
    calls: () => calls,
  };
}

const fail = (message: string) => (): never => {
  throw new Error(message);
};

function flushMacrotasks(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

describe('waitFor', () => {
  it('returns the first value that is neither undefined nor false', async () => {
    const { probe, calls } = scripted<string | false | undefined>([() => undefined, () => false, () => 'ready', () => 'later']);
    assert.equal(await waitFor(probe, { what: 'ready', timeoutMs: 5_000, intervalMs: 1 }), 'ready');
    assert.equal(calls(), 3);
  });

  it('returns at once when the first call succeeds', async () => {
    const { probe, calls } = scripted([() => ({ id: 7 })]);
    assert.deepEqual(await waitFor(probe, { what: 'object', timeoutMs: 5_000, intervalMs: 1 }), { id: 7 });
    assert.equal(calls(), 1);
  });

  it('accepts a synchronous probe', async () => {
    let n = 0;
    const value = await waitFor(() => (++n >= 3 ? n : undefined), { what: 'three', timeoutMs: 5_000, intervalMs: 1 });
    assert.equal(value, 3);
  });

  it('counts falsy values other than undefined and false (0, "", null) as results', async () => {
    assert.equal(await waitFor(() => 0, { what: 'zero', timeoutMs: 1_000, intervalMs: 1 }), 0);
    assert.equal(await waitFor(() => '', { what: 'empty', timeoutMs: 1_000, intervalMs: 1 }), '');
    assert.equal(await waitFor(() => null, { what: 'null', timeoutMs: 1_000, intervalMs: 1 }), null);
  });

  it('retries after the probe throws', async () => {
    const { probe, calls } = scripted<string>([fail('refused'), fail('refused again'), () => 'up']);
    assert.equal(await waitFor(probe, { what: 'server', timeoutMs: 5_000, intervalMs: 1 }), 'up');
    assert.equal(calls(), 3);
  });

  it('stops at once when the probe throws GiveUp, and rethrows it', async () => {
    const giveUp = new GiveUp('process exited');
    const { probe, calls } = scripted<string | undefined>([
      () => undefined,
      fail('not yet'),
      () => {
        throw giveUp;
      },
      () => 'never reached',
    ]);
    await assert.rejects(waitFor(probe, { what: 'server', timeoutMs: 2_000, intervalMs: 1 }), (err) => {
      assert.equal(err, giveUp);
      return true;
    });
    assert.equal(calls(), 3);
    assert.equal(giveUp.name, 'GiveUp');
  });

  it('throws DeadlineError naming what it waited for and the last error', async () => {
    let n = 0;
    const probe = (): never => {
      n++;
      throw new Error(`connect ECONNREFUSED (attempt ${n})`);
    };
    const err = await waitFor(probe, { what: 'the API server', timeoutMs: 30, intervalMs: 5 }).then(
      () => assert.fail('waitFor resolved'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof DeadlineError);
    assert.equal(err.name, 'DeadlineError');
    assert.ok(n >= 2, `probe called ${n} times`);
    assert.equal(err.message, `timed out after 30 ms waiting for the API server: last error: connect ECONNREFUSED (attempt ${n})`);
  });

  it('throws DeadlineError without "last error" when the probe never threw', async () => {
    await assert.rejects(waitFor(() => false, { what: 'the flag', timeoutMs: 20, intervalMs: 5 }), {
      name: 'DeadlineError',
      message: 'timed out after 20 ms waiting for the flag',
    });
  });

  it('calls the probe once even with a zero timeout', async () => {
    const { probe, calls } = scripted([() => undefined]);
    await assert.rejects(waitFor(probe, { what: 'nothing', timeoutMs: 0 }), DeadlineError);
    assert.equal(calls(), 1);
  });

  it('stops waiting when its signal is aborted', async () => {
    const controller = new AbortController();
    const reason = new Error('shutting down');
    let calls = 0;
    const probe = (): undefined => {
      calls++;
      if (calls === 2) setImmediate(() => { controller.abort(reason); });
      return undefined;
    };
    // Were the signal ignored, this would end in a DeadlineError after 100+ probe calls.
    await assert.rejects(waitFor(probe, { what: 'x', timeoutMs: 1_000, intervalMs: 10, signal: controller.signal }), (err) => {
      assert.equal(err, reason);
      return true;
    });
    assert.equal(calls, 2);
  });
});

describe('sleep', () => {
  it('resolves only once the time has passed', async (t) => {
    t.mock.timers.enable({ apis: ['setTimeout'] });
    let done = false;
    const slept = sleep(1_000).then(() => {
      done = true;
    });
    t.mock.timers.tick(999);
    await flushMacrotasks();
    assert.equal(done, false);
    t.mock.timers.tick(1);
    await slept;
    assert.equal(done, true);
  });

  it('rejects at once with the reason when the signal is already aborted', async () => {
    const reason = new Error('already stopped');
    await assert.rejects(sleep(60_000, AbortSignal.abort(reason)), (err) => {
      assert.equal(err, reason);
      return true;
    });
  });

  it('rejects with the reason when the signal is aborted during the sleep', { timeout: 5_000 }, async () => {
    const controller = new AbortController();
    const reason = new Error('stop');
    const slept = sleep(60_000, controller.signal);
    controller.abort(reason);
    await assert.rejects(slept, (err) => {
      assert.equal(err, reason);
      return true;
    });
  });

  it("rejects with the signal's AbortError when aborted without a reason", async () => {
    const controller = new AbortController();
    const slept = sleep(60_000, controller.signal);
    controller.abort();
    await assert.rejects(slept, { name: 'AbortError' });
  });
});
