import type { Command } from 'commander';
import { commonOptionsOf } from '../context.ts';
import { printLine } from '../output.ts';
import { openDatabaseCommand } from './database-access.ts';

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .alias('start')
    .description('Start the service (same as npm start): migrates the database, then serves until SIGTERM or SIGINT')
    .addHelpText(
      'after',
      `
Configured by the environment (HOST, PORT, DATA_DIR or DATABASE_URL, SWITCHBOARD_SECRET, LOG_FORMAT, …).

Examples:
  switchboard serve
  PORT=9000 LOG_LEVEL=debug switchboard serve
  DATABASE_URL=postgres://switchboard@db:5432/switchboard SWITCHBOARD_SECRET="$SECRET" switchboard serve`,
    )
    .action(async () => {
      const { main } = await import('../../main.ts');
      await main();
    });

  program
    .command('migrate')
    .description('Bring the database schema up to date and say what was applied (serve does it too, at start)')
    .option('--json', 'print {"applied": [...]} instead of text')
    .addHelpText(
      'after',
      `
Safe to run while servers run on PostgreSQL, and from several places at once. With the
embedded database (DATA_DIR), stop the service first.

Examples:
  switchboard migrate
  DATABASE_URL=postgres://switchboard@db:5432/switchboard SWITCHBOARD_SECRET="$SECRET" switchboard migrate --json`,
    )
    .action(async (_options, command: Command) => {
      const { withDatabase } = await openDatabaseCommand();
      const applied = await withDatabase(async (_db, applied) => applied);
      if (commonOptionsOf(command).json) return printLine(JSON.stringify({ applied }));
      if (applied.length === 0) return printLine('The database schema is already up to date.');
      for (const name of applied) printLine(`Applied ${name}`);
      printLine(`The database schema is up to date (${applied.length} migration${applied.length === 1 ? '' : 's'} applied).`);
    });
}
