import type { Db } from '../../db/open.ts';
import { listAccountsWithKeyCounts } from '../../db/queries/accounts.ts';

export type AccountSummary = { id: string; name: string; createdAt: string; activeApiKeys: number };

/** The accounts on this database, oldest first: what an operator chooses from when adding a key. */
export async function listAccounts(db: Db): Promise<AccountSummary[]> {
  const rows = await listAccountsWithKeyCounts(db);
  return rows.map((row) => ({ id: row.id, name: row.name, createdAt: row.created_at.toISOString(), activeApiKeys: Number(row.active_keys) }));
}
