// trafficRouting.smi: Argo Rollouts' SMITrafficRouting, field names unchanged.
import { serviceNameProblem, subdomainProblem, unknownFieldMessage } from '../../api/names.ts';
import { isRecord } from '../objects.ts';
import type { ConfigProblem } from '../types.ts';

export interface SmiConfig {
  /** The Service clients call (the TrafficSplit's spec.service); default: the Rollout's stableService. */
  rootService?: string;
  /** The TrafficSplit's name; default: the Rollout's name. */
  trafficSplitName?: string;
}

const FIELDS = ['rootService', 'trafficSplitName'] as const;

/** Parses trafficRouting.smi; an empty string means the default, as in Argo (omitempty). */
export function parseSmiConfig(raw: unknown): { config: SmiConfig } | { problems: ConfigProblem[] } {
  if (!isRecord(raw)) {
    return { problems: [{ path: [], message: 'must be an object (write "smi: {}" for the defaults: the stable Service as root, the Rollout\'s name for the TrafficSplit)' }] };
  }
  const problems: ConfigProblem[] = [];
  const config: SmiConfig = {};
  for (const [key, value] of Object.entries(raw)) {
    if (key !== 'rootService' && key !== 'trafficSplitName') {
      problems.push({ path: [key], message: `${unknownFieldMessage(key, FIELDS)} (trafficRouting.smi takes rootService and trafficSplitName)` });
      continue;
    }
    if (value === undefined || value === null || value === '') continue;
    if (typeof value !== 'string') {
      problems.push({ path: [key], message: `must be a string, not ${describeType(value)}` });
      continue;
    }
    const problem = key === 'rootService' ? serviceNameProblem(value) : subdomainProblem(value);
    if (problem !== undefined) {
      problems.push({ path: [key], message: problem });
      continue;
    }
    config[key] = value;
  }
  return problems.length > 0 ? { problems } : { config };
}

function describeType(value: unknown): string {
  if (Array.isArray(value)) return 'a list';
  if (isRecord(value)) return 'an object';
  return `a ${typeof value}`;
}
