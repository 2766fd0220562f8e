import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BuildProgress } from './build-progress.ts';

describe('BuildProgress', () => {
  it('stays inactive for a cached build and for other lines', () => {
    const p = new BuildProgress();
    assert.equal(p.onLine('installing Debian packages: etcd-server', 0), false);
    assert.equal(p.active, false);
    assert.equal(p.fraction(0), 0);
  });

  it('moves with time inside a phase, never past it, and jumps at the next', () => {
    const p = new BuildProgress();
    p.onLine("[build-kubernetes] building Kubernetes 1.20.2 from Debian's source package into /c (first run only; about 7 minutes on 2 cores)", 0);
    assert.equal(p.active, true);
    assert.equal(p.fraction(0), 0);
    const early = p.fraction(30_000);
    assert.ok(early > 0 && early < 0.1, String(early));
    assert.equal(p.fraction(600_000), p.fraction(900_000), 'capped while the phase runs long');
    p.onLine('[build-kubernetes] building kube-apiserver (several minutes on 2 cores)', 60_000);
    const atApiserver = p.fraction(60_000);
    assert.ok(Math.abs(atApiserver - 60 / 420) < 1e-9, 'the source phase counts in full once the build starts');
    p.onLine('[build-kubernetes] built kube-apiserver in 212s', 272_000);
    p.onLine('[build-kubernetes] building kube-controller-manager (several minutes on 2 cores)', 272_000);
    assert.ok(p.fraction(272_000) > atApiserver);
    assert.match(p.render(272_000), /^\[█+░+\] +\d+% {2}building kube-controller-manager, about \dm\d\ds left$/);
    p.onLine('[build-kubernetes] cached in /c/kubernetes-1.20.2/bin', 400_000);
    assert.equal(p.active, false);
    assert.equal(p.fraction(400_000), 1);
    assert.match(p.render(400_000), /100% {2}done$/);
  });
});
