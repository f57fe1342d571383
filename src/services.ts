import type { Services } from './api/context.ts';
import type { Config } from './config.ts';
import { createApiKeyVerifier } from './core/accounts/api-keys.ts';
import { createAuthenticator } from './core/auth/authenticate.ts';
import { createFailedAuthLimiter } from './core/auth/failed-auth-limiter.ts';
import { startChangeFeed } from './core/changes/change-feed.ts';
import { createConnectionLinks } from './core/connections/connection-links.ts';
import { createConnectionStore } from './core/connections/connection-store.ts';
import { createKeyring } from './core/crypto/keyring.ts';
import { resolveMasterSecrets } from './core/crypto/master-secret.ts';
import { createNamespaceDirectory } from './core/namespaces/namespace-directory.ts';
import { createEgress, observedEgress } from './core/network/guarded-dispatcher.ts';
import { createOAuthTokenKeeper } from './core/oauth/oauth-tokens.ts';
import { createRateLimiter } from './core/rate-limits/rate-limiter.ts';
import { loadRevocationList } from './core/tokens/revocations.ts';
import { createTokenService } from './core/tokens/service-tokens.ts';
import { createUpstreamGateway } from './core/upstream/gateway.ts';
import { startDeliveryWorker } from './core/webhooks/delivery-worker.ts';
import type { OpenDatabase } from './db/open.ts';
import type { Logger } from './logger.ts';
import { createTelemetry } from './telemetry/telemetry.ts';
import { startReplicaRegistry } from './core/replicas/config-drift.ts';
import { securitySettingsOf } from './core/replicas/security-settings.ts';

const UPSTREAM_SESSION_IDLE_MS = 10 * 60_000;

/** The composition root: builds the services over an open, migrated database. */
export async function createServices(config: Config, logger: Logger, database: OpenDatabase): Promise<Services & { close(): Promise<void> }> {
  const keyring = createKeyring(
    resolveMasterSecrets({ current: config.secrets.current, previous: config.secrets.previous, dataDir: config.dataDir }),
  );
  const changes = await startChangeFeed(database);
  const db = database.db;
  const tokens = createTokenService(db, keyring, await loadRevocationList(db, changes), changes);
  // Last of what may fail (METRICS_PORT taken): what was started before is stopped again.
  const telemetry = await createTelemetry(config.telemetry, database, logger).catch(async (error: unknown) => {
    await changes.close();
    throw error;
  });
  const replicas = await startReplicaRegistry({
    db,
    logger,
    changes,
    settings: securitySettingsOf(config, keyring),
    singleProcess: database.kind !== 'postgres',
  }).catch(async (error: unknown) => {
    await telemetry.close();
    await changes.close();
    throw error;
  });
  const namespaces = createNamespaceDirectory(db, changes);
  const connections = createConnectionStore(db, keyring, changes, namespaces);
  const egress = observedEgress(createEgress(config.allowedUpstreamHosts, { logger }), telemetry.upstream);
  const oauth = createOAuthTokenKeeper({
    db,
    keyring,
    changes,
    logger,
    config,
    egress,
    // PGlite belongs to one process (the data directory is locked): a row lock would only hold
    // its single connection through the refresh's network round trip.
    crossProcessLocks: database.kind === 'postgres',
    observer: telemetry.oauth,
  });
  const links = createConnectionLinks(keyring, config);
  const gateway = createUpstreamGateway({
    db,
    config,
    changes,
    keyring,
    egress,
    logger,
    oauth,
    links,
    latest: (connection) => connections.latest(connection),
    sessionIdleMs: UPSTREAM_SESSION_IDLE_MS,
  });
  const webhookDelivery = startDeliveryWorker({ db, keyring, egress, logger, changes, retry: config.webhookRetry, timeoutMs: config.upstreamTimeoutMs });
  const apiKeys = createApiKeyVerifier(db, changes);
  telemetry.observeCaches({
    api_keys: apiKeys.cacheStats,
    service_tokens: tokens.cacheStats,
    namespaces: namespaces.cacheStats,
    connections: connections.cacheStats,
  });
  return {
    config,
    db,
    keyring,
    logger,
    changes,
    tokens,
    auth: createAuthenticator(
      apiKeys,
      tokens,
      config.authFailures.perMinute > 0 ? createFailedAuthLimiter({ perWindow: config.authFailures.perMinute, windowMs: 60_000 }) : undefined,
    ),
    namespaces,
    connections,
    gateway,
    oauth,
    links,
    egress,
    rateLimits: createRateLimiter(db, config.rateLimits, logger),
    webhookDelivery,
    telemetry,
    replicas,
    async close() {
      await replicas.close();
      await webhookDelivery.close();
      await gateway.close();
      await egress.close();
      await changes.close();
      await telemetry.close();
    },
  };
}
