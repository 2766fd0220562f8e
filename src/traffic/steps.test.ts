import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { routersOf } from './index.ts';
import { managedRouteProblems, routesAt, type RouteStep } from './steps.ts';

const exact = (v: string) => ({ exact: v });

describe('routesAt', () => {
  const steps: RouteStep[] = [
    { setHeaderRoute: { name: 'b', match: [{ headerName: 'x', headerValue: exact('1') }] } },
    { setMirrorRoute: { name: 'a', match: [{ path: { prefix: '/' } }] } },
    {},
    { setHeaderRoute: { name: 'b' } },
  ];

  it('folds the steps up to the index, in managedRoutes order, with the mirror default of 100%', () => {
    assert.deepEqual(routesAt(steps, 0, ['a', 'b']).headerRoutes.map((h) => h.name), ['b']);
    const at2 = routesAt(steps, 2, ['a', 'b']);
    assert.deepEqual(at2.mirrorRoutes, [{ name: 'a', match: [{ path: { prefix: '/' } }], percentage: 100 }]);
    assert.deepEqual(at2.headerRoutes.map((h) => h.name), ['b']);
    assert.deepEqual(routesAt(steps, 3, ['a', 'b']).headerRoutes, [], 'a step without a match removes its route');
    assert.deepEqual(routesAt(steps, 99, ['a', 'b']).mirrorRoutes.map((m) => m.name), ['a'], 'past the last step: what they left');
  });
});

describe('managedRouteProblems', () => {
  const routers = (routing: unknown) => {
    const { routers: r, problems } = routersOf(routing);
    assert.deepEqual(problems, []);
    return r;
  };
  const messages = (steps: RouteStep[], managed: string[], routing: unknown): string[] => managedRouteProblems(steps, managed, routers(routing)).map((p) => `${p.step ?? '-'} ${p.path.join('.')}: ${p.message}`);
  const gateway = { plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: 'web' } } };
  const nginx = { nginx: { stableIngress: 'web' } };

  it('accepts what the router can hold', () => {
    assert.deepEqual(messages([{ setHeaderRoute: { name: 'h', match: [{ headerName: 'x', headerValue: { regex: '^a' } }] } }, { setMirrorRoute: { name: 'm', match: [{ method: exact('GET') }] } }], ['h', 'm'], gateway), []);
  });

  it('wants each route in managedRoutes, listed once', () => {
    assert.deepEqual(messages([{ setHeaderRoute: { name: 'h', match: [{ headerName: 'x', headerValue: exact('1') }] } }], ['x', 'x'], gateway), [
      '- 1.name: route "x" is listed twice',
      '0 setHeaderRoute.name: route "h" must be listed in trafficRouting.managedRoutes (which sets the routes\' precedence)',
    ]);
  });

  it('refuses match kinds the router cannot express, and exactly one kind per match', () => {
    assert.match(messages([{ setHeaderRoute: { name: 'h', match: [{ headerName: 'x', headerValue: { prefix: 'a' } }] } }], ['h'], gateway).join('\n'), /Gateway API router cannot match a header by prefix/);
    assert.match(messages([{ setHeaderRoute: { name: 'h', match: [{ headerName: 'x', headerValue: { exact: 'a', regex: 'b' } }] } }], ['h'], gateway).join('\n'), /exactly one of exact, prefix or regex \(found exact and regex\)/);
    assert.match(messages([{ setHeaderRoute: { name: 'h', match: [{ headerName: 'x', headerValue: { regex: '(' } }] } }], ['h'], gateway).join('\n'), /regex does not compile/);
    assert.match(messages([{ setMirrorRoute: { name: 'm', match: [{ method: { prefix: 'G' } }] } }], ['m'], gateway).join('\n'), /cannot match a mirror route's method by prefix/);
    assert.match(messages([{ setMirrorRoute: { name: 'm', match: [{}] } }], ['m'], gateway).join('\n'), /at least one of method, path or headers/);
    assert.match(messages([{ setMirrorRoute: { name: 'm', match: [{ path: exact('/') }], percentage: 101 } }], ['m'], gateway).join('\n'), /percentage: must be an integer between 0 and 100/);
  });

  it("holds NGINX to one header route with one header, and no mirror", () => {
    const two = { name: 'h', match: [{ headerName: 'x', headerValue: exact('1') }, { headerName: 'y', headerValue: exact('2') }] };
    assert.match(messages([{ setHeaderRoute: two }], ['h'], nginx).join('\n'), /NGINX Ingress router matches at most 1 header per route \(got 2\)/);
    const a = { name: 'a', match: [{ headerName: 'x', headerValue: exact('1') }] };
    assert.match(messages([{ setHeaderRoute: a }, { setHeaderRoute: { ...a, name: 'b' } }], ['a', 'b'], nginx).join('\n'), /holds at most 1 header route at once \(2 would be in force here\)/);
    assert.deepEqual(messages([{ setHeaderRoute: a }, { setHeaderRoute: { name: 'a' } }, { setHeaderRoute: { ...a, name: 'b' } }], ['a', 'b'], nginx), [], 'one at a time is fine');
    assert.match(messages([{ setMirrorRoute: { name: 'm', match: [{ path: exact('/') }] } }], ['m'], nginx).join('\n'), /NGINX Ingress router cannot mirror traffic/);
  });

  it('refuses managed routes on a router without any, and header routes where no route takes them', () => {
    assert.match(messages([], ['m'], { smi: {} }).join('\n'), /SMI TrafficSplit router cannot hold managed \(header or mirror\) routes/);
    const list = { plugins: { 'argoproj-labs/gatewayAPI': { httpRoutes: [{ name: 'a' }] } } };
    assert.match(messages([{ setHeaderRoute: { name: 'h', match: [{ headerName: 'x', headerValue: exact('1') }] } }], ['h'], list).join('\n'), /needs a route that takes header routes/);
  });
});
