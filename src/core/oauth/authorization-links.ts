import type { Keyring } from '../crypto/keyring.ts';
import { createClaimsSigner, type SignedClaims } from '../crypto/signed-claims.ts';
import type { ConnectionRef } from '../connections/credentials.ts';

/**
 * The authorization URL a connection shows (and the MCP endpoint's -32001 carries) is a
 * Switchboard link, signed and bound to one connection at one revision: opening it starts a
 * fresh authorization (state and PKCE minted at that moment), so a link shown hours ago still
 * works while no state ever lives long. Anyone holding the link may start the flow; only the
 * authorization server's login decides whose account is connected.
 */
const LINK_TTL_SECONDS = 7 * 24 * 60 * 60;
const PURPOSE = 'oauth-authorization-links';

/** Namespace, connection, revision, the row's creation time (a recreated id is another connection). */
type LinkClaims = SignedClaims & { n: string; c: string; r: number; t: number };

/** What a link is bound to: one connection row, as it stands. */
export type LinkTarget = ConnectionRef & { revision: number; createdAt: Date };

export type AuthorizationLinks = {
  /** The authorization URL for the connection as it stands. */
  urlFor(target: LinkTarget): string;
  /** The connection a link names, unless it is forged or expired. */
  verify(link: string): { ok: true; ref: ConnectionRef; revision: number; createdAt: number } | { ok: false; reason: 'invalid' | 'expired' };
};

export function createAuthorizationLinks(keyring: Keyring, publicUrl: string, now: () => number = Date.now): AuthorizationLinks {
  const signer = createClaimsSigner<LinkClaims>(keyring, PURPOSE, now);
  return {
    urlFor(target) {
      const claims = { n: target.namespace, c: target.id, r: target.revision, t: target.createdAt.getTime() };
      return `${publicUrl}/oauth/authorize/${signer.sign(claims, LINK_TTL_SECONDS)}`;
    },
    verify(link) {
      const verified = signer.verify(link);
      if (!verified.ok) return verified;
      const { n, c, r, t } = verified.claims;
      return { ok: true, ref: { namespace: n, id: c }, revision: r, createdAt: t };
    },
  };
}
