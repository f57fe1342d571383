import { sql } from 'kysely';
import type { Db } from '../open.ts';
import { jsonb } from './jsonb.ts';
import { pastPosition, type PagePosition } from './keyset-page.ts';
import { inNamespaceIncarnation } from './namespaces.ts';

/** Everything but the sealed secret, which only the delivery worker reads. */
const publicColumns = ['id', 'namespace', 'url', 'events', 'description', 'created_at'] as const;

export type NewWebhook = { id: string; namespace: string; url: string; events: string[] | null; description: string | null; sealedSecret: string };

/**
 * Inserts unless the namespace already has `max` webhooks; undefined then. The namespace row
 * is locked (no key update: connections referencing it are not blocked) so that concurrent
 * creates count one after the other.
 */
export async function insertWebhookWithin(db: Db, webhook: NewWebhook, max: number) {
  await sql`select name from namespaces where name = ${webhook.namespace} for no key update`.execute(db);
  const { count } = await db
    .selectFrom('webhooks')
    .select((eb) => eb.fn.countAll<string | number>().as('count'))
    .where('namespace', '=', webhook.namespace)
    .executeTakeFirstOrThrow();
  if (Number(count) >= max) return undefined;
  return db
    .insertInto('webhooks')
    .values({
      id: webhook.id,
      namespace: webhook.namespace,
      url: webhook.url,
      events: webhook.events === null ? null : jsonb(webhook.events),
      description: webhook.description,
      secret: webhook.sealedSecret,
    })
    .returning(publicColumns)
    .executeTakeFirstOrThrow();
}

/** The webhooks of this incarnation of the namespace (none once it was deleted, even if its name was taken again). */
export async function listWebhookRows(db: Db, namespace: { name: string; incarnation: string }) {
  return db
    .selectFrom('webhooks')
    .select(publicColumns)
    .where('namespace', '=', namespace.name)
    .where(inNamespaceIncarnation('webhooks', namespace.incarnation))
    .orderBy('created_at')
    .orderBy('id')
    .execute();
}

export async function findWebhook(db: Db, ref: { namespace: string; id: string }, namespaceIncarnation: string) {
  return db
    .selectFrom('webhooks')
    .select(publicColumns)
    .where('namespace', '=', ref.namespace)
    .where('id', '=', ref.id)
    .where(inNamespaceIncarnation('webhooks', namespaceIncarnation))
    .executeTakeFirst();
}

export async function deleteWebhookRow(db: Db, ref: { namespace: string; id: string }): Promise<boolean> {
  const result = await db.deleteFrom('webhooks').where('namespace', '=', ref.namespace).where('id', '=', ref.id).executeTakeFirst();
  return result.numDeletedRows > 0n;
}

/**
 * The outbox write: one pending delivery of the event for each webhook of the namespace that
 * wants its type (or only `onlyWebhookId`), due at once. Meant for the transaction of the change.
 */
export async function enqueueDeliveries(
  db: Db,
  event: { namespace: string; eventId: string; type: string; payload: string; onlyWebhookId?: string },
): Promise<number> {
  const only = event.onlyWebhookId === undefined ? sql`` : sql`and id = ${event.onlyWebhookId}`;
  const wanted = event.onlyWebhookId === undefined ? sql`and (events is null or events @> ${jsonb([event.type])})` : sql``;
  const result = await sql`
    insert into webhook_deliveries (webhook_id, event_id, event_type, payload, status, next_attempt_at)
    select id, ${event.eventId}, ${event.type}, ${event.payload}, 'pending', now()
    from webhooks where namespace = ${event.namespace} ${only} ${wanted}`.execute(db);
  return Number(result.numAffectedRows ?? 0n);
}

export type ClaimedDelivery = {
  webhook_id: string;
  event_id: string;
  event_type: string;
  payload: string;
  attempt_count: number;
  url: string;
  secret: string;
};

/**
 * Claims up to `limit` due deliveries for one attempt each: their due time moves `leaseMs`
 * ahead, so no other worker (in this or another process) takes them meanwhile; should this
 * process die mid-attempt, they fall due again when the lease ends. SKIP LOCKED lets replicas
 * claim side by side without waiting on each other.
 */
export async function claimDueDeliveries(db: Db, limit: number, leaseMs: number): Promise<ClaimedDelivery[]> {
  const { rows } = await sql<ClaimedDelivery>`
    update webhook_deliveries d
    set next_attempt_at = now() + make_interval(secs => ${leaseMs / 1000})
    from webhooks w
    where w.id = d.webhook_id and (d.webhook_id, d.event_id) in (
      select webhook_id, event_id from webhook_deliveries
      where status = 'pending' and next_attempt_at <= now()
      order by next_attempt_at
      limit ${limit}
      for update skip locked)
    returning d.webhook_id, d.event_id, d.event_type, d.payload, d.attempt_count, w.url, w.secret`.execute(db);
  return rows;
}

/** When the next pending delivery falls due (null: none), and whether any webhook exists at all. */
export async function outboxState(db: Db): Promise<{ nextDueAt: Date | null; hasWebhooks: boolean }> {
  const { rows } = await sql<{ due: Date | string | null; any: boolean }>`
    select (select min(next_attempt_at) from webhook_deliveries where status = 'pending') as due,
           exists (select 1 from webhooks) as any`.execute(db);
  const due = rows[0]?.due;
  return { nextDueAt: due ? new Date(due) : null, hasWebhooks: rows[0]?.any === true };
}

export type AttemptRecord = {
  attempt: number;
  attemptedAt: string;
  durationMs: number;
  responseStatus: number | null;
  error: string | null;
};

/**
 * Records an attempt and what follows: success, another try after `retryInMs`, or giving up
 * (retryInMs null). Only the attempt this worker claimed is recorded (`attempt_count` unchanged).
 */
export async function recordAttempt(
  db: Db,
  ref: { webhookId: string; eventId: string; attemptCount: number },
  attempt: AttemptRecord,
  outcome: { succeeded: boolean; retryInMs: number | null },
): Promise<void> {
  const status = outcome.succeeded ? 'succeeded' : outcome.retryInMs === null ? 'failed' : 'pending';
  const next = status === 'pending' ? sql`now() + make_interval(secs => ${outcome.retryInMs! / 1000})` : sql`null`;
  await sql`
    update webhook_deliveries
    set status = ${status}, attempt_count = attempt_count + 1, next_attempt_at = ${next},
        attempts = attempts || ${jsonb([attempt])}
    where webhook_id = ${ref.webhookId} and event_id = ${ref.eventId} and attempt_count = ${ref.attemptCount}`.execute(db);
}

/** Gives a claimed delivery back, due now (this process stops before attempting it). */
export async function releaseClaim(db: Db, ref: { webhookId: string; eventId: string; attemptCount: number }): Promise<void> {
  await sql`
    update webhook_deliveries set next_attempt_at = now()
    where webhook_id = ${ref.webhookId} and event_id = ${ref.eventId} and attempt_count = ${ref.attemptCount} and status = 'pending'`.execute(db);
}

/** Forgets deliveries that ended (succeeded or failed) and were created before `cutoff`. */
export async function deleteFinishedDeliveries(db: Db, cutoff: Date): Promise<number> {
  const result = await db.deleteFrom('webhook_deliveries').where('status', '<>', 'pending').where('created_at', '<', cutoff).executeTakeFirst();
  return Number(result.numDeletedRows);
}

/** A webhook's deliveries, newest first, after the cursor's position. */
export async function listDeliveriesPage(db: Db, q: { webhookId: string; before?: PagePosition; limit: number }) {
  let query = db
    .selectFrom('webhook_deliveries')
    .select(['event_id', 'event_type', 'payload', 'status', 'attempt_count', 'next_attempt_at', 'attempts', 'created_at'])
    .where('webhook_id', '=', q.webhookId)
    .orderBy('created_at', 'desc')
    .orderBy('event_id', 'desc')
    .limit(q.limit);
  if (q.before) {
    const before = q.before;
    query = query.where(() => pastPosition({ time: 'created_at', id: 'event_id' }, 'desc', before));
  }
  return query.execute();
}
