import type { Config } from '../config.ts';
import { createKeyring } from '../core/crypto/keyring.ts';
import { resolveMasterSecrets } from '../core/crypto/master-secret.ts';
import { rotateSealedValues } from '../core/crypto/rotation.ts';
import { withDatabase } from './database.ts';
import { parseCommandArgs, reportFailure } from './index.ts';

/**
 * `switchboard keys rotate`: re-seals every stored secret under SWITCHBOARD_SECRET, reading
 * the old values with SWITCHBOARD_PREVIOUS_SECRETS. Safe next to running servers (PostgreSQL)
 * and safe to repeat; see README, Security, for the whole procedure.
 */
export async function runKeysCommand(config: Config, argv: string[]): Promise<number> {
  const [action, ...rest] = argv;
  let args;
  try {
    args = parseCommandArgs(rest, {
      'batch-size': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
  } catch (error) {
    return reportFailure(error);
  }
  const { values } = args;
  const print = (text: string) => process.stdout.write(`${text}\n`);
  if (action !== 'rotate') {
    process.stderr.write('switchboard: keys needs: rotate\n');
    return 2;
  }
  try {
    const batchSize = values['batch-size'] === undefined ? 500 : Number(values['batch-size']);
    if (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 10_000) throw new Error('--batch-size must be a whole number from 1 to 10000');
    const keyring = createKeyring(resolveMasterSecrets({ current: config.secrets.current, previous: config.secrets.previous, dataDir: config.dataDir }));
    const counts = await withDatabase(config, (db) => rotateSealedValues(db, keyring, { batchSize }));
    const unreadable = counts.reduce((sum, c) => sum + c.unreadable, 0);
    if (values.json) print(JSON.stringify({ keyId: keyring.currentKeyId, tables: counts }));
    else {
      print(`Re-sealed under key ${keyring.currentKeyId}:`);
      for (const c of counts) {
        print(
          `  ${`${c.table}.${c.column}`.padEnd(22)} ${c.resealed} re-sealed, ${c.alreadyCurrent} already current` +
            `${c.changedConcurrently ? `, ${c.changedConcurrently} rewritten meanwhile by a server` : ''}${c.unreadable ? `, ${c.unreadable} UNREADABLE` : ''}`,
        );
      }
    }
    if (unreadable > 0) {
      // Never tell the operator it is safe to drop the old secret while something still needs it.
      process.stderr.write(
        `switchboard: ${unreadable} value(s) could not be opened with SWITCHBOARD_SECRET or SWITCHBOARD_PREVIOUS_SECRETS and were left as they are: keep the old secrets until they are accounted for\n`,
      );
      return 1;
    }
    return 0;
  } catch (error) {
    return reportFailure(error);
  }
}
