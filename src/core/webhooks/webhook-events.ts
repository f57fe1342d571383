import type { Db } from '../../db/open.ts';
import { notifyChange } from '../../db/queries/changes.ts';
import { recordConnectionStatus, type IncarnationRef } from '../../db/queries/connections.ts';
import { enqueueDeliveries } from '../../db/queries/webhooks.ts';
import { parseStoredStatus, type StoredStatus } from '../connections/connection-status.ts';
import { randomBase32 } from '../ids.ts';

/**
 * The events webhooks receive, and the outbox writes that produce them. An event is written in
 * the transaction of the change it reports, so a committed change always has its event, and an
 * event never reports a change that did not commit.
 *
 * What counts as a status change: the stored `status.state` differs from the one before
 * (`auth_required` → `connected` after an authorization, `connected` → `auth_required` after a
 * refused refresh or a step-up, → `error` when the upstream fails, …). A new connection starts
 * `disconnected`, so its first probe is a change too. An error whose message changes, a token
 * refresh or a call that fails while the stored state stays the same are not.
 */
export const WEBHOOK_EVENT_TYPES = ['connection.status_changed', 'connection.deleted'] as const;
export type WebhookEventType = (typeof WEBHOOK_EVENT_TYPES)[number];
/** Sent only on request (POST …/test), to one webhook; not subscribable. */
export const TEST_EVENT_TYPE = 'webhook.test';

/** The status as events show it: its state and what explains it, never a link (those are minted per view). */
export type EventStatus = { state: StoredStatus['state']; message?: string; missing?: { headers: string[]; query: string[] } };

export function newEventId(): string {
  return `msg_${randomBase32(15)}`;
}

function eventStatus(status: StoredStatus): EventStatus {
  if (status.state === 'error') return { state: 'error', message: status.message };
  if (status.state === 'input_required') return { state: 'input_required', missing: status.missing };
  return { state: status.state };
}

type ConnectionFacts = { namespace: string; id: string; name: string; metadata: Record<string, unknown> | null };

/** Writes the event into the outbox of every webhook of the namespace that wants it. */
export async function enqueueEvent(db: Db, namespace: string, type: string, data: Record<string, unknown>, onlyWebhookId?: string): Promise<string> {
  const eventId = newEventId();
  const payload = JSON.stringify({ type, timestamp: new Date().toISOString(), data });
  const queued = await enqueueDeliveries(db, { namespace, eventId, type, payload, onlyWebhookId });
  // Inside the caller's transaction this is sent on commit, when the deliveries can be seen;
  // with no webhook listening nothing is sent, so no worker wakes (and queries) for nothing.
  if (queued > 0) await notifyChange(db, { kind: 'webhook_deliveries_queued', namespace });
  return eventId;
}

function connectionData(connection: ConnectionFacts): Record<string, unknown> {
  return { namespace: connection.namespace, connectionId: connection.id, name: connection.name, metadata: connection.metadata };
}

export async function enqueueConnectionDeleted(db: Db, connection: ConnectionFacts): Promise<void> {
  await enqueueEvent(db, connection.namespace, 'connection.deleted', connectionData(connection));
}

/**
 * `recordConnectionStatus` with its event: reads the stored status under a row lock, records
 * the new one (unless the connection changed since `revision`), and when the state differs,
 * writes `connection.status_changed` — all in one transaction (the caller's, when it has one).
 */
export async function recordConnectionStatusWithEvent(
  db: Db,
  ref: IncarnationRef,
  observed: Parameters<typeof recordConnectionStatus>[2],
): ReturnType<typeof recordConnectionStatus> {
  const run = async (tx: Db) => {
    const before = await tx
      .selectFrom('connections')
      .select('status')
      .where('namespace', '=', ref.namespace)
      .where('id', '=', ref.id)
      .where('revision', '=', ref.revision)
      .$if(ref.incarnation !== undefined, (query) => query.where('incarnation', '=', ref.incarnation!))
      .forUpdate()
      .executeTakeFirst();
    if (!before) return undefined;
    const recorded = await recordConnectionStatus(tx, ref, observed);
    if (!recorded) return recorded;
    const previous = parseStoredStatus(before.status);
    const next = parseStoredStatus(recorded.status);
    if (previous.state !== next.state) {
      await enqueueEvent(tx, ref.namespace, 'connection.status_changed', {
        ...connectionData(recorded),
        status: eventStatus(next),
        previousStatus: eventStatus(previous),
      });
    }
    return recorded;
  };
  return db.isTransaction ? run(db) : db.transaction().execute(run);
}
