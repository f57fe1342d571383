import type { Db } from '../../db/open.ts';
import { insertAuditEvent } from '../../db/queries/audit-events.ts';
import type { Logger } from '../../logger.ts';
import { newAuditEventId } from '../ids.ts';
import { auditDetailsByType, type AuditActor, type AuditEventBody } from './audit-event-types.ts';

export type AuditEvent = AuditEventBody & {
  accountId: string;
  actor: AuditActor;
  /** The request that caused it, to find it in the logs. */
  requestId?: string | null;
  namespace?: string | null;
  connectionId?: string | null;
};

/**
 * Writes one event. Pass the transaction that makes the change when there is one: the change
 * and its event then commit together, so an acknowledged change always has its event.
 */
export async function recordAuditEvent(db: Db, event: AuditEvent): Promise<void> {
  // Only the declared facts are stored: anything else a caller put in is dropped here.
  const details = auditDetailsByType[event.type].parse(event.details) as Record<string, unknown>;
  await insertAuditEvent(db, {
    id: newAuditEventId(),
    accountId: event.accountId,
    type: event.type,
    actorType: event.actor.type,
    actorId: event.actor.id,
    namespace: event.namespace ?? null,
    connectionId: event.connectionId ?? null,
    requestId: event.requestId ?? null,
    details,
  });
}

/**
 * For events on the tool-call path (token refreshes): written without holding up the call. A
 * failure is logged (the event type, never its details) and otherwise ignored.
 */
export function recordAuditEventInBackground(db: Db, logger: Logger, event: AuditEvent): void {
  recordAuditEvent(db, event).catch((error: unknown) => {
    logger.error({ auditEvent: event.type, err: { message: (error as Error)?.message } }, 'could not record an audit event');
  });
}

/**
 * Makes a change and, when it happened (a truthy result) and there is an event for it, records
 * the event in the same transaction. Without an event, the change runs as it would alone.
 */
export async function changeWithAuditEvent<T>(db: Db, event: AuditEvent | undefined, change: (db: Db) => Promise<T>): Promise<T> {
  if (!event) return change(db);
  return db.transaction().execute(async (tx) => {
    const result = await change(tx);
    if (result) await recordAuditEvent(tx, event);
    return result;
  });
}
