import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { annotationsProblem, kindProblem, MAX_ANNOTATIONS_BYTES } from './kinds.ts';

describe('kindProblem (weir lint and Git sync alike)', () => {
  it('knows Weir’s kinds at v1alpha1 and Argo Rollouts’ at argoproj.io/v1alpha1', () => {
    for (const kind of ['Rollout', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun', 'GitSource']) assert.equal(kindProblem('weir.dev/v1alpha1', kind), undefined, kind);
    for (const kind of ['Rollout', 'AnalysisTemplate', 'ClusterAnalysisTemplate', 'AnalysisRun']) assert.equal(kindProblem('argoproj.io/v1alpha1', kind), undefined, kind);
  });

  it('refuses another version or kind of Weir’s group, saying what was meant', () => {
    assert.deepEqual(kindProblem('weir.dev/v1beta1', 'Rollout'), { field: 'apiVersion', message: '"weir.dev/v1beta1" is not a version Weir serves: use weir.dev/v1alpha1' });
    assert.match(kindProblem('weir.dev/v1alpha1', 'RollOut')?.message ?? '', /^"RollOut" is not a kind Weir knows \(did you mean Rollout\?\)/);
    assert.equal(kindProblem('weir.dev/v1alpha1', 'Experiment')?.field, 'kind');
  });

  it('refuses Argo Rollouts’ kinds at another version, in another case, and Experiment; leaves Argo CD’s kinds and other groups alone', () => {
    assert.equal(kindProblem('argoproj.io/v1beta1', 'Rollout')?.field, 'apiVersion');
    assert.match(kindProblem('argoproj.io/v1alpha1', 'rollout')?.message ?? '', /did you mean Rollout\?/);
    assert.match(kindProblem('argoproj.io/v1alpha1', 'Experiment')?.message ?? '', /Experiment is not supported by Weir/);
    assert.equal(kindProblem('argoproj.io/v1alpha1', 'Application'), undefined);
    assert.equal(kindProblem('example.com/v1', 'Rollout'), undefined);
    assert.equal(kindProblem('v1', 'ConfigMap'), undefined);
  });
});

describe('annotationsProblem', () => {
  it('counts keys and values as the API server does, up to 256 KiB', () => {
    const at = (bytes: number): unknown => ({ metadata: { annotations: { k: 'x'.repeat(bytes - 1) } } });
    assert.equal(annotationsProblem(at(MAX_ANNOTATIONS_BYTES)), undefined);
    assert.match(annotationsProblem(at(MAX_ANNOTATIONS_BYTES + 1))?.message ?? '', /^take 262145 bytes, more than the 262144/);
    assert.equal(annotationsProblem({ metadata: {} }), undefined);
    assert.equal(annotationsProblem('not an object'), undefined);
  });
});
