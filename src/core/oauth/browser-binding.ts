import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Keyring } from '../crypto/keyring.ts';
import { createClaimsSigner, type SignedClaims } from '../crypto/signed-claims.ts';

/**
 * An authorization is bound to the browser that continued its link: that browser holds a
 * random secret (an HttpOnly cookie) whose hash is sealed with the flow, and the callback is
 * refused without it. A `state` that leaks, or an authorization server's answer forwarded to
 * someone else, then completes nothing. The same secret also keys the interstitial's form
 * token (CSRF): a page on another site can neither read it nor forge the token.
 */
const SECRET_BYTES = 32;
const SECRET_PATTERN = /^[\w-]{43}$/;
const PURPOSE = 'oauth-continue-forms';
const COOKIE_PURPOSE = 'oauth-browser-cookie';

export function newBrowserSecret(): string {
  return randomBytes(SECRET_BYTES).toString('base64url');
}

/** Whether a cookie value is shaped like a secret we set (anything else is ignored). */
export function isBrowserSecret(value: string | undefined): value is string {
  return value !== undefined && SECRET_PATTERN.test(value);
}

export function browserHash(secret: string): string {
  return createHash('sha256').update(secret, 'utf8').digest('base64url');
}

/** Whether the browser's secret is the one the flow was started with (constant time). */
export function isSameBrowser(secret: string | undefined, expectedHash: string | undefined): boolean {
  if (!isBrowserSecret(secret) || !expectedHash) return false;
  const given = Buffer.from(browserHash(secret));
  const expected = Buffer.from(expectedHash);
  return given.length === expected.length && timingSafeEqual(given, expected);
}

type ContinueClaims = SignedClaims & { l: string; b: string };

export type ContinueTokens = {
  /** The token the interstitial's form carries: this link, this browser, for the link's lifetime. */
  issue(link: string, secret: string, ttlSeconds: number): string;
  check(token: string | null, link: string, secret: string | undefined): boolean;
};

const linkDigest = (link: string) => createHash('sha256').update(link).digest('base64url');

export function createContinueTokens(keyring: Keyring, now: () => number = Date.now): ContinueTokens {
  const signer = createClaimsSigner<ContinueClaims>(keyring, PURPOSE, now);
  return {
    issue(link, secret, ttlSeconds) {
      return signer.sign({ l: linkDigest(link), b: browserHash(secret) }, ttlSeconds);
    },
    check(token, link, secret) {
      if (!token) return false;
      const verified = signer.verify(token);
      return verified.ok && verified.claims.l === linkDigest(link) && isSameBrowser(secret, verified.claims.b);
    },
  };
}

type CookieClaims = SignedClaims & { s: string };

/**
 * The cookie carries the secret signed by Switchboard, so a value someone else planted in the
 * browser (one they chose, to know the secret a flow gets bound to) is ignored and a fresh
 * secret issued instead. (A value Switchboard signed for another browser can still be carried
 * over by whoever can write this site's cookies: the `__Host-` cookie name on https is what
 * keeps them out.)
 */
export type BrowserCookies = {
  seal(secret: string, ttlSeconds: number): string;
  /** The secret a cookie value carries, if Switchboard signed it and it has not expired. */
  open(value: string): string | undefined;
};

export function createBrowserCookies(keyring: Keyring, now: () => number = Date.now): BrowserCookies {
  const signer = createClaimsSigner<CookieClaims>(keyring, COOKIE_PURPOSE, now);
  return {
    seal: (secret, ttlSeconds) => signer.sign({ s: secret }, ttlSeconds),
    open(value) {
      const verified = signer.verify(value);
      return verified.ok && isBrowserSecret(verified.claims.s) ? verified.claims.s : undefined;
    },
  };
}
