// Rollouts of the demo app for end-to-end tests, and ways to wait on them.
import { readFile, readdir } from 'node:fs/promises';
import { PatchStrategy, setHeaderOptions, type KubernetesObject } from '@kubernetes/client-node';
import { loadAll } from 'js-yaml';
import type { CanaryStep, Rollout, RolloutStatus } from '../../src/api/rollout.ts';
import { applyAll } from '../../src/sandbox/bootstrap.ts';
import { demoPodTemplate } from './demo-app.ts';
import { waitFor } from '../../src/util/wait.ts';
import type { TestSandbox } from './sandbox.ts';

export const ROLLOUTS = { group: 'weir.dev', version: 'v1alpha1', plural: 'rollouts' } as const;
export const ROUTES = { group: 'gateway.networking.k8s.io', version: 'v1', plural: 'httproutes' } as const;

/** Installs Weir's CRDs (every file in crds/) into the sandbox. */
export async function installCrds(sb: TestSandbox): Promise<void> {
  const dir = new URL('../../crds/', import.meta.url);
  const files = (await readdir(dir)).filter((f) => f.endsWith('.weir.dev.yaml'));
  const docs: KubernetesObject[] = [];
  for (const f of files) docs.push(...(loadAll(await readFile(new URL(f, dir), 'utf8')) as KubernetesObject[]));
  await applyAll(sb.kc, docs);
  for (const plural of ['rollouts', 'gitsources', 'analysistemplates', 'analysisruns']) {
    await waitFor(
      async () => {
        const list = (await sb.custom.listNamespacedCustomObject({ group: 'weir.dev', version: 'v1alpha1', plural, namespace: 'default' })) as { items?: unknown[] };
        return Array.isArray(list.items);
      },
      { what: `the ${plural} CRD to be served`, timeoutMs: 30_000 },
    );
  }
}

export interface DemoRolloutOptions {
  name: string;
  namespace: string;
  replicas: number;
  steps: CanaryStep[];
  version?: string;
  router?: boolean;
  scaleDownDelaySeconds?: number;
  abortScaleDownDelaySeconds?: number;
}

export function demoRollout(o: DemoRolloutOptions): Rollout {
  return {
    apiVersion: 'weir.dev/v1alpha1',
    kind: 'Rollout',
    metadata: { name: o.name, namespace: o.namespace },
    spec: {
      replicas: o.replicas,
      selector: { matchLabels: { app: o.name } },
      template: demoPodTemplate({ name: o.name, ...(o.version ? { version: o.version } : {}), terminationGracePeriodSeconds: 2 }),
      strategy: {
        canary: {
          canaryService: `${o.name}-canary`,
          stableService: `${o.name}-stable`,
          steps: o.steps,
          ...(o.scaleDownDelaySeconds === undefined ? {} : { scaleDownDelaySeconds: o.scaleDownDelaySeconds }),
          ...(o.abortScaleDownDelaySeconds === undefined ? {} : { abortScaleDownDelaySeconds: o.abortScaleDownDelaySeconds }),
          ...(o.router ? { trafficRouting: { plugins: { 'argoproj-labs/gatewayAPI': { httpRoute: o.name, namespace: o.namespace } } } } : {}),
        },
      },
    },
  };
}

/** The Rollout's Services (stable with traffic when `trafficRate` is set) and, with a router, its HTTPRoute. */
export async function createRolloutNetworking(sb: TestSandbox, o: { name: string; namespace: string; router: boolean; trafficRate?: number }): Promise<void> {
  for (const role of ['stable', 'canary']) {
    await sb.core.createNamespacedService({
      namespace: o.namespace,
      body: {
        metadata: {
          name: `${o.name}-${role}`,
          ...(role === 'stable' && o.trafficRate ? { annotations: { 'sandbox.weir.dev/traffic-rate': String(o.trafficRate) } } : {}),
        },
        spec: { selector: { app: o.name }, ports: [{ name: 'http', port: 80, targetPort: 'http' }] },
      },
    });
  }
  if (o.router) {
    await sb.custom.createNamespacedCustomObject({
      ...ROUTES,
      namespace: o.namespace,
      body: {
        apiVersion: 'gateway.networking.k8s.io/v1',
        kind: 'HTTPRoute',
        metadata: { name: o.name, namespace: o.namespace },
        spec: {
          rules: [
            {
              backendRefs: [
                { name: `${o.name}-stable`, port: 80, weight: 100 },
                { name: `${o.name}-canary`, port: 80, weight: 0 },
              ],
            },
          ],
        },
      },
    });
  }
}

export async function getRollout(sb: TestSandbox, namespace: string, name: string): Promise<Rollout> {
  return (await sb.custom.getNamespacedCustomObject({ ...ROLLOUTS, namespace, name })) as Rollout;
}

export function waitForRollout(
  sb: TestSandbox,
  namespace: string,
  name: string,
  what: string,
  predicate: (status: RolloutStatus, rollout: Rollout) => boolean,
  timeoutMs = 90_000,
): Promise<Rollout> {
  return waitFor(
    async () => {
      const r = await getRollout(sb, namespace, name);
      return r.status && predicate(r.status, r) ? r : undefined;
    },
    { what: `rollout ${name}: ${what}`, timeoutMs, intervalMs: 200 },
  );
}

export async function setImage(sb: TestSandbox, namespace: string, name: string, version: string): Promise<void> {
  await sb.custom.patchNamespacedCustomObject(
    { ...ROLLOUTS, namespace, name, body: [{ op: 'replace', path: '/spec/template/spec/containers/0/image', value: `weir-demo:${version}` }] },
    setHeaderOptions('Content-Type', PatchStrategy.JsonPatch),
  );
}

export async function routeWeights(sb: TestSandbox, namespace: string, name: string): Promise<Record<string, number>> {
  const route = (await sb.custom.getNamespacedCustomObject({ ...ROUTES, namespace, name })) as { spec: { rules: { backendRefs: { name: string; weight?: number }[] }[] } };
  return Object.fromEntries((route.spec.rules[0]?.backendRefs ?? []).map((b) => [b.name, b.weight ?? 1]));
}

/** Every distinct value `pick` takes on the object `name` under the API path `path` (a collection), as a watch sees its updates. */
export async function recordChanges<T>(sb: TestSandbox, path: string, name: string, pick: (obj: Record<string, unknown>) => T): Promise<{ values: T[]; stop(): void }> {
  const { Watch } = await import('@kubernetes/client-node');
  const values: T[] = [];
  const request = await new Watch(sb.kc).watch(
    path,
    { fieldSelector: `metadata.name=${name}` },
    (_type: string, obj: Record<string, unknown>) => {
      const value = pick(obj);
      if (JSON.stringify(values.at(-1)) !== JSON.stringify(value)) values.push(value);
    },
    () => undefined,
  );
  return { values, stop: () => { request.abort(); } };
}

/** Records every canary weight an HTTPRoute holds, as a watch sees its updates. */
export async function recordRouteWeights(sb: TestSandbox, namespace: string, name: string, canaryService: string): Promise<{ weights: number[]; stop(): void }> {
  const recorded = await recordChanges(sb, `/apis/${ROUTES.group}/${ROUTES.version}/namespaces/${namespace}/${ROUTES.plural}`, name, (obj) => {
    const rules = (obj.spec as { rules?: { backendRefs?: { name: string; weight?: number }[] }[] } | undefined)?.rules;
    return rules?.[0]?.backendRefs?.find((b) => b.name === canaryService)?.weight ?? 1;
  });
  return { weights: recorded.values, stop: () => { recorded.stop(); } };
}

/** Runs `weir ARGS...` against the sandbox; resolves with stdout, rejects with stderr on a non-zero exit. */
export async function weir(sb: TestSandbox, args: string[]): Promise<string> {
  const { execFile } = await import('node:child_process');
  return new Promise((resolve, reject) => {
    execFile(process.execPath, ['bin/weir.js', ...args, '--kubeconfig', sb.state.kubeconfig], (err, stdout, stderr) => {
      if (err) reject(new Error(`weir ${args.join(' ')} failed: ${stderr}${stdout}`));
      else resolve(stdout);
    });
  });
}
