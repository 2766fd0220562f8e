import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { load } from 'js-yaml';
import { prometheusConfig } from './prometheus.ts';

interface RelabelConfig {
  source_labels?: string[];
  separator?: string;
  action?: string;
  regex?: unknown;
  replacement?: string;
  target_label?: string;
}

interface PrometheusConfig {
  global: Record<string, unknown>;
  scrape_configs: {
    job_name: string;
    scrape_interval: string;
    scrape_timeout: string;
    kubernetes_sd_configs: { role: string; api_server: string; tls_config: { ca_file: string }; authorization: { type: string; credentials_file: string } }[];
    relabel_configs: RelabelConfig[];
  }[];
}

const ACCESS = { apiServerUrl: 'https://127.0.0.1:41234', caFile: '/state/pki/ca.crt', tokenFile: '/state/pki/prometheus.token' };

function parsedConfig(scrapeInterval = '15s'): PrometheusConfig {
  return load(prometheusConfig({ ...ACCESS, scrapeInterval })) as PrometheusConfig;
}

function podsJob(config: PrometheusConfig): PrometheusConfig['scrape_configs'][number] {
  assert.equal(config.scrape_configs.length, 1);
  const job = config.scrape_configs[0];
  assert.ok(job);
  return job;
}

function regexString(rule: RelabelConfig | undefined): string {
  assert.ok(rule, 'rule not found');
  assert.equal(typeof rule.regex, 'string', `regex ${String(rule.regex)} is not a string`);
  return rule.regex as string;
}

/** Prometheus anchors relabelling regexes at both ends. */
function anchored(regex: string): RegExp {
  return new RegExp(`^(?:${regex})$`);
}

describe('prometheusConfig', () => {
  it('is valid YAML with the scrape interval applied globally and to the job', () => {
    const config = parsedConfig('2s');
    assert.deepEqual(config.global, { scrape_interval: '2s', evaluation_interval: '2s' });
    const job = podsJob(config);
    assert.equal(job.job_name, 'kubernetes-pods');
    assert.equal(job.scrape_interval, '2s');
    assert.equal(job.scrape_timeout, '2s');
  });

  it('discovers pods with kubernetes_sd_configs against the given API server, trusting its CA, with the token file', () => {
    assert.deepEqual(podsJob(parsedConfig('1s')).kubernetes_sd_configs, [
      {
        role: 'pod',
        api_server: ACCESS.apiServerUrl,
        tls_config: { ca_file: ACCESS.caFile },
        authorization: { type: 'Bearer', credentials_file: ACCESS.tokenFile },
      },
    ]);
  });

  it('first keeps only targets whose pod has the annotation prometheus.io/scrape "true"', () => {
    const [first] = podsJob(parsedConfig()).relabel_configs;
    assert.deepEqual(first, {
      source_labels: ['__meta_kubernetes_pod_annotation_prometheus_io_scrape'],
      action: 'keep',
      regex: 'true',
    });
  });

  it('keeps only running pods', () => {
    const rule = podsJob(parsedConfig()).relabel_configs.find((r) => r.source_labels?.includes('__meta_kubernetes_pod_phase'));
    assert.equal(rule?.action, 'keep');
    assert.equal(regexString(rule), 'Running');
  });

  it('rewrites __address__ to the pod IP and the prometheus.io/port annotation with (.+);(\\d+) -> $1:$2', () => {
    const rule = podsJob(parsedConfig()).relabel_configs.find((r) => r.target_label === '__address__');
    assert.ok(rule);
    assert.deepEqual(rule.source_labels, ['__meta_kubernetes_pod_ip', '__meta_kubernetes_pod_annotation_prometheus_io_port']);
    assert.equal(rule.action, 'replace');
    const regex = regexString(rule);
    assert.equal(regex, '(.+);(\\d+)');
    assert.equal(rule.replacement, '$1:$2');
    const re = anchored(regex);
    assert.equal('127.42.0.2;8080'.replace(re, '$1:$2'), '127.42.0.2:8080');
    // No port annotation or a non-numeric one: no match, so the address is left alone.
    assert.equal(re.test('127.42.0.2;'), false);
    assert.equal(re.test('127.42.0.2;http'), false);
  });

  it('takes the metrics path from prometheus.io/path and maps pod labels, namespace and pod name', () => {
    const rules = podsJob(parsedConfig()).relabel_configs;
    const path = rules.find((r) => r.target_label === '__metrics_path__');
    assert.deepEqual(path?.source_labels, ['__meta_kubernetes_pod_annotation_prometheus_io_path']);
    assert.equal(regexString(path), '(.+)');
    const labelmap = rules.find((r) => r.action === 'labelmap');
    assert.equal(regexString(labelmap), '__meta_kubernetes_pod_label_(.+)');
    assert.deepEqual(rules.find((r) => r.target_label === 'namespace')?.source_labels, ['__meta_kubernetes_namespace']);
    assert.deepEqual(rules.find((r) => r.target_label === 'pod')?.source_labels, ['__meta_kubernetes_pod_name']);
  });
});
