import type { Db } from '../open.ts';

export async function insertAccount(db: Db, account: { id: string; name: string }) {
  return db.insertInto('accounts').values(account).returning(['id', 'name', 'created_at']).executeTakeFirstOrThrow();
}

export async function accountExists(db: Db, id: string): Promise<boolean> {
  const row = await db.selectFrom('accounts').select('id').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}

/** Every account, oldest first, with how many keys it has that still work. */
export async function listAccountsWithKeyCounts(db: Db) {
  return db
    .selectFrom('accounts')
    .leftJoin('api_keys', (join) => join.onRef('api_keys.account_id', '=', 'accounts.id').on('api_keys.revoked_at', 'is', null))
    .select((eb) => ['accounts.id', 'accounts.name', 'accounts.created_at', eb.fn.count<string>('api_keys.id').as('active_keys')])
    .groupBy(['accounts.id', 'accounts.name', 'accounts.created_at'])
    .orderBy('accounts.created_at')
    .orderBy('accounts.id')
    .execute();
}
