// Canary steps: what kind a step is, how it is named (in Events and status
// messages, and in the CLI's and the demo's views), and what is in force at a
// step: the traffic weight, the previous weight, the setCanaryScale.
import type { CanaryStep } from '../api/rollout.ts';
import { formatDuration } from './duration.ts';

export type StepKind = 'setWeight' | 'pause' | 'setCanaryScale' | 'analysis' | 'setHeaderRoute' | 'setMirrorRoute' | 'unsupported';

export function stepKind(step: CanaryStep): StepKind {
  if (step.setWeight !== undefined) return 'setWeight';
  if (step.pause !== undefined) return 'pause';
  if (step.setCanaryScale !== undefined) return 'setCanaryScale';
  if (step.analysis !== undefined) return 'analysis';
  if (step.setHeaderRoute !== undefined) return 'setHeaderRoute';
  if (step.setMirrorRoute !== undefined) return 'setMirrorRoute';
  return 'unsupported';
}

/**
 * How describeStep writes a step.
 *
 * - `view` (the default), as `weir get rollout` and the demo list the steps:
 *   every action the step sets, joined with ", ", an indefinite pause as
 *   "pause {}", an analysis with its templates ("analysis a,b"), "{}" for an
 *   empty step;
 * - `message`, as the engine's Events and status messages name it ("Step
 *   2/5: pause"): the step's one action, "setWeight 20", "pause",
 *   "pause 30s", "setCanaryScale replicas 2", "analysis" ("unknown" for an
 *   empty step).
 */
export type StepStyle = 'view' | 'message';

/** A step as a short text, in the given style (see StepStyle). */
export function describeStep(step: CanaryStep, style: StepStyle = 'view'): string {
  const view = style === 'view';
  const parts: string[] = [];
  if (step.setWeight !== undefined) parts.push(`setWeight ${step.setWeight}`);
  if (step.pause !== undefined) parts.push(step.pause.duration !== undefined ? `pause ${formatDuration(step.pause.duration)}` : view ? 'pause {}' : 'pause');
  if (step.setCanaryScale !== undefined) {
    const scs = step.setCanaryScale;
    // A valid step sets exactly one of the three (validation): an empty one reads "{}" in the view.
    const what = scs.replicas !== undefined ? `replicas ${scs.replicas}` : scs.weight !== undefined ? `weight ${scs.weight}` : scs.matchTrafficWeight === true || !view ? 'matchTrafficWeight' : '{}';
    parts.push(`setCanaryScale ${what}`);
  }
  if (step.analysis !== undefined) parts.push(view ? `analysis ${(step.analysis.templates ?? []).map((t) => t.templateName).join(',') || '{}'}` : 'analysis');
  for (const key of ['setHeaderRoute', 'setMirrorRoute'] as const) {
    const route = step[key];
    if (route !== undefined) parts.push(`${key} ${route.name}${(route.match ?? []).length === 0 ? ' (remove)' : ''}`);
  }
  for (const key of ['experiment', 'plugin'] as const) {
    if (step[key] !== undefined && (!view || Boolean(step[key]))) parts.push(key);
  }
  if (view) return parts.length > 0 ? parts.join(', ') : '{}';
  return parts[0] ?? 'unknown';
}

/** The traffic weight in force at a step: the last setWeight at or before it (0 if none); 100 past the last step (Argo's GetCurrentSetWeight). */
export function setWeightAt(steps: readonly CanaryStep[], index: number): number {
  if (index >= steps.length) return 100;
  for (let i = index; i >= 0; i--) {
    const w = steps[i]?.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

/** The last setWeight strictly before a step (0 if none): the weight kept while the step's replicas come up. */
export function previousSetWeight(steps: readonly CanaryStep[], index: number): number {
  for (let i = Math.min(index, steps.length) - 1; i >= 0; i--) {
    const w = steps[i]?.setWeight;
    if (w !== undefined) return w;
  }
  return 0;
}

/** The setCanaryScale in force at a step (router only), unless a later one matches the traffic weight again (Argo's UseSetCanaryScale). */
export function canaryScaleAt(steps: readonly CanaryStep[], index: number): { weight?: number; replicas?: number } | undefined {
  if (index >= steps.length) return undefined;
  for (let i = index; i >= 0; i--) {
    const scs = steps[i]?.setCanaryScale;
    if (scs === undefined) continue;
    if (scs.matchTrafficWeight === true) return undefined;
    if (scs.replicas !== undefined) return { replicas: scs.replicas };
    if (scs.weight !== undefined) return { weight: scs.weight };
    return undefined;
  }
  return undefined;
}
