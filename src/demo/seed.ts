// What the demo puts in Git: the repository's files from examples/demo/repo
// (with the sandbox's Prometheus address), the GitSource from
// examples/demo/gitsource.yaml (with the repository's URL), and the acts of
// the story as edits to those files, each one commit.
import { readdir, readFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { repoRoot } from '../sandbox/paths.ts';

export const DEMO_NAMESPACE = 'weir-demo';
export const DEMO_ROLLOUT = 'demo';
export const DEMO_GITSOURCE = 'demo';
export const DEMO_CONFIGMAP = 'demo-config';
export const EXAMPLE_DIR = join(repoRoot, 'examples', 'demo');

/** Addresses in the example files that stand for the sandbox's: replaced when seeding. */
export const PLACEHOLDERS = {
  prometheusUrl: 'http://prometheus.invalid:9090',
  repositoryUrl: 'http://git.invalid/demo.git',
} as const;

export type RepoFiles = Readonly<Record<string, string>>;

export interface DemoExample {
  /** The repository's files by path (e.g. apps/demo/rollout.yaml). */
  repoFiles: RepoFiles;
  gitSource: string;
}

async function listFiles(dir: string): Promise<string[]> {
  const out: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) out.push(...(await listFiles(path)));
    else if (entry.isFile()) out.push(path);
  }
  return out.sort();
}

export async function readDemoExample(dir = EXAMPLE_DIR): Promise<DemoExample> {
  const repoDir = join(dir, 'repo');
  const repoFiles: Record<string, string> = {};
  for (const file of await listFiles(repoDir)) repoFiles[relative(repoDir, file)] = await readFile(file, 'utf8');
  return { repoFiles, gitSource: await readFile(join(dir, 'gitsource.yaml'), 'utf8') };
}

function replaceAll(text: string, from: string, to: string): { text: string; count: number } {
  const parts = text.split(from);
  return { text: parts.join(to), count: parts.length - 1 };
}

/** The repository's first commit: the example files with the sandbox's Prometheus address. Pure. */
export function seedFiles(example: RepoFiles, prometheusUrl: string): Record<string, string> {
  const out: Record<string, string> = {};
  let count = 0;
  for (const [path, text] of Object.entries(example)) {
    const replaced = replaceAll(text, PLACEHOLDERS.prometheusUrl, prometheusUrl);
    out[path] = replaced.text;
    count += replaced.count;
  }
  if (count === 0) throw new Error(`no file of examples/demo/repo names ${PLACEHOLDERS.prometheusUrl}: the analysis would not reach the sandbox's Prometheus`);
  return out;
}

/** The GitSource with the repository's URL. Pure. */
export function gitSourceManifest(text: string, repositoryUrl: string): string {
  const { text: out, count } = replaceAll(text, PLACEHOLDERS.repositoryUrl, repositoryUrl);
  if (count !== 1) throw new Error(`examples/demo/gitsource.yaml must name ${PLACEHOLDERS.repositoryUrl} exactly once (found ${count})`);
  return out;
}

export interface Edit {
  file: string;
  from: string;
  to: string;
}

export interface Act {
  /** Short name: the version it releases. */
  name: string;
  title: string;
  commitMessage: string;
  /** What the story expects of it. */
  expect: 'promoted' | 'rejected';
  edits: Edit[];
}

/** The files after the edits; each `from` must occur exactly once in its file. Pure. */
export function applyEdits(files: RepoFiles, edits: readonly Edit[]): Record<string, string> {
  const out: Record<string, string> = { ...files };
  for (const e of edits) {
    const text = out[e.file];
    if (text === undefined) throw new Error(`edit of ${e.file}: no such file in the demo repository`);
    const { text: edited, count } = replaceAll(text, e.from, e.to);
    if (count !== 1) throw new Error(`edit of ${e.file}: ${JSON.stringify(e.from)} occurs ${count} times, expected once`);
    out[e.file] = edited;
  }
  return out;
}

const ROLLOUT_FILE = 'apps/demo/rollout.yaml';
const CONFIG_FILE = 'apps/demo/config.yaml';

/** The story after the first commit (v1): a healthy release, then a bad one. */
export const ACTS: readonly Act[] = [
  {
    name: 'v2',
    title: 'v2, a healthy release',
    commitMessage: 'demo v2: a healthy release',
    expect: 'promoted',
    edits: [{ file: ROLLOUT_FILE, from: 'image: weir-demo:v1', to: 'image: weir-demo:v2' }],
  },
  {
    name: 'v3',
    title: 'v3, 30% of requests fail, and a new greeting',
    commitMessage: 'demo v3: a new greeting (and a bug: 30% of requests fail)',
    expect: 'rejected',
    edits: [
      { file: ROLLOUT_FILE, from: 'image: weir-demo:v2', to: 'image: weir-demo:v3' },
      { file: ROLLOUT_FILE, from: 'value: "0"', to: 'value: "0.3"' },
      { file: CONFIG_FILE, from: 'GREETING: "hello"', to: 'GREETING: "hello from v3"' },
    ],
  },
];

/** The ConfigMap's GREETING in a set of files (to check the rollback restored it). Pure. */
export function greetingOf(files: RepoFiles): string | undefined {
  return /GREETING: "([^"]*)"/.exec(files[CONFIG_FILE] ?? '')?.[1];
}
