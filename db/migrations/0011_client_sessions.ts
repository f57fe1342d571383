import { sql, type Kysely } from 'kysely';

// Frozen history: clients' own MCP sessions (2025 era), so that any replica can serve one (see
// docs/mcp-sessions.md, "Several replicas"). One row per live session, written when it opens,
// deleted when it ends. Never edit; add a migration instead.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('client_sessions')
    // SHA-256 (hex) of the `mcp-session-id`: the id itself is never stored.
    .addColumn('id_hash', 'text', (c) => c.primaryKey())
    // Who created it: `key:<api key id>` or `token:<token ids>` (client-sessions.ts, callerOf).
    .addColumn('caller', 'text', (c) => c.notNull())
    .addColumn('namespace', 'text', (c) => c.notNull())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    // The connection as it stood when the session opened: another incarnation or revision ends it.
    .addColumn('incarnation', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    // The upstream's `mcp-session-id`, sealed by the keyring: a credential for that upstream session.
    .addColumn('upstream_session', 'text', (c) => c.notNull())
    .addColumn('protocol_version', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    // The database's clock alone: replicas' clocks may disagree.
    .addColumn('last_used_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await db.schema.createIndex('client_sessions_last_used_idx').on('client_sessions').column('last_used_at').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('client_sessions').execute();
}
