import { sql, type Kysely } from 'kysely';

// Frozen history: a never-repeating identity for namespaces and connections. Never edit; add a
// migration instead.
//
// A namespace name, and with it a connection's (namespace, id), can be deleted and taken again,
// by another account; a connection's revision starts at 1 again. What a process caches about
// one (its owner, its credentials, its upstream session) is valid only for the incarnation it
// was read from, so every row gets a random one when it is inserted, and keeps it for life.

export async function up(db: Kysely<any>): Promise<void> {
  // A volatile default: rows that exist already get one each, as new rows will.
  await sql`alter table namespaces add column incarnation text not null default gen_random_uuid()::text`.execute(db);
  await sql`alter table connections add column incarnation text not null default gen_random_uuid()::text`.execute(db);
}

export async function down(db: Kysely<any>): Promise<void> {
  await db.schema.alterTable('connections').dropColumn('incarnation').execute();
  await db.schema.alterTable('namespaces').dropColumn('incarnation').execute();
}
