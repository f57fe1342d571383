import type { Command } from 'commander';
import { printLine } from '../output.ts';
import { openDatabaseCommand } from './database-access.ts';

export function registerServerCommands(program: Command): void {
  program
    .command('serve')
    .alias('start')
    .description('Start the service (same as npm start)')
    .action(async () => {
      const { main } = await import('../../main.ts');
      await main();
    });

  program
    .command('migrate')
    .description('Bring the database schema up to date')
    .action(async () => {
      const { withDatabase } = await openDatabaseCommand();
      await withDatabase(async () => {});
      printLine('Database schema is up to date');
    });
}
