// `weir lint PATH...`: checks Weir's manifests without a cluster, the way
// Weir checks a commit before applying anything from it. Files and
// directories (searched recursively for .yaml/.yml); Rollouts, GitSources and
// analysis templates and runs of weir.dev, and Argo Rollouts' kinds of
// argoproj.io (read as weir.dev), PromQL queries included; one line per
// problem:
//
//   rollouts/app.yaml:23: spec.strategy.canary.steps[2].setWeight: must be between 0 and 100
//
// Analysis templates a Rollout names are looked for among all the linted
// files (an AnalysisTemplate in the Rollout's namespace, a namespace left
// unset on either side matching, or a ClusterAnalysisTemplate). One that is
// not there may be in the cluster, which lint does not see: a note (`...:
// note: ...`), not a problem, unless --self-contained says the files are the
// whole desired state (as a GitSource's path is when its templates live in
// Git): then it is a problem, as Git sync refuses a commit naming a template
// that is in neither the commit nor the cluster.
//
// The guards are Git sync's own, from the same functions: a file over 1 MiB
// or not UTF-8 is not read; a document whose YAML aliases could blow up
// ("billion laughs") is refused before anything walks it; an object defined
// twice (same kind, namespace and name) among the linted files, a kind of
// weir.dev or of Argo Rollouts' argoproj.io that Weir does not know (or at a
// version it does not read), and annotations over the API server's 256 KiB
// are problems. Duplicates are looked for within each file, and across all
// of them with --self-contained (the files are then one desired state, as a
// commit is).
//
// Other kinds are listed as skipped. Exit code 0 when every object is valid,
// 1 otherwise (notes do not count). It never crashes on its input:
// unreadable files and malformed YAML are problems like any other.
import { readdir, realpath, stat } from 'node:fs/promises';
import { isAbsolute, join, relative, sep } from 'node:path';
import type { Command } from 'commander';
import { ARGO_API_VERSION, GROUP } from '../api/common.ts';
import { convertArgoObject, isArgoKind } from '../api/convert.ts';
import { annotationsProblem, kindProblem } from '../api/kinds.ts';
import { lineOf, parseManifests, readManifestFile, type ManifestDocument, type ParsedManifests } from '../api/manifests.ts';
import { formatFieldPath, parseFieldPath, templateReferences, type PathSegment } from '../api/validate.ts';
import { CompactLines, refusedDocuments } from '../sync/documents.ts';
import type { SyncDocument, SyncObject, SyncProblem } from '../sync/types.ts';
import { WEIR_VALIDATORS, definedTemplate, duplicateProblems, holdsTemplate, templateHint, type DefinedTemplate } from '../sync/validate.ts';

export interface LintOptions {
  /** The linted files are all there is: a template a Rollout names that they do not define is a problem, not a note. */
  selfContained?: boolean;
}

export interface LintSummary {
  /** YAML files read. */
  files: number;
  /** Rollouts checked. */
  rollouts: number;
  /** Other Weir objects checked (GitSources, analysis templates and runs). */
  others: number;
  /** Checked objects with at least one problem. */
  invalid: number;
  /** Problems reported (in Rollouts, malformed YAML, unreadable paths). */
  problems: number;
  /** Documents of kinds lint does not check. */
  skipped: number;
  /** Notes: templates a Rollout names that the linted files do not define (problems with --self-contained). */
  notes: number;
}

interface LintContext {
  summary: LintSummary;
  /** Every analysis template the linted files define. */
  templates: readonly DefinedTemplate[];
  selfContained: boolean;
}

interface Finding {
  line: number;
  text: string;
}

const YAML_FILE = /\.ya?ml$/i;

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isInside(child: string, root: string): boolean {
  const rel = relative(root, child);
  return !isAbsolute(rel) && rel !== '..' && !rel.startsWith(`..${sep}`);
}

function plural(n: number, one: string, many = `${one}s`): string {
  return `${n} ${n === 1 ? one : many}`;
}

/** The YAML files a path names: itself, or the .yaml/.yml files under it (not following links out of it). */
async function collect(arg: string, out: (file: string, real: string) => void, note: (text: string) => void, problem: (text: string) => void): Promise<void> {
  let info;
  try {
    info = await stat(arg);
  } catch (err) {
    problem(`${arg}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
    return;
  }
  if (info.isFile()) {
    out(arg, await realpath(arg));
    return;
  }
  if (!info.isDirectory()) {
    problem(`${arg}: not a file or a directory`);
    return;
  }
  const root = await realpath(arg);
  const walk = async (dir: string): Promise<void> => {
    let entries;
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (err) {
      problem(`${dir}: cannot read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`);
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = join(dir, entry.name);
      if (entry.isDirectory()) {
        if (entry.name.startsWith('.') || entry.name === 'node_modules') continue;
        await walk(path);
      } else if (entry.isFile()) {
        if (YAML_FILE.test(entry.name)) out(path, join(root, relative(arg, path)));
      } else if (entry.isSymbolicLink()) {
        let target: string;
        let targetInfo;
        try {
          target = await realpath(path);
          targetInfo = await stat(target);
        } catch {
          if (YAML_FILE.test(entry.name)) note(`${path}: skipped: broken symbolic link`);
          continue;
        }
        if (targetInfo.isDirectory()) note(`${path}: skipped: symbolic link to a directory (not followed)`);
        else if (!YAML_FILE.test(entry.name) || !targetInfo.isFile()) continue;
        else if (!isInside(target, root)) note(`${path}: skipped: symbolic link to a file outside ${arg}`);
        else out(path, target);
      }
    }
  };
  await walk(arg);
}

function kindLabel(obj: Record<string, unknown>): string {
  const apiVersion = typeof obj.apiVersion === 'string' ? obj.apiVersion : '?';
  const kind = typeof obj.kind === 'string' ? obj.kind : '?';
  return `${apiVersion}/${kind}`;
}

/** Whether lint checks the object: a kind of Weir's (or Argo's, or a Rollout without apiVersion). */
function isCheckedKind(obj: Record<string, unknown>): boolean {
  if (typeof obj.kind !== 'string' || !Object.hasOwn(WEIR_VALIDATORS, obj.kind)) return false;
  if (obj.apiVersion === undefined || typeof obj.apiVersion !== 'string') return obj.kind === 'Rollout';
  const group = obj.apiVersion.includes('/') ? obj.apiVersion.slice(0, obj.apiVersion.indexOf('/')) : '';
  return group === GROUP || (group === ARGO_API_VERSION.split('/')[0] && isArgoKind(obj));
}

/** A document as Git sync holds it, when it is a Kubernetes object with a name (what duplicateProblems compares). */
function asSyncDocument(d: ManifestDocument): SyncDocument | undefined {
  const o = d.object;
  if (!isRecord(o) || typeof o.apiVersion !== 'string' || typeof o.kind !== 'string' || !isRecord(o.metadata) || typeof o.metadata.name !== 'string') return undefined;
  return { file: d.file, index: d.index, line: d.line, object: o as unknown as SyncObject, lines: CompactLines.from(d.lines) };
}

/** The objects of a document: itself, or the items of a v1 List (kubectl's multi-object form). */
function objectsOf(object: unknown): unknown[] {
  if (isRecord(object) && typeof object.kind === 'string' && object.kind.endsWith('List') && object.apiVersion === 'v1' && Array.isArray(object.items)) {
    return object.items.flatMap((item: unknown) => objectsOf(item));
  }
  return [object];
}

/**
 * Lints files and directories, writing one line per problem, note or
 * skipped document and a summary line. Never throws for bad input.
 */
export async function lintPaths(paths: readonly string[], write: (line: string) => void, options: LintOptions = {}): Promise<LintSummary> {
  const summary: LintSummary = { files: 0, rollouts: 0, others: 0, invalid: 0, problems: 0, skipped: 0, notes: 0 };
  const files: string[] = [];
  const seen = new Set<string>();
  for (const arg of paths) {
    await collect(
      arg,
      (file, real) => {
        if (seen.has(real)) return;
        seen.add(real);
        files.push(file);
      },
      (text) => {
        write(text);
      },
      (text) => {
        summary.problems++;
        write(text);
      },
    );
  }

  // Every file is read first: a Rollout's templates may be in any of them, and an object may be defined twice across them.
  const loaded: { file: string; parsed?: ParsedManifests; refused: Map<number, SyncProblem>; error?: unknown }[] = [];
  for (const file of files) {
    try {
      const read = await readManifestFile(file);
      if ('problem' in read) {
        loaded.push({ file, parsed: { documents: [], errors: [{ file, message: read.problem }] }, refused: new Map() });
        continue;
      }
      const parsed = parseManifests(read.content, file);
      loaded.push({ file, parsed, refused: refusedDocuments(read.content, parsed) });
    } catch (err) {
      loaded.push({ file, refused: new Map(), error: err });
    }
  }
  const walkable = (entry: (typeof loaded)[number]): ManifestDocument[] => (entry.parsed?.documents ?? []).filter((d) => !entry.refused.has(d.index));
  const templates = loaded.flatMap((entry) => walkable(entry).flatMap((d) => objectsOf(d.object).flatMap((object) => definedTemplate(object) ?? [])));
  // An object defined twice: within a file; across all the files with --self-contained (one desired state, as a commit is to Git sync).
  const duplicates = new Map<string, SyncProblem[]>();
  const states = options.selfContained === true ? [loaded] : loaded.map((entry) => [entry]);
  for (const state of states) {
    for (const problem of duplicateProblems(state.flatMap((entry) => walkable(entry).flatMap((d) => asSyncDocument(d) ?? [])))) {
      const key = `${problem.file}\0${String(problem.index)}`;
      duplicates.set(key, [...(duplicates.get(key) ?? []), problem]);
    }
  }
  const context: LintContext = { summary, templates, selfContained: options.selfContained === true };

  for (const { file, parsed, refused: refusedDocs, error } of loaded) {
    summary.files++;
    const findings: Finding[] = [];
    const report = (line: number, text: string): void => {
      findings.push({ line, text: `${file}:${line}: ${text}` });
    };
    try {
      if (parsed === undefined) throw error;
      for (const e of parsed.errors) {
        summary.problems++;
        if (e.line === undefined) findings.push({ line: 0, text: `${file}: ${e.message}` });
        else report(e.line, e.message);
      }
      for (const document of parsed.documents) {
        const refused = refusedDocs.get(document.index);
        if (refused !== undefined) {
          summary.problems++;
          report(refused.line, refused.message);
          continue;
        }
        for (const duplicate of duplicates.get(`${file}\0${String(document.index)}`) ?? []) {
          summary.problems++;
          report(duplicate.line, duplicate.message);
        }
        lintObject(document.object, [], document, context, report);
      }
    } catch (err) {
      summary.problems++;
      findings.push({ line: 0, text: `${file}: could not be checked: ${err instanceof Error ? err.message : String(err)}` });
    }
    findings.sort((a, b) => a.line - b.line);
    for (const f of findings) write(f.text);
  }

  const parts = [
    plural(summary.files, 'file'),
    `${plural(summary.rollouts, 'Rollout')}${summary.others > 0 ? ` and ${plural(summary.others, 'other object')}` : ''}${summary.invalid > 0 ? ` (${summary.invalid} invalid)` : ''}`,
    plural(summary.problems, 'problem'),
    `${summary.skipped} skipped`,
    ...(summary.notes > 0 ? [plural(summary.notes, 'note')] : []),
  ];
  write(`weir lint: ${parts.join(', ')}`);
  return summary;
}

/** The templates a Rollout names that the linted files do not define: notes, or problems with --self-contained. */
function lintTemplateReferences(
  rollout: Record<string, unknown>,
  prefix: PathSegment[],
  document: ManifestDocument,
  context: LintContext,
  report: (line: number, text: string) => void,
): number {
  const meta = rollout.metadata;
  const namespace = isRecord(meta) && typeof meta.namespace === 'string' && meta.namespace !== '' ? meta.namespace : undefined;
  let problems = 0;
  for (const ref of templateReferences(rollout)) {
    if (holdsTemplate(context.templates, ref, namespace)) continue;
    const path = [...prefix, ...ref.path];
    const what = `${ref.kind} ${JSON.stringify(ref.name)}`;
    const hint = templateHint(context.templates, ref, namespace, 'the linted files');
    if (context.selfContained) {
      problems++;
      report(lineOf(document, path), `${formatFieldPath(path)}: ${what} is not in the linted files, which --self-contained says hold every template${hint}`);
      continue;
    }
    context.summary.notes++;
    const cluster = ref.kind === 'ClusterAnalysisTemplate' ? 'the cluster' : namespace === undefined ? "the Rollout's namespace of the cluster" : `namespace ${JSON.stringify(namespace)} of the cluster`;
    report(lineOf(document, path), `${formatFieldPath(path)}: note: ${what} is not in the linted files, so it must be in ${cluster} (Git sync refuses a commit otherwise)${hint}`);
  }
  return problems;
}

function lintObject(
  object: unknown,
  prefix: PathSegment[],
  document: ManifestDocument,
  context: LintContext,
  report: (line: number, text: string) => void,
): void {
  const { summary } = context;
  const line = lineOf(document, prefix);
  if (object === null || object === undefined) return; // an empty document
  if (!isRecord(object)) {
    summary.problems++;
    report(line, `${formatFieldPath(prefix) || 'document'}: not a Kubernetes object (expected a mapping with apiVersion and kind)`);
    return;
  }
  // A v1 List (kubectl's multi-object form): check its items.
  if (typeof object.kind === 'string' && object.kind.endsWith('List') && object.apiVersion === 'v1' && Array.isArray(object.items)) {
    object.items.forEach((item: unknown, i) => {
      lintObject(item, [...prefix, 'items', i], document, context, report);
    });
    return;
  }
  const tooLarge = annotationsProblem(object);
  if (tooLarge !== undefined) {
    summary.problems++;
    report(lineOf(document, [...prefix, ...parseFieldPath(tooLarge.field)]), `${formatFieldPath([...prefix, ...parseFieldPath(tooLarge.field)])}: ${tooLarge.message}`);
  }
  if (!isCheckedKind(object)) {
    // A kind of weir.dev or of Argo Rollouts that Weir does not know is refused, as Git sync refuses it.
    const unknown = kindProblem(object.apiVersion, object.kind);
    if (unknown !== undefined) {
      summary.problems++;
      summary.others++;
      summary.invalid++;
      const path = [...prefix, unknown.field];
      report(lineOf(document, path), `${formatFieldPath(path)}: ${unknown.message}`);
      return;
    }
    summary.skipped++;
    if (typeof object.apiVersion === 'string' && typeof object.kind === 'string') report(line, `skipped: ${kindLabel(object)} is not a kind weir lint knows`);
    else report(line, 'skipped: not a Kubernetes object (no apiVersion and kind)');
    return;
  }
  const kind = String(object.kind);
  if (kind === 'Rollout') summary.rollouts++;
  else summary.others++;
  const validate = WEIR_VALIDATORS[kind];
  if (validate === undefined) return;
  const converted = isArgoKind(object) ? convertArgoObject(object) : object;
  const result = validate(converted);
  for (const error of result.errors) {
    summary.problems++;
    const path = [...prefix, ...parseFieldPath(error.path)];
    report(lineOf(document, path), `${formatFieldPath(path) || 'document'}: ${error.message}`);
  }
  const missing = kind === 'Rollout' ? lintTemplateReferences(converted, prefix, document, context, report) : 0;
  summary.problems += missing;
  if (result.errors.length > 0 || missing > 0) summary.invalid++;
}

/** Adds `weir lint PATH...` to the program. */
export function registerLintCommand(program: Command): void {
  program
    .command('lint')
    .description(
      'check Weir manifests (Rollouts, GitSources, analysis templates; weir.dev and argoproj.io) without a cluster, PromQL queries and the templates Rollouts name included: prints file:line: field: reason per problem; exit code 1 when any is invalid',
    )
    .argument('<paths...>', 'YAML files, or directories searched recursively for .yaml/.yml files')
    .option(
      '--self-contained',
      'the files are the whole desired state: an analysis template a Rollout names that they do not define is a problem (exit 1), as Git sync refuses a commit naming a template that is in neither the commit nor the cluster; without it, a note',
    )
    .addHelpText(
      'after',
      `
PromQL queries of analysis templates are parsed with Prometheus' own grammar;
{{args.x}} placeholders may stand for any value.

A templateName a Rollout names is looked for among all the linted files: an
AnalysisTemplate in the Rollout's namespace (unset on either side matches) or,
with clusterScope: true, a ClusterAnalysisTemplate. Lint does not read the
cluster, so one that is not there is a note ("file:line: field: note: ..."),
since the template may live in the cluster; notes do not change the exit code.
With --self-contained it is a problem.`,
    )
    .action(async (paths: string[], options: { selfContained?: boolean }) => {
      // A reader that goes away (`weir lint . | head`) ends the output, not the process.
      let closed = false;
      process.stdout.on('error', () => {
        closed = true;
      });
      const summary = await lintPaths(
        paths,
        (line) => {
          if (!closed) process.stdout.write(`${line}\n`);
        },
        { selfContained: options.selfContained === true },
      );
      process.exitCode = summary.problems > 0 ? 1 : 0;
    });
}
