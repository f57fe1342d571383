import { createHmac, timingSafeEqual } from 'node:crypto';
import type { Keyring } from './keyring.ts';

/**
 * Bearer links and form tokens that Switchboard hands out and later takes back: a small JSON
 * claims object, base64url, and an HMAC under a key derived for one purpose (a value signed
 * for one purpose never verifies for another). The claims name the key id they were signed
 * with, so values made before a master-secret rotation still verify while that secret is kept.
 * Nothing is stored: validity is the signature and the expiry `e` (seconds since the epoch).
 */
export type SignedClaims = { k: string; e: number };

export type ClaimsVerification<C> = { ok: true; claims: C } | { ok: false; reason: 'invalid' | 'expired' };

export type ClaimsSigner<C extends SignedClaims> = {
  /** `<payload>.<signature>`, valid for `ttlSeconds` from now. */
  sign(claims: Omit<C, 'k' | 'e'>, ttlSeconds: number): string;
  /** The claims, unless the value is forged, malformed or expired. The caller checks their shape. */
  verify(value: string): ClaimsVerification<C>;
};

const MAX_VALUE_LENGTH = 2048;

export function createClaimsSigner<C extends SignedClaims>(keyring: Keyring, purpose: string, now: () => number = Date.now): ClaimsSigner<C> {
  const mac = (payload: string, kid: string) => createHmac('sha256', keyring.deriveKey(purpose, kid)).update(payload).digest();
  return {
    sign(claims, ttlSeconds) {
      const full = { k: keyring.currentKeyId, ...claims, e: Math.floor(now() / 1000) + ttlSeconds };
      const payload = Buffer.from(JSON.stringify(full)).toString('base64url');
      return `${payload}.${mac(payload, full.k).toString('base64url')}`;
    },
    verify(value) {
      const [payload, signature, ...rest] = value.split('.');
      if (!payload || !signature || rest.length > 0 || value.length > MAX_VALUE_LENGTH) return { ok: false, reason: 'invalid' };
      let claims: C;
      try {
        claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as C;
      } catch {
        return { ok: false, reason: 'invalid' };
      }
      if (typeof claims?.k !== 'string' || !keyring.keyIds.includes(claims.k)) return { ok: false, reason: 'invalid' };
      const expected = mac(payload, claims.k);
      const given = Buffer.from(signature, 'base64url');
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return { ok: false, reason: 'invalid' };
      if (typeof claims.e !== 'number' || claims.e * 1000 <= now()) return { ok: false, reason: 'expired' };
      return { ok: true, claims };
    },
  };
}
