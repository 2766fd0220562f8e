// Traefik TraefikService (traefik.io/v1alpha1) → routing rules.
//
// Traefik routes a request by the IngressRoute that matches it (Host(),
// PathPrefix(), Headers() rules), and an IngressRoute sends to Services or
// TraefikServices. The sandbox does not model IngressRoutes: a target Service
// annotated `sandbox.weir.dev/traffic-via: traefikservice/<name>` stands for
// an IngressRoute sending all of its requests to that TraefikService (in the
// Service's namespace, or `traefikservice/<namespace>/<name>`).
//
// `weighted.services`: weighted round robin over Services (weight defaults to
// 1, as in Traefik) and nested TraefikServices (their own split, scaled by the
// entry's weight). `mirroring`: the main service answers (a Service, or a
// TraefikService whose weighted split is used), each of `mirrors` (Services)
// receives `percent` of the requests (0 when unset). Nesting is followed up to
// 8 levels; a cycle is reported as a problem.
import { objectKey, reduceWeights, type MirrorRef, type Routing, type WeightedRef } from './rules.ts';

export interface TraefikServiceRefLike {
  name: string;
  namespace?: string | undefined;
  kind?: string | undefined;
  port?: number | string | undefined;
  weight?: number | undefined;
}

export interface TraefikServiceLike {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?:
    | {
        weighted?: { services?: readonly TraefikServiceRefLike[] | undefined } | undefined;
        mirroring?: (TraefikServiceRefLike & { mirrors?: readonly (TraefikServiceRefLike & { percent?: number | undefined })[] | undefined }) | undefined;
      }
    | undefined;
}

const MAX_DEPTH = 8;

interface Flat {
  backends: WeightedRef[];
  mirrors: MirrorRef[];
}

function refKey(r: WeightedRef): string {
  return `${r.namespace}/${r.name}:${String(r.port ?? '')}`;
}

/** Identical backends merged (weights added), in first-seen order. */
function merge(backends: readonly WeightedRef[]): WeightedRef[] {
  const out = new Map<string, WeightedRef>();
  for (const b of backends) {
    const seen = out.get(refKey(b));
    if (seen === undefined) out.set(refKey(b), { ...b });
    else seen.weight += b.weight;
  }
  return [...out.values()];
}

function isTraefikService(ref: TraefikServiceRefLike): boolean {
  return ref.kind === 'TraefikService';
}

function serviceRef(ref: TraefikServiceRefLike, namespace: string, weight: number): WeightedRef {
  return { name: ref.name, namespace: ref.namespace ?? namespace, ...(ref.port === undefined ? {} : { port: ref.port }), weight };
}

/** Traefik weights are integers; negative or non-numbers count as the default 1 (Traefik rejects them; the sandbox is lenient). */
function weightOf(ref: TraefikServiceRefLike): number {
  const w = ref.weight;
  return typeof w === 'number' && Number.isInteger(w) && w >= 0 ? w : 1;
}

/**
 * The routing of the TraefikService `namespace/name` for traffic of a target
 * Service; undefined when it does not exist.
 */
export function traefikServiceRouting(
  traefikServices: readonly TraefikServiceLike[],
  ref: { name: string; namespace: string },
): Routing | undefined {
  const find = (namespace: string, name: string): TraefikServiceLike | undefined =>
    traefikServices.find((t) => (t.metadata?.namespace ?? 'default') === namespace && t.metadata?.name === name);
  const root = find(ref.namespace, ref.name);
  if (root === undefined) return undefined;
  const problems: string[] = [];
  const related = new Set<string>();

  const flatten = (ts: TraefikServiceLike, path: readonly string[]): Flat => {
    const namespace = ts.metadata?.namespace ?? 'default';
    const key = objectKey(ts);
    const nested = (child: TraefikServiceRefLike): TraefikServiceLike | undefined => {
      const childKey = `${child.namespace ?? namespace}/${child.name}`;
      if (path.includes(childKey) || path.length >= MAX_DEPTH) {
        problems.push(`TraefikService ${key}: ${childKey} ${path.includes(childKey) ? 'forms a cycle' : 'is nested too deep'}; ignored`);
        return undefined;
      }
      const found = find(child.namespace ?? namespace, child.name);
      if (found === undefined) problems.push(`TraefikService ${key}: TraefikService ${childKey} not found; no traffic sent to it`);
      else if (childKey !== `${ref.namespace}/${ref.name}`) related.add(`TraefikService ${childKey}`);
      return found;
    };
    const childSplit = (child: TraefikServiceRefLike): WeightedRef[] => {
      const ts2 = nested(child);
      if (ts2 === undefined) return [];
      const flat = flatten(ts2, [...path, `${child.namespace ?? namespace}/${child.name}`]);
      if (flat.mirrors.length > 0) problems.push(`TraefikService ${key}: mirrors of nested TraefikService ${objectKey(ts2)} are not modelled; ignored`);
      return flat.backends;
    };

    const weighted = ts.spec?.weighted;
    const mirroring = ts.spec?.mirroring;
    if (weighted !== undefined) {
      if (mirroring !== undefined) problems.push(`TraefikService ${key}: both weighted and mirroring set; weighted used`);
      const entries = (weighted.services ?? []).map((e) => ({ weight: weightOf(e), split: isTraefikService(e) ? childSplit(e) : undefined, e }));
      // Integer weights throughout: each entry is scaled by the product of
      // the nested splits' totals, a nested split's members by the rest.
      const totals = entries.map((x) => (x.split === undefined ? 1 : x.split.reduce((s, b) => s + b.weight, 0)));
      const product = totals.reduce((p, t) => (t > 0 ? p * t : p), 1);
      const backends: WeightedRef[] = entries.flatMap((x, i) => {
        if (x.split === undefined) return [serviceRef(x.e, namespace, x.weight * product)];
        const total = totals[i] ?? 0;
        if (total <= 0) return [];
        return x.split.map((b) => ({ ...b, weight: (x.weight * b.weight * product) / total }));
      });
      const merged = merge(backends);
      if (product !== 1) {
        const reduced = reduceWeights(merged.map((b) => b.weight));
        merged.forEach((b, i) => {
          b.weight = reduced[i] ?? b.weight;
        });
      }
      return { backends: merged, mirrors: [] };
    }
    if (mirroring !== undefined) {
      const backends = isTraefikService(mirroring) ? childSplit(mirroring) : [serviceRef(mirroring, namespace, 1)];
      const mirrors: MirrorRef[] = [];
      for (const m of mirroring.mirrors ?? []) {
        if (isTraefikService(m)) {
          problems.push(`TraefikService ${key}: mirror to TraefikService ${m.name} is not modelled; ignored`);
          continue;
        }
        const percent = typeof m.percent === 'number' && Number.isFinite(m.percent) ? Math.min(100, Math.max(0, m.percent)) : 0;
        const { weight: _weight, ...target } = serviceRef(m, namespace, 0);
        mirrors.push({ ...target, percent });
      }
      return { backends, mirrors };
    }
    problems.push(`TraefikService ${key}: neither weighted nor mirroring set; no traffic sent`);
    return { backends: [], mirrors: [] };
  };

  const name = objectKey(root);
  const flat = flatten(root, [name]);
  return {
    kind: 'TraefikService',
    object: name,
    related: [...related].sort(),
    rules: [{ source: `TraefikService ${name}`, match: {}, backends: flat.backends, mirrors: flat.mirrors }],
    problems,
  };
}
