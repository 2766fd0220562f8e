import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KubeConfig } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { kubeconfigYaml } from './pki.ts';

interface Kubeconfig {
  apiVersion: string;
  kind: string;
  clusters: { name: string; cluster: { server: string; 'certificate-authority': string } }[];
  users: { name: string; user: { token: string } }[];
  contexts: { name: string; context: { cluster: string; user: string; namespace: string } }[];
  'current-context': string;
}

const opts = {
  server: 'https://127.0.0.1:6443',
  caFile: '/home/dev/.local/state/weir/sandboxes/test/pki/ca.crt',
  user: 'weir-sandbox-admin',
  token: '9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822c',
};

function parse(yaml: string): Kubeconfig {
  return load(yaml) as Kubeconfig;
}

describe('kubeconfigYaml', () => {
  it('is a v1 Config', () => {
    const config = parse(kubeconfigYaml(opts));
    assert.equal(config.apiVersion, 'v1');
    assert.equal(config.kind, 'Config');
  });

  it('names the server, the CA file and the token', () => {
    const config = parse(kubeconfigYaml(opts));
    assert.deepEqual(config.clusters, [{ name: 'weir-sandbox', cluster: { server: opts.server, 'certificate-authority': opts.caFile } }]);
    assert.deepEqual(config.users, [{ name: 'weir-sandbox-admin', user: { token: opts.token } }]);
  });

  it('makes weir-sandbox the current context, tying the cluster and user together in namespace default', () => {
    const config = parse(kubeconfigYaml(opts));
    assert.equal(config['current-context'], 'weir-sandbox');
    assert.deepEqual(config.contexts, [{ name: 'weir-sandbox', context: { cluster: 'weir-sandbox', user: 'weir-sandbox-admin', namespace: 'default' } }]);
  });

  it('uses the given context name for the cluster, the context and current-context', () => {
    const config = parse(kubeconfigYaml({ ...opts, context: 'weir-ci', user: 'ci-bot' }));
    assert.equal(config['current-context'], 'weir-ci');
    assert.equal(config.clusters[0]?.name, 'weir-ci');
    assert.deepEqual(config.contexts[0], { name: 'weir-ci', context: { cluster: 'weir-ci', user: 'ci-bot', namespace: 'default' } });
    assert.equal(config.users[0]?.name, 'ci-bot');
  });

  it("loads in client-node's KubeConfig with the same server, CA and token", () => {
    const kc = new KubeConfig();
    kc.loadFromString(kubeconfigYaml(opts));
    assert.equal(kc.getCurrentContext(), 'weir-sandbox');
    assert.equal(kc.getCurrentCluster()?.server, opts.server);
    assert.equal(kc.getCurrentCluster()?.caFile, opts.caFile);
    assert.equal(kc.getCurrentUser()?.name, opts.user);
    assert.equal(kc.getCurrentUser()?.token, opts.token);
    assert.equal(kc.getContextObject('weir-sandbox')?.namespace, 'default');
  });
});
