// NGINX Ingress (ingress-nginx, networking.k8s.io/v1 Ingress) → routing rules.
//
// The main Ingress of a Service: among the non-canary Ingresses of its
// namespace, by name, the first with a rule path whose backend is the Service
// (rules and paths in order). Its canary: among the Ingresses of the same
// namespace annotated `nginx.ingress.kubernetes.io/canary: "true"`, by name,
// the first with a rule of the same host and a path of the same path string;
// ingress-nginx documents at most one canary Ingress per Ingress rule. Only
// the standard annotation prefix is read (a controller started with
// --annotations-prefix reads another; the sandbox does not model that).
//
// The canary's policy is applied as ingress-nginx's balancer.lua applies it,
// header before cookie before weight:
// 1. canary-by-header: with canary-by-header-value, that exact value routes to
//    the canary (other values fall through); else with canary-by-header-pattern,
//    a PCRE match anywhere in the value routes to the canary (others fall
//    through); else "always" routes to the canary and "never" to the main
//    backend (others fall through).
// 2. canary-by-cookie: "always" → canary, "never" → main.
// 3. canary-weight out of canary-weight-total (used when above 100, else 100):
//    the canary gets weight, the main backend the rest. Without a weight the
//    canary gets nothing by weight.
// Every rule carries the main path's match (Prefix: element-wise,
// Exact: exact, ImplementationSpecific: nginx's plain location prefix).
// Hosts are not matched: the generator's requests arrive on the main rule's host.
import { byNamespaceAndName, isValidRegex, objectKey, sameService, type PathMatch, type RequestMatch, type Routing, type RoutingRule, type ServiceRef } from './rules.ts';

export const NGINX_ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io';

export interface IngressBackendLike {
  service?: { name: string; port?: { number?: number | undefined; name?: string | undefined } | undefined } | undefined;
}

export interface IngressPathLike {
  path?: string | undefined;
  pathType?: string | undefined;
  backend: IngressBackendLike;
}

export interface IngressLike {
  metadata?:
    | { name?: string | undefined; namespace?: string | undefined; annotations?: Readonly<Record<string, string>> | undefined }
    | undefined;
  spec?:
    | {
        rules?: readonly { host?: string | undefined; http?: { paths: readonly IngressPathLike[] } | undefined }[] | undefined;
      }
    | undefined;
}

function annotation(ing: IngressLike, name: string): string | undefined {
  const value = ing.metadata?.annotations?.[`${NGINX_ANNOTATION_PREFIX}/${name}`];
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}

function isCanary(ing: IngressLike): boolean {
  return annotation(ing, 'canary') === 'true';
}

function backendRef(backend: IngressBackendLike, namespace: string): ServiceRef | undefined {
  const svc = backend.service;
  if (svc === undefined) return undefined;
  const port = svc.port?.number ?? svc.port?.name;
  return { name: svc.name, namespace, ...(port === undefined ? {} : { port }) };
}

function pathMatchOf(p: IngressPathLike): PathMatch {
  const value = p.path ?? '/';
  switch (p.pathType) {
    case 'Exact':
      return { type: 'exact', value };
    case 'Prefix':
      return { type: 'segmentPrefix', value };
    default:
      return { type: 'prefix', value };
  }
}

interface Located {
  ingress: IngressLike;
  host: string;
  path: IngressPathLike;
  ref: ServiceRef;
}

function locateMain(ingresses: readonly IngressLike[], target: { name: string; namespace: string }): Located | undefined {
  for (const ingress of byNamespaceAndName(ingresses)) {
    const namespace = ingress.metadata?.namespace ?? 'default';
    if (namespace !== target.namespace || isCanary(ingress)) continue;
    for (const rule of ingress.spec?.rules ?? []) {
      for (const path of rule.http?.paths ?? []) {
        const ref = backendRef(path.backend, namespace);
        if (ref !== undefined && sameService(ref, target)) return { ingress, host: rule.host ?? '', path, ref };
      }
    }
  }
  return undefined;
}

function locateCanary(ingresses: readonly IngressLike[], main: Located): Located | undefined {
  const namespace = main.ref.namespace;
  const wantPath = main.path.path ?? '/';
  for (const ingress of byNamespaceAndName(ingresses)) {
    if ((ingress.metadata?.namespace ?? 'default') !== namespace || !isCanary(ingress)) continue;
    for (const rule of ingress.spec?.rules ?? []) {
      if ((rule.host ?? '') !== main.host) continue;
      for (const path of rule.http?.paths ?? []) {
        const ref = backendRef(path.backend, namespace);
        if (ref !== undefined && (path.path ?? '/') === wantPath) return { ingress, host: rule.host ?? '', path, ref };
      }
    }
  }
  return undefined;
}

/** A non-negative integer annotation; undefined when absent or not a number. */
function intAnnotation(ing: IngressLike, name: string): number | undefined {
  const raw = annotation(ing, name);
  if (raw === undefined || !/^\d+$/.test(raw)) return undefined;
  return Number(raw);
}

/**
 * The routing rules ingress-nginx holds for traffic addressed to `target`
 * through its main Ingress and that Ingress's canary; undefined when no
 * non-canary Ingress sends to the Service.
 */
export function findIngressRouting(
  ingresses: readonly IngressLike[],
  target: { name: string; namespace: string },
  /** Only this Ingress ("namespace/name") may be the main one (traffic-via). */
  mainKey?: string,
): Routing | undefined {
  const main = locateMain(mainKey === undefined ? ingresses : ingresses.filter((i) => objectKey(i) === mainKey), target);
  if (main === undefined) return undefined;
  const mainName = objectKey(main.ingress);
  const path = pathMatchOf(main.path);
  const where = `Ingress ${mainName} host ${JSON.stringify(main.host)} path ${JSON.stringify(main.path.path ?? '/')}`;
  const canary = locateCanary(ingresses, main);
  const stable = main.ref;
  if (canary === undefined) {
    return { kind: 'Ingress', object: mainName, related: [], rules: [{ source: where, match: { path }, backends: [{ ...stable, weight: 1 }], mirrors: [] }], problems: [] };
  }

  const c = canary.ingress;
  const canaryName = objectKey(c);
  const problems: string[] = [];
  const rules: RoutingRule[] = [];
  const to = (ref: ServiceRef, why: string, match: RequestMatch): void => {
    rules.push({ source: `${where} (canary Ingress ${canaryName}: ${why})`, match: { path, ...match }, backends: [{ ...ref, weight: 1 }], mirrors: [] });
  };

  const header = annotation(c, 'canary-by-header')?.toLowerCase();
  if (header !== undefined) {
    const value = annotation(c, 'canary-by-header-value');
    const pattern = annotation(c, 'canary-by-header-pattern');
    if (value !== undefined) {
      to(canary.ref, 'canary-by-header-value', { headers: [{ name: header, value: { type: 'exact', value } }] });
    } else if (pattern !== undefined) {
      if (isValidRegex(pattern)) {
        to(canary.ref, 'canary-by-header-pattern', { headers: [{ name: header, value: { type: 'regexSearch', value: pattern } }] });
      } else {
        // balancer.lua: a pattern that fails to compile sends the request to the main backend.
        problems.push(`canary Ingress ${canaryName}: canary-by-header-pattern ${JSON.stringify(pattern)} does not compile; requests with ${header} go to the main backend`);
        to(stable, 'canary-by-header-pattern does not compile', { headers: [{ name: header }] });
      }
    } else {
      to(canary.ref, 'canary-by-header always', { headers: [{ name: header, value: { type: 'exact', value: 'always' } }] });
      to(stable, 'canary-by-header never', { headers: [{ name: header, value: { type: 'exact', value: 'never' } }] });
    }
  }

  const cookie = annotation(c, 'canary-by-cookie');
  if (cookie !== undefined) {
    to(canary.ref, 'canary-by-cookie always', { cookies: [{ name: cookie, value: { type: 'exact', value: 'always' } }] });
    to(stable, 'canary-by-cookie never', { cookies: [{ name: cookie, value: { type: 'exact', value: 'never' } }] });
  }

  const weight = intAnnotation(c, 'canary-weight') ?? 0;
  const totalAnnotation = intAnnotation(c, 'canary-weight-total');
  const total = totalAnnotation !== undefined && totalAnnotation > 100 ? totalAnnotation : 100;
  const canaryWeight = Math.min(weight, total);
  rules.push({
    source: `${where} (canary Ingress ${canaryName}: canary-weight ${canaryWeight}/${total})`,
    match: { path },
    backends: [
      { ...stable, weight: total - canaryWeight },
      { ...canary.ref, weight: canaryWeight },
    ],
    mirrors: [],
  });
  return { kind: 'Ingress', object: mainName, related: [`Ingress ${canaryName}`], rules, problems };
}
