// One target's request-by-request decisions: which requests carry the header,
// which rule routes each, which backend answers, which mirrors get a copy.
// Pure and deterministic: no I/O, no clock, no randomness; the generator
// performs what it decides.
//
// - The n-th request (1-based) carries the header when floor(n * share)
//   grows: exactly floor(n * share) of the first n requests carry it, spread
//   evenly.
// - The first rule whose match matches the request routes it; each rule has
//   its own smooth weighted round-robin (split.ts) over its backends.
// - A rule's mirror of `percent` copies the k-th request the rule routes
//   when floor(k * percent / 100) grows; a mirror backend's endpoints are
//   used in round-robin.
import type { PlannedRule, TrafficHeader } from './endpoints.ts';
import { selectRule, type RequestInfo } from './rules.ts';
import { createWeightedPicker, type Pick, type WeightedPicker } from './split.ts';

/** Whether the n-th (1-based) of a sequence is selected when `share` (0..1) of it is: exactly floor(n * share) of the first n are. */
export function selectedAt(n: number, share: number): boolean {
  if (share <= 0) return false;
  if (share >= 1) return true;
  return Math.floor(n * share + 1e-9) > Math.floor((n - 1) * share + 1e-9);
}

export interface RoutedRequest {
  withHeader: boolean;
  request: RequestInfo;
  /** The rule that routes it; undefined when none matches (not sent). */
  rule: PlannedRule | undefined;
  /** The answering backend and endpoint; undefined when the rule has no eligible backend. */
  pick: Pick | undefined;
  /** Copies due, by mirror backend; `endpoint` undefined when that backend has no endpoints. */
  mirrors: { backend: string; endpoint: string | undefined }[];
}

export interface RequestRouter {
  /** Decides the next request of a target sending to `path`, with `header` on its share of requests. */
  next(rules: readonly PlannedRule[], path: string, header: TrafficHeader | undefined): RoutedRequest;
  /** Forgets the state of rules (and mirror backends) not in `rules`. */
  retain(rules: readonly PlannedRule[]): void;
}

/** The request a target sends, with or without its header. */
export function targetRequest(path: string, header: TrafficHeader | undefined, withHeader: boolean): RequestInfo {
  const headers: Record<string, string> = {};
  if (withHeader && header !== undefined) headers[header.name.toLowerCase()] = header.value;
  return { method: 'GET', path, headers };
}

export function createRequestRouter(): RequestRouter {
  let requests = 0;
  /** Smooth WRR per rule, by rule source. */
  const pickers = new Map<string, WeightedPicker>();
  /** Round-robin over a mirror backend's endpoints, by backend name. */
  const mirrorPickers = new Map<string, WeightedPicker>();
  /** Requests a rule's mirror has seen, by "<rule source>#<mirror index>". */
  const mirrorSeen = new Map<string, number>();

  const pickerFor = (map: Map<string, WeightedPicker>, key: string): WeightedPicker => {
    let picker = map.get(key);
    if (picker === undefined) {
      picker = createWeightedPicker();
      map.set(key, picker);
    }
    return picker;
  };

  return {
    next(rules, path, header) {
      requests += 1;
      const withHeader = header !== undefined && selectedAt(requests, header.share);
      const request = targetRequest(path, header, withHeader);
      const rule = rules[selectRule(rules, request)];
      if (rule === undefined) return { withHeader, request, rule: undefined, pick: undefined, mirrors: [] };
      const pick = pickerFor(pickers, rule.source).pick(rule.backends);
      const mirrors: RoutedRequest['mirrors'] = [];
      rule.mirrors.forEach((mirror, i) => {
        const key = `${rule.source}#${i}`;
        const seen = (mirrorSeen.get(key) ?? 0) + 1;
        mirrorSeen.set(key, seen);
        if (!selectedAt(seen, mirror.percent / 100)) return;
        const copy = pickerFor(mirrorPickers, mirror.backend.name).pick([{ name: mirror.backend.name, weight: 1, endpoints: mirror.backend.endpoints }]);
        mirrors.push({ backend: mirror.backend.name, endpoint: copy?.endpoint });
      });
      return { withHeader, request, rule, pick, mirrors };
    },
    retain(rules) {
      const sources = new Set(rules.map((r) => r.source));
      for (const source of [...pickers.keys()]) if (!sources.has(source)) pickers.delete(source);
      for (const key of [...mirrorSeen.keys()]) if (!sources.has(key.slice(0, key.lastIndexOf('#')))) mirrorSeen.delete(key);
      const backends = new Set(rules.flatMap((r) => r.mirrors.map((m) => m.backend.name)));
      for (const name of [...mirrorPickers.keys()]) if (!backends.has(name)) mirrorPickers.delete(name);
    },
  };
}
