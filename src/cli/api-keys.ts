import type { Config } from '../config.ts';
import { createApiKey, listAccountApiKeys, revokeAccountApiKey } from '../core/accounts/api-keys.ts';
import { CLI_ACTOR } from '../core/audit/audit-event-types.ts';
import { withDatabase } from './database.ts';
import { parseCommandArgs, reportFailure } from './index.ts';

export async function runApiKeysCommand(config: Config, argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  let args;
  try {
    args = parseCommandArgs(rest, {
      name: { type: 'string' },
      account: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
  } catch (error) {
    return reportFailure(error);
  }
  const { values, positionals } = args;
  const json = values.json === true;
  const print = (text: string) => process.stdout.write(`${text}\n`);

  try {
    if (action === 'create') {
      if (typeof values.name !== 'string') throw new Error('api-keys create needs --name NAME');
      const name = values.name;
      const accountId = typeof values.account === 'string' ? values.account : undefined;
      const created = await withDatabase(config, (db) => createApiKey(db, { name, accountId }, CLI_ACTOR));
      if (json) print(JSON.stringify(created));
      else {
        print(`Created API key ${created.id} (${created.name}) for account ${created.accountId}.`);
        print(`\n  ${created.key}\n`);
        print('Store it now: it is not stored and will not be shown again.');
      }
      return 0;
    }
    if (action === 'list') {
      const accountId = typeof values.account === 'string' ? values.account : undefined;
      const keys = await withDatabase(config, (db) => listAccountApiKeys(db, { accountId }));
      if (json) print(JSON.stringify(keys));
      else if (keys.length === 0) print('No API keys.');
      else {
        for (const key of keys) {
          print(`${key.id}  ${key.accountId}  ${key.createdAt}  ${key.revokedAt ? `revoked ${key.revokedAt}` : 'active'}  ${key.name}`);
        }
      }
      return 0;
    }
    if (action === 'revoke') {
      const id = positionals[0];
      if (!id) throw new Error('api-keys revoke needs the key id, e.g. switchboard api-keys revoke 7x2k...');
      await withDatabase(config, (db) => revokeAccountApiKey(db, id, CLI_ACTOR));
      print(json ? JSON.stringify({ id, revoked: true }) : `Revoked API key ${id}.`);
      return 0;
    }
  } catch (error) {
    return reportFailure(error);
  }
  process.stderr.write('switchboard: api-keys needs one of: create, list, revoke\n');
  return 2;
}
