// The status of a Rollout whose spec is invalid: InvalidSpec condition and
// phase Degraded naming the first problems, everything else (the running
// version's state) kept as it was. Pure.
import type { Condition } from '../api/common.ts';
import type { RolloutStatus } from '../api/rollout.ts';

export interface FieldProblem {
  path: string;
  message: string;
}

export const INVALID_SPEC = 'InvalidSpec';

export function describeProblems(name: string, problems: readonly FieldProblem[]): string {
  const shown = problems.slice(0, 3).map((p) => `${p.path}: ${p.message}`);
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
  return `The Rollout "${name}" is invalid: ${shown.join('; ')}${more}`;
}

export function invalidSpecStatus(status: RolloutStatus | undefined, name: string, problems: readonly FieldProblem[], now: Date): RolloutStatus {
  const message = describeProblems(name, problems);
  const previous = status?.conditions?.find((c) => c.type === INVALID_SPEC);
  const time = now.toISOString();
  const condition: Condition = {
    type: INVALID_SPEC,
    status: 'True',
    reason: INVALID_SPEC,
    message,
    lastTransitionTime: previous?.status === 'True' ? (previous.lastTransitionTime ?? time) : time,
    lastUpdateTime: previous?.message === message ? (previous.lastUpdateTime ?? time) : time,
  };
  return {
    ...status,
    phase: 'Degraded',
    message: `${INVALID_SPEC}: ${message}`,
    conditions: [...(status?.conditions ?? []).filter((c) => c.type !== INVALID_SPEC), condition],
  };
}

/** The status without the InvalidSpec condition, as the engine should see it once the spec is valid again. */
export function withoutInvalidSpec(status: RolloutStatus | undefined): RolloutStatus | undefined {
  if (!status?.conditions?.some((c) => c.type === INVALID_SPEC)) return status;
  return { ...status, conditions: status.conditions.filter((c) => c.type !== INVALID_SPEC) };
}
