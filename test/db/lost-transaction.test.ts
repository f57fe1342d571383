import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { appErrorFromUnknown } from '../../src/api/error-mapping.ts';
import { openDb, type OpenDatabase } from '../../src/db/open.ts';
import { createTestDatabase, testDatabaseKind, type TestDatabase } from '../helpers/database.ts';

/**
 * A transaction whose connection the server drops: the failed ROLLBACK must surface as the
 * database being unavailable (503, retry), never as a driver TypeError (500). PostgreSQL only:
 * an embedded PGlite has no connection to lose.
 */
describe.skipIf(testDatabaseKind !== 'postgres')('a transaction that loses its connection', () => {
  let database: TestDatabase;
  let opened: OpenDatabase;
  beforeAll(async () => {
    database = await createTestDatabase();
    opened = await openDb(database.target);
  });
  afterAll(async () => {
    await opened?.close();
    await database?.drop();
  });

  it('fails as the database being unavailable, and the next query works on a fresh connection', async () => {
    const failure = await opened.db
      .transaction()
      .execute(async (tx) => {
        await sql`select 1`.execute(tx);
        // The server ends this very backend, as a restart or crash would.
        await sql`select pg_terminate_backend(pg_backend_pid())`.execute(tx);
      })
      .then(
        () => undefined,
        (error: unknown) => error,
      );
    expect(failure).toBeDefined();
    expect(appErrorFromUnknown(failure).code).toBe('service_unavailable');
    const { rows } = await sql<{ one: number }>`select 1 as one`.execute(opened.db);
    expect(rows).toEqual([{ one: 1 }]);
  });
});
