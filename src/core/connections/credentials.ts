import { AppError } from '../../errors.ts';
import type { Keyring } from '../crypto/keyring.ts';

export type ConnectionRef = { namespace: string; id: string };
export type SealedCredentials = { sealed: string; keyId: string };

/**
 * Credential headers at rest: AES-256-GCM through the keyring, bound to the connection they
 * belong to (a sealed value copied onto another row does not open there).
 */
export function contextOf(ref: ConnectionRef): string {
  return `connection-credentials:${ref.namespace}/${ref.id}`;
}

export function sealCredentials(keyring: Keyring, ref: ConnectionRef, headers: Record<string, string>): SealedCredentials | null {
  if (Object.keys(headers).length === 0) return null;
  return { sealed: keyring.seal(JSON.stringify(headers), contextOf(ref)), keyId: keyring.currentKeyId };
}

export function openCredentials(keyring: Keyring, ref: ConnectionRef, sealed: string | null): Record<string, string> {
  if (!sealed) return {};
  const opened = keyring.open(sealed, contextOf(ref));
  if (!opened.ok) {
    // The reason names no secret; the most likely cause is a master secret that was replaced
    // without keeping the old one in SWITCHBOARD_PREVIOUS_SECRETS.
    throw new AppError(
      'internal_error',
      opened.reason === 'unknown_key'
        ? 'The credentials of this connection were sealed with a key this server does not have (check SWITCHBOARD_PREVIOUS_SECRETS)'
        : 'The stored credentials of this connection could not be decrypted',
    );
  }
  return JSON.parse(opened.plaintext) as Record<string, string>;
}
