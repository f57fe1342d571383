import type { Config } from '../config.ts';
import { createKeyring } from '../core/crypto/keyring.ts';
import { resolveMasterSecrets } from '../core/crypto/master-secret.ts';
import { configureOAuthClient, listOAuthClients, removeOAuthClient } from '../core/oauth/oauth-clients.ts';
import { withDatabase } from './database.ts';
import { parseCommandArgs, reportFailure } from './index.ts';

/**
 * `switchboard oauth-clients add|list|remove`: the operator's pre-registered OAuth clients,
 * used for every account (or, with --account, for one). Works on the database directly.
 */
export async function runOAuthClientsCommand(config: Config, argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  let args;
  try {
    args = parseCommandArgs(rest, {
      issuer: { type: 'string' },
      'client-id': { type: 'string' },
      'client-secret': { type: 'string' },
      'auth-method': { type: 'string' },
      scope: { type: 'string' },
      account: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
  } catch (error) {
    return reportFailure(error);
  }
  const { values, positionals } = args;
  const accountId = typeof values.account === 'string' ? values.account : null;
  const print = (text: string) => process.stdout.write(`${text}\n`);
  const keyring = () =>
    createKeyring(resolveMasterSecrets({ current: config.secrets.current, previous: config.secrets.previous, dataDir: config.dataDir }));
  try {
    if (action === 'add') {
      if (typeof values.issuer !== 'string' || typeof values['client-id'] !== 'string') {
        throw new Error('oauth-clients add needs --issuer URL and --client-id ID (and --client-secret when the client has one)');
      }
      const method = values['auth-method'];
      if (method !== undefined && method !== 'client_secret_basic' && method !== 'client_secret_post' && method !== 'none') {
        throw new Error('--auth-method must be client_secret_basic, client_secret_post or none');
      }
      const added = await withDatabase(config, (db) =>
        configureOAuthClient(db, keyring(), accountId, {
          issuer: values.issuer as string,
          clientId: values['client-id'] as string,
          ...(typeof values['client-secret'] === 'string' ? { clientSecret: values['client-secret'] } : {}),
          ...(method ? { tokenEndpointAuthMethod: method } : {}),
          ...(typeof values.scope === 'string' ? { scope: values.scope } : {}),
        }),
      );
      print(values.json ? JSON.stringify(added) : `OAuth client ${added.id} for ${added.issuer} (${added.accountId ?? 'every account'}).`);
      return 0;
    }
    if (action === 'list') {
      const clients = await withDatabase(config, (db) => listOAuthClients(db, keyring(), accountId));
      if (values.json) print(JSON.stringify(clients));
      else if (clients.length === 0) print('No OAuth clients configured.');
      else for (const c of clients) print(`${c.id}  ${c.issuer}  ${c.clientId}  ${c.hasSecret ? 'secret stored' : 'no secret'}`);
      return 0;
    }
    if (action === 'remove') {
      const id = positionals[0];
      if (!id) throw new Error('oauth-clients remove needs the client id, e.g. switchboard oauth-clients remove oac_…');
      await withDatabase(config, (db) => removeOAuthClient(db, accountId, id));
      print(values.json ? JSON.stringify({ id, removed: true }) : `Removed OAuth client ${id}.`);
      return 0;
    }
  } catch (error) {
    return reportFailure(error);
  }
  process.stderr.write('switchboard: oauth-clients needs one of: add, list, remove\n');
  return 2;
}
