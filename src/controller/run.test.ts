import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseListen } from './run.ts';

describe('parseListen', () => {
  it('reads host:port, [ipv6]:port and :port', () => {
    assert.deepEqual(parseListen('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
    assert.deepEqual(parseListen('[::1]:9090'), { host: '::1', port: 9090 });
    assert.deepEqual(parseListen(':8080'), { host: '0.0.0.0', port: 8080 });
    assert.deepEqual(parseListen('127.0.0.1:0'), { host: '127.0.0.1', port: 0 });
  });
  it('rejects what is not host:port', () => {
    assert.throws(() => parseListen('8080'), /host:port/);
    assert.throws(() => parseListen('a:99999'), /out of range/);
  });
});
