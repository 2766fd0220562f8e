// Defaults the API server applies anyway, filled in before server-side
// apply. Older API servers' server-side apply (1.20's, for one) refuses a
// list-map entry that omits a key field without a schema default: `protocol`
// of Service ports and of container ports (1.37 defaults it itself). Client-side `kubectl apply` never needed it, so real
// repositories leave it out; setting the value the server would default
// (TCP) changes nothing about the object. Pure.
import { isRecord, type SyncObject } from './types.ts';

type Json = Record<string, unknown>;

function withProtocol(ports: unknown): unknown {
  if (!Array.isArray(ports)) return ports;
  return ports.map((p: unknown) => (isRecord(p) && p.protocol === undefined ? { ...p, protocol: 'TCP' } : p));
}

function podSpecWithProtocols(spec: unknown): unknown {
  if (!isRecord(spec)) return spec;
  const out: Json = { ...spec };
  for (const list of ['containers', 'initContainers'] as const) {
    const containers = spec[list];
    if (Array.isArray(containers)) {
      out[list] = containers.map((c: unknown) => (isRecord(c) && c.ports !== undefined ? { ...c, ports: withProtocol(c.ports) } : c));
    }
  }
  return out;
}

/** The path to the pod spec inside built-in workload kinds. */
const POD_SPEC_PATHS: Record<string, string[]> = {
  'v1/Pod': ['spec'],
  'v1/ReplicationController': ['spec', 'template', 'spec'],
  'apps/v1/Deployment': ['spec', 'template', 'spec'],
  'apps/v1/ReplicaSet': ['spec', 'template', 'spec'],
  'apps/v1/StatefulSet': ['spec', 'template', 'spec'],
  'apps/v1/DaemonSet': ['spec', 'template', 'spec'],
  'batch/v1/Job': ['spec', 'template', 'spec'],
  'batch/v1/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
  'batch/v1beta1/CronJob': ['spec', 'jobTemplate', 'spec', 'template', 'spec'],
};

function updateAt(obj: unknown, path: readonly string[], update: (v: unknown) => unknown): unknown {
  if (path.length === 0) return update(obj);
  if (!isRecord(obj)) return obj;
  const [head = '', ...rest] = path;
  if (!(head in obj)) return obj;
  return { ...obj, [head]: updateAt(obj[head], rest, update) };
}

/** `object` with the defaults server-side apply needs; the same object when nothing is missing. */
export function withApplyDefaults<T extends SyncObject>(object: T): T {
  const key = `${object.apiVersion}/${object.kind}`;
  let out: unknown = object;
  if (key === 'v1/Service') out = updateAt(out, ['spec', 'ports'], withProtocol);
  const podSpec = POD_SPEC_PATHS[key];
  if (podSpec) out = updateAt(out, podSpec, podSpecWithProtocols);
  return JSON.stringify(out) === JSON.stringify(object) ? object : (out as T);
}
