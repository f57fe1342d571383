import { sql } from 'kysely';
import type { Db } from '../open.ts';

export async function insertServiceToken(
  db: Db,
  token: { id: string; accountId: string; parentId: string | null; apiKeyId: string | null; expiresAt: Date },
) {
  await db
    .insertInto('service_tokens')
    .values({ id: token.id, account_id: token.accountId, parent_id: token.parentId, api_key_id: token.apiKeyId, expires_at: token.expiresAt })
    .execute();
}

export async function findServiceToken(db: Db, id: string) {
  return db.selectFrom('service_tokens').select(['id', 'account_id', 'expires_at', 'revoked_at']).where('id', '=', id).executeTakeFirst();
}

/** The rows of these ids, with who minted each from what (`parent_id`: the id the parent chain ended at). */
export async function findServiceTokenLineage(db: Db, ids: readonly string[]) {
  if (ids.length === 0) return [];
  return db.selectFrom('service_tokens').select(['id', 'account_id', 'parent_id']).where('id', 'in', ids).execute();
}

/**
 * Marks the id revoked (recording it if it was appended offline and never seen); keeps the
 * first revocation time. Never touches another account's row: returns whether it applied.
 */
export async function revokeServiceToken(db: Db, token: { id: string; accountId: string; expiresAt: Date }): Promise<boolean> {
  const row = await db
    .insertInto('service_tokens')
    .values({ id: token.id, account_id: token.accountId, expires_at: token.expiresAt, revoked_at: sql<Date>`now()` })
    .onConflict((oc) =>
      oc
        .column('id')
        .doUpdateSet({ revoked_at: sql<Date>`coalesce(service_tokens.revoked_at, now())` })
        .where('service_tokens.account_id', '=', token.accountId),
    )
    .returning('id')
    .executeTakeFirst();
  return row !== undefined;
}

/** Revokes every live token minted with the API key (their descendants carry their ids). */
export async function revokeTokensOfApiKey(db: Db, apiKeyId: string): Promise<number> {
  const result = await db
    .updateTable('service_tokens')
    .set({ revoked_at: sql<Date>`now()` })
    .where('api_key_id', '=', apiKeyId)
    .where('revoked_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .executeTakeFirst();
  return Number(result.numUpdatedRows);
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
