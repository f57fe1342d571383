import type { OAuthDiscoveryState, OAuthTokens } from '@modelcontextprotocol/client';
import type { Keyring } from '../crypto/keyring.ts';
import type { ConnectionRef } from '../connections/credentials.ts';

/**
 * What Switchboard holds to act for one connection's end user at an OAuth-protected
 * upstream. Sealed at rest like credentials (bound to the connection); never returned.
 */
export type OAuthTokenSet = {
  accessToken: string;
  tokenType: string;
  refreshToken?: string;
  /** Epoch milliseconds; absent when the server did not say. */
  expiresAt?: number;
  /** When we got it (epoch milliseconds): with expiresAt, the token's lifetime. */
  obtainedAt?: number;
  scope?: string;
};

export type OAuthState = {
  /** The authorization server the tokens (and the client) belong to. */
  issuer?: string;
  /** The client the tokens were issued to. */
  clientId?: string;
  /** What discovery found (protected resource and authorization server metadata): refresh and revocation use it. */
  discovery?: OAuthDiscoveryState;
  tokens?: OAuthTokenSet;
  /** The scope the next authorization asks for (the upstream's challenge, widened by step-up). */
  scope?: string;
};

/** The upstream needs the end user to authorize (again): the connection is `auth_required`. */
export class AuthorizationRequiredError extends Error {
  override name = 'AuthorizationRequiredError';
}

/** The last `WWW-Authenticate` challenge of the upstream: where its metadata is, which scope it wants. Not secret. */
export type OAuthChallenge = { resourceMetadataUrl?: string; scope?: string };

export function contextOf(ref: ConnectionRef): string {
  return `connection-oauth:${ref.namespace}/${ref.id}`;
}

export function sealOAuthState(keyring: Keyring, ref: ConnectionRef, state: OAuthState): string {
  return keyring.seal(JSON.stringify(state), contextOf(ref));
}

/** The state, or an empty one when there is none or it cannot be opened (a lost key means: authorize again). */
export function openOAuthState(keyring: Keyring, ref: ConnectionRef, sealed: string | null | undefined): OAuthState {
  if (!sealed) return {};
  const opened = keyring.open(sealed, contextOf(ref));
  return opened.ok ? (JSON.parse(opened.plaintext) as OAuthState) : {};
}

export function toTokenSet(tokens: OAuthTokens, previous?: OAuthTokenSet, now = Date.now()): OAuthTokenSet {
  return {
    accessToken: tokens.access_token,
    tokenType: tokens.token_type ?? 'Bearer',
    // A server that does not rotate refresh tokens sends none back: keep the one we have.
    ...((tokens.refresh_token ?? previous?.refreshToken) ? { refreshToken: tokens.refresh_token ?? previous?.refreshToken } : {}),
    ...(typeof tokens.expires_in === 'number' ? { expiresAt: now + tokens.expires_in * 1000, obtainedAt: now } : {}),
    ...((tokens.scope ?? previous?.scope) ? { scope: tokens.scope ?? previous?.scope } : {}),
  };
}

/**
 * Whether a token should be refreshed before use: in its last 30 seconds, or its last quarter
 * for short-lived tokens (a 5-second token is not "about to expire" for all of its life).
 */
export function isExpiringSoon(tokens: OAuthTokenSet, now = Date.now()): boolean {
  if (tokens.expiresAt === undefined) return false;
  const lifetime = tokens.obtainedAt !== undefined ? tokens.expiresAt - tokens.obtainedAt : Infinity;
  return tokens.expiresAt - now < Math.min(30_000, lifetime / 4);
}
