import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { traefikServiceRouting, type TraefikServiceLike } from './traefik.ts';

const ref = { name: 'web', namespace: 'shop' };
const ts = (name: string, spec: TraefikServiceLike['spec'], namespace = 'shop'): TraefikServiceLike => ({ metadata: { name, namespace }, spec });

describe('Traefik TraefikService routing', () => {
  test('weighted services: 40/60, weight defaulting to 1', () => {
    const routing = traefikServiceRouting(
      [ts('web', { weighted: { services: [{ name: 'web-stable', port: 80, weight: 40 }, { name: 'web-canary', port: 80, weight: 60 }] } })],
      ref,
    );
    assert.equal(routing?.kind, 'TraefikService');
    assert.equal(routing.object, 'shop/web');
    assert.deepEqual(routing.rules, [
      {
        source: 'TraefikService shop/web',
        match: {},
        backends: [
          { name: 'web-stable', namespace: 'shop', port: 80, weight: 40 },
          { name: 'web-canary', namespace: 'shop', port: 80, weight: 60 },
        ],
        mirrors: [],
      },
    ]);
    const defaults = traefikServiceRouting([ts('web', { weighted: { services: [{ name: 'a' }, { name: 'b', namespace: 'other' }] } })], ref);
    assert.deepEqual(defaults?.rules[0]?.backends, [
      { name: 'a', namespace: 'shop', weight: 1 },
      { name: 'b', namespace: 'other', weight: 1 },
    ]);
    assert.equal(traefikServiceRouting([], ref), undefined);
  });

  test('a nested weighted TraefikService is flattened, its split scaled by the entry weight', () => {
    const routing = traefikServiceRouting(
      [
        ts('web', { weighted: { services: [{ name: 'web-stable', weight: 1 }, { name: 'inner', kind: 'TraefikService', weight: 1 }] } }),
        ts('inner', { weighted: { services: [{ name: 'web-canary', weight: 1 }, { name: 'web-preview', weight: 3 }] } }),
      ],
      ref,
    );
    // 1/2 stable, 1/2 × 1/4 canary, 1/2 × 3/4 preview → 4 : 1 : 3
    assert.deepEqual(routing?.rules[0]?.backends.map((b) => [b.name, b.weight]), [
      ['web-stable', 4],
      ['web-canary', 1],
      ['web-preview', 3],
    ]);
    assert.deepEqual(routing.related, ['TraefikService shop/inner']);
  });

  test('mirroring: the main service answers, each mirror gets its percent (0 when unset)', () => {
    const routing = traefikServiceRouting(
      [
        ts('web', { mirroring: { name: 'split', kind: 'TraefikService', mirrors: [{ name: 'web-canary', port: 80, percent: 30 }, { name: 'web-shadow' }] } }),
        ts('split', { weighted: { services: [{ name: 'web-stable', weight: 1 }] } }),
      ],
      ref,
    );
    assert.deepEqual(routing?.rules[0]?.backends, [{ name: 'web-stable', namespace: 'shop', weight: 1 }]);
    assert.deepEqual(routing.rules[0].mirrors, [
      { name: 'web-canary', namespace: 'shop', port: 80, percent: 30 },
      { name: 'web-shadow', namespace: 'shop', percent: 0 },
    ]);
  });

  test('cycles and missing nested services are problems, not loops', () => {
    const routing = traefikServiceRouting(
      [
        ts('web', { weighted: { services: [{ name: 'web-stable' }, { name: 'loop', kind: 'TraefikService' }, { name: 'ghost', kind: 'TraefikService' }] } }),
        ts('loop', { weighted: { services: [{ name: 'web', kind: 'TraefikService' }, { name: 'web-canary' }] } }),
      ],
      ref,
    );
    assert.deepEqual(routing?.rules[0]?.backends.map((b) => b.name), ['web-stable', 'web-canary']);
    assert.equal(routing.problems.length, 2);
    const empty = traefikServiceRouting([ts('web', {})], ref);
    assert.deepEqual(empty?.rules[0]?.backends, []);
    assert.equal(empty.problems.length, 1);
  });
});
