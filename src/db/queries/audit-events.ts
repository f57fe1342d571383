import type { Db } from '../open.ts';
import type { AuditEventsTable } from '../schema.ts';
import { jsonb } from './jsonb.ts';
import { pastPosition, type PagePosition } from './keyset-page.ts';

export type NewAuditEventRow = {
  id: string;
  accountId: string;
  type: string;
  actorType: AuditEventsTable['actor_type'];
  actorId: string | null;
  namespace: string | null;
  connectionId: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
};

export async function insertAuditEvent(db: Db, event: NewAuditEventRow): Promise<void> {
  await db
    .insertInto('audit_events')
    .values({
      id: event.id,
      account_id: event.accountId,
      type: event.type,
      actor_type: event.actorType,
      actor_id: event.actorId,
      namespace: event.namespace,
      connection_id: event.connectionId,
      request_id: event.requestId,
      details: jsonb(event.details),
    })
    .execute();
}

export type AuditEventFilter = {
  accountId: string;
  type?: string;
  namespace?: string;
  connectionId?: string;
  /** Inclusive. */
  since?: Date;
  /** Exclusive. */
  until?: Date;
  /** The last event of the previous page: this page starts just after it (older). */
  before?: PagePosition;
  limit: number;
};

/** An account's events, newest first; the account is always part of the condition. */
export async function listAuditEventsPage(db: Db, f: AuditEventFilter) {
  let query = db
    .selectFrom('audit_events')
    .select(['id', 'occurred_at', 'type', 'actor_type', 'actor_id', 'namespace', 'connection_id', 'request_id', 'details'])
    .where('account_id', '=', f.accountId)
    .orderBy('occurred_at', 'desc')
    .orderBy('id', 'desc')
    .limit(f.limit);
  if (f.type !== undefined) query = query.where('type', '=', f.type);
  if (f.namespace !== undefined) query = query.where('namespace', '=', f.namespace);
  if (f.connectionId !== undefined) query = query.where('connection_id', '=', f.connectionId);
  if (f.since !== undefined) query = query.where('occurred_at', '>=', f.since);
  if (f.until !== undefined) query = query.where('occurred_at', '<', f.until);
  if (f.before) {
    const before = f.before;
    query = query.where(() => pastPosition({ time: 'occurred_at', id: 'id' }, 'desc', before));
  }
  return query.execute();
}
