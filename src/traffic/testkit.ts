// For the routers' unit tests: a context and live objects from plain values.
import { refKey, type LiveObjects, type TrafficContext, type TrafficIntent, type TrafficObject } from './types.ts';

export function testContext(overrides: Partial<TrafficContext> = {}): TrafficContext {
  return {
    rollout: { name: 'web', namespace: 'shop', uid: 'uid-web' },
    stableService: 'web-stable',
    canaryService: 'web-canary',
    stableHash: 'aaaa1111',
    canaryHash: 'bbbb2222',
    managedRoutes: [],
    maxWeight: 100,
    ...overrides,
  };
}

/** LiveObjects holding `objects` (their apiVersion, kind, namespace and name make the key). */
export function liveObjects(...objects: TrafficObject[]): LiveObjects {
  return new Map(
    objects.map((o) => [refKey({ apiVersion: o.apiVersion ?? '', kind: o.kind ?? '', namespace: o.metadata.namespace ?? '', name: o.metadata.name ?? '' }), o]),
  );
}

export function weightOnly(canaryWeight: number): TrafficIntent {
  return { canaryWeight, headerRoutes: [], mirrorRoutes: [] };
}
