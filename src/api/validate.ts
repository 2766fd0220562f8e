// Validation of a Rollout: the schema (TypeBox, the same one the CRD comes
// from) plus the cross-field rules Argo Rollouts' controller applies
// (pkg/apis/rollouts/validation), plus what Weir does not support. It never
// throws: whatever the input, it returns the list of problems, each with a
// field path such as `spec.strategy.canary.steps[2].setWeight`.
//
// Nulls are dropped before anything is checked, as the Kubernetes API server
// drops null fields of a custom resource (`nullable` is never set here), so
// `paused: null` means the same as leaving `paused` out.
//
// Rules beyond the schema's types (Argo's unless marked Weir):
// - apiVersion weir.dev/v1alpha1 or argoproj.io/v1alpha1; metadata.name set,
//   names and labels in Kubernetes syntax; unknown fields reported (Weir).
// - spec: replicas, minReadySeconds, revisionHistoryLimit,
//   progressDeadlineSeconds ≥ 0; progressDeadlineSeconds (default 600) >
//   minReadySeconds; selector required, non-empty, valid, matching the
//   template's labels; template with ≥ 1 container (name, image), restart
//   policy Always; workloadRef and rollbackWindow not supported (Weir).
// - strategy: exactly one of canary and blueGreen
//   (Weir), still checked for active ≠ preview and scaleDownDelayRevisionLimit
//   ≤ revisionHistoryLimit.
// - canary: maxSurge/maxUnavailable an integer ≥ 0 or "N%" with N ≤ 100, not
//   both 0; canaryService ≠ stableService, both required with trafficRouting
//   (Weir: Argo requires them only for some routers); scaleDownDelaySeconds
//   only with trafficRouting; dynamicStableScale: true not supported (Weir);
//   *DelaySeconds ≥ 0 (Weir); antiAffinity and pingPong not supported (Weir).
// - trafficRouting: the routers of src/traffic (nginx, istio, smi, traefik,
//   plugins["argoproj-labs/gatewayAPI"]), each section checked by its router;
//   other routers and plugins, and maxTrafficWeight, not supported (Weir).
//   setHeaderRoute / setMirrorRoute: the route listed in managedRoutes, and
//   within what every configured router can hold (src/traffic/steps.ts).
// - steps: exactly one action each (Weir counts setCanaryScale too); setWeight
//   0..100; pause duration ≥ 0 and parseable; setCanaryScale needs
//   trafficRouting and exactly one of weight (0..100), replicas (≥ 0),
//   matchTrafficWeight; experiment and plugin steps not supported (Weir).
// - analysis (steps and background): ≥ 1 template, templateName set and not
//   listed twice, argument names unique, value xor valueFrom, valueFrom with
//   one source, fieldRef paths into metadata the downward API offers;
//   background startingStep within the steps (Weir).
import type { TLocalizedValidationError } from 'typebox/error';
import { Settings } from 'typebox/system';
import Value from 'typebox/value';
import {
  AnalysisRun,
  AnalysisTemplate,
  ClusterAnalysisTemplate,
  JUDGE_DEFAULTS,
  SUPPORTED_PROVIDERS,
  UNSUPPORTED_PROVIDERS,
  hasPlaceholder,
  scanPlaceholders,
} from './analysis.ts';
import { API_VERSION, ARGO_API_VERSION } from './common.ts';
import { parseDuration } from './duration.ts';
import { labelNameProblem, labelValueProblem, qualifiedNameProblem, serviceNameProblem, subdomainProblem, unknownFieldMessage } from './names.ts';
import { GitSource } from './gitsource.ts';
import { checkContainerFields } from './pod-template.ts';
import { Rollout } from './rollout.ts';
import { routersOf, type ConfiguredRouter } from '../traffic/index.ts';
import { managedRouteProblems, type RouteStep } from '../traffic/steps.ts';

export interface FieldError {
  /** Field path, e.g. `spec.strategy.canary.steps[2].setWeight`; `""` for the object itself. */
  path: string;
  /** What is wrong, e.g. `must be between 0 and 100`. */
  message: string;
}

export interface ValidationResult {
  /** The Rollout (nulls dropped), when there are no errors. */
  rollout?: Rollout;
  errors: FieldError[];
}

export type PathSegment = string | number;

export { GATEWAY_API_PLUGIN } from '../traffic/index.ts';

/** Canary step actions Weir runs. */
export const SUPPORTED_STEP_ACTIONS = ['setWeight', 'pause', 'setCanaryScale', 'analysis', 'setHeaderRoute', 'setMirrorRoute'] as const;
/** Canary step actions Argo Rollouts has and Weir does not. */
export const UNSUPPORTED_STEP_ACTIONS = ['experiment', 'plugin'] as const;
const STEP_ACTIONS: readonly string[] = [...SUPPORTED_STEP_ACTIONS, ...UNSUPPORTED_STEP_ACTIONS];

const DEFAULT_PROGRESS_DEADLINE_SECONDS = 600;
const DEFAULT_REVISION_HISTORY_LIMIT = 10;

// ---------------------------------------------------------------------------
// Field paths

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_-]*$/;

/** `['spec', 'steps', 2, 'setWeight']` → `spec.steps[2].setWeight`; other keys as `["a/b"]`. */
export function formatFieldPath(segments: readonly PathSegment[]): string {
  let out = '';
  for (const segment of segments) {
    if (typeof segment === 'number') out += `[${segment}]`;
    else if (IDENTIFIER.test(segment)) out += out === '' ? segment : `.${segment}`;
    else out += `[${JSON.stringify(segment)}]`;
  }
  return out;
}

/** The inverse of formatFieldPath. Stops at the first part it cannot read. */
export function parseFieldPath(path: string): PathSegment[] {
  const segments: PathSegment[] = [];
  const token = /(?:^|\.)([A-Za-z_][A-Za-z0-9_-]*)|\[(\d+)\]|\[("(?:[^"\\]|\\.)*")\]/y;
  token.lastIndex = 0;
  while (token.lastIndex < path.length) {
    const start = token.lastIndex;
    const m = token.exec(path);
    if (!m || token.lastIndex === start) break;
    if (m[1] !== undefined) segments.push(m[1]);
    else if (m[2] !== undefined) segments.push(Number(m[2]));
    else if (m[3] !== undefined) segments.push(JSON.parse(m[3]) as string);
  }
  return segments;
}

// ---------------------------------------------------------------------------
// Small helpers over unknown values

type Obj = Record<string, unknown>;

function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
function int(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) ? value : undefined;
}
function str(value: unknown): string | undefined {
  return typeof value === 'string' ? value : undefined;
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'an object';
  if (typeof value === 'string') return value.length > 40 ? `string ${JSON.stringify(value.slice(0, 40))}…` : `string ${JSON.stringify(value)}`;
  if (typeof value === 'number' || typeof value === 'boolean' || typeof value === 'bigint') return String(value);
  return typeof value;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  integer: 'an integer',
  number: 'a number',
  string: 'a string',
  boolean: 'a boolean (true or false)',
  object: 'an object',
  array: 'a list',
  null: 'null',
};

function joinOr(items: readonly string[]): string {
  if (items.length <= 1) return items.join('');
  return `${items.slice(0, -1).join(', ')} or ${items[items.length - 1] ?? ''}`;
}

// ---------------------------------------------------------------------------
// Collecting errors

class Problems {
  readonly errors: FieldError[] = [];
  readonly #seen = new Set<string>();

  add(path: readonly PathSegment[], message: string): void {
    const formatted = formatFieldPath(path);
    const key = `${formatted}\u0000${message}`;
    if (this.#seen.has(key)) return;
    this.#seen.add(key);
    this.errors.push({ path: formatted, message });
  }
}

class CycleError extends Error {
  readonly path: PathSegment[];
  constructor(path: PathSegment[]) {
    super('the value refers to itself');
    this.path = path;
  }
}

/** A deep copy without null-valued object fields (paths of dropped nulls go to `dropped`). */
function dropNulls(value: unknown, path: PathSegment[], dropped: Set<string>, ancestors: Set<object>): unknown {
  if (typeof value !== 'object' || value === null) return value;
  if (ancestors.has(value)) throw new CycleError(path);
  ancestors.add(value);
  try {
    if (Array.isArray(value)) return value.map((item: unknown, i) => dropNulls(item, [...path, i], dropped, ancestors));
    const out: Obj = {};
    for (const [key, item] of Object.entries(value)) {
      if (item === null) {
        dropped.add(formatFieldPath([...path, key]));
        continue;
      }
      out[key] = dropNulls(item, [...path, key], dropped, ancestors);
    }
    return out;
  } finally {
    ancestors.delete(value);
  }
}

// ---------------------------------------------------------------------------
// Schema errors, collapsed into one message per field

type SchemaNode = Record<string, unknown>;

function unescapePointer(part: string): string {
  return part.replace(/~1/g, '/').replace(/~0/g, '~');
}

/** The schema node a TypeBox schemaPath (`#/properties/spec/...`) points at. */
function schemaAt(root: unknown, schemaPath: string): SchemaNode | undefined {
  let node: unknown = root;
  for (const part of schemaPath.replace(/^#\/?/, '').split('/')) {
    if (part === '') continue;
    if (Array.isArray(node)) node = node[Number(part)];
    else if (isObj(node)) node = node[unescapePointer(part)];
    else return undefined;
  }
  return isObj(node) ? node : undefined;
}

/** Path segments for a JSON pointer into `value` (array indexes become numbers). */
function segmentsOf(value: unknown, instancePath: string): { segments: PathSegment[]; found: unknown } {
  const segments: PathSegment[] = [];
  let node: unknown = value;
  for (const raw of instancePath.split('/').slice(1)) {
    const part = unescapePointer(raw);
    if (Array.isArray(node) && /^\d+$/.test(part)) {
      segments.push(Number(part));
      node = node[Number(part)];
    } else {
      segments.push(part);
      node = isObj(node) ? node[part] : undefined;
    }
  }
  return { segments, found: node };
}

function rangeMessage(node: SchemaNode | undefined, keyword: string, limit: unknown): string {
  const min = node?.minimum ?? node?.exclusiveMinimum;
  const max = node?.maximum ?? node?.exclusiveMaximum;
  if (typeof min === 'number' && typeof max === 'number' && node?.minimum !== undefined && node.maximum !== undefined) return `must be between ${min} and ${max}`;
  if (keyword === 'minimum' && limit === 0) return 'must not be negative';
  if (keyword === 'minimum') return `must be at least ${String(limit)}`;
  if (keyword === 'maximum') return `must be at most ${String(limit)}`;
  if (keyword === 'exclusiveMinimum') return `must be greater than ${String(limit)}`;
  return `must be less than ${String(limit)}`;
}

function errorMessage(error: TLocalizedValidationError, root: unknown, found: unknown): string {
  const node = schemaAt(root, error.schemaPath);
  switch (error.keyword) {
    case 'type': {
      const expected = Array.isArray(error.params.type) ? error.params.type.map((t) => TYPE_NAMES[t] ?? t) : [TYPE_NAMES[error.params.type] ?? error.params.type];
      return `must be ${joinOr(expected)} (got ${describe(found)})`;
    }
    case 'minimum':
    case 'maximum':
    case 'exclusiveMinimum':
    case 'exclusiveMaximum':
      return rangeMessage(node, error.keyword, error.params.limit);
    case 'format':
      if (error.params.format === 'date-time') return `must be an RFC 3339 date-time such as "2024-05-01T12:00:00Z" (got ${describe(found)})`;
      return `must be a valid ${error.params.format}`;
    case 'const':
      return `must be ${JSON.stringify(error.params.allowedValue)} (got ${describe(found)})`;
    case 'enum':
      return `must be one of ${joinOr(error.params.allowedValues.map((v) => JSON.stringify(v)))} (got ${describe(found)})`;
    case 'minItems':
      return error.params.limit === 1 ? 'must not be empty' : `must have at least ${error.params.limit} items`;
    case 'maxItems':
      return `must have at most ${error.params.limit} items`;
    case 'minLength':
      return error.params.limit === 1 ? 'must not be empty' : `must be at least ${error.params.limit} characters`;
    case 'maxLength':
      return `must be at most ${error.params.limit} characters`;
    case 'pattern':
      return `must match ${error.params.pattern}`;
    default:
      return error.message;
  }
}

/** One message for a value that matches none of a union's members. */
function unionMessage(union: SchemaNode | undefined, branchErrors: TLocalizedValidationError[], instancePath: string, root: unknown, found: unknown): string {
  // A member whose type matched but whose constraint failed (e.g. a negative
  // integer for a Duration) says more than "must be an integer or a string".
  const constraint = branchErrors.find((e) => e.instancePath === instancePath && !['type', 'const', 'anyOf', 'enum'].includes(e.keyword));
  if (constraint) return errorMessage(constraint, root, found);
  const members = Array.isArray(union?.anyOf) ? (union.anyOf as unknown[]).filter(isObj) : [];
  if (members.length > 0 && members.every((m) => 'const' in m)) {
    return `must be one of ${joinOr(members.map((m) => JSON.stringify(m.const)))} (got ${describe(found)})`;
  }
  const names = [...new Set(members.map((m) => (typeof m.type === 'string' ? (TYPE_NAMES[m.type] ?? m.type) : 'a valid value')))];
  if (names.length > 0) return `must be ${joinOr(names)} (got ${describe(found)})`;
  return `is not valid (got ${describe(found)})`;
}

/** Runs Value.Errors with room for every error (TypeBox keeps 8 by default). */
function allErrors(schema: unknown, value: unknown): TLocalizedValidationError[] {
  const previous = Settings.Get().maxErrors;
  Settings.Set({ maxErrors: 10_000 });
  try {
    return Value.Errors(schema as Parameters<typeof Value.Errors>[0], value);
  } finally {
    Settings.Set({ maxErrors: previous });
  }
}

/** Schema errors of `value` against `schema`, reported under `prefix`. */
function schemaErrors(schema: unknown, value: unknown, prefix: readonly PathSegment[], problems: Problems): void {
  const errors = allErrors(schema, value);
  const consumed = new Set<TLocalizedValidationError>();
  // Outer unions first, so a union's members' errors fold into its one message.
  const unions = errors.filter((e) => e.keyword === 'anyOf').sort((a, b) => a.schemaPath.length - b.schemaPath.length);
  for (const union of unions) {
    if (consumed.has(union)) continue;
    const memberPrefix = `${union.schemaPath}/anyOf/`;
    const members = errors.filter((e) => e.schemaPath.startsWith(memberPrefix));
    for (const e of members) consumed.add(e);
    consumed.add(union);
    const { segments, found } = segmentsOf(value, union.instancePath);
    problems.add([...prefix, ...segments], unionMessage(schemaAt(schema, union.schemaPath), members, union.instancePath, schema, found));
  }
  for (const error of errors) {
    if (consumed.has(error)) continue;
    const { segments, found } = segmentsOf(value, error.instancePath);
    if (error.keyword === 'required') {
      for (const property of error.params.requiredProperties) problems.add([...prefix, ...segments, property], 'required');
      continue;
    }
    problems.add([...prefix, ...segments], errorMessage(error, schema, found));
  }
}

// ---------------------------------------------------------------------------
// Unknown fields (which the API server would silently drop)

function unknownFields(schema: unknown, value: unknown, path: PathSegment[], problems: Problems, skip: ReadonlySet<string> = new Set()): void {
  if (!isObj(schema) || schema['x-kubernetes-preserve-unknown-fields'] === true || 'anyOf' in schema) return;
  if (schema.type === 'array' && Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      unknownFields(schema.items, item, [...path, i], problems);
    });
    return;
  }
  if (schema.type !== 'object' || !isObj(value)) return;
  const properties = isObj(schema.properties) ? schema.properties : {};
  const pattern = isObj(schema.patternProperties) ? Object.values(schema.patternProperties)[0] : undefined;
  for (const [key, item] of Object.entries(value)) {
    if (skip.has(key)) continue;
    if (key in properties) unknownFields(properties[key], item, [...path, key], problems);
    else if (pattern !== undefined) unknownFields(pattern, item, [...path, key], problems);
    else if (schema.additionalProperties !== true) problems.add([...path, key], unknownFieldMessage(key, Object.keys(properties)));
  }
}

// ---------------------------------------------------------------------------
// Cross-field rules

interface Context {
  problems: Problems;
  /** Paths of null fields dropped before validation. */
  dropped: ReadonlySet<string>;
}

function notSupported(what: string): string {
  return `${what} not supported by Weir`;
}

function checkNonNegative(value: unknown, path: PathSegment[], ctx: Context): void {
  const n = int(value);
  if (n !== undefined && n < 0) ctx.problems.add(path, 'must not be negative');
}

function checkLabels(map: unknown, path: PathSegment[], ctx: Context, values: boolean): void {
  if (!isObj(map)) return;
  for (const [key, value] of Object.entries(map)) {
    const keyProblem = qualifiedNameProblem(key);
    if (keyProblem) ctx.problems.add([...path, key], `key ${JSON.stringify(key)} ${keyProblem}`);
    if (!values) continue;
    const v = str(value);
    const valueProblem = v === undefined ? undefined : labelValueProblem(v);
    if (valueProblem) ctx.problems.add([...path, key], valueProblem);
  }
}

function checkMetadata(meta: unknown, ctx: Context): void {
  if (!isObj(meta)) return;
  const name = meta.name;
  if (name === undefined) ctx.problems.add(['metadata', 'name'], 'required');
  else if (typeof name === 'string') {
    const problem = name === '' ? 'must not be empty' : subdomainProblem(name);
    if (problem) ctx.problems.add(['metadata', 'name'], problem);
  }
  const namespace = str(meta.namespace);
  if (namespace !== undefined) {
    const problem = namespace === '' ? 'must not be empty' : labelNameProblem(namespace);
    if (problem) ctx.problems.add(['metadata', 'namespace'], problem);
  }
  checkLabels(meta.labels, ['metadata', 'labels'], ctx, true);
  checkLabels(meta.annotations, ['metadata', 'annotations'], ctx, false);
}

type Selector = { matchLabels: Obj; matchExpressions: Obj[] };

function checkSelector(selector: unknown, path: PathSegment[], ctx: Context): Selector | undefined {
  if (!isObj(selector)) return undefined;
  const matchLabels = isObj(selector.matchLabels) ? selector.matchLabels : {};
  const matchExpressions = Array.isArray(selector.matchExpressions) ? selector.matchExpressions.filter(isObj) : [];
  if (Object.keys(matchLabels).length + matchExpressions.length === 0) {
    ctx.problems.add(path, 'must not be empty: set matchLabels or matchExpressions (an empty selector would select every pod)');
  }
  checkLabels(selector.matchLabels, [...path, 'matchLabels'], ctx, true);
  let valid = true;
  if (Array.isArray(selector.matchExpressions)) {
    for (const [i, e] of (selector.matchExpressions as unknown[]).entries()) {
      if (!isObj(e)) continue;
      const at = [...path, 'matchExpressions', i];
      const key = str(e.key);
      if (key !== undefined) {
        const problem = qualifiedNameProblem(key);
        if (problem) ctx.problems.add([...at, 'key'], problem);
      }
      const values = Array.isArray(e.values) ? e.values : [];
      if ((e.operator === 'In' || e.operator === 'NotIn') && values.length === 0) {
        ctx.problems.add([...at, 'values'], `must not be empty for operator ${e.operator}`);
        valid = false;
      }
      if ((e.operator === 'Exists' || e.operator === 'DoesNotExist') && values.length > 0) {
        ctx.problems.add([...at, 'values'], `must be empty for operator ${e.operator}`);
        valid = false;
      }
    }
  }
  // An invalid selector selects nothing sensible: do not also report that it misses the template.
  return valid ? { matchLabels, matchExpressions } : undefined;
}

/** Whether the selector selects pods with these labels; undefined when it cannot tell (an invalid operator, reported by the schema). */
function selectorMatches(selector: Selector, labels: Obj): boolean | undefined {
  for (const [key, value] of Object.entries(selector.matchLabels)) if (labels[key] !== value) return false;
  for (const e of selector.matchExpressions) {
    const key = str(e.key) ?? '';
    const values = Array.isArray(e.values) ? e.values : [];
    const has = Object.hasOwn(labels, key);
    const label = labels[key];
    switch (e.operator) {
      case 'In':
        if (!has || !values.includes(label)) return false;
        break;
      case 'NotIn':
        if (has && values.includes(label)) return false;
        break;
      case 'Exists':
        if (!has) return false;
        break;
      case 'DoesNotExist':
        if (has) return false;
        break;
      default:
        return undefined;
    }
  }
  return true;
}

function checkTemplate(template: unknown, selector: Selector | undefined, ctx: Context): void {
  const at: PathSegment[] = ['spec', 'template'];
  if (!isObj(template)) return;
  const meta = isObj(template.metadata) ? template.metadata : undefined;
  const labels = meta && isObj(meta.labels) ? meta.labels : undefined;
  checkLabels(labels, [...at, 'metadata', 'labels'], ctx, true);
  if (selector && selectorMatches(selector, labels ?? {}) === false) {
    ctx.problems.add([...at, 'metadata', 'labels'], 'must match spec.selector: the selector has to select the pods this template creates');
  }
  const spec = template.spec;
  if (spec === undefined) {
    ctx.problems.add([...at, 'spec'], 'required: the pod spec, with at least one container');
    return;
  }
  if (!isObj(spec)) {
    ctx.problems.add([...at, 'spec'], `must be an object (got ${describe(spec)})`);
    return;
  }
  const names = new Map<string, string>();
  for (const list of ['initContainers', 'containers'] as const) {
    const containers = spec[list];
    if (list === 'containers' && (containers === undefined || (Array.isArray(containers) && containers.length === 0))) {
      ctx.problems.add([...at, 'spec', 'containers'], 'must list at least one container');
      continue;
    }
    if (containers === undefined) continue;
    if (!Array.isArray(containers)) {
      ctx.problems.add([...at, 'spec', list], `must be a list (got ${describe(containers)})`);
      continue;
    }
    containers.forEach((container: unknown, i) => {
      const cat: PathSegment[] = [...at, 'spec', list, i];
      if (!isObj(container)) {
        ctx.problems.add(cat, `must be an object (got ${describe(container)})`);
        return;
      }
      const name = container.name;
      if (name === undefined || name === '') ctx.problems.add([...cat, 'name'], 'required');
      else if (typeof name !== 'string') ctx.problems.add([...cat, 'name'], `must be a string (got ${describe(name)})`);
      else {
        const problem = labelNameProblem(name);
        if (problem) ctx.problems.add([...cat, 'name'], problem);
        const other = names.get(name);
        if (other !== undefined) ctx.problems.add([...cat, 'name'], `duplicate container name ${JSON.stringify(name)} (also ${other})`);
        else names.set(name, formatFieldPath(cat));
      }
      const image = container.image;
      if (image === undefined || (typeof image === 'string' && image.trim() === '')) ctx.problems.add([...cat, 'image'], 'required');
      else if (typeof image !== 'string') ctx.problems.add([...cat, 'image'], `must be a string (got ${describe(image)})`);
      // What the ReplicaSet's validation would refuse mid-rollout: ports, env, quantities, enums (pod-template.ts).
      checkContainerFields(container, cat, (path, message) => {
        ctx.problems.add([...path], message);
      });
    });
  }
  if (spec.restartPolicy !== undefined && spec.restartPolicy !== 'Always') {
    ctx.problems.add([...at, 'spec', 'restartPolicy'], `must be "Always" for a Rollout's pods, as for a Deployment's (got ${describe(spec.restartPolicy)})`);
  }
}

/** An IntOrString that must be a non-negative integer or a percentage from 0% to 100%; returns its value (0 for 0 or "0%"). */
function checkIntOrPercent(value: unknown, path: PathSegment[], ctx: Context): number | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return undefined; // the schema reports it
    if (value < 0) ctx.problems.add(path, 'must not be negative');
    return value;
  }
  if (typeof value !== 'string') return undefined;
  const m = /^([0-9]+)%$/.exec(value);
  if (!m) {
    ctx.problems.add(path, `must be a whole number of pods or a percentage such as "25%" (got ${describe(value)})`);
    return undefined;
  }
  const percent = Number(m[1]);
  if (percent > 100) ctx.problems.add(path, `must be between 0% and 100% (got ${value})`);
  return percent;
}

function checkAnalysis(analysis: unknown, path: PathSegment[], ctx: Context): void {
  if (!isObj(analysis)) return;
  const templates = analysis.templates;
  if (templates === undefined || (Array.isArray(templates) && templates.length === 0)) {
    ctx.problems.add([...path, 'templates'], 'must list at least one analysis template');
  } else if (Array.isArray(templates)) {
    const seen = new Map<string, number>();
    templates.forEach((template: unknown, i) => {
      if (!isObj(template)) return;
      const name = str(template.templateName);
      if (name === undefined) return; // missing or of the wrong type: the schema reports it
      const at = [...path, 'templates', i, 'templateName'];
      const problem = name.trim() === '' ? 'must not be empty' : subdomainProblem(name);
      if (problem) {
        ctx.problems.add(at, problem);
        return;
      }
      const key = `${template.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate'} ${name}`;
      const first = seen.get(key);
      if (first !== undefined) ctx.problems.add(at, `${key} is listed twice (also templates[${first}])`);
      else seen.set(key, i);
    });
  }
  if (Array.isArray(analysis.args)) {
    const seen = new Map<string, number>();
    analysis.args.forEach((arg: unknown, i) => {
      if (!isObj(arg)) return;
      const at = [...path, 'args', i];
      const name = str(arg.name);
      if (name !== undefined) {
        if (name.trim() === '') ctx.problems.add([...at, 'name'], 'must not be empty');
        else {
          const first = seen.get(name);
          if (first !== undefined) ctx.problems.add([...at, 'name'], `duplicate argument ${JSON.stringify(name)} (also args[${first}])`);
          else seen.set(name, i);
        }
      }
      if (arg.value !== undefined && arg.valueFrom !== undefined) ctx.problems.add(at, 'must set either value or valueFrom, not both');
      const from = arg.valueFrom;
      if (isObj(from)) {
        const sources = ['podTemplateHashValue', 'fieldRef'].filter((k) => from[k] !== undefined);
        if (sources.length === 0) ctx.problems.add([...at, 'valueFrom'], 'must set podTemplateHashValue or fieldRef');
        if (sources.length > 1) ctx.problems.add([...at, 'valueFrom'], 'must set either podTemplateHashValue or fieldRef, not both');
        const fieldPath = isObj(from.fieldRef) ? str(from.fieldRef.fieldPath) : undefined;
        if (fieldPath !== undefined) {
          const fat = [...at, 'valueFrom', 'fieldRef', 'fieldPath'];
          if (fieldPath.trim() === '') ctx.problems.add(fat, 'must not be empty');
          else if (fieldPath.startsWith('metadata') && !/^metadata\.(name|namespace|uid|(labels|annotations)\['[^']+'\])$/.test(fieldPath)) {
            ctx.problems.add(fat, "must be metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'] or metadata.annotations['<key>']");
          }
        }
      }
    });
  }
  for (const list of ['dryRun', 'measurementRetention'] as const) {
    const items = analysis[list];
    if (!Array.isArray(items)) continue;
    items.forEach((item: unknown, i) => {
      if (isObj(item) && typeof item.metricName === 'string' && item.metricName.trim() === '') ctx.problems.add([...path, list, i, 'metricName'], 'must not be empty');
    });
  }
}

function checkTrafficRouting(routing: unknown, path: PathSegment[], ctx: Context): ConfiguredRouter[] {
  if (!isObj(routing)) return []; // the schema reports it
  if (routing.maxTrafficWeight !== undefined) ctx.problems.add([...path, 'maxTrafficWeight'], `${notSupported('is')}: setWeight is a percentage (0-100)`);
  const { routers, problems } = routersOf(routing);
  for (const p of problems) ctx.problems.add([...path, ...p.path], p.message);
  return routers;
}

function checkSteps(steps: unknown, canaryPath: PathSegment[], hasTrafficRouting: boolean, ctx: Context): void {
  if (!Array.isArray(steps)) return;
  steps.forEach((step: unknown, i) => {
    const at: PathSegment[] = [...canaryPath, 'steps', i];
    if (!isObj(step)) return; // the schema reports it
    const actions = STEP_ACTIONS.filter((k) => step[k] !== undefined);
    if (actions.length === 0) {
      const nulled = STEP_ACTIONS.find((k) => ctx.dropped.has(formatFieldPath([...at, k])));
      if (nulled === 'pause') ctx.problems.add([...at, 'pause'], 'must not be null: write "pause: {}" for a pause without a duration');
      else if (nulled !== undefined) ctx.problems.add([...at, nulled], 'must not be null');
      else ctx.problems.add(at, `must have one action: ${joinOr([...SUPPORTED_STEP_ACTIONS])}`);
    } else if (actions.length > 1) {
      ctx.problems.add(at, `must have exactly one action, found ${joinOr(actions).replace(/ or /, ' and ')}`);
    }
    for (const action of UNSUPPORTED_STEP_ACTIONS) {
      if (step[action] !== undefined) ctx.problems.add([...at, action], notSupported(`${action} steps are`));
    }
    const weight = int(step.setWeight);
    if (weight !== undefined && (weight < 0 || weight > 100)) ctx.problems.add([...at, 'setWeight'], `must be between 0 and 100 (got ${weight})`);
    if (isObj(step.pause) && typeof step.pause.duration === 'string') {
      try {
        parseDuration(step.pause.duration);
      } catch (err) {
        ctx.problems.add([...at, 'pause', 'duration'], err instanceof Error ? err.message : String(err));
      }
    }
    const scale = step.setCanaryScale;
    if (isObj(scale)) {
      const sat: PathSegment[] = [...at, 'setCanaryScale'];
      if (!hasTrafficRouting) {
        ctx.problems.add(sat, 'requires spec.strategy.canary.trafficRouting: without a traffic router the canary gets traffic in proportion to its pods');
      }
      const set = ['weight', 'replicas', 'matchTrafficWeight'].filter((k) => (k === 'matchTrafficWeight' ? scale[k] === true : scale[k] !== undefined));
      if (set.length === 0) ctx.problems.add(sat, 'must set one of weight, replicas or matchTrafficWeight: true');
      else if (set.length > 1) ctx.problems.add(sat, `must set only one of weight, replicas or matchTrafficWeight, found ${set.join(' and ')}`);
      const w = int(scale.weight);
      if (w !== undefined && (w < 0 || w > 100)) ctx.problems.add([...sat, 'weight'], `must be between 0 and 100 (got ${w})`);
      checkNonNegative(scale.replicas, [...sat, 'replicas'], ctx);
    }
    checkAnalysis(step.analysis, [...at, 'analysis'], ctx);
  });
}

/** Header and mirror route steps against trafficRouting.managedRoutes and what the routers can do. */
function checkManagedRoutes(canary: Obj, routers: readonly ConfiguredRouter[], at: PathSegment[], ctx: Context): void {
  const steps = Array.isArray(canary.steps) ? (canary.steps.filter(isObj) as RouteStep[]) : [];
  const routing = isObj(canary.trafficRouting) ? canary.trafficRouting : undefined;
  const listed = routing !== undefined && Array.isArray(routing.managedRoutes) ? routing.managedRoutes : [];
  const managed = listed.map((r: unknown) => (isObj(r) && typeof r.name === 'string' ? r.name : ''));
  const usesRoutes = steps.some((s) => s.setHeaderRoute !== undefined || s.setMirrorRoute !== undefined);
  if (routing === undefined) {
    if (usesRoutes) ctx.problems.add([...at, 'steps'], 'setHeaderRoute and setMirrorRoute steps require spec.strategy.canary.trafficRouting');
    return;
  }
  const stepIndex = new Map<RouteStep, number>();
  (Array.isArray(canary.steps) ? canary.steps : []).forEach((s: unknown, i) => {
    if (isObj(s)) stepIndex.set(s, i);
  });
  for (const p of managedRouteProblems(steps, managed, routers)) {
    const step = p.step === undefined ? undefined : steps[p.step];
    const base: PathSegment[] = step === undefined ? [...at, 'trafficRouting', 'managedRoutes'] : [...at, 'steps', stepIndex.get(step) ?? p.step ?? 0];
    ctx.problems.add([...base, ...p.path], p.message);
  }
}

function checkCanary(canary: Obj, ctx: Context): void {
  const at: PathSegment[] = ['spec', 'strategy', 'canary'];
  const routing = canary.trafficRouting;
  const hasTrafficRouting = routing !== undefined;

  const surge = checkIntOrPercent(canary.maxSurge, [...at, 'maxSurge'], ctx);
  const unavailable = checkIntOrPercent(canary.maxUnavailable, [...at, 'maxUnavailable'], ctx);
  if (surge === 0 && unavailable === 0) ctx.problems.add([...at, 'maxSurge'], 'maxSurge and maxUnavailable must not both be 0: the rollout could never replace a pod');

  const canaryService = str(canary.canaryService);
  const stableService = str(canary.stableService);
  for (const [key, name] of [
    ['canaryService', canaryService],
    ['stableService', stableService],
  ] as const) {
    if (name === undefined || name === '') {
      if (hasTrafficRouting) ctx.problems.add([...at, key], 'required when trafficRouting is set: the router splits traffic between the stable and canary Services');
      continue;
    }
    const problem = serviceNameProblem(name);
    if (problem) ctx.problems.add([...at, key], problem);
  }
  if (canaryService && stableService && canaryService === stableService) {
    ctx.problems.add([...at, 'stableService'], `must differ from canaryService (both are ${JSON.stringify(stableService)})`);
  }

  checkNonNegative(canary.scaleDownDelaySeconds, [...at, 'scaleDownDelaySeconds'], ctx);
  checkNonNegative(canary.abortScaleDownDelaySeconds, [...at, 'abortScaleDownDelaySeconds'], ctx);
  checkNonNegative(canary.scaleDownDelayRevisionLimit, [...at, 'scaleDownDelayRevisionLimit'], ctx);
  if (!hasTrafficRouting && canary.scaleDownDelaySeconds !== undefined) {
    ctx.problems.add([...at, 'scaleDownDelaySeconds'], 'can only be used with trafficRouting');
  }
  if (canary.dynamicStableScale === true) {
    ctx.problems.add([...at, 'dynamicStableScale'], `${notSupported('is')}: the stable ReplicaSet stays at full scale during a canary with a traffic router (remove the field, or set it to false)`);
  }
  if (canary.antiAffinity !== undefined) ctx.problems.add([...at, 'antiAffinity'], notSupported('is'));
  if (canary.pingPong !== undefined) ctx.problems.add([...at, 'pingPong'], notSupported('is'));
  checkLabels(isObj(canary.canaryMetadata) ? canary.canaryMetadata.labels : undefined, [...at, 'canaryMetadata', 'labels'], ctx, true);
  checkLabels(isObj(canary.stableMetadata) ? canary.stableMetadata.labels : undefined, [...at, 'stableMetadata', 'labels'], ctx, true);

  const routers = hasTrafficRouting ? checkTrafficRouting(routing, [...at, 'trafficRouting'], ctx) : [];
  checkSteps(canary.steps, at, hasTrafficRouting, ctx);
  checkManagedRoutes(canary, routers, at, ctx);

  const background = canary.analysis;
  if (isObj(background)) {
    checkAnalysis(background, [...at, 'analysis'], ctx);
    const starting = int(background.startingStep);
    const stepCount = Array.isArray(canary.steps) ? canary.steps.length : 0;
    if (starting !== undefined && starting < 0) ctx.problems.add([...at, 'analysis', 'startingStep'], 'must not be negative');
    else if (starting !== undefined && starting > 0 && starting >= stepCount) {
      ctx.problems.add(
        [...at, 'analysis', 'startingStep'],
        stepCount === 0 ? `must be 0: the canary has no steps (got ${starting})` : `must be the index of a step, 0 to ${stepCount - 1} (got ${starting})`,
      );
    }
  }
}

function checkBlueGreen(blueGreen: Obj, spec: Obj, ctx: Context): void {
  const at: PathSegment[] = ['spec', 'strategy', 'blueGreen'];
  const active = str(blueGreen.activeService);
  if (active?.trim() === '') ctx.problems.add([...at, 'activeService'], 'must not be empty');
  const preview = str(blueGreen.previewService);
  if (active !== undefined && active !== '' && active === preview) {
    ctx.problems.add([...at, 'activeService'], `must differ from previewService (both are ${JSON.stringify(active)})`);
  }
  const limit = int(blueGreen.scaleDownDelayRevisionLimit);
  const history = int(spec.revisionHistoryLimit) ?? DEFAULT_REVISION_HISTORY_LIMIT;
  if (limit !== undefined && limit > history) {
    ctx.problems.add([...at, 'scaleDownDelayRevisionLimit'], `must not be greater than spec.revisionHistoryLimit (${history})`);
  }
  checkNonNegative(blueGreen.scaleDownDelaySeconds, [...at, 'scaleDownDelaySeconds'], ctx);
  checkNonNegative(blueGreen.abortScaleDownDelaySeconds, [...at, 'abortScaleDownDelaySeconds'], ctx);
  checkNonNegative(blueGreen.autoPromotionSeconds, [...at, 'autoPromotionSeconds'], ctx);
  const previewCount = int(blueGreen.previewReplicaCount);
  if (previewCount !== undefined && previewCount < 1) ctx.problems.add([...at, 'previewReplicaCount'], `must be at least 1 (got ${previewCount})`);
  for (const key of ['prePromotionAnalysis', 'postPromotionAnalysis'] as const) checkAnalysis(blueGreen[key], [...at, key], ctx);
  if (blueGreen.antiAffinity !== undefined) ctx.problems.add([...at, 'antiAffinity'], 'anti-affinity injection is not supported by Weir');
}

function checkSpec(spec: Obj, ctx: Context): void {
  const at: PathSegment[] = ['spec'];
  checkNonNegative(spec.replicas, [...at, 'replicas'], ctx);
  checkNonNegative(spec.minReadySeconds, [...at, 'minReadySeconds'], ctx);
  checkNonNegative(spec.revisionHistoryLimit, [...at, 'revisionHistoryLimit'], ctx);
  checkNonNegative(spec.progressDeadlineSeconds, [...at, 'progressDeadlineSeconds'], ctx);
  if (isObj(spec.analysis)) {
    checkNonNegative(spec.analysis.successfulRunHistoryLimit, [...at, 'analysis', 'successfulRunHistoryLimit'], ctx);
    checkNonNegative(spec.analysis.unsuccessfulRunHistoryLimit, [...at, 'analysis', 'unsuccessfulRunHistoryLimit'], ctx);
  }
  const deadline = int(spec.progressDeadlineSeconds);
  const minReady = int(spec.minReadySeconds) ?? 0;
  if ((deadline === undefined || deadline >= 0) && (deadline ?? DEFAULT_PROGRESS_DEADLINE_SECONDS) <= minReady) {
    const unset = deadline === undefined ? `; when unset it is ${DEFAULT_PROGRESS_DEADLINE_SECONDS}` : '';
    ctx.problems.add([...at, 'progressDeadlineSeconds'], `must be greater than minReadySeconds (${minReady})${unset}`);
  }

  if (spec.workloadRef !== undefined) ctx.problems.add([...at, 'workloadRef'], `${notSupported('is')}: put the pod template in spec.template`);
  if (spec.rollbackWindow !== undefined) ctx.problems.add([...at, 'rollbackWindow'], notSupported('is'));

  let selector: Selector | undefined;
  if (spec.selector === undefined) ctx.problems.add([...at, 'selector'], 'required: a label selector matching spec.template.metadata.labels');
  else selector = checkSelector(spec.selector, [...at, 'selector'], ctx);

  if (spec.template === undefined) ctx.problems.add([...at, 'template'], 'required: the pod template');
  else checkTemplate(spec.template, selector, ctx);

  const strategy = spec.strategy;
  if (isObj(strategy)) {
    const { canary, blueGreen } = strategy;
    if (canary === undefined && blueGreen === undefined) ctx.problems.add([...at, 'strategy'], 'must set exactly one of canary or blueGreen');
    else if (canary !== undefined && blueGreen !== undefined) ctx.problems.add([...at, 'strategy'], 'must set exactly one of canary or blueGreen, not both');
    if (isObj(blueGreen)) checkBlueGreen(blueGreen, spec, ctx);
    if (isObj(canary)) checkCanary(canary, ctx);
  }
}

function checkRollout(rollout: Obj, ctx: Context): void {
  const apiVersion = rollout.apiVersion;
  if (typeof apiVersion === 'string' && apiVersion !== API_VERSION && apiVersion !== ARGO_API_VERSION) {
    ctx.problems.add(['apiVersion'], `must be ${API_VERSION} (or ${ARGO_API_VERSION}, which Weir reads as ${API_VERSION}); got ${JSON.stringify(apiVersion)}`);
  }
  checkMetadata(rollout.metadata, ctx);
  if (isObj(rollout.spec)) checkSpec(rollout.spec, ctx);
}

// ---------------------------------------------------------------------------

/**
 * Validates a Rollout of `weir.dev/v1alpha1` (or `argoproj.io/v1alpha1`, which
 * it checks the same way; convert it with convertArgoRollout to get a
 * weir.dev object). Returns every problem found; `rollout` only when there
 * are none. Never throws.
 */
/**
 * The frame every validator shares: a non-object is a problem, null fields are
 * dropped (as the API server does), `body` adds the kind's problems, and an
 * alias cycle or an unexpected failure becomes a problem too. Returns the
 * value when there is no problem. Never throws.
 */
function validateObject(input: unknown, body: (value: Obj, ctx: Context) => void): { value?: Obj; errors: FieldError[] } {
  const problems = new Problems();
  try {
    if (!isObj(input)) {
      problems.add([], `must be a Kubernetes object: a mapping with apiVersion, kind, metadata and spec (got ${describe(input)})`);
      return { errors: problems.errors };
    }
    const dropped = new Set<string>();
    const value = dropNulls(input, [], dropped, new Set()) as Obj;
    body(value, { problems, dropped });
    return problems.errors.length === 0 ? { value, errors: [] } : { errors: problems.errors };
  } catch (err) {
    if (err instanceof CycleError) problems.add(err.path, 'refers to itself (a YAML alias cycle?)');
    else problems.add([], `could not be validated: ${err instanceof Error ? err.message : String(err)}`);
    return { errors: problems.errors };
  }
}

export function validateRollout(input: unknown): ValidationResult {
  const { value, errors } = validateObject(input, (v, ctx) => {
    schemaErrors(Rollout, v, [], ctx.problems);
    unknownFields(Rollout, v, [], ctx.problems, new Set(['status']));
    checkRollout(v, ctx);
  });
  return value ? { rollout: value as unknown as Rollout, errors } : { errors };
}

/** Where a Rollout names an analysis template: the kind and name it needs, and the path of the templateName field. */
export interface TemplateReference {
  kind: 'AnalysisTemplate' | 'ClusterAnalysisTemplate';
  name: string;
  path: PathSegment[];
}

/**
 * Every templateName of a Rollout (any input; no validation), in document
 * order: the canary's background analysis and its steps' analysis, the
 * blue/green prePromotionAnalysis and postPromotionAnalysis. An
 * AnalysisTemplate lives in the Rollout's namespace; `clusterScope: true`
 * names a ClusterAnalysisTemplate. Empty or non-string names are left out
 * (validateRollout reports them).
 */
export function templateReferences(rollout: unknown): TemplateReference[] {
  const out: TemplateReference[] = [];
  const spec = isObj(rollout) ? rollout.spec : undefined;
  const strategy = isObj(spec) ? spec.strategy : undefined;
  if (!isObj(strategy)) return out;
  const collect = (analysis: unknown, path: PathSegment[]): void => {
    if (!isObj(analysis) || !Array.isArray(analysis.templates)) return;
    analysis.templates.forEach((template: unknown, i) => {
      if (!isObj(template)) return;
      const name = str(template.templateName);
      if (name === undefined || name.trim() === '') return;
      out.push({ kind: template.clusterScope === true ? 'ClusterAnalysisTemplate' : 'AnalysisTemplate', name, path: [...path, 'templates', i, 'templateName'] });
    });
  };
  const { canary, blueGreen } = strategy;
  if (isObj(canary)) {
    const at = ['spec', 'strategy', 'canary'];
    collect(canary.analysis, [...at, 'analysis']);
    if (Array.isArray(canary.steps)) {
      canary.steps.forEach((step: unknown, i) => {
        if (isObj(step)) collect(step.analysis, [...at, 'steps', i, 'analysis']);
      });
    }
  }
  if (isObj(blueGreen)) {
    for (const key of ['prePromotionAnalysis', 'postPromotionAnalysis'] as const) collect(blueGreen[key], ['spec', 'strategy', 'blueGreen', key]);
  }
  return out;
}

// ---------------------------------------------------------------------------
// GitSource
//
// Rules beyond the schema's types (all Weir's):
// - apiVersion weir.dev/v1alpha1; metadata as for a Rollout; unknown fields reported.
// - url: http:// or https:// with a host, without credentials (use secretRef).
// - ref: branch or tag, or commit (optionally with the branch to fetch it
//   from), never empty; branch and tag valid Git ref names; commit a full SHA.
// - paths: at least one, each a relative directory inside the repository
//   (no "..", not absolute), none listed twice.
// - interval at least 1s, timeout above 0, both Go durations ("1m", "30s").
// - secretRef.name a valid Secret name.

export interface GitSourceValidationResult {
  /** The GitSource (nulls dropped, no defaults added), when there are no errors. */
  gitSource?: GitSource;
  errors: FieldError[];
}

const FULL_SHA = /^([0-9a-f]{40}|[0-9a-f]{64})$/;

/** Why `name` is not a usable branch or tag name (git check-ref-format's rules), or undefined. */
function gitRefNameProblem(name: string): string | undefined {
  if (name === '') return 'must not be empty';
  if (name.startsWith('refs/')) return 'must be a branch or tag name, without "refs/heads/" or "refs/tags/"';
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u0020\u007f~^:?*[\\]/.test(name)) return 'must be a valid Git ref name: no spaces, control characters or any of ~ ^ : ? * [ \\';
  if (name.includes('..') || name.includes('@{') || name.includes('//')) return 'must be a valid Git ref name: no "..", "@{" or "//"';
  if (name.startsWith('-') || name.startsWith('/') || name.endsWith('/') || name.endsWith('.') || name.endsWith('.lock') || name === '@') {
    return 'must be a valid Git ref name: not starting with "-" or "/", not ending with "/", "." or ".lock"';
  }
  if (name.split('/').some((part) => part.startsWith('.'))) return 'must be a valid Git ref name: no part may start with "."';
  return undefined;
}

function goDurationProblem(value: string, minimumMs: number, minimumText: string): string | undefined {
  if (/^[0-9]+$/.test(value) && value !== '0') return `must be a Go duration with a unit, such as "${value}s" (got ${describe(value)})`;
  let ms: number;
  try {
    ms = parseDuration(value);
  } catch (err) {
    return err instanceof Error ? err.message : String(err);
  }
  if (ms < minimumMs) return `must be at least ${minimumText} (got ${describe(value)})`;
  return undefined;
}

function checkGitSourceUrl(url: unknown, ctx: Context): void {
  if (typeof url !== 'string') return; // the schema reports it
  const at = ['spec', 'url'];
  if (!/^https?:\/\//i.test(url)) {
    const ssh = /^(ssh:\/\/|git@|[^/:]+@[^/:]+:)/.test(url) ? '; SSH is not supported' : '';
    ctx.problems.add(at, `must be an http:// or https:// URL (got ${describe(url)})${ssh}`);
    return;
  }
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    ctx.problems.add(at, `must be a valid URL (got ${describe(url)})`);
    return;
  }
  if (parsed.hostname === '') ctx.problems.add(at, 'must name a host');
  // The URL is printed in status and logs: credentials belong in the Secret.
  if (parsed.username !== '' || parsed.password !== '') ctx.problems.add(at, 'must not contain credentials: put them in a Secret named by spec.secretRef');
}

function checkGitSourceRef(ref: unknown, ctx: Context): void {
  if (!isObj(ref)) return; // absent (the default, branch main) or the wrong type (the schema reports it)
  const at = ['spec', 'ref'];
  const branch = str(ref.branch);
  const tag = str(ref.tag);
  const commit = str(ref.commit);
  if (branch === undefined && tag === undefined && commit === undefined) {
    ctx.problems.add(at, 'must set branch, tag or commit (leave ref out to follow branch main)');
  }
  if (branch !== undefined && tag !== undefined) ctx.problems.add([...at, 'tag'], 'must set either branch or tag, not both');
  if (tag !== undefined && commit !== undefined) ctx.problems.add([...at, 'commit'], 'must set either tag or commit, not both (commit may be combined with branch)');
  for (const [key, name] of [
    ['branch', branch],
    ['tag', tag],
  ] as const) {
    if (name === undefined) continue;
    const problem = gitRefNameProblem(name);
    if (problem) ctx.problems.add([...at, key], problem);
  }
  if (commit !== undefined && !FULL_SHA.test(commit)) {
    ctx.problems.add([...at, 'commit'], `must be a full commit SHA: 40 lowercase hexadecimal digits (got ${describe(commit)})`);
  }
}

function checkGitSourcePaths(paths: unknown, ctx: Context): void {
  if (!Array.isArray(paths)) return;
  const at = ['spec', 'paths'];
  if (paths.length === 0) ctx.problems.add(at, 'must list at least one directory (leave paths out to read the whole repository, ".")');
  const seen = new Map<string, number>();
  paths.forEach((path: unknown, i) => {
    if (typeof path !== 'string') return; // the schema reports it
    const pat = [...at, i];
    if (path.trim() === '') {
      ctx.problems.add(pat, 'must not be empty: write "." for the whole repository');
      return;
    }
    if (path.startsWith('/') || /^[A-Za-z]:[\\/]/.test(path)) {
      ctx.problems.add(pat, `must be relative to the repository's root (got ${describe(path)})`);
      return;
    }
    const parts = path.split(/[\\/]+/).filter((p) => p !== '' && p !== '.');
    if (parts.includes('..')) {
      ctx.problems.add(pat, `must stay inside the repository: no ".." (got ${describe(path)})`);
      return;
    }
    const normal = parts.length === 0 ? '.' : parts.join('/');
    const first = seen.get(normal);
    if (first !== undefined) ctx.problems.add(pat, `lists ${JSON.stringify(normal)} twice (also paths[${first}])`);
    else seen.set(normal, i);
  });
}

function checkGitSourceSpec(spec: Obj, ctx: Context): void {
  checkGitSourceRef(spec.ref, ctx);
  checkGitSourcePaths(spec.paths, ctx);
  if (typeof spec.interval === 'string') {
    const problem = goDurationProblem(spec.interval, 1000, '1s');
    if (problem) ctx.problems.add(['spec', 'interval'], problem);
  }
  if (typeof spec.timeout === 'string') {
    const problem = goDurationProblem(spec.timeout, 1, '1ms');
    if (problem) ctx.problems.add(['spec', 'timeout'], problem);
  }
  const secretRef = spec.secretRef;
  if (isObj(secretRef) && typeof secretRef.name === 'string') {
    const problem = secretRef.name === '' ? 'must not be empty' : subdomainProblem(secretRef.name);
    if (problem) ctx.problems.add(['spec', 'secretRef', 'name'], problem);
  }
}

/**
 * Validates a GitSource (`weir.dev/v1alpha1`). Returns every problem found,
 * each with a field path such as `spec.ref.commit`; `gitSource` only when
 * there are none. Never throws.
 */
export function validateGitSource(input: unknown): GitSourceValidationResult {
  const { value: valid, errors } = validateObject(input, (value, ctx) => {
    const { problems } = ctx;
    const apiVersion = value.apiVersion;
    if (typeof apiVersion === 'string' && apiVersion !== API_VERSION) {
      problems.add(['apiVersion'], `must be ${API_VERSION} (got ${JSON.stringify(apiVersion)})`);
    }
    // The URL's own check says more than the schema's pattern: run it first and skip the pattern's message.
    const spec = isObj(value.spec) ? value.spec : undefined;
    if (spec) checkGitSourceUrl(spec.url, ctx);
    const schema = new Problems();
    schemaErrors(GitSource, value, [], schema);
    for (const error of schema.errors) {
      if (error.path === 'spec.url' && error.message.startsWith('must match')) continue;
      problems.add(parseFieldPath(error.path), error.message);
    }
    unknownFields(GitSource, value, [], problems, new Set(['status']));
    checkMetadata(value.metadata, ctx);
    if (spec) checkGitSourceSpec(spec, ctx);
  });
  return valid ? { gitSource: valid as unknown as GitSource, errors } : { errors };
}


// ---------------------------------------------------------------------------
// AnalysisTemplate, ClusterAnalysisTemplate, AnalysisRun
//
// Rules beyond the schema's types (Argo's ValidateMetrics and the analysis
// controller's checks, unless marked Weir):
// - apiVersion weir.dev/v1alpha1 or argoproj.io/v1alpha1; metadata as for a
//   Rollout; unknown fields reported (Weir).
// - metrics: at least one, names set and unique; exactly one provider each
//   (Argo's job, datadog, ... not supported by Weir); interval and
//   initialDelay Go durations (interval above 0: Weir); count, failureLimit,
//   inconclusiveLimit, consecutiveSuccessLimit and consecutiveErrorLimit
//   integers ≥ 0 (or an {{args.x}} placeholder; failureLimit -1 turns it off,
//   with a consecutiveSuccessLimit above 0 only); with count > 0, count ≥
//   failureLimit, count ≥ failureLimit + consecutiveSuccessLimit and count ≥
//   inconclusiveLimit; count > 1 needs an interval.
// - conditions: checked by the optional ConditionChecker (Weir); one holding
//   an {{args.x}} placeholder is checked when the run resolves it.
// - PromQL queries (prometheus.query, the judge's baseline/canary queries):
//   parsed by the optional QueryChecker (Weir), placeholders and all.
// - placeholders: {{args.<name>}} only, naming a declared argument (Weir:
//   Argo finds an unknown one when the run measures).
// - prometheus: address an http(s) URL, query set, rangeQuery step a
//   duration (Weir). web: url an http(s) URL, no body or jsonBody with GET,
//   not both. judge (Weir): see JudgeProvider.
// - args: names set and unique, value xor valueFrom, valueFrom with one of
//   secretKeyRef and fieldRef; an AnalysisRun's args carry a value or a
//   secretKeyRef.
// - dryRun and measurementRetention: metricName a regular expression that
//   matches at least one metric (Argo: "Rule didn't match any metric name(s)").

/** Where a condition does not parse: what is wrong and the position in the source. */
export interface ConditionProblem {
  message: string;
  position: number;
}

/** Parses a successCondition or failureCondition; undefined when it is valid. */
export type ConditionChecker = (source: string) => ConditionProblem | undefined;

/** Where a PromQL query does not parse: what is wrong, and the line and column (1-based) within the query. */
export interface QueryProblem {
  message: string;
  line: number;
  column: number;
}

/** Parses a PromQL query (which may hold {{args.x}} placeholders); undefined when it is valid. */
export type QueryChecker = (query: string) => QueryProblem | undefined;

export interface AnalysisTemplateValidationResult {
  /** The AnalysisTemplate (nulls dropped), when there are no errors. */
  analysisTemplate?: AnalysisTemplate;
  errors: FieldError[];
}

export interface ClusterAnalysisTemplateValidationResult {
  /** The ClusterAnalysisTemplate (nulls dropped), when there are no errors. */
  clusterAnalysisTemplate?: ClusterAnalysisTemplate;
  errors: FieldError[];
}

export interface AnalysisRunValidationResult {
  /** The AnalysisRun (nulls dropped), when there are no errors. */
  analysisRun?: AnalysisRun;
  errors: FieldError[];
}

interface AnalysisContext extends Context {
  /** Checking an AnalysisRun (resolved arguments) rather than a template. */
  run: boolean;
  checkCondition: ConditionChecker | undefined;
  checkQuery: QueryChecker | undefined;
}

const PROVIDER_LIST = joinOr([...SUPPORTED_PROVIDERS]);
const SECRET_KEY = /^[-._a-zA-Z0-9]+$/;

/** An int-or-string that must be a whole number ≥ 0: its value, or undefined (absent, a placeholder, or reported). */
function checkCount(value: unknown, path: PathSegment[], ctx: Context, minimum = 0): number | undefined {
  if (value === undefined) return undefined;
  let n: number;
  if (typeof value === 'number') {
    if (!Number.isInteger(value)) return undefined; // the schema reports it
    n = value;
  } else if (typeof value === 'string') {
    if (hasPlaceholder(value)) return undefined;
    if (!/^-?[0-9]+$/.test(value.trim())) {
      ctx.problems.add(path, `must be a whole number or an {{args.<name>}} placeholder (got ${describe(value)})`);
      return undefined;
    }
    n = Number(value.trim());
  } else {
    return undefined;
  }
  if (n < minimum) {
    ctx.problems.add(path, minimum === 0 ? 'must not be negative' : `must be ${minimum} (no limit) or more`);
    return undefined;
  }
  return n;
}

function checkAnalysisDuration(value: unknown, path: PathSegment[], positive: boolean, ctx: Context): void {
  if (typeof value !== 'string' || hasPlaceholder(value)) return;
  const problem = goDurationProblem(value, positive ? 1 : 0, '1ms');
  if (problem) ctx.problems.add(path, problem);
}

function checkHttpUrl(value: unknown, path: PathSegment[], ctx: Context): void {
  if (typeof value !== 'string') return; // the schema reports it
  if (value.trim() === '') {
    ctx.problems.add(path, 'must not be empty');
    return;
  }
  if (hasPlaceholder(value)) return;
  let ok = /^https?:\/\//i.test(value);
  if (ok) {
    try {
      ok = new URL(value).hostname !== '';
    } catch {
      ok = false;
    }
  }
  if (!ok) ctx.problems.add(path, `must be an http:// or https:// URL (got ${describe(value)})`);
}

/** A provider's `authentication`: OAuth2 client credentials, complete; SigV4 refused (it cannot be tested here against a real AWS endpoint). */
function checkAuthentication(auth: unknown, path: PathSegment[], ctx: Context): void {
  if (!isObj(auth)) return;
  if (auth.sigv4 !== undefined) {
    ctx.problems.add([...path, 'sigv4'], `${notSupported('SigV4 signing (Amazon Managed Prometheus) is')}: use oauth2, or headers with a token`);
  }
  const oauth2 = auth.oauth2;
  if (!isObj(oauth2)) return;
  for (const key of ['tokenUrl', 'clientId', 'clientSecret'] as const) {
    if (oauth2[key] === undefined) ctx.problems.add([...path, 'oauth2', key], 'required for OAuth2 client credentials');
    else if (key !== 'tokenUrl') checkNotEmpty(oauth2[key], [...path, 'oauth2', key], ctx);
  }
  checkHttpUrl(oauth2.tokenUrl, [...path, 'oauth2', 'tokenUrl'], ctx);
}

function checkNotEmpty(value: unknown, path: PathSegment[], ctx: Context): void {
  if (typeof value === 'string' && value.trim() === '') ctx.problems.add(path, 'must not be empty');
}

function checkHeaders(headers: unknown, path: PathSegment[], ctx: Context): void {
  if (!Array.isArray(headers)) return;
  headers.forEach((header: unknown, i) => {
    if (isObj(header)) checkNotEmpty(header.key, [...path, i, 'key'], ctx);
  });
}

/** Every string in `value` with its path (for placeholders). */
function stringsIn(value: unknown, path: PathSegment[], out: [PathSegment[], string][]): void {
  if (typeof value === 'string') out.push([path, value]);
  else if (Array.isArray(value)) {
    value.forEach((item: unknown, i) => {
      stringsIn(item, [...path, i], out);
    });
  }
  else if (isObj(value)) for (const [key, item] of Object.entries(value)) stringsIn(item, [...path, key], out);
}

function checkPlaceholders(metric: Obj, path: PathSegment[], args: ReadonlySet<string>, ctx: AnalysisContext): void {
  const strings: [PathSegment[], string][] = [];
  stringsIn(metric, path, strings);
  const declared = args.size === 0 ? 'none' : [...args].join(', ');
  for (const [at, text] of strings) {
    const scan = scanPlaceholders(text);
    for (const p of scan.placeholders) {
      if (p.arg === undefined) {
        ctx.problems.add(at, `{{${p.tag}}} is not an argument placeholder: write {{args.<name>}}`);
      } else if (!args.has(p.arg)) {
        ctx.problems.add(
          at,
          ctx.run
            ? `refers to {{args.${p.arg}}}, which spec.args does not set (args: ${declared})`
            : `refers to {{args.${p.arg}}}, which the template does not declare: add it to spec.args (args: ${declared})`,
        );
      }
    }
    if (scan.unterminated !== undefined) ctx.problems.add(at, `has "{{" at position ${scan.unterminated} without a closing "}}"`);
  }
}

function checkCondition(source: unknown, path: PathSegment[], ctx: AnalysisContext): void {
  if (typeof source !== 'string' || source.trim() === '' || ctx.checkCondition === undefined) return;
  // Placeholders are replaced by the arguments' values first: the run checks the result.
  if (hasPlaceholder(source)) return;
  const problem = ctx.checkCondition(source);
  if (problem) ctx.problems.add(path, `${problem.message} at position ${problem.position}`);
}

function checkEffectSize(effect: unknown, path: PathSegment[], ctx: Context): void {
  if (!isObj(effect)) return;
  const num = (v: unknown): number | undefined => (typeof v === 'number' && Number.isFinite(v) ? v : undefined);
  const allowedIncrease = num(effect.allowedIncrease);
  const allowedDecrease = num(effect.allowedDecrease);
  const criticalIncrease = num(effect.criticalIncrease);
  const criticalDecrease = num(effect.criticalDecrease);
  if (allowedIncrease !== undefined && allowedIncrease < 1) {
    ctx.problems.add([...path, 'allowedIncrease'], `must be at least 1: a ratio of the canary's mean to the baseline's (got ${allowedIncrease})`);
  }
  if (allowedDecrease !== undefined && (allowedDecrease <= 0 || allowedDecrease > 1)) {
    ctx.problems.add([...path, 'allowedDecrease'], `must be above 0 and at most 1: a ratio of the canary's mean to the baseline's (got ${allowedDecrease})`);
  }
  const increaseFloor = allowedIncrease !== undefined && allowedIncrease >= 1 ? allowedIncrease : 1;
  if (criticalIncrease !== undefined && criticalIncrease < increaseFloor) {
    ctx.problems.add([...path, 'criticalIncrease'], `must be at least allowedIncrease (${increaseFloor}) (got ${criticalIncrease})`);
  }
  const decreaseCeiling = allowedDecrease !== undefined && allowedDecrease > 0 && allowedDecrease <= 1 ? allowedDecrease : 1;
  if (criticalDecrease !== undefined && (criticalDecrease <= 0 || criticalDecrease > decreaseCeiling)) {
    ctx.problems.add([...path, 'criticalDecrease'], `must be above 0 and at most allowedDecrease (${decreaseCeiling}) (got ${criticalDecrease})`);
  }
}

/** A PromQL query: set, and parsed by the optional QueryChecker (placeholders and all). */
function checkPromQL(query: unknown, path: PathSegment[], ctx: AnalysisContext): void {
  checkNotEmpty(query, path, ctx);
  if (typeof query !== 'string' || query.trim() === '' || ctx.checkQuery === undefined) return;
  const problem = ctx.checkQuery(query);
  if (problem) ctx.problems.add(path, `PromQL syntax error at line ${problem.line}, column ${problem.column} of the query: ${problem.message}`);
}

function checkJudgeQuery(query: unknown, path: PathSegment[], ctx: AnalysisContext): void {
  if (isObj(query)) checkPromQL(query.query, [...path, 'query'], ctx);
}

function checkJudge(judge: Obj, path: PathSegment[], ctx: AnalysisContext): void {
  checkHttpUrl(judge.address, [...path, 'address'], ctx);
  checkHeaders(judge.headers, [...path, 'headers'], ctx);
  checkAnalysisDuration(judge.window, [...path, 'window'], true, ctx);
  checkAnalysisDuration(judge.step, [...path, 'step'], true, ctx);
  const short = judge.baseline !== undefined || judge.canary !== undefined;
  const list = judge.metrics;
  if (short && list !== undefined) {
    ctx.problems.add([...path, 'metrics'], 'must set either baseline and canary (one comparison) or metrics (several), not both');
  } else if (!short && list === undefined) {
    ctx.problems.add(path, 'must set baseline and canary (one comparison) or metrics (several)');
  }
  if (short) {
    if (judge.baseline === undefined) ctx.problems.add([...path, 'baseline'], 'required with canary: the query for the stable version');
    if (judge.canary === undefined) ctx.problems.add([...path, 'canary'], 'required with baseline: the query for the canary');
    checkJudgeQuery(judge.baseline, [...path, 'baseline'], ctx);
    checkJudgeQuery(judge.canary, [...path, 'canary'], ctx);
  } else {
    for (const key of ['direction', 'effectSize'] as const) {
      if (judge[key] !== undefined) ctx.problems.add([...path, key], `applies to baseline and canary only: with metrics, set ${key} on each of them`);
    }
  }
  checkEffectSize(judge.effectSize, [...path, 'effectSize'], ctx);
  if (Array.isArray(list)) {
    if (list.length === 0) ctx.problems.add([...path, 'metrics'], 'must list at least one comparison');
    const seen = new Map<string, number>();
    list.forEach((m: unknown, i) => {
      if (!isObj(m)) return;
      const at: PathSegment[] = [...path, 'metrics', i];
      const name = str(m.name);
      if (name !== undefined) {
        if (name.trim() === '') ctx.problems.add([...at, 'name'], 'must not be empty');
        else {
          const first = seen.get(name);
          if (first !== undefined) ctx.problems.add([...at, 'name'], `duplicate comparison name ${JSON.stringify(name)} (also metrics[${first}])`);
          else seen.set(name, i);
        }
      }
      checkJudgeQuery(m.baseline, [...at, 'baseline'], ctx);
      checkJudgeQuery(m.canary, [...at, 'canary'], ctx);
      checkEffectSize(m.effectSize, [...at, 'effectSize'], ctx);
      if (typeof m.weight === 'number' && !(m.weight > 0)) ctx.problems.add([...at, 'weight'], `must be greater than 0 (got ${m.weight})`);
    });
  }
  const pass = typeof judge.pass === 'number' ? judge.pass : JUDGE_DEFAULTS.pass;
  if (typeof judge.marginal === 'number' && judge.marginal > pass) {
    ctx.problems.add([...path, 'marginal'], `must not be greater than pass (${pass}${judge.pass === undefined ? ', the default' : ''})`);
  } else if (judge.marginal === undefined && pass < JUDGE_DEFAULTS.marginal) {
    ctx.problems.add([...path, 'pass'], `must not be less than marginal (${JUDGE_DEFAULTS.marginal}, the default): set marginal too`);
  }
}

function checkProvider(provider: Obj, path: PathSegment[], ctx: AnalysisContext): void {
  const set = [...SUPPORTED_PROVIDERS, ...UNSUPPORTED_PROVIDERS].filter((k) => provider[k] !== undefined);
  for (const name of UNSUPPORTED_PROVIDERS) {
    if (provider[name] !== undefined) ctx.problems.add([...path, name], `${notSupported(`the ${name} provider is`)}: use ${PROVIDER_LIST}`);
  }
  if (set.length === 0) ctx.problems.add(path, `must set one provider: ${PROVIDER_LIST}`);
  else if (set.length > 1) ctx.problems.add(path, `must set exactly one provider, found ${joinOr(set).replace(/ or /, ' and ')}`);

  const prometheus = provider.prometheus;
  if (isObj(prometheus)) {
    const at = [...path, 'prometheus'];
    checkHttpUrl(prometheus.address, [...at, 'address'], ctx);
    checkPromQL(prometheus.query, [...at, 'query'], ctx);
    checkHeaders(prometheus.headers, [...at, 'headers'], ctx);
    checkAuthentication(prometheus.authentication, [...at, 'authentication'], ctx);
    const range = prometheus.rangeQuery;
    if (isObj(range)) {
      checkNotEmpty(range.start, [...at, 'rangeQuery', 'start'], ctx);
      checkNotEmpty(range.end, [...at, 'rangeQuery', 'end'], ctx);
      checkAnalysisDuration(range.step, [...at, 'rangeQuery', 'step'], true, ctx);
    }
  }
  const web = provider.web;
  if (isObj(web)) {
    const at = [...path, 'web'];
    checkHttpUrl(web.url, [...at, 'url'], ctx);
    checkHeaders(web.headers, [...at, 'headers'], ctx);
    checkAuthentication(web.authentication, [...at, 'authentication'], ctx);
    if (web.method === undefined || web.method === 'GET') {
      for (const key of ['body', 'jsonBody'] as const) {
        if (web[key] !== undefined) ctx.problems.add([...at, key], 'must not be set for a GET request: set method to POST or PUT');
      }
    } else if (web.body !== undefined && web.jsonBody !== undefined) {
      ctx.problems.add([...at, 'jsonBody'], 'must set either body or jsonBody, not both');
    }
  }
  const judge = provider.judge;
  if (isObj(judge)) checkJudge(judge, [...path, 'judge'], ctx);
}

function checkMetric(metric: Obj, path: PathSegment[], args: ReadonlySet<string>, ctx: AnalysisContext): void {
  if (isObj(metric.provider)) checkProvider(metric.provider, [...path, 'provider'], ctx);
  checkAnalysisDuration(metric.interval, [...path, 'interval'], true, ctx);
  checkAnalysisDuration(metric.initialDelay, [...path, 'initialDelay'], false, ctx);
  const count = checkCount(metric.count, [...path, 'count'], ctx);
  // failureLimit -1 turns the limit off, which only consecutiveSuccessLimit can then end (Argo's rules).
  const failureLimit = checkCount(metric.failureLimit, [...path, 'failureLimit'], ctx, -1);
  const successLimit = checkCount(metric.consecutiveSuccessLimit, [...path, 'consecutiveSuccessLimit'], ctx);
  const inconclusiveLimit = checkCount(metric.inconclusiveLimit, [...path, 'inconclusiveLimit'], ctx);
  checkCount(metric.consecutiveErrorLimit, [...path, 'consecutiveErrorLimit'], ctx);
  if (failureLimit === -1 && (successLimit ?? 0) === 0 && !(typeof metric.consecutiveSuccessLimit === 'string' && hasPlaceholder(metric.consecutiveSuccessLimit))) {
    ctx.problems.add([...path, 'failureLimit'], '-1 (no failure limit) needs a consecutiveSuccessLimit above 0: the two cannot both be off');
  }
  if (count !== undefined && count > 0) {
    if (failureLimit !== undefined && failureLimit > count) ctx.problems.add([...path, 'failureLimit'], `must not be greater than count (${count})`);
    if (successLimit !== undefined && successLimit > 0) {
      const needed = successLimit + Math.max(failureLimit ?? 0, 0);
      if (count < needed) {
        const what = failureLimit !== undefined && failureLimit > 0 ? `failureLimit + consecutiveSuccessLimit (${failureLimit} + ${successLimit})` : `consecutiveSuccessLimit (${successLimit})`;
        ctx.problems.add([...path, 'count'], `must be at least ${what}: fewer measurements could never reach it`);
      }
    }
    if (inconclusiveLimit !== undefined && inconclusiveLimit > count) ctx.problems.add([...path, 'inconclusiveLimit'], `must not be greater than count (${count})`);
  }
  if (count !== undefined && count > 1 && (metric.interval === undefined || metric.interval === '')) {
    ctx.problems.add([...path, 'interval'], `required when count is greater than 1 (count is ${count}): the time between measurements`);
  }
  const judged = isObj(metric.provider) && metric.provider.judge !== undefined;
  for (const key of ['successCondition', 'failureCondition'] as const) {
    if (judged && metric[key] !== undefined) {
      ctx.problems.add([...path, key], 'must not be set with the judge provider: the judge decides by its score (pass and marginal)');
      continue;
    }
    checkCondition(metric[key], [...path, key], ctx);
  }
  checkPlaceholders(metric, path, args, ctx);
}

/** The declared argument names; reports duplicates and malformed arguments. */
function checkAnalysisArgs(args: unknown, ctx: AnalysisContext): Set<string> {
  const names = new Set<string>();
  if (!Array.isArray(args)) return names;
  const seen = new Map<string, number>();
  args.forEach((arg: unknown, i) => {
    if (!isObj(arg)) return;
    const at: PathSegment[] = ['spec', 'args', i];
    const name = str(arg.name);
    if (name !== undefined) {
      if (name.trim() === '') ctx.problems.add([...at, 'name'], 'must not be empty');
      else {
        const first = seen.get(name);
        if (first !== undefined) ctx.problems.add([...at, 'name'], `duplicate argument ${JSON.stringify(name)} (also args[${first}])`);
        else seen.set(name, i);
        names.add(name.trim());
      }
    }
    if (arg.value !== undefined && arg.valueFrom !== undefined) ctx.problems.add(at, 'must set either value or valueFrom, not both');
    const from = arg.valueFrom;
    if (isObj(from)) {
      const sources = ['secretKeyRef', 'fieldRef'].filter((k) => from[k] !== undefined);
      if (sources.length === 0) ctx.problems.add([...at, 'valueFrom'], 'must set secretKeyRef or fieldRef');
      if (sources.length > 1) ctx.problems.add([...at, 'valueFrom'], 'must set either secretKeyRef or fieldRef, not both');
      const secret = from.secretKeyRef;
      if (isObj(secret)) {
        if (typeof secret.name === 'string') {
          const problem = secret.name === '' ? 'must not be empty' : subdomainProblem(secret.name);
          if (problem) ctx.problems.add([...at, 'valueFrom', 'secretKeyRef', 'name'], problem);
        }
        if (typeof secret.key === 'string' && !SECRET_KEY.test(secret.key)) {
          ctx.problems.add([...at, 'valueFrom', 'secretKeyRef', 'key'], `must be a Secret key: letters, digits, "-", "_" or "." (got ${describe(secret.key)})`);
        }
      }
      const fieldPath = isObj(from.fieldRef) ? str(from.fieldRef.fieldPath) : undefined;
      if (ctx.run && from.fieldRef !== undefined) {
        ctx.problems.add([...at, 'valueFrom', 'fieldRef'], "must be resolved: an AnalysisRun's arguments carry a value (or a secretKeyRef, read when measuring)");
      } else if (fieldPath !== undefined) {
        const fat = [...at, 'valueFrom', 'fieldRef', 'fieldPath'];
        if (fieldPath.trim() === '') ctx.problems.add(fat, 'must not be empty');
        else if (fieldPath.startsWith('metadata') && !/^metadata\.(name|namespace|uid|(labels|annotations)\['[^']+'\])$/.test(fieldPath)) {
          ctx.problems.add(fat, "must be metadata.name, metadata.namespace, metadata.uid, metadata.labels['<key>'] or metadata.annotations['<key>']");
        }
      }
    } else if (ctx.run && arg.value === undefined) {
      ctx.problems.add([...at, 'value'], "required: an AnalysisRun's arguments carry their values (or a secretKeyRef)");
    }
  });
  return names;
}

function checkMetricNameRules(spec: Obj, metricNames: readonly string[], ctx: Context): void {
  for (const list of ['dryRun', 'measurementRetention'] as const) {
    const rules = spec[list];
    if (!Array.isArray(rules)) continue;
    rules.forEach((rule: unknown, i) => {
      if (!isObj(rule) || typeof rule.metricName !== 'string') return; // the schema reports it
      const at = ['spec', list, i, 'metricName'];
      if (rule.metricName.trim() === '') {
        ctx.problems.add(at, 'must not be empty');
        return;
      }
      let pattern: RegExp;
      try {
        pattern = new RegExp(rule.metricName);
      } catch (err) {
        ctx.problems.add(at, `must be a regular expression: ${err instanceof Error ? err.message : String(err)}`);
        return;
      }
      if (!metricNames.some((name) => pattern.test(name))) {
        ctx.problems.add(at, `matches no metric (metrics: ${metricNames.length === 0 ? 'none' : metricNames.join(', ')})`);
      }
    });
  }
}

function checkAnalysisSpec(spec: Obj, ctx: AnalysisContext): void {
  const args = checkAnalysisArgs(spec.args, ctx);
  const metricNames: string[] = [];
  const metrics = spec.metrics;
  if (Array.isArray(metrics)) {
    if (metrics.length === 0) ctx.problems.add(['spec', 'metrics'], 'must list at least one metric');
    const seen = new Map<string, number>();
    metrics.forEach((metric: unknown, i) => {
      if (!isObj(metric)) return;
      const at: PathSegment[] = ['spec', 'metrics', i];
      const name = str(metric.name);
      if (name !== undefined) {
        if (name.trim() === '') ctx.problems.add([...at, 'name'], 'must not be empty');
        else {
          const first = seen.get(name);
          if (first !== undefined) ctx.problems.add([...at, 'name'], `duplicate metric name ${JSON.stringify(name)} (also metrics[${first}])`);
          else seen.set(name, i);
          metricNames.push(name);
        }
      }
      checkMetric(metric, at, args, ctx);
    });
  }
  checkMetricNameRules(spec, metricNames, ctx);
}

function validateAnalysisKind(
  input: unknown,
  schema: unknown,
  run: boolean,
  checkConditionSource: ConditionChecker | undefined,
  checkQuery: QueryChecker | undefined,
): { value?: Obj; errors: FieldError[] } {
  return validateObject(input, (value, base) => {
    const { problems } = base;
    const ctx: AnalysisContext = { ...base, run, checkCondition: checkConditionSource, checkQuery };
    const apiVersion = value.apiVersion;
    if (typeof apiVersion === 'string' && apiVersion !== API_VERSION && apiVersion !== ARGO_API_VERSION) {
      problems.add(['apiVersion'], `must be ${API_VERSION} (or ${ARGO_API_VERSION}, which Weir reads as ${API_VERSION}); got ${JSON.stringify(apiVersion)}`);
    }
    schemaErrors(schema, value, [], problems);
    unknownFields(schema, value, [], problems, new Set(['status']));
    checkMetadata(value.metadata, ctx);
    if (isObj(value.spec)) checkAnalysisSpec(value.spec, ctx);
  });
}

/**
 * Validates an AnalysisTemplate (`weir.dev/v1alpha1`, or `argoproj.io/v1alpha1`
 * checked the same way). `checkCondition`, when given, parses each
 * successCondition and failureCondition; its problems are reported as
 * `spec.metrics[0].successCondition: <message> at position <n>`.
 * `checkQuery`, when given, parses each PromQL query (prometheus.query and
 * the judge's baseline and canary queries); its problems are reported as
 * `spec.metrics[0].provider.prometheus.query: PromQL syntax error at line
 * <l>, column <c> of the query: <message>`. Returns every problem found;
 * `analysisTemplate` only when there are none. Never throws.
 */
export function validateAnalysisTemplate(input: unknown, checkCondition?: ConditionChecker, checkQuery?: QueryChecker): AnalysisTemplateValidationResult {
  const { value, errors } = validateAnalysisKind(input, AnalysisTemplate, false, checkCondition, checkQuery);
  return value ? { analysisTemplate: value as unknown as AnalysisTemplate, errors } : { errors };
}

/** Validates a ClusterAnalysisTemplate, as validateAnalysisTemplate does an AnalysisTemplate. */
export function validateClusterAnalysisTemplate(input: unknown, checkCondition?: ConditionChecker, checkQuery?: QueryChecker): ClusterAnalysisTemplateValidationResult {
  const { value, errors } = validateAnalysisKind(input, ClusterAnalysisTemplate, false, checkCondition, checkQuery);
  return value ? { clusterAnalysisTemplate: value as unknown as ClusterAnalysisTemplate, errors } : { errors };
}

/**
 * Validates an AnalysisRun: its spec as a template's, with every argument
 * resolved (a value, or a secretKeyRef read when measuring), and its status
 * against the schema. Never throws.
 */
export function validateAnalysisRun(input: unknown, checkCondition?: ConditionChecker, checkQuery?: QueryChecker): AnalysisRunValidationResult {
  const { value, errors } = validateAnalysisKind(input, AnalysisRun, true, checkCondition, checkQuery);
  return value ? { analysisRun: value as unknown as AnalysisRun, errors } : { errors };
}
