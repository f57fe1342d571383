import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loadConfig } from '../../src/config.ts';
import type { Access } from '../../src/core/auth/access.ts';
import type { ChangeFeed } from '../../src/core/changes/change-feed.ts';
import { createConnectionLinks } from '../../src/core/connections/connection-links.ts';
import type { ConnectionServices, UpstreamProber } from '../../src/core/connections/connections.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { createNamespaceDirectory } from '../../src/core/namespaces/namespace-directory.ts';
import { createEgress } from '../../src/core/network/guarded-dispatcher.ts';
import { UNRESTRICTED } from '../../src/core/tokens/policy.ts';
import type { WebhookServices } from '../../src/core/webhooks/webhooks.ts';
import { createLogger } from '../../src/logger.ts';
import type { TestServer } from './server.ts';

/** A change feed that delivers nothing: a replica whose notifications were all lost. */
export const silentFeed: ChangeFeed = { announce: async () => {}, subscribe: () => {}, close: async () => {} };

export type DeafReplica = ConnectionServices & WebhookServices;

/**
 * The core services another replica builds over the test server's database and master secret,
 * deaf to every change, for calling core functions as that replica would. `upstreams` stands in
 * for its upstream gateway (tests decide what a probe finds, or that none may happen).
 */
export function deafReplica(server: Pick<TestServer, 'db'>, secret: string, upstreams: UpstreamProber): DeafReplica {
  const config = loadConfig({
    PORT: '0',
    DATA_DIR: fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-deaf-')),
    SWITCHBOARD_SECRET: secret,
    ALLOWED_UPSTREAM_HOSTS: '127.0.0.1,localhost,::1',
  });
  const keyring = createKeyring([secret]);
  return {
    db: server.db,
    keyring,
    logger: createLogger(config, { write: () => {} }),
    config,
    links: createConnectionLinks(keyring, config),
    egress: createEgress(config.allowedUpstreamHosts),
    changes: silentFeed,
    namespaces: createNamespaceDirectory(server.db, silentFeed),
    gateway: upstreams,
    webhookDelivery: { wake: () => {} },
  };
}

/** What an API key of the account may do: everything its account owns. */
export function accountAccess(account: { accountId: string; keyId: string }): Access {
  return { accountId: account.accountId, principal: { kind: 'account', accountId: account.accountId, apiKeyId: account.keyId }, scope: UNRESTRICTED };
}
