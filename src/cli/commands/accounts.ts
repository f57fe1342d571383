import type { Command } from 'commander';
import { commonOptionsOf } from '../context.ts';
import { printLine, printTable } from '../output.ts';
import { openDatabaseCommand } from './database-access.ts';

/** `switchboard accounts list`: who owns what on this database, for choosing `api-keys create --account`. */
export function registerAccountCommands(program: Command): void {
  program
    .command('accounts')
    .description('The accounts on this database (on the database directly)')
    .command('list')
    .description('List the accounts, oldest first, with how many working keys each has')
    .addHelpText('after', '\nExamples:\n  switchboard accounts list\n  switchboard api-keys create --name ci --account "$(switchboard accounts list --json | jq -r \'.[0].id\')"')
    .action(async (_options, command: Command) => {
      const { withDatabase } = await openDatabaseCommand();
      const { listAccounts } = await import('../../core/accounts/accounts.ts');
      const accounts = await withDatabase((db) => listAccounts(db));
      if (commonOptionsOf(command).json) return printLine(JSON.stringify(accounts));
      if (accounts.length === 0) return printLine('No accounts. The first `switchboard api-keys create` makes one.');
      printTable(['ACCOUNT', 'NAME', 'CREATED', 'ACTIVE KEYS'], accounts.map((a) => [a.id, a.name, a.createdAt, String(a.activeApiKeys)]));
    });
}
