// The analysis kinds: AnalysisTemplate, ClusterAnalysisTemplate and
// AnalysisRun, with Argo Rollouts' v1alpha1 field names and semantics
// (pkg/apis/rollouts/v1alpha1/analysis_types.go), plus Weir's own `judge`
// provider.
//
// What Weir takes from Argo unchanged:
// - a metric measures every `interval` (a Go duration), after `initialDelay`;
//   `count` measurements in all (without interval and count: one; with only
//   an interval: until the run is terminated or fails);
// - a metric is Failed when failed > failureLimit (default 0), Inconclusive
//   when inconclusive > inconclusiveLimit (default 0), Error when
//   consecutiveError > consecutiveErrorLimit (default 4);
// - `dryRun[].metricName` and `measurementRetention[].metricName` are regular
//   expressions matched against metric names (unanchored, as Go's
//   regexp.MatchString); each rule must match at least one metric;
// - measurementRetention keeps the last `limit` measurements of a metric
//   (0 or no rule: the last 10);
// - `{{args.<name>}}` placeholders anywhere in a metric are replaced by the
//   argument's value when the run measures.
//
// Providers: `prometheus` and `web` as Argo's; Argo's other providers (job,
// datadog, ...) are in the schema so that a manifest using them is told they
// are not supported rather than that the field is unknown. `judge` is Weir's
// statistical comparison of the canary against the baseline (see
// JudgeProvider below).
import Type, { type Static } from 'typebox';
import { ObjectMeta, Opaque, StringMap } from './common.ts';

/** Defaults Argo applies to a metric and a run (analysis/analysis.go, utils/defaults). */
export const ANALYSIS_DEFAULTS = {
  failureLimit: 0,
  inconclusiveLimit: 0,
  consecutiveErrorLimit: 4,
  /** Measurements kept per metric when no measurementRetention rule gives a limit above 0. */
  measurementRetention: 10,
  /** After an Error measurement the next one is taken this long after it, whatever the interval. */
  errorRetryInterval: '10s',
  /** web provider: request timeout in seconds. */
  webTimeoutSeconds: 10,
} as const;

/** Defaults of Weir's judge provider. */
export const JUDGE_DEFAULTS = {
  window: '5m',
  step: '30s',
  pass: 95,
  marginal: 75,
  direction: 'either',
  weight: 1,
} as const;

// ---------------------------------------------------------------------------
// Arguments

export const SecretKeyRef = Type.Object({
  name: Type.String({ description: 'name of a Secret in the namespace of the AnalysisRun' }),
  key: Type.String({ description: 'key of the Secret whose value is the argument' }),
});

/** An argument of a template or run (Argo's Argument): a value, or where to read it from. */
export const Argument = Type.Object({
  name: Type.String(),
  value: Type.Optional(Type.String({ description: 'the value; in a template, the default a Rollout may override' })),
  valueFrom: Type.Optional(
    Type.Object({
      secretKeyRef: Type.Optional(SecretKeyRef),
      fieldRef: Type.Optional(Type.Object({ fieldPath: Type.String({ description: "a field of the Rollout, e.g. metadata.labels['env']" }) })),
    }),
  ),
});
export type Argument = Static<typeof Argument>;

// ---------------------------------------------------------------------------
// Providers

/** An integer, or a string holding one (or an {{args.x}} placeholder that resolves to one). */
const intOrString = (description: string) => Type.Union([Type.Integer(), Type.String()], { 'x-kubernetes-int-or-string': true, description });

const DurationString = (description: string) => Type.String({ description: `${description}: a Go duration such as "30s" or "5m"` });

export const Header = Type.Object({ key: Type.String(), value: Type.String() });
export type Header = Static<typeof Header>;

/** OAuth2 client credentials (RFC 6749 §4.4): a token from tokenUrl, sent as a Bearer token. */
export const OAuth2Config = Type.Object(
  {
    tokenUrl: Type.Optional(Type.String({ description: 'the token endpoint' })),
    clientId: Type.Optional(Type.String()),
    clientSecret: Type.Optional(Type.String({ description: 'usually {{args.x}} from a Secret (valueFrom.secretKeyRef)' })),
    scopes: Type.Optional(Type.Array(Type.String())),
  },
  { description: 'get a token with client credentials and send it as Authorization: Bearer' },
);

export const PrometheusProvider = Type.Object({
  address: Type.String({ description: 'base URL of the Prometheus server, e.g. http://prometheus.monitoring:9090' }),
  query: Type.String({ description: 'the PromQL query; `result` in the conditions is its value (a vector becomes a list)' }),
  timeout: Type.Optional(Type.Integer({ minimum: 0, description: 'query timeout in seconds' })),
  insecure: Type.Optional(Type.Boolean({ description: 'skip TLS verification' })),
  headers: Type.Optional(Type.Array(Header, { description: 'HTTP headers sent with the query' })),
  authentication: Type.Optional(
    Type.Object({
      sigv4: Type.Optional(
        Type.Object({
          region: Type.Optional(Type.String()),
          profile: Type.Optional(Type.String()),
          roleArn: Type.Optional(Type.String()),
        }),
      ),
      oauth2: Type.Optional(OAuth2Config),
    }),
  ),
  rangeQuery: Type.Optional(
    Type.Object(
      {
        start: Type.String({ description: 'start of the range, an expression such as now() - duration("5m")' }),
        end: Type.String({ description: 'end of the range, e.g. now()' }),
        step: Type.String({ description: 'resolution, a Go duration such as "1m"' }),
      },
      { description: 'run the query as a range query (query_range)' },
    ),
  ),
});
export type PrometheusProvider = Static<typeof PrometheusProvider>;

export const WebProvider = Type.Object({
  url: Type.String(),
  method: Type.Optional(Type.Union([Type.Literal('GET'), Type.Literal('POST'), Type.Literal('PUT')], { description: 'default GET' })),
  headers: Type.Optional(Type.Array(Header)),
  body: Type.Optional(Type.String({ description: 'request body (POST and PUT only)' })),
  jsonBody: Type.Optional(Opaque('request body as JSON (POST and PUT only; sets Content-Type: application/json)')),
  timeoutSeconds: Type.Optional(Type.Integer({ minimum: 0, description: `request timeout in seconds (default ${ANALYSIS_DEFAULTS.webTimeoutSeconds})` })),
  jsonPath: Type.Optional(Type.String({ description: 'JSONPath of the result in the response, e.g. "{$.data.ok}" (default: the whole body)' })),
  insecure: Type.Optional(Type.Boolean({ description: 'skip TLS verification' })),
  authentication: Type.Optional(Type.Object({ oauth2: Type.Optional(OAuth2Config) })),
});
export type WebProvider = Static<typeof WebProvider>;

export const JudgeQuery = Type.Object({ query: Type.String({ description: 'PromQL query whose samples over the window describe this version' }) });

export const JudgeDirection = Type.Union([Type.Literal('increase'), Type.Literal('decrease'), Type.Literal('either')], {
  description: 'which change of the canary against the baseline is a regression: increase (error rate, latency), decrease (throughput, success rate) or either (the default)',
});
export type JudgeDirection = Static<typeof JudgeDirection>;

export const JudgeEffectSize = Type.Object(
  {
    allowedIncrease: Type.Optional(Type.Number({ description: 'canary mean / baseline mean up to which a significant increase is tolerated (at least 1; default 1)' })),
    allowedDecrease: Type.Optional(Type.Number({ description: 'canary mean / baseline mean down to which a significant decrease is tolerated (above 0, at most 1; default 1)' })),
    criticalIncrease: Type.Optional(Type.Number({ description: 'beyond this ratio an increase fails the whole judgement, as critical does (at least allowedIncrease)' })),
    criticalDecrease: Type.Optional(Type.Number({ description: 'below this ratio a decrease fails the whole judgement (above 0, at most allowedDecrease)' })),
  },
  { description: 'how large a statistically significant difference must be to count, as ratios of the means' },
);
export type JudgeEffectSize = Static<typeof JudgeEffectSize>;

/** One compared metric of a judge. */
export const JudgeMetric = Type.Object({
  name: Type.String(),
  baseline: JudgeQuery,
  canary: JudgeQuery,
  direction: Type.Optional(JudgeDirection),
  effectSize: Type.Optional(JudgeEffectSize),
  critical: Type.Optional(Type.Boolean({ description: 'a regression of this metric fails the judgement whatever the score' })),
  weight: Type.Optional(Type.Number({ description: `share of this metric in the score (above 0; default ${JUDGE_DEFAULTS.weight})` })),
});
export type JudgeMetric = Static<typeof JudgeMetric>;

/**
 * Weir's statistical judge (not in Argo): compares samples of the canary
 * with samples of the baseline, metric by metric, over the last `window`
 * (a Prometheus range query at `step` resolution), in the manner of
 * Kayenta's judge:
 *
 * - each metric passes, or regresses when the canary differs from the
 *   baseline significantly, in the regressing `direction`, by more than the
 *   `effectSize` allows;
 * - the score is the weighted share of passing metrics, 0 to 100; the
 *   measurement is Successful at a score of at least `pass`, Inconclusive at
 *   least `marginal`, else Failed; a regressing `critical` metric (or one
 *   past a critical effect size) fails it whatever the score;
 * - too few samples, NaN or an empty query is never a pass: the measurement
 *   is Inconclusive or Error (Weir's rule: never promote on missing data).
 *
 * Either one comparison (`baseline` and `canary`, named after the enclosing
 * metric) or a list of `metrics`. The judge decides the measurement itself:
 * a metric with a judge takes no successCondition or failureCondition.
 */
export const JudgeProvider = Type.Object({
  address: Type.String({ description: 'base URL of the Prometheus server the queries go to' }),
  timeout: Type.Optional(Type.Integer({ minimum: 0, description: 'query timeout in seconds' })),
  headers: Type.Optional(Type.Array(Header)),
  insecure: Type.Optional(Type.Boolean()),
  window: Type.Optional(DurationString(`how far back the samples reach (default ${JUDGE_DEFAULTS.window})`)),
  step: Type.Optional(DurationString(`resolution of the samples (default ${JUDGE_DEFAULTS.step})`)),
  baseline: Type.Optional(JudgeQuery),
  canary: Type.Optional(JudgeQuery),
  direction: Type.Optional(JudgeDirection),
  effectSize: Type.Optional(JudgeEffectSize),
  metrics: Type.Optional(Type.Array(JudgeMetric, { description: 'several comparisons, scored together' })),
  pass: Type.Optional(Type.Number({ minimum: 0, maximum: 100, description: `score from which the measurement is Successful (default ${JUDGE_DEFAULTS.pass})` })),
  marginal: Type.Optional(
    Type.Number({ minimum: 0, maximum: 100, description: `score from which, below pass, the measurement is Inconclusive rather than Failed (default ${JUDGE_DEFAULTS.marginal})` }),
  ),
});
export type JudgeProvider = Static<typeof JudgeProvider>;

/** Providers Weir runs. */
export const SUPPORTED_PROVIDERS = ['prometheus', 'web', 'judge'] as const;
/** Argo Rollouts' providers Weir does not implement. */
export const UNSUPPORTED_PROVIDERS = ['job', 'kayenta', 'datadog', 'wavefront', 'newRelic', 'cloudWatch', 'graphite', 'influxdb', 'skywalking', 'plugin'] as const;

export const MetricProvider = Type.Object({
  prometheus: Type.Optional(PrometheusProvider),
  web: Type.Optional(WebProvider),
  judge: Type.Optional(JudgeProvider),
  job: Type.Optional(Opaque('Argo Rollouts job provider (not supported by Weir)')),
  kayenta: Type.Optional(Opaque('Argo Rollouts Kayenta provider (not supported by Weir; see judge)')),
  datadog: Type.Optional(Opaque('Argo Rollouts Datadog provider (not supported by Weir)')),
  wavefront: Type.Optional(Opaque('Argo Rollouts Wavefront provider (not supported by Weir)')),
  newRelic: Type.Optional(Opaque('Argo Rollouts New Relic provider (not supported by Weir)')),
  cloudWatch: Type.Optional(Opaque('Argo Rollouts CloudWatch provider (not supported by Weir)')),
  graphite: Type.Optional(Opaque('Argo Rollouts Graphite provider (not supported by Weir)')),
  influxdb: Type.Optional(Opaque('Argo Rollouts InfluxDB provider (not supported by Weir)')),
  skywalking: Type.Optional(Opaque('Argo Rollouts SkyWalking provider (not supported by Weir)')),
  plugin: Type.Optional(Opaque('Argo Rollouts metric plugins (not supported by Weir)')),
});
export type MetricProvider = Static<typeof MetricProvider>;

// ---------------------------------------------------------------------------
// Metrics and templates

export const Metric = Type.Object({
  name: Type.String(),
  interval: Type.Optional(DurationString('time between measurements; without it, the metric measures once (or count times)')),
  initialDelay: Type.Optional(DurationString('wait this long after the run starts before the first measurement')),
  count: Type.Optional(
    intOrString('number of measurements; default 1 without interval, unlimited with one'),
  ),
  successCondition: Type.Optional(Type.String({ description: 'expression over `result`: true means the measurement is Successful' })),
  failureCondition: Type.Optional(Type.String({ description: 'expression over `result`: true means the measurement is Failed' })),
  failureLimit: Type.Optional(
    intOrString('failed measurements allowed; the metric fails at failureLimit + 1 (default 0; -1: no limit, with consecutiveSuccessLimit)'),
  ),
  consecutiveSuccessLimit: Type.Optional(
    intOrString(
      'Successful measurements in a row that make the metric Successful at once (default 0: off). With count, reaching count without them is Inconclusive (Failed when failureLimit is -1)',
    ),
  ),
  inconclusiveLimit: Type.Optional(
    intOrString('inconclusive measurements allowed; the metric is Inconclusive at inconclusiveLimit + 1 (default 0)'),
  ),
  consecutiveErrorLimit: Type.Optional(
    intOrString('errors in a row allowed; the metric errs at consecutiveErrorLimit + 1 (default 4)'),
  ),
  provider: MetricProvider,
});
export type Metric = Static<typeof Metric>;

export const DryRun = Type.Object({ metricName: Type.String({ description: 'regular expression: matching metrics run in dry-run mode' }) });
export type DryRun = Static<typeof DryRun>;

export const MeasurementRetention = Type.Object({
  metricName: Type.String({ description: 'regular expression: the metrics this limit applies to' }),
  limit: Type.Integer({ minimum: 0, description: `measurements kept (0: the default, ${ANALYSIS_DEFAULTS.measurementRetention})` }),
});
export type MeasurementRetention = Static<typeof MeasurementRetention>;

export const AnalysisTemplateSpec = Type.Object({
  metrics: Type.Array(Metric),
  args: Type.Optional(Type.Array(Argument)),
  dryRun: Type.Optional(Type.Array(DryRun)),
  measurementRetention: Type.Optional(Type.Array(MeasurementRetention)),
});
export type AnalysisTemplateSpec = Static<typeof AnalysisTemplateSpec>;

export const AnalysisTemplate = Type.Object({
  apiVersion: Type.String(),
  kind: Type.Literal('AnalysisTemplate'),
  metadata: ObjectMeta,
  spec: AnalysisTemplateSpec,
});
export type AnalysisTemplate = Static<typeof AnalysisTemplate>;

export const ClusterAnalysisTemplate = Type.Object({
  apiVersion: Type.String(),
  kind: Type.Literal('ClusterAnalysisTemplate'),
  metadata: ObjectMeta,
  spec: AnalysisTemplateSpec,
});
export type ClusterAnalysisTemplate = Static<typeof ClusterAnalysisTemplate>;

// ---------------------------------------------------------------------------
// Runs

export const AnalysisPhase = Type.Union([
  Type.Literal('Pending'),
  Type.Literal('Running'),
  Type.Literal('Successful'),
  Type.Literal('Failed'),
  Type.Literal('Error'),
  Type.Literal('Inconclusive'),
]);
export type AnalysisPhase = Static<typeof AnalysisPhase>;

/** Phases that end a measurement, a metric or a run (Argo's AnalysisPhase.Completed). */
export const COMPLETED_PHASES: readonly AnalysisPhase[] = ['Successful', 'Failed', 'Error', 'Inconclusive'];

export function isCompletedPhase(phase: AnalysisPhase | undefined): boolean {
  return phase !== undefined && COMPLETED_PHASES.includes(phase);
}

export const AnalysisRunSpec = Type.Object({
  metrics: Type.Array(Metric),
  args: Type.Optional(Type.Array(Argument, { description: 'the arguments, resolved (a secretKeyRef is read when measuring)' })),
  terminate: Type.Optional(Type.Boolean({ description: 'stop the run: no more measurements; metrics not failed end Successful' })),
  dryRun: Type.Optional(Type.Array(DryRun)),
  measurementRetention: Type.Optional(Type.Array(MeasurementRetention)),
});
export type AnalysisRunSpec = Static<typeof AnalysisRunSpec>;

const Timestamp = Type.String({ format: 'date-time' });

export const Measurement = Type.Object({
  phase: AnalysisPhase,
  message: Type.Optional(Type.String()),
  startedAt: Timestamp,
  finishedAt: Type.Optional(Timestamp),
  value: Type.Optional(Type.String({ description: 'the measured value as text, e.g. "[0.97]", "NaN"' })),
  metadata: Type.Optional(StringMap),
  resumeAt: Type.Optional(Type.String({ format: 'date-time', description: 'when to look at an in-flight measurement again' })),
});
export type Measurement = Static<typeof Measurement>;

const Counter = (description: string) => Type.Integer({ minimum: 0, description });

export const MetricResult = Type.Object({
  name: Type.String(),
  phase: AnalysisPhase,
  measurements: Type.Array(Measurement, { description: 'the latest measurements (see measurementRetention)' }),
  message: Type.Optional(Type.String()),
  count: Counter('measurements without Error: successful + failed + inconclusive'),
  successful: Counter('Successful measurements'),
  failed: Counter('Failed measurements'),
  inconclusive: Counter('Inconclusive measurements'),
  error: Counter('Error measurements'),
  consecutiveError: Counter('Error measurements in a row, back to 0 at any other measurement'),
  consecutiveSuccess: Type.Optional(Counter('Successful measurements in a row, back to 0 at any other measurement')),
  dryRun: Type.Optional(Type.Boolean({ description: 'the metric runs in dry-run mode: its result does not count' })),
  metadata: Type.Optional(StringMap),
});
export type MetricResult = Static<typeof MetricResult>;

export const RunSummary = Type.Object({
  count: Counter('metrics'),
  successful: Counter('metrics Successful'),
  failed: Counter('metrics Failed'),
  inconclusive: Counter('metrics Inconclusive'),
  error: Counter('metrics in Error'),
});
export type RunSummary = Static<typeof RunSummary>;

export const AnalysisRunStatus = Type.Object({
  phase: AnalysisPhase,
  message: Type.Optional(Type.String()),
  startedAt: Type.Optional(Timestamp),
  metricResults: Type.Optional(Type.Array(MetricResult)),
  runSummary: Type.Optional(RunSummary),
  dryRunSummary: Type.Optional(RunSummary),
});
export type AnalysisRunStatus = Static<typeof AnalysisRunStatus>;

export const AnalysisRun = Type.Object({
  apiVersion: Type.String(),
  kind: Type.Literal('AnalysisRun'),
  metadata: ObjectMeta,
  spec: AnalysisRunSpec,
  status: Type.Optional(AnalysisRunStatus),
});
export type AnalysisRun = Static<typeof AnalysisRun>;

// ---------------------------------------------------------------------------
// Argument placeholders

/** One `{{...}}` in a text: its tag (trimmed) and, for `{{args.<name>}}`, the argument's name. */
export interface Placeholder {
  /** Index of the opening `{{`. */
  start: number;
  /** Index just after the closing `}}`. */
  end: number;
  /** What is between the braces, trimmed: `args.service-name`. */
  tag: string;
  /** The argument name for `args.<name>` tags (trimmed), else undefined. */
  arg?: string;
}

export interface PlaceholderScan {
  placeholders: Placeholder[];
  /** Index of a `{{` with no `}}` after it, if any (everything after it is text). */
  unterminated?: number;
}

/**
 * The placeholders of a text, as Argo finds them (fasttemplate with `{{` and
 * `}}`): every `{{` up to the next `}}`, the tag between them trimmed;
 * `{{ args.name }}` and `{{args.name}}` are the same placeholder.
 */
export function scanPlaceholders(text: string): PlaceholderScan {
  const placeholders: Placeholder[] = [];
  let from = 0;
  for (;;) {
    const start = text.indexOf('{{', from);
    if (start < 0) return { placeholders };
    const close = text.indexOf('}}', start + 2);
    if (close < 0) return { placeholders, unterminated: start };
    const tag = text.slice(start + 2, close).trim();
    const placeholder: Placeholder = { start, end: close + 2, tag };
    if (tag.startsWith('args.')) placeholder.arg = tag.slice('args.'.length).trim();
    placeholders.push(placeholder);
    from = close + 2;
  }
}

/** Whether a text has a `{{...}}` placeholder (or an unterminated `{{`). */
export function hasPlaceholder(text: string): boolean {
  return text.includes('{{');
}
