// The controller's Prometheus metrics (prom-client), served on /metrics.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const PHASES = ['Healthy', 'Progressing', 'Paused', 'Degraded'] as const;

export class ControllerMetrics {
  readonly registry = new Registry();
  readonly reconcileDuration = new Histogram({
    name: 'weir_reconcile_duration_seconds',
    help: 'Time to reconcile one object, by kind and result.',
    labelNames: ['kind', 'result'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'weir_reconcile_errors_total',
    help: 'Reconciles that failed and were retried, by kind.',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly rolloutPhase = new Gauge({
    name: 'weir_rollout_phase',
    help: 'The phase of each rollout: 1 for the current phase, 0 for the others.',
    labelNames: ['namespace', 'rollout', 'phase'] as const,
    registers: [this.registry],
  });
  readonly canaryWeight = new Gauge({
    name: 'weir_rollout_canary_weight',
    help: "The percentage of traffic on each rollout's canary.",
    labelNames: ['namespace', 'rollout'] as const,
    registers: [this.registry],
  });
  readonly info = new Gauge({
    name: 'weir_info',
    help: 'Weir build information.',
    labelNames: ['version', 'node'] as const,
    registers: [this.registry],
  });

  constructor(version: string) {
    collectDefaultMetrics({ register: this.registry, prefix: 'weir_process_' });
    this.info.set({ version, node: process.version }, 1);
  }

  setRollout(namespace: string, rollout: string, phase: string | undefined, weight: number | undefined): void {
    for (const p of PHASES) this.rolloutPhase.set({ namespace, rollout, phase: p }, p === phase ? 1 : 0);
    if (weight !== undefined) this.canaryWeight.set({ namespace, rollout }, weight);
  }

  forgetRollout(namespace: string, rollout: string): void {
    for (const p of PHASES) this.rolloutPhase.remove({ namespace, rollout, phase: p });
    this.canaryWeight.remove({ namespace, rollout });
  }
}
