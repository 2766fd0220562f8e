import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { decide, microTime, nextRecord, observe, recordKey, stillLeading, validateTimings, type LeaseRecord } from './leader-election.ts';

const D = 15_000;
const other: LeaseRecord = { holderIdentity: 'b', leaseDurationSeconds: 15, renewTime: '2030-01-01T00:00:00.000000Z', acquireTime: '2030-01-01T00:00:00.000000Z', leaseTransitions: 3 };

describe('leader election decisions', () => {
  it('creates a Lease that does not exist', () => {
    assert.deepEqual(decide({ identity: 'a', record: undefined, observedAtMs: 0, nowMs: 0, defaultLeaseDurationMs: D }), { action: 'create' });
  });

  it('renews its own Lease', () => {
    assert.deepEqual(decide({ identity: 'b', record: other, observedAtMs: 0, nowMs: 1e9, defaultLeaseDurationMs: D }), { action: 'renew' });
  });

  it('takes a released Lease (empty holder) at once', () => {
    assert.deepEqual(decide({ identity: 'a', record: { ...other, holderIdentity: '' }, observedAtMs: 1000, nowMs: 1000, defaultLeaseDurationMs: D }), { action: 'acquire', previousHolder: undefined });
  });

  it("waits out another holder's Lease from when it was observed, by the local clock, with the Lease's own duration", () => {
    const at = 1_000_000;
    assert.deepEqual(decide({ identity: 'a', record: other, observedAtMs: at, nowMs: at + 14_999, defaultLeaseDurationMs: 4000 }), { action: 'wait', holder: 'b', expiresAtMs: at + 15_000 });
    assert.deepEqual(decide({ identity: 'a', record: other, observedAtMs: at, nowMs: at + 15_000, defaultLeaseDurationMs: 4000 }), { action: 'acquire', previousHolder: 'b' });
    // The record's renewTime (far in the future here: another machine's clock) plays no part.
    const noDuration = { ...other, leaseDurationSeconds: undefined };
    assert.equal(decide({ identity: 'a', record: noDuration, observedAtMs: at, nowMs: at + 4000, defaultLeaseDurationMs: 4000 }).action, 'acquire');
  });

  it('restarts the observation whenever the record changes (a renewal), keeps it otherwise', () => {
    const first = observe(undefined, other, 100);
    assert.equal(first.atMs, 100);
    assert.equal(observe(first, { ...other }, 5000), first, 'same record: still observed since 100');
    const renewed = observe(first, { ...other, renewTime: '2030-01-01T00:00:02.000000Z' }, 5000);
    assert.equal(renewed.atMs, 5000);
    assert.notEqual(recordKey(other), recordKey({ ...other, holderIdentity: 'c' }));
    assert.equal(recordKey(undefined), '');
  });

  it('a holder leads only until renewDeadline after the start of its last successful renewal', () => {
    assert.equal(stillLeading(undefined, 0, 10_000), false);
    assert.equal(stillLeading(1000, 10_999, 10_000), true);
    assert.equal(stillLeading(1000, 11_000, 10_000), false);
    // A process frozen for a minute learns it at the first clock read.
    assert.equal(stillLeading(1000, 61_000, 10_000), false);
  });

  it('writes acquire and renew records as client-go does', () => {
    const now = Date.parse('2030-01-01T00:00:10.000Z');
    const created = nextRecord({ action: 'create' }, undefined, 'a', now, D);
    assert.equal(created.holderIdentity, 'a');
    assert.equal(created.leaseDurationSeconds, 15);
    assert.equal(created.leaseTransitions, 0);
    assert.equal(JSON.stringify(created.renewTime), '"2030-01-01T00:00:10.000000Z"', 'MicroTime: six fractional digits');
    const renewed = nextRecord({ action: 'renew' }, { ...other, holderIdentity: 'a' }, 'a', now, D);
    assert.equal(renewed.leaseTransitions, 3);
    assert.equal(JSON.stringify(renewed.acquireTime), '"2030-01-01T00:00:00.000000Z"', 'renewing keeps the acquire time');
    const taken = nextRecord({ action: 'acquire', previousHolder: 'b' }, other, 'a', now, 4000);
    assert.equal(taken.leaseTransitions, 4);
    assert.equal(taken.leaseDurationSeconds, 4);
    assert.equal(taken.acquireTime.toISOString(), '2030-01-01T00:00:10.000000Z');
    assert.throws(() => nextRecord({ action: 'wait', holder: 'b', expiresAtMs: 0 }, other, 'a', now, D));
    assert.equal(microTime(new Date(now)).toISOString(), '2030-01-01T00:00:10.000000Z');
  });

  it('refuses timings that cannot keep a single writer', () => {
    validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 });
    validateTimings({ leaseDurationMs: 4000, renewDeadlineMs: 3000, retryPeriodMs: 1000 });
    assert.throws(() => { validateTimings({ leaseDurationMs: 10_000, renewDeadlineMs: 10_000, retryPeriodMs: 2000 }); }, /lease-duration .* must be greater than --leader-elect-renew-deadline/);
    assert.throws(() => { validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 2400, retryPeriodMs: 2000 }); }, /renew-deadline .* must be greater than 1.2 × --leader-elect-retry-period/);
    assert.throws(() => { validateTimings({ leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 0 }); }, /positive/);
  });
});
