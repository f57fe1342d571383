import { randomBytes } from 'node:crypto';

/**
 * Credentials planted by tests. Every credential value a test stores starts with this
 * prefix, and every test server scans all it sends (headers and bodies, on every socket)
 * and all it logs for it: finding one fails the test file.
 */
export const CANARY_PREFIX = 'sbcanary';

export function canary(label = 'secret'): string {
  return `${CANARY_PREFIX}-${label}-${randomBytes(12).toString('hex')}`;
}

/** Where in `text` a planted credential (or any of `secrets`) appears, for the failure message. */
export function findLeaks(text: string, secrets: readonly string[] = []): string[] {
  const leaks: string[] = [];
  let at = text.indexOf(CANARY_PREFIX);
  while (at !== -1 && leaks.length < 5) {
    leaks.push(text.slice(Math.max(0, at - 80), at + 60));
    at = text.indexOf(CANARY_PREFIX, at + 1);
  }
  for (const secret of secrets) {
    const found = text.indexOf(secret);
    if (found !== -1) leaks.push(text.slice(Math.max(0, found - 80), found + 20));
  }
  return leaks;
}
