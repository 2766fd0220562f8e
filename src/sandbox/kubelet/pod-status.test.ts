import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPodStatus, type ContainerRecord, type PodStatusInput } from './pod-status.ts';

const START = '2024-05-01T10:00:00Z';
const READY_SINCE = '2024-05-01T10:00:07Z';

function running(name: string, overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  return {
    name,
    image: `${name}:v1`,
    state: 'running',
    startedAt: '2024-05-01T10:00:02Z',
    everStarted: true,
    ready: true,
    restartCount: 0,
    ...overrides,
  };
}

function waiting(name: string, overrides: Partial<ContainerRecord> = {}): ContainerRecord {
  return { name, image: `${name}:v1`, state: 'waiting', everStarted: false, ready: false, restartCount: 0, ...overrides };
}

function input(containers: ContainerRecord[]): PodStatusInput {
  return { podIp: '127.42.0.5', hostIp: '127.0.0.1', startTime: START, readySince: READY_SINCE, containers };
}

function condition(status: ReturnType<typeof buildPodStatus>, type: string): ReturnType<typeof buildPodStatus>['conditions'][number] {
  const found = status.conditions.find((c) => c.type === type);
  assert.ok(found, `no ${type} condition`);
  return found;
}

function containerStatus(status: ReturnType<typeof buildPodStatus>, name: string): ReturnType<typeof buildPodStatus>['containerStatuses'][number] {
  const found = status.containerStatuses.find((c) => c.name === name);
  assert.ok(found, `no status for container ${name}`);
  return found;
}

describe('buildPodStatus', () => {
  describe('phase', () => {
    it('is Pending while no container has started', () => {
      assert.equal(buildPodStatus(input([waiting('app'), waiting('sidecar')])).phase, 'Pending');
    });

    it('is Pending while any container has never started', () => {
      assert.equal(buildPodStatus(input([running('app'), waiting('sidecar')])).phase, 'Pending');
    });

    it('is Running once every container has started', () => {
      assert.equal(buildPodStatus(input([running('app'), running('sidecar', { ready: false })])).phase, 'Running');
    });

    it('stays Running while a container that ran before waits to restart', () => {
      const crashed = waiting('app', { everStarted: true, restartCount: 2, waitingReason: 'CrashLoopBackOff' });
      assert.equal(buildPodStatus(input([crashed])).phase, 'Running');
    });
  });

  describe('conditions', () => {
    it('lists Initialized, Ready, ContainersReady and PodScheduled in that order', () => {
      const status = buildPodStatus(input([running('app')]));
      assert.deepEqual(
        status.conditions.map((c) => c.type),
        ['Initialized', 'Ready', 'ContainersReady', 'PodScheduled'],
      );
    });

    it('reports Initialized and PodScheduled True since the start time', () => {
      const status = buildPodStatus(input([waiting('app')]));
      for (const type of ['Initialized', 'PodScheduled']) {
        assert.deepEqual(condition(status, type), { type, status: 'True', lastProbeTime: null, lastTransitionTime: START });
      }
    });

    it('reports Ready and ContainersReady True, without reason or message, when every container is ready', () => {
      const status = buildPodStatus(input([running('app'), running('sidecar')]));
      for (const type of ['Ready', 'ContainersReady']) {
        assert.deepEqual(condition(status, type), { type, status: 'True', lastProbeTime: null, lastTransitionTime: READY_SINCE });
      }
    });

    it('reports Ready and ContainersReady False listing the unready containers when some are not ready', () => {
      const status = buildPodStatus(input([running('app', { ready: false }), running('proxy'), waiting('sidecar')]));
      for (const type of ['Ready', 'ContainersReady']) {
        assert.deepEqual(condition(status, type), {
          type,
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: READY_SINCE,
          reason: 'ContainersNotReady',
          message: 'containers with unready status: [app sidecar]',
        });
      }
    });

    it('lists a single unready container on its own', () => {
      const status = buildPodStatus(input([running('app'), running('sidecar', { ready: false })]));
      assert.equal(condition(status, 'Ready').message, 'containers with unready status: [sidecar]');
    });

    it('does not report a pod without containers as ready', () => {
      const status = buildPodStatus(input([]));
      assert.equal(condition(status, 'Ready').status, 'False');
      assert.equal(condition(status, 'ContainersReady').status, 'False');
    });
  });

  describe('pod fields', () => {
    it('reports the addresses, start time and QoS class', () => {
      const status = buildPodStatus(input([running('app')]));
      assert.equal(status.podIP, '127.42.0.5');
      assert.deepEqual(status.podIPs, [{ ip: '127.42.0.5' }]);
      assert.equal(status.hostIP, '127.0.0.1');
      assert.equal(status.startTime, START);
      assert.equal(status.qosClass, 'BestEffort');
    });
  });

  describe('containerStatuses', () => {
    it('has one entry per container, in order', () => {
      const status = buildPodStatus(input([running('b'), waiting('a'), running('c')]));
      assert.deepEqual(
        status.containerStatuses.map((c) => c.name),
        ['b', 'a', 'c'],
      );
    });

    it('describes a running process container', () => {
      const status = buildPodStatus(input([running('app', { image: 'weir-demo:v2', pid: 4242, restartCount: 1 })]));
      assert.deepEqual(containerStatus(status, 'app'), {
        name: 'app',
        image: 'weir-demo:v2',
        imageID: 'weir-sandbox://weir-demo:v2',
        containerID: 'weir-sandbox://pid/4242',
        ready: true,
        started: true,
        restartCount: 1,
        state: { running: { startedAt: '2024-05-01T10:00:02Z' } },
        lastState: {},
      });
    });

    it('names containers without a process by container name', () => {
      const status = buildPodStatus(input([running('stub')]));
      assert.equal(containerStatus(status, 'stub').containerID, 'weir-sandbox://stub');
    });

    it('reports a waiting container as ContainerCreating by default, without a message', () => {
      const status = buildPodStatus(input([waiting('app')]));
      const app = containerStatus(status, 'app');
      assert.deepEqual(app.state, { waiting: { reason: 'ContainerCreating' } });
      assert.equal(app.started, false);
      assert.equal(app.ready, false);
      assert.deepEqual(app.lastState, {});
    });

    it('reports the waiting reason and message it is given', () => {
      const status = buildPodStatus(
        input([waiting('app', { waitingReason: 'CreateContainerConfigError', waitingMessage: 'configMap "cfg" not found' })]),
      );
      assert.deepEqual(containerStatus(status, 'app').state, {
        waiting: { reason: 'CreateContainerConfigError', message: 'configMap "cfg" not found' },
      });
    });

    it('reports the restart count and the last termination of a restarted container', () => {
      const lastTermination = { exitCode: 137, reason: 'Error', startedAt: '2024-05-01T10:00:02Z', finishedAt: '2024-05-01T10:00:05Z' };
      const status = buildPodStatus(
        input([waiting('app', { everStarted: true, restartCount: 3, waitingReason: 'CrashLoopBackOff', pid: 99, lastTermination })]),
      );
      const app = containerStatus(status, 'app');
      assert.equal(app.restartCount, 3);
      assert.equal(app.started, false);
      assert.deepEqual(app.state, { waiting: { reason: 'CrashLoopBackOff' } });
      assert.deepEqual(app.lastState, { terminated: lastTermination });
      assert.equal(app.containerID, 'weir-sandbox://pid/99');
    });

    it('keeps the last termination once the container runs again', () => {
      const lastTermination = { exitCode: 1, reason: 'Error', startedAt: 'a', finishedAt: 'b' };
      const status = buildPodStatus(input([running('app', { restartCount: 1, lastTermination, ready: false })]));
      const app = containerStatus(status, 'app');
      assert.equal(app.started, true);
      assert.equal(app.ready, false);
      assert.deepEqual(app.lastState, { terminated: lastTermination });
    });
  });
});
