// The status the stand-in reports for a pod, built from what it knows of
// each container. Pure: the runner passes its bookkeeping and the time.

export interface ContainerTermination {
  exitCode: number;
  reason: string;
  startedAt: string;
  finishedAt: string;
}

export interface ContainerRecord {
  name: string;
  image: string;
  state: 'waiting' | 'running';
  waitingReason?: string;
  waitingMessage?: string;
  /** When the current run started (state running). */
  startedAt?: string;
  /** Whether the container has run at least once. */
  everStarted: boolean;
  ready: boolean;
  restartCount: number;
  lastTermination?: ContainerTermination;
  /** Process id for containers run as processes; undefined for the others. */
  pid?: number;
}

export interface PodStatusInput {
  podIp: string;
  hostIp: string;
  startTime: string;
  /** When readiness last changed, for the conditions' lastTransitionTime. */
  readySince: string;
  containers: ContainerRecord[];
}

interface Condition {
  type: string;
  status: 'True' | 'False';
  lastProbeTime: null;
  lastTransitionTime: string;
  reason?: string;
  message?: string;
}

export function buildPodStatus(input: PodStatusInput) {
  const allStarted = input.containers.every((c) => c.everStarted);
  const allReady = input.containers.length > 0 && input.containers.every((c) => c.ready);
  const notReady = input.containers.filter((c) => !c.ready).map((c) => c.name);
  const readiness = (type: string): Condition =>
    allReady
      ? { type, status: 'True', lastProbeTime: null, lastTransitionTime: input.readySince }
      : {
          type,
          status: 'False',
          lastProbeTime: null,
          lastTransitionTime: input.readySince,
          reason: type === 'Ready' ? 'ContainersNotReady' : 'ContainersNotReady',
          message: `containers with unready status: [${notReady.join(' ')}]`,
        };
  return {
    phase: allStarted ? 'Running' : 'Pending',
    hostIP: input.hostIp,
    podIP: input.podIp,
    podIPs: [{ ip: input.podIp }],
    startTime: input.startTime,
    qosClass: 'BestEffort',
    conditions: [
      { type: 'Initialized', status: 'True', lastProbeTime: null, lastTransitionTime: input.startTime },
      readiness('Ready'),
      readiness('ContainersReady'),
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: input.startTime },
    ] satisfies Condition[],
    containerStatuses: input.containers.map((c) => ({
      name: c.name,
      image: c.image,
      imageID: `weir-sandbox://${c.image}`,
      containerID: c.pid === undefined ? `weir-sandbox://${c.name}` : `weir-sandbox://pid/${c.pid}`,
      ready: c.ready,
      started: c.state === 'running',
      restartCount: c.restartCount,
      state:
        c.state === 'running'
          ? { running: { startedAt: c.startedAt } }
          : { waiting: { reason: c.waitingReason ?? 'ContainerCreating', ...(c.waitingMessage ? { message: c.waitingMessage } : {}) } },
      lastState: c.lastTermination ? { terminated: c.lastTermination } : {},
    })),
  };
}
