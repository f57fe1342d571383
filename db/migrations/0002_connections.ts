import { sql, type Kysely } from 'kysely';

// Frozen history: connections to upstream MCP servers. Never edit; add a migration instead.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('connections')
    .addColumn('namespace', 'text', (c) => c.notNull().references('namespaces.name').onDelete('cascade'))
    .addColumn('id', 'text', (c) => c.notNull())
    .addColumn('name', 'text', (c) => c.notNull())
    .addColumn('mcp_url', 'text', (c) => c.notNull())
    .addColumn('metadata', 'jsonb')
    // AES-256-GCM sealed JSON of the credential headers; the sealing key's id is part of the value
    // and repeated in its own column, so a key rotation can find what it still has to re-seal.
    .addColumn('credentials', 'text')
    .addColumn('credentials_key_id', 'text')
    .addColumn('status', 'jsonb', (c) => c.notNull().defaultTo(sql`'{"state":"disconnected"}'::jsonb`))
    .addColumn('server_info', 'jsonb')
    // Bumped on every change: caches and upstream sessions are keyed by it.
    .addColumn('revision', 'integer', (c) => c.notNull().defaultTo(1))
    // Millisecond precision, as JavaScript dates have: list cursors carry it and must compare exactly.
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`date_trunc('milliseconds', now())`))
    .addColumn('updated_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addPrimaryKeyConstraint('connections_pkey', ['namespace', 'id'])
    .execute();
  // Cursor pagination walks (created_at, id) within a namespace.
  await db.schema
    .createIndex('connections_namespace_created_idx')
    .on('connections')
    .columns(['namespace', 'created_at', 'id'])
    .execute();
  await db.schema.createIndex('connections_namespace_name_idx').on('connections').columns(['namespace', 'name']).execute();
  // Metadata filters are containment queries (`metadata @> '{"userId":"alice"}'`). No pending
  // list (fastupdate): every query would scan it linearly until a vacuum merges it.
  await sql`create index connections_metadata_idx on connections using gin (metadata jsonb_path_ops) with (fastupdate = off)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('connections').execute();
}
