import { sql, type Kysely } from 'kysely';

// Frozen history: upstream OAuth (MCP authorization). Never edit; add a migration instead.

export async function up(db: Kysely<any>): Promise<void> {
  // Per connection: the sealed OAuth state (tokens, discovery, client issuer, scope) and the
  // last challenge the upstream sent (resource metadata URL and scope: not secret).
  await db.schema.alterTable('connections').addColumn('oauth', 'text').execute();
  await db.schema.alterTable('connections').addColumn('oauth_challenge', 'jsonb').execute();
  // Where the end user goes back to after authorizing (checked against the allowed origins).
  await db.schema.alterTable('connections').addColumn('oauth_return_url', 'text').execute();

  // Pending authorizations: one row per visit of an authorization link, single-use.
  await db.schema
    .createTable('oauth_flows')
    // SHA-256 of the `state` parameter: the state itself is never stored.
    .addColumn('state_hash', 'bytea', (c) => c.primaryKey())
    .addColumn('namespace', 'text', (c) => c.notNull())
    .addColumn('connection_id', 'text', (c) => c.notNull())
    .addColumn('revision', 'integer', (c) => c.notNull())
    // Sealed: PKCE verifier, discovery state, client issuer, scope, return URL.
    .addColumn('flow', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('used_at', 'timestamptz')
    .addForeignKeyConstraint('oauth_flows_connection_fk', ['namespace', 'connection_id'], 'connections', ['namespace', 'id'], (fk) =>
      fk.onDelete('cascade'),
    )
    .execute();
  await db.schema.createIndex('oauth_flows_expires_idx').on('oauth_flows').column('expires_at').execute();

  // OAuth clients Switchboard uses per authorization server (issuer): configured by an operator
  // (for every account, account_id null) or by an account for its own connections, or
  // registered dynamically (RFC 7591) and reused. Client secrets are sealed.
  await db.schema
    .createTable('oauth_clients')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.references('accounts.id').onDelete('cascade'))
    .addColumn('issuer', 'text', (c) => c.notNull())
    .addColumn('kind', 'text', (c) => c.notNull().check(sql`kind in ('configured', 'registered')`))
    .addColumn('client_id', 'text', (c) => c.notNull())
    .addColumn('client', 'text', (c) => c.notNull())
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .execute();
  await sql`create unique index oauth_clients_owner_issuer_idx on oauth_clients (coalesce(account_id, ''), issuer, kind)`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('oauth_clients').execute();
  await db.schema.dropTable('oauth_flows').execute();
  await db.schema.alterTable('connections').dropColumn('oauth_return_url').execute();
  await db.schema.alterTable('connections').dropColumn('oauth_challenge').execute();
  await db.schema.alterTable('connections').dropColumn('oauth').execute();
}
