// Kubernetes Events about Weir's objects (what `kubectl describe` shows).
import { hostname } from 'node:os';
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';
import type { Logger } from '../util/log.ts';
import { describeKubeError } from './errors.ts';

export interface EventSubject {
  apiVersion: string;
  kind: string;
  metadata: { name?: string; namespace?: string; uid?: string; resourceVersion?: string };
}

export class EventRecorder {
  readonly #core: CoreV1Api;
  readonly #logger: Logger;
  readonly #component: string;

  constructor(kc: KubeConfig, logger: Logger, component = 'weir') {
    this.#core = kc.makeApiClient(CoreV1Api);
    this.#logger = logger;
    this.#component = component;
  }

  /** Records an Event; a failure is logged, never thrown (events are best effort). */
  async record(subject: EventSubject, type: 'Normal' | 'Warning', reason: string, message: string): Promise<void> {
    const namespace = subject.metadata.namespace ?? 'default';
    const now = new Date();
    try {
      await this.#core.createNamespacedEvent({
        namespace,
        body: {
          metadata: { generateName: `${subject.metadata.name ?? 'object'}.`, namespace },
          involvedObject: {
            apiVersion: subject.apiVersion,
            kind: subject.kind,
            name: subject.metadata.name ?? '',
            namespace,
            ...(subject.metadata.uid ? { uid: subject.metadata.uid } : {}),
            ...(subject.metadata.resourceVersion ? { resourceVersion: subject.metadata.resourceVersion } : {}),
          },
          reason,
          message,
          type,
          count: 1,
          firstTimestamp: now,
          lastTimestamp: now,
          source: { component: this.#component },
          reportingComponent: this.#component,
          reportingInstance: hostname(),
        },
      });
    } catch (err) {
      this.#logger.warn({ reason, err: describeKubeError(err) }, 'could not record event');
    }
  }
}
