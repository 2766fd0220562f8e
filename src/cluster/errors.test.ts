import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiException } from '@kubernetes/client-node';
import { describeKubeError, kubeErrorCode, kubeErrorInfo } from './errors.ts';

const invalidStatus = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'CustomResourceDefinition.apiextensions.k8s.io "rollouts.weir.dev" is invalid: spec.versions: Required value',
  reason: 'Invalid',
  details: { name: 'rollouts.weir.dev', group: 'apiextensions.k8s.io', kind: 'CustomResourceDefinition' },
  code: 422,
};

describe('kube errors', () => {
  describe("client-node's ApiException with a JSON Status string body", () => {
    const err = new ApiException(422, 'Unknown API Status Code!', JSON.stringify(invalidStatus), { 'content-type': 'application/json', 'audit-id': 'abc' });

    it('extracts code, reason and the API server message', () => {
      assert.deepEqual(kubeErrorInfo(err), { code: 422, reason: 'Invalid', message: invalidStatus.message });
      assert.equal(kubeErrorCode(err), 422);
    });

    it('describes it in one line without the headers or the raw body', () => {
      const line = describeKubeError(err);
      assert.equal(line, `422 Invalid: ${invalidStatus.message}`);
      assert.doesNotMatch(line, /audit-id|HTTP-Code|\n/);
    });

    it('works the same on a plain object of that shape', () => {
      const plain = { code: 422, body: JSON.stringify(invalidStatus) };
      assert.deepEqual(kubeErrorInfo(plain), { code: 422, reason: 'Invalid', message: invalidStatus.message });
      assert.equal(describeKubeError(plain), `422 Invalid: ${invalidStatus.message}`);
    });
  });

  it('reads a body that is already an object', () => {
    const err = { code: 404, body: { kind: 'Status', reason: 'NotFound', message: 'pods "web-1" not found', code: 404 } };
    assert.deepEqual(kubeErrorInfo(err), { code: 404, reason: 'NotFound', message: 'pods "web-1" not found' });
    assert.equal(kubeErrorCode(err), 404);
    assert.equal(describeKubeError(err), '404 NotFound: pods "web-1" not found');
  });

  it('uses a non-JSON string body as the message, without a reason', () => {
    const err = new ApiException(502, 'Unknown API Status Code!', '<html>Bad Gateway</html>', {});
    assert.deepEqual(kubeErrorInfo(err), { code: 502, reason: undefined, message: '<html>Bad Gateway</html>' });
    assert.equal(describeKubeError(err), '502: <html>Bad Gateway</html>');
  });

  it('leaves the reason out of the description when the Status has none', () => {
    const err = { code: 403, body: JSON.stringify({ kind: 'Status', message: 'forbidden: no' }) };
    assert.equal(describeKubeError(err), '403: forbidden: no');
  });

  it('falls back to "HTTP <code>" when there is no body', () => {
    const err = new ApiException(401, 'Unauthorized', undefined, {});
    assert.deepEqual(kubeErrorInfo(err), { code: 401, reason: undefined, message: 'HTTP 401' });
    assert.equal(kubeErrorCode(err), 401);
    assert.equal(describeKubeError(err), '401: HTTP 401');
  });

  it('reports a plain Error by its message, without a code', () => {
    const err = new Error('connect ECONNREFUSED 127.0.0.1:6443');
    assert.deepEqual(kubeErrorInfo(err), { code: undefined, reason: undefined, message: 'connect ECONNREFUSED 127.0.0.1:6443' });
    assert.equal(kubeErrorCode(err), undefined);
    assert.equal(describeKubeError(err), 'connect ECONNREFUSED 127.0.0.1:6443');
  });

  it('does not take a Node system error code for an HTTP code', () => {
    const err = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    assert.equal(kubeErrorCode(err), undefined);
    assert.equal(describeKubeError(err), 'socket hang up');
  });

  it('ignores a non-numeric code even when there is a body', () => {
    const err = { code: 'ECONNRESET', body: { reason: 'X', message: 'broken' } };
    assert.equal(kubeErrorCode(err), undefined);
    assert.equal(describeKubeError(err), 'broken');
  });

  it('stringifies thrown non-errors', () => {
    assert.deepEqual(kubeErrorInfo('just a string'), { code: undefined, reason: undefined, message: 'just a string' });
    assert.equal(describeKubeError(undefined), 'undefined');
    assert.equal(kubeErrorCode(null), undefined);
  });
});
