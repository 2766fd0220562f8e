// Runs one pod's containers: the demo app's image as a real process on the
// pod's own loopback address, every other image as a container that is
// simply Running/Ready. Handles probes, restarts and graceful termination.
import { join } from 'node:path';
import type { V1Container, V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../../util/log.ts';
import { spawnManaged, type ManagedProcess } from '../processes.ts';
import { ContainerConfigError, resolveEnv, type EnvSources } from './env.ts';
import { isDemoImage, parseImage } from './images.ts';
import type { ContainerRecord } from './pod-status.ts';
import { probeSettings, runProbe } from './probes.ts';

export interface PodRunnerDeps {
  demoAppEntry: string;
  nodeBinary: string;
  logDir: string;
  envSources: EnvSources;
  logger: Logger;
  /** Called whenever something the pod's status shows has changed. */
  onChange: () => void;
}

const MAX_BACKOFF_MS = 20_000;
const CONFIG_RETRY_MS = 2_000;

class ContainerRunner {
  readonly record: ContainerRecord;
  #proc: ManagedProcess | undefined;
  #timers = new Set<NodeJS.Timeout>();
  #stopping = false;
  #probeGeneration = 0;

  readonly pod: V1Pod;
  readonly container: V1Container;
  readonly podIp: string;
  readonly deps: PodRunnerDeps;

  constructor(pod: V1Pod, container: V1Container, podIp: string, deps: PodRunnerDeps) {
    this.pod = pod;
    this.container = container;
    this.podIp = podIp;
    this.deps = deps;
    this.record = {
      name: container.name,
      image: container.image ?? '',
      state: 'waiting',
      waitingReason: 'ContainerCreating',
      everStarted: false,
      ready: false,
      restartCount: 0,
    };
  }

  start(): void {
    if (!isDemoImage(this.record.image)) {
      this.#markRunning(undefined);
      this.record.ready = true;
      this.deps.onChange();
      return;
    }
    void this.#launch();
  }

  #later(ms: number, fn: () => void): void {
    const timer = setTimeout(() => {
      this.#timers.delete(timer);
      if (!this.#stopping) fn();
    }, ms);
    this.#timers.add(timer);
  }

  #markRunning(pid: number | undefined): void {
    this.record.state = 'running';
    this.record.startedAt = new Date().toISOString();
    this.record.everStarted = true;
    delete this.record.waitingReason;
    delete this.record.waitingMessage;
    if (pid === undefined) delete this.record.pid;
    else this.record.pid = pid;
  }

  async #launch(): Promise<void> {
    const { pod, container, podIp } = this;
    let env: Record<string, string>;
    try {
      env = await resolveEnv(pod, container, podIp, this.deps.envSources);
    } catch (err) {
      if (this.#stopping) return;
      const message = err instanceof Error ? err.message : String(err);
      this.record.waitingReason = err instanceof ContainerConfigError ? 'CreateContainerConfigError' : 'ContainerCreating';
      this.record.waitingMessage = message;
      this.deps.onChange();
      this.#later(CONFIG_RETRY_MS, () => void this.#launch());
      return;
    }
    if (this.#stopping) return;
    const namespace = pod.metadata?.namespace ?? 'default';
    const name = pod.metadata?.name ?? '';
    const firstPort = container.ports?.[0]?.containerPort;
    const processEnv: NodeJS.ProcessEnv = {
      PATH: process.env.PATH,
      VERSION: parseImage(this.record.image).tag,
      ...(firstPort === undefined ? {} : { PORT: String(firstPort) }),
      POD_NAME: name,
      POD_NAMESPACE: namespace,
      HOSTNAME: name,
      ...env,
      // The pod's address is the one thing a container cannot choose.
      HOST: podIp,
    };
    const proc = spawnManaged({
      name: `${namespace}/${name}/${container.name}`,
      command: this.deps.nodeBinary,
      args: [this.deps.demoAppEntry],
      env: processEnv,
      logFile: join(this.deps.logDir, `${namespace}_${name}_${container.name}.log`),
    });
    this.#proc = proc;
    const startedAt = new Date().toISOString();
    this.#markRunning(proc.pid);
    this.record.ready = container.readinessProbe === undefined;
    this.deps.onChange();
    const generation = ++this.#probeGeneration;
    this.#scheduleProbes(generation);
    void proc.exited.then((code) => {
      this.#onExit(proc, code, startedAt);
    });
  }

  #scheduleProbes(generation: number): void {
    const { readinessProbe, livenessProbe } = this.container;
    if (readinessProbe) {
      const s = probeSettings(readinessProbe);
      let successes = 0;
      let failures = 0;
      const tick = (): void => {
        if (generation !== this.#probeGeneration) return;
        void runProbe(readinessProbe, this.container, this.podIp, s.timeoutMs).then((outcome) => {
          if (generation !== this.#probeGeneration || this.#stopping) return;
          if (outcome.ok) {
            successes++;
            failures = 0;
            if (!this.record.ready && successes >= s.successThreshold) {
              this.record.ready = true;
              this.deps.onChange();
            }
          } else {
            failures++;
            successes = 0;
            if (this.record.ready && failures >= s.failureThreshold) {
              this.record.ready = false;
              this.deps.logger.info({ container: this.container.name, reason: outcome.reason }, 'readiness probe failed');
              this.deps.onChange();
            }
          }
          this.#later(s.periodMs, tick);
        });
      };
      this.#later(s.initialDelayMs, tick);
    }
    if (livenessProbe) {
      const s = probeSettings(livenessProbe);
      let failures = 0;
      const tick = (): void => {
        if (generation !== this.#probeGeneration) return;
        void runProbe(livenessProbe, this.container, this.podIp, s.timeoutMs).then((outcome) => {
          if (generation !== this.#probeGeneration || this.#stopping) return;
          failures = outcome.ok ? 0 : failures + 1;
          if (!outcome.ok && failures >= s.failureThreshold) {
            this.deps.logger.info({ container: this.container.name, reason: outcome.reason }, 'liveness probe failed; restarting');
            void this.#proc?.stop(5_000);
            return;
          }
          this.#later(s.periodMs, tick);
        });
      };
      this.#later(s.initialDelayMs, tick);
    }
  }

  #onExit(proc: ManagedProcess, code: number | string, startedAt: string): void {
    if (this.#proc !== proc) return;
    this.#proc = undefined;
    this.#probeGeneration++;
    if (this.#stopping) return;
    const exitCode = typeof code === 'number' ? code : 137;
    this.record.lastTermination = {
      exitCode,
      reason: exitCode === 0 ? 'Completed' : 'Error',
      startedAt,
      finishedAt: new Date().toISOString(),
    };
    this.record.ready = false;
    const policy = this.pod.spec?.restartPolicy ?? 'Always';
    if (policy === 'Never' || (policy === 'OnFailure' && exitCode === 0)) {
      this.record.state = 'waiting';
      this.record.waitingReason = 'Terminated';
      this.deps.onChange();
      return;
    }
    this.record.restartCount++;
    this.record.state = 'waiting';
    this.record.waitingReason = 'CrashLoopBackOff';
    this.record.waitingMessage = `back-off restarting failed container ${this.container.name}`;
    this.deps.logger.warn({ container: this.container.name, exitCode, restarts: this.record.restartCount }, 'container exited; restarting');
    this.deps.onChange();
    const backoff = Math.min(MAX_BACKOFF_MS, 1000 * 2 ** Math.min(this.record.restartCount - 1, 5));
    this.#later(backoff, () => void this.#launch());
  }

  async stop(graceMs: number): Promise<void> {
    this.#stopping = true;
    this.#probeGeneration++;
    for (const timer of this.#timers) clearTimeout(timer);
    this.#timers.clear();
    await this.#proc?.stop(graceMs);
  }
}

export class PodRunner {
  readonly startTime = new Date().toISOString();
  readySince = this.startTime;
  readonly #containers: ContainerRunner[];
  #wasReady = false;

  readonly podIp: string;

  constructor(pod: V1Pod, podIp: string, deps: PodRunnerDeps) {
    this.podIp = podIp;
    const onChange = (): void => {
      const ready = this.#containers.every((c) => c.record.ready);
      if (ready !== this.#wasReady) {
        this.#wasReady = ready;
        this.readySince = new Date().toISOString();
      }
      deps.onChange();
    };
    this.#containers = (pod.spec?.containers ?? []).map((c) => new ContainerRunner(pod, c, podIp, { ...deps, onChange }));
  }

  start(): void {
    for (const c of this.#containers) c.start();
  }

  records(): ContainerRecord[] {
    return this.#containers.map((c) => ({ ...c.record }));
  }

  pids(): number[] {
    return this.#containers.flatMap((c) => (c.record.pid === undefined || c.record.state !== 'running' ? [] : [c.record.pid]));
  }

  async stop(graceMs: number): Promise<void> {
    await Promise.all(this.#containers.map((c) => c.stop(graceMs)));
  }
}
