import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DemoEvent } from './events.ts';
import { exploreLines, recordEvent, summaryLines, type ActRecord, type StoryRecord } from './summary.ts';

const V2 = '1416cc7cacbc58fbca7978e44639dcff12d0ffda';
const V3 = 'a566354e0000000000000000000000000000beef';
const REVERT = 'b0b0b0b0000000000000000000000000000000b0';

function act(name: string, commit: string, expect: ActRecord['expect'], pushedAt: number): ActRecord {
  return { name, title: name, expect, commit, message: `demo ${name}`, pushedAt, analysesPassed: 0 };
}

function play(a: ActRecord, events: DemoEvent[]): ActRecord {
  for (const e of events) recordEvent(a, e);
  return a;
}

describe('recordEvent', () => {
  it('marks the first traffic shift and counts the analysis runs that passed', () => {
    const v2 = play(act('v2', V2, 'promoted', 1000), [
      { type: 'weight', canary: 0, at: 1200 },
      { type: 'weight', canary: 20, at: 2500 },
      { type: 'analysis', run: 'r1', phase: 'Successful', at: 20_000 },
      { type: 'weight', canary: 50, at: 21_000 },
      { type: 'analysis', run: 'r2', phase: 'Successful', at: 40_000 },
    ]);
    assert.equal(v2.firstShiftAt, 2500);
    assert.equal(v2.analysesPassed, 2);
    assert.equal(v2.failedAt, undefined);
  });

  it('marks the failure, the traffic back on stable, the rejection reason and the revert', () => {
    const v3 = play(act('v3', V3, 'rejected', 1000), [
      { type: 'weight', canary: 20, at: 2000 },
      { type: 'analysis', run: 'r3', phase: 'Failed', message: 'metric "success-rate" assessed Failed', at: 15_000 },
      { type: 'weight', canary: 0, at: 15_400 },
      { type: 'rejected', revision: V3, reason: 'RolloutAborted: analysis run r3 Failed', at: 15_600 },
      { type: 'reverted', rejected: V3, revert: REVERT, at: 16_800 },
    ]);
    assert.equal(v3.failedAt, 15_000);
    assert.equal(v3.trafficBackAt, 15_400);
    assert.equal(v3.outcome, 'rejected');
    assert.equal(v3.failureReason, 'RolloutAborted: analysis run r3 Failed');
    assert.equal(v3.revertCommit, REVERT);
    assert.equal(v3.revertAt, 16_800);
  });

  it('dates the failure by the failed measurement, not by when the demo saw it', () => {
    const v3 = play(act('v3', V3, 'rejected', 1000), [
      { type: 'measurement', run: 'r3', metric: 'success-rate', phase: 'Failed', value: '[0.7]', finishedAt: new Date(14_200).toISOString(), at: 15_000 },
      { type: 'analysis', run: 'r3', phase: 'Failed', at: 15_000 },
      { type: 'weight', canary: 0, at: 15_000 },
    ]);
    assert.equal(v3.failedAt, 14_200);
    assert.equal(v3.trafficBackAt, 15_000);
  });

  it('ignores events from before the push and other commits’ rejections', () => {
    const a = play(act('v3', V3, 'rejected', 5000), [
      { type: 'weight', canary: 50, at: 4000 },
      { type: 'rejected', revision: V2, reason: 'other', at: 6000 },
    ]);
    assert.equal(a.firstShiftAt, undefined);
    assert.equal(a.outcome, undefined);
  });
});

describe('summaryLines', () => {
  const played: StoryRecord = {
    ok: true,
    startedAt: 0,
    acts: [
      { ...act('v2', V2, 'promoted', 1000), outcome: 'promoted', analysesPassed: 2, firstShiftAt: 2400, promotedAt: 41_000 },
      {
        ...act('v3', V3, 'rejected', 50_000),
        outcome: 'rejected',
        failureReason: 'RolloutAborted: analysis run r3 Failed',
        firstShiftAt: 51_500,
        failedAt: 62_000,
        trafficBackAt: 62_900,
        revertCommit: REVERT,
        revertAt: 64_100,
      },
    ],
  };

  it('names what was promoted and rejected and why, the timings and the three commits', () => {
    assert.deepEqual(summaryLines(played), [
      'Summary: the story played out as expected',
      '  promoted:     v2 1416cc7 "demo v2": 2 analysis runs passed',
      '  rejected:     v3 a566354 "demo v3": RolloutAborted: analysis run r3 Failed',
      '  timings:',
      '    v2: push → first traffic shift 1.4s',
      '    v2: push → promoted 40.0s',
      '    v3: push → first traffic shift 1.5s',
      '    v3: failure → traffic back on the stable version 0.9s',
      '    v3: failure → revert commit in Git 2.1s',
      '  commits:',
      `    promoted commit:    ${V2}`,
      `    rolled-back commit: ${V3}`,
      `    revert commit:      ${REVERT} (written by Weir)`,
    ]);
  });

  it('says why a story did not play out, and what it expected of an unfinished act', () => {
    const lines = summaryLines({ ok: false, failure: 'timed out after 240000 ms waiting for act 3', startedAt: 0, acts: [act('v3', V3, 'rejected', 0)] });
    assert.equal(lines[0], 'Summary: the story did NOT play out as expected: timed out after 240000 ms waiting for act 3');
    assert.equal(lines[1], '  unfinished:   v3 a566354 "demo v3" (expected to be rejected)');
    assert.ok(!lines.some((l) => l.includes('commit')), 'no commits to name');
  });
});

describe('exploreLines', () => {
  const info = {
    sandbox: 'demo',
    namespace: 'weir-demo',
    rollout: 'demo',
    kubeconfig: '/state/kubeconfig',
    kubectl: '/cache/kubectl',
    prometheusUrl: 'http://127.0.0.1:9090',
    repositoryUrl: 'http://127.0.0.1:8000/demo-x.git',
  };

  it('with --keep: commands to try against the sandbox, and how to stop it all', () => {
    const lines = exploreLines({ ...info, kept: true });
    assert.ok(lines.includes('  npx weir get rollout demo --watch -n weir-demo --kubeconfig /state/kubeconfig'));
    assert.ok(lines.some((l) => l.startsWith('  /cache/kubectl --kubeconfig /state/kubeconfig get rollouts')));
    assert.ok(lines.some((l) => l.includes('http://127.0.0.1:9090/graph?')));
    assert.equal(lines.at(-1), 'Stop everything with: npm run demo -- --name demo --down');
  });

  it('without it: how to keep it next time', () => {
    assert.deepEqual(exploreLines({ ...info, sandbox: 'default', kept: false }), [
      'To explore afterwards, run it with --keep (npm run demo -- --keep): the sandbox and the controller then keep running.',
    ]);
  });
});
