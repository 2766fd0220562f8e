import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { repoRoot } from './paths.ts';
import { CRD_MANIFEST_TOOLS, SANDBOX_TOOLS, isCrdManifestTool, releaseOf, requiredVersion, toolRelease, type SandboxTool } from './tool-versions.ts';

describe('requiredVersion', () => {
  const goMod = [
    'module weir.dev/tools/kubernetes',
    '',
    'go 1.26.0',
    '',
    'require k8s.io/kubernetes v1.37.2 // indirect',
    '',
    'require (',
    '\tgithub.com/blang/semver/v4 v4.0.0 // indirect',
    ')',
    '',
    'replace (',
    '\tk8s.io/api => k8s.io/api v0.37.2',
    ')',
  ].join('\n');

  it('reads a one-line require, with or without a comment', () => {
    assert.equal(requiredVersion(goMod, 'k8s.io/kubernetes'), 'v1.37.2');
  });

  it('reads a line of a require block', () => {
    assert.equal(requiredVersion(goMod, 'github.com/blang/semver/v4'), 'v4.0.0');
  });

  it('does not take a replace line or a module that is not required', () => {
    assert.equal(requiredVersion(goMod, 'k8s.io/api'), undefined);
    assert.equal(requiredVersion(goMod, 'k8s.io/kube'), undefined);
  });
});

describe('releaseOf', () => {
  it('drops the v of a module version', () => {
    assert.equal(releaseOf('kubernetes', 'v1.37.2'), '1.37.2');
    assert.equal(releaseOf('etcd', 'v3.6.17'), '3.6.17');
  });

  it('maps Prometheus module v0.3XY.Z to Prometheus 3.XY.Z', () => {
    assert.equal(releaseOf('prometheus', 'v0.316.0'), '3.16.0');
    assert.equal(releaseOf('prometheus', 'v0.300.1'), '3.0.1');
  });

  it('refuses a Prometheus module version that is not a 3.x release', () => {
    assert.throws(() => releaseOf('prometheus', 'v2.53.0'), /unexpected Prometheus module version v2\.53\.0/);
    assert.throws(() => releaseOf('prometheus', 'v0.55.1'), /unexpected Prometheus module version/);
  });
});

describe('the wrapper modules under tools/', () => {
  const tools = join(repoRoot, 'tools');

  for (const tool of Object.keys(SANDBOX_TOOLS) as SandboxTool[]) {
    it(`${tool}: pins a release of ${SANDBOX_TOOLS[tool]}`, () => {
      assert.match(toolRelease(tools, tool), /^\d+\.\d+\.\d+$/);
    });
  }

  it('kubernetes: pins every staging module to the v0.X.Y of Kubernetes v1.X.Y', () => {
    const goMod = readFileSync(join(tools, 'kubernetes', 'go.mod'), 'utf8');
    const [, minor, patch] = toolRelease(tools, 'kubernetes').split('.');
    const replaces = [...goMod.matchAll(/^\s*(k8s\.io\/[\w-]+) => (k8s\.io\/[\w-]+) (v\S+)$/gm)];
    assert.ok(replaces.length >= 30, `${replaces.length} staging modules pinned`);
    for (const [, from, to, version] of replaces) {
      assert.equal(to, from);
      assert.equal(version, `v0.${minor ?? ''}.${patch ?? ''}`, `${from ?? ''} at the matching staging version`);
    }
  });
});

describe('the CRD manifest tools', () => {
  const script = readFileSync(join(repoRoot, 'scripts', 'build-sandbox-tools.sh'), 'utf8');
  const listOf = (name: string): string[] => new RegExp(`^${name}=\\(([^)]*)\\)$`, 'm').exec(script)?.[1]?.split(/\s+/) ?? [];

  it('are the build script\'s manifest tools, and with its built tools every sandbox tool', () => {
    assert.deepEqual(listOf('manifest_tools'), Object.keys(CRD_MANIFEST_TOOLS));
    assert.deepEqual([...listOf('built_tools'), ...listOf('manifest_tools')].sort(), Object.keys(SANDBOX_TOOLS).sort());
    assert.ok(isCrdManifestTool('istio'));
    assert.ok(!isCrdManifestTool('helm'));
  });

  for (const [tool, { sets, installed }] of Object.entries(CRD_MANIFEST_TOOLS)) {
    it(`${tool}: copies the sets the script copies, among them the one installed (${installed})`, () => {
      const block = new RegExp(`^    ${tool}\\)\\n([\\s\\S]*?);;`, 'm').exec(script.slice(script.indexOf('describe_manifests() {')))?.[1] ?? '';
      const copied = [...(/sets=\(([^)]*)\)/.exec(block)?.[1] ?? '').matchAll(/([\w-]+)=\S+/g)].map((m) => m[1]);
      assert.deepEqual(copied, [...sets]);
      assert.ok((sets as readonly string[]).includes(installed));
    });
  }
});
