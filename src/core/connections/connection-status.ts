/**
 * What Switchboard last learned about a connection's upstream. Stored as it is here; the
 * setup and authorization URLs are added when the connection is shown, since they depend on
 * where the service is reached and are minted per view.
 */
export type ConfigField = {
  label: string;
  description?: string;
  required?: boolean;
  /**
   * Hints for the setup page's form, from the schema (the API's views leave them out): a secret
   * is never shown back (every header is one: headers are credentials); the value's type; its
   * allowed values.
   */
  secret?: boolean;
  type?: 'string' | 'number' | 'integer' | 'boolean';
  options?: string[];
};

export type ConfigFields = {
  headers?: Record<string, ConfigField>;
  query?: Record<string, ConfigField>;
};

export type StoredStatus =
  | { state: 'connected' }
  | { state: 'disconnected' }
  | { state: 'auth_required' }
  | { state: 'input_required'; http: ConfigFields; missing: { headers: string[]; query: string[] } }
  | { state: 'error'; message: string };

export type ServerInfo = {
  name: string;
  version: string;
  title?: string;
  description?: string;
  websiteUrl?: string;
  icons?: { src: string; mimeType?: string; sizes?: string[]; theme?: 'light' | 'dark' }[];
};

/** Whether a call can go upstream: a connection needing setup is answered without trying. */
export function needsSetup(status: StoredStatus): status is Extract<StoredStatus, { state: 'auth_required' | 'input_required' }> {
  return status.state === 'auth_required' || status.state === 'input_required';
}

export function parseStoredStatus(value: unknown): StoredStatus {
  const status = value as StoredStatus | null;
  switch (status?.state) {
    case 'connected':
    case 'disconnected':
    case 'auth_required':
      return { state: status.state };
    case 'input_required':
      return { state: 'input_required', http: status.http ?? {}, missing: status.missing ?? { headers: [], query: [] } };
    case 'error':
      return { state: 'error', message: String(status.message ?? 'Unknown error') };
    default:
      return { state: 'disconnected' };
  }
}
