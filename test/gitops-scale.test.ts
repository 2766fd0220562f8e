// Git sync at scale, end to end on the sandbox: a repository of 6,000 small
// ConfigMaps, applied by the controller as a process whose memory is bounded
// as it is in the shipped Deployment (deploy/base/deployment.yaml: limits
// memory 512Mi), then a commit changing a few of them. The process must
// apply both commits without dying, and its peak resident memory must stay
// under the container's limit.
//
// The heap: inside a container, Node 24 sizes V8's heap from the cgroup's
// memory limit (uv_get_constrained_memory → ResourceConstraints::
// ConfigureDefaults): the old generation gets a quarter of it, times two on
// 64-bit builds without pointer compression (Node's) — 256 MiB of 512 MiB —
// and, being "low memory", the smallest semi-spaces (1 MiB each): a 259 MiB
// heap limit in all (v8.getHeapStatistics().heap_size_limit with the flags
// below). Here, outside a container, the controller is given the
// same limits explicitly; without them V8 would size the heap from the
// machine's memory (gigabytes of old generation, 64 MiB semi-spaces) and
// never feel the container's limit.
import assert from 'node:assert/strict';
import { readFile } from 'node:fs/promises';
import { after, before, describe, it } from 'node:test';
import { createSandboxRepository } from '../src/sandbox/index.ts';
import { GiveUp } from '../src/util/wait.ts';
import { startController, type ControllerProcess } from './support/controller.ts';
import { namespace } from './support/demo-app.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import { createGitSource, pushWebhook, waitForGitSource, type GitSourceStatus } from './support/gitsources.ts';
import { installCrds } from './support/rollouts.ts';
import { testSandbox, uniqueName, type TestSandbox } from './support/sandbox.ts';

const SECRET = 'webhook-secret-for-scale-tests';
/** The container's memory limit in the shipped Deployment. */
const LIMIT_MIB = 512;
/** What Node 24 gives V8 under a 512 MiB cgroup limit (see the top of this file). */
const HEAP_FLAGS = ['--max-old-space-size=256', '--max-semi-space-size=1'];
const DIRECTORIES = 60;
/** Per directory: files of one ConfigMap each, and files of BUNDLE_SIZE ConfigMaps each. */
const SINGLE_FILES = 50;
const BUNDLE_FILES = 10;
const BUNDLE_SIZE = 5;
const MANIFESTS = DIRECTORIES * (SINGLE_FILES + BUNDLE_FILES * BUNDLE_SIZE);
const APPLY_TIMEOUT_MS = 6 * 60_000;

function team(d: number): string {
  return `team-${String(d).padStart(2, '0')}`;
}

function configMap(d: number, n: number, greeting: string): string {
  const name = `${team(d)}-cm-${String(n).padStart(3, '0')}`;
  return `apiVersion: v1
kind: ConfigMap
metadata:
  name: ${name}
  labels:
    app.kubernetes.io/name: ${name}
    app.kubernetes.io/part-of: ${team(d)}
data:
  GREETING: ${greeting}
  LOG_LEVEL: info
  settings.json: |
    {"replicas": ${(n % 3) + 1}, "timeoutSeconds": 30, "features": ["search", "checkout"], "owner": "${team(d)}"}
`;
}

/** 60 directories, each with 50 single-document files and 10 files of 5 documents: 6,000 ConfigMaps in 3,600 files. */
function repository(greetingOf: (d: number, n: number) => string): Record<string, string> {
  const files: Record<string, string> = {};
  for (let d = 0; d < DIRECTORIES; d++) {
    for (let n = 0; n < SINGLE_FILES; n++) files[`apps/${team(d)}/cm-${String(n).padStart(3, '0')}.yaml`] = configMap(d, n, greetingOf(d, n));
    for (let b = 0; b < BUNDLE_FILES; b++) {
      const docs: string[] = [];
      for (let k = 0; k < BUNDLE_SIZE; k++) {
        const n = SINGLE_FILES + b * BUNDLE_SIZE + k;
        docs.push(configMap(d, n, greetingOf(d, n)));
      }
      files[`apps/${team(d)}/bundle-${b}.yaml`] = `# ${BUNDLE_SIZE} ConfigMaps of ${team(d)}\n${docs.map((doc) => `---\n${doc}`).join('')}`;
    }
  }
  return files;
}

/** A value of /proc/<pid>/status, in MiB (VmHWM: peak resident set; VmRSS: now). */
async function procMemoryMiB(pid: number, field: 'VmHWM' | 'VmRSS'): Promise<number> {
  const status = await readFile(`/proc/${pid}/status`, 'utf8');
  const kib = new RegExp(`^${field}:\\s+(\\d+) kB$`, 'm').exec(status)?.[1];
  if (kib === undefined) throw new Error(`no ${field} in /proc/${pid}/status`);
  return Number(kib) / 1024;
}

describe('Git sync at scale', () => {
  let sb: TestSandbox;
  let controller: ControllerProcess;
  let w: GitWorkspace | undefined;
  const ns = uniqueName('gitops-scale');

  before(async () => {
    sb = await testSandbox();
    await installCrds(sb);
    await sb.core.createNamespace({ body: namespace(ns) });
    controller = await startController(sb, { namespace: ns, logName: ns, args: ['--webhook-secret', SECRET], nodeArgs: HEAP_FLAGS });
  });
  after(async () => {
    await controller.stop();
    await w?.dispose();
    await sb.core.deleteNamespace({ name: ns }).catch(() => undefined);
  });

  async function webhook(url: string): Promise<void> {
    assert.equal(await pushWebhook(controller.url, url, SECRET), 202);
  }

  /** Waits for `commit` applied with every manifest; gives up at once when the controller exits or the commit is refused. */
  async function waitForApplied(commit: string, what: string): Promise<GitSourceStatus> {
    const s = await waitForGitSource(
      sb,
      ns,
      'scale',
      what,
      (st) => {
        const pid = controller.child.pid;
        if (controller.child.exitCode !== null || controller.child.signalCode !== null || pid === undefined) {
          throw new GiveUp(`the controller exited (code ${String(controller.child.exitCode)}, signal ${String(controller.child.signalCode)}); see ${controller.logFile}`);
        }
        const refused = st.lastAttemptedRevision === commit ? st.conditions?.find((c) => (c.type === 'ValidationFailed' || c.type === 'ApplyFailed') && c.status === 'True') : undefined;
        if (refused) throw new GiveUp(`${commit.slice(0, 7)} not applied: ${refused.type}: ${refused.message ?? ''}`);
        return st.lastAppliedRevision === commit && st.inventory?.length === MANIFESTS;
      },
      APPLY_TIMEOUT_MS,
    );
    assert.ok(s.status);
    return s.status;
  }

  it(`applies ${MANIFESTS} manifests, then a commit changing a few, within the memory of a ${LIMIT_MIB} MiB container`, async (t) => {
    w = await GitWorkspace.create(await createSandboxRepository(sb.state, `${ns}-scale`));
    const pid = controller.child.pid;
    assert.ok(pid !== undefined);
    const startedAt = Date.now();

    await w.writeAll(repository(() => 'hello'));
    const first = await w.commit(`${MANIFESTS} ConfigMaps`);
    await createGitSource(sb, ns, 'scale', w.url, { paths: ['apps'], interval: '10m' });
    const one = await waitForApplied(first, `the first commit applied with ${MANIFESTS} objects`);
    const firstMs = Date.now() - startedAt;
    assert.match(one.conditions?.find((c) => c.type === 'Ready')?.message ?? '', new RegExp(`\\(${MANIFESTS} objects\\)`));
    const afterFirst = { hwm: await procMemoryMiB(pid, 'VmHWM'), rss: await procMemoryMiB(pid, 'VmRSS') };
    t.diagnostic(`first commit (${MANIFESTS} objects) applied in ${Math.round(firstMs / 1000)} s; controller VmHWM ${afterFirst.hwm.toFixed(0)} MiB, VmRSS ${afterFirst.rss.toFixed(0)} MiB`);

    // A second commit changing three files: two single ConfigMaps and one document of a bundle.
    const changed = new Set(['team-00-cm-000', 'team-31-cm-007', 'team-59-cm-052']);
    const name = (d: number, n: number): string => `${team(d)}-cm-${String(n).padStart(3, '0')}`;
    const files = repository((d, n) => (changed.has(name(d, n)) ? 'changed' : 'hello'));
    await w.writeAll({
      'apps/team-00/cm-000.yaml': files['apps/team-00/cm-000.yaml'] ?? '',
      'apps/team-31/cm-007.yaml': files['apps/team-31/cm-007.yaml'] ?? '',
      'apps/team-59/bundle-0.yaml': files['apps/team-59/bundle-0.yaml'] ?? '',
    });
    const second = await w.commit('change three ConfigMaps');
    const pushedAt = Date.now();
    await webhook(w.url);
    await waitForApplied(second, `the second commit applied with ${MANIFESTS} objects`);
    const secondMs = Date.now() - pushedAt;
    for (const cm of changed) {
      const live = await sb.core.readNamespacedConfigMap({ name: cm, namespace: ns });
      assert.equal(live.data?.GREETING, 'changed', `${cm} has the second commit's data`);
      assert.equal(live.metadata?.annotations?.['weir.dev/git-revision'], second, `${cm} annotated with the second commit`);
    }
    const untouched = await sb.core.readNamespacedConfigMap({ name: 'team-59-cm-053', namespace: ns });
    assert.equal(untouched.data?.GREETING, 'hello');

    assert.equal(controller.child.exitCode, null, 'the controller never exited');
    assert.equal(controller.child.signalCode, null, 'the controller was never killed');
    assert.equal(controller.child.pid, pid, 'the same process throughout');
    const peakMiB = await procMemoryMiB(pid, 'VmHWM');
    t.diagnostic(`second commit applied in ${Math.round(secondMs / 1000)} s; controller peak resident memory (VmHWM) ${peakMiB.toFixed(0)} MiB of the ${LIMIT_MIB} MiB limit (node ${HEAP_FLAGS.join(' ')})`);
    assert.ok(peakMiB < LIMIT_MIB, `peak resident memory ${peakMiB.toFixed(0)} MiB, over the container's limit of ${LIMIT_MIB} MiB`);
  });
});
