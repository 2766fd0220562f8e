import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { UNSUPPORTED_PROVIDERS, scanPlaceholders } from './analysis.ts';
import { ANALYSIS_RUN_KIND, ANALYSIS_TEMPLATE_KIND, CLUSTER_ANALYSIS_TEMPLATE_KIND, CRD_KINDS, buildCrd } from './crd.ts';
import { parseFieldPath, validateAnalysisRun, validateAnalysisTemplate, validateClusterAnalysisTemplate, type ConditionChecker, type FieldError } from './validate.ts';

type Obj = Record<string, unknown>;

/** A valid AnalysisTemplate: one metric of each provider Weir runs. */
function base(): Obj {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'AnalysisTemplate',
    metadata: { name: 'canary-health', namespace: 'shop' },
    spec: {
      args: [
        { name: 'service-name' },
        { name: 'prometheus-port', value: '9090' },
        { name: 'api-token', valueFrom: { secretKeyRef: { name: 'token-secret', key: 'apiToken' } } },
        { name: 'stable-hash' },
        { name: 'canary-hash' },
      ],
      metrics: [
        {
          name: 'success-rate',
          interval: '5m',
          count: 3,
          failureLimit: 1,
          successCondition: 'result[0] >= 0.95',
          provider: {
            prometheus: {
              address: 'http://prometheus.example.com:{{args.prometheus-port}}',
              query: 'sum(irate(http_requests_total{service="{{args.service-name}}",code!~"5.."}[5m])) / sum(irate(http_requests_total{service="{{args.service-name}}"}[5m]))',
              timeout: 40,
              headers: [{ key: 'X-Scope-OrgID', value: 'tenant_a' }],
            },
          },
        },
        {
          name: 'webmetric',
          successCondition: "result == 'true'",
          provider: {
            web: {
              url: 'http://example/measure?service={{ args.service-name }}',
              headers: [{ key: 'Authorization', value: 'Bearer {{ args.api-token }}' }],
              jsonPath: '{$.results.ok}',
            },
          },
        },
        {
          name: 'judge',
          initialDelay: '1m',
          interval: '2m',
          count: 2,
          provider: {
            judge: {
              address: 'http://prometheus:9090',
              window: '5m',
              metrics: [
                {
                  name: 'errors',
                  baseline: { query: 'rate(errors_total{pod_template_hash="{{args.stable-hash}}"}[1m])' },
                  canary: { query: 'rate(errors_total{pod_template_hash="{{args.canary-hash}}"}[1m])' },
                  direction: 'increase',
                  effectSize: { allowedIncrease: 1.1, criticalIncrease: 2 },
                  critical: true,
                },
                {
                  name: 'latency',
                  baseline: { query: 'histogram_quantile(0.99, rate(latency_bucket{pod_template_hash="{{args.stable-hash}}"}[1m]))' },
                  canary: { query: 'histogram_quantile(0.99, rate(latency_bucket{pod_template_hash="{{args.canary-hash}}"}[1m]))' },
                  direction: 'increase',
                  weight: 2,
                },
              ],
              pass: 90,
              marginal: 70,
            },
          },
        },
      ],
      dryRun: [{ metricName: 'web.*' }],
      measurementRetention: [{ metricName: 'success-rate', limit: 20 }],
    },
  };
}

function run(): Obj {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'AnalysisRun',
    metadata: { name: 'shop-7d4b9c6f8-2', namespace: 'shop' },
    spec: {
      args: [
        { name: 'service-name', value: 'shop-canary' },
        { name: 'api-token', valueFrom: { secretKeyRef: { name: 'token-secret', key: 'apiToken' } } },
      ],
      metrics: [
        {
          name: 'success-rate',
          interval: '1m',
          successCondition: 'result[0] >= 0.95',
          provider: { prometheus: { address: 'http://prometheus:9090', query: 'up{service="{{args.service-name}}"}' } },
        },
      ],
      terminate: false,
    },
    status: {
      phase: 'Running',
      startedAt: '2024-05-01T10:00:00Z',
      metricResults: [
        {
          name: 'success-rate',
          phase: 'Running',
          measurements: [{ phase: 'Successful', startedAt: '2024-05-01T10:00:00Z', finishedAt: '2024-05-01T10:00:01Z', value: '[0.99]' }],
          count: 1,
          successful: 1,
          failed: 0,
          inconclusive: 0,
          error: 0,
          consecutiveError: 0,
        },
      ],
      runSummary: { count: 1, successful: 0, failed: 0, inconclusive: 0, error: 0 },
    },
  };
}

/** The object at a field path of `o`. */
function at(o: Obj, path: string): Obj {
  let node: unknown = o;
  for (const segment of parseFieldPath(path)) {
    node = (node as Record<string | number, unknown>)[segment];
    if (typeof node !== 'object' || node === null) throw new Error(`no object at ${path}`);
  }
  return node as Obj;
}

function errorsOf(mutate: (o: Obj) => void, make: () => Obj = base): FieldError[] {
  const o = make();
  mutate(o);
  const kind = o.kind;
  if (kind === 'AnalysisRun') return validateAnalysisRun(o).errors;
  if (kind === 'ClusterAnalysisTemplate') return validateClusterAnalysisTemplate(o).errors;
  return validateAnalysisTemplate(o).errors;
}

function assertError(errors: FieldError[], path: string, message: RegExp): void {
  assert.ok(
    errors.some((e) => e.path === path && message.test(e.message)),
    `expected ${path}: ${String(message)}; got\n${errors.map((e) => `  ${e.path}: ${e.message}`).join('\n')}`,
  );
}

const M0 = 'spec.metrics[0]';
const WEB = 'spec.metrics[1].provider.web';
const JUDGE = 'spec.metrics[2].provider.judge';

describe('validateAnalysisTemplate', () => {
  it('accepts a valid template and returns it', () => {
    const result = validateAnalysisTemplate(base());
    assert.deepEqual(result.errors, []);
    assert.equal(result.analysisTemplate?.spec.metrics.length, 3);
  });

  it("accepts Argo Rollouts' documented template as it is (argoproj.io/v1alpha1)", () => {
    const argo = {
      apiVersion: 'argoproj.io/v1alpha1',
      kind: 'AnalysisTemplate',
      metadata: { name: 'success-rate' },
      spec: {
        args: [{ name: 'service-name' }],
        metrics: [
          {
            name: 'success-rate',
            interval: '5m',
            successCondition: 'result[0] >= 0.95',
            failureLimit: 3,
            provider: {
              prometheus: {
                address: 'http://prometheus.example.com:9090',
                query: 'sum(irate(istio_requests_total{reporter="source",destination_service=~"{{args.service-name}}",response_code!~"5.*"}[5m]))',
              },
            },
          },
        ],
      },
    };
    assert.deepEqual(validateAnalysisTemplate(argo).errors, []);
  });

  it('accepts the judge with one comparison (baseline and canary)', () => {
    const errors = errorsOf((o) => {
      at(o, 'spec.metrics[2].provider').judge = {
        address: 'http://prometheus:9090',
        baseline: { query: 'rate(errors_total{pod_template_hash="{{args.stable-hash}}"}[1m])' },
        canary: { query: 'rate(errors_total{pod_template_hash="{{args.canary-hash}}"}[1m])' },
        direction: 'increase',
      };
    });
    assert.deepEqual(errors, []);
  });

  it('drops nulls as the API server does', () => {
    const result = validateAnalysisTemplate({ ...base(), spec: { ...(base().spec as Obj), dryRun: null } });
    assert.deepEqual(result.errors, []);
    assert.equal(result.analysisTemplate?.spec.dryRun, undefined);
  });

  it('never throws, whatever it is given', () => {
    const cyclic: Obj = base();
    at(cyclic, 'spec').self = cyclic;
    for (const input of [null, undefined, 'AnalysisTemplate', 42, [], {}, { spec: { metrics: 'x' } }, { spec: { metrics: [null, 1, { provider: [] }] } }, cyclic]) {
      const result = validateAnalysisTemplate(input);
      assert.ok(result.errors.length > 0, JSON.stringify(input === cyclic ? 'cyclic' : input));
    }
  });

  // One rule each: mutation → the field path and message expected.
  const rules: [string, (o: Obj) => void, string, RegExp][] = [
    ['apiVersion', (o) => (o.apiVersion = 'weir.dev/v1'), 'apiVersion', /must be weir\.dev\/v1alpha1/],
    ['kind', (o) => (o.kind = 'Template'), 'kind', /must be "AnalysisTemplate"/],
    ['metadata.name required', (o) => delete at(o, 'metadata').name, 'metadata.name', /required/],
    ['metrics required', (o) => delete at(o, 'spec').metrics, 'spec.metrics', /required/],
    ['at least one metric', (o) => (at(o, 'spec').metrics = []), 'spec.metrics', /must list at least one metric/],
    ['metric names unique', (o) => (at(o, 'spec.metrics[1]').name = 'success-rate'), 'spec.metrics[1].name', /duplicate metric name "success-rate" \(also metrics\[0\]\)/],
    ['metric name not empty', (o) => (at(o, M0).name = ''), `${M0}.name`, /must not be empty/],
    ['a provider', (o) => (at(o, M0).provider = {}), `${M0}.provider`, /must set one provider: prometheus, web or judge/],
    ['exactly one provider', (o) => (at(o, `${M0}.provider`).web = { url: 'http://x' }), `${M0}.provider`, /must set exactly one provider, found prometheus and web/],
    ['unsupported provider', (o) => (at(o, M0).provider = { job: { spec: {} } }), `${M0}.provider.job`, /the job provider is not supported by Weir: use prometheus, web or judge/],
    [
      'sigv4 refused',
      (o) => (at(o, `${M0}.provider.prometheus`).authentication = { sigv4: { region: 'eu-west-1' } }),
      `${M0}.provider.prometheus.authentication.sigv4`,
      /SigV4 signing \(Amazon Managed Prometheus\) is not supported by Weir: use oauth2, or headers with a token/,
    ],
    [
      'oauth2 complete',
      (o) => (at(o, `${M0}.provider.prometheus`).authentication = { oauth2: { tokenUrl: 'https://idp/token', clientId: 'weir' } }),
      `${M0}.provider.prometheus.authentication.oauth2.clientSecret`,
      /required for OAuth2 client credentials/,
    ],
    [
      'oauth2 tokenUrl a URL',
      (o) => (at(o, `${M0}.provider.prometheus`).authentication = { oauth2: { tokenUrl: 'idp/token', clientId: 'weir', clientSecret: 's' } }),
      `${M0}.provider.prometheus.authentication.oauth2.tokenUrl`,
      /must be an http:\/\/ or https:\/\/ URL/,
    ],
    ['interval a duration', (o) => (at(o, M0).interval = '5 minutes'), `${M0}.interval`, /invalid duration "5 minutes"/],
    ['interval with a unit', (o) => (at(o, M0).interval = '300'), `${M0}.interval`, /must be a Go duration with a unit, such as "300s"/],
    ['interval above 0', (o) => (at(o, M0).interval = '0s'), `${M0}.interval`, /must be at least 1ms/],
    ['initialDelay not negative', (o) => (at(o, M0).initialDelay = '-1m'), `${M0}.initialDelay`, /must not be negative/],
    ['count not negative', (o) => (at(o, M0).count = -1), `${M0}.count`, /must not be negative/],
    ['count a number', (o) => (at(o, M0).count = 'three'), `${M0}.count`, /must be a whole number or an \{\{args\.<name>\}\} placeholder/],
    ['failureLimit -1 or more', (o) => (at(o, M0).failureLimit = '-2'), `${M0}.failureLimit`, /must be -1 \(no limit\) or more/],
    [
      'failureLimit -1 only with consecutiveSuccessLimit',
      (o) => (at(o, M0).failureLimit = -1),
      `${M0}.failureLimit`,
      /-1 \(no failure limit\) needs a consecutiveSuccessLimit above 0: the two cannot both be off/,
    ],
    ['consecutiveSuccessLimit not negative', (o) => (at(o, M0).consecutiveSuccessLimit = -1), `${M0}.consecutiveSuccessLimit`, /must not be negative/],
    [
      'count within reach of consecutiveSuccessLimit',
      (o) => Object.assign(at(o, M0), { failureLimit: 1, consecutiveSuccessLimit: 3 }),
      `${M0}.count`,
      /must be at least failureLimit \+ consecutiveSuccessLimit \(1 \+ 3\): fewer measurements could never reach it/,
    ],
    ['inconclusiveLimit not negative', (o) => (at(o, M0).inconclusiveLimit = -2), `${M0}.inconclusiveLimit`, /must not be negative/],
    ['consecutiveErrorLimit not negative', (o) => (at(o, M0).consecutiveErrorLimit = -1), `${M0}.consecutiveErrorLimit`, /must not be negative/],
    ['failureLimit within count', (o) => (at(o, M0).failureLimit = 4), `${M0}.failureLimit`, /must not be greater than count \(3\)/],
    ['inconclusiveLimit within count', (o) => (at(o, M0).inconclusiveLimit = 5), `${M0}.inconclusiveLimit`, /must not be greater than count \(3\)/],
    ['interval with count > 1', (o) => delete at(o, M0).interval, `${M0}.interval`, /required when count is greater than 1 \(count is 3\)/],
    [
      'placeholders name declared arguments',
      (o) => (at(o, `${M0}.provider.prometheus`).query = 'up{svc="{{args.svc}}"}'),
      `${M0}.provider.prometheus.query`,
      /refers to \{\{args\.svc\}\}, which the template does not declare: add it to spec\.args/,
    ],
    ['only args placeholders', (o) => (at(o, M0).successCondition = 'result[0] >= {{threshold}}'), `${M0}.successCondition`, /\{\{threshold\}\} is not an argument placeholder/],
    ['placeholders closed', (o) => (at(o, `${M0}.provider.prometheus`).query = 'up{svc="{{args.service-name"}'), `${M0}.provider.prometheus.query`, /has "\{\{" at position 8 without a closing "\}\}"/],
    ['prometheus address a URL', (o) => (at(o, `${M0}.provider.prometheus`).address = 'prometheus:9090'), `${M0}.provider.prometheus.address`, /must be an http:\/\/ or https:\/\/ URL/],
    ['prometheus address required', (o) => delete at(o, `${M0}.provider.prometheus`).address, `${M0}.provider.prometheus.address`, /required/],
    ['prometheus query not empty', (o) => (at(o, `${M0}.provider.prometheus`).query = ' '), `${M0}.provider.prometheus.query`, /must not be empty/],
    ['prometheus timeout not negative', (o) => (at(o, `${M0}.provider.prometheus`).timeout = -1), `${M0}.provider.prometheus.timeout`, /must not be negative/],
    [
      'rangeQuery step a duration',
      (o) => (at(o, `${M0}.provider.prometheus`).rangeQuery = { start: 'now() - duration("5m")', end: 'now()', step: 'often' }),
      `${M0}.provider.prometheus.rangeQuery.step`,
      /invalid duration "often"/,
    ],
    ['header key not empty', (o) => (at(o, `${M0}.provider.prometheus.headers[0]`).key = ''), `${M0}.provider.prometheus.headers[0].key`, /must not be empty/],
    ['web url a URL', (o) => (at(o, WEB).url = 'example/measure'), `${WEB}.url`, /must be an http:\/\/ or https:\/\/ URL/],
    ['web no body with GET', (o) => (at(o, WEB).body = '{}'), `${WEB}.body`, /must not be set for a GET request: set method to POST or PUT/],
    ['web body or jsonBody', (o) => Object.assign(at(o, WEB), { method: 'POST', body: 'x', jsonBody: { a: 1 } }), `${WEB}.jsonBody`, /must set either body or jsonBody, not both/],
    ['web method', (o) => (at(o, WEB).method = 'DELETE'), `${WEB}.method`, /must be one of "GET", "POST" or "PUT"/],
    ['web timeoutSeconds an integer', (o) => (at(o, WEB).timeoutSeconds = '10'), `${WEB}.timeoutSeconds`, /must be an integer/],
    ['judge comparisons', (o) => delete at(o, JUDGE).metrics, JUDGE, /must set baseline and canary \(one comparison\) or metrics \(several\)/],
    ['judge one form', (o) => (at(o, JUDGE).baseline = { query: 'up' }), `${JUDGE}.metrics`, /not both/],
    [
      'judge canary with baseline',
      (o) => {
        const judge = at(o, JUDGE);
        delete judge.metrics;
        judge.baseline = { query: 'up' };
      },
      `${JUDGE}.canary`,
      /required with baseline/,
    ],
    ['judge queries not empty', (o) => (at(o, `${JUDGE}.metrics[0].canary`).query = ''), `${JUDGE}.metrics[0].canary.query`, /must not be empty/],
    ['judge comparison names unique', (o) => (at(o, `${JUDGE}.metrics[1]`).name = 'errors'), `${JUDGE}.metrics[1].name`, /duplicate comparison name "errors"/],
    ['judge pass in 0..100', (o) => (at(o, JUDGE).pass = 101), `${JUDGE}.pass`, /must be between 0 and 100/],
    ['judge marginal not above pass', (o) => (at(o, JUDGE).marginal = 95), `${JUDGE}.marginal`, /must not be greater than pass \(90\)/],
    ['judge pass not below the default marginal', (o) => Object.assign(at(o, JUDGE), { pass: 60, marginal: undefined }), `${JUDGE}.pass`, /must not be less than marginal \(75, the default\)/],
    ['judge weight above 0', (o) => (at(o, `${JUDGE}.metrics[1]`).weight = 0), `${JUDGE}.metrics[1].weight`, /must be greater than 0/],
    ['judge direction', (o) => (at(o, `${JUDGE}.metrics[0]`).direction = 'up'), `${JUDGE}.metrics[0].direction`, /must be one of "increase", "decrease" or "either"/],
    ['judge allowedIncrease at least 1', (o) => (at(o, `${JUDGE}.metrics[0].effectSize`).allowedIncrease = 0.9), `${JUDGE}.metrics[0].effectSize.allowedIncrease`, /must be at least 1/],
    [
      'judge criticalIncrease at least allowedIncrease',
      (o) => (at(o, `${JUDGE}.metrics[0].effectSize`).criticalIncrease = 1.05),
      `${JUDGE}.metrics[0].effectSize.criticalIncrease`,
      /must be at least allowedIncrease \(1\.1\)/,
    ],
    ['judge allowedDecrease in (0, 1]', (o) => (at(o, `${JUDGE}.metrics[0].effectSize`).allowedDecrease = 1.5), `${JUDGE}.metrics[0].effectSize.allowedDecrease`, /must be above 0 and at most 1/],
    ['judge direction per comparison', (o) => (at(o, JUDGE).direction = 'increase'), `${JUDGE}.direction`, /applies to baseline and canary only/],
    ['judge window a duration', (o) => (at(o, JUDGE).window = 'an hour'), `${JUDGE}.window`, /invalid duration "an hour"/],
    ['judge takes no conditions', (o) => (at(o, 'spec.metrics[2]').successCondition = 'result > 90'), 'spec.metrics[2].successCondition', /must not be set with the judge provider/],
    ['argument names unique', (o) => (at(o, 'spec.args[1]').name = 'service-name'), 'spec.args[1].name', /duplicate argument "service-name" \(also args\[0\]\)/],
    ['value or valueFrom', (o) => (at(o, 'spec.args[2]').value = 'x'), 'spec.args[2]', /must set either value or valueFrom, not both/],
    ['valueFrom a source', (o) => (at(o, 'spec.args[2]').valueFrom = {}), 'spec.args[2].valueFrom', /must set secretKeyRef or fieldRef/],
    ['secretKeyRef name', (o) => (at(o, 'spec.args[2].valueFrom.secretKeyRef').name = 'Token_Secret'), 'spec.args[2].valueFrom.secretKeyRef.name', /DNS-1123 subdomain/],
    ['secretKeyRef key', (o) => (at(o, 'spec.args[2].valueFrom.secretKeyRef').key = 'api token'), 'spec.args[2].valueFrom.secretKeyRef.key', /must be a Secret key/],
    [
      'fieldRef path',
      (o) => (at(o, 'spec.args[3]').valueFrom = { fieldRef: { fieldPath: 'metadata.labels.env' } }),
      'spec.args[3].valueFrom.fieldRef.fieldPath',
      /must be metadata\.name, metadata\.namespace/,
    ],
    ['dryRun matches a metric', (o) => (at(o, 'spec.dryRun[0]').metricName = 'latency'), 'spec.dryRun[0].metricName', /matches no metric \(metrics: success-rate, webmetric, judge\)/],
    ['dryRun a regular expression', (o) => (at(o, 'spec.dryRun[0]').metricName = 'web('), 'spec.dryRun[0].metricName', /must be a regular expression/],
    ['measurementRetention matches a metric', (o) => (at(o, 'spec.measurementRetention[0]').metricName = 'errors'), 'spec.measurementRetention[0].metricName', /matches no metric/],
    ['measurementRetention limit not negative', (o) => (at(o, 'spec.measurementRetention[0]').limit = -1), 'spec.measurementRetention[0].limit', /must not be negative/],
    ['unknown fields', (o) => (at(o, M0).intervall = '1m'), `${M0}.intervall`, /unknown field \(did you mean "interval"\?\)/],
  ];
  for (const [name, mutate, path, message] of rules) {
    it(`reports ${name}`, () => {
      assertError(errorsOf(mutate), path, message);
    });
  }

  it("reports every one of Argo's providers Weir does not run", () => {
    for (const name of UNSUPPORTED_PROVIDERS) {
      assertError(
        errorsOf((o) => (at(o, M0).provider = { [name]: {} })),
        `${M0}.provider.${name}`,
        /not supported by Weir/,
      );
    }
  });

  it('accepts placeholders for counts and limits, checked once resolved', () => {
    const errors = errorsOf((o) => {
      at(o, 'spec').args = [...(at(o, 'spec').args as Obj[]), { name: 'count', value: '3' }];
      Object.assign(at(o, M0), { count: '{{args.count}}', failureLimit: '{{ args.count }}' });
    });
    assert.deepEqual(errors, []);
  });
});

describe('validateAnalysisTemplate with a condition checker', () => {
  const checker: ConditionChecker = (source) => (source.includes('>>') ? { message: 'unexpected token ">"', position: source.indexOf('>>') + 1 } : undefined);

  it('reports a condition that does not parse at its field, with the position', () => {
    const o = base();
    at(o, M0).successCondition = 'result[0] >> 0.95';
    at(o, M0).failureCondition = 'result[0] < 0.5';
    const { errors } = validateAnalysisTemplate(o, checker);
    assert.deepEqual(errors, [{ path: `${M0}.successCondition`, message: 'unexpected token ">" at position 11' }]);
  });

  it('hands every condition to the checker, and a condition with a placeholder to none (the run checks it resolved)', () => {
    const seen: string[] = [];
    const o = base();
    at(o, 'spec').args = [...(at(o, 'spec').args as Obj[]), { name: 'threshold', value: '0.9' }];
    at(o, M0).failureCondition = 'result[0] < {{args.threshold}}';
    assert.deepEqual(
      validateAnalysisTemplate(o, (source) => {
        seen.push(source);
        return undefined;
      }).errors,
      [],
    );
    assert.deepEqual(seen, ['result[0] >= 0.95', "result == 'true'"]);
  });

  it('checks no condition without a checker', () => {
    const o = base();
    at(o, M0).successCondition = 'result[0] >> 0.95';
    assert.deepEqual(validateAnalysisTemplate(o).errors, []);
  });
});

describe('validateClusterAnalysisTemplate', () => {
  const cluster = (): Obj => ({ ...base(), kind: 'ClusterAnalysisTemplate', metadata: { name: 'canary-health' } });

  it('accepts a valid ClusterAnalysisTemplate and returns it', () => {
    const result = validateClusterAnalysisTemplate(cluster());
    assert.deepEqual(result.errors, []);
    assert.equal(result.clusterAnalysisTemplate?.kind, 'ClusterAnalysisTemplate');
  });

  it('checks the spec as a template', () => {
    assertError(
      errorsOf((o) => (at(o, 'spec.metrics[1]').name = 'success-rate'), cluster),
      'spec.metrics[1].name',
      /duplicate metric name/,
    );
  });

  it('reports the kind', () => {
    assertError(validateClusterAnalysisTemplate(base()).errors, 'kind', /must be "ClusterAnalysisTemplate"/);
  });
});

describe('validateAnalysisRun', () => {
  it('accepts a valid AnalysisRun with its status and returns it', () => {
    const result = validateAnalysisRun(run());
    assert.deepEqual(result.errors, []);
    assert.equal(result.analysisRun?.status?.phase, 'Running');
  });

  const rules: [string, (o: Obj) => void, string, RegExp][] = [
    ['resolved arguments', (o) => delete at(o, 'spec.args[0]').value, 'spec.args[0].value', /required: an AnalysisRun's arguments carry their values/],
    ['no fieldRef left', (o) => (at(o, 'spec.args[0]').valueFrom = { fieldRef: { fieldPath: 'metadata.name' } }), 'spec.args[0].valueFrom.fieldRef', /must be resolved/],
    [
      'placeholders name spec.args',
      (o) => (at(o, 'spec.metrics[0].provider.prometheus').query = 'up{svc="{{args.svc}}"}'),
      'spec.metrics[0].provider.prometheus.query',
      /refers to \{\{args\.svc\}\}, which spec\.args does not set/,
    ],
    ['terminate a boolean', (o) => (at(o, 'spec').terminate = 'yes'), 'spec.terminate', /must be a boolean/],
    ['status phase', (o) => (at(o, 'status').phase = 'Done'), 'status.phase', /must be one of "Pending", "Running", "Successful", "Failed", "Error" or "Inconclusive"/],
    ['measurement startedAt', (o) => delete at(o, 'status.metricResults[0].measurements[0]').startedAt, 'status.metricResults[0].measurements[0].startedAt', /required/],
    ['measurement times', (o) => (at(o, 'status.metricResults[0].measurements[0]').finishedAt = 'yesterday'), 'status.metricResults[0].measurements[0].finishedAt', /RFC 3339/],
    ['counters not negative', (o) => (at(o, 'status.metricResults[0]').failed = -1), 'status.metricResults[0].failed', /must not be negative/],
    ['metrics as in a template', (o) => (at(o, 'spec.metrics[0]').provider = {}), 'spec.metrics[0].provider', /must set one provider/],
  ];
  for (const [name, mutate, path, message] of rules) {
    it(`reports ${name}`, () => {
      assertError(errorsOf(mutate, run), path, message);
    });
  }
});

describe('scanPlaceholders', () => {
  it("finds {{...}} as Argo's fasttemplate does: the tag trimmed, args.<name> named", () => {
    assert.deepEqual(scanPlaceholders('a{{ args.x }}b{{other}}c{{args.y'), {
      placeholders: [
        { start: 1, end: 13, tag: 'args.x', arg: 'x' },
        { start: 14, end: 23, tag: 'other' },
      ],
      unterminated: 24,
    });
  });
});

describe('analysis CRDs', () => {
  type Node = Record<string, unknown>;
  const versionOf = (crd: Node): Node => ((crd.spec as { versions: Node[] }).versions[0] ?? {});
  const schemaOf = (crd: Node): Node => (versionOf(crd).schema as { openAPIV3Schema: Node }).openAPIV3Schema;
  const prop = (node: Node, path: string): Node => {
    let n: Node = node;
    for (const part of path.split('.')) n = (part === '[]' ? n.items : (n.properties as Node)[part]) as Node;
    return n;
  };

  it('are generated for the three kinds, after Rollout and GitSource', () => {
    assert.deepEqual(
      CRD_KINDS.map((k) => `${k.plural}.weir.dev.yaml`),
      ['rollouts.weir.dev.yaml', 'gitsources.weir.dev.yaml', 'analysistemplates.weir.dev.yaml', 'clusteranalysistemplates.weir.dev.yaml', 'analysisruns.weir.dev.yaml'],
    );
  });

  it('scope the templates to a namespace and the cluster, the run to a namespace with a status subresource', () => {
    assert.equal((buildCrd(ANALYSIS_TEMPLATE_KIND).spec as Node).scope, 'Namespaced');
    assert.equal((buildCrd(CLUSTER_ANALYSIS_TEMPLATE_KIND).spec as Node).scope, 'Cluster');
    const runCrd = buildCrd(ANALYSIS_RUN_KIND);
    assert.equal((runCrd.spec as Node).scope, 'Namespaced');
    assert.deepEqual(versionOf(runCrd).subresources, { status: {} });
    assert.equal(versionOf(buildCrd(ANALYSIS_TEMPLATE_KIND)).subresources, undefined);
  });

  it('use short names that do not collide with Argo Rollouts (at, cat, ar)', () => {
    assert.deepEqual([ANALYSIS_TEMPLATE_KIND, CLUSTER_ANALYSIS_TEMPLATE_KIND, ANALYSIS_RUN_KIND].map((k) => k.shortNames), [['wat'], ['wcat'], ['war']]);
  });

  it('print the run status and age', () => {
    const columns = versionOf(buildCrd(ANALYSIS_RUN_KIND)).additionalPrinterColumns as Node[];
    assert.deepEqual(
      columns.map((c) => [c.name, c.jsonPath, c.priority]),
      [
        ['Status', '.status.phase', undefined],
        ['Message', '.status.message', 1],
        ['Age', '.metadata.creationTimestamp', undefined],
      ],
    );
  });

  it('keep counts and limits int-or-string and phases enums', () => {
    const schema = schemaOf(buildCrd(ANALYSIS_RUN_KIND));
    for (const field of ['count', 'failureLimit', 'inconclusiveLimit', 'consecutiveErrorLimit', 'consecutiveSuccessLimit']) {
      const node = prop(schema, `spec.metrics.[].${field}`);
      assert.equal(node['x-kubernetes-int-or-string'], true, field);
      assert.deepEqual(node.anyOf, [{ type: 'integer' }, { type: 'string' }], field);
    }
    assert.deepEqual(prop(schema, 'status.phase').enum, ['Pending', 'Running', 'Successful', 'Failed', 'Error', 'Inconclusive']);
    assert.equal(prop(schema, 'spec.metrics.[].provider.job')['x-kubernetes-preserve-unknown-fields'], true);
    assert.equal(prop(schema, 'spec.metrics.[].provider.judge.pass').type, 'number');
  });
});
