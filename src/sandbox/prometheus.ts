// Prometheus 3 scraping annotated pods, which it finds as a production
// Prometheus does: kubernetes_sd_configs (role: pod) watching the sandbox's
// API server, as a user of its own whose only permission is to read pods
// (manifests/prometheus-rbac.yaml). The relabelling rules are the usual
// prometheus.io/* annotation ones.
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GiveUp, waitFor } from '../util/wait.ts';
import { httpGet } from './http-probe.ts';
import { spawnManaged, type ManagedProcess } from './processes.ts';

/** How Prometheus reaches the API server for discovery. */
export interface DiscoveryAccess {
  apiServerUrl: string;
  caFile: string;
  /** A file holding the bearer token of Prometheus' own user. */
  tokenFile: string;
}

export function prometheusConfig(opts: DiscoveryAccess & { scrapeInterval: string }): string {
  return `global:
  scrape_interval: ${opts.scrapeInterval}
  evaluation_interval: ${opts.scrapeInterval}
scrape_configs:
  - job_name: kubernetes-pods
    scrape_interval: ${opts.scrapeInterval}
    scrape_timeout: ${opts.scrapeInterval}
    kubernetes_sd_configs:
      - role: pod
        api_server: ${opts.apiServerUrl}
        tls_config:
          ca_file: ${opts.caFile}
        authorization:
          type: Bearer
          credentials_file: ${opts.tokenFile}
    relabel_configs:
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_scrape]
        action: keep
        regex: "true"
      - source_labels: [__meta_kubernetes_pod_phase]
        action: keep
        regex: Running
      - source_labels: [__meta_kubernetes_pod_annotation_prometheus_io_path]
        action: replace
        target_label: __metrics_path__
        regex: (.+)
      - source_labels: [__meta_kubernetes_pod_ip, __meta_kubernetes_pod_annotation_prometheus_io_port]
        action: replace
        regex: (.+);(\\d+)
        replacement: $1:$2
        target_label: __address__
      - action: labelmap
        regex: __meta_kubernetes_pod_label_(.+)
      - source_labels: [__meta_kubernetes_namespace]
        target_label: namespace
      - source_labels: [__meta_kubernetes_pod_name]
        target_label: pod
`;
}

export async function startPrometheus(
  opts: DiscoveryAccess & {
    binary: string;
    port: number;
    dataDir: string;
    configFile: string;
    logDir: string;
  },
): Promise<{ proc: ManagedProcess; url: string }> {
  await writeFile(opts.configFile, prometheusConfig({ ...opts, scrapeInterval: '1s' }));
  const url = `http://127.0.0.1:${opts.port}`;
  const logFile = join(opts.logDir, 'prometheus.log');
  const proc = spawnManaged({
    name: 'prometheus',
    command: opts.binary,
    args: [
      `--config.file=${opts.configFile}`,
      `--storage.tsdb.path=${opts.dataDir}`,
      '--storage.tsdb.retention.time=1d',
      `--web.listen-address=127.0.0.1:${opts.port}`,
      '--log.level=warn',
    ],
    logFile,
  });
  await waitFor(
    async () => {
      if (proc.hasExited()) throw new GiveUp(`prometheus exited during start-up; see ${logFile}`);
      return (await httpGet(`${url}/-/ready`)).status === 200;
    },
    { what: 'prometheus /-/ready', timeoutMs: 60_000, intervalMs: 200 },
  );
  return { proc, url };
}
