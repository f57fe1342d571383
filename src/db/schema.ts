import type { ColumnType, Generated, Insertable, Selectable } from 'kysely';

type CreatedAt = ColumnType<Date, Date | string | undefined, never>;

export interface AccountsTable {
  id: string;
  name: string;
  created_at: CreatedAt;
}

export interface ApiKeysTable {
  id: string;
  account_id: string;
  name: string;
  secret_hash: Uint8Array;
  created_at: CreatedAt;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface NamespacesTable {
  name: string;
  account_id: string;
  created_at: CreatedAt;
  /** Random, set on insert: a name deleted and taken again is another namespace (see migration 0009). */
  incarnation: ColumnType<string, never, never>;
}

export interface ConnectionsTable {
  namespace: string;
  id: string;
  name: string;
  mcp_url: string;
  /** jsonb: written through `jsonb()` (see queries/json.ts), read back parsed. */
  metadata: ColumnType<Record<string, unknown> | null, string | null, string | null>;
  credentials: string | null;
  credentials_key_id: string | null;
  status: ColumnType<unknown, string | undefined, string>;
  server_info: ColumnType<unknown, string | null | undefined, string | null>;
  revision: ColumnType<number, number | undefined, number>;
  /** Random, set on insert: a (namespace, id) deleted and taken again is another connection. */
  incarnation: ColumnType<string, never, never>;
  created_at: CreatedAt;
  updated_at: ColumnType<Date, Date | string | undefined, Date | string>;
  /** Sealed OAuth state: tokens, discovery, the client's issuer, the scope. */
  oauth: string | null;
  oauth_challenge: ColumnType<unknown, string | null | undefined, string | null>;
  oauth_return_url: string | null;
  /** Authorization links minted at or before this instant are spent or superseded. */
  oauth_links_valid_after: ColumnType<Date | null, Date | null | undefined, Date | null>;
}

export interface OAuthFlowsTable {
  state_hash: Uint8Array;
  namespace: string;
  connection_id: string;
  revision: number;
  flow: string;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  used_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface OAuthClientsTable {
  id: string;
  account_id: string | null;
  issuer: string;
  kind: 'configured' | 'registered';
  client_id: string;
  client: string;
  created_at: CreatedAt;
}

export interface ServiceTokensTable {
  id: string;
  account_id: string;
  parent_id: string | null;
  api_key_id: string | null;
  created_at: CreatedAt;
  expires_at: ColumnType<Date, Date | string, Date | string>;
  revoked_at: ColumnType<Date | null, Date | string | null | undefined, Date | string | null>;
}

export interface AuditEventsTable {
  id: string;
  account_id: string;
  occurred_at: CreatedAt;
  type: string;
  actor_type: 'api_key' | 'service_token' | 'cli' | 'system' | 'end_user';
  actor_id: string | null;
  namespace: string | null;
  connection_id: string | null;
  request_id: string | null;
  /** jsonb: written through `jsonb()`, read back parsed. Never a secret. */
  details: ColumnType<Record<string, unknown>, string, never>;
}

export interface RateLimitWindowsTable {
  /** `key:<apiKeyId>` or `token:<rootTokenId>`. */
  subject: string;
  window_start: Date;
  /** Requests leased to processes in this window (may pass the limit: see queries/rate-limits.ts). */
  used: number;
}

export interface WebhooksTable {
  id: string;
  namespace: string;
  url: string;
  /** jsonb array of event types; null: every type. */
  events: ColumnType<string[] | null, string | null, string | null>;
  description: string | null;
  /** Sealed `whsec_…` signing secret. */
  secret: string;
  created_at: CreatedAt;
}

export interface WebhookDeliveriesTable {
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  status: 'pending' | 'succeeded' | 'failed';
  attempt_count: ColumnType<number, number | undefined, number>;
  next_attempt_at: ColumnType<Date | null, Date | string | null, Date | string | null>;
  /** jsonb array of attempt records (see queries/webhooks.ts). */
  attempts: ColumnType<unknown[], string | undefined, string>;
  created_at: CreatedAt;
}

export interface ReplicaSettingsTable {
  replica_id: string;
  /** jsonb object: setting name → digest of its value (see core/replicas/security-settings.ts). */
  settings: ColumnType<Record<string, string>, string, string>;
  started_at: ColumnType<Date, never, never>;
  seen_at: ColumnType<Date, never, never>;
}

/** A client's own MCP session, as every replica finds it (migration 0011). */
export interface ClientSessionsTable {
  id_hash: string;
  caller: string;
  namespace: string;
  connection_id: string;
  incarnation: string;
  revision: number;
  /** Sealed: the upstream's session id is a credential for that session. */
  upstream_session: string;
  protocol_version: string;
  created_at: CreatedAt;
  last_used_at: ColumnType<Date, never, never>;
}

export interface Database {
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  namespaces: NamespacesTable;
  connections: ConnectionsTable;
  service_tokens: ServiceTokensTable;
  oauth_flows: OAuthFlowsTable;
  oauth_clients: OAuthClientsTable;
  audit_events: AuditEventsTable;
  rate_limit_windows: RateLimitWindowsTable;
  webhooks: WebhooksTable;
  webhook_deliveries: WebhookDeliveriesTable;
  replica_settings: ReplicaSettingsTable;
  client_sessions: ClientSessionsTable;
}

export type AccountRow = Selectable<AccountsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKey = Insertable<ApiKeysTable>;
export type NamespaceRow = Selectable<NamespacesTable>;
export type ConnectionRow = Selectable<ConnectionsTable>;

export type { Generated };
