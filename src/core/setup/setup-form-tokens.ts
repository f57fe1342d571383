import { createHash } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.ts';
import { createClaimsSigner, type SignedClaims } from '../crypto/signed-claims.ts';

/**
 * The per-page token a setup form carries (CSRF): signed, bound to the exact setup link the
 * page was served under and to the connection's revision then, valid for an hour. A post
 * without it, with another link's, or made after the connection changed is not acted on.
 */
const PURPOSE = 'connection-setup-forms';
const FORM_TTL_SECONDS = 60 * 60;

type FormClaims = SignedClaims & { l: string; r: number };

export type FormTokenCheck = { ok: true } | { ok: false; reason: 'invalid' | 'expired' | 'stale' };

export type SetupFormTokens = {
  issue(linkToken: string, revision: number): string;
  check(formToken: string | null, linkToken: string, revision: number): FormTokenCheck;
};

const linkDigest = (linkToken: string) => createHash('sha256').update(linkToken).digest('base64url');

export function createSetupFormTokens(keyring: Keyring, now: () => number = Date.now): SetupFormTokens {
  const signer = createClaimsSigner<FormClaims>(keyring, PURPOSE, now);
  return {
    issue(linkToken, revision) {
      return signer.sign({ l: linkDigest(linkToken), r: revision }, FORM_TTL_SECONDS);
    },
    check(formToken, linkToken, revision) {
      if (!formToken) return { ok: false, reason: 'invalid' };
      const verified = signer.verify(formToken);
      if (!verified.ok) return verified;
      if (verified.claims.l !== linkDigest(linkToken)) return { ok: false, reason: 'invalid' };
      if (verified.claims.r !== revision) return { ok: false, reason: 'stale' };
      return { ok: true };
    },
  };
}
