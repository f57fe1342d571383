import type { AttemptRecord } from '../../db/queries/webhooks.ts';

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

/** Whether `id` has the form of a delivered event's id (`newEventId`). */
export function isDeliveryEventId(id: string): boolean {
  return EVENT_ID_PATTERN.test(id);
}
