// Weighted traffic split for the sandbox's data-plane stand-in. Pure: no I/O,
// no clock, no randomness. Given the same sequence of calls it returns the
// same sequence of picks.
//
// Across backends: nginx's smooth weighted round-robin. Each eligible backend
// carries a running `current` score; on every pick each score grows by its
// weight, the highest score wins (ties: first in list order) and the winner's
// score drops by the total weight. Over any window of `sum(weights)` picks each
// backend is chosen exactly `weight` times, and the picks are interleaved
// (80/20 gives a a b a a ..., never 80 a's in a row).
//
// Within a backend: plain round-robin over its endpoints, in the order given.
//
// Eligibility: a backend with weight <= 0 (or a non-finite weight) or without
// endpoints gets no traffic. The share of a backend without endpoints goes to
// the remaining backends in proportion to their weights, as with kube-proxy
// and most meshes that drop unhealthy clusters from the pool. (Some Gateway
// implementations answer 503 for that share instead; the sandbox prefers
// redistributing so a canary with no ready pods shows no errors it did not
// produce.) When no backend is eligible, pick returns undefined.

export interface Backend {
  /** Backend name, e.g. the Service name. Names identify backends across calls. */
  name: string;
  /** Relative weight; 0 means no traffic. */
  weight: number;
  /** Addresses as "ip:port". */
  endpoints: string[];
}

export interface Pick {
  backend: string;
  endpoint: string;
}

export interface WeightedPicker {
  /**
   * Picks the next endpoint for `backends`. The list may differ from call to
   * call (weights, endpoints, members); the picker's scores are reset whenever
   * the set of eligible backends or their weights change, so the new split is
   * exact from the first pick after the change.
   */
  pick(backends: readonly Backend[]): Pick | undefined;
}

function isEligible(b: Backend): boolean {
  return Number.isFinite(b.weight) && b.weight > 0 && b.endpoints.length > 0;
}

export function createWeightedPicker(): WeightedPicker {
  // Smooth WRR scores, by position in the eligible list; reset when the
  // eligible list (names and weights) changes.
  let scores: number[] = [];
  let signature = '';
  // Round-robin position within each backend, by backend name; kept across
  // weight changes so endpoints stay evenly used.
  const rr = new Map<string, number>();

  return {
    pick(backends) {
      const eligible = backends.filter(isEligible);
      if (eligible.length === 0) return undefined;

      const sig = JSON.stringify(eligible.map((b) => [b.name, b.weight]));
      if (sig !== signature) {
        signature = sig;
        scores = eligible.map(() => 0);
      }

      let total = 0;
      let bestIndex = -1;
      let bestScore = -Infinity;
      eligible.forEach((b, i) => {
        const score = (scores[i] ?? 0) + b.weight;
        scores[i] = score;
        total += b.weight;
        if (score > bestScore) {
          bestIndex = i;
          bestScore = score;
        }
      });
      const best = eligible[bestIndex];
      if (best === undefined) return undefined; // unreachable: eligible is non-empty
      scores[bestIndex] = bestScore - total;

      const position = (rr.get(best.name) ?? 0) % best.endpoints.length;
      rr.set(best.name, (position + 1) % best.endpoints.length);
      const endpoint = best.endpoints[position];
      if (endpoint === undefined) return undefined; // unreachable: position < length
      return { backend: best.name, endpoint };
    },
  };
}

// ---------------------------------------------------------------------------
// HTTPRoute → backends

/** The part of a Gateway API HTTPRoute backendRef the split uses. */
export interface BackendRefLike {
  name: string;
  namespace?: string | undefined;
  group?: string | undefined;
  kind?: string | undefined;
  port?: number | undefined;
  weight?: number | undefined;
}

/** The part of a Gateway API HTTPRoute the split uses. */
export interface HTTPRouteLike {
  metadata?: { name?: string | undefined; namespace?: string | undefined } | undefined;
  spec?: { rules?: { backendRefs?: BackendRefLike[] | undefined }[] | undefined } | undefined;
}

/** A backendRef with defaults applied. */
export interface ResolvedBackendRef {
  name: string;
  namespace: string;
  port: number | undefined;
  weight: number;
}

/** A Service reference: core group ("" or absent) and kind Service (or absent). */
function isServiceRef(ref: BackendRefLike): boolean {
  return (ref.group ?? '') === '' && (ref.kind ?? 'Service') === 'Service';
}

/**
 * The backendRefs of the first rule of `route` that references the Service
 * `service.namespace/service.name`, with defaults applied (namespace = the
 * route's namespace, weight = 1). Returns undefined when no rule references
 * it. Refs to anything other than a core Service are dropped: the sandbox
 * cannot send traffic to them.
 */
export function routeBackendRefs(
  route: HTTPRouteLike,
  service: { name: string; namespace: string },
): ResolvedBackendRef[] | undefined {
  const routeNamespace = route.metadata?.namespace ?? 'default';
  for (const rule of route.spec?.rules ?? []) {
    const refs = (rule.backendRefs ?? []).filter(isServiceRef).map((ref) => ({
      name: ref.name,
      namespace: ref.namespace ?? routeNamespace,
      port: ref.port,
      weight: ref.weight ?? 1,
    }));
    if (refs.some((r) => r.name === service.name && r.namespace === service.namespace)) return refs;
  }
  return undefined;
}

/**
 * Backends for traffic addressed to `service`, from the first rule of `route`
 * that references it; `endpointsOf` gives each backend's "ip:port" list.
 * Backend names are the referenced Service names (prefixed with the namespace
 * when it differs from the target's). Returns undefined when no rule
 * references the Service.
 */
export function backendsFromRoute(
  route: HTTPRouteLike,
  service: { name: string; namespace: string },
  endpointsOf: (ref: ResolvedBackendRef) => string[],
): Backend[] | undefined {
  const refs = routeBackendRefs(route, service);
  if (refs === undefined) return undefined;
  return refs.map((ref) => ({
    name: ref.namespace === service.namespace ? ref.name : `${ref.namespace}/${ref.name}`,
    weight: ref.weight,
    endpoints: endpointsOf(ref),
  }));
}

/**
 * The HTTPRoute that routes traffic for `service`: among `routes` in the
 * Service's namespace, the first by name that has a rule referencing it.
 */
export function findRouteForService<R extends HTTPRouteLike>(
  routes: readonly R[],
  service: { name: string; namespace: string },
): R | undefined {
  const candidates = routes
    .filter((r) => (r.metadata?.namespace ?? 'default') === service.namespace)
    .sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? ''));
  return candidates.find((r) => routeBackendRefs(r, service) !== undefined);
}
