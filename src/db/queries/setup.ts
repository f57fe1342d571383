import type { Db } from '../open.ts';

/**
 * A connection as its setup page needs it: what it is, its state, its sealed credentials (only
 * the header names are ever used) and where its end user returns, with the owning account
 * (for the audit log). `forUpdate` locks the row for a change that depends on what it holds.
 */
export async function findConnectionForSetup(db: Db, ref: { namespace: string; id: string }, options: { forUpdate: boolean }) {
  const query = db
    .selectFrom('connections')
    .innerJoin('namespaces', 'namespaces.name', 'connections.namespace')
    .select([
      'connections.namespace',
      'connections.id',
      'connections.name',
      'connections.mcp_url',
      'connections.status',
      'connections.revision',
      'connections.created_at',
      'connections.credentials',
      'connections.oauth_return_url',
      'namespaces.account_id',
    ])
    .where('connections.namespace', '=', ref.namespace)
    .where('connections.id', '=', ref.id);
  return (options.forUpdate ? query.forUpdate('connections') : query).executeTakeFirst();
}

export type SetupRow = NonNullable<Awaited<ReturnType<typeof findConnectionForSetup>>>;
