// Tokens for service accounts, minted through the TokenRequest API, so a
// process can run with a ServiceAccount's own permissions.
import { CoreV1Api, type KubeConfig } from '@kubernetes/client-node';

export async function mintServiceAccountToken(kc: KubeConfig, namespace: string, serviceAccount: string, expirationSeconds = 3600): Promise<string> {
  const core = kc.makeApiClient(CoreV1Api);
  const res = await core.createNamespacedServiceAccountToken({
    name: serviceAccount,
    namespace,
    body: { apiVersion: 'authentication.k8s.io/v1', kind: 'TokenRequest', spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds } },
  });
  const token = res.status?.token;
  if (!token) throw new Error(`the API server returned no token for ${namespace}/${serviceAccount}`);
  return token;
}
