import type { ConnectionRow } from '../../db/schema.ts';
import type { AuthorizationLinks } from '../oauth/authorization-links.ts';
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

type PublicRow = Omit<ConnectionRow, 'credentials' | 'credentials_key_id' | 'oauth' | 'oauth_challenge' | 'oauth_return_url'>;

/** Authorization URLs are minted when a connection is shown: each view carries a fresh, working link. */
export function toConnection(row: PublicRow, links: Pick<AuthorizationLinks, 'urlFor'>): Connection {
  const serverInfo = row.server_info as ServerInfo | null;
  const stored = parseStoredStatus(row.status);
  let status: ConnectionStatus = stored;
  if (stored.state === 'auth_required') {
    const url = links.urlFor({ namespace: row.namespace, id: row.id, revision: row.revision, createdAt: row.created_at });
    status = { state: 'auth_required', setupUrl: url, authorizationUrl: url };
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
