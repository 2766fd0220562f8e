// Git sync refuses, whole, a commit that cannot succeed, on the sandbox with
// its Git server and the controller as a process: a Rollout naming an
// AnalysisTemplate that is in neither the commit nor the cluster, a PromQL
// syntax error in an AnalysisTemplate, a Rollout in a namespace that does
// not exist. Each time the GitSource's ValidationFailed condition and an
// Event name the file, line and field; a ConfigMap changed in the same
// commit keeps its value and the previous commit keeps running.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { GitSource } from '../src/api/gitsource.ts';
import { createSandboxRepository } from '../src/sandbox/index.ts';
import { waitFor } from '../src/util/wait.ts';
import { appFiles, appGreeting, type AppOptions } from './support/app-repo.ts';
import { useControllerNamespace } from './support/controller.ts';
import { GitWorkspace } from './support/git-workspace.ts';
import type { TestSandbox } from './support/sandbox.ts';

const GITSOURCES = { group: 'weir.dev', version: 'v1alpha1', plural: 'gitsources' } as const;

/** The 1-based line of the first line of `text` that contains `part`. */
function lineOf(text: string, part: string): number {
  const i = text.split('\n').findIndex((l) => l.includes(part));
  assert.ok(i >= 0, `no line with ${part} in:\n${text}`);
  return i + 1;
}

describe('Git sync refuses a commit that cannot succeed, whole', () => {
  const fixture = useControllerNamespace('refusals');
  const ns = fixture.ns;
  const app = 'refused';
  const source = 'refusals';
  let sb: TestSandbox;
  let w: GitWorkspace;
  /** The last commit the source applied. */
  let applied = '';

  before(async () => {
    sb = fixture.sb;
    w = await GitWorkspace.create(await createSandboxRepository(sb.state, `${ns}-app`));
  });
  after(async () => {
    await w.dispose();
  });

  /** Writes the app's files; returns the Rollout's manifest. */
  async function writeApp(o: Omit<AppOptions, 'name' | 'namespace' | 'version'>): Promise<string> {
    const files = appFiles({ name: app, namespace: ns, version: 'v1', ...o });
    for (const [path, content] of Object.entries(files)) await w.write(path, content);
    return files[`apps/${app}/rollout.yaml`] ?? '';
  }

  function analysisTemplate(query: string): string {
    return `apiVersion: weir.dev/v1alpha1
kind: AnalysisTemplate
metadata:
  name: success-rate
  namespace: ${ns}
spec:
  args:
    - name: app
  metrics:
    - name: success-rate
      successCondition: result[0] >= 0
      provider:
        prometheus:
          address: ${sb.state.prometheusUrl}
          query: ${JSON.stringify(query)}
`;
  }

  async function getSource(): Promise<GitSource> {
    return (await sb.custom.getNamespacedCustomObject({ ...GITSOURCES, namespace: ns, name: source })) as GitSource;
  }

  const greeting = (): Promise<string | undefined> => appGreeting(sb, ns, app);

  async function waitApplied(commit: string, what: string): Promise<void> {
    await waitFor(async () => ((await getSource()).status?.lastAppliedRevision === commit ? true : undefined), { what: `${what} applied`, timeoutMs: 60_000, intervalMs: 200 });
    applied = commit;
  }

  /** Waits for the commit to be refused; returns the ValidationFailed message, after checking nothing of it was applied. */
  async function refused(commit: string): Promise<string> {
    const message = await waitFor(
      async () => {
        const s = (await getSource()).status;
        const failed = s?.conditions?.find((c) => c.type === 'ValidationFailed' && c.status === 'True' && (c.message ?? '').startsWith(commit.slice(0, 7)));
        return s?.lastAttemptedRevision === commit ? failed?.message : undefined;
      },
      { what: `${commit.slice(0, 7)} refused (ValidationFailed)`, timeoutMs: 60_000, intervalMs: 200 },
    );
    const s = await getSource();
    assert.equal(s.status?.lastAppliedRevision, applied, 'the previous commit keeps running');
    assert.equal(s.status.conditions?.find((c) => c.type === 'ApplyFailed' && c.status === 'True'), undefined, 'refused before applying, not failed while applying');
    assert.equal(await greeting(), 'hello', 'the ConfigMap changed in the same commit was not applied');
    return message;
  }

  async function validationEvents(): Promise<string[]> {
    const events = await sb.core.listNamespacedEvent({ namespace: ns, fieldSelector: `involvedObject.kind=GitSource,involvedObject.name=${source},reason=ValidationFailed` });
    return events.items.map((e) => e.message ?? '');
  }

  it('applies the first commit', async () => {
    await writeApp({ greeting: 'hello' });
    const first = await w.commit('the app');
    await sb.custom.createNamespacedCustomObject({
      ...GITSOURCES,
      namespace: ns,
      body: { apiVersion: 'weir.dev/v1alpha1', kind: 'GitSource', metadata: { name: source, namespace: ns }, spec: { url: w.url, ref: { branch: 'main' }, paths: [`apps/${app}`], interval: '2s' } },
    });
    await waitApplied(first, 'the first commit');
    assert.equal(await greeting(), 'hello');
  });

  it('refuses a Rollout naming an AnalysisTemplate that is in neither the commit nor the cluster, at the templateName line', async () => {
    const analysis = { analysis: { templates: [{ templateName: 'success-rate' }], args: [{ name: 'app', value: app }] } };
    const rollout = await writeApp({ greeting: 'not applied: missing template', steps: [{ setWeight: 50 }, analysis, { pause: {} }] });
    const bad = await w.commit('an analysis step naming a template nobody has');
    const message = await refused(bad);
    const line = lineOf(rollout, 'templateName');
    assert.match(
      message,
      new RegExp(`apps/${app}/rollout\\.yaml:${line}: spec\\.strategy\\.canary\\.steps\\[1\\]\\.analysis\\.templates\\[0\\]\\.templateName: AnalysisTemplate "success-rate" is (not in this revision|in neither this revision)`),
    );
    await waitFor(async () => ((await validationEvents()).some((m) => m.includes(`rollout.yaml:${line}`) && m.includes('"success-rate"')) ? true : undefined), {
      what: 'a ValidationFailed Event naming the file, line and template',
      timeoutMs: 10_000,
    });

    // With the template in the commit, the same Rollout is applied.
    await w.write(`apps/${app}/analysis.yaml`, analysisTemplate('sum(up{namespace="{{args.app}}"}) or vector(0)'));
    await writeApp({ greeting: 'with its template', steps: [{ setWeight: 50 }, analysis, { pause: {} }] });
    const fixed = await w.commit('the template in the commit');
    await waitApplied(fixed, 'the commit with its template');
    assert.equal(await greeting(), 'with its template');
    // Back to the greeting the next refusals keep.
    await writeApp({ greeting: 'hello', steps: [{ setWeight: 50 }, analysis, { pause: {} }] });
    await waitApplied(await w.commit('greeting hello'), 'greeting hello');
  });

  it('refuses a PromQL syntax error in an AnalysisTemplate, at the query line, with the position in the query', async () => {
    const template = analysisTemplate('sum(rate(http_requests_total{app="{{args.app}}"}[1m])');
    await w.write(`apps/${app}/analysis.yaml`, template);
    await w.write(`apps/${app}/config.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${app}-config, namespace: ${ns} }\ndata: { GREETING: "not applied: bad PromQL" }\n`);
    const bad = await w.commit('a query missing its closing parenthesis');
    const message = await refused(bad);
    assert.match(
      message,
      new RegExp(
        `apps/${app}/analysis\\.yaml:${lineOf(template, 'query:')}: spec\\.metrics\\[0\\]\\.provider\\.prometheus\\.query: PromQL syntax error at line 1, column 54 of the query: the query ends before "\\(" at column 4 is closed`,
      ),
    );
    await w.write(`apps/${app}/analysis.yaml`, analysisTemplate('sum(up{namespace="{{args.app}}"}) or vector(0)'));
    await w.write(`apps/${app}/config.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${app}-config, namespace: ${ns} }\ndata: { GREETING: "hello" }\n`);
    await waitApplied(await w.commit('the query fixed'), 'the fixed query');
  });

  it('refuses a Rollout in a namespace that does not exist (a dry run of Weir’s kinds), at its namespace line', async () => {
    const ghost = `${ns}-ghost`;
    const elsewhere = `apiVersion: weir.dev/v1alpha1
kind: Rollout
metadata:
  name: elsewhere
  namespace: ${ghost}
spec:
  replicas: 1
  selector: { matchLabels: { app: elsewhere } }
  template:
    metadata: { labels: { app: elsewhere } }
    spec: { containers: [{ name: app, image: weir-demo:v1 }] }
  strategy:
    canary:
      steps: [{ setWeight: 50 }, { pause: {} }]
`;
    await w.write(`apps/${app}/elsewhere.yaml`, elsewhere);
    await w.write(`apps/${app}/config.yaml`, `apiVersion: v1\nkind: ConfigMap\nmetadata: { name: ${app}-config, namespace: ${ns} }\ndata: { GREETING: "not applied: ghost namespace" }\n`);
    const bad = await w.commit('a Rollout in a namespace nobody creates');
    const message = await refused(bad);
    assert.match(message, new RegExp(`apps/${app}/elsewhere\\.yaml:${lineOf(elsewhere, 'namespace:')}: metadata\\.namespace: namespace "${ghost}" does not exist and no Namespace in this revision creates it`));
  });
});
