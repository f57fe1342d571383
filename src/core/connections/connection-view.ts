import type { ConnectionRow } from '../../db/schema.ts';
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

type PublicRow = Omit<ConnectionRow, 'credentials' | 'credentials_key_id'>;

export function toConnection(row: PublicRow): Connection {
  const serverInfo = row.server_info as ServerInfo | null;
  return {
    connectionId: row.id,
    name: row.name,
    mcpUrl: row.mcp_url,
    metadata: row.metadata,
    createdAt: row.created_at.toISOString(),
    transport: 'http',
    ...(serverInfo ? { serverInfo } : {}),
    status: parseStoredStatus(row.status),
  };
}
