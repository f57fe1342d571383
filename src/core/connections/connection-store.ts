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
  createdAt: Date;
  credentials: Readonly<Record<string, string>>;
  /** Tokens and discovery when the upstream uses OAuth (empty otherwise). */
  oauth: Readonly<OAuthState>;
  oauthChallenge: OAuthChallenge | null;
};

export type ConnectionStore = {
  /** The connection, from memory when possible; undefined when it does not exist. */
  get(ref: ConnectionRef): Promise<ConnectionRecord | undefined>;
  readonly cacheStats: CacheStats;
};

export function connectionKey(ref: ConnectionRef): string {
  return `${ref.namespace}/${ref.id}`;
}

export function toConnectionRecord(row: Omit<ConnectionRow, 'credentials_key_id' | 'oauth_return_url' | 'oauth_links_valid_after'>, keyring: Keyring): ConnectionRecord {
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
 */
export function createConnectionStore(db: Db, keyring: Keyring, changes: ChangeFeed): ConnectionStore {
  const cache = createBoundedCache<string, ConnectionRecord>({ maxEntries: 10_000, maxAgeMs: 5 * 60_000 });
  changes.subscribe({
    onChange(change) {
      if (change.kind === 'connection') cache.delete(connectionKey(change));
      else if (change.kind === 'namespace') cache.deleteWhere((key) => key.startsWith(`${change.name}/`));
    },
    onReset: () => cache.clear(),
  });
  return {
    cacheStats: cache.stats,
    get(ref) {
      // A malformed id names nothing; the database must not see it (PostgreSQL refuses NUL).
      if (!isConnectionId(ref.id)) return Promise.resolve(undefined);
      return cache.getOrLoad(connectionKey(ref), async () => {
        const row = await findConnectionWithCredentials(db, ref);
        return row && toConnectionRecord(row, keyring);
      });
    },
  };
}
