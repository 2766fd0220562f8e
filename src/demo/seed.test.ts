// The example the demo seeds its repository from: valid for Weir as it will
// be in Git, the sandbox's addresses put in, and every act's edits apply.
import assert from 'node:assert/strict';
import { before, describe, it } from 'node:test';
import { load, loadAll } from 'js-yaml';
import { validateAnalysisTemplate, validateGitSource, validateRollout } from '../api/index.ts';
import { ACTS, PLACEHOLDERS, applyEdits, gitSourceManifest, greetingOf, readDemoExample, seedFiles, type DemoExample } from './seed.ts';

const PROMETHEUS = 'http://127.0.0.1:41234';

describe('the demo example', () => {
  let example: DemoExample;
  before(async () => {
    example = await readDemoExample();
  });

  it('holds the app: ConfigMap, Services, HTTPRoute, AnalysisTemplate and Rollout', () => {
    const kinds = Object.values(example.repoFiles).flatMap((text) => (loadAll(text) as { kind: string }[]).map((d) => d.kind));
    assert.deepEqual(kinds.sort(), ['AnalysisTemplate', 'ConfigMap', 'HTTPRoute', 'Rollout', 'Service', 'Service']);
  });

  it('seeds the sandbox’s Prometheus into the AnalysisTemplate, which is then valid', () => {
    const files = seedFiles(example.repoFiles, PROMETHEUS);
    const text = files['apps/demo/analysis.yaml'] ?? '';
    assert.ok(!text.includes(PLACEHOLDERS.prometheusUrl));
    const template = load(text) as { spec: { metrics: { provider: { prometheus: { address: string } } }[] } };
    assert.equal(template.spec.metrics[0]?.provider.prometheus.address, PROMETHEUS);
    assert.deepEqual(validateAnalysisTemplate(template).errors, []);
  });

  it('has a valid Rollout with an analysis step after each setWeight step', () => {
    const result = validateRollout(load(example.repoFiles['apps/demo/rollout.yaml'] ?? ''));
    assert.deepEqual(result.errors, []);
    const steps = result.rollout?.spec.strategy.canary?.steps ?? [];
    steps.forEach((step, i) => {
      if (step.setWeight !== undefined) assert.equal(steps[i + 1]?.analysis?.templates?.[0]?.templateName, 'success-rate', `step ${i + 1} is analysis`);
    });
    assert.ok(steps.some((s) => s.setWeight !== undefined));
  });

  it('puts the repository’s URL in the GitSource, which writes reverts back', () => {
    const gs = load(gitSourceManifest(example.gitSource, 'http://127.0.0.1:5000/demo-x.git')) as { spec: { url: string; rollback: { writeBack: string } } };
    assert.equal(gs.spec.url, 'http://127.0.0.1:5000/demo-x.git');
    assert.equal(gs.spec.rollback.writeBack, 'revert');
    assert.deepEqual(validateGitSource(gs).errors, []);
  });

  it('v2 changes only the image; v3 the image, a 30% error rate and the greeting', () => {
    const v1 = seedFiles(example.repoFiles, PROMETHEUS);
    const [v2Act, v3Act] = ACTS;
    assert.ok(v2Act && v3Act);
    const v2 = applyEdits(v1, v2Act.edits);
    const v3 = applyEdits(v2, v3Act.edits);
    const container = (files: Record<string, string>) =>
      (load(files['apps/demo/rollout.yaml'] ?? '') as { spec: { template: { spec: { containers: { image: string; env: { name: string; value: string }[] }[] } } } }).spec.template.spec.containers[0];
    assert.equal(container(v2)?.image, 'weir-demo:v2');
    assert.deepEqual(container(v2)?.env, [{ name: 'ERROR_RATE', value: '0' }]);
    assert.equal(container(v3)?.image, 'weir-demo:v3');
    assert.deepEqual(container(v3)?.env, [{ name: 'ERROR_RATE', value: '0.3' }]);
    assert.equal(greetingOf(v2), 'hello');
    assert.equal(greetingOf(v3), 'hello from v3');
    assert.deepEqual(validateRollout(load(v3['apps/demo/rollout.yaml'] ?? '')).errors, []);
  });

  it('refuses an edit that does not match exactly once', () => {
    assert.throws(() => applyEdits({ 'a.yaml': 'x: 1\nx: 1\n' }, [{ file: 'a.yaml', from: 'x: 1', to: 'x: 2' }]), /occurs 2 times, expected once/);
    assert.throws(() => applyEdits({}, [{ file: 'b.yaml', from: 'x', to: 'y' }]), /no such file/);
    assert.throws(() => gitSourceManifest('url: http://elsewhere/x.git', 'http://a/b.git'), /exactly once/);
  });
});
