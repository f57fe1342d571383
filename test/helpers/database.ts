import type { DatabaseTarget } from '../../src/db/open.ts';
import { createScratchDatabase } from '../../scripts/lib/scratch-database.ts';

/**
 * The database a test runs against: in-memory PGlite by default, or a fresh PostgreSQL
 * database (created here, dropped after) when TEST_DATABASE_URL names a server.
 */
export type TestDatabase = { target: DatabaseTarget; url?: string; drop(): Promise<void> };

export const testDatabaseKind: 'postgres' | 'pglite' = process.env.TEST_DATABASE_URL ? 'postgres' : 'pglite';

export async function createTestDatabase(): Promise<TestDatabase> {
  const adminUrl = process.env.TEST_DATABASE_URL;
  if (!adminUrl) return { target: { kind: 'memory' }, drop: async () => {} };
  const scratch = await createScratchDatabase(adminUrl, 'sb_test');
  return { target: { kind: 'postgres', url: scratch.url, poolSize: 5 }, url: scratch.url, drop: scratch.drop };
}
