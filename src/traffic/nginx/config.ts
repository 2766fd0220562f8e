// trafficRouting.nginx: Argo Rollouts' fields, unchanged, parsed into what
// the router needs (the stable Ingresses, each once, and the user's
// annotations for the canary Ingress, resolved to their full keys).
import { isRecord } from '../objects.ts';
import type { ConfigProblem } from '../types.ts';

export const DEFAULT_ANNOTATION_PREFIX = 'nginx.ingress.kubernetes.io';

/** Annotations under the prefix that Weir writes from the intent; the user cannot set them. */
export const WEIGHT_ANNOTATIONS = ['canary', 'canary-weight', 'canary-weight-total'] as const;
/** Annotations under the prefix that a header route sets; the user's values for them wait while a route is on. */
export const HEADER_ANNOTATIONS = ['canary-by-header', 'canary-by-header-value', 'canary-by-header-pattern'] as const;
/** Where Weir records, on the canary Ingress, the name of the managed header route it serves. */
export const HEADER_ROUTE_ANNOTATION = 'weir.dev/header-route';

export interface NginxConfig {
  /** stableIngress, then stableIngresses, each name once. Never empty. */
  stableIngresses: string[];
  /** annotationPrefix, default nginx.ingress.kubernetes.io. */
  annotationPrefix: string;
  /**
   * The user's annotations on every canary Ingress by full key:
   * additionalIngressAnnotations under the prefix (a key already starting
   * with `<prefix>/` is kept as is), then canaryIngressAnnotations as is,
   * winning on a collision (as Argo).
   */
  annotations: Record<string, string>;
}

const FIELDS = ['stableIngress', 'stableIngresses', 'annotationPrefix', 'additionalIngressAnnotations', 'canaryIngressAnnotations'] as const;

const DNS_LABEL = '[a-z0-9]([-a-z0-9]*[a-z0-9])?';
const DNS_SUBDOMAIN = new RegExp(`^${DNS_LABEL}(\\.${DNS_LABEL})*$`);
const QUALIFIED_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/;

function isDnsSubdomain(s: string): boolean {
  return s.length <= 253 && DNS_SUBDOMAIN.test(s);
}

/** Why `key` is not a valid annotation key (Kubernetes' qualified name: optional DNS-subdomain prefix, "/", a name of at most 63 characters), or undefined. */
function annotationKeyError(key: string): string | undefined {
  const slash = key.indexOf('/');
  const prefix = slash < 0 ? undefined : key.slice(0, slash);
  const name = slash < 0 ? key : key.slice(slash + 1);
  if (prefix !== undefined && !isDnsSubdomain(prefix)) return `prefix "${prefix}" is not a DNS subdomain (lower-case letters, digits, "-" and ".")`;
  if (name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    return `name "${name}" must be 1-63 characters of letters, digits, "-", "_" and ".", starting and ending with a letter or digit`;
  }
  return undefined;
}

function ingressName(value: unknown, path: (string | number)[], problems: ConfigProblem[]): string | undefined {
  if (typeof value !== 'string') {
    problems.push({ path, message: 'must be the name of an Ingress (a string)' });
    return undefined;
  }
  if (!isDnsSubdomain(value)) {
    problems.push({ path, message: `"${value}" is not a valid Ingress name (a DNS subdomain: lower-case letters, digits, "-" and ".")` });
    return undefined;
  }
  return value;
}

function stringMap(value: unknown, field: string, problems: ConfigProblem[]): [string, string][] {
  if (!isRecord(value)) {
    problems.push({ path: [field], message: 'must be a map of annotation names to string values' });
    return [];
  }
  const out: [string, string][] = [];
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') {
      problems.push({ path: [field, key], message: `must be a string (quote it in YAML: "${String(v)}")` });
      continue;
    }
    out.push([key, v]);
  }
  return out;
}

/** Parses trafficRouting.nginx. Paths in problems are relative to it. */
export function parseNginxConfig(raw: unknown): { config: NginxConfig } | { problems: ConfigProblem[] } {
  if (!isRecord(raw)) return { problems: [{ path: [], message: 'must be a map (stableIngress or stableIngresses, annotationPrefix, additionalIngressAnnotations, canaryIngressAnnotations)' }] };
  const problems: ConfigProblem[] = [];
  for (const key of Object.keys(raw)) {
    if (!(FIELDS as readonly string[]).includes(key)) {
      problems.push({ path: [key], message: `unknown field "${key}": NGINX accepts ${FIELDS.join(', ')}` });
    }
  }

  const stableIngresses: string[] = [];
  if (raw.stableIngress !== undefined) {
    const name = ingressName(raw.stableIngress, ['stableIngress'], problems);
    if (name !== undefined) stableIngresses.push(name);
  }
  if (raw.stableIngresses !== undefined) {
    if (!Array.isArray(raw.stableIngresses)) {
      problems.push({ path: ['stableIngresses'], message: 'must be a list of Ingress names' });
    } else {
      const seen = new Set<string>();
      raw.stableIngresses.forEach((item: unknown, i) => {
        const name = ingressName(item, ['stableIngresses', i], problems);
        if (name === undefined) return;
        if (seen.has(name)) {
          problems.push({ path: ['stableIngresses', i], message: `Ingress "${name}" is listed twice` });
          return;
        }
        seen.add(name);
        // The same name in stableIngress and stableIngresses is one Ingress.
        if (!stableIngresses.includes(name)) stableIngresses.push(name);
      });
    }
  }
  if (raw.stableIngress === undefined && (raw.stableIngresses === undefined || (Array.isArray(raw.stableIngresses) && raw.stableIngresses.length === 0))) {
    problems.push({ path: [], message: 'needs stableIngress or stableIngresses: the Ingress(es) that route to the stable Service' });
  }

  let annotationPrefix = DEFAULT_ANNOTATION_PREFIX;
  if (raw.annotationPrefix !== undefined) {
    if (typeof raw.annotationPrefix !== 'string') {
      problems.push({ path: ['annotationPrefix'], message: 'must be a string (the ingress-nginx controller\'s --annotations-prefix)' });
    } else if (raw.annotationPrefix !== '') {
      // Empty means the default, as in Argo.
      if (isDnsSubdomain(raw.annotationPrefix)) annotationPrefix = raw.annotationPrefix;
      else problems.push({ path: ['annotationPrefix'], message: `"${raw.annotationPrefix}" is not a DNS subdomain, so not an annotation prefix` });
    }
  }
  const reserved = new Map<string, string>([
    ...WEIGHT_ANNOTATIONS.map((a): [string, string] => [`${annotationPrefix}/${a}`, 'is written by Weir from the steps\' weights']),
    [HEADER_ROUTE_ANNOTATION, 'is written by Weir for setHeaderRoute steps'],
  ]);

  const annotations: Record<string, string> = {};
  const fromAdditional = new Map<string, string>();
  if (raw.additionalIngressAnnotations !== undefined) {
    for (const [key, value] of stringMap(raw.additionalIngressAnnotations, 'additionalIngressAnnotations', problems)) {
      const full = key.startsWith(`${annotationPrefix}/`) ? key : `${annotationPrefix}/${key}`;
      const path = ['additionalIngressAnnotations', key];
      const error = annotationKeyError(full);
      if (error !== undefined) problems.push({ path, message: `makes the annotation "${full}", whose ${error}` });
      else if (reserved.has(full)) problems.push({ path, message: `"${full}" ${reserved.get(full) ?? ''}` });
      else if (fromAdditional.has(full)) problems.push({ path, message: `"${full}" is also given as "${fromAdditional.get(full) ?? ''}"` });
      else {
        fromAdditional.set(full, key);
        annotations[full] = value;
      }
    }
  }
  if (raw.canaryIngressAnnotations !== undefined) {
    for (const [key, value] of stringMap(raw.canaryIngressAnnotations, 'canaryIngressAnnotations', problems)) {
      const path = ['canaryIngressAnnotations', key];
      const error = annotationKeyError(key);
      if (error !== undefined) problems.push({ path, message: `is not an annotation name: its ${error}` });
      else if (reserved.has(key)) problems.push({ path, message: `"${key}" ${reserved.get(key) ?? ''}` });
      else annotations[key] = value;
    }
  }

  if (problems.length > 0) return { problems };
  return { config: { stableIngresses, annotationPrefix, annotations } };
}
