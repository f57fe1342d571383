import { sql } from 'kysely';
import type { Db } from '../open.ts';

/** A client's own MCP session as stored: the upstream session id still sealed. */
export type ClientSessionRow = {
  idHash: string;
  caller: string;
  namespace: string;
  connectionId: string;
  incarnation: string;
  revision: number;
  sealedUpstreamSession: string;
  protocolVersion: string;
};

const olderThan = (ms: number) => sql<Date>`now() - (${Math.round(ms)}::integer * interval '1 millisecond')`;

export async function insertClientSession(db: Db, row: ClientSessionRow): Promise<void> {
  await db
    .insertInto('client_sessions')
    .values({
      id_hash: row.idHash,
      caller: row.caller,
      namespace: row.namespace,
      connection_id: row.connectionId,
      incarnation: row.incarnation,
      revision: row.revision,
      upstream_session: row.sealedUpstreamSession,
      protocol_version: row.protocolVersion,
    })
    .execute();
}

export async function findClientSession(db: Db, idHash: string): Promise<ClientSessionRow | undefined> {
  const row = await db
    .selectFrom('client_sessions')
    .select(['id_hash', 'caller', 'namespace', 'connection_id', 'incarnation', 'revision', 'upstream_session', 'protocol_version'])
    .where('id_hash', '=', idHash)
    .executeTakeFirst();
  if (!row) return undefined;
  return {
    idHash: row.id_hash,
    caller: row.caller,
    namespace: row.namespace,
    connectionId: row.connection_id,
    incarnation: row.incarnation,
    revision: row.revision,
    sealedUpstreamSession: row.upstream_session,
    protocolVersion: row.protocol_version,
  };
}

/** Whether the row was there to delete: only one replica ends a session. */
export async function deleteClientSession(db: Db, idHash: string): Promise<boolean> {
  const result = await db.deleteFrom('client_sessions').where('id_hash', '=', idHash).executeTakeFirst();
  return (result.numDeletedRows ?? 0n) > 0n;
}

/** Stamps the sessions as used now (the database's clock). */
export async function touchClientSessions(db: Db, idHashes: readonly string[]): Promise<void> {
  if (idHashes.length === 0) return;
  await sql`update client_sessions set last_used_at = now() where id_hash in (${sql.join(idHashes.map((h) => sql`${h}`))})`.execute(db);
}

/** Those of the sessions used (anywhere) within the last `ms`. */
export async function clientSessionsUsedWithin(db: Db, idHashes: readonly string[], ms: number): Promise<Set<string>> {
  if (idHashes.length === 0) return new Set();
  const rows = await db
    .selectFrom('client_sessions')
    .select('id_hash')
    .where('id_hash', 'in', idHashes)
    .where('last_used_at', '>', olderThan(ms))
    .execute();
  return new Set(rows.map((row) => row.id_hash));
}

/** Deletes the rows unused for longer than `ms`: their replica stopped without ending them (a crash). */
export async function deleteAbandonedClientSessions(db: Db, ms: number): Promise<void> {
  await db.deleteFrom('client_sessions').where('last_used_at', '<', olderThan(ms)).execute();
}
