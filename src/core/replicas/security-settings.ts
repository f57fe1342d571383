import { createHmac } from 'node:crypto';
import type { Config } from '../../config.ts';
import type { Keyring } from '../crypto/keyring.ts';

/**
 * The settings every replica on one database must agree on, because a request, a link or a
 * queued delivery made by one replica is served by whichever replica gets it next: where
 * upstreams and webhooks may go, which browsers and return pages are trusted, which keys
 * seal and sign, how much a caller may send and spend, how long links live, whom failed
 * authentication is counted against. Named by their environment variables, so a drift report
 * tells the operator what to fix.
 */
export function securitySettingsOf(config: Config, keyring: Pick<Keyring, 'keyIds' | 'deriveKey'>): Record<string, string> {
  const sorted = (values: readonly string[]) => [...values].map((value) => value.toLowerCase()).sort().join(',');
  const values: Record<string, string> = {
    ALLOWED_UPSTREAM_HOSTS: sorted(config.allowedUpstreamHosts.entries),
    CORS_ORIGINS: config.corsOrigins === '*' ? '*' : sorted(config.corsOrigins),
    OAUTH_RETURN_ORIGINS: sorted(config.oauthReturnOrigins),
    // Unset, it is each replica's own listening address: that they differ is not drift.
    PUBLIC_URL: config.publicUrlFromEnvironment ? config.publicUrl : '',
    RATE_LIMIT_API_KEY_PER_MINUTE: String(config.rateLimits.apiKeyPerWindow),
    RATE_LIMIT_TOKEN_PER_MINUTE: String(config.rateLimits.tokenPerWindow),
    RATE_LIMIT_WINDOW_MS: String(config.rateLimits.windowMs),
    AUTH_FAILURES_PER_MINUTE: String(config.authFailures.perMinute),
    TRUST_PROXY: String(config.authFailures.trustProxyHops),
    SETUP_LINK_TTL_SECONDS: String(config.setupLinkTtlSeconds),
    OAUTH_LINK_TTL_SECONDS: String(config.oauthLinkTtlSeconds),
    MAX_BODY_BYTES: String(config.maxBodyBytes),
    MAX_UPSTREAM_RESPONSE_BYTES: String(config.maxUpstreamResponseBytes),
    UNAUTHENTICATED_BODY_TIMEOUT_MS: String(config.unauthenticatedBodyTimeoutMs),
    MAX_CONNECTIONS: String(config.maxConnections),
  };
  // Keyed digests, not values, nor plain digests: the table is readable by whoever reads the
  // database, and most values are easy to guess (a rate limit, an allowlist of likely hosts),
  // so a keyless hash would give them away. Replicas share the master secret, so theirs compare.
  const key = keyring.deriveKey('replica-settings');
  const digests = Object.entries(values).map(([name, value]) => [name, `${KEYED}${createHmac('sha256', key).update(`${name}\0${value}`).digest('hex')}`]);
  return {
    ...Object.fromEntries(digests),
    // Key ids are public names of the secrets, compared as they are: replicas with different
    // secrets cannot compare their keyed digests, and this is what says why.
    SWITCHBOARD_SECRET: `${KEY_ID}${keyring.keyIds[0] ?? ''}`,
    SWITCHBOARD_PREVIOUS_SECRETS: `${KEY_ID}${[...keyring.keyIds.slice(1)].sort().join(',')}`,
  };
}

/** Each value names its kind; one kind compares only with the same kind (an older version recorded plain digests). */
const KEYED = 'hmac:';
const KEY_ID = 'keyid:';

/**
 * The settings two replicas disagree on: those both record, of the same kind, that differ (a
 * setting or a kind one version lacks is no drift). Replicas with different current secrets
 * report only their secrets: every keyed digest differs then, whatever the values.
 */
export function differingSettings(own: Record<string, string>, other: Record<string, string>): string[] {
  const comparable = (name: string) => name in other && kindOf(other[name]!) === kindOf(own[name]!);
  const differing = Object.keys(own).filter((name) => comparable(name) && other[name] !== own[name]);
  if (differing.includes('SWITCHBOARD_SECRET')) return differing.filter((name) => own[name]!.startsWith(KEY_ID));
  return differing;
}

function kindOf(value: string): string {
  return value.startsWith(KEYED) ? KEYED : value.startsWith(KEY_ID) ? KEY_ID : '';
}
