import { sql, type Kysely } from 'kysely';

// Frozen history: service tokens. Tokens are self-contained and verified without this table;
// it records who minted which token id (so an API key can revoke its own), and revocations.

export async function up(db: Kysely<any>): Promise<void> {
  await db.schema
    .createTable('service_tokens')
    .addColumn('id', 'text', (c) => c.primaryKey())
    .addColumn('account_id', 'text', (c) => c.notNull().references('accounts.id').onDelete('cascade'))
    .addColumn('parent_id', 'text')
    // The API key a root token was minted with: revoking the key revokes its tokens.
    .addColumn('api_key_id', 'text')
    .addColumn('created_at', 'timestamptz', (c) => c.notNull().defaultTo(sql`now()`))
    .addColumn('expires_at', 'timestamptz', (c) => c.notNull())
    .addColumn('revoked_at', 'timestamptz')
    .execute();
  await db.schema.createIndex('service_tokens_account_idx').on('service_tokens').column('account_id').execute();
  await db.schema.createIndex('service_tokens_api_key_idx').on('service_tokens').column('api_key_id').execute();
  // Every process loads the live revocations at start: keep that read small.
  await sql`create index service_tokens_revoked_idx on service_tokens (expires_at) where revoked_at is not null`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.dropTable('service_tokens').execute();
}
