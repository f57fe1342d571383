import { loadConfig } from '../../config.ts';
import type { Db } from '../../db/open.ts';

/**
 * What the database commands share: the service's configuration (DATA_DIR or DATABASE_URL, …)
 * and the database, both loaded only when such a command runs, so the HTTP commands start
 * quickly and need no database setting.
 */
export async function openDatabaseCommand() {
  const config = loadConfig();
  const [{ migrateToLatest, openDb }, { CLI_ACTOR }] = await Promise.all([import('../../db/open.ts'), import('../../core/audit/audit-event-types.ts')]);
  /**
   * Opens the configured database, migrating it so the CLI works before the first start;
   * `work` also gets the names of the migrations that this applied.
   */
  async function withDatabase<T>(work: (db: Db, appliedMigrations: string[]) => Promise<T>): Promise<T> {
    const database = await openDb(config.database);
    try {
      const applied = await migrateToLatest(database.db);
      return await work(database.db, applied);
    } finally {
      await database.close();
    }
  }
  const keyring = async () => {
    const [{ createKeyring }, { resolveMasterSecrets }] = await Promise.all([import('../../core/crypto/keyring.ts'), import('../../core/crypto/master-secret.ts')]);
    return createKeyring(resolveMasterSecrets({ current: config.secrets.current, previous: config.secrets.previous, dataDir: config.dataDir }));
  };
  return { config, withDatabase, keyring, CLI_ACTOR };
}
