import type { ConnectionRow } from '../../db/schema.ts';
import type { ConnectionLinks } from './connection-links.ts';
import { parseStoredStatus, type ConfigFields, type ServerInfo } from './connection-status.ts';

/** A connection as the API shows it. Credentials are not a field here, so they cannot leak out. */
export type Connection = {
  connectionId: string;
  name: string;
  mcpUrl: string;
  metadata: Record<string, unknown> | null;
  createdAt: string;
  transport: 'http';
  serverInfo?: ServerInfo;
  status: ConnectionStatus;
};

export type ConnectionStatus =
  | { state: 'connected' }
  | { state: 'disconnected' }
  | { state: 'auth_required'; setupUrl?: string; authorizationUrl?: string }
  | { state: 'input_required'; setupUrl?: string; http: ConfigFields; missing: { headers: string[]; query: string[] } }
  | { state: 'error'; message: string };

type PublicRow = Omit<ConnectionRow, 'credentials' | 'credentials_key_id' | 'oauth' | 'oauth_challenge' | 'oauth_return_url' | 'oauth_links_valid_after'>;

/**
 * Links are minted when a connection is shown: each view carries fresh, working ones. The
 * setupUrl is Switchboard's setup page (configuration, then authorization); authorizationUrl
 * starts the upstream's OAuth flow directly.
 */
export function toConnection(row: PublicRow, links: Pick<ConnectionLinks, 'urlFor' | 'setupUrlFor'>): Connection {
  const serverInfo = row.server_info as ServerInfo | null;
  const stored = parseStoredStatus(row.status);
  let status: ConnectionStatus = stored;
  const target = { namespace: row.namespace, id: row.id, revision: row.revision, createdAt: row.created_at };
  if (stored.state === 'auth_required') {
    status = { state: 'auth_required', setupUrl: links.setupUrlFor(target), authorizationUrl: links.urlFor(target) };
  } else if (stored.state === 'input_required') {
    status = { ...stored, setupUrl: links.setupUrlFor(target) };
  }
  return {
    connectionId: row.id,
    name: row.name,
    mcpUrl: row.mcp_url,
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
    transport: 'http',
    ...(serverInfo ? { serverInfo } : {}),
    status,
  };
}
