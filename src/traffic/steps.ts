// The managed routes of a canary's steps: which header and mirror routes are
// in force at a step (each setHeaderRoute / setMirrorRoute sets its route,
// or removes it when it has no match, until the rollout ends), and whether
// the configured routers can serve the steps at all.
import type { ConfiguredRouter } from './index.ts';
import type { HeaderMatch, HeaderRoute, MirrorRoute, RouteMatch, StringMatch } from './types.ts';

/** The parts of a canary step this module reads. */
export interface RouteStep {
  setHeaderRoute?: { name?: string; match?: HeaderMatch[] } | undefined;
  setMirrorRoute?: { name?: string; match?: RouteMatch[]; percentage?: number } | undefined;
}

/** The managed routes in force once the steps up to `index` (inclusive) have run, in managedRoutes order. */
export function routesAt(steps: readonly RouteStep[], index: number, managedRoutes: readonly string[]): { headerRoutes: HeaderRoute[]; mirrorRoutes: MirrorRoute[] } {
  const headers = new Map<string, HeaderRoute>();
  const mirrors = new Map<string, MirrorRoute>();
  for (let i = 0; i <= Math.min(index, steps.length - 1); i++) {
    const step = steps[i];
    const header = step?.setHeaderRoute;
    if (header?.name !== undefined) {
      headers.delete(header.name);
      mirrors.delete(header.name);
      if (header.match !== undefined && header.match.length > 0) headers.set(header.name, { name: header.name, match: header.match });
    }
    const mirror = step?.setMirrorRoute;
    if (mirror?.name !== undefined) {
      headers.delete(mirror.name);
      mirrors.delete(mirror.name);
      if (mirror.match !== undefined && mirror.match.length > 0) mirrors.set(mirror.name, { name: mirror.name, match: mirror.match, percentage: mirror.percentage ?? 100 });
    }
  }
  const order = (a: { name: string }, b: { name: string }): number => managedRoutes.indexOf(a.name) - managedRoutes.indexOf(b.name);
  return { headerRoutes: [...headers.values()].sort(order), mirrorRoutes: [...mirrors.values()].sort(order) };
}

export interface StepProblem {
  /** Index of the step, or undefined for trafficRouting.managedRoutes. */
  step: number | undefined;
  path: (string | number)[];
  message: string;
}

const KINDS = ['exact', 'prefix', 'regex'] as const;

/** A StringMatch's problem: exactly one kind, and a regex that compiles. */
function stringMatchProblem(match: StringMatch | undefined): string | undefined {
  if (match === undefined) return 'is required: one of exact, prefix or regex';
  const set = KINDS.filter((k) => match[k] !== undefined);
  if (set.length !== 1) return `must set exactly one of exact, prefix or regex${set.length > 1 ? ` (found ${set.join(' and ')})` : ''}`;
  if (match.regex !== undefined) {
    try {
      new RegExp(match.regex);
    } catch (err) {
      return `regex does not compile: ${err instanceof Error ? err.message : String(err)}`;
    }
  }
  return undefined;
}

function kindOf(match: StringMatch): (typeof KINDS)[number] {
  return match.regex !== undefined ? 'regex' : match.prefix !== undefined ? 'prefix' : 'exact';
}

/**
 * What stops the configured routers from serving the steps' header and mirror
 * routes: names outside managedRoutes, a router without the capability, a
 * match kind it cannot express, more routes or headers than it can hold.
 */
export function managedRouteProblems(steps: readonly RouteStep[], managedRoutes: readonly string[], routers: readonly ConfiguredRouter[]): StepProblem[] {
  const problems: StepProblem[] = [];
  const seen = new Set<string>();
  managedRoutes.forEach((name, i) => {
    if (name === '') problems.push({ step: undefined, path: [i, 'name'], message: 'must not be empty' });
    else if (seen.has(name)) problems.push({ step: undefined, path: [i, 'name'], message: `route ${JSON.stringify(name)} is listed twice` });
    seen.add(name);
  });
  if (managedRoutes.length > 0) {
    for (const { router } of routers) {
      if (!router.capabilities.headerRoutes && !router.capabilities.mirrorRoutes) {
        problems.push({ step: undefined, path: [], message: `the ${router.label} router cannot hold managed (header or mirror) routes` });
      }
    }
  }
  steps.forEach((step, i) => {
    for (const kind of ['header', 'mirror'] as const) {
      const action = kind === 'header' ? 'setHeaderRoute' : 'setMirrorRoute';
      const value = kind === 'header' ? step.setHeaderRoute : step.setMirrorRoute;
      if (value === undefined) continue;
      const at: (string | number)[] = [action];
      if (value.name === undefined || value.name === '') problems.push({ step: i, path: [...at, 'name'], message: 'is required: the name of a route in trafficRouting.managedRoutes' });
      else if (!managedRoutes.includes(value.name)) {
        problems.push({ step: i, path: [...at, 'name'], message: `route ${JSON.stringify(value.name)} must be listed in trafficRouting.managedRoutes (which sets the routes' precedence)` });
      }
      for (const { router, config } of routers) {
        const can = kind === 'header' ? router.capabilities.headerRoutes : router.capabilities.mirrorRoutes;
        if (!can) {
          problems.push({ step: i, path: at, message: `the ${router.label} router cannot ${kind === 'header' ? 'route by header' : 'mirror traffic'}` });
          continue;
        }
        const why = router.managedRouteProblem?.(config, kind);
        if (why !== undefined) problems.push({ step: i, path: at, message: `the ${router.label} router ${why}` });
      }
    }
    const header = step.setHeaderRoute;
    (header?.match ?? []).forEach((m, j) => {
      const mat = ['setHeaderRoute', 'match', j];
      if (m.headerName === '') problems.push({ step: i, path: [...mat, 'headerName'], message: 'must not be empty' });
      const problem = stringMatchProblem(m.headerValue);
      if (problem) problems.push({ step: i, path: [...mat, 'headerValue'], message: problem });
      else {
        for (const { router } of routers) {
          if (router.capabilities.headerRoutes && !router.capabilities.headerMatchKinds.includes(kindOf(m.headerValue))) {
            problems.push({ step: i, path: [...mat, 'headerValue'], message: `the ${router.label} router cannot match a header by ${kindOf(m.headerValue)}; it takes ${router.capabilities.headerMatchKinds.join(' or ')}` });
          }
        }
      }
    });
    const count = header?.match?.length ?? 0;
    for (const { router } of routers) {
      const max = router.capabilities.maxHeaderMatches;
      if (router.capabilities.headerRoutes && max !== undefined && count > max) {
        problems.push({ step: i, path: ['setHeaderRoute', 'match'], message: `the ${router.label} router matches at most ${max} header${max === 1 ? '' : 's'} per route (got ${count})` });
      }
      const maxRoutes = router.capabilities.maxHeaderRoutes;
      const active = routesAt(steps, i, managedRoutes).headerRoutes.length;
      if (header !== undefined && router.capabilities.headerRoutes && maxRoutes !== undefined && active > maxRoutes) {
        problems.push({ step: i, path: ['setHeaderRoute'], message: `the ${router.label} router holds at most ${maxRoutes} header route${maxRoutes === 1 ? '' : 's'} at once (${active} would be in force here)` });
      }
    }
    const mirror = step.setMirrorRoute;
    if (mirror?.percentage !== undefined && (!Number.isInteger(mirror.percentage) || mirror.percentage < 0 || mirror.percentage > 100)) {
      problems.push({ step: i, path: ['setMirrorRoute', 'percentage'], message: `must be an integer between 0 and 100 (got ${mirror.percentage})` });
    }
    (mirror?.match ?? []).forEach((m, j) => {
      const mat = ['setMirrorRoute', 'match', j];
      const parts: [string, StringMatch][] = [
        ...(m.method !== undefined ? [['method', m.method] as [string, StringMatch]] : []),
        ...(m.path !== undefined ? [['path', m.path] as [string, StringMatch]] : []),
        ...Object.entries(m.headers ?? {}).map(([name, v]) => [`headers.${name}`, v] as [string, StringMatch]),
      ];
      if (parts.length === 0) problems.push({ step: i, path: mat, message: 'must match on at least one of method, path or headers' });
      for (const [part, value] of parts) {
        const segments = part.startsWith('headers.') ? ['headers', part.slice('headers.'.length)] : [part];
        const problem = stringMatchProblem(value);
        if (problem) {
          problems.push({ step: i, path: [...mat, ...segments], message: problem });
          continue;
        }
        for (const { router } of routers) {
          const kinds = router.capabilities.mirrorMatchKinds;
          const allowed = kinds === undefined ? KINDS : part === 'method' ? kinds.method : part === 'path' ? kinds.path : kinds.headers;
          if (router.capabilities.mirrorRoutes && !allowed.includes(kindOf(value))) {
            problems.push({ step: i, path: [...mat, ...segments], message: `the ${router.label} router cannot match a mirror route's ${segments[0] ?? part} by ${kindOf(value)}; it takes ${allowed.join(' or ')}` });
          }
        }
      }
    });
  });
  return problems;
}
