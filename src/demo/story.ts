// The story: v1 is the first commit; v2 (healthy) is rolled out step by step
// and promoted by analysis; v3 (30% errors and a ConfigMap change) fails
// analysis, the cluster returns to v2's commit and Weir writes the revert
// back to Git. Each act is a commit pushed to the sandbox's Git server; each
// has a deadline. What happens is told as events (see events.ts) while an
// observer polls the cluster.
import type { Rollout } from '../api/rollout.ts';
import { GiveUp, sleep, waitFor } from '../util/wait.ts';
import type { DemoCluster } from './cluster.ts';
import { diffEvents, short, type DemoEvent, type DemoEventBody, type Snapshot } from './events.ts';
import type { DemoRepository } from './repository.ts';
import { ACTS, DEMO_CONFIGMAP, DEMO_GITSOURCE, DEMO_NAMESPACE, DEMO_ROLLOUT, applyEdits, gitSourceManifest, greetingOf, seedFiles, type DemoExample } from './seed.ts';
import { recordEvent, type ActRecord, type StoryRecord } from './summary.ts';

export interface StoryOptions {
  cluster: DemoCluster;
  repository: DemoRepository;
  example: DemoExample;
  prometheusUrl: string;
  /** Called with every event, stamped. */
  onEvent: (e: DemoEvent) => void;
  /** Called after every poll of the cluster. */
  onSnapshot?: (s: Snapshot) => void;
  /** Per act: from push to the expected outcome. */
  actTimeoutMs?: number;
  pollMs?: number;
  signal?: AbortSignal;
}

/** Polls the cluster and turns changes into events until stopped. */
class Observer {
  latest: Snapshot = { runs: [] };
  #stopped = false;
  #done: Promise<void> | undefined;
  #lastError: string | undefined;
  readonly #cluster: DemoCluster;
  readonly #emit: (e: DemoEventBody) => void;
  readonly #onSnapshot: ((s: Snapshot) => void) | undefined;
  readonly #pollMs: number;

  constructor(cluster: DemoCluster, emit: (e: DemoEventBody) => void, onSnapshot: ((s: Snapshot) => void) | undefined, pollMs: number) {
    this.#cluster = cluster;
    this.#emit = emit;
    this.#onSnapshot = onSnapshot;
    this.#pollMs = pollMs;
  }

  start(): void {
    let prev: Snapshot | undefined;
    this.#done = (async () => {
      while (!this.#stopped) {
        try {
          const next = await this.#cluster.snapshot(DEMO_NAMESPACE, DEMO_ROLLOUT, DEMO_GITSOURCE);
          for (const e of diffEvents(prev, next)) this.#emit(e);
          prev = next;
          this.latest = next;
          this.#lastError = undefined;
          this.#onSnapshot?.(next);
        } catch (err) {
          const message = err instanceof Error ? err.message : String(err);
          if (message !== this.#lastError) this.#emit({ type: 'note', text: `could not read the cluster: ${message}` });
          this.#lastError = message;
        }
        await sleep(this.#pollMs);
      }
    })();
  }

  async stop(): Promise<void> {
    this.#stopped = true;
    await this.#done;
  }
}

function describeRollout(r: Rollout | undefined): string {
  const s = r?.status;
  if (!s) return 'the Rollout has no status yet';
  return `rollout ${s.phase ?? 'Unknown'} at step ${s.currentStepIndex ?? 0}${s.message ? `: ${s.message}` : ''}`;
}

export async function runStory(opts: StoryOptions): Promise<StoryRecord> {
  const record: StoryRecord = { ok: false, acts: [], startedAt: Date.now() };
  const actTimeoutMs = opts.actTimeoutMs ?? 240_000;
  let current: ActRecord | undefined;
  const emit = (body: DemoEventBody): void => {
    const e: DemoEvent = { ...body, at: Date.now() };
    recordEvent(current, e);
    opts.onEvent(e);
  };
  const observer = new Observer(opts.cluster, emit, opts.onSnapshot, opts.pollMs ?? 500);
  /** Waits on the observer's latest snapshot; `fail` returns a reason to stop waiting at once. */
  const until = <T>(what: string, timeoutMs: number, probe: (s: Snapshot) => T | undefined | false, fail?: (s: Snapshot) => string | undefined): Promise<T> =>
    waitFor(
      () => {
        const s = observer.latest;
        const reason = fail?.(s);
        if (reason) throw new GiveUp(reason);
        return probe(s);
      },
      { what, timeoutMs, intervalMs: 200, ...(opts.signal ? { signal: opts.signal } : {}) },
    ).catch((err: unknown) => {
      if (err instanceof Error && !(err instanceof GiveUp)) err.message += ` (${describeRollout(observer.latest.rollout)})`;
      throw err;
    });

  const total = ACTS.length + 1;
  try {
    observer.start();
    // Act 1: the first commit, applied as is (a first rollout has no canary steps).
    emit({ type: 'act', index: 1, total, name: 'v1', title: 'v1, the first release' });
    let files = seedFiles(opts.example.repoFiles, opts.prometheusUrl);
    await opts.repository.writeFiles(files);
    const seed = await opts.repository.commitAndPush('demo v1: the first release');
    record.seedCommit = seed;
    emit({ type: 'pushed', commit: seed, message: 'demo v1: the first release' });
    await opts.cluster.applyManifest(gitSourceManifest(opts.example.gitSource, opts.repository.url), DEMO_NAMESPACE);
    emit({ type: 'note', text: `applied GitSource ${DEMO_GITSOURCE} (${opts.repository.url}, apps/demo, writeBack: revert)` });
    let stable = await until(
      `act 1 (v1): rollout ${DEMO_ROLLOUT} Healthy on ${short(seed)} with 3 available pods`,
      actTimeoutMs,
      (s) => {
        const st = s.rollout?.status;
        return st?.phase === 'Healthy' && st.git?.stableRevision === seed && st.availableReplicas === 3 && st.stableRS !== undefined ? { hash: st.stableRS, commit: seed } : undefined;
      },
      (s) => {
        const failed = s.source?.status?.conditions?.find((c) => c.type === 'ValidationFailed' && c.status === 'True');
        return failed ? `the first commit did not validate: ${failed.message ?? ''}` : undefined;
      },
    );
    emit({ type: 'note', text: 'v1 runs; the sandbox sends it 20 requests/s through the HTTPRoute' });

    for (const [i, act] of ACTS.entries()) {
      emit({ type: 'act', index: i + 2, total, name: act.name, title: act.title });
      const before = files;
      files = applyEdits(files, act.edits);
      await opts.repository.writeFiles(files);
      const commit = await opts.repository.commitAndPush(act.commitMessage);
      current = { name: act.name, title: act.title, expect: act.expect, commit, message: act.commitMessage, pushedAt: Date.now(), analysesPassed: 0 };
      record.acts.push(current);
      emit({ type: 'pushed', commit, message: act.commitMessage });
      const actRecord = current;
      if (act.expect === 'promoted') {
        stable = await until(
          `act ${i + 2} (${act.name}): ${short(commit)} promoted by analysis`,
          actTimeoutMs,
          (s) => {
            const st = s.rollout?.status;
            return st?.phase === 'Healthy' && st.git?.stableRevision === commit && st.stableRS !== undefined && st.stableRS === st.currentPodHash ? { hash: st.stableRS, commit } : undefined;
          },
          (s) => {
            const rejected = s.source?.status?.rejectedRevisions?.find((r) => r.revision === commit);
            if (rejected) return `${act.name} (${short(commit)}) should have been promoted, but Weir rejected it: ${rejected.reason}`;
            const st = s.rollout?.status;
            if (st?.git?.currentRevision === commit && st.phase === 'Degraded') return `${act.name} (${short(commit)}) should have been promoted, but the rollout is Degraded: ${st.message ?? ''}`;
            return undefined;
          },
        );
        actRecord.outcome = 'promoted';
        actRecord.promotedAt = Date.now();
        emit({ type: 'note', text: `${act.name} (${short(commit)}) promoted: it is the stable version now` });
      } else {
        const promoted = (s: Snapshot): string | undefined =>
          s.rollout?.status?.git?.stableRevision === commit ? `${act.name} (${short(commit)}) should have failed analysis, but it was promoted` : undefined;
        const revert = await until(
          `act ${i + 2} (${act.name}): ${short(commit)} rejected and its revert written to Git`,
          actTimeoutMs,
          (s) => s.source?.status?.revertRevisions?.find((r) => r.rejected === commit)?.revert,
          promoted,
        );
        await until(
          `act ${i + 2} (${act.name}): the cluster back on ${short(stable.commit)}'s pods (ReplicaSet ${stable.hash}), Healthy`,
          actTimeoutMs,
          (s) => {
            const st = s.rollout?.status;
            return st?.phase === 'Healthy' && st.stableRS === stable.hash && st.currentPodHash === stable.hash && s.canaryWeight === 0;
          },
          promoted,
        );
        const badGreeting = greetingOf(files);
        const previousGreeting = greetingOf(before);
        await waitFor(async () => (await opts.cluster.configMapValue(DEMO_NAMESPACE, DEMO_CONFIGMAP, 'GREETING')) === previousGreeting, {
          what: `act ${i + 2} (${act.name}): ConfigMap ${DEMO_CONFIGMAP} back to GREETING="${previousGreeting ?? ''}" (it was "${badGreeting ?? ''}" in ${short(commit)})`,
          timeoutMs: 60_000,
          intervalMs: 500,
        });
        emit({ type: 'note', text: `ConfigMap ${DEMO_CONFIGMAP} is back to GREETING="${previousGreeting ?? ''}"` });
        const head = await opts.repository.fetchHead();
        if (head.sha !== revert) throw new Error(`main should end at Weir's revert ${short(revert)}, but it is at ${short(head.sha)} "${head.subject}"`);
        emit({ type: 'note', text: `main is at ${short(revert)} by ${head.author}: "${head.subject}"` });
        await until(`act ${i + 2} (${act.name}): the revert ${short(revert)} applied (Git and cluster agree)`, 120_000, (s) => s.source?.status?.lastAppliedRevision === revert);
        actRecord.outcome = 'rejected';
        // Git is back at the files before the act (a later act would first have to fetch Weir's revert).
        files = before;
      }
    }
    record.ok = true;
  } catch (err) {
    record.failure = err instanceof Error ? err.message : String(err);
  } finally {
    await observer.stop();
    record.endedAt = Date.now();
  }
  return record;
}
