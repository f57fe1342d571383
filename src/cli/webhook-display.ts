import type { Delivery } from '../core/webhooks/deliveries-view.ts';
import type { Webhook } from '../core/webhooks/webhooks.ts';
import { cell, printFields, printTable } from './output.ts';

export type { Delivery, Webhook };

// null means every type, those added later too: say so rather than print nothing.
const eventsText = (events: Webhook['events']) => (events ? events.join(', ') : 'all');

export function printWebhook(webhook: Webhook): void {
  printFields([
    ['id', webhook.webhookId],
    ['url', webhook.url],
    ['events', eventsText(webhook.events)],
    ['description', webhook.description ?? undefined],
    ['created', webhook.createdAt],
  ]);
}

export function printWebhookTable(webhooks: Webhook[]): void {
  printTable(
    ['ID', 'URL', 'EVENTS', 'CREATED', 'DESCRIPTION'],
    // The URL whole: a cut one cannot be checked against the receiver.
    webhooks.map((w) => [w.webhookId, w.url, cell(eventsText(w.events), 50), w.createdAt, cell(w.description, 50)]),
  );
}

/** What the receiver last answered: its status, or why there was no good answer. */
function lastResponse(delivery: Delivery): string {
  const last = delivery.attempts.at(-1);
  if (!last) return '';
  return [last.responseStatus === null ? undefined : String(last.responseStatus), last.error ?? undefined].filter(Boolean).join(' ');
}

export function printDeliveryTable(deliveries: Delivery[]): void {
  printTable(
    ['EVENT', 'TYPE', 'STATUS', 'ATTEMPTS', 'LAST RESPONSE', 'NEXT ATTEMPT'],
    deliveries.map((d) => [d.eventId, d.eventType, d.status, String(d.attemptCount), cell(lastResponse(d), 60), d.nextAttemptAt ?? '']),
  );
}
