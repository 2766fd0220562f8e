// `weir analyze TEMPLATE [--arg k=v ...]`: runs each metric of an
// AnalysisTemplate once against the live providers and prints the query, the
// raw result, each condition and the verdict, so a template can be checked
// before a release. Exit code 1 when any metric is not Successful.
import type { Command } from 'commander';
import { CustomObjectsApi } from '@kubernetes/client-node';
import type { AnalysisTemplate, Argument } from '../api/analysis.ts';
import { GROUP, VERSION } from '../api/common.ts';
import { argValues, resolveArgs, substituteMetric } from '../analysis/args.ts';
import { measureMetric } from '../analysis/measure.ts';
import { formatValue } from '../analysis/measurements.ts';
import { kubeErrorCode } from '../cluster/errors.ts';
import { renderAnalysisRun } from './analysisrun-view.ts';
import { addKubeOptions, kubeOptionsOf, loadKube } from './kube-options.ts';
import type { AnalysisRun } from '../api/analysis.ts';

function parseArgFlags(values: readonly string[]): { name: string; value: string }[] {
  return values.map((v) => {
    const eq = v.indexOf('=');
    if (eq <= 0) throw new Error(`--arg must be name=value, got "${v}"`);
    return { name: v.slice(0, eq), value: v.slice(eq + 1) };
  });
}

/** The template's args with the given values; values for args it does not declare are an error. */
export function argumentsFor(template: AnalysisTemplate, given: { name: string; value: string }[]): Map<string, string> {
  const declared: Argument[] = template.spec.args ?? [];
  for (const g of given) if (!declared.some((a) => a.name === g.name)) throw new Error(`--arg ${g.name}: the template declares no such argument`);
  const merged = declared.map((a) => {
    const v = given.find((g) => g.name === a.name);
    return v ? { name: a.name, value: v.value } : a;
  });
  // Outside a Rollout there is nothing for fieldRef to read, and Secrets are not read from a workstation.
  const missing = merged.filter((a) => a.value === undefined).map((a) => a.name);
  if (missing.length > 0) throw new Error(`missing argument${missing.length > 1 ? 's' : ''} ${missing.join(', ')}: pass --arg name=value`);
  return argValues(resolveArgs(merged, [], { rollout: { apiVersion: `${GROUP}/${VERSION}`, kind: 'Rollout', metadata: {}, spec: { strategy: {} } } }));
}

export function registerAnalyzeCommand(program: Command): void {
  addKubeOptions(
    program
      .command('analyze')
      .description('run each metric of an AnalysisTemplate once against its providers and show the query, result, conditions and verdict')
      .argument('<template>', 'the AnalysisTemplate (or ClusterAnalysisTemplate with --cluster)'),
  )
    .option('--cluster', 'the template is a ClusterAnalysisTemplate')
    .option('--arg <name=value>', 'a template argument (repeatable)', (v: string, prev: string[]) => [...prev, v], [] as string[])
    .action(async (name: string, opts: { cluster?: boolean; arg: string[] }, cmd: Command) => {
      const target = loadKube(kubeOptionsOf(cmd));
      const custom = target.kubeConfig.makeApiClient(CustomObjectsApi);
      let template: AnalysisTemplate;
      try {
        template = (
          opts.cluster === true
            ? await custom.getClusterCustomObject({ group: GROUP, version: VERSION, plural: 'clusteranalysistemplates', name })
            : await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'analysistemplates', namespace: target.namespace, name })
        ) as AnalysisTemplate;
      } catch (err) {
        if (kubeErrorCode(err) === 404) throw new Error(`${opts.cluster === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate'} "${name}" not found${opts.cluster === true ? '' : ` in namespace "${target.namespace}"`}`, { cause: err });
        throw err;
      }
      const values = argumentsFor(template, parseArgFlags(opts.arg));
      let allGood = true;
      for (const metric of template.spec.metrics) {
        const resolved = substituteMetric(metric, values);
        const { measurement, detail } = await measureMetric(resolved, new Date());
        const out = [`metric ${metric.name} (${detail.provider})`, `  query:    ${detail.request}`, `  result:   ${formatValue(detail.result) ?? '(none)'}`];
        for (const c of detail.conditions) out.push(`  ${c.kind}:  ${c.source}  →  ${c.outcome}`);
        if (detail.judgement) {
          out.push(`  score:    ${detail.judgement.score} (${detail.judgement.verdict})`);
          for (const m of detail.judgement.metrics) out.push(`    ${m.name}: ${m.classification} — ${m.reason}`);
        }
        out.push(`  verdict:  ${measurement.phase}${measurement.message ? ` — ${measurement.message}` : ''}`);
        process.stdout.write(out.join('\n') + '\n');
        if (measurement.phase !== 'Successful') allGood = false;
      }
      if (!allGood) process.exitCode = 1;
    });

  const get = program.commands.find((c) => c.name() === 'get') ?? program.command('get').description('show a resource in detail');
  addKubeOptions(get.command('analysisrun').aliases(['analysisruns', 'war']).description('show an AnalysisRun: phase, metrics and measurements').argument('<name>', 'the AnalysisRun')).action(
    async (name: string, _opts: unknown, cmd: Command) => {
      const target = loadKube(kubeOptionsOf(cmd));
      const custom = target.kubeConfig.makeApiClient(CustomObjectsApi);
      try {
        const run = (await custom.getNamespacedCustomObject({ group: GROUP, version: VERSION, plural: 'analysisruns', namespace: target.namespace, name })) as AnalysisRun;
        process.stdout.write(renderAnalysisRun(run));
      } catch (err) {
        if (kubeErrorCode(err) === 404) throw new Error(`AnalysisRun "${name}" not found in namespace "${target.namespace}"`, { cause: err });
        throw err;
      }
    },
  );
}
