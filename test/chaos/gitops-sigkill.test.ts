// The chaos tier (issue 19): Git-driven canaries of several apps, good and
// bad releases, while the controller is SIGKILLed at random moments and
// started again. It checks what must hold whatever the moment of the kill:
// every good release promoted, every bad one rejected once and reverted once
// in Git, no bad release rolled out twice (its first step runs at most once),
// no weight outside the declared steps, no flapping.
//
// The randomness (kill times, which release is bad) is seeded; the seed is
// printed, and WEIR_CHAOS_SEED=<seed> replays a run. WEIR_CHAOS_KILLS and
// WEIR_CHAOS_RELEASES (of each kind) set the minimums (50 and 10).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { AnalysisRun } from '../../src/api/analysis.ts';
import type { GitSource } from '../../src/api/gitsource.ts';
import { createSandboxRepository } from '../../src/sandbox/index.ts';
import { waitFor } from '../../src/util/wait.ts';
import { analysedAppFiles } from '../support/app-repo.ts';
import { startController, type ControllerProcess } from '../support/controller.ts';
import { namespace } from '../support/demo-app.ts';
import { GitWorkspace } from '../support/git-workspace.ts';
import { createGitSource, getGitSource } from '../support/gitsources.ts';
import { getRollout, installCrds, recordRouteWeights } from '../support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from '../support/sandbox.ts';

const RUNS = { group: 'weir.dev', version: 'v1alpha1', plural: 'analysisruns' } as const;
const APPS = ['alpha', 'beta', 'gamma', 'delta'];
const WEIGHTS = new Set([0, 20, 100]);
const MIN_KILLS = Number(process.env.WEIR_CHAOS_KILLS ?? 50);
const MIN_RELEASES = Number(process.env.WEIR_CHAOS_RELEASES ?? 10);

/** mulberry32: a small seeded generator, so a failing run can be replayed. */
function random(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

interface Release {
  app: string;
  commit: string;
  bad: boolean;
}

describe('chaos: SIGKILLs during Git-driven canaries', () => {
  const seed = Number(process.env.WEIR_CHAOS_SEED ?? Math.floor(Math.random() * 2 ** 31));
  const rand = random(seed);
  const ns = uniqueName('chaos');
  let sb: TestSandbox;
  let controller: ControllerProcess | undefined;
  const workspaces = new Map<string, GitWorkspace>();

  before(async () => {
    process.stdout.write(`# chaos seed ${seed} (replay with WEIR_CHAOS_SEED=${seed})\n`);
    sb = await testSandbox();
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
    controller = await startController(sb, { namespace: ns, logName: ns });
  });
  after(async () => {
    await controller?.stop();
    for (const w of workspaces.values()) await w.dispose();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  async function write(w: GitWorkspace, app: string, version: string, bad: boolean): Promise<void> {
    const metric = { interval: '2s', count: 3, initialDelay: '3s', failureLimit: 0 };
    await w.writeAll(analysedAppFiles({ name: app, namespace: ns, version, greeting: version, env: bad ? { ERROR_RATE: '0.5' } : {}, prometheus: sb.state.prometheusUrl, metric }));
  }

  async function status(app: string): Promise<NonNullable<GitSource['status']>> {
    return (await getGitSource(sb, ns, app)).status ?? {};
  }

  async function stepRunsOf(hash: string): Promise<AnalysisRun[]> {
    const list = (await sb.custom.listNamespacedCustomObject({ ...RUNS, namespace: ns, labelSelector: `rollouts-pod-template-hash=${hash},rollout-type=Step` })) as { items: AnalysisRun[] };
    return list.items;
  }

  it(`keeps every invariant through at least ${MIN_KILLS} SIGKILLs over ${MIN_RELEASES} good and ${MIN_RELEASES} bad releases`, { timeout: 40 * 60_000 }, async () => {
    // Each app: a repository, a GitSource (5 s poll, revert write-back), v1 Healthy.
    for (const app of APPS) {
      const w = await GitWorkspace.create(await createSandboxRepository(sb.state, `${ns}-${app}`));
      workspaces.set(app, w);
      await write(w, app, 'v1', false);
      await w.commit(`${app} v1`);
      await createGitSource(sb, ns, app, w.url, { paths: [`apps/${app}`], interval: '5s', rollback: { writeBack: 'revert' } });
    }
    for (const app of APPS) {
      await waitFor(async () => (await getRollout(sb, ns, app)).status?.phase === 'Healthy', { what: `${app} Healthy on v1`, timeoutMs: 120_000 });
    }
    const recorders = await Promise.all(APPS.map((app) => recordRouteWeights(sb, ns, app, `${app}-canary`)));

    let kills = 0;
    const run = { done: false };
    const stopped = (): boolean => run.done;
    const releases: Release[] = [];
    const problems: string[] = [];
    const count = (bad: boolean): number => releases.filter((r) => r.bad === bad).length;
    const enough = (): boolean => kills >= MIN_KILLS && count(false) >= MIN_RELEASES && count(true) >= MIN_RELEASES;

    // The killer: SIGKILL after 1.5–6 s of life, start again after 0–1.5 s.
    const killer = (async () => {
      while (!run.done) {
        await new Promise((resolve) => setTimeout(resolve, 1500 + rand() * 4500));
        if (stopped() || controller === undefined) break;
        await controller.kill();
        kills++;
        await new Promise((resolve) => setTimeout(resolve, rand() * 1500));
        controller = await startController(sb, { namespace: ns, logName: ns });
      }
    })();

    // Each app releases in turn until there were enough kills and releases of both kinds.
    const driver = async (app: string, index: number): Promise<void> => {
      const w = workspaces.get(app);
      assert.ok(w);
      for (let n = 2; !enough(); n++) {
        // Alternate, starting at random, so both kinds stay in step.
        const bad = (n + index + Math.floor(rand() * 2)) % 2 === 0 ? count(true) <= count(false) : count(true) < count(false);
        await w.pull();
        await write(w, app, `v${n}`, bad);
        const commit = await w.commit(`${app} v${n}${bad ? ' (bad)' : ''}`);
        releases.push({ app, commit, bad });
        if (bad) {
          let badHash: string | undefined;
          const s = await waitFor(
            async () => {
              const st = await status(app);
              const r = await getRollout(sb, ns, app);
              if (r.status?.git?.currentRevision === commit && r.status.currentPodHash !== undefined) badHash = r.status.currentPodHash;
              const reverted = st.revertRevisions?.some((x) => x.rejected === commit) === true;
              return reverted && r.status?.phase === 'Healthy' && r.status.git?.currentRevision !== commit ? { st, r } : undefined;
            },
            { what: `${app} v${n} rejected, reverted and back on stable`, timeoutMs: 5 * 60_000, intervalMs: 300 },
          );
          if (badHash === undefined) problems.push(`${app} v${n}: its pod template was never seen rolling out`);
          else {
            const runs = await stepRunsOf(badHash);
            if (runs.length !== 1) problems.push(`${app} v${n}: ${runs.length} step analysis runs for the bad template (its first analysis ran more than once)`);
          }
          const rejections = s.st.rejectedRevisions?.filter((r) => r.revision === commit).length ?? 0;
          if (rejections !== 1) problems.push(`${app} v${n}: ${rejections} rejection records`);
          const reverts = s.st.revertRevisions?.filter((r) => r.rejected === commit).length ?? 0;
          if (reverts !== 1) problems.push(`${app} v${n}: ${reverts} revert records`);
          const rejectedInHistory = s.st.history?.filter((h) => h.revision === commit && h.outcome === 'rejected').length ?? 0;
          if (rejectedInHistory !== 1) problems.push(`${app} v${n}: ${rejectedInHistory} rejected history entries`);
          const log = await (async () => {
            await w.pull();
            return w.log();
          })();
          const revertCommits = log.filter((c) => c.message.includes(`This reverts commit ${commit}`)).length;
          if (revertCommits !== 1) problems.push(`${app} v${n}: ${revertCommits} revert commits in Git`);
        } else {
          await waitFor(
            async () => {
              const r = await getRollout(sb, ns, app);
              return r.status?.phase === 'Healthy' && r.status.git?.stableRevision === commit ? r : undefined;
            },
            { what: `${app} v${n} promoted`, timeoutMs: 5 * 60_000, intervalMs: 500 },
          );
        }
      }
    };
    try {
      await Promise.all(APPS.map((app, i) => driver(app, i)));
    } finally {
      run.done = true;
      await killer;
      for (const r of recorders) r.stop();
    }
    process.stdout.write(`# chaos: ${kills} SIGKILLs, ${count(false)} good and ${count(true)} bad releases (seed ${seed})\n`);

    // Each release's canary rose from 0 exactly once: a bad one was never rolled out again, nothing flapped.
    for (const [i, app] of APPS.entries()) {
      const weights = recorders[i]?.weights ?? [];
      const outside = weights.filter((x) => !WEIGHTS.has(x));
      if (outside.length > 0) problems.push(`${app}: weights outside the declared steps: ${outside.join(', ')}`);
      const rises = weights.filter((x, k) => k > 0 && weights[k - 1] === 0 && x > 0).length;
      const released = releases.filter((r) => r.app === app).length;
      if (rises !== released) problems.push(`${app}: the canary weight rose from 0 ${rises} times for ${released} releases (${weights.join(' → ')})`);
    }
    assert.ok(kills >= MIN_KILLS, `${kills} SIGKILLs`);
    assert.deepEqual(problems, [], `invariants broken (seed ${seed})`);
  });
});
