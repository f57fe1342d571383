import { createHmac, randomBytes } from 'node:crypto';
import { AppError } from '../../errors.ts';
import type { Keyring } from '../crypto/keyring.ts';

/**
 * Standard Webhooks (https://www.standardwebhooks.com) signing: the secret is `whsec_` and the
 * base64 of 32 random bytes; each request carries `webhook-id`, `webhook-timestamp` (seconds)
 * and `webhook-signature: v1,<base64 HMAC-SHA256 of "id.timestamp.body">`, so any of the
 * spec's libraries verifies it. The secret is sealed at rest, bound to its webhook.
 */
const SECRET_PREFIX = 'whsec_';

export function generateWebhookSecret(): string {
  return `${SECRET_PREFIX}${randomBytes(32).toString('base64')}`;
}

export function secretContextOf(webhookId: string): string {
  return `webhook-secret:${webhookId}`;
}

export function sealWebhookSecret(keyring: Keyring, webhookId: string, secret: string): string {
  return keyring.seal(secret, secretContextOf(webhookId));
}

export function openWebhookSecret(keyring: Keyring, webhookId: string, sealed: string): string {
  const opened = keyring.open(sealed, secretContextOf(webhookId));
  if (!opened.ok) {
    throw new AppError(
      'internal_error',
      opened.reason === 'unknown_key'
        ? 'The signing secret of this webhook was sealed with a key this server does not have (check SWITCHBOARD_PREVIOUS_SECRETS)'
        : 'The signing secret of this webhook could not be decrypted',
    );
  }
  return opened.plaintext;
}

/** The headers of one attempt: the id stays, the timestamp and signature are made anew. */
export function signedHeaders(secret: string, eventId: string, body: string, now = new Date()): Record<string, string> {
  const timestamp = Math.floor(now.getTime() / 1000);
  const key = Buffer.from(secret.slice(SECRET_PREFIX.length), 'base64');
  const signature = createHmac('sha256', key).update(`${eventId}.${timestamp}.${body}`, 'utf8').digest('base64');
  return { 'webhook-id': eventId, 'webhook-timestamp': String(timestamp), 'webhook-signature': `v1,${signature}` };
}
