import type { Db } from '../../db/open.ts';
import { findConnectionWithCredentials } from '../../db/queries/connections.ts';
import type { ConnectionRow } from '../../db/schema.ts';
import { createBoundedCache, type CacheStats } from '../cache/bounded-cache.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { isConnectionId } from './connection-input.ts';
import { parseStoredStatus, type ServerInfo, type StoredStatus } from './connection-status.ts';
import { openOAuthState, type OAuthChallenge, type OAuthState } from '../oauth/oauth-state.ts';
import { openCredentials, type ConnectionRef } from './credentials.ts';
import type { NamespaceDirectory, OwnedNamespace } from '../namespaces/namespace-directory.ts';

/** A connection with its credentials opened: what a call upstream needs. Never sent to a client. */
export type ConnectionRecord = {
  namespace: string;
  id: string;
  name: string;
  mcpUrl: string;
  metadata: Record<string, unknown> | null;
  status: StoredStatus;
  serverInfo: ServerInfo | null;
  /** Changes whenever the URL or the credentials change. */
  revision: number;
  /**
   * This connection among all that ever had its (namespace, id): never repeats, unlike the
   * revision (1 again after a delete and recreate). Sessions and tokens are bound to it.
   */
  incarnation: string;
  /** The namespace's incarnation this connection belongs to ('' when the namespace is gone). */
  namespaceIncarnation: string;
  createdAt: Date;
  credentials: Readonly<Record<string, string>>;
  /** Tokens and discovery when the upstream uses OAuth (empty otherwise). */
  oauth: Readonly<OAuthState>;
  oauthChallenge: OAuthChallenge | null;
};

export type ConnectionStore = {
  /**
   * The connection `id` of this incarnation of the namespace (the one the caller's ownership
   * check returned), from memory when possible; undefined when it has no such connection.
   */
  get(namespace: OwnedNamespace, id: string): Promise<ConnectionRecord | undefined>;
  /** The connection as it stands now (tokens change without a new revision); undefined once it is gone, even if another took its id. */
  latest(connection: ConnectionRecord): Promise<ConnectionRecord | undefined>;
  readonly cacheStats: CacheStats;
};

export function connectionKey(ref: ConnectionRef): string {
  return `${ref.namespace}/${ref.id}`;
}

type StoredRow = Omit<ConnectionRow, 'credentials_key_id' | 'oauth_return_url' | 'oauth_links_valid_after'> & { namespace_incarnation: string | null };

export function toConnectionRecord(row: StoredRow, keyring: Keyring): ConnectionRecord {
  const ref = { namespace: row.namespace, id: row.id };
  return {
    namespace: row.namespace,
    id: row.id,
    name: row.name,
    mcpUrl: row.mcp_url,
    metadata: row.metadata,
    status: parseStoredStatus(row.status),
    serverInfo: (row.server_info as ServerInfo | null) ?? null,
    revision: row.revision,
    incarnation: row.incarnation,
    namespaceIncarnation: row.namespace_incarnation ?? '',
    createdAt: row.created_at,
    credentials: Object.freeze(openCredentials(keyring, ref, row.credentials)),
    oauth: Object.freeze(openOAuthState(keyring, ref, row.oauth)),
    oauthChallenge: (row.oauth_challenge as OAuthChallenge | null) ?? null,
  };
}

/**
 * The hot path's view of connections: cached with their credentials opened, so a proxied
 * call reads no database in steady state. Any change to a connection or its namespace, in
 * this process or another, drops the entry.
 *
 * Notifications can be lost (a listener that reconnects resets every cache, but only once it
 * notices): so an entry is also checked against the incarnations the caller holds, and one of
 * another incarnation is never handed out, whatever the feed said or did not say.
 */
export function createConnectionStore(
  db: Db,
  keyring: Keyring,
  changes: ChangeFeed,
  namespaces: Pick<NamespaceDirectory, 'forget'>,
): ConnectionStore {
  const cache = createBoundedCache<string, ConnectionRecord>({ maxEntries: 10_000, maxAgeMs: 5 * 60_000 });
  changes.subscribe({
    onChange(change) {
      if (change.kind === 'connection') cache.delete(connectionKey(change));
      else if (change.kind === 'namespace') cache.deleteWhere((key) => key.startsWith(`${change.name}/`));
    },
    onReset: () => cache.clear(),
  });
  const load = async (ref: ConnectionRef) => {
    const row = await findConnectionWithCredentials(db, ref);
    return row && toConnectionRecord(row, keyring);
  };
  /** The cached record when `matches` it, else the database's (cached in its place). */
  async function lookUp(ref: ConnectionRef, matches: (record: ConnectionRecord) => boolean): Promise<ConnectionRecord | undefined> {
    const key = connectionKey(ref);
    const cached = await cache.getOrLoad(key, () => load(ref));
    if (!cached || matches(cached)) return cached;
    // Read under another incarnation: a deletion (or creation) this process did not hear of.
    cache.delete(key);
    return cache.getOrLoad(key, () => load(ref));
  }
  return {
    cacheStats: cache.stats,
    async get(namespace, id) {
      // A malformed id names nothing; the database must not see it (PostgreSQL refuses NUL).
      if (!isConnectionId(id)) return undefined;
      const inNamespace = (record: ConnectionRecord) => record.namespaceIncarnation === namespace.incarnation;
      const record = await lookUp({ namespace: namespace.name, id }, inNamespace);
      if (!record || inNamespace(record)) return record;
      // The database has a later namespace under this name than the caller's ownership check
      // saw: that check was answered from an outdated entry, which must go.
      namespaces.forget(namespace.name);
      return undefined;
    },
    async latest(connection) {
      const same = (record: ConnectionRecord) => record.incarnation === connection.incarnation;
      const record = await lookUp(connection, same);
      return record && same(record) ? record : undefined;
    },
  };
}
