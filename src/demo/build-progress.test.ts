import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildProgress } from './build-progress.ts';

describe('BuildProgress', () => {
  it('stays inactive for a cached build and for other lines', () => {
    const p = new BuildProgress();
    assert.equal(p.onLine('installing Debian packages: git', 0), false);
    assert.equal(p.onLine('[build] kubernetes 1.37.2: cached in /c/kubernetes-1.37.2/bin', 0), true);
    assert.equal(p.active, false);
    assert.equal(p.planned, false, 'nothing to build: no bar');
    assert.equal(p.fraction(0), 0);
  });

  it('moves with time inside a step, never past it, and jumps at the next', () => {
    const p = new BuildProgress();
    p.onLine('[build] plan: kube-apiserver etcd', 0);
    assert.equal(p.active, true);
    assert.equal(p.planned, true);
    assert.equal(p.fraction(0), 0);
    p.onLine('[build] building kube-apiserver 1.37.2', 0);
    const early = p.fraction(30_000);
    assert.ok(early > 0 && early < 0.1, String(early));
    assert.equal(p.fraction(600_000), p.fraction(900_000), 'capped while the step runs long');
    assert.match(p.render(30_000), /^\[█*░+\] +\d+% {2}building kube-apiserver, about \dm\d\ds left$/);
    p.onLine('[build] built kube-apiserver in 330s', 330_000);
    const afterApiserver = p.fraction(330_000);
    assert.ok(Math.abs(afterApiserver - 340 / 370) < 1e-9, `the finished step counts in full: ${afterApiserver}`);
    p.onLine('[build] building etcd 3.6.17', 330_000);
    assert.ok(p.fraction(340_000) > afterApiserver);
    p.onLine('[build] built etcd in 25s', 355_000);
    p.onLine('[build] all sandbox tools ready in /c (355s)', 355_000);
    assert.equal(p.active, false);
    assert.equal(p.fraction(355_000), 1);
    assert.match(p.render(355_000), /100% {2}done$/);
  });

  it('counts only what the plan names: cached tools take no share of the bar', () => {
    const p = new BuildProgress();
    p.onLine('[build] plan: kubectl', 0);
    p.onLine('[build] etcd 3.6.17: cached in /c/etcd-3.6.17/bin', 0);
    p.onLine('[build] building kubectl 1.37.2', 0);
    p.onLine('[build] built kubectl in 20s', 20_000);
    assert.equal(p.fraction(20_000), 1);
    assert.equal(p.secondsLeft(20_000), 0);
  });
});
