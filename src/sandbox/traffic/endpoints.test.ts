import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  TRAFFIC_PATH_ANNOTATION,
  TRAFFIC_RATE_ANNOTATION,
  findServicePort,
  isLoopbackIPv4,
  isPodReady,
  parseTrafficTarget,
  planTraffic,
  resolveTargetPort,
  selectorMatches,
  serviceEndpoints,
  type PodLike,
  type ServiceLike,
  type ServicePortLike,
} from './endpoints.ts';
import type { HTTPRouteLike } from './split.ts';

interface PodArgs {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  ip?: string;
  phase?: string;
  ready?: boolean;
  deleting?: boolean;
  ports?: { name?: string; containerPort: number; protocol?: string }[];
}

function pod(a: PodArgs): PodLike {
  return {
    metadata: {
      name: a.name,
      namespace: a.namespace ?? 'shop',
      labels: a.labels ?? { app: 'web' },
      ...(a.deleting === true ? { deletionTimestamp: new Date('2024-01-01T00:00:00Z') } : {}),
    },
    spec: { containers: [{ name: 'app', ports: a.ports ?? [{ name: 'http', containerPort: 8080 }] }] },
    status: {
      phase: a.phase ?? 'Running',
      ...(a.ip === '' ? {} : { podIP: a.ip ?? '127.0.0.2' }),
      conditions: [{ type: 'Ready', status: a.ready === false ? 'False' : 'True' }],
    },
  };
}

interface ServiceArgs {
  name: string;
  namespace?: string;
  selector?: Record<string, string>;
  ports?: ServicePortLike[];
  annotations?: Record<string, string>;
}

function service(a: ServiceArgs): ServiceLike {
  return {
    metadata: { name: a.name, namespace: a.namespace ?? 'shop', annotations: a.annotations ?? {} },
    spec: {
      ...(a.selector === undefined ? {} : { selector: a.selector }),
      ports: a.ports ?? [{ port: 80, targetPort: 'http' }],
    },
  };
}

describe('parseTrafficTarget', () => {
  test('not a target without the rate annotation', () => {
    assert.equal(parseTrafficTarget(service({ name: 's' })), undefined);
    assert.equal(parseTrafficTarget({}), undefined);
  });

  test('reads rate and path, defaulting the path to /', () => {
    assert.deepEqual(parseTrafficTarget(service({ name: 's', annotations: { [TRAFFIC_RATE_ANNOTATION]: '20' } })), {
      ok: true,
      rate: 20,
      path: '/',
      capped: false,
    });
    assert.deepEqual(
      parseTrafficTarget(service({ name: 's', annotations: { [TRAFFIC_RATE_ANNOTATION]: ' 2.5 ', [TRAFFIC_PATH_ANNOTATION]: '/api?x=1' } })),
      { ok: true, rate: 2.5, path: '/api?x=1', capped: false },
    );
    assert.deepEqual(parseTrafficTarget(service({ name: 's', annotations: { [TRAFFIC_RATE_ANNOTATION]: '0' } })), {
      ok: true,
      rate: 0,
      path: '/',
      capped: false,
    });
  });

  test('caps the rate', () => {
    const s = service({ name: 's', annotations: { [TRAFFIC_RATE_ANNOTATION]: '5000' } });
    assert.deepEqual(parseTrafficTarget(s), { ok: true, rate: 200, path: '/', capped: true });
    assert.deepEqual(parseTrafficTarget(s, 50), { ok: true, rate: 50, path: '/', capped: true });
  });

  test('rejects bad values with a reason', () => {
    for (const rate of ['', 'fast', '-1', 'NaN', 'Infinity', '10rps']) {
      const r = parseTrafficTarget(service({ name: 's', annotations: { [TRAFFIC_RATE_ANNOTATION]: rate } }));
      assert.equal(r?.ok, false, `rate ${JSON.stringify(rate)}`);
    }
    for (const path of ['api', '/a b', '/x#y']) {
      const r = parseTrafficTarget(service({ name: 's', annotations: { [TRAFFIC_RATE_ANNOTATION]: '1', [TRAFFIC_PATH_ANNOTATION]: path } }));
      assert.equal(r?.ok, false, `path ${JSON.stringify(path)}`);
      assert.match(r.reason, /traffic-path/);
    }
  });
});

describe('selectorMatches', () => {
  test('all selector labels must match', () => {
    assert.equal(selectorMatches({ app: 'web' }, { app: 'web', hash: 'abc' }), true);
    assert.equal(selectorMatches({ app: 'web', hash: 'abc' }, { app: 'web', hash: 'abc' }), true);
    assert.equal(selectorMatches({ app: 'web', hash: 'abc' }, { app: 'web', hash: 'def' }), false);
    assert.equal(selectorMatches({ app: 'web' }, { hash: 'abc' }), false);
    assert.equal(selectorMatches({ app: 'web' }, undefined), false);
  });

  test('a missing or empty selector selects nothing', () => {
    assert.equal(selectorMatches(undefined, { app: 'web' }), false);
    assert.equal(selectorMatches({}, { app: 'web' }), false);
  });
});

describe('isPodReady', () => {
  test('Running, Ready=True, with an IP, not deleting', () => {
    assert.equal(isPodReady(pod({ name: 'p' })), true);
  });
  test('not ready otherwise', () => {
    assert.equal(isPodReady(pod({ name: 'p', ready: false })), false);
    assert.equal(isPodReady(pod({ name: 'p', phase: 'Pending' })), false);
    assert.equal(isPodReady(pod({ name: 'p', phase: 'Succeeded' })), false);
    assert.equal(isPodReady(pod({ name: 'p', ip: '' })), false);
    assert.equal(isPodReady(pod({ name: 'p', deleting: true })), false);
    assert.equal(isPodReady({ metadata: { name: 'bare' } }), false);
    const noConditions = pod({ name: 'p' });
    if (noConditions.status) delete noConditions.status.conditions;
    assert.equal(isPodReady(noConditions), false);
  });
});

describe('isLoopbackIPv4', () => {
  test('accepts 127.0.0.0/8 only', () => {
    for (const ip of ['127.0.0.1', '127.0.0.2', '127.1.2.3', '127.255.255.254']) assert.equal(isLoopbackIPv4(ip), true, ip);
    for (const ip of ['10.0.0.1', '128.0.0.1', '0.0.0.0', '1.127.0.0', '::1', '127.0.0', '127.0.0.1.1', '127.0.0.256', '127.0.0.a', '127.0.0.-1', '', 'localhost', ' 127.0.0.1']) {
      assert.equal(isLoopbackIPv4(ip), false, ip);
    }
  });
});

describe('findServicePort / resolveTargetPort', () => {
  const svc = service({
    name: 's',
    ports: [
      { name: 'http', port: 80, targetPort: 'http' },
      { name: 'admin', port: 9000, targetPort: 9100 },
      { name: 'plain', port: 7000 },
    ],
  });

  test('findServicePort: by port number, first port by default', () => {
    assert.equal(findServicePort(svc)?.name, 'http');
    assert.equal(findServicePort(svc, 9000)?.name, 'admin');
    assert.equal(findServicePort(svc, 1234), undefined);
    assert.equal(findServicePort(service({ name: 'none', ports: [] })), undefined);
  });

  test('numeric targetPort, named targetPort, default to port', () => {
    const p = pod({ name: 'p', ports: [{ name: 'metrics', containerPort: 9090 }, { name: 'http', containerPort: 8080 }] });
    assert.equal(resolveTargetPort({ port: 80, targetPort: 'http' }, p), 8080);
    assert.equal(resolveTargetPort({ port: 80, targetPort: 'metrics' }, p), 9090);
    assert.equal(resolveTargetPort({ port: 9000, targetPort: 9100 }, p), 9100);
    assert.equal(resolveTargetPort({ port: 9000, targetPort: '9100' }, p), 9100);
    assert.equal(resolveTargetPort({ port: 7000 }, p), 7000);
    assert.equal(resolveTargetPort({ port: 7000, targetPort: 0 }, p), 7000);
  });

  test('unknown named port or protocol mismatch resolves to undefined', () => {
    const p = pod({ name: 'p', ports: [{ name: 'dns', containerPort: 53, protocol: 'UDP' }] });
    assert.equal(resolveTargetPort({ port: 80, targetPort: 'http' }, p), undefined);
    assert.equal(resolveTargetPort({ port: 53, targetPort: 'dns' }, p), undefined);
    assert.equal(resolveTargetPort({ port: 53, targetPort: 'dns', protocol: 'UDP' }, p), 53);
  });
});

describe('serviceEndpoints', () => {
  const svc = service({ name: 'web', selector: { app: 'web' } });

  test('ready, selected pods of the same namespace, sorted numerically', () => {
    const pods = [
      pod({ name: 'a', ip: '127.0.0.10' }),
      pod({ name: 'b', ip: '127.0.0.9' }),
      pod({ name: 'c', ip: '127.0.0.11', ready: false }),
      pod({ name: 'd', ip: '127.0.0.12', labels: { app: 'other' } }),
      pod({ name: 'e', ip: '127.0.0.13', namespace: 'elsewhere' }),
      pod({ name: 'f', ip: '127.0.0.14', deleting: true }),
      pod({ name: 'g', ip: '127.0.0.15', phase: 'Pending' }),
      pod({ name: 'h', ip: '' }),
    ];
    assert.deepEqual(serviceEndpoints(svc, pods), { endpoints: ['127.0.0.9:8080', '127.0.0.10:8080'], rejected: [] });
  });

  test('non-loopback pod IPs and unresolvable named ports are rejected, with reasons', () => {
    const pods = [
      pod({ name: 'ok', ip: '127.0.0.2' }),
      pod({ name: 'remote', ip: '10.1.2.3' }),
      pod({ name: 'noport', ip: '127.0.0.3', ports: [{ containerPort: 8080 }] }),
    ];
    const result = serviceEndpoints(svc, pods);
    assert.deepEqual(result.endpoints, ['127.0.0.2:8080']);
    assert.deepEqual(
      result.rejected.map((r) => [r.pod, r.ip]),
      [
        ['shop/remote', '10.1.2.3'],
        ['shop/noport', '127.0.0.3'],
      ],
    );
  });

  test('uses the requested service port', () => {
    const multi = service({
      name: 'web',
      selector: { app: 'web' },
      ports: [
        { port: 80, targetPort: 'http' },
        { port: 9000, targetPort: 9100 },
      ],
    });
    const pods = [pod({ name: 'a', ip: '127.0.0.2' })];
    assert.deepEqual(serviceEndpoints(multi, pods).endpoints, ['127.0.0.2:8080']);
    assert.deepEqual(serviceEndpoints(multi, pods, 9000).endpoints, ['127.0.0.2:9100']);
    assert.deepEqual(serviceEndpoints(multi, pods, 1234).endpoints, []);
  });

  test('a Service without selector has no endpoints', () => {
    assert.deepEqual(serviceEndpoints(service({ name: 'web' }), [pod({ name: 'a' })]).endpoints, []);
  });
});

describe('planTraffic', () => {
  const annotations = { [TRAFFIC_RATE_ANNOTATION]: '10' };
  const root = service({ name: 'web', selector: { app: 'web' }, annotations });
  const stable = service({ name: 'web-stable', selector: { app: 'web', track: 'stable' } });
  const canary = service({ name: 'web-canary', selector: { app: 'web', track: 'canary' } });
  const pods = [
    pod({ name: 's1', ip: '127.0.0.2', labels: { app: 'web', track: 'stable' } }),
    pod({ name: 's2', ip: '127.0.0.3', labels: { app: 'web', track: 'stable' } }),
    pod({ name: 's3', ip: '127.0.0.4', labels: { app: 'web', track: 'stable' } }),
    pod({ name: 'c1', ip: '127.0.0.5', labels: { app: 'web', track: 'canary' } }),
  ];
  const services = [root, stable, canary];

  test('without a route: the Service itself over all its ready pods (replica-proportional)', () => {
    assert.deepEqual(planTraffic(root, services, pods, []), {
      backends: [{ name: 'web', weight: 1, endpoints: ['127.0.0.2:8080', '127.0.0.3:8080', '127.0.0.4:8080', '127.0.0.5:8080'] }],
      rejected: [],
    });
  });

  test('with a route referencing the Service: its rule backendRefs by weight', () => {
    const route: HTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: {
        rules: [
          {
            backendRefs: [
              { name: 'web-stable', port: 80, weight: 90 },
              { name: 'web-canary', port: 80, weight: 10 },
            ],
          },
        ],
      },
    };
    const targetStable = service({ name: 'web-stable', selector: { app: 'web', track: 'stable' }, annotations });
    assert.deepEqual(planTraffic(targetStable, [root, targetStable, canary], pods, [route]), {
      backends: [
        { name: 'web-stable', weight: 90, endpoints: ['127.0.0.2:8080', '127.0.0.3:8080', '127.0.0.4:8080'] },
        { name: 'web-canary', weight: 10, endpoints: ['127.0.0.5:8080'] },
      ],
      route: 'shop/web',
      rejected: [],
    });
    // The root Service is not referenced by the route: replica-proportional.
    assert.equal(planTraffic(root, services, pods, [route]).route, undefined);
  });

  test('a route in another namespace is ignored; an unknown backend Service has no endpoints', () => {
    const elsewhere: HTTPRouteLike = {
      metadata: { name: 'web', namespace: 'other' },
      spec: { rules: [{ backendRefs: [{ name: 'web', namespace: 'shop', weight: 1 }] }] },
    };
    assert.equal(planTraffic(root, services, pods, [elsewhere]).route, undefined);
    const withGhost: HTTPRouteLike = {
      metadata: { name: 'web', namespace: 'shop' },
      spec: { rules: [{ backendRefs: [{ name: 'web', port: 80, weight: 1 }, { name: 'ghost', port: 80, weight: 1 }] }] },
    };
    const plan = planTraffic(root, services, pods, [withGhost]);
    assert.deepEqual(
      plan.backends.map((b) => [b.name, b.endpoints.length]),
      [
        ['web', 4],
        ['ghost', 0],
      ],
    );
  });
});
