import { describe, expect, it } from 'vitest';
import { createConnectionLinks } from '../../src/core/connections/connection-links.ts';
import type { StoredStatus } from '../../src/core/connections/connection-status.ts';
import type { ConnectionRecord } from '../../src/core/connections/connection-store.ts';
import { setupNeededError } from '../../src/core/connections/setup-needed.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';

/**
 * The one answer to a call through a connection that needs its end user (docs/contract.md,
 * "Connection needs its end user"), which the connection's endpoint, its stream and the
 * toolbox all send.
 */

const links = createConnectionLinks(createKeyring(['setup-needed-test-secret-setup-needed-test']), {
  publicUrl: 'https://sb.example',
  setupLinkTtlSeconds: 600,
  oauthLinkTtlSeconds: 600,
});

const connection = (status: StoredStatus): ConnectionRecord => ({
  namespace: 'team',
  id: 'conn_a',
  name: 'A',
  mcpUrl: 'https://mcp.example/mcp',
  metadata: null,
  status,
  serverInfo: null,
  revision: 1,
  incarnation: 'inc',
  namespaceIncarnation: 'ns-inc',
  createdAt: new Date('2026-01-01T00:00:00Z'),
  credentials: {},
  oauth: {},
  oauthChallenge: null,
});

describe('setupNeededError', () => {
  it('needing authorization: 401, -32001, the authorization link and the setup page', () => {
    const error = setupNeededError(connection({ state: 'auth_required' }), links);
    expect(error).toMatchObject({ httpStatus: 401, code: -32001, message: 'Authorization required', data: { connectionId: 'conn_a' } });
    expect(error?.data.authorizationUrl).toMatch(/^https:\/\/sb\.example\/oauth\//);
    expect(error?.data.setupUrl).toMatch(/^https:\/\/sb\.example\/setup\//);
  });

  it('lacking configuration: 409, -32002, what is missing and the setup page', () => {
    const missing = { headers: ['x-api-key'], query: [] };
    const error = setupNeededError(connection({ state: 'input_required', http: { headers: {} }, missing }), links);
    expect(error).toMatchObject({ httpStatus: 409, code: -32002, message: 'Input required', data: { connectionId: 'conn_a', http: { headers: {} }, missing } });
    expect(error?.data.setupUrl).toMatch(/^https:\/\/sb\.example\/setup\//);
  });

  it.each<StoredStatus>([{ state: 'connected' }, { state: 'disconnected' }, { state: 'error', message: 'down' }])('none for %o', (status) => {
    expect(setupNeededError(connection(status), links)).toBeUndefined();
  });
});
