import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { canonicalJson, fnv1a32, podTemplateHash, safeEncodeString, stepsHash } from './hash.ts';

const bytes = (s: string): Uint8Array => new TextEncoder().encode(s);

describe('hash', () => {
  it('fnv1a32 matches the published FNV-1a 32-bit test vectors', () => {
    assert.equal(fnv1a32(bytes('')), 0x811c9dc5);
    assert.equal(fnv1a32(bytes('a')), 0xe40c292c);
    assert.equal(fnv1a32(bytes('foobar')), 0xbf9cf968);
  });

  it('safeEncodeString maps each character onto the vowel-free alphabet (digits 0-9 → 4 5 6 7 8 9 b c d f)', () => {
    assert.equal(safeEncodeString('0123456789'), '456789bcdf');
    assert.equal(safeEncodeString(String(0x811c9dc5)), '65bb57b6b5');
  });

  it('canonicalJson sorts keys at every depth and drops undefined members', () => {
    assert.equal(canonicalJson({ b: 1, a: { d: [2, { z: 1, y: undefined, x: 0 }], c: 'x' } }), '{"a":{"c":"x","d":[2,{"x":0,"z":1}]},"b":1}');
  });

  it('podTemplateHash is stable across key order and changes with the template', () => {
    const a = { metadata: { labels: { app: 'demo' } }, spec: { containers: [{ name: 'app', image: 'demo:v1' }] } };
    const b = { spec: { containers: [{ image: 'demo:v1', name: 'app' }] }, metadata: { labels: { app: 'demo' } } };
    assert.equal(podTemplateHash(a), podTemplateHash(b));
    assert.notEqual(podTemplateHash(a), podTemplateHash({ ...a, spec: { containers: [{ name: 'app', image: 'demo:v2' }] } }));
  });

  it('podTemplateHash changes with collisionCount, and only uses the SafeEncodeString alphabet', () => {
    const t = { spec: { containers: [{ name: 'app', image: 'demo:v1' }] } };
    const h0 = podTemplateHash(t);
    const h1 = podTemplateHash(t, 1);
    assert.notEqual(h0, h1);
    assert.notEqual(podTemplateHash(t, 0), h0, 'collisionCount 0 is hashed in, as Kubernetes does for a non-nil count');
    for (const h of [h0, h1]) assert.match(h, /^[bcdfghjklmnpqrstvwxz2456789]{1,10}$/);
  });

  it('stepsHash changes when the steps change', () => {
    assert.equal(stepsHash([{ setWeight: 20 }]), stepsHash([{ setWeight: 20 }]));
    assert.notEqual(stepsHash([{ setWeight: 20 }]), stepsHash([{ setWeight: 30 }]));
    assert.equal(stepsHash(undefined), stepsHash([]));
  });
});
