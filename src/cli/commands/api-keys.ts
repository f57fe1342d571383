import type { Command } from 'commander';
import { commonOptionsOf } from '../context.ts';
import { UsageError } from '../errors.ts';
import { formatTable, printLine, printTable } from '../output.ts';
import { openDatabaseCommand } from './database-access.ts';

type CreateOptions = { name: string; account?: string; newAccount?: boolean };

/** `switchboard api-keys create|list|revoke`: the operator's keys, on the database directly (works before the first start). */
export function registerApiKeyCommands(program: Command): void {
  const apiKeys = program.command('api-keys').description('Create, list and revoke API keys (on the database directly)');

  apiKeys
    .command('create')
    .description('Create an API key; the key is printed once. On an empty database it comes with the first account')
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .option('--account <account-id>', 'add the key to this existing account (see: switchboard accounts list)')
    .option('--new-account', 'make another account for the key (it sees none of the other accounts’ namespaces)')
    .addHelpText(
      'after',
      `
Once the database has an account, say which one gets the key: a key of a new account cannot
see the namespaces and connections of the others.

Examples:
  switchboard api-keys create --name my-app                      # the first key, on an empty database
  switchboard api-keys create --name ci --account acc_… --json   # another key for an account
  switchboard api-keys create --name tenant-b --new-account      # a separate account`,
    )
    .action(async (options: CreateOptions, command: Command) => {
      if (options.account !== undefined && options.newAccount) throw new UsageError('give either --account or --new-account, not both');
      const { withDatabase, CLI_ACTOR } = await openDatabaseCommand();
      const [{ createApiKey }, { listAccounts }] = await Promise.all([import('../../core/accounts/api-keys.ts'), import('../../core/accounts/accounts.ts')]);
      const created = await withDatabase(async (db) => {
        if (options.account === undefined && !options.newAccount) {
          // A key of a new account sees none of the existing namespaces: never make one unasked.
          const accounts = await listAccounts(db);
          if (accounts.length > 0) {
            throw new UsageError(
              `this database already has ${accounts.length === 1 ? 'an account' : `${accounts.length} accounts`}: add the key to one with --account <id>, or make another account with --new-account`,
              formatTable(['ACCOUNT', 'NAME', 'CREATED', 'ACTIVE KEYS'], accounts.map((a) => [a.id, a.name, a.createdAt, String(a.activeApiKeys)])),
            );
          }
        }
        return createApiKey(db, { name: options.name, accountId: options.account }, CLI_ACTOR);
      });
      if (commonOptionsOf(command).json) return printLine(JSON.stringify(created));
      printLine(`Created API key ${created.id} (${created.name}) for account ${created.accountId}.`);
      printLine(`\n  ${created.key}\n`);
      printLine('Store it now: it is not stored and will not be shown again.');
    });

  apiKeys
    .command('list')
    .description('List API keys (never their secrets)')
    .option('--account <account-id>', 'only the keys of this account')
    .addHelpText('after', '\nExamples:\n  switchboard api-keys list\n  switchboard api-keys list --account acc_… --json')
    .action(async (options: { account?: string }, command: Command) => {
      const { withDatabase } = await openDatabaseCommand();
      const { listAccountApiKeys } = await import('../../core/accounts/api-keys.ts');
      const keys = await withDatabase((db) => listAccountApiKeys(db, { accountId: options.account }));
      if (commonOptionsOf(command).json) return printLine(JSON.stringify(keys));
      if (keys.length === 0) return printLine('No API keys.');
      printTable(
        ['ID', 'ACCOUNT', 'CREATED', 'STATUS', 'NAME'],
        keys.map((key) => [key.id, key.accountId, key.createdAt, key.revokedAt ? `revoked ${key.revokedAt}` : 'active', key.name]),
      );
    });

  apiKeys
    .command('revoke')
    .argument('<key-id>', 'the key id, e.g. 7x2k… (from api-keys list)')
    .description('Revoke an API key; it stops working at once')
    .addHelpText('after', '\nExample:\n  switchboard api-keys revoke 7x2kq4mz5v3c6b8d')
    .action(async (id: string, _options, command: Command) => {
      const { withDatabase, CLI_ACTOR } = await openDatabaseCommand();
      const { revokeAccountApiKey } = await import('../../core/accounts/api-keys.ts');
      await withDatabase((db) => revokeAccountApiKey(db, id, CLI_ACTOR));
      printLine(commonOptionsOf(command).json ? JSON.stringify({ id, revoked: true }) : `Revoked API key ${id}.`);
    });
}
