// The engine's layout, enforced: the reconcile frame both strategies share is
// written once (frame.ts, inputs.ts, progress.ts, desired-effects.ts,
// scale-down.ts), so no block of six or more lines is repeated between the
// canary modules and the blue/green ones, and plan.ts only dispatches.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { describe, it } from 'node:test';

const DIR = new URL('./', import.meta.url);
const WINDOW = 6;

function source(name: string): string {
  return readFileSync(new URL(name, DIR), 'utf8');
}

/** A file's lines as compared: trimmed, without blank lines, imports, or lines of punctuation only (`}`, `});`, `]`, `)`). */
export function normalisedLines(text: string): string[] {
  const out: string[] = [];
  let inImport = false;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (inImport) {
      if (/\bfrom\s+['"]/.test(line) || line.endsWith(';')) inImport = false;
      continue;
    }
    if (/^(import|export)\b.*\bfrom\s+['"]/.test(line) || /^import\s+['"]/.test(line)) continue;
    if (/^import\b/.test(line)) {
      inImport = true;
      continue;
    }
    if (line === '' || /^[\s{}()[\];,]*$/.test(line)) continue;
    out.push(line);
  }
  return out;
}

/** Every run of WINDOW consecutive normalised lines, joined. */
export function windows(text: string): Set<string> {
  const lines = normalisedLines(text);
  const out = new Set<string>();
  for (let i = 0; i + WINDOW <= lines.length; i++) out.add(lines.slice(i, i + WINDOW).join('\n'));
  return out;
}

/** The blocks of WINDOW lines that occur in both texts. */
export function repeatedBlocks(a: string, b: string): string[] {
  const seen = windows(a);
  return [...windows(b)].filter((w) => seen.has(w));
}

const modules = readdirSync(DIR).filter((n) => n.endsWith('.ts') && !n.endsWith('.test.ts'));
const canaryModules = ['machine.ts', ...modules.filter((n) => n.startsWith('canary'))];
const blueGreenModules = modules.filter((n) => n.startsWith('bluegreen'));

describe('engine layout', () => {
  it('finds the strategy modules', () => {
    assert.ok(canaryModules.includes('canary.ts'), canaryModules.join(', '));
    assert.ok(blueGreenModules.includes('bluegreen.ts') && blueGreenModules.includes('bluegreen-machine.ts'), blueGreenModules.join(', '));
  });

  it(`repeats no block of ${WINDOW} lines between the canary and the blue/green modules`, () => {
    const canary = canaryModules.map(source).join('\n');
    const blueGreen = blueGreenModules.map(source).join('\n');
    const repeated = repeatedBlocks(canary, blueGreen);
    assert.deepEqual(repeated, [], `written twice (move it to the shared frame):\n${repeated.join('\n---\n')}`);
  });

  it('detects a repeated block', () => {
    const block = ['const a = 1;', 'const b = 2;', 'if (a) {', '  run(a);', '}', 'const c = 3;', 'const d = 4;', 'return a + b + c + d;'].join('\n');
    assert.equal(repeatedBlocks(`import { x } from './x.ts';\n${block}`, `\n\n${block}\n`).length, 2);
    assert.deepEqual(repeatedBlocks(block, 'something else\nentirely'), []);
  });

  it('keeps plan.ts a dispatcher (under 200 lines)', () => {
    const lines = source('plan.ts').split('\n').length;
    assert.ok(lines < 200, `plan.ts has ${lines} lines`);
  });
});
