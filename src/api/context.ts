import type { Config } from '../config.ts';
import type { Authenticator, Principal } from '../core/auth/authenticate.ts';
import type { ChangeFeed } from '../core/changes/change-feed.ts';
import type { ConnectionLinks } from '../core/connections/connection-links.ts';
import type { ConnectionStore } from '../core/connections/connection-store.ts';
import type { Keyring } from '../core/crypto/keyring.ts';
import type { NamespaceDirectory } from '../core/namespaces/namespace-directory.ts';
import type { Egress } from '../core/network/guarded-dispatcher.ts';
import type { OAuthTokenKeeper } from '../core/oauth/oauth-tokens.ts';
import type { RateLimiter } from '../core/rate-limits/rate-limiter.ts';
import type { ReplicaRegistry } from '../core/replicas/config-drift.ts';
import type { TokenService } from '../core/tokens/service-tokens.ts';
import type { UpstreamGateway } from '../core/upstream/gateway.ts';
import type { DeliveryWorker } from '../core/webhooks/delivery-worker.ts';
import type { Db } from '../db/open.ts';
import type { Logger } from '../logger.ts';
import type { Telemetry } from '../telemetry/telemetry.ts';

/*
 * What a procedure (and every other request handler) runs with. The types live here, with the
 * API they are the context of; the composition root (src/services.ts) builds the services, and
 * the HTTP edge (src/http/request-context.ts) makes one context per request.
 */

/** The long-lived parts every request handler can reach. */
export type Services = {
  config: Config;
  db: Db;
  keyring: Keyring;
  logger: Logger;
  changes: ChangeFeed;
  auth: Authenticator;
  tokens: TokenService;
  namespaces: NamespaceDirectory;
  connections: ConnectionStore;
  /** The one way to upstreams: sessions (pooled, and clients' own), bearers, renewal, what is recorded. */
  gateway: UpstreamGateway;
  oauth: OAuthTokenKeeper;
  /** Authorization links and setup links (the connection's authorizationUrl and setupUrl). */
  links: ConnectionLinks;
  /** How every request to a user-supplied URL goes out: only to public or allowlisted addresses. */
  egress: Egress;
  rateLimits: RateLimiter;
  /** Sends webhook events from the outbox. */
  webhookDelivery: Pick<DeliveryWorker, 'wake'>;
  /** Metrics and traces (no-ops unless configured). */
  telemetry: Telemetry;
  /** This replica among those sharing the database: whether their security settings drifted apart. */
  replicas: Pick<ReplicaRegistry, 'drift'>;
};

export type RequestContext = Services & {
  requestId: string;
  logger: Logger;
  /** The raw bearer credential, if the request carried one. Never log it. */
  bearer: string | undefined;
  /** Whom failed authentications are counted against (see src/http/client-address.ts); undefined in-process. */
  client?: string;
  /** Set when the edge authenticated the bearer before reading the body: the access check reuses it. */
  principal?: Principal;
  /**
   * Set by a procedure to override the REST success status (e.g. 200 vs 201 on upsert), and by
   * the access middleware to add headers (rate limits) to the answer, success or error.
   */
  response: { status?: number; headers?: Record<string, string> };
};
