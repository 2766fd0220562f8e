import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { V1Pod } from '@kubernetes/client-node';
import { load } from 'js-yaml';
import { podTargetGroups } from './pod-discovery.ts';
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
    http_sd_configs: { url: string; refresh_interval: string }[];
    relabel_configs: RelabelConfig[];
  }[];
}

const DISCOVERY_URL = 'http://127.0.0.1:41234/targets';

function parsedConfig(scrapeInterval = '15s'): PrometheusConfig {
  return load(prometheusConfig({ discoveryUrl: DISCOVERY_URL, scrapeInterval })) as PrometheusConfig;
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

/** Prometheus' relabelling (the actions this config uses), applied to one target's labels. */
function relabel(labels: Record<string, string>, rules: RelabelConfig[]): Record<string, string> | undefined {
  let current = { ...labels };
  for (const rule of rules) {
    const regex = anchored(typeof rule.regex === 'string' ? rule.regex : '(.*)');
    const value = (rule.source_labels ?? []).map((name) => current[name] ?? '').join(rule.separator ?? ';');
    const action = rule.action ?? 'replace';
    if (action === 'keep') {
      if (!regex.test(value)) return undefined;
    } else if (action === 'replace') {
      if (!regex.test(value) || rule.target_label === undefined) continue;
      const result = value.replace(regex, rule.replacement ?? '$1');
      const target = rule.target_label;
      if (result === '') current = Object.fromEntries(Object.entries(current).filter(([name]) => name !== target));
      else current[target] = result;
    } else if (action === 'labelmap') {
      const mapped: Record<string, string> = {};
      for (const [name, v] of Object.entries(current)) {
        if (regex.test(name)) mapped[name.replace(regex, rule.replacement ?? '$1')] = v;
      }
      current = { ...current, ...mapped };
    } else {
      assert.fail(`relabel action ${action} not simulated`);
    }
  }
  return current;
}

/** The scraped targets: relabelled, with the __address__ Prometheus sets from the discovered target. */
function scrapeTargets(pod: V1Pod, rules: RelabelConfig[]): Record<string, string>[] {
  return podTargetGroups(pod).flatMap((group) =>
    group.targets.flatMap((address) => {
      const target = relabel({ __address__: address, __metrics_path__: '/metrics', ...group.labels }, rules);
      return target === undefined ? [] : [target];
    }),
  );
}

function annotatedPod(annotations: Record<string, string>, phase = 'Running'): V1Pod {
  return {
    metadata: { name: 'web-1', namespace: 'shop', uid: 'u1', labels: { 'app.kubernetes.io/name': 'web' }, annotations },
    spec: {
      containers: [{ name: 'app', image: 'weir-demo:v1', ports: [{ name: 'http', containerPort: 8080 }, { name: 'admin', containerPort: 9000 }] }],
    },
    status: { podIP: '127.42.0.2', hostIP: '127.0.0.1', phase, conditions: [{ type: 'Ready', status: 'True' }] },
  };
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

  it('discovers targets over http_sd from the given URL at the scrape interval', () => {
    assert.deepEqual(podsJob(parsedConfig('1s')).http_sd_configs, [{ url: DISCOVERY_URL, refresh_interval: '1s' }]);
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

  describe('applied to the targets podTargetGroups discovers', () => {
    const rules = podsJob(parsedConfig()).relabel_configs;

    it('scrapes an annotated running pod at the annotated port and path, with its labels', () => {
      const targets = scrapeTargets(annotatedPod({ 'prometheus.io/scrape': 'true', 'prometheus.io/port': '9000', 'prometheus.io/path': '/stats' }), rules);
      assert.equal(targets.length, 2); // one per declared port, both rewritten to the annotated one
      for (const target of targets) {
        assert.equal(target.__address__, '127.42.0.2:9000');
        assert.equal(target.__metrics_path__, '/stats');
        assert.equal(target.app_kubernetes_io_name, 'web');
        assert.equal(target.namespace, 'shop');
        assert.equal(target.pod, 'web-1');
      }
    });

    it('keeps the declared port and /metrics without port and path annotations', () => {
      const targets = scrapeTargets(annotatedPod({ 'prometheus.io/scrape': 'true' }), rules);
      assert.deepEqual(
        targets.map((t) => [t.__address__, t.__metrics_path__]),
        [
          ['127.42.0.2:8080', '/metrics'],
          ['127.42.0.2:9000', '/metrics'],
        ],
      );
    });

    it('drops pods without the scrape annotation, with another value, or not running', () => {
      assert.deepEqual(scrapeTargets(annotatedPod({}), rules), []);
      assert.deepEqual(scrapeTargets(annotatedPod({ 'prometheus.io/scrape': 'false' }), rules), []);
      assert.deepEqual(scrapeTargets(annotatedPod({ 'prometheus.io/scrape': 'true' }, 'Pending'), rules), []);
    });
  });
});
