#!/usr/bin/env node
// Runs the test suite with Node's own test runner, in one invocation so it
// prints one summary.
//
//   unit         pure tests beside the code (src/**/*.test.ts, examples/**), no servers
//   integration  end-to-end tests under test/, against one shared sandbox
//   all          both (the README's `npm test`)
//   chaos        the chaos tier under test/chaos/ (long: SIGKILLs during
//                Git-driven canaries), against the same sandbox; a CI step
//                of its own
//
// For integration tests it starts the sandbox instance "test" (or reuses a
// running one, which it then leaves running) and stops it afterwards.
import { spawn } from 'node:child_process';
import { globSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = fileURLToPath(new URL('..', import.meta.url));
const tier = process.argv[2] ?? 'all';
const extra = process.argv.slice(3);
if (!['unit', 'integration', 'all', 'chaos'].includes(tier)) {
  console.error(`usage: run-tests.js unit|integration|all|chaos [node --test options]`);
  process.exit(2);
}

const unitFiles = globSync(['src/**/*.test.ts', 'examples/**/*.test.ts'], { cwd: root });
const chaosFiles = globSync('test/chaos/**/*.test.ts', { cwd: root });
const integrationFiles = globSync('test/**/*.test.ts', { cwd: root }).filter((f) => !chaosFiles.includes(f));
const files = (tier === 'chaos' ? chaosFiles : [...(tier === 'integration' ? [] : unitFiles), ...(tier === 'unit' ? [] : integrationFiles)]).sort();
const sandboxName = process.env.WEIR_TEST_SANDBOX ?? 'test';

/**
 * @param {string[]} args
 * @param {NodeJS.ProcessEnv} [env]
 * @returns {Promise<number>}
 */
function run(args, env = process.env) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, stdio: 'inherit', env });
    /** @param {NodeJS.Signals} signal */
    const forward = (signal) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('exit', (code, signal) => {
      process.off('SIGINT', forward);
      process.off('SIGTERM', forward);
      resolve(code ?? (signal ? 1 : 0));
    });
  });
}

const needsSandbox = tier !== 'unit' && (tier === 'chaos' ? chaosFiles : integrationFiles).length > 0;
let startedSandbox = false;
if (needsSandbox) {
  const status = await run(['bin/weir.js', 'sandbox', '--name', sandboxName, 'status'], { ...process.env, FORCE_COLOR: '0' });
  if (status !== 0) {
    const up = await run(['bin/weir.js', 'sandbox', '--name', sandboxName, 'up']);
    if (up !== 0) {
      console.error(`could not start the test sandbox "${sandboxName}"`);
      process.exit(1);
    }
    startedSandbox = true;
  }
}

const code = await run(
  ['--test', '--test-reporter=spec', `--test-concurrency=${tier === 'unit' ? 2 : 1}`, '--test-timeout=600000', ...extra, ...files],
  { ...process.env, WEIR_SANDBOX: sandboxName },
);

if (startedSandbox && !process.env.WEIR_KEEP_SANDBOX) {
  await run(['bin/weir.js', 'sandbox', '--name', sandboxName, 'down']);
}
process.exit(code);
