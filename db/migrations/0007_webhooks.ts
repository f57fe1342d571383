import { sql, type Kysely } from 'kysely';

// Frozen history: webhooks (connection events, Standard Webhooks). Never edit; add a migration instead.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('webhooks')
    .addColumn('id', 'text', (c) => c.primaryKey())
    // Deleting a namespace deletes its webhooks (and, through them, their deliveries).
    .addColumn('namespace', 'text', (c) => c.notNull().references('namespaces.name').onDelete('cascade'))
    .addColumn('url', 'text', (c) => c.notNull())
    // The event types it wants (a JSON array of strings); null: every type, those added later too.
    .addColumn('events', 'jsonb')
    .addColumn('description', 'text')
    // The signing secret (`whsec_…`), sealed by the keyring and bound to the webhook's id.
    .addColumn('secret', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', clock_timestamp())`))
    .execute();
  await db.schema.createIndex('webhooks_namespace_idx').on('webhooks').columns(['namespace', 'created_at']).execute();

  // The outbox: one row per event and webhook, written in the transaction of the change it
  // reports. A pending row is due at next_attempt_at; a worker claims it by moving that time
  // past its attempt (a lease), so replicas never send one event twice at once.
  await db.schema
    .createTable('webhook_deliveries')
    .addColumn('webhook_id', 'text', (c) => c.notNull().references('webhooks.id').onDelete('cascade'))
    // The Standard Webhooks message id (`msg_…`): the same for every attempt and every webhook.
    .addColumn('event_id', 'text', (c) => c.notNull())
    .addColumn('event_type', 'text', (c) => c.notNull())
    // The JSON body exactly as sent (text, so every attempt sends the same bytes). Never a secret.
    .addColumn('payload', 'text', (c) => c.notNull())
    .addColumn('status', 'text', (c) => c.notNull().check(sql`status in ('pending', 'succeeded', 'failed')`))
    .addColumn('attempt_count', 'integer', (c) => c.notNull().defaultTo(0))
    .addColumn('next_attempt_at', 'timestamptz')
    // What each attempt met: time, duration, HTTP status or an error summary (never a body).
    .addColumn('attempts', 'jsonb', (c) => c.notNull().defaultTo(sql`'[]'::jsonb`))
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', clock_timestamp())`))
    .addPrimaryKeyConstraint('webhook_deliveries_pkey', ['webhook_id', 'event_id'])
    .execute();
  // Workers look only at what is pending, soonest first.
  await sql`create index webhook_deliveries_due_idx on webhook_deliveries (next_attempt_at) where status = 'pending'`.execute(db);
  // The deliveries of a webhook, newest first, page by page.
  await sql`create index webhook_deliveries_webhook_time_idx on webhook_deliveries (webhook_id, created_at desc, event_id desc)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('webhook_deliveries').execute();
  await db.schema.dropTable('webhooks').execute();
}
