#!/usr/bin/env node
/**
 * Standalone entry of `lingua drill` until it is wired into the `lingua` program:
 *
 *   npx tsx packages/cli/src/drill/main.ts <scenario> [options]     (--help for the options)
 */
import { Command } from 'commander';
import { registerDrillCommand } from './index';

const program = new Command().name('lingua').showHelpAfterError();
registerDrillCommand(program);
program.parseAsync(['node', 'lingua', 'drill', ...process.argv.slice(2)]).catch((err) => {
  process.stderr.write(`lingua drill: ${(err as Error)?.stack ?? err}\n`);
  process.exit(1);
});
