import { sql } from 'kysely';
import type { Db } from '../open.ts';

/**
 * A column holding values sealed by the keyring (`sb1.<key id>.<ciphertext>`), with the
 * columns that identify its row and, where the schema has one, the column naming the key.
 */
export type SealedColumn = {
  table: 'connections' | 'oauth_flows' | 'oauth_clients' | 'webhooks' | 'client_sessions';
  column: 'credentials' | 'oauth' | 'flow' | 'client' | 'secret' | 'upstream_session';
  key: readonly string[];
  keyIdColumn?: 'credentials_key_id';
};

export type SealedValue = { key: unknown[]; sealed: string };

const sealedUnder = (keyId: string) => `sb1.${keyId}.%`;
const tuple = (columns: readonly string[]) => sql.join(columns.map((c) => sql.ref(c)));

/** How many values of the column are sealed under `keyId` already. */
export async function countSealedUnder(db: Db, col: SealedColumn, keyId: string): Promise<number> {
  const { rows } = await sql<{ count: string | number }>`
    select count(*) as count from ${sql.table(col.table)} where ${sql.ref(col.column)} like ${sealedUnder(keyId)}`.execute(db);
  return Number(rows[0]?.count ?? 0);
}

/** The next values not sealed under `keyId`, in key order after `after` (keyset pagination). */
export async function findValuesNotSealedUnder(
  db: Db,
  col: SealedColumn,
  q: { keyId: string; after?: readonly unknown[]; limit: number },
): Promise<SealedValue[]> {
  const after = q.after ? sql`and (${tuple(col.key)}) > (${sql.join(q.after.map((v) => sql`${v}`))})` : sql``;
  const { rows } = await sql<Record<string, unknown>>`
    select ${tuple(col.key)}, ${sql.ref(col.column)} as sealed from ${sql.table(col.table)}
    where ${sql.ref(col.column)} is not null and ${sql.ref(col.column)} not like ${sealedUnder(q.keyId)} ${after}
    order by ${tuple(col.key)} limit ${q.limit}`.execute(db);
  return rows.map((row) => ({ key: col.key.map((k) => row[k]), sealed: row.sealed as string }));
}

/**
 * Compare-and-set: replaces the value only if the row still holds `from`, so a value written
 * meanwhile (by a running server, under the current key) is never overwritten.
 */
export async function replaceSealedValue(db: Db, col: SealedColumn, key: readonly unknown[], from: string, to: { sealed: string; keyId: string }): Promise<boolean> {
  const keyId = col.keyIdColumn ? sql`, ${sql.ref(col.keyIdColumn)} = ${to.keyId}` : sql``;
  const matches = sql.join(
    col.key.map((k, i) => sql`${sql.ref(k)} = ${key[i]}`),
    sql` and `,
  );
  const result = await sql`
    update ${sql.table(col.table)} set ${sql.ref(col.column)} = ${to.sealed} ${keyId}
    where ${matches} and ${sql.ref(col.column)} = ${from}`.execute(db);
  return (result.numAffectedRows ?? 0n) > 0n;
}
