import { sql, type Expression, type SqlBool } from 'kysely';
import type { Db } from '../open.ts';
import { jsonb } from './jsonb.ts';
import { pastPosition, type PagePosition } from './keyset-page.ts';
import { inNamespaceIncarnation } from './namespaces.ts';

/** Everything but the sealed credentials, which only `findConnectionWithCredentials` reads. */
const publicColumns = [
  'namespace',
  'id',
  'name',
  'mcp_url',
  'metadata',
  'status',
  'server_info',
  'revision',
  'incarnation',
  'created_at',
  'updated_at',
] as const;

export type NewConnection = {
  namespace: string;
  id: string;
  name: string;
  mcpUrl: string;
  metadata: Record<string, unknown> | null;
  returnUrl?: string | null;
  credentials: { sealed: string; keyId: string } | null;
};

/** Inserts unless the id is taken in the namespace; undefined when it was. */
export async function insertConnectionIfFree(db: Db, c: NewConnection) {
  return db
    .insertInto('connections')
    .values({
      namespace: c.namespace,
      id: c.id,
      name: c.name,
      mcp_url: c.mcpUrl,
      metadata: c.metadata === null ? null : jsonb(c.metadata),
      oauth_return_url: c.returnUrl ?? null,
      credentials: c.credentials?.sealed ?? null,
      credentials_key_id: c.credentials?.keyId ?? null,
    })
    .onConflict((oc) => oc.columns(['namespace', 'id']).doNothing())
    .returning(publicColumns)
    .executeTakeFirst();
}

/** With `namespaceIncarnation`, only while the namespace is that incarnation (not one recreated under its name). */
export async function findConnection(db: Db, ref: { namespace: string; id: string }, namespaceIncarnation?: string) {
  return db
    .selectFrom('connections')
    .select(publicColumns)
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .$if(namespaceIncarnation !== undefined, (query) => query.where(inNamespaceIncarnation('connections', namespaceIncarnation!)))
    .executeTakeFirst();
}

/**
 * With what a call upstream needs: sealed credentials and OAuth state, and the last challenge;
 * and which incarnation of the namespace it belongs to (what a cached copy is checked against).
 */
export async function findConnectionWithCredentials(db: Db, ref: { namespace: string; id: string }) {
  return db
    .selectFrom('connections')
    .select([...publicColumns, 'credentials', 'oauth', 'oauth_challenge'])
    .select((eb) =>
      eb
        .selectFrom('namespaces')
        .select('namespaces.incarnation')
        .whereRef('namespaces.name', '=', 'connections.namespace')
        .$narrowType<{ incarnation: string }>()
        .as('namespace_incarnation'),
    )
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .executeTakeFirst();
}

/** Locks the row for an update that depends on what it holds now. */
export async function findConnectionForUpdate(db: Db, ref: { namespace: string; id: string }) {
  return db
    .selectFrom('connections')
    .select([...publicColumns, 'credentials'])
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .forUpdate()
    .executeTakeFirst();
}

/** A connection at one revision; with `incarnation`, of that one row only (not one recreated under its id). */
export type IncarnationRef = { namespace: string; id: string; revision: number; incarnation?: string };

export type ConnectionChanges = {
  name?: string;
  returnUrl?: string | null;
  mcpUrl?: string;
  metadata?: Record<string, unknown> | null;
  credentials?: { sealed: string; keyId: string } | null;
  status?: unknown;
  serverInfo?: unknown;
};

export async function updateConnection(db: Db, ref: { namespace: string; id: string }, changes: ConnectionChanges) {
  return db
    .updateTable('connections')
    .set((eb) => ({
      ...(changes.name !== undefined && { name: changes.name }),
      ...(changes.returnUrl !== undefined && { oauth_return_url: changes.returnUrl }),
      ...(changes.mcpUrl !== undefined && { mcp_url: changes.mcpUrl }),
      ...(changes.metadata !== undefined && { metadata: changes.metadata === null ? null : jsonb(changes.metadata) }),
      ...(changes.credentials !== undefined && {
        credentials: changes.credentials?.sealed ?? null,
        credentials_key_id: changes.credentials?.keyId ?? null,
      }),
      ...(changes.status !== undefined && { status: jsonb(changes.status) }),
      ...(changes.serverInfo !== undefined && { server_info: changes.serverInfo === null ? null : jsonb(changes.serverInfo) }),
      // The revision tracks what the upstream sees: its URL and credentials.
      ...((changes.mcpUrl !== undefined || changes.credentials !== undefined) && { revision: eb('revision', '+', 1) }),
      updated_at: sql<Date>`now()`,
    }))
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .returning(publicColumns)
    .executeTakeFirst();
}

/**
 * Records what a probe or call learned, unless the connection changed since the caller read
 * it (`revision`): a slow probe of the old URL must not overwrite the status of the new one.
 * With `incarnation`, nor the status of a connection created since under the same id.
 */
export async function recordConnectionStatus(
  db: Db,
  ref: IncarnationRef,
  observed: { status: unknown; serverInfo?: unknown; challenge?: unknown },
) {
  return db
    .updateTable('connections')
    .set({
      status: jsonb(observed.status),
      ...(observed.serverInfo !== undefined && { server_info: observed.serverInfo === null ? null : jsonb(observed.serverInfo) }),
      ...(observed.challenge !== undefined && { oauth_challenge: observed.challenge === null ? null : jsonb(observed.challenge) }),
      updated_at: sql<Date>`now()`,
    })
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .where('revision', '=', ref.revision)
    .$if(ref.incarnation !== undefined, (query) => query.where('incarnation', '=', ref.incarnation!))
    .returning(publicColumns)
    .executeTakeFirst();
}

/** With `incarnation`, that one row only (not one recreated under its id since it was read). */
export async function deleteConnectionRow(db: Db, ref: { namespace: string; id: string; incarnation?: string }): Promise<boolean> {
  const result = await db
    .deleteFrom('connections')
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .$if(ref.incarnation !== undefined, (query) => query.where('incarnation', '=', ref.incarnation!))
    .executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/** A condition on `metadata`, built of containment tests (`metadata @> …`, which the GIN index serves). */
export type MetadataCondition =
  | { all: MetadataCondition[] }
  | { any: MetadataCondition[] }
  | { contains: Record<string, unknown> };

export type ConnectionFilter = {
  namespace: string;
  /** Only while the namespace is this incarnation (empty once it was deleted, even if recreated). */
  namespaceIncarnation?: string;
  name?: string;
  mcpUrl?: string;
  metadata?: MetadataCondition;
  /** Strictly after this position in (created_at, id) order. */
  after?: PagePosition;
  limit: number;
};

export async function listConnectionsPage(db: Db, f: ConnectionFilter) {
  let query = db
    .selectFrom('connections')
    .select(publicColumns)
    .where('namespace', '=', f.namespace)
    .$if(f.namespaceIncarnation !== undefined, (query) => query.where(inNamespaceIncarnation('connections', f.namespaceIncarnation!)))
    .orderBy('created_at')
    .orderBy('id')
    .limit(f.limit);
  if (f.name !== undefined) query = query.where('name', '=', f.name);
  if (f.mcpUrl !== undefined) query = query.where('mcp_url', '=', f.mcpUrl);
  if (f.metadata) {
    const condition = f.metadata;
    query = query.where(() => metadataSql(condition));
  }
  if (f.after) {
    const after = f.after;
    query = query.where(() => pastPosition({ time: 'created_at', id: 'id' }, 'asc', after));
  }
  return query.execute();
}

function metadataSql(condition: MetadataCondition): Expression<SqlBool> {
  if ('contains' in condition) return sql<SqlBool>`metadata @> ${jsonb(condition.contains)}`;
  const parts = ('all' in condition ? condition.all : condition.any).map(metadataSql);
  if (parts.length === 0) return sql<SqlBool>`${sql.lit('all' in condition)}`;
  return sql<SqlBool>`(${sql.join(parts, sql.raw('all' in condition ? ' and ' : ' or '))})`;
}

export type ConnectionRowView = Awaited<ReturnType<typeof findConnection>> & {};
