import { AppError } from '../../errors.ts';
import type { EgressAllowlist } from '../../egress-allowlist.ts';
import { checkOutboundUrl, type OutboundUrlField } from '../network/outbound-url.ts';
import { isStorableText } from '../storable-text.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './webhook-events.ts';

/** Checks on a webhook registration; each returns the normalized value or throws `validation_error`. */
export const MAX_WEBHOOKS_PER_NAMESPACE = 10;
const MAX_DESCRIPTION_LENGTH = 200;
const WEBHOOK_ID_PATTERN = /^wh_[a-z2-7]{16}$/;

export function isWebhookId(id: string): boolean {
  return WEBHOOK_ID_PATTERN.test(id);
}

const WEBHOOK_URL_FIELD: OutboundUrlField = {
  name: 'url',
  example: 'https://app.example.com/webhooks/switchboard',
  credentialsInstead: 'verify the webhook-signature header instead',
};

/**
 * The receiver's URL, checked as every outbound URL is (see core/network/outbound-url.ts); a
 * name refused after DNS, at a delivery, is a failed attempt.
 */
export function checkWebhookUrl(raw: string, allowlist: EgressAllowlist): string {
  return checkOutboundUrl(raw, allowlist, WEBHOOK_URL_FIELD);
}

/** undefined: every event type (those added later too). */
export function checkEventTypes(events: readonly string[] | undefined): WebhookEventType[] | null {
  if (events === undefined) return null;
  if (events.length === 0) throw new AppError('validation_error', 'events must name at least one event type, or be left out for all of them');
  const unknown = events.filter((type) => !(WEBHOOK_EVENT_TYPES as readonly string[]).includes(type));
  if (unknown.length > 0) {
    throw new AppError('validation_error', `Unknown event type ${JSON.stringify(unknown[0]!.slice(0, 100))}: the types are ${WEBHOOK_EVENT_TYPES.join(', ')}`);
  }
  return [...new Set(events)] as WebhookEventType[];
}

export function checkDescription(description: string | undefined): string | null {
  if (description === undefined) return null;
  const trimmed = description.trim();
  if (trimmed.length > MAX_DESCRIPTION_LENGTH) throw new AppError('validation_error', `description must be at most ${MAX_DESCRIPTION_LENGTH} characters`);
  if (!isStorableText(trimmed)) throw new AppError('validation_error', 'description must not contain NUL characters or unpaired surrogates');
  return trimmed.length > 0 ? trimmed : null;
}
