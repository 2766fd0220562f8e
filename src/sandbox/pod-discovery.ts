// Prometheus HTTP service discovery for the sandbox's pods.
//
// Debian's prometheus package is built without Kubernetes service discovery
// (its patch 01-Disable_kubernetes.patch: client-go is not packaged), so the
// sandbox serves the same information over http_sd_configs: one target per
// declared container port with exactly the __meta_kubernetes_* labels that
// kubernetes_sd_configs (role: pod) attaches. The relabelling rules are thus
// the ones a real cluster's Prometheus would use.
import { createServer, type Server } from 'node:http';
import { CoreV1Api, makeInformer, type KubeConfig, type V1Pod } from '@kubernetes/client-node';
import type { Logger } from '../util/log.ts';

export interface TargetGroup {
  targets: string[];
  labels: Record<string, string>;
}

/** Prometheus' label-name sanitising: every character outside [a-zA-Z0-9_] becomes "_". */
export function sanitizeLabelName(name: string): string {
  return name.replace(/[^a-zA-Z0-9_]/g, '_');
}

function readyLabel(pod: V1Pod): string {
  const ready = pod.status?.conditions?.find((c) => c.type === 'Ready')?.status;
  return ready === 'True' ? 'true' : ready === 'False' ? 'false' : 'unknown';
}

/** The target groups kubernetes_sd_configs (role: pod) would produce for one pod. */
export function podTargetGroups(pod: V1Pod): TargetGroup[] {
  const ip = pod.status?.podIP;
  if (!ip) return [];
  const meta = pod.metadata ?? {};
  const labels: Record<string, string> = {
    __meta_kubernetes_namespace: meta.namespace ?? '',
    __meta_kubernetes_pod_name: meta.name ?? '',
    __meta_kubernetes_pod_ip: ip,
    __meta_kubernetes_pod_uid: meta.uid ?? '',
    __meta_kubernetes_pod_node_name: pod.spec?.nodeName ?? '',
    __meta_kubernetes_pod_host_ip: pod.status?.hostIP ?? '',
    __meta_kubernetes_pod_phase: pod.status?.phase ?? '',
    __meta_kubernetes_pod_ready: readyLabel(pod),
  };
  for (const [k, v] of Object.entries(meta.labels ?? {})) {
    labels[`__meta_kubernetes_pod_label_${sanitizeLabelName(k)}`] = v;
    labels[`__meta_kubernetes_pod_labelpresent_${sanitizeLabelName(k)}`] = 'true';
  }
  for (const [k, v] of Object.entries(meta.annotations ?? {})) {
    labels[`__meta_kubernetes_pod_annotation_${sanitizeLabelName(k)}`] = v;
    labels[`__meta_kubernetes_pod_annotationpresent_${sanitizeLabelName(k)}`] = 'true';
  }
  const owner = meta.ownerReferences?.find((o) => o.controller === true);
  if (owner) {
    labels.__meta_kubernetes_pod_controller_kind = owner.kind;
    labels.__meta_kubernetes_pod_controller_name = owner.name;
  }
  const groups: TargetGroup[] = [];
  for (const container of pod.spec?.containers ?? []) {
    const containerLabels = { ...labels, __meta_kubernetes_pod_container_name: container.name, __meta_kubernetes_pod_container_image: container.image ?? '' };
    const ports = container.ports ?? [];
    if (ports.length === 0) {
      groups.push({ targets: [ip], labels: containerLabels });
      continue;
    }
    for (const port of ports) {
      groups.push({
        targets: [`${ip}:${port.containerPort}`],
        labels: {
          ...containerLabels,
          __meta_kubernetes_pod_container_port_name: port.name ?? '',
          __meta_kubernetes_pod_container_port_number: String(port.containerPort),
          __meta_kubernetes_pod_container_port_protocol: port.protocol ?? 'TCP',
        },
      });
    }
  }
  return groups;
}

export interface PodDiscovery {
  url: string;
  close(): Promise<void>;
}

export async function startPodDiscovery(opts: { kubeConfig: KubeConfig; port: number; logger: Logger }): Promise<PodDiscovery> {
  const core = opts.kubeConfig.makeApiClient(CoreV1Api);
  const informer = makeInformer<V1Pod>(opts.kubeConfig, '/api/v1/pods', () => core.listPodForAllNamespaces());
  let stopped = false;
  informer.on('error', (err: unknown) => {
    if (stopped) return;
    opts.logger.warn({ err: String(err) }, 'pod discovery watch failed; restarting');
    setTimeout(() => {
      if (!stopped) informer.start().catch(() => undefined);
    }, 1000);
  });
  await informer.start();
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' || req.url !== '/targets') {
      res.writeHead(404).end();
      return;
    }
    const groups = informer.list().flatMap(podTargetGroups);
    res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify(groups));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port, '127.0.0.1', resolve);
  });
  return {
    url: `http://127.0.0.1:${opts.port}/targets`,
    async close() {
      stopped = true;
      await informer.stop();
      await new Promise<void>((resolve) => server.close(() => { resolve(); }));
    },
  };
}
