// The `weir` command line.
//
// commander: the most used Node CLI parser, typed, with sub-commands, help
// and option validation built in, and no dependencies of its own.
import { readFileSync } from 'node:fs';
import { Command, CommanderError } from 'commander';
import { registerAnalyzeCommand } from './analyze-command.ts';
import { registerControllerCommand } from './controller-command.ts';
import { registerHistoryCommand } from './history-command.ts';
import { registerLintCommand } from './lint-command.ts';
import { registerRolloutCommands } from './rollout-commands.ts';
import { registerSandboxCommands } from './sandbox-commands.ts';

const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { version: string };

export function buildProgram(): Command {
  const program = new Command('weir')
    .description('Weir: progressive delivery for Kubernetes, pulled from Git')
    .showHelpAfterError()
    .exitOverride();
  program
    .command('version')
    .description('print the version of weir')
    .action(() => {
      process.stdout.write(`weir ${pkg.version} (node ${process.version})\n`);
    });
  registerControllerCommand(program, pkg.version);
  registerRolloutCommands(program);
  registerHistoryCommand(program);
  registerAnalyzeCommand(program);
  registerLintCommand(program);
  registerSandboxCommands(program);
  return program;
}

try {
  await buildProgram().parseAsync(process.argv);
} catch (err) {
  if (err instanceof CommanderError) {
    process.exitCode = err.exitCode;
  } else {
    process.stderr.write(`weir: ${err instanceof Error ? err.message : String(err)}\n`);
    process.exitCode = 1;
  }
}
