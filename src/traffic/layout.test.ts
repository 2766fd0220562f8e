// The shape of the traffic folder: the controller and the engine know routers
// only through the contract (types.ts) and the registry (index.ts); each
// router is a folder of its own, pure, with its unit tests.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, it } from 'node:test';
import { ROUTERS } from './index.ts';

const SRC = new URL('..', import.meta.url).pathname;
const TRAFFIC = join(SRC, 'traffic');

function tsFiles(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    if (statSync(path).isDirectory()) return tsFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

function importsOf(file: string): string[] {
  const text = readFileSync(file, 'utf8');
  return [...text.matchAll(/^\s*(?:import|export)\b[^'"]*?from\s+'([^']+)'|^\s*import\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/gm)].map((m) => m[1] ?? m[2] ?? m[3] ?? '');
}

const routerFolders = readdirSync(TRAFFIC).filter((name) => statSync(join(TRAFFIC, name)).isDirectory());

/** The router folders `file` imports from, directly. */
function routerImports(file: string, folders: readonly string[]): string[] {
  return importsOf(file).flatMap((spec) => {
    if (!spec.startsWith('.')) return [];
    const target = relative(TRAFFIC, join(file, '..', spec));
    const folder = target.split('/')[0] ?? '';
    return !target.startsWith('..') && target.includes('/') && folders.includes(folder) ? [target] : [];
  });
}

describe('traffic layout', () => {
  it('has a folder for every router in the registry', () => {
    assert.ok(routerFolders.length >= ROUTERS.length, `${routerFolders.length} folders for ${ROUTERS.length} routers`);
    for (const folder of routerFolders) assert.ok(tsFiles(join(TRAFFIC, folder)).some((f) => f.endsWith('.test.ts')), `${folder}/ has unit tests`);
  });

  it('the controller and the engine import no router folder, only the contract and the registry', () => {
    const offenders = [...tsFiles(join(SRC, 'controller')), ...tsFiles(join(SRC, 'engine'))].flatMap((file) => routerImports(file, routerFolders).map((t) => `${relative(SRC, file)} → traffic/${t}`));
    assert.deepEqual(offenders, []);
  });

  it('the check finds an import of a router folder', () => {
    // The same scan over the registry, which must import them all.
    const found = routerImports(join(TRAFFIC, 'index.ts'), routerFolders).map((t) => t.split('/')[0]);
    for (const folder of routerFolders) assert.ok(found.includes(folder), `index.ts imports ${folder}/`);
  });

  it('routers do no I/O: no Node built-ins with I/O, no Kubernetes client, no HTTP client', () => {
    const io = /^(node:(fs|net|http|https|child_process|dgram|dns|tls)(\/.*)?|@kubernetes\/client-node|axios)$/;
    const offenders = routerFolders.flatMap((folder) =>
      tsFiles(join(TRAFFIC, folder))
        .filter((f) => !f.endsWith('.test.ts'))
        .flatMap((file) => importsOf(file).filter((spec) => io.test(spec)).map((spec) => `${relative(SRC, file)} imports ${spec}`)),
    );
    assert.deepEqual(offenders, []);
  });
});
