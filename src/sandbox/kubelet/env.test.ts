import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Container, V1EnvFromSource, V1EnvVar, V1Pod } from '@kubernetes/client-node';
import { ContainerConfigError, expand, resolveEnv, type EnvSources } from './env.ts';

type Objects = Record<string, Record<string, string>>;

/** In-memory ConfigMaps and Secrets keyed by "namespace/name"; records every lookup. */
function memorySources(configMaps: Objects = {}, secrets: Objects = {}): EnvSources & { lookups: string[] } {
  const lookups: string[] = [];
  return {
    lookups,
    configMap(namespace, name) {
      lookups.push(`configMap ${namespace}/${name}`);
      return Promise.resolve(configMaps[`${namespace}/${name}`]);
    },
    secret(namespace, name) {
      lookups.push(`secret ${namespace}/${name}`);
      return Promise.resolve(secrets[`${namespace}/${name}`]);
    },
  };
}

const pod: V1Pod = {
  metadata: {
    name: 'web-7d9c-x2x',
    namespace: 'shop',
    uid: '0b1c2d3e-aaaa-bbbb-cccc-123456789abc',
    labels: { app: 'web', 'app.kubernetes.io/name': 'web-app' },
    annotations: { 'weir.dev/revision': '3', note: 'hello' },
  },
  spec: { nodeName: 'weir-sandbox', serviceAccountName: 'web-sa', containers: [] },
};

const POD_IP = '127.42.0.9';

function container(env: V1EnvVar[], envFrom?: V1EnvFromSource[]): V1Container {
  return { name: 'app', image: 'weir-demo:v1', env, ...(envFrom ? { envFrom } : {}) };
}

function resolve(env: V1EnvVar[], sources: EnvSources = memorySources(), envFrom?: V1EnvFromSource[], forPod: V1Pod = pod): Promise<Record<string, string>> {
  return resolveEnv(forPod, container(env, envFrom), POD_IP, sources);
}

function configError(pattern: RegExp): (err: unknown) => boolean {
  return (err) => {
    assert.ok(err instanceof ContainerConfigError, `expected a ContainerConfigError, got ${String(err)}`);
    assert.equal(err.name, 'ContainerConfigError');
    assert.match(err.message, pattern);
    return true;
  };
}

describe('resolveEnv', () => {
  describe('plain values', () => {
    it('passes literal values through and treats a missing value as empty', async () => {
      assert.deepEqual(await resolve([{ name: 'A', value: 'one' }, { name: 'B', value: 'two words' }, { name: 'EMPTY' }]), {
        A: 'one',
        B: 'two words',
        EMPTY: '',
      });
    });

    it('returns no variables for a container with neither env nor envFrom', async () => {
      assert.deepEqual(await resolveEnv(pod, { name: 'app' }, POD_IP, memorySources()), {});
    });

    it('lets a later definition of the same name win', async () => {
      assert.deepEqual(await resolve([{ name: 'A', value: '1' }, { name: 'A', value: '2' }]), { A: '2' });
    });
  });

  describe('$(VAR) expansion', () => {
    it('expands variables defined earlier in env', async () => {
      const env = await resolve([
        { name: 'HOST', value: 'db' },
        { name: 'PORT', value: '5432' },
        { name: 'URL', value: 'postgres://$(HOST):$(PORT)/app' },
      ]);
      assert.equal(env.URL, 'postgres://db:5432/app');
    });

    it('leaves references to undefined and later-defined variables as written', async () => {
      const env = await resolve([
        { name: 'A', value: '$(LATER)-$(NOPE)' },
        { name: 'LATER', value: 'x' },
      ]);
      assert.equal(env.A, '$(LATER)-$(NOPE)');
    });

    it('turns $$ into $ and does not expand an escaped $$(VAR)', async () => {
      const env = await resolve([
        { name: 'A', value: 'a' },
        { name: 'PRICE', value: 'costs $$5' },
        { name: 'ESCAPED', value: '$$(A) is $(A)' },
      ]);
      assert.equal(env.PRICE, 'costs $5');
      assert.equal(env.ESCAPED, '$(A) is a');
    });

    it('expands variables that came from envFrom and from valueFrom', async () => {
      const sources = memorySources({ 'shop/cfg': { GREETING: 'hi' } });
      const env = await resolve(
        [
          { name: 'NAME', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
          { name: 'MSG', value: '$(GREETING) from $(NAME)' },
        ],
        sources,
        [{ configMapRef: { name: 'cfg' } }],
      );
      assert.equal(env.MSG, 'hi from web-7d9c-x2x');
    });

    it('does not expand values taken from a ConfigMap', async () => {
      const sources = memorySources({ 'shop/cfg': { RAW: '$(A) and $$' } });
      const env = await resolve(
        [
          { name: 'A', value: 'a' },
          { name: 'FROM_KEY', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'RAW' } } },
        ],
        sources,
        [{ configMapRef: { name: 'cfg' } }],
      );
      assert.equal(env.FROM_KEY, '$(A) and $$');
      assert.equal(env.RAW, '$(A) and $$');
    });
  });

  describe('fieldRef', () => {
    const field = async (fieldPath: string): Promise<string | undefined> => (await resolve([{ name: 'V', valueFrom: { fieldRef: { fieldPath } } }])).V;

    it('resolves the pod name, namespace and uid', async () => {
      assert.equal(await field('metadata.name'), 'web-7d9c-x2x');
      assert.equal(await field('metadata.namespace'), 'shop');
      assert.equal(await field('metadata.uid'), '0b1c2d3e-aaaa-bbbb-cccc-123456789abc');
    });

    it('resolves status.podIP to the address the pod was given', async () => {
      assert.equal(await field('status.podIP'), POD_IP);
    });

    it('resolves status.hostIP, spec.nodeName and spec.serviceAccountName', async () => {
      assert.equal(await field('status.hostIP'), '127.0.0.1');
      assert.equal(await field('spec.nodeName'), 'weir-sandbox');
      assert.equal(await field('spec.serviceAccountName'), 'web-sa');
    });

    it("resolves metadata.labels['x'] and metadata.annotations['x'], including keys with dots and slashes", async () => {
      assert.equal(await field("metadata.labels['app']"), 'web');
      assert.equal(await field("metadata.labels['app.kubernetes.io/name']"), 'web-app');
      assert.equal(await field("metadata.annotations['weir.dev/revision']"), '3');
      assert.equal(await field("metadata.annotations['note']"), 'hello');
    });

    it('does not confuse labels with annotations', async () => {
      assert.equal(await field("metadata.labels['note']"), '');
      assert.equal(await field("metadata.annotations['app']"), '');
    });

    it('resolves a missing label or annotation to the empty string', async () => {
      assert.equal(await field("metadata.labels['missing']"), '');
      assert.equal(await field("metadata.annotations['missing']"), '');
    });

    it('rejects an unsupported field path with ContainerConfigError', async () => {
      await assert.rejects(field('metadata.generateName'), configError(/^unsupported fieldRef metadata\.generateName$/));
      await assert.rejects(field('metadata.labels'), configError(/unsupported fieldRef metadata\.labels$/));
      await assert.rejects(field('metadata.labels["app"]'), configError(/unsupported fieldRef/));
    });
  });

  describe('configMapKeyRef and secretKeyRef', () => {
    const sources = (): EnvSources & { lookups: string[] } =>
      memorySources({ 'shop/cfg': { LEVEL: 'debug' } }, { 'shop/creds': { password: 's3cret' } });

    it('reads a present key from the pod namespace', async () => {
      const src = sources();
      const env = await resolve(
        [
          { name: 'LOG_LEVEL', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } },
          { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'creds', key: 'password' } } },
        ],
        src,
      );
      assert.deepEqual(env, { LOG_LEVEL: 'debug', DB_PASSWORD: 's3cret' });
      assert.deepEqual(src.lookups, ['configMap shop/cfg', 'secret shop/creds']);
    });

    it('looks objects up in "default" when the pod has no namespace', async () => {
      const src = memorySources({ 'default/cfg': { LEVEL: 'info' } });
      const env = await resolve([{ name: 'L', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } }], src, undefined, {
        metadata: { name: 'p' },
      });
      assert.deepEqual(env, { L: 'info' });
      assert.deepEqual(src.lookups, ['configMap default/cfg']);
    });

    it('fails on a missing key', async () => {
      await assert.rejects(
        resolve([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NOPE' } } }], sources()),
        configError(/^key "NOPE" not found in configMap "cfg"$/),
      );
      await assert.rejects(
        resolve([{ name: 'X', valueFrom: { secretKeyRef: { name: 'creds', key: 'user' } } }], sources()),
        configError(/^key "user" not found in secret "creds"$/),
      );
    });

    it('fails on a missing object', async () => {
      await assert.rejects(
        resolve([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'other', key: 'LEVEL' } } }], sources()),
        configError(/^configMap "other" not found$/),
      );
      await assert.rejects(
        resolve([{ name: 'X', valueFrom: { secretKeyRef: { name: 'other', key: 'password' } } }], sources()),
        configError(/^secret "other" not found$/),
      );
    });

    it('does not look in other namespaces', async () => {
      const src = memorySources({ 'default/cfg': { LEVEL: 'debug' } });
      await assert.rejects(resolve([{ name: 'X', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL' } } }], src), configError(/not found/));
    });

    it('leaves the variable unset when an optional key or object is missing', async () => {
      const env = await resolve(
        [
          { name: 'A', value: 'kept' },
          { name: 'CM_KEY', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'NOPE', optional: true } } },
          { name: 'CM_OBJ', valueFrom: { configMapKeyRef: { name: 'other', key: 'LEVEL', optional: true } } },
          { name: 'S_KEY', valueFrom: { secretKeyRef: { name: 'creds', key: 'user', optional: true } } },
          { name: 'S_OBJ', valueFrom: { secretKeyRef: { name: 'other', key: 'password', optional: true } } },
        ],
        sources(),
      );
      assert.deepEqual(env, { A: 'kept' });
    });

    it('still reads a present key when the reference is optional', async () => {
      const env = await resolve([{ name: 'L', valueFrom: { configMapKeyRef: { name: 'cfg', key: 'LEVEL', optional: true } } }], sources());
      assert.deepEqual(env, { L: 'debug' });
    });

    it('treats optional: false like an absent optional', async () => {
      await assert.rejects(
        resolve([{ name: 'X', valueFrom: { secretKeyRef: { name: 'other', key: 'k', optional: false } } }], sources()),
        configError(/secret "other" not found/),
      );
    });

    it('rejects a valueFrom source it does not support', async () => {
      await assert.rejects(
        resolve([{ name: 'CPU', valueFrom: { resourceFieldRef: { resource: 'limits.cpu' } } }]),
        configError(/^env CPU: unsupported valueFrom$/),
      );
    });
  });

  describe('envFrom', () => {
    const sources = (): EnvSources & { lookups: string[] } =>
      memorySources({ 'shop/cfg': { LEVEL: 'debug', MODE: 'fast' } }, { 'shop/creds': { USER: 'app', PASSWORD: 'pw' } });

    it('imports every key of a ConfigMap and a Secret', async () => {
      const env = await resolve([], sources(), [{ configMapRef: { name: 'cfg' } }, { secretRef: { name: 'creds' } }]);
      assert.deepEqual(env, { LEVEL: 'debug', MODE: 'fast', USER: 'app', PASSWORD: 'pw' });
    });

    it('puts the prefix in front of every imported key', async () => {
      const env = await resolve([], sources(), [
        { prefix: 'CFG_', configMapRef: { name: 'cfg' } },
        { prefix: 'DB_', secretRef: { name: 'creds' } },
      ]);
      assert.deepEqual(env, { CFG_LEVEL: 'debug', CFG_MODE: 'fast', DB_USER: 'app', DB_PASSWORD: 'pw' });
    });

    it('lets env override a variable imported by envFrom', async () => {
      const env = await resolve([{ name: 'LEVEL', value: 'warn' }], sources(), [{ configMapRef: { name: 'cfg' } }]);
      assert.deepEqual(env, { LEVEL: 'warn', MODE: 'fast' });
    });

    it('lets a later envFrom source override an earlier one', async () => {
      const src = memorySources({ 'shop/a': { K: 'from-a', ONLY_A: '1' }, 'shop/b': { K: 'from-b' } });
      const env = await resolve([], src, [{ configMapRef: { name: 'a' } }, { configMapRef: { name: 'b' } }]);
      assert.deepEqual(env, { K: 'from-b', ONLY_A: '1' });
    });

    it('fails when a referenced object is missing', async () => {
      await assert.rejects(resolve([], sources(), [{ configMapRef: { name: 'gone' } }]), configError(/^configMap "gone" not found$/));
      await assert.rejects(resolve([], sources(), [{ secretRef: { name: 'gone' } }]), configError(/^secret "gone" not found$/));
    });

    it('skips a missing optional object', async () => {
      const env = await resolve([], sources(), [
        { configMapRef: { name: 'gone', optional: true } },
        { secretRef: { name: 'gone', optional: true } },
        { configMapRef: { name: 'cfg' } },
      ]);
      assert.deepEqual(env, { LEVEL: 'debug', MODE: 'fast' });
    });
  });
});

describe('expand', () => {
  const vars = { A: 'a', B: 'b', 'X.Y': 'dotted', EMPTY: '' };

  it('replaces known $(NAME) references', () => {
    assert.equal(expand('$(A)/$(B)/$(A)', vars), 'a/b/a');
    assert.equal(expand('$(X.Y)', vars), 'dotted');
    assert.equal(expand('[$(EMPTY)]', vars), '[]');
  });

  it('keeps unknown references, lone dollars and unterminated references as written', () => {
    assert.equal(expand('$(UNKNOWN)', vars), '$(UNKNOWN)');
    assert.equal(expand('$A and $ and $(A', vars), '$A and $ and $(A');
  });

  it('turns $$ into a single $', () => {
    assert.equal(expand('$$', vars), '$');
    assert.equal(expand('$$$$', vars), '$$');
    assert.equal(expand('$$(A)', vars), '$(A)');
    assert.equal(expand('$$$(A)', vars), '$a');
  });

  // Bug: expand() tests `name in env`, which also sees Object.prototype, so an
  // undefined variable named like an inherited member is replaced by that member.
  it('leaves $(toString) and $(constructor) as written when no such variable is defined', () => {
    assert.equal(expand('$(toString)', {}), '$(toString)');
    assert.equal(expand('$(constructor)', { A: 'a' }), '$(constructor)');
  });
});
