import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.ts';
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

/** Key id, namespace, connection, revision, the row's creation time (a recreated id is another connection), expiry. */
type LinkClaims = { k: string; n: string; c: string; r: number; t: number; e: number };

/** What a link is bound to: one connection row, as it stands. */
export type LinkTarget = ConnectionRef & { revision: number; createdAt: Date };

export type AuthorizationLinks = {
  /** The authorization URL for the connection as it stands. */
  urlFor(target: LinkTarget): string;
  /** The connection a link names, unless it is forged or expired. */
  verify(link: string): { ok: true; ref: ConnectionRef; revision: number; createdAt: number } | { ok: false; reason: 'invalid' | 'expired' };
};

export function createAuthorizationLinks(keyring: Keyring, publicUrl: string, now: () => number = Date.now): AuthorizationLinks {
  const sign = (payload: string, kid: string) => createHmac('sha256', keyring.deriveKey(PURPOSE, kid)).update(payload).digest();
  return {
    urlFor(target) {
      const claims: LinkClaims = {
        k: keyring.currentKeyId,
        n: target.namespace,
        c: target.id,
        r: target.revision,
        t: target.createdAt.getTime(),
        e: Math.floor(now() / 1000) + LINK_TTL_SECONDS,
      };
      const payload = Buffer.from(JSON.stringify(claims)).toString('base64url');
      return `${publicUrl}/oauth/authorize/${payload}.${sign(payload, claims.k).toString('base64url')}`;
    },
    verify(link) {
      const [payload, signature, ...rest] = link.split('.');
      if (!payload || !signature || rest.length > 0 || link.length > 2048) return { ok: false, reason: 'invalid' };
      let claims: LinkClaims;
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as LinkClaims;
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      if (typeof claims?.k !== 'string' || !keyring.keyIds.includes(claims.k)) return { ok: false, reason: 'invalid' };
      const expected = sign(payload, claims.k);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
      if (typeof claims.e !== 'number' || claims.e * 1000 <= now()) return { ok: false, reason: 'expired' };
      return { ok: true, ref: { namespace: claims.n, id: claims.c }, revision: claims.r, createdAt: claims.t };
    },
  };
}
