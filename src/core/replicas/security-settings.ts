import { createHash } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Keyring } from '../crypto/keyring.ts';

/**
 * The settings every replica on one database must agree on, because a request, a link or a
 * queued delivery made by one replica is served by whichever replica gets it next: where
 * upstreams and webhooks may go, which browsers and return pages are trusted, which keys
 * seal and sign, how much a caller may send and spend, how long links live. Named by their
 * environment variables, so a drift report tells the operator what to fix.
 */
export function securitySettingsOf(config: Config, keyring: Pick<Keyring, 'keyIds'>): Record<string, string> {
  const sorted = (values: readonly string[]) => [...values].map((value) => value.toLowerCase()).sort().join(',');
  const values: Record<string, string> = {
    ALLOWED_UPSTREAM_HOSTS: sorted(config.allowedUpstreamHosts.entries),
    CORS_ORIGINS: config.corsOrigins === '*' ? '*' : sorted(config.corsOrigins),
    OAUTH_RETURN_ORIGINS: sorted(config.oauthReturnOrigins),
    // Unset, it is each replica's own listening address: that they differ is not drift.
    PUBLIC_URL: config.publicUrlFromEnvironment ? config.publicUrl : '',
    // Key ids (one-way digests of the secrets), never the secrets.
    SWITCHBOARD_SECRET: keyring.keyIds[0] ?? '',
    SWITCHBOARD_PREVIOUS_SECRETS: [...keyring.keyIds.slice(1)].sort().join(','),
    RATE_LIMIT_API_KEY_PER_MINUTE: String(config.rateLimits.apiKeyPerWindow),
    RATE_LIMIT_TOKEN_PER_MINUTE: String(config.rateLimits.tokenPerWindow),
    RATE_LIMIT_WINDOW_MS: String(config.rateLimits.windowMs),
    SETUP_LINK_TTL_SECONDS: String(config.setupLinkTtlSeconds),
    MAX_BODY_BYTES: String(config.maxBodyBytes),
    MAX_UPSTREAM_RESPONSE_BYTES: String(config.maxUpstreamResponseBytes),
  };
  // Digests, not values: the table is readable by whoever reads the database, and a value
  // (an internal host name, an origin) is nobody else's business.
  return Object.fromEntries(Object.entries(values).map(([name, value]) => [name, digestOf(name, value)]));
}

function digestOf(name: string, value: string): string {
  return createHash('sha256').update(`switchboard/replica-settings\0${name}\0${value}`).digest('hex');
}

/** The settings two replicas disagree on: those both record whose digests differ (a setting one version lacks is no drift). */
export function differingSettings(own: Record<string, string>, other: Record<string, string>): string[] {
  return Object.keys(own).filter((name) => name in other && other[name] !== own[name]);
}
