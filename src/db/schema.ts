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
}

export interface Database {
  accounts: AccountsTable;
  api_keys: ApiKeysTable;
  namespaces: NamespacesTable;
}

export type AccountRow = Selectable<AccountsTable>;
export type ApiKeyRow = Selectable<ApiKeysTable>;
export type NewApiKey = Insertable<ApiKeysTable>;
export type NamespaceRow = Selectable<NamespacesTable>;
export type { Generated };
