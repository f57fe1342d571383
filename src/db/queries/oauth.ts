import { sql } from 'kysely';
import type { Db } from '../open.ts';
import { jsonb } from './jsonb.ts';

type Ref = { namespace: string; id: string };
/** With `incarnation`, a write reaches only that row, never a connection recreated under its id. */
type RevisionRef = Ref & { revision: number; incarnation?: string };

/** The sealed OAuth state of a connection, locked for an update that depends on it when `forUpdate`. */
export async function findConnectionOAuth(db: Db, ref: Ref, options: { forUpdate: boolean }) {
  const query = db
    .selectFrom('connections')
    .innerJoin('namespaces', 'namespaces.name', 'connections.namespace')
    .select([
      'connections.namespace',
      'connections.id',
      'connections.name',
      'connections.mcp_url',
      'connections.status',
      'connections.oauth_links_valid_after',
      'connections.revision',
      'connections.incarnation',
      'connections.created_at',
      'connections.oauth',
      'connections.oauth_challenge',
      'connections.oauth_return_url',
      'namespaces.account_id',
    ])
    .where('connections.namespace', '=', ref.namespace)
    .where('connections.id', '=', ref.id);
  return (options.forUpdate ? query.forUpdate('connections') : query).executeTakeFirst();
}

/** Stores the OAuth state, unless the connection changed (URL or credentials) since `revision`. */
export async function storeConnectionOAuth(db: Db, ref: RevisionRef, sealed: string | null): Promise<boolean> {
  const result = await db
    .updateTable('connections')
    .set({ oauth: sealed, updated_at: sql<Date>`now()` })
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .where('revision', '=', ref.revision)
    .$if(ref.incarnation !== undefined, (query) => query.where('incarnation', '=', ref.incarnation!))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function storeConnectionChallenge(db: Db, ref: RevisionRef, challenge: unknown): Promise<void> {
  await db
    .updateTable('connections')
    .set({ oauth_challenge: challenge === null ? null : jsonb(challenge) })
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .where('revision', '=', ref.revision)
    .$if(ref.incarnation !== undefined, (query) => query.where('incarnation', '=', ref.incarnation!))
    .execute();
}

/**
 * Spends the authorization link minted at `issuedAt`: raises the connection's link floor to
 * `now` (every link minted until then, this one included, stops working), unless the floor is
 * already at or past the link. True for exactly one caller per link.
 */
export async function spendAuthorizationLink(db: Db, ref: RevisionRef, link: { issuedAt: Date; now: Date }): Promise<boolean> {
  const floor = link.now > link.issuedAt ? link.now : link.issuedAt;
  const result = await db
    .updateTable('connections')
    .set({ oauth_links_valid_after: floor })
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .where('revision', '=', ref.revision)
    .$if(ref.incarnation !== undefined, (query) => query.where('incarnation', '=', ref.incarnation!))
    .where((eb) => eb.or([eb('oauth_links_valid_after', 'is', null), eb('oauth_links_valid_after', '<', link.issuedAt)]))
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

/**
 * Links minted at or before `before` stop working (a newer link supersedes them); the floor
 * never goes down. False when the connection of that incarnation is gone.
 */
export async function supersedeAuthorizationLinks(db: Db, ref: Ref & { incarnation: string }, before: Date): Promise<boolean> {
  const result = await db
    .updateTable('connections')
    .set((eb) => ({
      oauth_links_valid_after: eb
        .case()
        .when(eb.or([eb('oauth_links_valid_after', 'is', null), eb('oauth_links_valid_after', '<', before)]))
        .then(before)
        .else(eb.ref('oauth_links_valid_after'))
        .end(),
    }))
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .where('incarnation', '=', ref.incarnation)
    .executeTakeFirst();
  return result.numUpdatedRows > 0n;
}

export async function insertOAuthFlow(
  db: Db,
  flow: { stateHash: Uint8Array; namespace: string; connectionId: string; revision: number; sealed: string; expiresAt: Date },
): Promise<void> {
  await db
    .insertInto('oauth_flows')
    .values({
      state_hash: flow.stateHash,
      namespace: flow.namespace,
      connection_id: flow.connectionId,
      revision: flow.revision,
      flow: flow.sealed,
      expires_at: flow.expiresAt,
    })
    .execute();
}

/** Marks the flow used and returns it, once: a replayed, expired or unknown state gets nothing. */
export async function claimOAuthFlow(db: Db, stateHash: Uint8Array) {
  return db
    .updateTable('oauth_flows')
    .set({ used_at: sql<Date>`now()` })
    .where('state_hash', '=', stateHash)
    .where('used_at', 'is', null)
    .where('expires_at', '>', sql<Date>`now()`)
    .returning(['namespace', 'connection_id', 'revision', 'flow'])
    .executeTakeFirst();
}

/** Whether a state was ever issued (to tell a replay from a forgery in the message). */
export async function oauthFlowExists(db: Db, stateHash: Uint8Array): Promise<boolean> {
  return (await db.selectFrom('oauth_flows').select('namespace').where('state_hash', '=', stateHash).executeTakeFirst()) !== undefined;
}

export async function deleteStaleOAuthFlows(db: Db): Promise<void> {
  await db.deleteFrom('oauth_flows').where('expires_at', '<', sql<Date>`now() - interval '1 day'`).execute();
}

const clientColumns = ['id', 'account_id', 'issuer', 'kind', 'client_id', 'client', 'created_at'] as const;

/**
 * Clients usable for an issuer on behalf of an account: its own (configured or registered), the
 * operator's configured one. A registration without an account (made before registrations were
 * per account) only for `clientId`: tokens already issued to it are refreshed and revoked with
 * it, but no new authorization starts with a client another account may share.
 */
export async function findOAuthClientsForIssuer(db: Db, q: { accountId: string; issuer: string; clientId?: string }) {
  return db
    .selectFrom('oauth_clients')
    .select(clientColumns)
    .where('issuer', '=', q.issuer)
    .where((eb) =>
      eb.or([
        eb('account_id', '=', q.accountId),
        eb.and([eb('account_id', 'is', null), eb('kind', '=', 'configured')]),
        ...(q.clientId === undefined ? [] : [eb.and([eb('account_id', 'is', null), eb('client_id', '=', q.clientId)])]),
      ]),
    )
    .execute();
}

export async function upsertOAuthClient(
  db: Db,
  client: { id: string; accountId: string | null; issuer: string; kind: 'configured' | 'registered'; clientId: string; sealed: string },
) {
  // One statement: a select-then-insert lets two concurrent first writes both insert (23505).
  await sql`
    insert into oauth_clients (id, account_id, issuer, kind, client_id, client)
    values (${client.id}, ${client.accountId}, ${client.issuer}, ${client.kind}, ${client.clientId}, ${client.sealed})
    on conflict (coalesce(account_id, ''), issuer, kind) do update set client_id = excluded.client_id, client = excluded.client
  `.execute(db);
}

export async function listConfiguredOAuthClients(db: Db, accountId: string | null) {
  let query = db.selectFrom('oauth_clients').select(clientColumns).where('kind', '=', 'configured').orderBy('created_at');
  query = accountId === null ? query.where('account_id', 'is', null) : query.where('account_id', '=', accountId);
  return query.execute();
}

export async function deleteConfiguredOAuthClient(db: Db, q: { id: string; accountId: string | null }): Promise<boolean> {
  let query = db.deleteFrom('oauth_clients').where('id', '=', q.id).where('kind', '=', 'configured');
  query = q.accountId === null ? query.where('account_id', 'is', null) : query.where('account_id', '=', q.accountId);
  const result = await query.executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** Forgets one dynamically registered client of the account (or one from before they were per account), never a configured one. */
export async function deleteRegisteredOAuthClient(db: Db, q: { accountId: string; issuer: string; clientId: string }): Promise<void> {
  await db
    .deleteFrom('oauth_clients')
    .where('issuer', '=', q.issuer)
    .where('client_id', '=', q.clientId)
    .where('kind', '=', 'registered')
    .where((eb) => eb.or([eb('account_id', '=', q.accountId), eb('account_id', 'is', null)]))
    .execute();
}
