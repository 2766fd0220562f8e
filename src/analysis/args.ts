// Analysis arguments, pure: merging a template's args with those a Rollout
// passes, the Rollout-side sources (podTemplateHashValue, fieldRef), and the
// `{{args.<name>}}` substitution into a metric, as Argo Rollouts does
// (utils/analysis/helpers.go MergeArgs and flattenArgs,
// utils/analysis/factory.go BuildArgumentsForRolloutAnalysisRun,
// utils/template/template.go).
//
// - Several templates: their args are combined by name; the same name with
//   two different values is an error, a value beats no value (flattenArgs).
// - A Rollout's arg overrides the template's arg of that name; Rollout args
//   the templates do not declare are ignored (MergeArgs). A template arg
//   without a value that the Rollout does not set is an error: "missing
//   argument x". Weir: a Rollout arg with neither value nor valueFrom sets
//   nothing (Argo would set the empty string).
// - podTemplateHashValue Stable/Latest is the pod template hash of the stable
//   / latest ReplicaSet (status.stableRS / status.currentPodHash, unless the
//   caller knows better); fieldRef reads a field of the Rollout:
//   metadata.name, metadata.namespace, metadata.uid,
//   metadata.labels['k'], metadata.annotations['k'], or any path into the
//   Rollout such as status.canary.weights.canary.weight. Weir: a field that
//   is missing (a label, an unknown hash) is an error, never "".
// - `{{args.name}}` (spaces inside the braces allowed) is replaced by the
//   value as it is; any other `{{...}}`, an unknown argument or a `{{`
//   without `}}` is an error. A secretKeyRef argument's value is read by the
//   caller (I/O) and passed in.
import { scanPlaceholders } from '../api/index.ts';
import type { Argument, Metric, Rollout, RolloutAnalysis } from '../api/index.ts';

/** An argument as a Rollout passes it (spec.strategy.canary.analysis.args and the steps'). */
export type RolloutArgument = NonNullable<RolloutAnalysis['args']>[number];

/** An argument that cannot be resolved or substituted; the message says which and why. */
export class ArgumentError extends Error {
  override readonly name = 'ArgumentError';
}

export interface ArgumentContext {
  /** The Rollout the run is for: fieldRef reads it. */
  rollout: Rollout;
  /** Pod template hash of the stable ReplicaSet (default: status.stableRS). */
  stableHash?: string | undefined;
  /** Pod template hash of the latest ReplicaSet (default: status.currentPodHash). */
  latestHash?: string | undefined;
}

function copyArg(arg: Argument): Argument {
  const out: Argument = { name: arg.name };
  if (arg.value !== undefined) out.value = arg.value;
  if (arg.valueFrom !== undefined) {
    out.valueFrom = {};
    if (arg.valueFrom.secretKeyRef) out.valueFrom.secretKeyRef = { ...arg.valueFrom.secretKeyRef };
    if (arg.valueFrom.fieldRef) out.valueFrom.fieldRef = { ...arg.valueFrom.fieldRef };
  }
  return out;
}

/**
 * The args of several templates as one list (Argo's flattenArgs): in order of
 * first appearance; an arg declared again takes the later declaration only
 * when the earlier has no value; two different values are an error.
 */
export function flattenTemplateArgs(lists: readonly (readonly Argument[])[]): Argument[] {
  const out: Argument[] = [];
  for (const list of lists) {
    for (const arg of list) {
      const i = out.findIndex((a) => a.name === arg.name);
      const previous = out[i];
      if (previous === undefined) {
        out.push(copyArg(arg));
        continue;
      }
      if (previous.value !== undefined && arg.value !== undefined && previous.value !== arg.value) {
        throw new ArgumentError(`argument ${JSON.stringify(arg.name)} is declared by two templates with different values: ${JSON.stringify(previous.value)} and ${JSON.stringify(arg.value)}`);
      }
      if (previous.value === undefined) out[i] = copyArg(arg);
    }
  }
  return out;
}

/** A value of the Rollout by field path (metadata.labels['k'], status.stableRS, ...). */
export function rolloutFieldValue(rollout: Rollout, fieldPath: string): string {
  const meta = /^metadata\.(labels|annotations)\['([^']+)'\]$/.exec(fieldPath);
  if (meta) {
    const [, map = '', key = ''] = meta;
    const values = map === 'labels' ? rollout.metadata.labels : rollout.metadata.annotations;
    const value = values?.[key];
    if (value === undefined) throw new ArgumentError(`the Rollout has no ${map === 'labels' ? 'label' : 'annotation'} ${JSON.stringify(key)} (${fieldPath})`);
    return value;
  }
  let node: unknown = rollout;
  for (const section of fieldPath.split(/[.[\]]+/)) {
    if (section === '') continue;
    if (Array.isArray(node)) {
      if (!/^\d+$/.test(section)) throw new ArgumentError(`${fieldPath}: ${JSON.stringify(section)} is not an index`);
      node = node[Number(section)];
    } else if (typeof node === 'object' && node !== null) {
      node = (node as Record<string, unknown>)[section.replace(/^'(.*)'$/, '$1')];
    } else {
      node = undefined;
    }
    if (node === undefined) break;
  }
  if (node === undefined || node === null) throw new ArgumentError(`the Rollout has no field ${fieldPath}`);
  if (typeof node === 'object') throw new ArgumentError(`${fieldPath} must lead to a single value, not ${Array.isArray(node) ? 'a list' : 'an object'}`);
  if (typeof node === 'string') return node;
  if (typeof node === 'number' || typeof node === 'boolean' || typeof node === 'bigint') return String(node);
  throw new ArgumentError(`${fieldPath} must lead to a single value`);
}

/** The value a Rollout passes for an argument; undefined when it sets neither value nor valueFrom. */
export function rolloutArgValue(arg: RolloutArgument, context: ArgumentContext): string | undefined {
  const what = `argument ${JSON.stringify(arg.name)}`;
  if (arg.value !== undefined) return arg.value;
  const from = arg.valueFrom;
  if (from?.podTemplateHashValue !== undefined) {
    const stable = from.podTemplateHashValue === 'Stable';
    const hash = stable ? (context.stableHash ?? context.rollout.status?.stableRS) : (context.latestHash ?? context.rollout.status?.currentPodHash);
    if (hash === undefined || hash === '') {
      throw new ArgumentError(
        stable
          ? `${what}: podTemplateHashValue Stable, but the Rollout has no stable ReplicaSet yet (status.stableRS)`
          : `${what}: podTemplateHashValue Latest, but the Rollout has no latest ReplicaSet yet (status.currentPodHash)`,
      );
    }
    return hash;
  }
  if (from?.fieldRef !== undefined) {
    try {
      return rolloutFieldValue(context.rollout, from.fieldRef.fieldPath);
    } catch (err) {
      throw new ArgumentError(`${what}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  return undefined;
}

/**
 * The run's arguments: the template's (flattened) with the Rollout's values
 * over them. Each has a value, or a secretKeyRef the caller reads when
 * measuring. A template fieldRef reads the Rollout too (Weir). Throws an
 * ArgumentError naming every argument that is missing.
 */
export function resolveArgs(templateArgs: readonly Argument[], rolloutArgs: readonly RolloutArgument[], context: ArgumentContext): Argument[] {
  const provided = new Map<string, string>();
  for (const arg of rolloutArgs) {
    const value = rolloutArgValue(arg, context);
    if (value !== undefined) provided.set(arg.name, value);
  }
  const missing: string[] = [];
  const out = templateArgs.map((arg): Argument => {
    const value = provided.get(arg.name);
    if (value !== undefined) return { name: arg.name, value };
    if (arg.value !== undefined && arg.valueFrom === undefined) return { name: arg.name, value: arg.value };
    if (arg.valueFrom?.secretKeyRef) return { name: arg.name, valueFrom: { secretKeyRef: { ...arg.valueFrom.secretKeyRef } } };
    if (arg.valueFrom?.fieldRef) {
      try {
        return { name: arg.name, value: rolloutFieldValue(context.rollout, arg.valueFrom.fieldRef.fieldPath) };
      } catch (err) {
        throw new ArgumentError(`argument ${JSON.stringify(arg.name)}: ${err instanceof Error ? err.message : String(err)}`);
      }
    }
    if (arg.value !== undefined) return { name: arg.name, value: arg.value };
    missing.push(arg.name);
    return copyArg(arg);
  });
  if (missing.length > 0) {
    const names = missing.map((n) => JSON.stringify(n)).join(', ');
    throw new ArgumentError(
      `missing argument${missing.length > 1 ? 's' : ''} ${names}: the template declares ${missing.length > 1 ? 'them' : 'it'} without a value and the Rollout's analysis args do not set ${missing.length > 1 ? 'them' : 'it'}`,
    );
  }
  return out;
}

/**
 * The values to substitute, by argument name. `secretValue` reads a
 * secretKeyRef (the caller's I/O); an argument it cannot give a value is an
 * ArgumentError.
 */
export function argValues(args: readonly Argument[], secretValue?: (ref: { name: string; key: string }) => string | undefined): Map<string, string> {
  const values = new Map<string, string>();
  const unresolved: string[] = [];
  for (const arg of args) {
    const ref = arg.valueFrom?.secretKeyRef;
    const value = ref ? secretValue?.(ref) : arg.value;
    if (value === undefined) unresolved.push(ref ? `${JSON.stringify(arg.name)} (Secret ${ref.name}, key ${ref.key})` : JSON.stringify(arg.name));
    else values.set(arg.name, value);
  }
  if (unresolved.length > 0) throw new ArgumentError(`argument${unresolved.length > 1 ? 's' : ''} without a value: ${unresolved.join(', ')}`);
  return values;
}

/** The argument names a text refers to with `{{args.<name>}}`, each once, in order. */
export function referencedArgs(text: string): string[] {
  const names: string[] = [];
  for (const p of scanPlaceholders(text).placeholders) if (p.arg !== undefined && !names.includes(p.arg)) names.push(p.arg);
  return names;
}

export interface SubstituteOptions {
  /** Applied to each value before it goes in, e.g. promqlEscape inside a PromQL string. */
  escape?: (value: string) => string;
}

/**
 * The text with every `{{args.<name>}}` replaced by the argument's value.
 * Throws an ArgumentError for an argument not in `values`, a placeholder
 * other than `{{args.<name>}}`, or a `{{` without `}}`.
 */
export function substituteArgs(text: string, values: ReadonlyMap<string, string>, options: SubstituteOptions = {}): string {
  const scan = scanPlaceholders(text);
  const problems: string[] = [];
  let out = '';
  let from = 0;
  for (const p of scan.placeholders) {
    out += text.slice(from, p.start);
    from = p.end;
    if (p.arg === undefined) {
      problems.push(`{{${p.tag}}} is not an argument placeholder: write {{args.<name>}}`);
      continue;
    }
    const value = values.get(p.arg);
    if (value === undefined) {
      const known = values.size === 0 ? 'none' : [...values.keys()].join(', ');
      problems.push(`unknown argument ${JSON.stringify(p.arg)} in {{${p.tag}}} (arguments: ${known})`);
      continue;
    }
    out += options.escape ? options.escape(value) : value;
  }
  if (scan.unterminated !== undefined) problems.push(`"{{" at position ${scan.unterminated} has no closing "}}"`);
  if (problems.length > 0) throw new ArgumentError([...new Set(problems)].join('; '));
  return out + text.slice(from);
}

function substituteDeep(value: unknown, values: ReadonlyMap<string, string>, path: string): unknown {
  if (typeof value === 'string') {
    try {
      return substituteArgs(value, values);
    } catch (err) {
      throw new ArgumentError(`${path}: ${err instanceof Error ? err.message : String(err)}`);
    }
  }
  if (Array.isArray(value)) return value.map((item: unknown, i) => substituteDeep(item, values, `${path}[${i}]`));
  if (typeof value === 'object' && value !== null) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) out[key] = substituteDeep(item, values, path === '' ? key : `${path}.${key}`);
    return out;
  }
  return value;
}

/**
 * The metric with `{{args.<name>}}` replaced in every string of it (query,
 * address, headers, conditions, count, ...), as Argo resolves a metric before
 * measuring. Values go in as they are; errors name the field.
 */
export function substituteMetric(metric: Metric, values: ReadonlyMap<string, string>): Metric {
  return substituteDeep(metric, values, '') as Metric;
}

/** The value escaped for a PromQL double-quoted string: `\` → `\\`, `"` → `\"`, newlines as \n and \r. */
export function promqlEscape(value: string): string {
  return value.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n').replace(/\r/g, '\\r');
}

/** The value as a PromQL string literal, quotes included: `promqlString('a"b')` → `"a\"b"`. */
export function promqlString(value: string): string {
  return `"${promqlEscape(value)}"`;
}
