// Manifests for the demo app, as integration tests deploy it.
import type { V1Deployment, V1Namespace, V1PodTemplateSpec, V1Service } from '@kubernetes/client-node';

export interface DemoOptions {
  name: string;
  namespace: string;
  replicas: number;
  version?: string;
  env?: Record<string, string>;
  /** Extra pod labels (the selector is app=<name>). */
  labels?: Record<string, string>;
}

export function namespace(name: string): V1Namespace {
  return { apiVersion: 'v1', kind: 'Namespace', metadata: { name, labels: { 'test.weir.dev/suite': 'integration' } } };
}

export function demoDeployment(o: DemoOptions): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: o.name } },
      template: demoPodTemplate({ ...o, terminationGracePeriodSeconds: 5 }),
    },
  };
}

/** The demo app's pod template: scraped by Prometheus, ready once /readyz answers. */
export function demoPodTemplate(o: { name: string; version?: string; env?: Record<string, string>; labels?: Record<string, string>; terminationGracePeriodSeconds: number }): V1PodTemplateSpec {
  return {
    metadata: {
      labels: { app: o.name, ...o.labels },
      annotations: { 'prometheus.io/scrape': 'true', 'prometheus.io/port': '8080' },
    },
    spec: {
      terminationGracePeriodSeconds: o.terminationGracePeriodSeconds,
      containers: [
        {
          name: 'app',
          image: `weir-demo:${o.version ?? 'v1'}`,
          ports: [{ name: 'http', containerPort: 8080 }],
          ...(o.env ? { env: Object.entries(o.env).map(([name, value]) => ({ name, value })) } : {}),
          readinessProbe: { httpGet: { path: '/readyz', port: 'http' }, periodSeconds: 1 },
        },
      ],
    },
  };
}

export function demoService(o: { name: string; namespace: string; selector: Record<string, string>; trafficRate?: number }): V1Service {
  return {
    apiVersion: 'v1',
    kind: 'Service',
    metadata: {
      name: o.name,
      namespace: o.namespace,
      ...(o.trafficRate === undefined ? {} : { annotations: { 'sandbox.weir.dev/traffic-rate': String(o.trafficRate) } }),
    },
    spec: { selector: o.selector, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
  };
}
