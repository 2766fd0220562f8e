// `npm run demo` as a user runs it in CI: non-interactively (stdout is a
// pipe), on a sandbox of its own. It must play the whole story (v2
// promoted by analysis, v3 rejected, rolled back and reverted in Git), exit
// 0 and print the summary with the three commits. Run with --keep, so the
// summary's claims are checked against the cluster and Git afterwards;
// then --down must stop the controller and the sandbox.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { access, readFile, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import git from 'isomorphic-git';
import http from 'isomorphic-git/http/node';
import { instanceDir, processGroupMembers, sandboxStatus } from '../src/sandbox/index.ts';

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

function weir(args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/weir.js', ...args], (err, stdout, stderr) => {
      if (err) reject(new Error(`weir ${args.join(' ')}: ${stderr}${stdout}`));
      else resolve(stdout);
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

  it('plays the story without a terminal: one line per event, exit 0, a summary whose commits the cluster and Git confirm; --down stops it all', async () => {
    const run = await demo(['--name', name, '--keep'], 900_000);
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
    assert.match(run.stdout, /^ {2}rejected: +v3 [0-9a-f]{7} "demo v3: .*": .*analysis.*Failed/m);
    for (const timing of [/v2: push → first traffic shift [\d.]+s/, /v3: failure → traffic back on the stable version [\d.]+s/, /v3: failure → revert commit in Git [\d.]+s/]) {
      assert.match(run.stdout, timing);
    }
    const commit = (label: string): string => new RegExp(`^ {4}${label}: +(${SHA})`, 'm').exec(run.stdout)?.[1] ?? '';
    const promoted = commit('promoted commit');
    const rolledBack = commit('rolled-back commit');
    const revert = commit('revert commit');
    assert.ok(promoted && rolledBack && revert, run.stdout);
    assert.equal(new Set([promoted, rolledBack, revert]).size, 3);

    // With --keep, what the summary claims can be checked against the cluster and Git.
    const state = (await sandboxStatus(name)).state;
    assert.ok(state && (await sandboxStatus(name)).running, 'the sandbox keeps running');
    const history = await weir(['history', 'rollout', 'demo', '-n', 'weir-demo', '--kubeconfig', state.kubeconfig]);
    assert.match(history, new RegExp(`^${promoted.slice(0, 7)} .*promoted`, 'm'));
    assert.match(history, new RegExp(`^${rolledBack.slice(0, 7)} .*rejected: .*analysis`, 'm'));
    assert.match(history, new RegExp(`^${revert.slice(0, 7)} \\(.*reverts ${rolledBack.slice(0, 7)}`, 'm'));
    const repositoryUrl = /^ {2}git clone (\S+)/m.exec(run.stdout)?.[1];
    assert.ok(repositoryUrl, 'the repository to clone is printed');
    const refs = await git.listServerRefs({ http, url: repositoryUrl, prefix: 'refs/heads/main' });
    assert.equal(refs.find((r) => r.ref === 'refs/heads/main')?.oid, revert, 'main ends at the revert');
    const record = JSON.parse(await readFile(join(instanceDir(name), 'demo', 'controller.json'), 'utf8')) as { pid: number; url: string };
    assert.equal((await fetch(`${record.url}/readyz`)).status, 200, 'the controller keeps running');
    assert.match(run.stdout, new RegExp(`^Stop everything with: npm run demo -- --name ${name} --down$`, 'm'));

    // --down stops the controller (by its recorded pid) and the sandbox.
    const down = await demo(['--name', name, '--down'], 120_000);
    assert.equal(down.code, 0, down.stdout + down.stderr);
    assert.match(down.stdout, new RegExp(`stopped the demo controller \\(pid ${record.pid}\\)`));
    assert.equal((await sandboxStatus(name)).running, false);
    // Its own process group (detached); gone once no live member is left (an unreaped zombie does not count).
    assert.deepEqual(await processGroupMembers(record.pid), []);
    await assert.rejects(access(join(instanceDir(name), 'demo', 'controller.json')), 'the controller record is gone');
  });
});
