// The manifests of a demo application as a repository holds them: a canary
// Rollout with an HTTPRoute, its Services, and a ConfigMap its pods read;
// analysedAppFiles adds a step analysis of the canary's success rate.
import { dump } from 'js-yaml';
import { successRateTemplate, type SuccessRateOptions } from './analysis.ts';
import type { TestSandbox } from './sandbox.ts';

export interface AppOptions {
  name: string;
  namespace: string;
  version: string;
  greeting: string;
  /** Extra steps replace the default [setWeight 50, pause {}]. */
  steps?: unknown[];
  /** Environment of the app's container (e.g. ERROR_RATE, LATENCY_MS). */
  env?: Record<string, string>;
}

export function appFiles(o: AppOptions): Record<string, string> {
  const steps = JSON.stringify(o.steps ?? [{ setWeight: 50 }, { pause: {} }]);
  const env = o.env === undefined ? '' : `\n          env: ${JSON.stringify(Object.entries(o.env).map(([name, value]) => ({ name, value })))}`;
  return {
    [`apps/${o.name}/config.yaml`]: `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${o.name}-config
  namespace: ${o.namespace}
data:
  GREETING: "${o.greeting}"
`,
    [`apps/${o.name}/services.yaml`]: `apiVersion: v1
kind: Service
metadata:
  name: ${o.name}-stable
  namespace: ${o.namespace}
  annotations:
    sandbox.weir.dev/traffic-rate: "20"
spec:
  selector: { app: ${o.name} }
  ports: [{ name: http, port: 80, targetPort: http }]
---
apiVersion: v1
kind: Service
metadata:
  name: ${o.name}-canary
  namespace: ${o.namespace}
spec:
  selector: { app: ${o.name} }
  ports: [{ name: http, port: 80, targetPort: http }]
`,
    [`apps/${o.name}/route.yaml`]: `apiVersion: gateway.networking.k8s.io/v1
kind: HTTPRoute
metadata:
  name: ${o.name}
  namespace: ${o.namespace}
spec:
  rules:
    - backendRefs:
        - { name: ${o.name}-stable, port: 80, weight: 100 }
        - { name: ${o.name}-canary, port: 80, weight: 0 }
`,
    [`apps/${o.name}/rollout.yaml`]: `apiVersion: weir.dev/v1alpha1
kind: Rollout
metadata:
  name: ${o.name}
  namespace: ${o.namespace}
spec:
  replicas: 2
  selector: { matchLabels: { app: ${o.name} } }
  template:
    metadata:
      labels: { app: ${o.name} }
      annotations: { prometheus.io/scrape: "true", prometheus.io/port: "8080" }
    spec:
      terminationGracePeriodSeconds: 2
      containers:
        - name: app
          image: weir-demo:${o.version}
          ports: [{ name: http, containerPort: 8080 }]
          envFrom: [{ configMapRef: { name: ${o.name}-config } }]${env}
          readinessProbe: { httpGet: { path: /readyz, port: http }, periodSeconds: 1 }
  strategy:
    canary:
      canaryService: ${o.name}-canary
      stableService: ${o.name}-stable
      scaleDownDelaySeconds: 2
      abortScaleDownDelaySeconds: 2
      trafficRouting:
        plugins:
          argoproj-labs/gatewayAPI: { httpRoute: ${o.name}, namespace: ${o.namespace} }
      steps: ${steps}
`,
  };
}

export interface AnalysedAppOptions extends Omit<AppOptions, 'steps'> {
  /** Prometheus (or a relay in front of it). */
  prometheus: string;
  /** The success-rate metric's timing and limits. */
  metric: NonNullable<SuccessRateOptions['metric']>;
}

/** The app with steps [setWeight 20, analysis of the canary's success rate] and its AnalysisTemplate `<name>-success` in apps/<name>/template.yaml. */
export function analysedAppFiles(o: AnalysedAppOptions): Record<string, string> {
  const steps = [{ setWeight: 20 }, { analysis: { templates: [{ templateName: `${o.name}-success` }], args: [{ name: 'hash', valueFrom: { podTemplateHashValue: 'Latest' } }] } }];
  const { prometheus, metric, ...app } = o;
  const template = successRateTemplate({ namespace: o.namespace, name: `${o.name}-success`, address: prometheus, label: 'rollouts_pod_template_hash', arg: 'hash', metric });
  return { ...appFiles({ ...app, steps }), [`apps/${o.name}/template.yaml`]: dump(template) };
}

/** The GREETING the app's ConfigMap holds in the cluster (what its pods serve). */
export async function appGreeting(sb: TestSandbox, namespace: string, app: string): Promise<string | undefined> {
  return (await sb.core.readNamespacedConfigMap({ name: `${app}-config`, namespace })).data?.GREETING;
}
