import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { istioRouter } from './router.ts';

function problems(raw: unknown): { path: (string | number)[]; message: string }[] {
  const parsed = istioRouter.parse(raw);
  assert.ok('problems' in parsed, 'refused');
  return parsed.problems;
}

describe('istioRouter.parse: accepted', () => {
  it('reads Argo\'s virtualService, with its routes, tlsRoutes and tcpRoutes', () => {
    assert.deepEqual(
      istioRouter.parse({
        virtualService: { name: 'web', routes: ['primary', 'secondary'], tlsRoutes: [{ port: 443, sniHosts: ['a.example.com'] }, {}], tcpRoutes: [{ port: 3000 }] },
      }),
      {
        config: {
          virtualServices: [
            {
              name: 'web',
              namespace: undefined,
              routes: ['primary', 'secondary'],
              tlsRoutes: [
                { port: 443, sniHosts: ['a.example.com'] },
                { port: 0, sniHosts: [] },
              ],
              tcpRoutes: [{ port: 3000 }],
            },
          ],
          destinationRule: undefined,
        },
      },
    );
  });

  it('reads virtualServices with "name.namespace" (and a trailing .cluster.local) and a destinationRule', () => {
    const parsed = istioRouter.parse({
      virtualServices: [{ name: 'web' }, { name: 'edge.gateways' }, { name: 'my.dotted.vs.mesh.cluster.local' }],
      destinationRule: { name: 'web-dr', canarySubsetName: 'canary', stableSubsetName: 'stable', additionalSubsetNames: ['experiment'] },
    });
    assert.ok('config' in parsed);
    assert.deepEqual(
      parsed.config.virtualServices.map((v) => [v.name, v.namespace]),
      [
        ['web', undefined],
        ['edge', 'gateways'],
        ['my.dotted.vs', 'mesh'],
      ],
    );
    assert.deepEqual(parsed.config.destinationRule, { name: 'web-dr', canarySubsetName: 'canary', stableSubsetName: 'stable', additionalSubsetNames: ['experiment'] });
  });
});

describe('istioRouter.parse: refused', () => {
  it('needs an object with one of virtualService and virtualServices', () => {
    assert.deepEqual(problems('web'), [{ path: [], message: 'must be an object with virtualService or virtualServices' }]);
    assert.deepEqual(problems({}), [{ path: ['virtualService'], message: 'virtualService or virtualServices is required' }]);
    assert.deepEqual(problems({ virtualService: { name: 'a' }, virtualServices: [{ name: 'b' }] }), [{ path: ['virtualServices'], message: 'set virtualService or virtualServices, not both' }]);
    assert.deepEqual(problems({ virtualServices: [] }), [{ path: ['virtualServices'], message: 'must name at least one VirtualService' }]);
    assert.deepEqual(problems({ virtualService: 'web' }), [{ path: ['virtualService'], message: 'must be an object' }]);
  });

  it('names unknown fields, with a hint', () => {
    assert.deepEqual(problems({ virtualService: { name: 'web', route: ['primary'] }, destinationRule: { name: 'dr', canarySubsetName: 'c', stableSubsetName: 's', weight: 1 }, virtualservices: [] }), [
      { path: ['virtualservices'], message: 'unknown field (did you mean "virtualServices"?): the schema has no such field' },
      { path: ['virtualService', 'route'], message: 'unknown field (did you mean "routes"?): the schema has no such field' },
      { path: ['destinationRule', 'weight'], message: 'unknown field: the schema has no such field' },
    ]);
    assert.deepEqual(problems({ virtualService: { name: 'web', tlsRoutes: [{ port: 443, sni: ['a'] }], tcpRoutes: [{ port: 1, sniHosts: ['a'] }] } }), [
      { path: ['virtualService', 'tlsRoutes', 0, 'sni'], message: 'unknown field: the schema has no such field' },
      { path: ['virtualService', 'tcpRoutes', 0, 'sniHosts'], message: 'unknown field: the schema has no such field' },
    ]);
  });

  it('checks the VirtualService names', () => {
    assert.deepEqual(problems({ virtualService: {} }), [{ path: ['virtualService', 'name'], message: 'name is required' }]);
    assert.deepEqual(problems({ virtualServices: [{ name: 'Web' }] })[0]?.path, ['virtualServices', 0, 'name']);
    assert.match(problems({ virtualService: { name: 'web.Shop_1' } })[0]?.message ?? '', /the namespace after the last "\." must be a DNS-1123 label/);
    assert.deepEqual(problems({ virtualServices: [{ name: 'web' }, { name: 'web' }] }), [{ path: ['virtualServices', 1, 'name'], message: 'VirtualService "web" is listed twice' }]);
  });

  it('checks routes, tlsRoutes and tcpRoutes', () => {
    assert.deepEqual(problems({ virtualService: { name: 'web', routes: ['a', '', 'a', 3] } }), [
      { path: ['virtualService', 'routes', 1], message: 'must be a non-empty string' },
      { path: ['virtualService', 'routes', 2], message: '"a" is listed twice' },
      { path: ['virtualService', 'routes', 3], message: 'must be a non-empty string' },
    ]);
    assert.deepEqual(problems({ virtualService: { name: 'web', routes: 'primary', tlsRoutes: [{ port: 70000, sniHosts: 'a' }, 'x'], tcpRoutes: {} } }), [
      { path: ['virtualService', 'routes'], message: 'must be a list of strings' },
      { path: ['virtualService', 'tlsRoutes', 0, 'port'], message: 'must be a port number, 1 to 65535 (0 or omitted: a route without a port match)' },
      { path: ['virtualService', 'tlsRoutes', 0, 'sniHosts'], message: 'must be a list of strings' },
      { path: ['virtualService', 'tlsRoutes', 1], message: 'must be an object' },
      { path: ['virtualService', 'tcpRoutes'], message: 'must be a list' },
    ]);
  });

  it('checks the destinationRule', () => {
    assert.deepEqual(problems({ virtualService: { name: 'web' }, destinationRule: { name: 'dr' } }), [
      { path: ['destinationRule', 'canarySubsetName'], message: 'canarySubsetName is required' },
      { path: ['destinationRule', 'stableSubsetName'], message: 'stableSubsetName is required' },
    ]);
    assert.deepEqual(problems({ virtualService: { name: 'web' }, destinationRule: { name: 'dr', canarySubsetName: 'v', stableSubsetName: 'v', additionalSubsetNames: ['v', 'x'] } }), [
      { path: ['destinationRule', 'stableSubsetName'], message: 'the stable and canary subsets must differ (both are "v")' },
      { path: ['destinationRule', 'additionalSubsetNames', 0], message: '"v" is the canary or stable subset; additional subsets are the others' },
    ]);
    assert.deepEqual(problems({ virtualService: { name: 'web' }, destinationRule: 'dr' }), [{ path: ['destinationRule'], message: 'must be an object' }]);
    assert.deepEqual(problems({ virtualService: { name: 'web' }, destinationRule: { canarySubsetName: 'c', stableSubsetName: 's' } }), [{ path: ['destinationRule', 'name'], message: 'name is required' }]);
  });
});
