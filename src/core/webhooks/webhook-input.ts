import { AppError } from '../../errors.ts';
import { ALLOWLIST_VARIABLE, normalizeHost, type EgressAllowlist } from '../../egress-allowlist.ts';
import { checkUrlTarget } from '../network/egress-policy.ts';
import { isStorableText } from '../text.ts';
import { WEBHOOK_EVENT_TYPES, type WebhookEventType } from './webhook-events.ts';

/** Checks on a webhook registration; each returns the normalized value or throws `validation_error`. */
export const MAX_WEBHOOKS_PER_NAMESPACE = 10;
const MAX_URL_LENGTH = 2048;
const MAX_DESCRIPTION_LENGTH = 200;
const WEBHOOK_ID_PATTERN = /^wh_[a-z2-7]{16}$/;

export function isWebhookId(id: string): boolean {
  return WEBHOOK_ID_PATTERN.test(id);
}

/**
 * An http(s) URL without userinfo or fragment, whose host Switchboard may reach: an IP literal
 * or `localhost` outside ALLOWED_UPSTREAM_HOSTS is refused here; a name is judged again after
 * DNS, at every delivery (the egress guard), where a refusal is a failed attempt.
 */
export function checkWebhookUrl(raw: string, allowlist: EgressAllowlist): string {
  if (raw.length > MAX_URL_LENGTH) throw new AppError('validation_error', `url is longer than ${MAX_URL_LENGTH} characters`);
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    throw new AppError('validation_error', 'url is not a valid absolute URL, e.g. https://app.example.com/webhooks/switchboard');
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw new AppError('validation_error', `url must use http or https, not ${url.protocol.replace(/:$/, '')}`);
  }
  if (url.username || url.password) {
    throw new AppError('validation_error', 'url must not carry a user name or password: verify the webhook-signature header instead');
  }
  if (url.hash) throw new AppError('validation_error', 'url must not have a #fragment');
  const target = checkUrlTarget(url, allowlist);
  if (!target.allowed) {
    throw new AppError(
      'validation_error',
      `url points to ${normalizeHost(url.hostname)}, which is not allowed (${target.kind} address); an operator can allow it with ${ALLOWLIST_VARIABLE}`,
    );
  }
  return url.href;
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
