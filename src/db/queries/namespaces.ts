import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../open.ts';

const columns = ['name', 'account_id', 'created_at', 'incarnation'] as const;

/** Inserts unless the name is taken; returns the new row, or undefined when it was taken. */
export async function insertNamespaceIfFree(db: Db, ns: { name: string; accountId: string }) {
  return db
    .insertInto('namespaces')
    .values({ name: ns.name, account_id: ns.accountId })
    .onConflict((oc) => oc.column('name').doNothing())
    .returning(columns)
    .executeTakeFirst();
}

export async function findNamespace(db: Db, name: string) {
  return db.selectFrom('namespaces').select(columns).where('name', '=', name).executeTakeFirst();
}

/**
 * The namespace's row if it is still this incarnation, locked until the caller's transaction
 * ends (FOR KEY SHARE: its deletion waits, rows that reference it do not).
 */
export async function lockNamespaceIncarnation(db: Db, ns: { name: string; incarnation: string }) {
  return db
    .selectFrom('namespaces')
    .select(columns)
    .where('name', '=', ns.name)
    .where('incarnation', '=', ns.incarnation)
    .forKeyShare()
    .executeTakeFirst();
}

/**
 * A condition for a query over rows that reference a namespace by name (`table.namespace`):
 * they belong to this incarnation of it, checked in the same statement that reads them.
 */
export function inNamespaceIncarnation(table: 'connections' | 'webhooks', incarnation: string): Expression<SqlBool> {
  return sql<SqlBool>`exists (select 1 from namespaces where namespaces.name = ${sql.ref(`${table}.namespace`)} and namespaces.incarnation = ${incarnation})`;
}

export async function listNamespacesPage(db: Db, q: { accountId: string; names?: string[]; offset: number; limit: number }) {
  return db
    .selectFrom('namespaces')
    .select(columns)
    .where('account_id', '=', q.accountId)
    .$if(q.names !== undefined, (query) => query.where('name', 'in', q.names!.length > 0 ? q.names! : ['']))
    .orderBy('created_at', 'desc')
    .orderBy('name')
    .offset(q.offset)
    .limit(q.limit)
    .execute();
}

export async function countNamespaces(db: Db, accountId: string, names?: string[]): Promise<number> {
  const row = await db
    .selectFrom('namespaces')
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('account_id', '=', accountId)
    .$if(names !== undefined, (query) => query.where('name', 'in', names!.length > 0 ? names! : ['']))
    .executeTakeFirstOrThrow();
  return Number(row.count);
}

/** Deletes the namespace if this account owns it; returns whether a row went. */
export async function deleteOwnedNamespace(db: Db, q: { name: string; accountId: string }): Promise<boolean> {
  const result = await db
    .deleteFrom('namespaces')
    .where('name', '=', q.name)
    .where('account_id', '=', q.accountId)
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}
