import type { Kysely } from 'kysely';

// Frozen history: authorization links work once. Never edit; add a migration instead.

export async function up(db: Kysely<any>): Promise<void> {
  // Authorization links minted at or before this instant no longer start a flow: continuing a
  // link raises it (single use), and so does minting a re-authorization link (it supersedes).
  await db.schema.alterTable('connections').addColumn('oauth_links_valid_after', 'timestamptz').execute();
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('connections').dropColumn('oauth_links_valid_after').execute();
}
