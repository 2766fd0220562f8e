// Loading Kubernetes manifests: multi-document YAML files, each document with
// the file, its position and its line, and a map from field paths to the
// lines they are on, so a problem found in a field can be reported as
// file:line. Malformed YAML never throws: it comes back as an error with its
// line, and the other documents of the file are still read.
//
// js-yaml (5.x) parses to a stream of events that carry source offsets; the
// objects are built from the same events, so positions and values agree.
import { readFile } from 'node:fs/promises';
import { CORE_SCHEMA, EVENT_ID, YAMLException, constructFromEvents, getScalarValue, mergeTag, parseEvents, type Event } from 'js-yaml';
import { formatFieldPath, parseFieldPath, type PathSegment } from './validate.ts';

export interface ManifestDocument {
  /** The file as given to parseManifests/loadManifestFile. */
  file: string;
  /** Position of the document in the file, from 0 (empty documents count). */
  index: number;
  /** 1-based line where the document's content starts. */
  line: number;
  /** The parsed document (null for an empty one). */
  object: unknown;
  /** 1-based line of each field and list item, keyed by formatFieldPath. */
  lines: ReadonlyMap<string, number>;
}

export interface ManifestError {
  file: string;
  /** 1-based line of the problem; absent when the file could not be read at all. */
  line?: number;
  message: string;
}

export interface ParsedManifests {
  documents: ManifestDocument[];
  errors: ManifestError[];
}

/** YAML 1.2 core schema plus merge keys (`<<`), which Kubernetes' YAML reader accepts too. */
const SCHEMA = CORE_SCHEMA.withTags(mergeTag);

/** 1-based line numbers for offsets into a text. */
class LineIndex {
  readonly #starts: number[] = [0];
  constructor(text: string) {
    for (let i = text.indexOf('\n'); i !== -1; i = text.indexOf('\n', i + 1)) this.#starts.push(i + 1);
  }
  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.#starts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if ((this.#starts[mid] ?? 0) <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }
}

/** Where an event's node starts: its anchor or tag when it has one, else its content. */
function startOf(event: Event): number {
  const candidates: number[] = [];
  if ('anchorStart' in event) candidates.push(event.anchorStart);
  if ('tagStart' in event) candidates.push(event.tagStart);
  if ('start' in event) candidates.push(event.start);
  if ('valueStart' in event) candidates.push(event.valueStart);
  const found = candidates.filter((n) => n >= 0);
  return found.length > 0 ? Math.min(...found) : -1;
}

/** Walks the events of one document, recording the line of each path. */
class SourceMapper {
  #i: number;
  readonly #events: Event[];
  readonly #text: string;
  readonly #index: LineIndex;
  readonly lines = new Map<string, number>();
  first = -1;

  constructor(events: Event[], start: number, text: string, index: LineIndex) {
    this.#events = events;
    this.#i = start;
    this.#text = text;
    this.#index = index;
  }

  get position(): number {
    return this.#i;
  }

  #record(path: PathSegment[] | undefined, offset: number): void {
    if (offset < 0) return;
    if (this.first < 0) this.first = offset;
    if (path === undefined) return;
    const key = formatFieldPath(path);
    if (!this.lines.has(key)) this.lines.set(key, this.#index.lineAt(offset));
  }

  /** Consumes one node; `path` undefined for nodes that have no path (complex keys). */
  node(path: PathSegment[] | undefined, keyOffset = -1): void {
    const event = this.#events[this.#i++];
    if (event === undefined) return;
    this.#record(path, keyOffset >= 0 ? keyOffset : startOf(event));
    if (event.type === EVENT_ID.SEQUENCE) {
      let index = 0;
      while (this.#i < this.#events.length && this.#events[this.#i]?.type !== EVENT_ID.POP) {
        this.node(path === undefined ? undefined : [...path, index]);
        index++;
      }
      this.#i++; // POP
    } else if (event.type === EVENT_ID.MAPPING) {
      while (this.#i < this.#events.length && this.#events[this.#i]?.type !== EVENT_ID.POP) {
        const key = this.#events[this.#i];
        if (key?.type === EVENT_ID.SCALAR) {
          this.#i++;
          const name = getScalarValue(this.#text, key);
          const offset = startOf(key);
          if (this.first < 0 && offset >= 0) this.first = offset;
          this.node(path === undefined ? undefined : [...path, name], offset);
        } else {
          this.node(undefined); // a complex key
          this.node(undefined);
        }
      }
      this.#i++; // POP
    }
  }
}

interface Chunk {
  text: string;
  /** 0-based line of the chunk's first line in the file. */
  lineOffset: number;
}

/** Splits a YAML stream at document markers (`---` at the start of a line). */
function splitDocuments(text: string): Chunk[] {
  const chunks: Chunk[] = [];
  const lines = text.split('\n');
  let current: string[] = [];
  let start = 0;
  lines.forEach((line, i) => {
    if (/^---(\s|$)/.test(line) && current.some((l) => l.trim() !== '' && !l.trimStart().startsWith('#') && !l.startsWith('%'))) {
      chunks.push({ text: current.join('\n'), lineOffset: start });
      current = [];
      start = i;
    }
    current.push(line);
  });
  chunks.push({ text: current.join('\n'), lineOffset: start });
  return chunks;
}

function yamlError(file: string, err: unknown, lineOffset: number): ManifestError {
  if (err instanceof YAMLException) {
    const line = err.mark ? err.mark.line + 1 + lineOffset : lineOffset + 1;
    return { file, line, message: `invalid YAML: ${err.reason}${err.mark ? ` (column ${err.mark.column + 1})` : ''}` };
  }
  return { file, line: lineOffset + 1, message: `invalid YAML: ${err instanceof Error ? err.message : String(err)}` };
}

/** Parses a whole chunk; throws what js-yaml throws. */
function parseChunk(text: string, file: string, lineOffset: number, firstIndex: number): ManifestDocument[] {
  const events = parseEvents(text, { filename: file });
  const objects = constructFromEvents(events, { source: text, filename: file, schema: SCHEMA });
  const index = new LineIndex(text);
  // Lines of the `---` markers, for documents with no content to point at.
  const markers: number[] = [];
  text.split('\n').forEach((line, n) => {
    if (/^---(\s|$)/.test(line)) markers.push(n + 1);
  });
  let marker = 0;
  const documents: ManifestDocument[] = [];
  let i = 0;
  while (i < events.length) {
    const event = events[i];
    if (event?.type !== EVENT_ID.DOCUMENT) {
      i++;
      continue;
    }
    const markerLine = event.explicitStart ? markers[marker++] : undefined;
    const mapper = new SourceMapper(events, i + 1, text, index);
    mapper.node([]);
    i = mapper.position + 1; // the document's POP
    const lines = new Map<string, number>();
    for (const [path, line] of mapper.lines) lines.set(path, line + lineOffset);
    const docIndex = documents.length;
    documents.push({
      file,
      index: firstIndex + docIndex,
      line: (mapper.first >= 0 ? index.lineAt(mapper.first) : (markerLine ?? 1)) + lineOffset,
      object: objects[docIndex] ?? null,
      lines,
    });
  }
  return documents;
}

/**
 * Parses a multi-document YAML text. Never throws: malformed YAML becomes an
 * error with its file:line, and the documents around a malformed one are
 * still returned (each document is then read on its own).
 */
export function parseManifests(text: string, file: string): ParsedManifests {
  const source = text.startsWith('\uFEFF') ? text.slice(1) : text;
  try {
    return { documents: parseChunk(source, file, 0, 0), errors: [] };
  } catch {
    // Read document by document, so one bad document does not hide the others.
  }
  const documents: ManifestDocument[] = [];
  const errors: ManifestError[] = [];
  for (const chunk of splitDocuments(source)) {
    try {
      documents.push(...parseChunk(chunk.text, file, chunk.lineOffset, documents.length + errors.length));
    } catch (err) {
      errors.push(yamlError(file, err, chunk.lineOffset));
    }
  }
  if (errors.length === 0) {
    // The whole text failed but no document alone did (e.g. a directive split off): report the first failure.
    try {
      parseChunk(source, file, 0, 0);
    } catch (err) {
      errors.push(yamlError(file, err, 0));
    }
  }
  return { documents, errors };
}

/** The largest manifest file read (Git sync and weir lint alike): 1 MiB. */
export const MAX_MANIFEST_FILE_BYTES = 1024 * 1024;

/** A manifest file's bytes as text, or why they are not read: over the size limit, or not UTF-8 (a binary file). */
export function decodeManifestFile(bytes: Uint8Array, maxBytes: number = MAX_MANIFEST_FILE_BYTES): { content: string } | { problem: string } {
  if (bytes.byteLength > maxBytes) return { problem: `is ${bytes.byteLength} bytes, over the limit of ${maxBytes} bytes` };
  try {
    return { content: new TextDecoder('utf-8', { fatal: true }).decode(bytes) };
  } catch {
    return { problem: 'is not valid UTF-8' };
  }
}

/** Reads a manifest file as Git sync would (size limit, UTF-8). Never throws: a file that cannot be read is a problem. */
export async function readManifestFile(path: string): Promise<{ content: string } | { problem: string }> {
  try {
    return decodeManifestFile(await readFile(path));
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code;
    return { problem: `cannot read: ${code ?? (err instanceof Error ? err.message : String(err))}` };
  }
}

/** Reads and parses a manifest file. Never throws: an unreadable file is an error without a line. */
export async function loadManifestFile(path: string): Promise<ParsedManifests> {
  const read = await readManifestFile(path);
  if ('problem' in read) return { documents: [], errors: [{ file: path, message: read.problem }] };
  return parseManifests(read.content, path);
}

/**
 * The line of a field path (as in FieldError.path, or as segments) within a
 * document: the line of the field itself, else of its nearest parent that is
 * in the file (a missing field is reported where its parent is), else the
 * document's first line.
 */
export function lineOf(document: Pick<ManifestDocument, 'line' | 'lines'>, path: string | readonly PathSegment[]): number {
  const segments = typeof path === 'string' ? parseFieldPath(path) : [...path];
  for (let n = segments.length; n > 0; n--) {
    const line = document.lines.get(formatFieldPath(segments.slice(0, n)));
    if (line !== undefined) return line;
  }
  return document.line;
}
