// For unit tests that make informers and controllers without starting them:
// a KubeConfig whose server is never contacted.
import { KubeConfig } from '@kubernetes/client-node';

/** A KubeConfig pointing at a closed port: what is made with it must never be started. */
export function unreachableKubeConfig(): KubeConfig {
  const kc = new KubeConfig();
  kc.loadFromOptions({
    clusters: [{ name: 'none', server: 'http://127.0.0.1:1', skipTLSVerify: true }],
    users: [{ name: 'none', token: 'none' }],
    contexts: [{ name: 'none', cluster: 'none', user: 'none' }],
    currentContext: 'none',
  });
  return kc;
}
