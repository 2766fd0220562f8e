// The AnalysisTemplate the end-to-end tests measure the demo app with: the
// success rate (share of 200s) over the last 10 s of the pods whose label
// `label` has the value of the template's only argument.
import type { Metric } from '../../src/api/analysis.ts';

export interface SuccessRateOptions {
  namespace: string;
  name: string;
  /** Prometheus. */
  address: string;
  /** The pod label (as Prometheus names it) to select by, e.g. app or rollouts_pod_template_hash. */
  label: string;
  /** The argument that gives its value. */
  arg: string;
  /** Metric fields beyond name, successCondition and provider (interval, count, limits, ...). */
  metric?: Omit<Partial<Metric>, 'name' | 'provider'>;
}

export function successRateTemplate(o: SuccessRateOptions): Record<string, unknown> {
  const sel = `namespace="${o.namespace}",${o.label}="{{args.${o.arg}}}"`;
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      args: [{ name: o.arg }],
      metrics: [
        {
          name: 'success-rate',
          successCondition: 'result[0] >= 0.99',
          ...o.metric,
          provider: { prometheus: { address: o.address, query: `sum(rate(http_requests_total{${sel},code="200"}[10s])) / sum(rate(http_requests_total{${sel}}[10s]))`, timeout: 2 } },
        },
      ],
    },
  };
}
