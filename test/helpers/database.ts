import { PGlite } from '@electric-sql/pglite';
import { Kysely, PGliteDialect, sql } from 'kysely';
import { migrateToLatest, type DatabaseTarget } from '../../src/db/open.ts';
import type { Database } from '../../src/db/schema.ts';
import { createScratchDatabase } from './scratch-database.ts';

/**
 * The database a test runs against: in-memory PGlite by default, or a fresh PostgreSQL
 * database (created here, dropped after) when TEST_DATABASE_URL names a server.
 */
export type TestDatabase = { target: DatabaseTarget; url?: string; drop(): Promise<void> };

export const testDatabaseKind: 'postgres' | 'pglite' = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return { target: { kind: 'memory', snapshot: await migratedSnapshot() }, drop: async () => {} };
  const scratch = await createScratchDatabase(adminUrl, 'sb_test');
  return { target: { kind: 'postgres', url: scratch.url, poolSize: 5 }, url: scratch.url, drop: scratch.drop };
}

let snapshot: Promise<Blob> | undefined;

/**
 * An empty database with every migration applied, made once per test process and copied for
 * each test database: creating a PGlite cluster (initdb) took seconds on a busy 2-core machine,
 * loading a copy a fraction of that. The server still runs its migrations, finding none to do.
 */
function migratedSnapshot(): Promise<Blob> {
  snapshot ??= (async () => {
    const pglite = new PGlite();
    const db = new Kysely<Database>({ dialect: new PGliteDialect({ pglite }) });
    try {
      await migrateToLatest(db);
      // Written out fully before the copy is taken.
      await sql`checkpoint`.execute(db);
      return await pglite.dumpDataDir('none');
    } finally {
      await db.destroy();
    }
  })();
  return snapshot;
}
