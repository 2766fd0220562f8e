import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  backendsFromRoute,
  createWeightedPicker,
  findRouteForService,
  routeBackendRefs,
  type Backend,
  type HTTPRouteLike,
  type WeightedPicker,
} from './split.ts';

function countPicks(picker: WeightedPicker, backends: readonly Backend[], n: number): { byBackend: Map<string, number>; byEndpoint: Map<string, number>; sequence: string[] } {
  const byBackend = new Map<string, number>();
  const byEndpoint = new Map<string, number>();
  const sequence: string[] = [];
  for (let i = 0; i < n; i++) {
    const pick = picker.pick(backends);
    assert.ok(pick, `pick ${i} returned undefined`);
    byBackend.set(pick.backend, (byBackend.get(pick.backend) ?? 0) + 1);
    byEndpoint.set(pick.endpoint, (byEndpoint.get(pick.endpoint) ?? 0) + 1);
    sequence.push(pick.backend);
  }
  return { byBackend, byEndpoint, sequence };
}

describe('createWeightedPicker', () => {
  test('80/20 over 1000 picks gives exactly 800/200', () => {
    const backends = [
      { name: 'stable', weight: 80, endpoints: ['127.0.0.2:8080'] },
      { name: 'canary', weight: 20, endpoints: ['127.0.0.3:8080'] },
    ];
    const { byBackend } = countPicks(createWeightedPicker(), backends, 1000);
    assert.equal(byBackend.get('stable'), 800);
    assert.equal(byBackend.get('canary'), 200);
  });

  test('picks are interleaved smoothly, not in blocks', () => {
    const backends = [
      { name: 'a', weight: 4, endpoints: ['127.0.0.2:1'] },
      { name: 'b', weight: 1, endpoints: ['127.0.0.3:1'] },
    ];
    const { sequence } = countPicks(createWeightedPicker(), backends, 10);
    assert.deepEqual(sequence, ['a', 'a', 'b', 'a', 'a', 'a', 'a', 'b', 'a', 'a']);
    // nginx's classic example: weights 5,1,1 give a a b a c a a.
    const nginx = [
      { name: 'a', weight: 5, endpoints: ['127.0.0.2:1'] },
      { name: 'b', weight: 1, endpoints: ['127.0.0.3:1'] },
      { name: 'c', weight: 1, endpoints: ['127.0.0.4:1'] },
    ];
    assert.deepEqual(countPicks(createWeightedPicker(), nginx, 7).sequence, ['a', 'a', 'b', 'a', 'c', 'a', 'a']);
  });

  test('every window of sum(weights) picks is exact', () => {
    const backends = [
      { name: 'a', weight: 3, endpoints: ['127.0.0.2:1'] },
      { name: 'b', weight: 2, endpoints: ['127.0.0.3:1'] },
      { name: 'c', weight: 5, endpoints: ['127.0.0.4:1'] },
    ];
    const { sequence } = countPicks(createWeightedPicker(), backends, 100);
    for (let start = 0; start < 100; start += 10) {
      const window = sequence.slice(start, start + 10);
      assert.equal(window.filter((b) => b === 'a').length, 3);
      assert.equal(window.filter((b) => b === 'b').length, 2);
      assert.equal(window.filter((b) => b === 'c').length, 5);
    }
  });

  test('is deterministic', () => {
    const backends = [
      { name: 'a', weight: 7, endpoints: ['127.0.0.2:1', '127.0.0.3:1'] },
      { name: 'b', weight: 3, endpoints: ['127.0.0.4:1'] },
    ];
    const one = createWeightedPicker();
    const two = createWeightedPicker();
    for (let i = 0; i < 50; i++) assert.deepEqual(one.pick(backends), two.pick(backends));
  });

  test('a backend with weight 0 gets no traffic', () => {
    const backends = [
      { name: 'stable', weight: 100, endpoints: ['127.0.0.2:8080'] },
      { name: 'canary', weight: 0, endpoints: ['127.0.0.3:8080'] },
    ];
    const { byBackend } = countPicks(createWeightedPicker(), backends, 500);
    assert.equal(byBackend.get('stable'), 500);
    assert.equal(byBackend.get('canary'), undefined);
  });

  test('negative and non-finite weights get no traffic', () => {
    const backends = [
      { name: 'ok', weight: 1, endpoints: ['127.0.0.2:1'] },
      { name: 'neg', weight: -5, endpoints: ['127.0.0.3:1'] },
      { name: 'nan', weight: NaN, endpoints: ['127.0.0.4:1'] },
      { name: 'inf', weight: Infinity, endpoints: ['127.0.0.5:1'] },
    ];
    const { byBackend } = countPicks(createWeightedPicker(), backends, 20);
    assert.deepEqual([...byBackend], [['ok', 20]]);
  });

  test('a backend without endpoints gets none; its share goes to the others by weight', () => {
    const backends = [
      { name: 'a', weight: 60, endpoints: ['127.0.0.2:1'] },
      { name: 'b', weight: 20, endpoints: ['127.0.0.3:1'] },
      { name: 'canary', weight: 20, endpoints: [] },
    ];
    const { byBackend } = countPicks(createWeightedPicker(), backends, 800);
    assert.equal(byBackend.get('canary'), undefined);
    // 60:20 of the total, i.e. 3:1.
    assert.equal(byBackend.get('a'), 600);
    assert.equal(byBackend.get('b'), 200);
  });

  test('returns undefined when no backend is eligible', () => {
    const picker = createWeightedPicker();
    assert.equal(picker.pick([]), undefined);
    assert.equal(
      picker.pick([
        { name: 'a', weight: 0, endpoints: ['127.0.0.2:1'] },
        { name: 'b', weight: 10, endpoints: [] },
      ]),
      undefined,
    );
  });

  test('endpoints of a backend are used round-robin, evenly', () => {
    const backends = [
      { name: 'stable', weight: 3, endpoints: ['127.0.0.2:8080', '127.0.0.3:8080', '127.0.0.4:8080'] },
      { name: 'canary', weight: 1, endpoints: ['127.0.0.5:8080', '127.0.0.6:8080'] },
    ];
    const picker = createWeightedPicker();
    const { byEndpoint } = countPicks(picker, backends, 1200);
    assert.deepEqual(Object.fromEntries(byEndpoint), {
      '127.0.0.2:8080': 300,
      '127.0.0.3:8080': 300,
      '127.0.0.4:8080': 300,
      '127.0.0.5:8080': 150,
      '127.0.0.6:8080': 150,
    });
    // Strict rotation within a backend.
    const single = createWeightedPicker();
    const one = [{ name: 's', weight: 1, endpoints: ['127.0.0.2:1', '127.0.0.3:1', '127.0.0.4:1'] }];
    const order = Array.from({ length: 6 }, () => single.pick(one)?.endpoint);
    assert.deepEqual(order, ['127.0.0.2:1', '127.0.0.3:1', '127.0.0.4:1', '127.0.0.2:1', '127.0.0.3:1', '127.0.0.4:1']);
  });

  test('round-robin copes with endpoints added and removed between calls', () => {
    const picker = createWeightedPicker();
    const three = [{ name: 's', weight: 1, endpoints: ['127.0.0.2:1', '127.0.0.3:1', '127.0.0.4:1'] }];
    const one = [{ name: 's', weight: 1, endpoints: ['127.0.0.9:1'] }];
    picker.pick(three);
    picker.pick(three);
    assert.equal(picker.pick(one)?.endpoint, '127.0.0.9:1');
    assert.equal(picker.pick(one)?.endpoint, '127.0.0.9:1');
    const counts = countPicks(picker, three, 300).byEndpoint;
    assert.deepEqual([...counts.values()], [100, 100, 100]);
  });

  test('weights changing between calls take effect exactly from the change', () => {
    const picker = createWeightedPicker();
    const endpoints = { stable: ['127.0.0.2:1'], canary: ['127.0.0.3:1'] };
    const at = (canary: number): Backend[] => [
      { name: 'stable', weight: 100 - canary, endpoints: endpoints.stable },
      { name: 'canary', weight: canary, endpoints: endpoints.canary },
    ];
    assert.equal(countPicks(picker, at(0), 100).byBackend.get('canary'), undefined);
    // A partial cycle at 10%, then the weights change mid-cycle.
    countPicks(picker, at(10), 37);
    assert.equal(countPicks(picker, at(25), 400).byBackend.get('canary'), 100);
    assert.equal(countPicks(picker, at(50), 100).byBackend.get('canary'), 50);
    assert.equal(countPicks(picker, at(100), 100).byBackend.get('stable'), undefined);
    // Backends appearing and disappearing.
    const three: Backend[] = [...at(50), { name: 'preview', weight: 100, endpoints: ['127.0.0.4:1'] }];
    const counts = countPicks(picker, three, 200).byBackend;
    assert.deepEqual(Object.fromEntries(counts), { stable: 50, canary: 50, preview: 100 });
  });
});

describe('routeBackendRefs / backendsFromRoute', () => {
  const route: HTTPRouteLike = {
    metadata: { name: 'app', namespace: 'shop' },
    spec: {
      rules: [
        { backendRefs: [{ name: 'other', port: 80 }] },
        {
          backendRefs: [
            { name: 'app-stable', port: 80, weight: 80 },
            { name: 'app-canary', port: 80, weight: 20 },
            { name: 'app-preview' },
          ],
        },
        { backendRefs: [{ name: 'app-stable', port: 80, weight: 1 }] },
      ],
    },
  };

  test('uses the first rule referencing the Service, all its backendRefs, weight defaulting to 1', () => {
    assert.deepEqual(routeBackendRefs(route, { name: 'app-canary', namespace: 'shop' }), [
      { name: 'app-stable', namespace: 'shop', port: 80, weight: 80 },
      { name: 'app-canary', namespace: 'shop', port: 80, weight: 20 },
      { name: 'app-preview', namespace: 'shop', port: undefined, weight: 1 },
    ]);
    assert.deepEqual(routeBackendRefs(route, { name: 'other', namespace: 'shop' }), [
      { name: 'other', namespace: 'shop', port: 80, weight: 1 },
    ]);
  });

  test('returns undefined when no rule references the Service', () => {
    assert.equal(routeBackendRefs(route, { name: 'nope', namespace: 'shop' }), undefined);
    assert.equal(routeBackendRefs(route, { name: 'app-stable', namespace: 'elsewhere' }), undefined);
    assert.equal(routeBackendRefs({ spec: {} }, { name: 'app', namespace: 'default' }), undefined);
    assert.equal(routeBackendRefs({}, { name: 'app', namespace: 'default' }), undefined);
    assert.equal(routeBackendRefs({ spec: { rules: [{}] } }, { name: 'app', namespace: 'default' }), undefined);
  });

  test('honours explicit namespaces and ignores non-Service refs', () => {
    const r: HTTPRouteLike = {
      metadata: { name: 'r', namespace: 'a' },
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'svc', namespace: 'b', weight: 3 },
              { name: 'svc', weight: 1 },
              { name: 'bucket', group: 'example.com', kind: 'Bucket', weight: 5 },
              { name: 'svc2', group: '', kind: 'Service', weight: 2 },
            ],
          },
        ],
      },
    };
    assert.deepEqual(routeBackendRefs(r, { name: 'svc', namespace: 'b' }), [
      { name: 'svc', namespace: 'b', port: undefined, weight: 3 },
      { name: 'svc', namespace: 'a', port: undefined, weight: 1 },
      { name: 'svc2', namespace: 'a', port: undefined, weight: 2 },
    ]);
    assert.equal(routeBackendRefs(r, { name: 'bucket', namespace: 'a' }), undefined);
  });

  test('builds backends with endpoints from the resolver', () => {
    const endpoints: Record<string, string[]> = {
      'app-stable': ['127.0.0.2:8080', '127.0.0.3:8080'],
      'app-canary': ['127.0.0.4:8080'],
    };
    const backends = backendsFromRoute(route, { name: 'app-stable', namespace: 'shop' }, (ref) => endpoints[ref.name] ?? []);
    assert.deepEqual(backends, [
      { name: 'app-stable', weight: 80, endpoints: ['127.0.0.2:8080', '127.0.0.3:8080'] },
      { name: 'app-canary', weight: 20, endpoints: ['127.0.0.4:8080'] },
      { name: 'app-preview', weight: 1, endpoints: [] },
    ]);
    assert.equal(backendsFromRoute(route, { name: 'x', namespace: 'shop' }, () => []), undefined);
  });

  test('findRouteForService picks the first route by name in the Service namespace', () => {
    const mk = (name: string, namespace: string, svc: string): HTTPRouteLike => ({
      metadata: { name, namespace },
      spec: { rules: [{ backendRefs: [{ name: svc }] }] },
    });
    const routes = [mk('zeta', 'shop', 'app'), mk('alpha', 'other', 'app'), mk('beta', 'shop', 'app'), mk('aaa', 'shop', 'unrelated')];
    assert.equal(findRouteForService(routes, { name: 'app', namespace: 'shop' })?.metadata?.name, 'beta');
    assert.equal(findRouteForService(routes, { name: 'app', namespace: 'other' })?.metadata?.name, 'alpha');
    assert.equal(findRouteForService(routes, { name: 'app', namespace: 'none' }), undefined);
  });
});
