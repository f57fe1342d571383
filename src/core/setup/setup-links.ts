import type { Keyring } from '../crypto/keyring.ts';
import { createClaimsSigner, type SignedClaims } from '../crypto/signed-claims.ts';
import type { ConnectionRef } from '../connections/credentials.ts';

/**
 * A connection's `setupUrl`: the page where its end user supplies what the upstream needs
 * (configuration, then authorization). The link is the only credential the page asks for, so
 * it is signed, expires (SETUP_LINK_TTL_SECONDS) and names one connection row: its namespace,
 * id and creation time (a connection deleted and recreated under the same id is another one).
 * It is not bound to the revision: one link carries the user through every step of the setup
 * (saving the configuration changes the revision), and what it may do is decided by the
 * connection's state when it is used. It carries the time it was minted (`i`): where the page
 * would start an upstream authorization, the link must be as fresh as an authorization link.
 */
const PURPOSE = 'connection-setup-links';

type SetupClaims = SignedClaims & { n: string; c: string; t: number; i: number };

export type SetupTarget = ConnectionRef & { createdAt: Date };

export type SetupLinkVerification =
  | { ok: true; ref: ConnectionRef; createdAt: number; /** When the link was minted (epoch ms). */ mintedAt: number }
  | { ok: false; reason: 'invalid' | 'expired' };

export type SetupLinks = {
  /** The setup page URL for the connection. */
  setupUrlFor(target: SetupTarget): string;
  /** The connection a setup link token (the last path segment) names, unless it is forged or expired. */
  verifySetupLink(token: string): SetupLinkVerification;
};

export const SETUP_PATH_PREFIX = '/setup/';

export function createSetupLinks(keyring: Keyring, publicUrl: string, ttlSeconds: number, now: () => number = Date.now): SetupLinks {
  const signer = createClaimsSigner<SetupClaims>(keyring, PURPOSE, now);
  return {
    setupUrlFor(target) {
      return `${publicUrl}${SETUP_PATH_PREFIX}${signer.sign({ n: target.namespace, c: target.id, t: target.createdAt.getTime(), i: now() }, ttlSeconds)}`;
    },
    verifySetupLink(token) {
      const verified = signer.verify(token);
      if (!verified.ok) return verified;
      const { n, c, t, i } = verified.claims;
      if (typeof n !== 'string' || typeof c !== 'string' || typeof t !== 'number') return { ok: false, reason: 'invalid' };
      // A link minted before links carried their age counts as old.
      return { ok: true, ref: { namespace: n, id: c }, createdAt: t, mintedAt: typeof i === 'number' ? i : 0 };
    },
  };
}
