// `npm run demo` as a user runs it in CI: non-interactively (stdout is a
// pipe), on a sandbox of its own. It must play the whole story (v2
// promoted by analysis, v3 rejected, rolled back and reverted in Git), exit
// 0, print the summary with the three commits, and stop what it started.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { instanceDir, sandboxStatus } from '../src/sandbox/index.ts';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function demo(args: string[], timeoutMs: number): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, ['scripts/demo.ts', ...args], { timeout: timeoutMs, maxBuffer: 16 * 1024 * 1024, env: { ...process.env, FORCE_COLOR: '0' } }, (err, stdout, stderr) => {
      resolve({ code: err ? (typeof err.code === 'number' ? err.code : 1) : 0, stdout, stderr });
    });
  });
}

const SHA = '[0-9a-f]{40}';

describe('npm run demo', () => {
  const name = `demo-it-${randomBytes(2).toString('hex')}`;
  after(async () => {
    await demo(['--name', name, '--down'], 120_000);
    // A name of its own each run: its state (etcd, Prometheus data, logs) would pile up.
    await rm(instanceDir(name), { recursive: true, force: true });
  });

  it('refuses an unknown option with usage (exit 2)', async () => {
    const run = await demo(['--nope'], 30_000);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /usage: npm run demo/);
  });

  it('plays the story without a terminal: one line per event, exit 0, a summary naming the promoted, rolled-back and revert commits', async () => {
    const run = await demo(['--name', name], 900_000);
    const output = `${run.stdout}\n--- stderr ---\n${run.stderr}`;
    assert.equal(run.code, 0, output);
    assert.ok(!run.stdout.includes('\u001b['), 'no terminal escapes in a pipe');

    // The events, one per line.
    assert.match(run.stdout, /^\[ *[\d.]+s\] act +3\/3: v3/m);
    assert.match(run.stdout, /^\[ *[\d.]+s\] traffic +canary 20%, stable 80%$/m);
    assert.match(run.stdout, /^\[ *[\d.]+s\] analysis +success-rate = \[[\d.]+\]: Successful/m, output);
    assert.match(run.stdout, /^\[ *[\d.]+s\] analysis +success-rate = \[0\.[0-8]\d*\]: Failed/m, 'v3 measured below 95%');
    assert.match(run.stdout, /^\[ *[\d.]+s\] git +Weir pushed [0-9a-f]{7}, the revert of [0-9a-f]{7}$/m);

    // The summary.
    assert.match(run.stdout, /^Summary: the story played out as expected$/m);
    assert.match(run.stdout, /^ {2}promoted: +v2 [0-9a-f]{7} "demo v2: a healthy release": \d+ analysis runs? passed$/m);
    assert.match(run.stdout, /^ {2}rejected: +v3 [0-9a-f]{7} "demo v3: .*": .+$/m);
    for (const timing of [/v2: push → first traffic shift [\d.]+s/, /v3: failure → traffic back on the stable version [\d.]+s/, /v3: failure → revert commit in Git [\d.]+s/]) {
      assert.match(run.stdout, timing);
    }
    const commit = (label: string): string => new RegExp(`^ {4}${label}: +(${SHA})`, 'm').exec(run.stdout)?.[1] ?? '';
    const promoted = commit('promoted commit');
    const rolledBack = commit('rolled-back commit');
    const revert = commit('revert commit');
    assert.ok(promoted && rolledBack && revert, run.stdout);
    assert.equal(new Set([promoted, rolledBack, revert]).size, 3);
    assert.match(run.stdout, new RegExp(`main is at ${revert.slice(0, 7)} by Weir`));

    // Without --keep it stops what it started: the controller (by its recorded pid) and the sandbox.
    assert.equal((await sandboxStatus(name)).running, false);
    await assert.rejects(access(join(instanceDir(name), 'demo', 'controller.json')), 'the controller record is gone');
  });
});
