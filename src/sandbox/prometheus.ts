// Prometheus scraping annotated pods. Discovery goes through http_sd_configs
// served by pod-discovery.ts (Debian's build lacks kubernetes_sd_configs), with
// the same __meta_kubernetes_pod_* labels and so the same relabelling rules as
// a real cluster's kubernetes_sd_configs (role: pod).
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GiveUp, waitFor } from '../util/wait.ts';
import { httpGet } from './http-probe.ts';
import { spawnManaged, type ManagedProcess } from './processes.ts';

export function prometheusConfig(opts: { discoveryUrl: string; scrapeInterval: string }): string {
  return `global:
  scrape_interval: ${opts.scrapeInterval}
  evaluation_interval: ${opts.scrapeInterval}
scrape_configs:
  - job_name: kubernetes-pods
    scrape_interval: ${opts.scrapeInterval}
    scrape_timeout: ${opts.scrapeInterval}
    http_sd_configs:
      - url: ${opts.discoveryUrl}
        refresh_interval: ${opts.scrapeInterval}
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

export async function startPrometheus(opts: {
  port: number;
  dataDir: string;
  configFile: string;
  discoveryUrl: string;
  logDir: string;
}): Promise<{ proc: ManagedProcess; url: string }> {
  await writeFile(opts.configFile, prometheusConfig({ ...opts, scrapeInterval: '1s' }));
  const url = `http://127.0.0.1:${opts.port}`;
  const logFile = join(opts.logDir, 'prometheus.log');
  const proc = spawnManaged({
    name: 'prometheus',
    command: 'prometheus',
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
