import type { Db } from '../../db/open.ts';
import { deleteWebhookRow, findWebhook, insertWebhookWithin, listDeliveriesPage, listWebhookRows } from '../../db/queries/webhooks.ts';
import { AppError } from '../../errors.ts';
import { changeWithAuditEvent, type AuditEvent } from '../audit/record-audit-event.ts';
import { auditActorOf } from '../auth/audit-actor.ts';
import type { Access } from '../auth/access.ts';
import type { Keyring } from '../crypto/keyring.ts';
import { randomBase32 } from '../ids.ts';
import { holdNamespace, type NamespaceDirectory } from '../namespaces/namespace-directory.ts';
import type { EgressAllowlist } from '../../egress-allowlist.ts';
import { decodePageCursor, encodePageCursor } from '../paging/page-cursor.ts';
import { isDeliveryEventId, toDelivery, type Delivery } from './deliveries-view.ts';
import { enqueueEvent, TEST_EVENT_TYPE } from './webhook-events.ts';
import { checkDescription, checkEventTypes, checkWebhookUrl, isWebhookId, MAX_WEBHOOKS_PER_NAMESPACE } from './webhook-input.ts';
import { generateWebhookSecret, sealWebhookSecret } from './webhook-signing.ts';

export type WebhookServices = {
  db: Db;
  keyring: Keyring;
  namespaces: NamespaceDirectory;
  config: { allowedUpstreamHosts: EgressAllowlist };
  /** Tells this process's delivery worker there is something to send. */
  webhookDelivery: { wake(): void };
  requestId?: string;
};

export type Webhook = { webhookId: string; url: string; events: string[] | null; description: string | null; createdAt: string };

type WebhookRow = { id: string; url: string; events: string[] | null; description: string | null; created_at: Date };

function toWebhook(row: WebhookRow): Webhook {
  return { webhookId: row.id, url: row.url, events: row.events, description: row.description, createdAt: row.created_at.toISOString() };
}

function webhookNotFound(id: string): AppError {
  return new AppError('not_found', `Webhook "${id.slice(0, 100)}" not found`);
}

/** Who changed a namespace's webhooks, for its audit event. */
function auditedBy(services: WebhookServices, access: Access, namespace: string): Omit<AuditEvent, 'type' | 'details'> {
  return { accountId: access.accountId, actor: auditActorOf(access.principal), requestId: services.requestId, namespace };
}

/** Registers a webhook; its signing secret is in this answer and never again. */
export async function createWebhook(
  services: WebhookServices,
  access: Access,
  namespace: string,
  input: { url: string; events?: string[]; description?: string },
): Promise<Webhook & { secret: string }> {
  const owned = await services.namespaces.confirmOwned(access, namespace);
  const url = checkWebhookUrl(input.url, services.config.allowedUpstreamHosts);
  const events = checkEventTypes(input.events);
  const description = checkDescription(input.description);
  const id = `wh_${randomBase32(10)}`;
  const secret = generateWebhookSecret();
  const created: AuditEvent = { ...auditedBy(services, access, namespace), type: 'webhook.created', details: { webhookId: id, host: new URL(url).host, events } };
  const row = await changeWithAuditEvent(services.db, created, async (db) => {
    // Into the namespace the ownership check saw: one recreated under its name since is another tenant's.
    await holdNamespace(db, owned);
    return insertWebhookWithin(db, { id, namespace, url, events, description, sealedSecret: sealWebhookSecret(services.keyring, id, secret) }, MAX_WEBHOOKS_PER_NAMESPACE);
  });
  if (!row) throw new AppError('validation_error', `A namespace has at most ${MAX_WEBHOOKS_PER_NAMESPACE} webhooks: delete one first`);
  return { ...toWebhook(row), secret };
}

export async function listWebhooks(services: WebhookServices, access: Access, namespace: string): Promise<{ webhooks: Webhook[] }> {
  const owned = await services.namespaces.confirmOwned(access, namespace);
  return { webhooks: (await listWebhookRows(services.db, owned)).map(toWebhook) };
}

async function requireWebhook(services: WebhookServices, access: Access, ref: { namespace: string; id: string }): Promise<WebhookRow> {
  const owned = await services.namespaces.confirmOwned(access, ref.namespace);
  // A malformed id names nothing; the database must not see it (PostgreSQL refuses NUL).
  const row = isWebhookId(ref.id) ? await findWebhook(services.db, ref, owned.incarnation) : undefined;
  if (!row) throw webhookNotFound(ref.id);
  return row;
}

export async function getWebhook(services: WebhookServices, access: Access, ref: { namespace: string; id: string }): Promise<Webhook> {
  return toWebhook(await requireWebhook(services, access, ref));
}

/** Deletes the webhook with its deliveries: nothing more is sent to it. */
export async function deleteWebhook(services: WebhookServices, access: Access, ref: { namespace: string; id: string }): Promise<{ success: true }> {
  await requireWebhook(services, access, ref);
  const deleted: AuditEvent = { ...auditedBy(services, access, ref.namespace), type: 'webhook.deleted', details: { webhookId: ref.id } };
  if (!(await changeWithAuditEvent(services.db, deleted, (db) => deleteWebhookRow(db, ref)))) throw webhookNotFound(ref.id);
  return { success: true };
}

/** Queues a `webhook.test` event for this webhook alone; its delivery shows in the deliveries list. */
export async function sendTestEvent(services: WebhookServices, access: Access, ref: { namespace: string; id: string }): Promise<{ eventId: string; type: string }> {
  await requireWebhook(services, access, ref);
  const eventId = await enqueueEvent(services.db, ref.namespace, TEST_EVENT_TYPE, { namespace: ref.namespace, webhookId: ref.id }, ref.id);
  services.webhookDelivery.wake();
  return { eventId, type: TEST_EVENT_TYPE };
}

export async function listDeliveries(
  services: WebhookServices,
  access: Access,
  ref: { namespace: string; id: string },
  query: { limit: number; cursor?: string },
): Promise<{ deliveries: Delivery[]; nextCursor: string | null }> {
  await requireWebhook(services, access, ref);
  const rows = await listDeliveriesPage(services.db, {
    webhookId: ref.id,
    before: query.cursor === undefined ? undefined : decodePageCursor(query.cursor, isDeliveryEventId),
    // One more than asked tells whether another page follows.
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    deliveries: page.map(toDelivery),
    nextCursor: rows.length > query.limit && last ? encodePageCursor({ at: last.created_at, id: last.event_id }) : null,
  };
}
