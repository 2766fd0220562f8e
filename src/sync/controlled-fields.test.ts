import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { controlledFields, hasControlledFields, scaleTargetOf, withLiveControlledFields, yieldControlledFields, type LiveLookup } from './controlled-fields.ts';
import { docs } from './testkit.ts';
import type { ObjectRef, SyncObject } from './types.ts';


const rollout = (apiVersion = 'weir.dev/v1alpha1', routing = 'httpRoute: shop') => `apiVersion: ${apiVersion}
kind: Rollout
metadata: { name: shop, namespace: apps }
spec:
  selector: { matchLabels: { app: shop } }
  template: { metadata: { labels: { app: shop } }, spec: { containers: [{ name: app, image: shop:v1 }] } }
  strategy:
    canary:
      stableService: shop-stable
      canaryService: shop-canary
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: { ${routing} }
      steps: [{ setWeight: 20 }]
`;

const route = (stable: number, canary: number, name = 'shop', o: { parent?: string; other?: number; canaryBackend?: boolean } = {}) => `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata: { name: ${name}, namespace: apps }
spec:
  parentRefs: [{ name: ${o.parent ?? 'gateway'} }]
  rules:
    - matches: [{ path: { type: PathPrefix, value: /api } }]
      backendRefs:
        - { name: shop-stable, port: 80, weight: ${stable} }
${o.canaryBackend === false ? '' : `        - { name: shop-canary, port: 80, weight: ${canary} }\n`}        - { name: other, port: 80, weight: ${o.other ?? 5} }
`;

function only(yaml: string): SyncObject {
  const [doc] = docs(yaml);
  assert.ok(doc);
  return doc.object;
}

function weights(obj: unknown): Record<string, unknown> {
  const rules = (obj as { spec: { rules: { backendRefs: { name: string; weight?: number }[] }[] } }).spec.rules;
  return Object.fromEntries((rules[0]?.backendRefs ?? []).map((r) => [r.name, r.weight]));
}

const service = (name: string, selector = '{ app: shop }') => `apiVersion: v1
kind: Service
metadata: { name: ${name}, namespace: apps }
spec:
  selector: ${selector}
  ports: [{ port: 80 }]
`;

const blueGreen = `apiVersion: weir.dev/v1alpha1
kind: Rollout
metadata: { name: web, namespace: apps }
spec:
  replicas: 2
  selector: { matchLabels: { app: web } }
  template: { metadata: { labels: { app: web } }, spec: { containers: [{ name: app, image: web:v1 }] } }
  strategy:
    blueGreen: { activeService: web-active, previewService: web-preview }
`;

const hpa = (target: string, apiVersion = 'weir.dev/v1alpha1', kind = 'Rollout') => `apiVersion: autoscaling/v2
kind: HorizontalPodAutoscaler
metadata: { name: ${target}, namespace: apps }
spec:
  scaleTargetRef: { apiVersion: ${apiVersion}, kind: ${kind}, name: ${target} }
  minReplicas: 3
  maxReplicas: 5
`;

const deployment = (replicas: number) => `apiVersion: apps/v1
kind: Deployment
metadata: { name: api, namespace: apps }
spec:
  replicas: ${replicas}
  selector: { matchLabels: { app: api } }
  template: { metadata: { labels: { app: api } }, spec: { containers: [{ name: app, image: api:v1 }] } }
`;

function spec(obj: unknown): Record<string, unknown> {
  return (obj as { spec: Record<string, unknown> }).spec;
}

/** A cluster of the given live objects (by kind/name) and HPAs, recording what is read. */
function cluster(objects: Record<string, SyncObject>, hpas: SyncObject[] = []): LiveLookup & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    read: (ref: ObjectRef) => {
      reads.push(`${ref.kind}/${ref.name}`);
      return Promise.resolve(objects[`${ref.kind}/${ref.name}`]);
    },
    autoscalers: (namespace: string) => {
      reads.push(`HPAs in ${namespace}`);
      return Promise.resolve(hpas);
    },
  };
}

describe('controlledFields', () => {
  it("names each route a Rollout's Gateway API routing names, and the stable and canary Services' selectors", () => {
    const controlled = controlledFields(docs(`${rollout()}---\n${route(100, 0)}`));
    assert.deepEqual([...controlled.routed.keys()], ['gateway.networking.k8s.io/HTTPRoute/apps/shop']);
    assert.deepEqual([...controlled.services].sort(), ['/Service/apps/shop-canary', '/Service/apps/shop-stable']);
    assert.equal(hasControlledFields(only(route(100, 0)), controlled), true);
    assert.equal(hasControlledFields(only(route(100, 0, 'other')), controlled), false);
    assert.equal(hasControlledFields(only(service('shop-stable')), controlled), true);
    assert.equal(hasControlledFields(only(service('unrelated')), controlled), false);
  });

  it('reads argoproj.io Rollouts and the httpRoutes list form too', () => {
    const controlled = controlledFields(docs(rollout('argoproj.io/v1alpha1', 'httpRoutes: [{ name: a }, { name: b }], namespace: edge')));
    assert.deepEqual([...controlled.routed.keys()].sort(), ['gateway.networking.k8s.io/HTTPRoute/edge/a', 'gateway.networking.k8s.io/HTTPRoute/edge/b']);
  });

  it("names a blue/green Rollout's active and preview Services, which have no weights", () => {
    const controlled = controlledFields(docs(blueGreen));
    assert.deepEqual([...controlled.services].sort(), ['/Service/apps/web-active', '/Service/apps/web-preview']);
    assert.equal(controlled.routed.size, 0);
  });

  it('names what an HPA in Git or live scales, Argo Rollouts as Weir ones', () => {
    const controlled = controlledFields(docs(`${hpa('shop')}---\n${hpa('legacy', 'argoproj.io/v1alpha1')}`), ['apps/Deployment/apps/api']);
    assert.deepEqual([...controlled.scaled].sort(), ['apps/Deployment/apps/api', 'weir.dev/Rollout/apps/legacy', 'weir.dev/Rollout/apps/shop']);
    assert.equal(hasControlledFields(only(deployment(2)), controlled), true);
    assert.equal(hasControlledFields({ ...only(deployment(2)), spec: {} }, controlled), false, 'no replicas in Git: nothing to yield');
  });

  it('is empty without a Rollout or an HPA', () => {
    const controlled = controlledFields(docs(`${route(100, 0)}---\n${service('shop-stable')}`));
    assert.equal(controlled.routed.size + controlled.services.size + controlled.scaled.size, 0);
  });
});

describe('scaleTargetOf', () => {
  it('reads the target of an autoscaling HPA, and nothing else', () => {
    assert.equal(scaleTargetOf(only(hpa('api', 'apps/v1', 'Deployment'))), 'apps/Deployment/apps/api');
    assert.equal(scaleTargetOf(only(service('x'))), undefined);
    assert.equal(scaleTargetOf({ apiVersion: 'autoscaling/v2', kind: 'HorizontalPodAutoscaler', metadata: { name: 'x' }, spec: {} }), undefined);
  });
});

describe('withLiveControlledFields', () => {
  const controlled = controlledFields(docs(`${rollout()}---\n${hpa('shop')}`));

  it("takes the Rollout's Services' weights from the live route, and leaves every other field as Git says", () => {
    const desired = only(route(100, 0));
    const live = only(route(80, 20, 'shop', { parent: 'edited-live', other: 50 }));
    const out = withLiveControlledFields(desired, live, controlled);
    assert.deepEqual(weights(out), { 'shop-stable': 80, 'shop-canary': 20, other: 5 }, "another backend's weight stays Git's");
    assert.deepEqual(spec(out).parentRefs, [{ name: 'gateway' }], 'other fields stay Git’s');
    assert.deepEqual(weights(desired), { 'shop-stable': 100, 'shop-canary': 0, other: 5 }, 'the desired object is not changed in place');
  });

  it("keeps Git's weights where the live route has no rule naming both Services (the Rollout cannot have set them)", () => {
    const live = only(route(90, 0, 'shop', { canaryBackend: false }));
    assert.deepEqual(weights(withLiveControlledFields(only(route(100, 0)), live, controlled)), { 'shop-stable': 100, 'shop-canary': 0, other: 5 });
    const noRules = { ...live, spec: { rules: [] } };
    assert.deepEqual(weights(withLiveControlledFields(only(route(100, 0)), noRules, controlled)), { 'shop-stable': 100, 'shop-canary': 0, other: 5 });
  });

  it("adds the live pod-template-hash to Git's selector, and keeps Git's other selector changes", () => {
    const live = only(service('shop-stable', '{ app: shop, rollouts-pod-template-hash: abc123 }'));
    const out = withLiveControlledFields(only(service('shop-stable', '{ app: shop, tier: web }')), live, controlled);
    assert.deepEqual(spec(out).selector, { app: 'shop', tier: 'web', 'rollouts-pod-template-hash': 'abc123' });
    const noHash = withLiveControlledFields(only(service('shop-stable')), only(service('shop-stable')), controlled);
    assert.deepEqual(spec(noHash).selector, { app: 'shop' }, 'no hash live yet: Git’s selector');
    const gitNamesIt = withLiveControlledFields(only(service('shop-stable', '{ app: shop, rollouts-pod-template-hash: pinned }')), live, controlled);
    assert.deepEqual(spec(gitNamesIt).selector, { app: 'shop', 'rollouts-pod-template-hash': 'pinned' }, 'a hash Git names is Git’s');
  });

  it("takes the replicas of an autoscaled object from live, and leaves an unscaled one's as Git says", () => {
    const desired = only(rollout().replace('spec:\n', 'spec:\n  replicas: 2\n'));
    const live = { ...desired, spec: { ...spec(desired), replicas: 4 } };
    assert.equal(spec(withLiveControlledFields(desired, live, controlled)).replicas, 4);
    const unscaled = controlledFields(docs(rollout()));
    assert.equal(spec(withLiveControlledFields(desired, live, unscaled)).replicas, 2);
  });

  it('leaves a route no Rollout names, and an unrelated object, unchanged', () => {
    const other = only(route(100, 0, 'unrelated'));
    assert.equal(withLiveControlledFields(other, only(route(80, 20, 'unrelated')), controlled), other);
    const cm = only('apiVersion: v1\nkind: ConfigMap\nmetadata: { name: shop, namespace: apps }\ndata: { a: b }\n');
    assert.equal(withLiveControlledFields(cm, {}, controlled), cm);
  });
});

describe('yieldControlledFields', () => {
  it('reads only the controlled objects live, and uses Git’s values for those that do not exist yet', async () => {
    const documents = docs(`${rollout()}---\n${route(100, 0)}---\napiVersion: v1\nkind: ConfigMap\nmetadata: { name: cfg, namespace: apps }\n---\n${service('shop-stable')}`);
    const live = cluster({ 'HTTPRoute/shop': only(route(50, 50)), 'Service/shop-stable': only(service('shop-stable', '{ app: shop, rollouts-pod-template-hash: h1 }')) });
    const out = await yieldControlledFields(documents, live);
    assert.deepEqual(live.reads, ['HTTPRoute/shop', 'Service/shop-stable'], 'no HPAs listed: Git sets no replicas');
    assert.deepEqual(weights(out[1]?.object), { 'shop-stable': 50, 'shop-canary': 50, other: 5 });
    assert.deepEqual(spec(out[3]?.object).selector, { app: 'shop', 'rollouts-pod-template-hash': 'h1' });
    assert.equal(out[0], documents[0]);
    assert.equal(out[2], documents[2]);

    const created = await yieldControlledFields(documents, cluster({}));
    assert.deepEqual(weights(created[1]?.object), { 'shop-stable': 100, 'shop-canary': 0, other: 5 });
    assert.deepEqual(spec(created[3]?.object).selector, { app: 'shop' });
  });

  it('lists the HPAs of the namespaces where Git sets replicas, and yields what a live HPA scales', async () => {
    const documents = docs(deployment(2));
    const live = cluster({ 'Deployment/api': only(deployment(7)) }, [only(hpa('api', 'apps/v1', 'Deployment'))]);
    const out = await yieldControlledFields(documents, live);
    assert.deepEqual(live.reads, ['HPAs in apps', 'Deployment/api']);
    assert.equal(spec(out[0]?.object).replicas, 7);
    const unscaled = await yieldControlledFields(documents, cluster({ 'Deployment/api': only(deployment(7)) }));
    assert.equal(spec(unscaled[0]?.object).replicas, 2, 'without an HPA, replicas are Git’s (and drift when changed)');
  });

  it('reads nothing when no Rollout or HPA controls anything', async () => {
    const documents = docs(`${route(100, 0)}---\n${service('shop-stable')}`);
    const fail = (): Promise<never> => Promise.reject(new Error('must not read'));
    const out = await yieldControlledFields(documents, { read: fail, autoscalers: fail });
    assert.deepEqual(out, documents);
  });
});
