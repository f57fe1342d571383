import type { Config } from '../config.ts';
import { migrateToLatest, openDb, type Db } from '../db/open.ts';

/** Opens the configured database (migrating it, so the CLI works before the first start). */
export async function withDatabase<T>(config: Config, work: (db: Db) => Promise<T>): Promise<T> {
  const database = await openDb(config.database);
  try {
    await migrateToLatest(database.db);
    return await work(database.db);
  } finally {
    await database.close();
  }
}
