// trafficRouting.traefik: Argo Rollouts' TraefikTrafficRouting, field names unchanged.
import { subdomainProblem, unknownFieldMessage } from '../../api/names.ts';
import { isRecord } from '../objects.ts';
import type { ConfigProblem } from '../types.ts';

export interface TraefikConfig {
  /** The TraefikService (in the Rollout's namespace) whose spec.weighted.services list the stable and canary Services. */
  weightedTraefikServiceName: string;
}

const FIELDS = ['weightedTraefikServiceName'] as const;

export function parseTraefikConfig(raw: unknown): { config: TraefikConfig } | { problems: ConfigProblem[] } {
  if (!isRecord(raw)) return { problems: [{ path: [], message: 'must be an object with weightedTraefikServiceName' }] };
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(raw)) {
    if (!(FIELDS as readonly string[]).includes(key)) problems.push({ path: [key], message: `${unknownFieldMessage(key, FIELDS)} (trafficRouting.traefik takes weightedTraefikServiceName only)` });
  }
  const name = raw.weightedTraefikServiceName;
  if (name === undefined || name === null || name === '') {
    problems.push({ path: ['weightedTraefikServiceName'], message: 'is required: the name of the TraefikService whose spec.weighted.services list the stable and canary Services' });
  } else if (typeof name !== 'string') {
    problems.push({ path: ['weightedTraefikServiceName'], message: `must be a string, not ${Array.isArray(name) ? 'a list' : isRecord(name) ? 'an object' : `a ${typeof name}`}` });
  } else {
    const problem = subdomainProblem(name);
    if (problem !== undefined) problems.push({ path: ['weightedTraefikServiceName'], message: problem });
  }
  if (problems.length > 0 || typeof name !== 'string') return { problems };
  return { config: { weightedTraefikServiceName: name } };
}
