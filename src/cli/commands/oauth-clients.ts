import { InvalidArgumentError, type Command } from 'commander';
import { commonOptionsOf } from '../context.ts';
import { printLine, printTable } from '../output.ts';
import { openDatabaseCommand } from './database-access.ts';

type AuthMethod = 'client_secret_basic' | 'client_secret_post' | 'none';
const AUTH_METHODS: readonly string[] = ['client_secret_basic', 'client_secret_post', 'none'];

function authMethod(raw: string): AuthMethod {
  if (!AUTH_METHODS.includes(raw)) throw new InvalidArgumentError('must be client_secret_basic, client_secret_post or none');
  return raw as AuthMethod;
}

/**
 * `switchboard oauth-clients add|list|remove`: the operator's pre-registered OAuth clients, on
 * the database directly, for every account (or, with --account, for one). An account manages
 * its own over HTTP (`PUT|GET /oauth-clients`), which cannot configure one for every account.
 */
export function registerOAuthClientCommands(program: Command): void {
  const clients = program
    .command('oauth-clients')
    .description('Pre-registered OAuth clients for authorization servers (operator config, on the database directly)');

  clients
    .command('add')
    .description('Use a pre-registered OAuth client for an authorization server (for every account, unless --account)')
    .requiredOption('--issuer <url>', "the authorization server's issuer identifier, exactly")
    .requiredOption('--client-id <id>', 'the client id')
    .option('--client-secret <secret>', 'the client secret, when it has one (stored encrypted, never shown)')
    .option('--auth-method <method>', 'client_secret_basic, client_secret_post or none', authMethod)
    .option('--scope <scope>', 'the scope to ask for')
    .option('--account <account-id>', 'only for this account')
    .addHelpText(
      'after',
      `
Examples:
  switchboard oauth-clients add --issuer https://auth.example.com --client-id switchboard --client-secret "$CLIENT_SECRET"
  switchboard oauth-clients add --issuer https://login.example.org/ --client-id public-app --auth-method none --account acc_…`,
    )
    .action(async (options: { issuer: string; clientId: string; clientSecret?: string; authMethod?: AuthMethod; scope?: string; account?: string }, command: Command) => {
      const { withDatabase, keyring } = await openDatabaseCommand();
      const { configureOAuthClient } = await import('../../core/oauth/oauth-clients.ts');
      const ring = await keyring();
      const added = await withDatabase((db) =>
        configureOAuthClient(db, ring, options.account ?? null, {
          issuer: options.issuer,
          clientId: options.clientId,
          ...(options.clientSecret === undefined ? {} : { clientSecret: options.clientSecret }),
          ...(options.authMethod ? { tokenEndpointAuthMethod: options.authMethod } : {}),
          ...(options.scope === undefined ? {} : { scope: options.scope }),
        }),
      );
      printLine(commonOptionsOf(command).json ? JSON.stringify(added) : `OAuth client ${added.id} for ${added.issuer} (${added.accountId ?? 'every account'}).`);
    });

  clients
    .command('list')
    .description('List the configured OAuth clients (never their secrets)')
    .option('--account <account-id>', "an account's own, instead of those for every account")
    .addHelpText('after', '\nExamples:\n  switchboard oauth-clients list\n  switchboard oauth-clients list --account acc_… --json')
    .action(async (options: { account?: string }, command: Command) => {
      const { withDatabase, keyring } = await openDatabaseCommand();
      const { listOAuthClients } = await import('../../core/oauth/oauth-clients.ts');
      const ring = await keyring();
      const list = await withDatabase((db) => listOAuthClients(db, ring, options.account ?? null));
      if (commonOptionsOf(command).json) return printLine(JSON.stringify(list));
      if (list.length === 0) return printLine('No OAuth clients configured.');
      printTable(
        ['ID', 'ISSUER', 'CLIENT ID', 'SECRET', 'FOR'],
        list.map((c) => [c.id, c.issuer, c.clientId, c.hasSecret ? 'stored' : 'none', c.accountId ?? 'every account']),
      );
    });

  clients
    .command('remove')
    .argument('<client-id>', 'the id shown by add or list (oac_…)')
    .option('--account <account-id>', "an account's own, instead of one for every account")
    .description('Stop using a pre-registered OAuth client')
    .addHelpText('after', '\nExample:\n  switchboard oauth-clients remove oac_3k7q2m5x9v4h6c8b')
    .action(async (id: string, options: { account?: string }, command: Command) => {
      const { withDatabase } = await openDatabaseCommand();
      const { removeOAuthClient } = await import('../../core/oauth/oauth-clients.ts');
      await withDatabase((db) => removeOAuthClient(db, options.account ?? null, id));
      printLine(commonOptionsOf(command).json ? JSON.stringify({ id, removed: true }) : `Removed OAuth client ${id}.`);
    });
}
