import { sql, type Kysely } from 'kysely';

// Frozen history: which server processes share the database, and a digest of each one's
// security-relevant settings, so replicas started with different settings notice (configuration
// drift). One row per running process, written at its start, touched by its heartbeat, deleted
// when it stops; a row whose heartbeat stopped (a crash) is ignored, then pruned.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('replica_settings')
    // Random per process start: a restart is a new replica.
    .addColumn('replica_id', 'text', (c) => c.primaryKey())
    // A JSON object: setting name → SHA-256 of its canonical value (never the value itself).
    .addColumn('settings', 'jsonb', (c) => c.notNull())
    .addColumn('started_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The database's clock alone decides who is alive: replicas' clocks may disagree.
    .addColumn('seen_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('replica_settings_seen_idx').on('replica_settings').column('seen_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('replica_settings').execute();
}
