import { sql, type Kysely } from 'kysely';

// Frozen history: rate limits. One row per limited subject (`key:<apiKeyId>`,
// `token:<rootTokenId>`) holding its current window: processes lease budget from it in chunks
// with one atomic upsert, so every replica on the database spends one shared budget. The
// window starts at the subject's first request and is timed by the database's clock alone.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('rate_limit_windows')
    .addColumn('subject', 'text', (c) => c.primaryKey())
    .addColumn('window_start', 'timestamptz', (c) => c.notNull())
    .addColumn('used', 'integer', (c) => c.notNull())
    .execute();
  // Ended windows are deleted now and then; keep that sweep off a full scan.
  await sql`create index rate_limit_windows_start_idx on rate_limit_windows (window_start)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('rate_limit_windows').execute();
}
