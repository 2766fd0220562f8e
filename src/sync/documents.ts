// From files in Git to manifest documents: parse (parseManifests: js-yaml's
// core schema, no custom types, nothing executed), refuse documents whose
// YAML aliases could blow up, and keep each Kubernetes object with its file,
// position and line. Empty documents are skipped; anything else that is not
// a Kubernetes object is a problem. Never throws.
//
// Alias bombs ("billion laughs"): js-yaml's loader resolves an alias to the
// very object its anchor built, so parsing stays cheap — nine levels of nine
// aliases are 81 aliases and a few hundred bytes of YAML. The danger comes
// after: every deep copy, JSON.stringify, request body or recursive walk
// sees the expanded tree (9^9 ≈ 387 million strings) and exhausts memory or
// time. js-yaml's own `maxAliases` guard is off by default and
// parseManifests does not set it, so each document is checked here before
// anything walks it: its alias count (from the parser's events) and the size
// it would have when expanded (computed on the shared structure without
// expanding it), plus alias cycles (`&a [*a]`), which js-yaml builds as
// self-referencing objects.
import { EVENT_ID, parseEvents } from 'js-yaml';
import { formatFieldPath, type PathSegment } from '../api/validate.ts';
import { lineOf, parseManifests, type ManifestDocument, type ParsedManifests } from '../api/manifests.ts';
import { isRecord, type SyncDocument, type SyncObject, type SyncProblem } from './types.ts';

export interface ManifestFile {
  /** Path in the repository, used in problems. */
  path: string;
  content: string;
}

export interface YamlLimits {
  /** Most aliases (`*name`) one document may use. */
  maxAliases: number;
  /** Most bytes a document may take as JSON once its aliases are expanded. */
  maxExpandedBytes: number;
}

/** 100 aliases; 3 MiB, the API server's limit on a request body (etcd keeps at most 1.5 MiB per object). */
export const DEFAULT_YAML_LIMITS: YamlLimits = { maxAliases: 100, maxExpandedBytes: 3 * 1024 * 1024 };

export interface ParsedDocuments {
  documents: SyncDocument[];
  problems: SyncProblem[];
}

interface AliasCount {
  count: number;
  /** Offset of the first alias over the limit. */
  excess?: number;
}

function lineAt(text: string, offset: number): number {
  let line = 1;
  for (let i = text.indexOf('\n'); i !== -1 && i < offset; i = text.indexOf('\n', i + 1)) line++;
  return line;
}

/**
 * Aliases used by each document of a YAML text, in document order (empty
 * documents included, as parseManifests numbers them); undefined when the
 * text does not parse as a whole.
 */
export function countAliases(text: string, maxAliases: number): AliasCount[] | undefined {
  let events;
  try {
    events = parseEvents(text, {});
  } catch {
    return undefined;
  }
  const counts: AliasCount[] = [];
  let current: AliasCount | undefined;
  for (const event of events) {
    if (event.type === EVENT_ID.DOCUMENT) {
      current = { count: 0 };
      counts.push(current);
    } else if (event.type === EVENT_ID.ALIAS && current) {
      current.count++;
      if (current.count === maxAliases + 1) current.excess = event.anchorStart;
    }
  }
  return counts;
}

export interface Expansion {
  /** Approximate size as JSON with every alias expanded; Infinity for a cycle. */
  bytes: number;
  /** References to an object already met (aliases of mappings and sequences). */
  sharedReferences: number;
  /** Where the value contains itself, if it does. */
  cycle?: PathSegment[];
}

class Cycle extends Error {
  readonly path: PathSegment[];
  constructor(path: PathSegment[]) {
    super('cycle');
    this.path = path;
  }
}

/**
 * What a parsed value would be when expanded, measured without expanding it:
 * each object is measured once and its size reused where it is referenced
 * again, so a billion-laughs document costs as little here as to parse.
 * Pure.
 */
export function measureExpansion(value: unknown): Expansion {
  const sizes = new Map<object, number>();
  const active = new Set<object>();
  let shared = 0;
  const measure = (v: unknown, path: PathSegment[]): number => {
    if (v === null || v === undefined) return 4;
    if (typeof v === 'string') return v.length + 2;
    if (typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint') return String(v).length;
    if (typeof v !== 'object') return 4;
    const known = sizes.get(v);
    if (known !== undefined) {
      shared++;
      return known;
    }
    if (active.has(v)) throw new Cycle(path);
    active.add(v);
    let size = 2;
    if (Array.isArray(v)) {
      v.forEach((item: unknown, i) => {
        size += measure(item, [...path, i]) + 1;
      });
    } else if (v instanceof Date) {
      size = 26;
    } else {
      for (const [key, item] of Object.entries(v)) size += key.length + 4 + measure(item, [...path, key]);
    }
    active.delete(v);
    sizes.set(v, size);
    return size;
  };
  try {
    return { bytes: measure(value, []), sharedReferences: shared };
  } catch (err) {
    if (err instanceof Cycle) return { bytes: Infinity, sharedReferences: shared, cycle: err.path };
    throw err;
  }
}

const ENTRY = '\0';
const VALUE = '\u0001';

/**
 * A document's line map (field path → line) in one string, `\0path\u0001line`
 * per field, for as long as the document is kept: a parsed commit is held
 * while it is validated and applied, and then for drift checks until the next
 * one. A Map of a dozen paths costs a ConfigMap about 1.1 KiB, over half
 * of what the whole parsed document costs (6,000 ConfigMaps: 6.9 of 10.5
 * MiB); this costs about a quarter of that. Lookups (only when a problem
 * needs a line) scan the string. Field paths (formatFieldPath) never hold
 * the two control characters: it writes such keys JSON-quoted.
 */
export class CompactLines implements ReadonlyMap<string, number> {
  readonly #text: string;
  readonly size: number;

  /** `lines` compacted; as it is in the (never seen) case of a path it cannot hold. */
  static from(lines: ReadonlyMap<string, number>): ReadonlyMap<string, number> {
    for (const path of lines.keys()) if (path.includes(ENTRY) || path.includes(VALUE)) return lines;
    return new CompactLines(lines);
  }

  private constructor(lines: ReadonlyMap<string, number>) {
    const parts: string[] = [];
    for (const [path, line] of lines) parts.push(ENTRY, path, VALUE, String(line));
    // join, not +=: one flat string, not a rope of a node per piece.
    this.#text = parts.join('');
    this.size = lines.size;
  }

  get(path: string): number | undefined {
    if (path.includes(ENTRY) || path.includes(VALUE)) return undefined;
    const needle = `${ENTRY}${path}${VALUE}`;
    const at = this.#text.indexOf(needle);
    if (at < 0) return undefined;
    const start = at + needle.length;
    const end = this.#text.indexOf(ENTRY, start);
    return Number(this.#text.slice(start, end < 0 ? undefined : end));
  }

  has(path: string): boolean {
    return this.get(path) !== undefined;
  }

  #map(): Map<string, number> {
    const map = new Map<string, number>();
    if (this.#text === '') return map;
    for (const entry of this.#text.slice(1).split(ENTRY)) {
      const v = entry.lastIndexOf(VALUE);
      map.set(entry.slice(0, v), Number(entry.slice(v + 1)));
    }
    return map;
  }

  forEach(callback: (value: number, key: string, map: ReadonlyMap<string, number>) => void, thisArg?: unknown): void {
    for (const [key, value] of this.#map()) callback.call(thisArg, value, key, this);
  }

  entries(): MapIterator<[string, number]> {
    return this.#map().entries();
  }

  keys(): MapIterator<string> {
    return this.#map().keys();
  }

  values(): MapIterator<number> {
    return this.#map().values();
  }

  [Symbol.iterator](): MapIterator<[string, number]> {
    return this.entries();
  }
}

function mib(bytes: number): string {
  return `${Math.round((bytes / (1024 * 1024)) * 10) / 10} MiB`;
}

/** The problem with a document's aliases or size, if any. */
function expansionProblem(doc: ManifestDocument, aliases: AliasCount | undefined, limits: YamlLimits, text: string | undefined): SyncProblem | undefined {
  const at = { file: doc.file, index: doc.index };
  if (aliases && aliases.count > limits.maxAliases) {
    const line = aliases.excess !== undefined && text !== undefined ? lineAt(text, aliases.excess) : doc.line;
    return {
      ...at,
      line,
      message:
        `the document uses ${aliases.count} YAML aliases, more than the ${limits.maxAliases} allowed (alias ${limits.maxAliases + 1} is on line ${line}): ` +
        'aliases can expand a small file into a huge object ("billion laughs"); write the values out instead',
    };
  }
  const expansion = measureExpansion(doc.object);
  if (expansion.cycle) {
    const field = formatFieldPath(expansion.cycle);
    return { ...at, line: lineOf(doc, expansion.cycle), field, message: 'refers to itself through a YAML alias: the object would be infinite' };
  }
  if (expansion.bytes > limits.maxExpandedBytes) {
    const viaAliases = expansion.sharedReferences > 0 || (aliases?.count ?? 0) > 0;
    return {
      ...at,
      line: doc.line,
      message: viaAliases
        ? `YAML aliases expand the document to more than ${mib(limits.maxExpandedBytes)} (about ${expansion.bytes.toExponential(1)} bytes) ` +
          '("billion laughs"): refused; write the values out instead'
        : `the document is larger than ${mib(limits.maxExpandedBytes)} as JSON, more than the Kubernetes API accepts`,
    };
  }
  return undefined;
}

function describeValue(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `${typeof value} ${JSON.stringify(value)}`;
}

/** Problems with a document as a Kubernetes object (apiVersion, kind, metadata.name). */
function shapeProblems(doc: ManifestDocument): SyncProblem[] {
  const problems: SyncProblem[] = [];
  const add = (field: string | undefined, message: string): void => {
    problems.push({ file: doc.file, index: doc.index, line: field === undefined ? doc.line : lineOf(doc, field), ...(field === undefined ? {} : { field }), message });
  };
  const obj = doc.object;
  if (!isRecord(obj)) {
    add(undefined, `must be a Kubernetes object, a mapping with apiVersion, kind and metadata (got ${describeValue(obj)})`);
    return problems;
  }
  for (const key of ['apiVersion', 'kind'] as const) {
    const value = obj[key];
    if (value === undefined || value === null) add(key, 'required: every Kubernetes object needs apiVersion and kind');
    else if (typeof value !== 'string' || value.trim() === '') add(key, `must be a non-empty string (got ${describeValue(value)})`);
  }
  const meta = obj.metadata;
  if (meta === undefined || meta === null) {
    add('metadata.name', 'required: Weir tracks the objects it applies by name');
    return problems;
  }
  if (!isRecord(meta)) {
    add('metadata', `must be a mapping (got ${describeValue(meta)})`);
    return problems;
  }
  const name = meta.name;
  if (name === undefined || name === null || name === '') {
    const generate = meta.generateName !== undefined ? ' (generateName is not supported: an object with a generated name cannot be updated or pruned)' : '';
    add('metadata.name', `required: Weir tracks the objects it applies by name${generate}`);
  } else if (typeof name !== 'string') {
    add('metadata.name', `must be a string (got ${describeValue(name)})`);
  }
  const namespace = meta.namespace;
  if (namespace !== undefined && namespace !== null && typeof namespace !== 'string') add('metadata.namespace', `must be a string (got ${describeValue(namespace)})`);
  return problems;
}

/**
 * The documents of a parsed file that must never be walked (too many
 * aliases, an alias cycle, too large once expanded), by document index, each
 * with its problem. Git sync refuses them, and weir lint reports them
 * without checking them further, so that neither spends time or memory on an
 * alias bomb.
 */
export function refusedDocuments(content: string, parsed: ParsedManifests, limits: YamlLimits = DEFAULT_YAML_LIMITS): Map<number, SyncProblem> {
  const text = content.startsWith('\uFEFF') ? content.slice(1) : content;
  // Alias counts line up with the documents only when the whole file parsed (parseManifests' fast path).
  const aliases = parsed.errors.length === 0 ? countAliases(text, limits.maxAliases) : undefined;
  const refused = new Map<number, SyncProblem>();
  for (const doc of parsed.documents) {
    if (doc.object === null || doc.object === undefined) continue;
    const bomb = expansionProblem(doc, aliases?.[doc.index], limits, aliases ? text : undefined);
    if (bomb) refused.set(doc.index, bomb);
  }
  return refused;
}

/**
 * Parses manifest files into documents. Returns every document that is a
 * Kubernetes object (apiVersion, kind and metadata.name set) and every
 * problem: YAML errors, alias bombs, documents that are not objects. Empty
 * documents are skipped. Never throws.
 */
export function parseDocuments(files: readonly ManifestFile[], limits: YamlLimits = DEFAULT_YAML_LIMITS): ParsedDocuments {
  const documents: SyncDocument[] = [];
  const problems: SyncProblem[] = [];
  for (const file of files) {
    const parsed = parseManifests(file.content, file.path);
    for (const error of parsed.errors) problems.push({ file: error.file, line: error.line ?? 1, message: error.message });
    const refused = refusedDocuments(file.content, parsed, limits);
    for (const doc of parsed.documents) {
      if (doc.object === null || doc.object === undefined) continue; // an empty document
      const bomb = refused.get(doc.index);
      if (bomb) {
        problems.push(bomb);
        continue;
      }
      const shape = shapeProblems(doc);
      if (shape.length > 0) {
        problems.push(...shape);
        continue;
      }
      documents.push({ file: doc.file, index: doc.index, line: doc.line, object: doc.object as SyncObject, lines: CompactLines.from(doc.lines) });
    }
  }
  return { documents, problems };
}
