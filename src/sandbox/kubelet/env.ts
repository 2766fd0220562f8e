// Container environment as the kubelet builds it: env, envFrom, fieldRef,
// configMapKeyRef and secretKeyRef. Lookups of ConfigMaps and Secrets are
// injected so the resolution itself stays pure.
import type { V1Container, V1Pod } from '@kubernetes/client-node';

export interface EnvSources {
  configMap(namespace: string, name: string): Promise<Record<string, string> | undefined>;
  secret(namespace: string, name: string): Promise<Record<string, string> | undefined>;
}

/** A container whose configuration cannot be built yet (kubelet's CreateContainerConfigError). */
export class ContainerConfigError extends Error {
  override name = 'ContainerConfigError';
}

function fieldRef(pod: V1Pod, path: string, podIp: string): string {
  const annotation = /^metadata\.(labels|annotations)\['(.+)'\]$/.exec(path);
  if (annotation) {
    const map = annotation[1] === 'labels' ? pod.metadata?.labels : pod.metadata?.annotations;
    return map?.[annotation[2] ?? ''] ?? '';
  }
  switch (path) {
    case 'metadata.name':
      return pod.metadata?.name ?? '';
    case 'metadata.namespace':
      return pod.metadata?.namespace ?? '';
    case 'metadata.uid':
      return pod.metadata?.uid ?? '';
    case 'spec.nodeName':
      return pod.spec?.nodeName ?? '';
    case 'spec.serviceAccountName':
      return pod.spec?.serviceAccountName ?? '';
    case 'status.podIP':
      return podIp;
    case 'status.hostIP':
      return '127.0.0.1';
    default:
      throw new ContainerConfigError(`unsupported fieldRef ${path}`);
  }
}

export async function resolveEnv(pod: V1Pod, container: V1Container, podIp: string, sources: EnvSources): Promise<Record<string, string>> {
  const namespace = pod.metadata?.namespace ?? 'default';
  const env: Record<string, string> = {};
  const load = async (kind: 'configMap' | 'secret', name: string, optional: boolean | undefined): Promise<Record<string, string>> => {
    const data = await sources[kind](namespace, name);
    if (data === undefined) {
      if (optional === true) return {};
      throw new ContainerConfigError(`${kind} "${name}" not found`);
    }
    return data;
  };
  for (const from of container.envFrom ?? []) {
    const prefix = from.prefix ?? '';
    if (from.configMapRef) Object.assign(env, prefixed(await load('configMap', from.configMapRef.name ?? '', from.configMapRef.optional), prefix));
    if (from.secretRef) Object.assign(env, prefixed(await load('secret', from.secretRef.name ?? '', from.secretRef.optional), prefix));
  }
  for (const variable of container.env ?? []) {
    const source = variable.valueFrom;
    if (!source) {
      env[variable.name] = expand(variable.value ?? '', env);
    } else if (source.fieldRef) {
      env[variable.name] = fieldRef(pod, source.fieldRef.fieldPath, podIp);
    } else if (source.configMapKeyRef) {
      const ref = source.configMapKeyRef;
      const data = await load('configMap', ref.name ?? '', ref.optional);
      const value = data[ref.key];
      if (value === undefined && ref.optional !== true) throw new ContainerConfigError(`key "${ref.key}" not found in configMap "${ref.name ?? ''}"`);
      if (value !== undefined) env[variable.name] = value;
    } else if (source.secretKeyRef) {
      const ref = source.secretKeyRef;
      const data = await load('secret', ref.name ?? '', ref.optional);
      const value = data[ref.key];
      if (value === undefined && ref.optional !== true) throw new ContainerConfigError(`key "${ref.key}" not found in secret "${ref.name ?? ''}"`);
      if (value !== undefined) env[variable.name] = value;
    } else {
      throw new ContainerConfigError(`env ${variable.name}: unsupported valueFrom`);
    }
  }
  return env;
}

function prefixed(data: Record<string, string>, prefix: string): Record<string, string> {
  return Object.fromEntries(Object.entries(data).map(([k, v]) => [prefix + k, v]));
}

/** Kubernetes' $(VAR) expansion against variables defined earlier; $$ escapes. */
export function expand(value: string, env: Record<string, string>): string {
  return value.replace(/\$\$|\$\(([A-Za-z_][A-Za-z0-9_.-]*)\)/g, (match, name: string | undefined) => {
    if (match === '$$') return '$';
    return name !== undefined && Object.hasOwn(env, name) ? (env[name] ?? '') : match;
  });
}
