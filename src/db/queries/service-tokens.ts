import { sql } from 'kysely';
import type { Db } from '../open.ts';

export async function insertServiceToken(db: Db, token: { id: string; accountId: string; parentId: string | null; expiresAt: Date }) {
  await db
    .insertInto('service_tokens')
    .values({ id: token.id, account_id: token.accountId, parent_id: token.parentId, expires_at: token.expiresAt })
    .execute();
}

export async function findServiceToken(db: Db, id: string) {
  return db.selectFrom('service_tokens').select(['id', 'account_id', 'expires_at', 'revoked_at']).where('id', '=', id).executeTakeFirst();
}

/** Marks the id revoked (recording it if it was appended offline and never seen); keeps the first revocation time. */
export async function revokeServiceToken(db: Db, token: { id: string; accountId: string; expiresAt: Date }): Promise<void> {
  await db
    .insertInto('service_tokens')
    .values({ id: token.id, account_id: token.accountId, expires_at: token.expiresAt, revoked_at: sql<Date>`now()` })
    .onConflict((oc) => oc.column('id').doUpdateSet({ revoked_at: sql<Date>`coalesce(service_tokens.revoked_at, now())` }))
    .execute();
}

/** Ids revoked before they expired and not expired yet: what every process must refuse. */
export async function listLiveRevocations(db: Db): Promise<string[]> {
  const rows = await db
    .selectFrom('service_tokens')
    .select('id')
    .where('revoked_at', 'is not', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .execute();
  return rows.map((row) => row.id);
}
