// `weir sandbox up|down|status|env` on an instance of their own: a second
// `up` reports the running sandbox, `down` leaves no process behind (checked
// by pid), and Ctrl-C during `up` cleans up.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { connect } from 'node:net';
import { after, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { KubeConfig, AppsV1Api } from '@kubernetes/client-node';
import { instanceDir, instanceFiles, processGroupMembers, readState, sandboxDown } from '../src/sandbox/index.ts';
import { waitFor } from '../src/util/wait.ts';
import { demoDeployment } from './support/demo-app.ts';

const run = promisify(execFile);
const weir = (args: string[]) => run(process.execPath, ['bin/weir.js', ...args]);

function portOpen(url: string): Promise<boolean> {
  const { hostname, port } = new URL(url);
  return new Promise((resolve) => {
    const socket = connect({ host: hostname, port: Number(port) });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => {
      resolve(false);
    });
  });
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

describe('sandbox lifecycle', () => {
  const name = 'lifecycle-test';
  after(async () => {
    await sandboxDown(name, () => undefined);
    await sandboxDown('interrupt-test', () => undefined);
  });

  it('up is idempotent, env and status describe it, down stops every process', async () => {
    const first = await weir(['sandbox', '--name', name, 'up']);
    assert.match(first.stdout, new RegExp(`sandbox "${name}" is ready`));
    const state = await readState(instanceFiles(instanceDir(name)).state);
    assert.ok(state);
    assert.match(first.stdout, new RegExp(`kubeconfig: +${state.kubeconfig}`));
    assert.match(first.stdout, new RegExp(`Prometheus: +${state.prometheusUrl}`));
    assert.match(first.stdout, new RegExp(`Git server: +${state.gitUrl}`));

    const second = await weir(['sandbox', '--name', name, 'up']);
    assert.match(second.stdout, new RegExp(`already running \\(pid ${state.pid}\\)`));
    const again = await readState(instanceFiles(instanceDir(name)).state);
    assert.equal(again?.pid, state.pid, 'no second supervisor was started');

    const env = await weir(['sandbox', '--name', name, 'env']);
    assert.match(env.stdout, new RegExp(`^export KUBECONFIG='${state.kubeconfig}'$`, 'm'));
    const status = await weir(['sandbox', '--name', name, 'status']);
    assert.match(status.stdout, /ready/);

    // A pod process too, so `down` has to stop one of those as well.
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    const apps = kc.makeApiClient(AppsV1Api);
    await apps.createNamespacedDeployment({ namespace: 'default', body: demoDeployment({ name: 'lc', namespace: 'default', replicas: 1 }) });
    await waitFor(async () => (await apps.readNamespacedDeployment({ name: 'lc', namespace: 'default' })).status?.availableReplicas === 1, {
      what: 'a running demo pod',
      timeoutMs: 60_000,
    });

    const pids = await processGroupMembers(state.pid);
    const names = await Promise.all(pids.map(async (pid) => (await run('ps', ['-o', 'args=', '-p', String(pid)]).catch(() => ({ stdout: '' }))).stdout));
    for (const part of ['etcd', 'kube-apiserver', 'kube-controller-manager', 'prometheus', 'demo-app/server.ts', 'supervisor-main.ts']) {
      assert.ok(names.some((n) => n.includes(part)), `${part} runs in the sandbox's process group`);
    }
    const urls = [state.apiServerUrl, state.prometheusUrl, state.gitUrl, state.etcdUrl];
    for (const url of urls) assert.ok(await portOpen(url), `${url} is listening`);

    const down = await weir(['sandbox', '--name', name, 'down']);
    assert.match(down.stdout, /stopped/);
    for (const pid of pids) assert.equal(alive(pid) && (await processGroupMembers(state.pid)).includes(pid), false, `pid ${pid} is gone`);
    for (const url of urls) assert.equal(await portOpen(url), false, `${url} no longer listening`);

    await assert.rejects(weir(['sandbox', '--name', name, 'status']), (err: { code?: number; stdout?: string }) => {
      assert.equal(err.code, 1);
      assert.match(err.stdout ?? '', /not running/);
      return true;
    });
  });

  it('Ctrl-C during up stops what it started', async () => {
    const child = spawn(process.execPath, ['bin/weir.js', 'sandbox', '--name', 'interrupt-test', 'up'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (c: Buffer) => (stderr += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => { resolve(code); }));
    // Interrupt once the API server is being started: etcd is already running.
    await waitFor(() => stderr.includes('starting kube-apiserver'), { what: 'up to reach kube-apiserver', timeoutMs: 60_000, intervalMs: 50 });
    const state = await readState(instanceFiles(instanceDir('interrupt-test')).state);
    assert.ok(state);
    child.kill('SIGINT');
    assert.equal(await exited, 130);
    assert.deepEqual(await processGroupMembers(state.pid), [], 'no process of the interrupted sandbox is left');
  });
});
