import type { Keyring } from '../crypto/keyring.ts';
import { createClaimsSigner, type SignedClaims } from '../crypto/signed-claims.ts';
import type { ConnectionRef } from '../connections/credentials.ts';

/**
 * The authorization URL a connection shows (and the MCP endpoint's -32001 carries) is a
 * Switchboard link, signed and bound to one connection at one revision. It is a bearer
 * capability, so it is short-lived (OAUTH_LINK_TTL_SECONDS) and works once: minting one stores
 * nothing (every read of a connection shows one), but each carries the millisecond it was
 * minted, and the connection keeps a floor (`oauth_links_valid_after`) that continuing a link
 * raises past it and past every link minted before (see link-admission.ts). A link for a
 * connection that is already connected works only when the app asked for re-authorization
 * explicitly (`reauthorize`).
 */
const PURPOSE = 'oauth-authorization-links';

/**
 * Namespace, connection, revision, the row's creation time (a recreated id is another
 * connection), when the link was minted (epoch ms) and whether it re-authorizes.
 */
type LinkClaims = SignedClaims & { n: string; c: string; r: number; t: number; i: number; a?: 1 };

/** What a link is bound to: one connection row, as it stands. */
export type LinkTarget = ConnectionRef & { revision: number; createdAt: Date };

export type VerifiedLink = { ref: ConnectionRef; revision: number; createdAt: number; issuedAt: number; reauthorize: boolean };

export type AuthorizationLinks = {
  /** The authorization URL for the connection as it stands. */
  urlFor(target: LinkTarget): string;
  /** A link that may replace the tokens of a connected connection, minted at `issuedAt` (epoch ms). */
  reauthorizationUrlFor(target: LinkTarget, issuedAt: number): { url: string; expiresAt: Date };
  /** The connection a link names, unless it is forged or expired. */
  verify(link: string): ({ ok: true } & VerifiedLink) | { ok: false; reason: 'invalid' | 'expired' };
};

export const AUTHORIZATION_PATH_PREFIX = '/oauth/authorize/';

export function createAuthorizationLinks(keyring: Keyring, publicUrl: string, ttlSeconds: number, now: () => number = Date.now): AuthorizationLinks {
  const signer = createClaimsSigner<LinkClaims>(keyring, PURPOSE, now);
  const sign = (target: LinkTarget, at: number, reauthorize: boolean) => {
    const claims = { n: target.namespace, c: target.id, r: target.revision, t: target.createdAt.getTime(), i: at, ...(reauthorize ? { a: 1 as const } : {}) };
    return `${publicUrl}${AUTHORIZATION_PATH_PREFIX}${signer.sign(claims, ttlSeconds)}`;
  };
  return {
    urlFor(target) {
      return sign(target, now(), false);
    },
    reauthorizationUrlFor(target, at) {
      // As the signer computes it (whole seconds), give or take the second it ticks over.
      return { url: sign(target, at, true), expiresAt: new Date((Math.floor(now() / 1000) + ttlSeconds) * 1000) };
    },
    verify(link) {
      const verified = signer.verify(link);
      if (!verified.ok) return verified;
      const { n, c, r, t, i, a } = verified.claims;
      // A link minted before links were single-use carries no mint time: it is not honoured.
      if (typeof n !== 'string' || typeof c !== 'string' || typeof r !== 'number' || typeof t !== 'number' || typeof i !== 'number') {
        return { ok: false, reason: 'invalid' };
      }
      return { ok: true, ref: { namespace: n, id: c }, revision: r, createdAt: t, issuedAt: i, reauthorize: a === 1 };
    },
  };
}
