// `weir lint` end to end: the real CLI (bin/weir.js) run as a child process
// over the examples and the fixtures under test/fixtures/lint. Needs no
// sandbox.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { availableParallelism, tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const CLI = ['bin/weir.js', 'lint'];
const INVALID = 'test/fixtures/lint/invalid';

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

function lint(...paths: string[]): Promise<Run> {
  return new Promise((resolve) => {
    execFile(process.execPath, [...CLI, ...paths], { cwd: root, env: { ...process.env, FORCE_COLOR: '0' }, timeout: 10_000 }, (error, stdout, stderr) => {
      // Killed by the timeout: not an exit code of its own (-1 fails every test that expects one).
      const code = error === null ? 0 : error.killed ? -1 : typeof error.code === 'number' ? error.code : 1;
      resolve({ code, stdout, stderr });
    });
  });
}

/** The counts in the summary line, e.g. "weir lint: 1 file, 1 Rollout (1 invalid), 1 problem, 0 skipped" (", 2 notes" when there are). */
function summary(run: Run): { files: number; rollouts: number; problems: number; skipped: number; others: number } {
  return summaryWithNotes(run).counts;
}

function summaryWithNotes(run: Run): { counts: { files: number; rollouts: number; problems: number; skipped: number; others: number }; notes: number } {
  const m = /^weir lint: (\d+) files?, (\d+) Rollouts?(?: and (\d+) other objects?)?(?: \(\d+ invalid\))?, (\d+) problems?, (\d+) skipped(?:, (\d+) notes?)?$/m.exec(run.stdout);
  assert.ok(m, `no summary line in:\n${run.stdout}${run.stderr}`);
  return { counts: { files: Number(m[1]), rollouts: Number(m[2]), others: Number(m[3] ?? 0), problems: Number(m[4]), skipped: Number(m[5]) }, notes: Number(m[6] ?? 0) };
}

/** Each invalid fixture: the field path its problem is reported at, and how many problems (one rule each). */
const invalid: [file: string, path: string, problems?: number][] = [
  ['abort-scale-down-delay-negative.yaml', 'spec.strategy.canary.abortScaleDownDelaySeconds'],
  ['analysis-template-bad-condition.yaml', 'spec.metrics[0].successCondition'],
  ['analysis-template-condition-unknown-name.yaml', 'spec.metrics[0].successCondition'],
  ['analysis-template-bad-promql.yaml', 'spec.metrics[0].provider.prometheus.query'],
  ['analysis-duplicate-args.yaml', 'spec.strategy.canary.steps[1].analysis.args[1].name'],
  ['analysis-step-no-templates.yaml', 'spec.strategy.canary.steps[1].analysis.templates'],
  ['analysis-template-name-empty.yaml', 'spec.strategy.canary.steps[1].analysis.templates[0].templateName'],
  ['api-version-wrong.yaml', 'apiVersion'],
  ['argo-rollout-alb-unsupported.yaml', 'spec.strategy.canary.trafficRouting.alb'],
  ['background-analysis-starting-step-out-of-range.yaml', 'spec.strategy.canary.analysis.startingStep'],
  ['blue-green-preview-count.yaml', 'spec.strategy.blueGreen.previewReplicaCount'],
  ['canary-service-same-as-stable.yaml', 'spec.strategy.canary.stableService'],
  ['container-without-image.yaml', 'spec.template.spec.containers[0].image'],
  ['gateway-api-without-route.yaml', 'spec.strategy.canary.trafficRouting.plugins["argoproj-labs/gatewayAPI"]'],
  ['max-surge-and-unavailable-zero.yaml', 'spec.strategy.canary.maxSurge'],
  ['max-surge-not-percent.yaml', 'spec.strategy.canary.maxSurge'],
  ['max-unavailable-over-100-percent.yaml', 'spec.strategy.canary.maxUnavailable'],
  ['metadata-name-missing.yaml', 'metadata.name'],
  ['pod-env-value-number.yaml', 'spec.template.spec.containers[0].env[0].value'],
  ['pod-image-pull-policy-case.yaml', 'spec.template.spec.containers[0].imagePullPolicy'],
  ['pod-memory-not-quantity.yaml', 'spec.template.spec.containers[0].resources.limits.memory'],
  ['pod-port-string.yaml', 'spec.template.spec.containers[0].ports[0].containerPort'],
  ['pause-duration-invalid.yaml', 'spec.strategy.canary.steps[1].pause.duration'],
  ['pause-duration-negative.yaml', 'spec.strategy.canary.steps[1].pause.duration'],
  ['pause-null.yaml', 'spec.strategy.canary.steps[1].pause'],
  ['progress-deadline-not-above-min-ready.yaml', 'spec.progressDeadlineSeconds'],
  ['replicas-negative.yaml', 'spec.replicas'],
  ['restart-at-not-date-time.yaml', 'spec.restartAt'],
  ['revision-history-limit-negative.yaml', 'spec.revisionHistoryLimit'],
  ['scale-down-delay-negative.yaml', 'spec.strategy.canary.scaleDownDelaySeconds'],
  ['scale-down-delay-without-traffic-routing.yaml', 'spec.strategy.canary.scaleDownDelaySeconds'],
  ['selector-empty.yaml', 'spec.selector'],
  ['selector-in-without-values.yaml', 'spec.selector.matchExpressions[0].values'],
  ['selector-mismatch.yaml', 'spec.template.metadata.labels'],
  ['selector-missing.yaml', 'spec.selector'],
  ['set-canary-scale-two-fields.yaml', 'spec.strategy.canary.steps[0].setCanaryScale'],
  ['set-canary-scale-weight-101.yaml', 'spec.strategy.canary.steps[0].setCanaryScale.weight'],
  ['set-canary-scale-without-traffic-routing.yaml', 'spec.strategy.canary.steps[0].setCanaryScale'],
  ['set-weight-150.yaml', 'spec.strategy.canary.steps[0].setWeight'],
  ['set-weight-negative.yaml', 'spec.strategy.canary.steps[0].setWeight'],
  ['set-weight-not-integer.yaml', 'spec.strategy.canary.steps[0].setWeight'],
  ['step-empty.yaml', 'spec.strategy.canary.steps[1]'],
  ['step-experiment-unsupported.yaml', 'spec.strategy.canary.steps[0].experiment'],
  ['step-set-header-route-unmanaged.yaml', 'spec.strategy.canary.steps[1].setHeaderRoute.name'],
  ['step-two-actions.yaml', 'spec.strategy.canary.steps[0]'],
  ['strategy-both.yaml', 'spec.strategy'],
  ['strategy-neither.yaml', 'spec.strategy'],
  ['template-missing.yaml', 'spec.template'],
  ['template-no-containers.yaml', 'spec.template.spec.containers'],
  ['traffic-routing-apisix-unsupported.yaml', 'spec.strategy.canary.trafficRouting.apisix'],
  ['traffic-routing-other-plugin.yaml', 'spec.strategy.canary.trafficRouting.plugins["example.com/other"]'],
  ['traffic-routing-without-canary-service.yaml', 'spec.strategy.canary.canaryService'],
  ['unknown-field.yaml', 'spec.strategy.canary.stpes'],
  ['workload-ref-unsupported.yaml', 'spec.workloadRef'],
];

/** A problem line: file:line: field: reason. */
const PROBLEM_LINE = /^(?<file>[^:]+):(?<line>\d+): (?<field>[^ ]+): (?<reason>.+)$/;

describe('weir lint', { concurrency: availableParallelism() }, () => {
  it('passes examples/ (exit 0), skipping the kinds it does not check', async () => {
    const run = await lint('examples/');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const counts = summary(run);
    assert.equal(counts.problems, 0);
    assert.ok(counts.rollouts >= 2, run.stdout);
    assert.ok(counts.others >= 2, `the analysis templates are checked too: ${run.stdout}`);
    assert.match(run.stdout, /^examples\/rollouts\/canary-gateway-api\.yaml:\d+: skipped: gateway\.networking\.k8s\.io\/v1\/HTTPRoute is not a kind weir lint knows$/m);
  });

  it('has a table entry for every invalid fixture', () => {
    const files = readdirSync(new URL(`../${INVALID}/`, import.meta.url)).filter((f) => f.endsWith('.yaml'));
    assert.deepEqual(files.sort(), invalid.map(([file]) => file).sort());
    assert.ok(files.length >= 24);
  });

  for (const [file, path, problems = 1] of invalid) {
    it(`reports ${file} at ${path} (exit 1)`, async () => {
      const run = await lint(`${INVALID}/${file}`);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      const lines = run.stdout.split('\n').filter((l) => l !== '' && !l.startsWith('weir lint: '));
      const parsed = lines.map((l) => PROBLEM_LINE.exec(l)?.groups);
      assert.ok(
        parsed.some((g) => g?.file === `${INVALID}/${file}` && g.field === path && Number(g.line) > 1),
        `expected "${INVALID}/${file}:<line>: ${path}: ..." in:\n${run.stdout}`,
      );
      for (const [i, g] of parsed.entries()) assert.ok(g, `not file:line: field: reason: ${lines[i] ?? ''}`);
      assert.equal(summary(run).problems, problems, run.stdout);
    });
  }

  it('reports every problem of a directory of invalid manifests (exit 1)', async () => {
    const run = await lint(INVALID);
    assert.equal(run.code, 1);
    const counts = summary(run);
    assert.equal(counts.files, invalid.length);
    assert.equal(counts.problems, invalid.reduce((sum, [, , n = 1]) => sum + n, 0));
  });

  it('reports malformed YAML with its line (exit 1), and still checks the other documents', async () => {
    const run = await lint('test/fixtures/lint/malformed/bad-indentation.yaml');
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(run.stdout, /^test\/fixtures\/lint\/malformed\/bad-indentation\.yaml:20: invalid YAML: bad indentation of a mapping entry/m);
    assert.match(run.stdout, /bad-indentation\.yaml:2: skipped: v1\/Service is not a kind weir lint knows/);
    assert.equal(run.stderr, '');
  });

  it('lists other kinds as skipped and exits 0', async () => {
    const run = await lint('test/fixtures/lint/valid/unknown-kinds.yaml');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.match(run.stdout, /^test\/fixtures\/lint\/valid\/unknown-kinds\.yaml:9: skipped: apps\/v1\/Deployment is not a kind weir lint knows$/m);
    assert.match(run.stdout, /unknown-kinds\.yaml:2: skipped: v1\/ConfigMap is not a kind weir lint knows/);
    assert.match(run.stdout, /unknown-kinds\.yaml:27: skipped: example\.com\/v1\/Rollout is not a kind weir lint knows/);
    assert.deepEqual(summary(run), { files: 1, rollouts: 0, others: 0, problems: 0, skipped: 3 });
  });

  it('accepts a valid argoproj.io Rollout (exit 0)', async () => {
    const run = await lint('test/fixtures/lint/valid/argo-rollout.yaml');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.deepEqual(summary(run), { files: 1, rollouts: 1, others: 0, problems: 0, skipped: 0 });
  });

  it('reports a PromQL syntax error at the query field, with the line and column within the query', async () => {
    const run = await lint(`${INVALID}/analysis-template-bad-promql.yaml`);
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /^test\/fixtures\/lint\/invalid\/analysis-template-bad-promql\.yaml:18: spec\.metrics\[0\]\.provider\.prometheus\.query: PromQL syntax error at line 3, column 82 of the query: the query ends before "\(" at line 3, column 4 is closed$/m,
    );
  });

  it('finds the templates a Rollout names in the other linted files (argoproj.io ones too): no note', async () => {
    const run = await lint('test/fixtures/lint/valid/argo-rollout.yaml', 'test/fixtures/lint/templates/argo-templates.yaml');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    assert.doesNotMatch(run.stdout, /note:/);
    assert.deepEqual(summaryWithNotes(run), { counts: { files: 2, rollouts: 1, others: 3, problems: 0, skipped: 0 }, notes: 0 });
  });

  it('notes a template not among the linted files, which may be in the cluster (exit 0)', async () => {
    const run = await lint('test/fixtures/lint/valid/argo-rollout.yaml');
    assert.equal(run.code, 0, run.stdout + run.stderr);
    const notes = run.stdout.split('\n').filter((l) => l.includes(': note: '));
    assert.deepEqual(
      notes.map((l) => PROBLEM_LINE.exec(l)?.groups?.field),
      ['spec.strategy.canary.analysis.templates[0].templateName', 'spec.strategy.canary.steps[4].analysis.templates[0].templateName', 'spec.strategy.canary.steps[4].analysis.templates[1].templateName'],
    );
    assert.match(
      run.stdout,
      /^test\/fixtures\/lint\/valid\/argo-rollout\.yaml:54: spec\.strategy\.canary\.analysis\.templates\[0\]\.templateName: note: AnalysisTemplate "success-rate" is not in the linted files, so it must be in namespace "shop" of the cluster \(Git sync refuses a commit otherwise\)$/m,
    );
    assert.match(run.stdout, /:68: .*note: ClusterAnalysisTemplate "error-budget" is not in the linted files, so it must be in the cluster/);
    assert.equal(summaryWithNotes(run).notes, 3);
  });

  it('with --self-contained, refuses a template not among the linted files (exit 1), saying where a near miss is', async () => {
    const run = await lint('--self-contained', 'test/fixtures/lint/valid/argo-rollout.yaml', 'test/fixtures/lint/templates/latency-elsewhere.yaml');
    assert.equal(run.code, 1, run.stdout + run.stderr);
    assert.match(
      run.stdout,
      /^test\/fixtures\/lint\/valid\/argo-rollout\.yaml:67: spec\.strategy\.canary\.steps\[4\]\.analysis\.templates\[0\]\.templateName: AnalysisTemplate "latency" is not in the linted files, which --self-contained says hold every template \(in the linted files it is in namespace "payments": a Rollout runs AnalysisTemplates of its own namespace only\)$/m,
    );
    assert.deepEqual(summaryWithNotes(run), { counts: { files: 2, rollouts: 1, others: 1, problems: 3, skipped: 0 }, notes: 0 });
    const complete = await lint('--self-contained', 'test/fixtures/lint/valid/argo-rollout.yaml', 'test/fixtures/lint/templates/argo-templates.yaml');
    assert.equal(complete.code, 0, complete.stdout + complete.stderr);
  });

  it('explains notes and --self-contained in its help', async () => {
    const run = await lint('--help');
    assert.equal(run.code, 0);
    assert.match(run.stdout, /--self-contained/);
    assert.match(run.stdout, /is a note/);
  });

  it('reports a path that does not exist (exit 1)', async () => {
    const run = await lint('test/fixtures/lint/does-not-exist.yaml', 'test/fixtures/lint/valid');
    assert.equal(run.code, 1);
    assert.match(run.stdout, /^test\/fixtures\/lint\/does-not-exist\.yaml: cannot read: ENOENT$/m);
    assert.equal(summary(run).files, 2);
  });

  // What Git sync refuses, weir lint refuses, with the same guards (a process still running after 10 s is killed, and fails the test).
  const refused: [file: string, expected: RegExp][] = [
    ['alias-bomb.yaml', /^test\/fixtures\/lint\/refused\/alias-bomb\.yaml:3: YAML aliases expand the document to more than 3 MiB .*\("billion laughs"\): refused/m],
    ['rollout-defined-twice.yaml', /^test\/fixtures\/lint\/refused\/rollout-defined-twice\.yaml:26: Rollout\.weir\.dev shop\/web is defined twice: also at test\/fixtures\/lint\/refused\/rollout-defined-twice\.yaml:2$/m],
    ['argo-v1beta1.yaml', /argo-v1beta1\.yaml:2: apiVersion: "argoproj\.io\/v1beta1" is not a version of Argo Rollouts' Rollout that Weir reads: use argoproj\.io\/v1alpha1$/m],
    ['kind-case.yaml', /kind-case\.yaml:3: kind: "RollOut" is not a kind Weir knows \(did you mean Rollout\?\)/m],
    ['experiment.yaml', /experiment\.yaml:3: kind: Argo Rollouts' Experiment is not supported by Weir$/m],
  ];
  for (const [file, expected] of refused) {
    it(`refuses ${file} as Git sync does (exit 1)`, async () => {
      const run = await lint(`test/fixtures/lint/refused/${file}`);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, expected);
      assert.equal(summary(run).problems, 1, run.stdout);
    });
  }

  it('refuses a file that is not UTF-8 and annotations over 256 KiB (exit 1), as Git sync does', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'weir-lint-'));
    try {
      await writeFile(join(dir, 'binary.yaml'), Buffer.from([0x61, 0x70, 0x69, 0x3a, 0x20, 0xff, 0xfe, 0x00, 0x0a]));
      const big = ['apiVersion: v1', 'kind: ConfigMap', 'metadata:', '  name: big', '  annotations:', `    note: "${'x'.repeat(300 * 1024)}"`, ''].join('\n');
      await writeFile(join(dir, 'annotations.yaml'), big);
      const run = await lint(dir);
      assert.equal(run.code, 1, run.stdout + run.stderr);
      assert.match(run.stdout, /binary\.yaml: is not valid UTF-8$/m);
      assert.match(run.stdout, /annotations\.yaml:5: metadata\.annotations: take 307204 bytes, more than the 262144 \(256 KiB\) Kubernetes allows in total$/m);
      assert.equal(summary(run).problems, 2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('needs a path', async () => {
    const run = await lint();
    assert.notEqual(run.code, 0);
    assert.match(run.stderr, /missing required argument/);
  });
});
