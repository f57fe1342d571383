import type { Command } from 'commander';
import { commonOptionsOf } from '../context.ts';
import { printLine } from '../output.ts';
import { openDatabaseCommand } from './database-access.ts';

/** `switchboard api-keys create|list|revoke`: the operator's keys, on the database directly (works before the first start). */
export function registerApiKeyCommands(program: Command): void {
  const apiKeys = program.command('api-keys').description('Create, list and revoke API keys (on the database directly)');

  apiKeys
    .command('create')
    .description('Create an API key (and an account, unless --account); the key is printed once')
    .requiredOption('--name <name>', 'a name to recognise the key by')
    .option('--account <account-id>', 'add the key to this existing account')
    .action(async (options: { name: string; account?: string }, command: Command) => {
      const { withDatabase, CLI_ACTOR } = await openDatabaseCommand();
      const { createApiKey } = await import('../../core/accounts/api-keys.ts');
      const created = await withDatabase((db) => createApiKey(db, { name: options.name, accountId: options.account }, CLI_ACTOR));
      if (commonOptionsOf(command).json) return printLine(JSON.stringify(created));
      printLine(`Created API key ${created.id} (${created.name}) for account ${created.accountId}.`);
      printLine(`\n  ${created.key}\n`);
      printLine('Store it now: it is not stored and will not be shown again.');
    });

  apiKeys
    .command('list')
    .description('List API keys (never their secrets)')
    .option('--account <account-id>', 'only the keys of this account')
    .action(async (options: { account?: string }, command: Command) => {
      const { withDatabase } = await openDatabaseCommand();
      const { listAccountApiKeys } = await import('../../core/accounts/api-keys.ts');
      const keys = await withDatabase((db) => listAccountApiKeys(db, { accountId: options.account }));
      if (commonOptionsOf(command).json) return printLine(JSON.stringify(keys));
      if (keys.length === 0) return printLine('No API keys.');
      for (const key of keys) {
        printLine(`${key.id}  ${key.accountId}  ${key.createdAt}  ${key.revokedAt ? `revoked ${key.revokedAt}` : 'active'}  ${key.name}`);
      }
    });

  apiKeys
    .command('revoke')
    .argument('<key-id>', 'the key id, e.g. 7x2k… (from api-keys list)')
    .description('Revoke an API key; it stops working at once')
    .action(async (id: string, _options, command: Command) => {
      const { withDatabase, CLI_ACTOR } = await openDatabaseCommand();
      const { revokeAccountApiKey } = await import('../../core/accounts/api-keys.ts');
      await withDatabase((db) => revokeAccountApiKey(db, id, CLI_ACTOR));
      printLine(commonOptionsOf(command).json ? JSON.stringify({ id, revoked: true }) : `Revoked API key ${id}.`);
    });
}
