import { sql, type Kysely } from 'kysely';

// Frozen history: the audit log of security events. Never edit; add a migration instead.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('audit_events')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    // The moment the event is written (not the transaction's start), to the millisecond, so
    // that a cursor carried through a JavaScript Date names a row exactly.
    .addColumn('occurred_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', clock_timestamp())`))
    .addColumn('type', 'text', (c) => c.notNull())
    .addColumn('actor_type', 'text', (c) =>
      c.notNull().check(sql`actor_type in ('api_key', 'service_token', 'cli', 'system', 'end_user')`),
    )
    .addColumn('actor_id', 'text')
    // No foreign keys: the event outlives the namespace and the connection it is about.
    .addColumn('namespace', 'text')
    .addColumn('connection_id', 'text')
    .addColumn('request_id', 'text')
    // Facts that are not secret (header names, expiry, issuer, error codes): never a value.
    .addColumn('details', 'jsonb', (c) => c.notNull().defaultTo(sql`'{}'::jsonb`))
    .execute();
  // An account reads its log newest first, page by page.
  await sql`create index audit_events_account_time_idx on audit_events (account_id, occurred_at desc, id desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('audit_events').execute();
}
