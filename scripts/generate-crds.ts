// Writes crds/ from the API's TypeBox schemas (src/api/crd.ts): one
// CustomResourceDefinition per kind in CRD_KINDS and a kustomization.yaml.
// Generated files that no kind produces any more are removed.
//
//   npm run generate
import { mkdir, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { GENERATED_HEADER, crdFiles } from '../src/api/crd.ts';

const dir = fileURLToPath(new URL('../crds/', import.meta.url));
await mkdir(dir, { recursive: true });

const files = crdFiles();
const wanted = new Set(files.map((f) => f.name));
for (const name of await readdir(dir)) {
  if (wanted.has(name) || !/\.ya?ml$/.test(name)) continue;
  const content = await readFile(join(dir, name), 'utf8');
  if (content.startsWith(GENERATED_HEADER)) {
    await rm(join(dir, name));
    process.stdout.write(`removed crds/${name}\n`);
  }
}
for (const file of files) {
  const path = join(dir, file.name);
  const previous = await readFile(path, 'utf8').catch(() => undefined);
  if (previous === file.content) continue;
  await writeFile(path, file.content);
  process.stdout.write(`wrote crds/${file.name}\n`);
}
