import type { Db } from '../open.ts';

/** Columns safe to show: everything but the secret hash. */
const publicColumns = ['id', 'account_id', 'name', 'created_at', 'revoked_at'] as const;

export async function insertApiKey(
  db: Db,
  key: { id: string; accountId: string; name: string; secretHash: Uint8Array },
) {
  return db
    .insertInto('api_keys')
    .values({ id: key.id, account_id: key.accountId, name: key.name, secret_hash: key.secretHash })
    .returning(publicColumns)
    .executeTakeFirstOrThrow();
}

export async function findApiKeyCredentials(db: Db, id: string) {
  return db
    .selectFrom('api_keys')
    .select(['id', 'account_id', 'secret_hash', 'revoked_at'])
    .where('id', '=', id)
    .executeTakeFirst();
}

export async function listApiKeys(db: Db, filter: { accountId?: string } = {}) {
  let query = db.selectFrom('api_keys').select(publicColumns).orderBy('created_at').orderBy('id');
  if (filter.accountId) query = query.where('account_id', '=', filter.accountId);
  return query.execute();
}

/**
 * Marks a key revoked; undefined when no key has that id. Revoking twice keeps the first time
 * (`newlyRevoked` is false then).
 */
export async function revokeApiKey(db: Db, id: string): Promise<{ accountId: string; newlyRevoked: boolean } | undefined> {
  const revoked = await db
    .updateTable('api_keys')
    .set((eb) => ({ revoked_at: eb.fn<Date>('now') }))
    .where('id', '=', id)
    .where('revoked_at', 'is', null)
    .returning('account_id')
    .executeTakeFirst();
  if (revoked) return { accountId: revoked.account_id, newlyRevoked: true };
  const existing = await db.selectFrom('api_keys').select('account_id').where('id', '=', id).executeTakeFirst();
  return existing && { accountId: existing.account_id, newlyRevoked: false };
}

/** Whether any API key was ever made (revoked ones count: an operator has been here). */
export async function anyApiKeyExists(db: Db): Promise<boolean> {
  const row = await db.selectFrom('api_keys').select('id').limit(1).executeTakeFirst();
  return row !== undefined;
}
