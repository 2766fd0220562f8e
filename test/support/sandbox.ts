// What integration tests share: the running test sandbox, clients for it,
// and small helpers (kubectl, Prometheus queries, unique names).
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { promisify } from 'node:util';
import { AppsV1Api, CoreV1Api, CustomObjectsApi, KubeConfig } from '@kubernetes/client-node';
import axios from 'axios';
import { readState, instanceDir, instanceFiles, type SandboxState } from '../../src/sandbox/index.ts';
import { liveState } from '../../src/sandbox/lifecycle.ts';

const run = promisify(execFile);

export interface TestSandbox {
  state: SandboxState;
  kc: KubeConfig;
  core: CoreV1Api;
  apps: AppsV1Api;
  custom: CustomObjectsApi;
  kubectl(args: string[]): Promise<string>;
  promQuery(query: string): Promise<PromSample[]>;
}

export interface PromSample {
  metric: Record<string, string>;
  value: number;
}

let cached: Promise<TestSandbox> | undefined;

/** The sandbox the test run started (scripts/run-tests.js), named by WEIR_SANDBOX. */
export function testSandbox(): Promise<TestSandbox> {
  cached ??= (async () => {
    const name = process.env.WEIR_SANDBOX ?? 'test';
    const state = await liveState(await readState(instanceFiles(instanceDir(name)).state));
    if (state?.phase !== 'ready') {
      throw new Error(`sandbox "${name}" is not running: run the tests with "npm test", or start it with "weir sandbox --name ${name} up"`);
    }
    const kc = new KubeConfig();
    kc.loadFromFile(state.kubeconfig);
    return {
      state,
      kc,
      core: kc.makeApiClient(CoreV1Api),
      apps: kc.makeApiClient(AppsV1Api),
      custom: kc.makeApiClient(CustomObjectsApi),
      async kubectl(args) {
        const { stdout } = await run(state.kubectl, ['--kubeconfig', state.kubeconfig, ...args]);
        return stdout;
      },
      async promQuery(query) {
        const res = await axios.get<{ status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }>(
          `${state.prometheusUrl}/api/v1/query`,
          { params: { query }, timeout: 5000 },
        );
        return res.data.data.result.map((r) => ({ metric: r.metric, value: Number(r.value[1]) }));
      },
    };
  })();
  return cached;
}

/** A DNS-1123 name unique to this test run. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}
