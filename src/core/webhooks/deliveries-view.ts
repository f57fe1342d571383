import type { AttemptRecord } from '../../db/queries/webhooks.ts';
import { AppError } from '../../errors.ts';

/** One event's delivery to one webhook, as the API shows it: every attempt, never a response body. */
export type Delivery = {
  eventId: string;
  eventType: string;
  status: 'pending' | 'succeeded' | 'failed';
  /** The event as sent (the signed body). */
  payload: unknown;
  attemptCount: number;
  /** When the next attempt is due (pending only). */
  nextAttemptAt: string | null;
  createdAt: string;
  attempts: AttemptRecord[];
};

type DeliveryRow = {
  event_id: string;
  event_type: string;
  payload: string;
  status: Delivery['status'];
  attempt_count: number;
  next_attempt_at: Date | null;
  attempts: unknown[];
  created_at: Date;
};

export function toDelivery(row: DeliveryRow): Delivery {
  return {
    eventId: row.event_id,
    eventType: row.event_type,
    status: row.status,
    payload: JSON.parse(row.payload) as unknown,
    attemptCount: row.attempt_count,
    nextAttemptAt: row.status === 'pending' && row.next_attempt_at ? row.next_attempt_at.toISOString() : null,
    createdAt: row.created_at.toISOString(),
    attempts: row.attempts as AttemptRecord[],
  };
}

const EVENT_ID_PATTERN = /^msg_[a-z2-7]{24}$/;

export function encodeDeliveryCursor(position: { createdAt: Date; eventId: string }): string {
  return Buffer.from(JSON.stringify([position.createdAt.toISOString(), position.eventId]), 'utf8').toString('base64url');
}

export function decodeDeliveryCursor(cursor: string): { createdAt: Date; eventId: string } {
  try {
    const [createdAt, eventId] = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8')) as unknown[];
    const date = new Date(String(createdAt));
    const year = date.getUTCFullYear();
    // Only what this server could have issued: an event id, a plausible time.
    if (typeof createdAt === 'string' && typeof eventId === 'string' && EVENT_ID_PATTERN.test(eventId) && year >= 1970 && year <= 9999) {
      return { createdAt: date, eventId };
    }
  } catch {
    // Falls through to the error below.
  }
  throw new AppError('validation_error', 'cursor is not one this server returned: pass nextCursor from the previous page as it is');
}
