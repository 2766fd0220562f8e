// Leader election with a coordination.k8s.io/v1 Lease, as client-go does it:
// replicas race to hold the Lease; the holder renews it every retry period;
// the others take it over once they have seen it unchanged for its duration.
//
// The decisions (who may take the Lease, whether the holder is still the
// leader) are pure functions of the Lease, the local clock and the timings,
// tested without I/O. LeaderElector is the shell: Lease reads and writes with
// resourceVersion preconditions (two candidates cannot both win an update),
// and a watchdog.
//
// Safety: the holder counts itself leader only until `renewDeadline` after the
// start of its last successful renewal. Another replica can take the Lease no
// sooner than `leaseDuration` after it *observed* that renewal, which is later
// than its start; with renewDeadline < leaseDuration the old leader stops
// writing before a new one can start, without trusting the clocks of other
// machines. `isLeader()` is synchronous and reads the clock each time, so a
// process that was frozen (SIGSTOP, a long GC pause, a suspended VM) knows it
// lost the Lease the moment it runs again, before any timer fires.
import { hostname } from 'node:os';
import { randomBytes } from 'node:crypto';
import { CoordinationV1Api, V1MicroTime, type KubeConfig, type V1Lease } from '@kubernetes/client-node';
import type { Logger } from '../util/log.ts';
import { describeKubeError, kubeErrorCode } from './errors.ts';

export interface LeaderElectionTimings {
  /** How long others wait, after last seeing the Lease change, before taking it. */
  leaseDurationMs: number;
  /** How long the holder keeps leading without a successful renewal. */
  renewDeadlineMs: number;
  /** Pause between attempts to acquire or renew. */
  retryPeriodMs: number;
}

export const DEFAULT_TIMINGS: LeaderElectionTimings = { leaseDurationMs: 15_000, renewDeadlineMs: 10_000, retryPeriodMs: 2_000 };

/** client-go's jitter on the retry period. */
export const JITTER = 1.2;

/** Throws when the timings cannot keep one writer (client-go's rules). */
export function validateTimings(t: LeaderElectionTimings): void {
  if (t.retryPeriodMs <= 0) throw new Error('--leader-elect-retry-period must be positive');
  if (t.leaseDurationMs <= t.renewDeadlineMs) {
    throw new Error(`--leader-elect-lease-duration (${t.leaseDurationMs / 1000}s) must be greater than --leader-elect-renew-deadline (${t.renewDeadlineMs / 1000}s)`);
  }
  if (t.renewDeadlineMs <= JITTER * t.retryPeriodMs) {
    throw new Error(`--leader-elect-renew-deadline (${t.renewDeadlineMs / 1000}s) must be greater than ${JITTER} × --leader-elect-retry-period (${t.retryPeriodMs / 1000}s)`);
  }
}

/** The fields of a Lease's spec that the election reads. Times are ISO strings or Dates, as they come. */
export interface LeaseRecord {
  holderIdentity?: string | undefined;
  leaseDurationSeconds?: number | undefined;
  acquireTime?: Date | string | undefined;
  renewTime?: Date | string | undefined;
  leaseTransitions?: number | undefined;
}

/**
 * When the current record was first seen, by this process's clock. The
 * record's own times come from the holder's clock and are never compared with
 * ours; only "unchanged for leaseDuration, as we saw it" counts.
 */
export interface Observation {
  /** A fingerprint of the record (holder, renew time, transitions). */
  key: string;
  /** Local time (ms) at which this record was first seen. */
  atMs: number;
}

export function recordKey(r: LeaseRecord | undefined): string {
  if (!r) return '';
  const time = (t: Date | string | undefined): string => (t === undefined ? '' : t instanceof Date ? t.toISOString() : t);
  return JSON.stringify([r.holderIdentity ?? '', time(r.renewTime), time(r.acquireTime), r.leaseTransitions ?? 0, r.leaseDurationSeconds ?? 0]);
}

/** The observation after reading `record` at `nowMs`: kept when the record is unchanged. */
export function observe(previous: Observation | undefined, record: LeaseRecord | undefined, nowMs: number): Observation {
  const key = recordKey(record);
  return previous?.key === key ? previous : { key, atMs: nowMs };
}

export type Decision =
  /** No Lease yet: create it, holding it. */
  | { action: 'create' }
  /** We hold it: renew. */
  | { action: 'renew' }
  /** Free or expired: take it over. */
  | { action: 'acquire'; previousHolder: string | undefined }
  /** Another holder's Lease is still valid. */
  | { action: 'wait'; holder: string; expiresAtMs: number };

/**
 * What a candidate does with the Lease it just read. `observedAtMs` is when
 * it first saw this record unchanged (see `observe`); the Lease's own
 * duration (the holder's) decides expiry, as in client-go.
 */
export function decide(input: { identity: string; record: LeaseRecord | undefined; observedAtMs: number; nowMs: number; defaultLeaseDurationMs: number }): Decision {
  const { identity, record, observedAtMs, nowMs } = input;
  if (record === undefined) return { action: 'create' };
  const holder = record.holderIdentity ?? '';
  if (holder === identity) return { action: 'renew' };
  if (holder === '') return { action: 'acquire', previousHolder: undefined };
  const durationMs = record.leaseDurationSeconds !== undefined && record.leaseDurationSeconds > 0 ? record.leaseDurationSeconds * 1000 : input.defaultLeaseDurationMs;
  const expiresAtMs = observedAtMs + durationMs;
  if (nowMs >= expiresAtMs) return { action: 'acquire', previousHolder: holder };
  return { action: 'wait', holder, expiresAtMs };
}

/** Whether the holder still counts as leader: its last successful renewal started less than renewDeadline ago. */
export function stillLeading(lastRenewStartMs: number | undefined, nowMs: number, renewDeadlineMs: number): boolean {
  return lastRenewStartMs !== undefined && nowMs - lastRenewStartMs < renewDeadlineMs;
}

/**
 * A Lease time to write. The API server parses MicroTime with exactly six
 * fractional digits, which V1MicroTime writes and a plain Date does not;
 * times read back arrive as strings whatever the declared type.
 */
export function microTime(t: Date | string): V1MicroTime {
  return new V1MicroTime(typeof t === 'string' ? Date.parse(t) : t.getTime());
}

/** The spec to write for a decision (create, renew or acquire). */
export interface LeaseSpecToWrite {
  holderIdentity: string;
  leaseDurationSeconds: number;
  acquireTime: V1MicroTime;
  renewTime: V1MicroTime;
  leaseTransitions: number;
}

export function nextRecord(decision: Decision, previous: LeaseRecord | undefined, identity: string, nowMs: number, leaseDurationMs: number): LeaseSpecToWrite {
  const now = new V1MicroTime(nowMs);
  const base = { holderIdentity: identity, leaseDurationSeconds: Math.ceil(leaseDurationMs / 1000), renewTime: now };
  switch (decision.action) {
    case 'create':
      return { ...base, acquireTime: now, leaseTransitions: 0 };
    case 'renew':
      return { ...base, acquireTime: previous?.acquireTime === undefined ? now : microTime(previous.acquireTime), leaseTransitions: previous?.leaseTransitions ?? 0 };
    case 'acquire':
      // As client-go: every change of holder counts, a released Lease's too.
      return { ...base, acquireTime: now, leaseTransitions: (previous?.leaseTransitions ?? 0) + 1 };
    case 'wait':
      throw new Error('nothing to write while another holder leads');
  }
}

/** hostname_pid_random: unique per process, readable in `kubectl get lease`. */
export function defaultIdentity(): string {
  return `${hostname()}_${process.pid}_${randomBytes(4).toString('hex')}`;
}

export interface LeaderElectorOptions extends LeaderElectionTimings {
  /** Used for the Lease only: the election must not go through the write gate it feeds. */
  kubeConfig: KubeConfig;
  namespace: string;
  name: string;
  identity: string;
  logger: Logger;
  now?: () => number;
  /** Annotations the leader keeps on the Lease (e.g. where it is reached). */
  annotations?: Record<string, string>;
}

export interface LeaderCallbacks {
  /** Called once, when this process becomes the leader. */
  onStartedLeading: () => void;
  /** Called once, when it stops being the leader (it never leads again: exit and restart). */
  onStoppedLeading: (reason: string) => void;
  /** Called when another holder is seen (for logs and status). */
  onNewLeader?: (identity: string) => void;
}

type State = 'candidate' | 'leading' | 'lost' | 'released';

export class LeaderElector {
  readonly #opts: LeaderElectorOptions;
  readonly #api: CoordinationV1Api;
  readonly #log: Logger;
  readonly #now: () => number;
  #state: State = 'candidate';
  #observation: Observation | undefined;
  #lastRenewStartMs: number | undefined;
  #watchdog: NodeJS.Timeout | undefined;
  #loopTimer: NodeJS.Timeout | undefined;
  #lastSeenHolder: string | undefined;
  #callbacks: LeaderCallbacks | undefined;
  #resourceVersion: string | undefined;
  #record: LeaseRecord | undefined;
  #lastAnnotations: Record<string, string> | undefined;

  constructor(opts: LeaderElectorOptions) {
    validateTimings(opts);
    this.#opts = opts;
    this.#api = opts.kubeConfig.makeApiClient(CoordinationV1Api);
    this.#log = opts.logger.child({ lease: `${opts.namespace}/${opts.name}`, identity: opts.identity });
    this.#now = opts.now ?? Date.now;
  }

  get identity(): string {
    return this.#opts.identity;
  }

  /** An annotation of the Lease as last read or written (the leader's, e.g. its webhook address), when it has a holder. */
  leaseAnnotation(key: string): string | undefined {
    return this.#lastAnnotations?.[key];
  }

  /** Whether this process may write now. Synchronous, reads the clock: false at once after a freeze. */
  isLeader(): boolean {
    if (this.#state !== 'leading') return false;
    if (stillLeading(this.#lastRenewStartMs, this.#now(), this.#opts.renewDeadlineMs)) return true;
    this.#lose(`no successful renewal for ${this.#opts.renewDeadlineMs / 1000}s (the renew deadline)`);
    return false;
  }

  get state(): State {
    return this.#state;
  }

  /** Starts campaigning; callbacks say when leading starts and stops. */
  start(callbacks: LeaderCallbacks): void {
    this.#callbacks = callbacks;
    this.#log.info({ leaseDurationMs: this.#opts.leaseDurationMs, renewDeadlineMs: this.#opts.renewDeadlineMs, retryPeriodMs: this.#opts.retryPeriodMs }, 'leader election: campaigning');
    void this.#tick();
  }

  #schedule(): void {
    if (this.#state === 'lost' || this.#state === 'released') return;
    const delay = this.#state === 'leading' ? this.#opts.retryPeriodMs : this.#opts.retryPeriodMs * (1 + Math.random() * (JITTER - 1));
    this.#loopTimer = setTimeout(() => void this.#tick(), delay);
  }

  async #tick(): Promise<void> {
    if (this.#state === 'leading' && !this.isLeader()) return;
    if (this.#state !== 'candidate' && this.#state !== 'leading') return;
    try {
      await this.#tryAcquireOrRenew();
    } catch (err) {
      const code = kubeErrorCode(err);
      (code === 409 ? this.#log.debug.bind(this.#log) : this.#log.warn.bind(this.#log))({ err: describeKubeError(err) }, this.#state === 'leading' ? 'could not renew the lease; retrying' : 'could not acquire the lease; retrying');
    }
    this.#schedule();
  }

  async #tryAcquireOrRenew(): Promise<void> {
    const startMs = this.#now();
    let lease: V1Lease | undefined;
    try {
      lease = await this.#api.readNamespacedLease({ name: this.#opts.name, namespace: this.#opts.namespace });
    } catch (err) {
      if (kubeErrorCode(err) !== 404) throw err;
    }
    const record = lease?.spec;
    this.#lastAnnotations = record?.holderIdentity ? lease?.metadata?.annotations : undefined;
    const afterRead = this.#now();
    this.#observation = observe(this.#observation, record, afterRead);
    const decision = decide({ identity: this.#opts.identity, record, observedAtMs: this.#observation.atMs, nowMs: afterRead, defaultLeaseDurationMs: this.#opts.leaseDurationMs });
    if (decision.action === 'wait') {
      if (this.#state === 'leading') {
        this.#lose(`the lease is held by ${decision.holder}`);
        return;
      }
      if (decision.holder !== this.#lastSeenHolder) {
        this.#lastSeenHolder = decision.holder;
        this.#log.info({ leader: decision.holder }, 'leader election: another replica leads; standing by');
        this.#callbacks?.onNewLeader?.(decision.holder);
      }
      return;
    }
    if (this.#state === 'leading' && decision.action !== 'renew') {
      // Someone else held it in between (we would have seen them): never take it back silently.
      this.#lose(`the lease changed hands (holder "${record?.holderIdentity ?? ''}")`);
      return;
    }
    // A renewal must not be written once the deadline passed (the check reads the clock again).
    if (this.#state === 'leading' && !this.isLeader()) return;
    // The record says when the decision was made (after the read): a taker's acquireTime is then at least
    // the lease duration after it first saw the previous renewal. Our own deadline counts from startMs, earlier.
    const spec = nextRecord(decision, record, this.#opts.identity, afterRead, this.#opts.leaseDurationMs);
    const metadata = { name: this.#opts.name, namespace: this.#opts.namespace, ...(this.#opts.annotations ? { annotations: this.#opts.annotations } : {}) };
    let written: V1Lease;
    if (decision.action === 'create') {
      written = await this.#api.createNamespacedLease({ namespace: this.#opts.namespace, body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata, spec } });
    } else {
      written = await this.#api.replaceNamespacedLease({
        name: this.#opts.name,
        namespace: this.#opts.namespace,
        // The resourceVersion precondition: of two candidates updating the same record, one gets 409.
        body: { apiVersion: 'coordination.k8s.io/v1', kind: 'Lease', metadata: { ...metadata, resourceVersion: lease?.metadata?.resourceVersion ?? '' }, spec },
      });
    }
    this.#resourceVersion = written.metadata?.resourceVersion;
    this.#record = written.spec;
    this.#lastAnnotations = written.metadata?.annotations;
    this.#renewed(startMs);
    if (this.#state === 'candidate') {
      this.#state = 'leading';
      this.#log.info({ previousHolder: decision.action === 'acquire' ? decision.previousHolder : undefined, transitions: written.spec?.leaseTransitions }, 'leader election: acquired the lease; leading');
      this.#callbacks?.onStartedLeading();
    }
  }

  /** A renewal that started at `startMs` succeeded: lead until startMs + renewDeadline. */
  #renewed(startMs: number): void {
    this.#lastRenewStartMs = startMs;
    clearTimeout(this.#watchdog);
    const remaining = startMs + this.#opts.renewDeadlineMs - this.#now();
    this.#watchdog = setTimeout(() => {
      this.isLeader();
    }, Math.max(0, remaining));
  }

  #lose(reason: string): void {
    if (this.#state !== 'leading') return;
    this.#state = 'lost';
    clearTimeout(this.#watchdog);
    clearTimeout(this.#loopTimer);
    this.#log.error({ reason }, 'leader election: lost the lease; no more writes');
    this.#callbacks?.onStoppedLeading(reason);
  }

  /**
   * Stops campaigning. A leader that still holds the Lease gives it up
   * (holder cleared, 1 s duration) so a standby takes over at its next retry
   * instead of waiting the lease duration.
   */
  async release(): Promise<void> {
    clearTimeout(this.#loopTimer);
    clearTimeout(this.#watchdog);
    const wasLeading = this.#state === 'leading' && stillLeading(this.#lastRenewStartMs, this.#now(), this.#opts.renewDeadlineMs);
    this.#state = 'released';
    if (!wasLeading || this.#resourceVersion === undefined) return;
    try {
      await this.#api.replaceNamespacedLease({
        name: this.#opts.name,
        namespace: this.#opts.namespace,
        body: {
          apiVersion: 'coordination.k8s.io/v1',
          kind: 'Lease',
          metadata: { name: this.#opts.name, namespace: this.#opts.namespace, resourceVersion: this.#resourceVersion },
          spec: {
            holderIdentity: '',
            leaseDurationSeconds: 1,
            renewTime: new V1MicroTime(this.#now()),
            ...(this.#record?.acquireTime === undefined ? {} : { acquireTime: microTime(this.#record.acquireTime) }),
            leaseTransitions: this.#record?.leaseTransitions ?? 0,
          },
        },
      });
      this.#log.info('leader election: released the lease');
    } catch (err) {
      this.#log.warn({ err: describeKubeError(err) }, 'leader election: could not release the lease');
    }
  }
}
