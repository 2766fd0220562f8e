import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { KubernetesObject } from '@kubernetes/client-node';
import type { ApplyOptions } from '../cluster/apply.ts';
import { ApplyError, GIT_REVISION_ANNOTATION, MANAGED_BY_LABEL, SOURCE_LABEL, applyDocuments, decorate, decorateDocuments, orderForApply, sourceLabelValue, type Applier } from './apply.ts';
import { docs, kubeError, notServed } from './testkit.ts';
import type { SyncObject } from './types.ts';

const SOURCE = { namespace: 'shop', name: 'deploy' };
const REVISION = '0123456789abcdef0123456789abcdef01234567';

function kinds(list: readonly { object: { kind: string; metadata: { name: string } } }[]): string[] {
  return list.map((d) => `${d.object.kind}/${d.object.metadata.name}`);
}

const MIXED = [
  'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c1}',
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: n1}',
  'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w}',
  'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}',
  'apiVersion: v1\nkind: Service\nmetadata: {name: s}',
  'apiVersion: v1\nkind: Namespace\nmetadata: {name: n2}',
  'apiVersion: apiextensions.k8s.io/v1beta1\nkind: CustomResourceDefinition\nmetadata: {name: old.example.com}',
].join('\n---\n');

describe('orderForApply', () => {
  it('puts CustomResourceDefinitions first, then Namespaces, then the rest, each in file order', () => {
    assert.deepEqual(kinds(orderForApply(docs(MIXED))), [
      'CustomResourceDefinition/widgets.example.com',
      'CustomResourceDefinition/old.example.com',
      'Namespace/n1',
      'Namespace/n2',
      'ConfigMap/c1',
      'Widget/w',
      'Service/s',
    ]);
  });

  it('is pure and stable', () => {
    const input = docs(MIXED);
    const before = kinds(input);
    const once = orderForApply(input);
    assert.deepEqual(kinds(input), before);
    assert.deepEqual(kinds(orderForApply(once)), kinds(once));
    assert.deepEqual(orderForApply([]), []);
  });

  it('does not take a Namespace of another group for a Namespace', () => {
    const list = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n---\napiVersion: example.com/v1\nkind: Namespace\nmetadata: {name: b}\n');
    assert.deepEqual(kinds(orderForApply(list)), ['ConfigMap/a', 'Namespace/b']);
  });
});

describe('decorate', () => {
  const obj: SyncObject = {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: 'c', namespace: 'shop', labels: { app: 'web' }, annotations: { note: 'kept' } },
    data: { a: '1' },
  };

  it('labels the source and the manager, and annotates the revision', () => {
    const out = decorate(obj, { source: SOURCE, revision: REVISION });
    assert.deepEqual(out.metadata.labels, { app: 'web', [SOURCE_LABEL]: 'shop.deploy', [MANAGED_BY_LABEL]: 'weir' });
    assert.deepEqual(out.metadata.annotations, { note: 'kept', [GIT_REVISION_ANNOTATION]: REVISION });
    assert.equal(GIT_REVISION_ANNOTATION, 'weir.dev/git-revision');
    assert.deepEqual(out.data, { a: '1' });
  });

  it('copies: the input is not modified nor shared', () => {
    const before = structuredClone(obj);
    const out = decorate(obj, { source: SOURCE, revision: REVISION });
    assert.deepEqual(obj, before);
    assert.notEqual(out.data, obj.data);
  });

  it('gives the same object when decorating twice, and a new revision replaces the old', () => {
    const once = decorate(obj, { source: SOURCE, revision: REVISION });
    assert.deepEqual(decorate(once, { source: SOURCE, revision: REVISION }), once);
    assert.equal(decorate(once, { source: SOURCE, revision: 'f'.repeat(40) }).metadata.annotations?.[GIT_REVISION_ANNOTATION], 'f'.repeat(40));
  });

  it('works without labels or annotations, and ignores non-string ones', () => {
    const bare: SyncObject = { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', labels: null as unknown as Record<string, string> } };
    const out = decorate(bare, { source: SOURCE, revision: REVISION });
    assert.deepEqual(Object.keys(out.metadata.labels ?? {}), [SOURCE_LABEL, MANAGED_BY_LABEL]);
  });

  it('decorates documents, keeping file and line', () => {
    const [doc] = decorateDocuments(docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: a}\n', 'x.yaml'), { source: SOURCE, revision: REVISION });
    assert.equal(doc?.file, 'x.yaml');
    assert.equal(doc.object.metadata.labels?.[SOURCE_LABEL], 'shop.deploy');
  });
});

describe('sourceLabelValue', () => {
  it('is <namespace>.<name>', () => {
    assert.equal(sourceLabelValue(SOURCE), 'shop.deploy');
  });

  it('stays a valid label value (≤ 63 characters) for long names, distinct per source', () => {
    const long = { namespace: 'team-payments-production', name: 'payments.services.example.com-deployment-manifests' };
    const value = sourceLabelValue(long);
    assert.ok(value.length <= 63, value);
    assert.match(value, /^[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$/);
    assert.notEqual(sourceLabelValue({ ...long, name: `${long.name}x` }), value);
    assert.equal(sourceLabelValue(long), value, 'deterministic');
  });
});

interface Call {
  op: 'apply' | 'read';
  what: string;
  opts?: ApplyOptions;
}

/** An applier that records calls; `onApply` may throw or return what the server would. */
function fakeApplier(opts: { onApply?: (obj: KubernetesObject, n: number) => KubernetesObject | undefined; crdEstablishedAfterReads?: number } = {}): Applier & { calls: Call[] } {
  const calls: Call[] = [];
  let reads = 0;
  let applies = 0;
  return {
    calls,
    apply(obj, applyOpts) {
      calls.push({ op: 'apply', what: `${obj.kind ?? ''}/${obj.metadata?.name ?? ''}`, opts: applyOpts });
      try {
        const out = opts.onApply?.(obj, applies++);
        return Promise.resolve(out ?? { ...obj, metadata: { name: obj.metadata?.name ?? '', uid: 'u' } });
      } catch (err) {
        return Promise.reject(err instanceof Error ? err : new Error(String(err)));
      }
    },
    read(header) {
      calls.push({ op: 'read', what: `${header.kind}/${header.metadata.name}` });
      reads++;
      const established = reads > (opts.crdEstablishedAfterReads ?? 0);
      return Promise.resolve({ ...header, status: { conditions: [{ type: 'Established', status: established ? 'True' : 'False' }] } } as KubernetesObject);
    },
  };
}

describe('applyDocuments', () => {
  it('applies in order, decorated, with Weir as field manager and force, and returns the refs', async () => {
    const applier = fakeApplier();
    const set = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n---\napiVersion: v1\nkind: Namespace\nmetadata: {name: shop}\n');
    const refs = await applyDocuments(applier, set, { decorate: { source: SOURCE, revision: REVISION } });
    assert.deepEqual(refs, [
      { apiVersion: 'v1', kind: 'Namespace', name: 'shop' },
      { apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'c' },
    ]);
    assert.deepEqual(
      applier.calls.map((c) => [c.op, c.what, c.opts?.fieldManager, c.opts?.force, c.opts?.dryRun]),
      [
        ['apply', 'Namespace/shop', 'weir', true, undefined],
        ['apply', 'ConfigMap/c', 'weir', true, undefined],
      ],
    );
  });

  it('sends decorated copies and leaves the documents alone', async () => {
    const sent: KubernetesObject[] = [];
    const applier = fakeApplier({
      onApply: (obj) => {
        sent.push(obj);
        return undefined;
      },
    });
    const set = docs('apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n');
    await applyDocuments(applier, set, { decorate: { source: SOURCE, revision: REVISION } });
    assert.equal(sent[0]?.metadata?.labels?.[SOURCE_LABEL], 'shop.deploy');
    assert.equal(set[0]?.object.metadata.labels, undefined);
  });

  it('waits for a CRD it applied to be Established before applying objects of its kind', async () => {
    const applier = fakeApplier({ crdEstablishedAfterReads: 2 });
    const set = docs(
      'apiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n---\napiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: c, namespace: shop}\n',
    );
    await applyDocuments(applier, set, {});
    assert.deepEqual(
      applier.calls.map((c) => `${c.op} ${c.what}`),
      [
        'apply CustomResourceDefinition/widgets.example.com',
        'read CustomResourceDefinition/widgets.example.com',
        'read CustomResourceDefinition/widgets.example.com',
        'read CustomResourceDefinition/widgets.example.com',
        'apply Widget/w',
        'apply ConfigMap/c',
      ],
    );
  });

  it('retries an object of a new CRD until its kind is served', async () => {
    const applier = fakeApplier({
      onApply: (obj, n) => {
        if (obj.kind === 'Widget' && n < 3) throw notServed();
        return undefined;
      },
    });
    const set = docs(
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n',
    );
    const refs = await applyDocuments(applier, set, {});
    assert.equal(refs.length, 2);
    assert.equal(applier.calls.filter((c) => c.what === 'Widget/w').length, 3, 'twice not served, then applied');
  });

  it('stops at the first failure with an ApplyError naming file, line, kind and name, and what was applied', async () => {
    const applier = fakeApplier({
      onApply: (obj) => {
        if (obj.metadata?.name === 'bad') throw kubeError(422, 'Invalid', 'Service "bad" is invalid: spec.ports: Required value');
        return undefined;
      },
    });
    const set = docs(
      'apiVersion: v1\nkind: ConfigMap\nmetadata: {name: good, namespace: shop}\n---\napiVersion: v1\nkind: Service\nmetadata: {name: bad, namespace: shop}\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: never, namespace: shop}\n',
      'apps/web.yaml',
    );
    const err = await applyDocuments(applier, set, {}).then(
      () => assert.fail('expected an ApplyError'),
      (e: unknown) => e,
    );
    assert.ok(err instanceof ApplyError);
    assert.equal(err.message, 'apps/web.yaml:5: Service shop/bad: apply failed: 422 Invalid: Service "bad" is invalid: spec.ports: Required value');
    assert.deepEqual(err.ref, { apiVersion: 'v1', kind: 'Service', namespace: 'shop', name: 'bad' });
    assert.deepEqual(err.applied, [{ apiVersion: 'v1', kind: 'ConfigMap', namespace: 'shop', name: 'good' }]);
    assert.equal(err.document.file, 'apps/web.yaml');
    assert.ok(!applier.calls.some((c) => c.what === 'ConfigMap/never'));
  });

  it('gives up on a CRD that never becomes Established', async () => {
    const applier = fakeApplier({ crdEstablishedAfterReads: Infinity });
    const set = docs(
      'apiVersion: apiextensions.k8s.io/v1\nkind: CustomResourceDefinition\nmetadata: {name: widgets.example.com}\nspec: {group: example.com, scope: Namespaced, names: {kind: Widget, plural: widgets}}\n---\napiVersion: example.com/v1\nkind: Widget\nmetadata: {name: w, namespace: shop}\n',
    );
    await assert.rejects(applyDocuments(applier, set, { crdTimeoutMs: 300 }), (err: unknown) => {
      assert.ok(err instanceof ApplyError);
      assert.match(err.message, /Widget\.example\.com shop\/w: not applied: timed out .*widgets\.example\.com to be Established/);
      assert.equal(err.applied.length, 1);
      return true;
    });
  });
});
