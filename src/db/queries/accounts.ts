import type { Db } from '../open.ts';

export async function insertAccount(db: Db, account: { id: string; name: string }) {
  return db.insertInto('accounts').values(account).returning(['id', 'name', 'created_at']).executeTakeFirstOrThrow();
}

export async function accountExists(db: Db, id: string): Promise<boolean> {
  const row = await db.selectFrom('accounts').select('id').where('id', '=', id).executeTakeFirst();
  return row !== undefined;
}
