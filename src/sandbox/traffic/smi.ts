// SMI TrafficSplit (split.smi-spec.io, any version) → routing rules.
//
// A TrafficSplit fronts the Service its `spec.service` names (the root or apex
// Service; short names relative to the TrafficSplit's namespace). Among the
// TrafficSplits of the Service's namespace, by name, the first that fronts it
// wins. Its backends, by weight, answer every request. v1alpha1 weights are
// Kubernetes quantities ("500m", "1", or a plain number); v1alpha2 and later
// weights are integers: both are read. v1alpha3/v1alpha4 `matches`
// (HTTPRouteGroup references) are not modelled: the split applies to every
// request (a problem says so).
import { byNamespaceAndName, objectKey, resolveServiceHost, sameService, type Routing } from './rules.ts';

export interface TrafficSplitLike {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?:
    | {
        service?: string | undefined;
        backends?: readonly { service: string; weight?: number | string | undefined }[] | undefined;
        matches?: readonly unknown[] | undefined;
      }
    | undefined;
}

const SUFFIXES: Record<string, number> = {
  n: 1e-9,
  u: 1e-6,
  m: 1e-3,
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  E: 1e18,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
  Ei: 2 ** 60,
};

/**
 * A Kubernetes quantity ("500m", "1", "1.5", "2k", "1Ki", "1e3") or a number,
 * as a number; undefined when it is neither.
 */
export function parseQuantity(value: unknown): number | undefined {
  if (typeof value === 'number') return Number.isFinite(value) ? value : undefined;
  if (typeof value !== 'string') return undefined;
  const m = /^([+-]?(?:\d+(?:\.\d*)?|\.\d+))(?:([eE][+-]?\d+)|(Ki|Mi|Gi|Ti|Pi|Ei|[numkMGTPE])?)$/.exec(value.trim());
  if (m === null) return undefined;
  const [, number = '', exponent, suffix = ''] = m;
  const base = Number(number);
  if (exponent !== undefined) return base * 10 ** Number(exponent.slice(1));
  const factor = SUFFIXES[suffix];
  return factor === undefined ? undefined : base * factor;
}

/** The routing of the first TrafficSplit (by name, in the Service's namespace) whose `spec.service` is `target`. */
export function findTrafficSplitRouting(splits: readonly TrafficSplitLike[], target: { name: string; namespace: string }): Routing | undefined {
  for (const split of byNamespaceAndName(splits)) {
    const namespace = split.metadata?.namespace ?? 'default';
    if (namespace !== target.namespace) continue;
    const root = resolveServiceHost(split.spec?.service ?? '', namespace);
    if (root === undefined || !sameService(root, target)) continue;
    const name = objectKey(split);
    const problems: string[] = [];
    const backends = (split.spec?.backends ?? []).flatMap((b, i) => {
      const service = resolveServiceHost(b.service, namespace);
      const weight = parseQuantity(b.weight);
      if (service === undefined) {
        problems.push(`TrafficSplit ${name} backends[${i}]: ${JSON.stringify(b.service)} is not a Service name`);
        return [];
      }
      if (weight === undefined) problems.push(`TrafficSplit ${name} backends[${i}]: weight ${JSON.stringify(b.weight)} is not a number or quantity; 0 used`);
      return [{ ...service, weight: weight ?? 0 }];
    });
    // Fractional weights ("500m") are scaled to thousandths, the quantities'
    // usual precision, so the picker works on integers (exact over a cycle).
    if (backends.some((b) => !Number.isInteger(b.weight))) {
      for (const b of backends) b.weight = Math.max(0, Math.round(b.weight * 1000));
    }
    if ((split.spec?.matches ?? []).length > 0) {
      problems.push(`TrafficSplit ${name}: matches (HTTPRouteGroup) are not modelled; the split applies to every request`);
    }
    return { kind: 'TrafficSplit', object: name, related: [], rules: [{ source: `TrafficSplit ${name}`, match: {}, backends, mirrors: [] }], problems };
  }
  return undefined;
}
