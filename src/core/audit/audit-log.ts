import type { Db } from '../../db/open.ts';
import { listAuditEventsPage } from '../../db/queries/audit-events.ts';
import { decodePageCursor, encodePageCursor } from '../paging/page-cursor.ts';
import type { AuditActorType, AuditEventBody, AuditEventType } from './audit-event-types.ts';

export type AuditLogQuery = {
  limit: number;
  cursor?: string;
  type?: AuditEventType;
  namespace?: string;
  connectionId?: string;
  /** ISO 8601; inclusive. */
  since?: string;
  /** ISO 8601; exclusive. */
  until?: string;
};

export type AuditLogEntry = AuditEventBody & {
  id: string;
  occurredAt: string;
  actor: { type: AuditActorType; id: string | null };
  namespace: string | null;
  connectionId: string | null;
  requestId: string | null;
};

/** An account's security events, newest first, a page at a time. Only ever the account's own. */
export async function listAuditEvents(db: Db, accountId: string, query: AuditLogQuery): Promise<{ events: AuditLogEntry[]; nextCursor: string | null }> {
  const rows = await listAuditEventsPage(db, {
    accountId,
    type: query.type,
    namespace: query.namespace,
    connectionId: query.connectionId,
    since: query.since === undefined ? undefined : new Date(query.since),
    until: query.until === undefined ? undefined : new Date(query.until),
    before: query.cursor === undefined ? undefined : decodePageCursor(query.cursor, isEventId),
    // One more than asked tells whether another page follows.
    limit: query.limit + 1,
  });
  const page = rows.slice(0, query.limit);
  const last = page.at(-1);
  return {
    events: page.map((row) => ({
      id: row.id,
      occurredAt: row.occurred_at.toISOString(),
      type: row.type,
      actor: { type: row.actor_type, id: row.actor_id },
      namespace: row.namespace,
      connectionId: row.connection_id,
      requestId: row.request_id,
      details: row.details,
    })) as AuditLogEntry[],
    nextCursor: rows.length > query.limit && last ? encodePageCursor({ at: last.occurred_at, id: last.id }) : null,
  };
}

const EVENT_ID_PATTERN = /^evt_[a-z2-7]{16}$/;
const isEventId = (id: string) => EVENT_ID_PATTERN.test(id);
