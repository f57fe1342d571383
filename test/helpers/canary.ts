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

/**
 * Secrets whose spelling a test cannot choose (the test OAuth server's JWT access tokens), looked
 * for explicitly: a source is asked at each scan (e.g. the authorization server's list of what it
 * issued so far); a value watched stays watched for the rest of the test file.
 */
const watched = new Set<string>();
const sources = new Set<() => Promise<readonly string[]>>();

export function watchForSecret(value: string): void {
  if (value.length >= 16) watched.add(value);
}

/** Adds a source of secrets to look for; the returned function removes it. */
export function addSecretSource(source: () => Promise<readonly string[]>): () => void {
  sources.add(source);
  return () => void sources.delete(source);
}

export async function watchedSecrets(): Promise<string[]> {
  for (const source of sources) for (const value of await source()) watchForSecret(value);
  return [...watched];
}

/**
 * Service tokens (`sbt_…`) that left where they must not. A token is sent legitimately exactly
 * once: as the `"token"` of the answer that minted it (its id is in the server's service_tokens).
 * Any other appearance — a second copy, an echo in an error, a token this server never minted
 * (attenuated offline), any log line — is a leak. Counting occurrences instead of registering
 * tokens after the fact catches tokens minted by any client (REST, tRPC, the official SDK).
 */
const SERVICE_TOKEN = /sbt_[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]+)+/g;
const MINTING_ANSWER = '"token":"';

/** `mintedIds` null: the database could not say (closed under the test); any minting answer counts. */
export function findServiceTokenLeaks(sent: string, logs: string, mintedIds: ReadonlySet<string> | null): string[] {
  const leaks: string[] = [];
  const answered = new Set<string>();
  for (const match of sent.matchAll(SERVICE_TOKEN)) {
    const token = match[0];
    const minting = sent.slice(match.index - MINTING_ANSWER.length, match.index) === MINTING_ANSWER;
    const id = serviceTokenId(token);
    if (minting && id !== undefined && (mintedIds === null || mintedIds.has(id)) && !answered.has(token)) {
      answered.add(token);
      continue;
    }
    leaks.push(`service token sent again or unminted: ${sent.slice(Math.max(0, match.index - 80), match.index + 40)}`);
  }
  for (const match of logs.matchAll(SERVICE_TOKEN)) {
    leaks.push(`service token in a log line: ${logs.slice(Math.max(0, match.index - 80), match.index + 40)}`);
  }
  return leaks.slice(0, 5);
}

/** The id of a token's last block: the row its minting wrote (service_tokens.id). */
export function serviceTokenId(token: string): string | undefined {
  const blocks = token.slice('sbt_'.length).split('.').slice(0, -1);
  try {
    const last = JSON.parse(Buffer.from(blocks.at(-1) ?? '', 'base64url').toString('utf8')) as { id?: unknown };
    return typeof last.id === 'string' ? last.id : undefined;
  } catch {
    return undefined;
  }
}
