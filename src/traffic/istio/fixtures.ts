// Objects and helpers for the Istio router's unit tests.
import assert from 'node:assert/strict';
import { liveObjects } from '../testkit.ts';
import { refKey, type LiveObjects, type TrafficContext, type TrafficIntent, type TrafficObject, type TrafficWrite } from '../types.ts';
import type { IstioConfig } from './config.ts';
import { istioRouter } from './router.ts';

export function config(raw: unknown): IstioConfig {
  const parsed = istioRouter.parse(raw);
  if (!('config' in parsed)) throw new Error(`config refused: ${JSON.stringify(parsed.problems)}`);
  return parsed.config;
}

export function dest(host: string, weight: number | undefined, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { destination: { host, ...extra }, ...(weight === undefined ? {} : { weight }) };
}

export function virtualService(spec: Record<string, unknown>, name = 'web', namespace = 'shop', apiVersion = 'networking.istio.io/v1'): TrafficObject {
  return {
    apiVersion,
    kind: 'VirtualService',
    metadata: { name, namespace, resourceVersion: '7', uid: `uid-vs-${name}`, labels: { app: 'web' } },
    spec: { hosts: ['web.example.com'], gateways: ['shop/gw'], ...spec },
  };
}

/** A host-level HTTP route: stable and canary Services at the given weights. */
export function hostRoute(stable: number, canary: number, name = 'primary', hosts: [string, string] = ['web-stable', 'web-canary']): Record<string, unknown> {
  return { name, route: [dest(hosts[0], stable, { port: { number: 80 } }), dest(hosts[1], canary, { port: { number: 80 } })], timeout: '5s' };
}

/** A subset-level HTTP route on host "web". */
export function subsetRoute(stable: number, canary: number, name = 'primary'): Record<string, unknown> {
  return { name, route: [dest('web', stable, { subset: 'stable' }), dest('web', canary, { subset: 'canary' })] };
}

export function destinationRule(subsets: Record<string, unknown>[], name = 'web', host = 'web'): TrafficObject {
  return {
    apiVersion: 'networking.istio.io/v1',
    kind: 'DestinationRule',
    metadata: { name, namespace: 'shop', resourceVersion: '3', uid: 'uid-dr' },
    spec: { host, trafficPolicy: { loadBalancer: { simple: 'ROUND_ROBIN' } }, subsets },
  };
}

/** The live objects after the writes (updates replace the object, as the server would, with a new resourceVersion). */
export function applyWrites(live: LiveObjects, writes: readonly TrafficWrite[]): LiveObjects {
  const next = new Map(live);
  for (const w of writes) {
    assert.notEqual(w.op, 'create', 'the Istio router creates nothing');
    assert.notEqual(w.op, 'delete', 'the Istio router deletes nothing');
    if (w.op !== 'update') continue;
    const previous = next.get(refKey(w.ref));
    assert.ok(previous, `update of an object that is not live: ${refKey(w.ref)}`);
    assert.equal(w.body.metadata.resourceVersion, previous.metadata.resourceVersion, 'an update keeps the resourceVersion read');
    next.set(refKey(w.ref), structuredClone({ ...w.body, metadata: { ...w.body.metadata, resourceVersion: String(Number(w.body.metadata.resourceVersion ?? '0') + 1) } }));
  }
  return next;
}

/** Writes for `intent`, applied; asserts that a second round writes nothing and that observe then reads the intent back. */
export function converge(ctx: TrafficContext, cfg: IstioConfig, live: LiveObjects, intent: TrafficIntent): { writes: TrafficWrite[]; live: LiveObjects } {
  const writes = istioRouter.writes(ctx, cfg, live, intent);
  const after = applyWrites(live, writes);
  assert.deepEqual(istioRouter.writes(ctx, cfg, after, intent), [], 'writes are idempotent');
  const seen = istioRouter.observe(ctx, cfg, after);
  assert.deepEqual(seen.problems, []);
  assert.equal(seen.canaryWeight, intent.canaryWeight);
  assert.deepEqual(seen.headerRoutes, intent.headerRoutes.map((r) => r.name));
  assert.deepEqual(seen.mirrorRoutes, intent.mirrorRoutes.map((r) => r.name));
  return { writes, live: after };
}

export function specOf(live: LiveObjects, kind: string, name = 'web', namespace = 'shop'): Record<string, unknown> {
  const obj = live.get(refKey({ apiVersion: 'networking.istio.io/v1', kind, namespace, name }));
  assert.ok(obj, `${kind} ${namespace}/${name} is live`);
  return obj.spec as Record<string, unknown>;
}

export function httpOf(live: LiveObjects, name = 'web', namespace = 'shop'): Record<string, unknown>[] {
  return specOf(live, 'VirtualService', name, namespace).http as Record<string, unknown>[];
}

/** [host(/subset), weight] of each destination of a route. */
export function weights(route: unknown): [string, number | undefined][] {
  const entries = (route as { route: { destination: { host: string; subset?: string }; weight?: number }[] }).route;
  return entries.map((e) => [e.destination.subset === undefined ? e.destination.host : `${e.destination.host}/${e.destination.subset}`, e.weight]);
}

export { liveObjects };
