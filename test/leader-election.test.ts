// Two controller processes with --leader-elect on one Lease. Killing the
// leader (SIGKILL) mid-rollout: the standby takes the Lease once it expired,
// and the rollout completes. Freezing the leader (SIGSTOP) until the standby
// took over, then thawing it: the old leader sends no write at all (every
// request of each process goes through its own recording proxy) and exits 1.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { CoordinationV1Api, type V1Lease } from '@kubernetes/client-node';
import { freePort } from '../src/sandbox/ports.ts';
import { waitFor } from '../src/util/wait.ts';
import { startController, type ControllerProcess } from './support/controller.ts';
import { namespace } from './support/demo-app.ts';
import { startRecordingProxy, type RecordingProxy } from './support/recording-proxy.ts';
import { ROLLOUTS, createRolloutNetworking, demoRollout, installCrds, setImage, waitForRollout } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const LEASE = 'weir-test';
const LEASE_MS = 4000;
const RENEW_MS = 3000;
const RETRY_MS = 1000;
const WEBHOOK_SECRET = 'leader-test-secret';

interface Replica {
  name: string;
  proxy: RecordingProxy;
  controller: ControllerProcess;
}

describe('leader election', () => {
  let sb: TestSandbox;
  let leases: CoordinationV1Api;
  const ns = uniqueName('lead');
  const name = 'demo';
  const replicas: Replica[] = [];

  async function startReplica(replicaName: string): Promise<Replica> {
    const proxy = await startRecordingProxy(sb, { name: `${ns}-${replicaName}` });
    const port = await freePort();
    const controller = await startController(sb, {
      namespace: ns,
      logName: `${ns}-${replicaName}`,
      kubeconfig: proxy.kubeconfig,
      args: [
        '--leader-elect',
        '--leader-elect-namespace', ns,
        '--leader-elect-id', LEASE,
        '--leader-elect-lease-duration', `${LEASE_MS / 1000}s`,
        '--leader-elect-renew-deadline', `${RENEW_MS / 1000}s`,
        '--leader-elect-retry-period', `${RETRY_MS / 1000}s`,
        '--listen', `127.0.0.1:${port}`,
        '--advertise-url', `http://127.0.0.1:${port}`,
        '--webhook-secret', WEBHOOK_SECRET,
      ],
    });
    const replica = { name: replicaName, proxy, controller };
    replicas.push(replica);
    return replica;
  }

  async function lease(): Promise<V1Lease | undefined> {
    return leases.readNamespacedLease({ name: LEASE, namespace: ns }).catch(() => undefined);
  }

  /** Whether the Lease names this process (identity hostname_pid_random). */
  function holds(l: V1Lease | undefined, r: Replica): boolean {
    return new RegExp(`_${r.controller.child.pid ?? -1}_[0-9a-f]{8}$`).test(l?.spec?.holderIdentity ?? '');
  }

  function waitForHolder(r: Replica, what: string, timeoutMs = 20_000): Promise<V1Lease> {
    return waitFor(async () => {
      const l = await lease();
      return holds(l, r) ? l : undefined;
    }, { what, timeoutMs, intervalMs: 50 });
  }

  async function waitForStandby(r: Replica): Promise<void> {
    await waitFor(async () => (await fetch(`${r.controller.url}/readyz`).then((res) => res.text())) === 'standby\n', { what: `${r.name} to be a ready standby`, timeoutMs: 20_000 });
    await waitFor(async () => (await readFile(r.controller.logFile, 'utf8')).includes('another replica leads; standing by'), { what: `${r.name} to see the leader`, timeoutMs: 20_000 });
  }

  const steps = [{ setWeight: 50 }, { pause: { duration: '8s' } }, { setWeight: 100 }, { pause: { duration: 2 } }];

  before(async () => {
    sb = await testSandbox();
    leases = sb.kc.makeApiClient(CoordinationV1Api);
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
    await createRolloutNetworking(sb, { name, namespace: ns, router: true });
  });
  after(async () => {
    for (const r of replicas) {
      if (r.controller.child.exitCode === null) r.controller.child.kill('SIGCONT');
      await r.controller.stop();
      await r.proxy.close();
    }
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  it('the standby takes over within the lease duration after the leader is killed, and the rollout completes', async () => {
    const a = await startReplica('a');
    await waitForHolder(a, 'a to lead');
    const b = await startReplica('b');
    await waitForStandby(b);
    assert.deepEqual(b.proxy.writes(), [], 'a standby writes nothing');

    // The leader publishes where it is reached; a push sent to the standby reaches the leader.
    assert.equal((await lease())?.metadata?.annotations?.['weir.dev/webhook-url'], a.controller.url.replace(/\/$/, ''));
    const push = JSON.stringify({ ref: 'refs/heads/main', repository: { clone_url: 'http://git.example/none.git' } });
    const signature = `sha256=${createHmac('sha256', WEBHOOK_SECRET).update(push).digest('hex')}`;
    const viaStandby = await fetch(`${b.controller.url}/hooks/git`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-github-event': 'push', 'x-hub-signature-256': signature }, body: push });
    assert.equal(viaStandby.status, 202, await viaStandby.text());
    await waitFor(async () => (await readFile(a.controller.logFile, 'utf8')).includes('webhook push received'), { what: 'the leader to receive the push', timeoutMs: 5000 });

    await sb.custom.createNamespacedCustomObject({ ...ROLLOUTS, namespace: ns, body: demoRollout({ name, namespace: ns, replicas: 2, steps, router: true }) });
    await waitForRollout(sb, ns, name, 'Healthy', (s) => s.phase === 'Healthy' && s.availableReplicas === 2);
    await setImage(sb, ns, name, 'v2');
    await waitForRollout(sb, ns, name, 'in the timed pause', (s) => s.currentStepIndex === 1 && (s.pauseConditions?.length ?? 0) > 0);

    const before = await lease();
    assert.ok(holds(before, a));
    const lastRenew = Date.parse(String(before?.spec?.renewTime));
    const transitions = before?.spec?.leaseTransitions ?? 0;
    const killedAt = Date.now();
    await a.controller.kill();

    const taken = await waitForHolder(b, 'b to take the lease');
    const acquiredAt = Date.parse(String(taken.spec?.acquireTime));
    // Never before the lease expired: b waited the full duration after it saw a's last renewal...
    assert.ok(acquiredAt - lastRenew >= LEASE_MS, `b acquired ${acquiredAt - lastRenew} ms after a's last renewal (lease ${LEASE_MS} ms)`);
    // ...and no later than the lease duration plus one (jittered) retry to notice, after the kill.
    assert.ok(acquiredAt - killedAt <= LEASE_MS + RETRY_MS * 1.2 + 300, `b took over ${acquiredAt - killedAt} ms after the kill`);
    assert.equal(taken.spec?.leaseTransitions, transitions + 1);

    const done = await waitForRollout(sb, ns, name, 'Healthy on v2 under b', (s) => s.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.availableReplicas === 2, 120_000);
    assert.equal(done.status?.currentStepIndex, steps.length);
    assert.ok(b.proxy.writes().length > 0, 'b wrote once it led');
  });

  it('a leader frozen past its renew deadline sends no write when it wakes up, and exits', async () => {
    const b = replicas.find((r) => r.name === 'b');
    assert.ok(b, 'b leads after the first test');
    await waitForHolder(b, 'b to lead');
    const c = await startReplica('c');
    await waitForStandby(c);

    await setImage(sb, ns, name, 'v3');
    await waitForRollout(sb, ns, name, 'v3 in the timed pause', (s) => s.currentStepIndex === 1 && (s.pauseConditions?.length ?? 0) > 0 && s.currentPodHash !== s.stableRS);
    b.controller.child.kill('SIGSTOP');
    try {
      await waitForHolder(c, 'c to take the lease from the frozen b');
    } finally {
      // Whatever b sent before it froze has reached the proxy by now (c needed seconds to take over).
      const writesBefore = b.proxy.writes().length;
      b.controller.child.kill('SIGCONT');
      await waitFor(() => b.controller.child.exitCode !== null, { what: 'the thawed b to exit', timeoutMs: 10_000, intervalMs: 20 });
      const late = b.proxy.writes().slice(writesBefore);
      assert.deepEqual(late.map((r) => `${r.method} ${r.path}`), [], 'no write from b after it lost the lease');
    }
    assert.equal(b.controller.child.exitCode, 1);
    assert.match(await readFile(b.controller.logFile, 'utf8'), /lost the lease; no more writes/);

    await waitForRollout(sb, ns, name, 'Healthy on v3 under c', (s) => s.phase === 'Healthy' && s.stableRS === s.currentPodHash && s.availableReplicas === 2, 120_000);
    assert.ok(c.proxy.writes().length > 0, 'c wrote once it led');
  });
});
