import type { Db } from '../../db/open.ts';
import { claimDueDeliveries, deleteFinishedDeliveries, outboxState, recordAttempt, releaseClaim, type ClaimedDelivery } from '../../db/queries/webhooks.ts';
import type { Logger } from '../../logger.ts';
import { SWITCHBOARD_VERSION } from '../../version.ts';
import type { ChangeFeed } from '../changes/change-feed.ts';
import type { Keyring } from '../crypto/keyring.ts';
import type { Egress } from '../network/guarded-dispatcher.ts';
import { blockedCause, unreachableHostName } from '../network/guarded-dispatcher.ts';
import { ALLOWLIST_VARIABLE } from '../../egress-allowlist.ts';
import { unreachableHostMessage } from '../network/egress-policy.ts';
import { describeUpstreamFailure } from '../upstream/upstream-failure.ts';
import { retryDelayMs, type RetryPolicy } from './retry-schedule.ts';
import { openWebhookSecret, signedHeaders } from './webhook-signing.ts';

/**
 * Sends what the outbox holds, in every server process. Deliveries are claimed one attempt at a
 * time with a lease (see claimDueDeliveries), so replicas on one database send each event once;
 * a process that dies mid-attempt leaves a lease that runs out, and the event goes again (at
 * least once: receivers deduplicate by `webhook-id`). It wakes when this or another process
 * queues deliveries (a notification sent on the commit that queued them), when a retry falls due, and,
 * while any webhook exists, every half minute regardless (an event whose announcement was lost).
 * With no webhook and nothing due it sends no query at all. A database that is down only delays it.
 */
export type DeliveryWorker = {
  /** Something may be due now. */
  wake(): void;
  /** Stops claiming, cuts attempts in flight (their deliveries are due again at once) and waits for them. */
  close(): Promise<void>;
};

export type DeliveryWorkerDeps = {
  db: Db;
  keyring: Keyring;
  egress: Pick<Egress, 'fetch'>;
  logger: Logger;
  changes: ChangeFeed;
  retry: RetryPolicy;
  /** How long a receiver may take to answer. */
  timeoutMs: number;
};

const MAX_IN_FLIGHT = 16;
/** While webhooks exist, a missed notification costs at most this much delay. */
const POLL_MS = 30_000;
const RETRY_AFTER_DATABASE_ERROR_MS = 2_000;
/** Wakes within this much of each other share one look at the outbox. */
const WAKE_COALESCE_MS = 20;
/** Deliveries that ended are kept this long (for the deliveries API), then deleted, hourly. */
export const DELIVERY_RETENTION_MS = 30 * 24 * 3600_000;
const PRUNE_EVERY_MS = 3600_000;

export function startDeliveryWorker(deps: DeliveryWorkerDeps): DeliveryWorker {
  const { db, logger } = deps;
  const leaseMs = deps.timeoutMs + 30_000;
  const inFlight = new Map<Promise<void>, AbortController>();
  let timer: NodeJS.Timeout | undefined;
  let timerAt = Number.POSITIVE_INFINITY;
  let scanning: Promise<void> | undefined;
  let scanAgain = false;
  let closed = false;
  let databaseDown = false;
  let prunedAt = 0;

  function schedule(delayMs: number): void {
    if (closed) return;
    const at = Date.now() + delayMs;
    if (timer && timerAt <= at) return;
    clearTimeout(timer);
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      timerAt = Number.POSITIVE_INFINITY;
      scan();
    }, delayMs);
    timer.unref();
  }

  function scan(): void {
    if (closed) return;
    if (scanning) {
      scanAgain = true;
      return;
    }
    scanning = lookAtOutbox().finally(() => (scanning = undefined));
  }

  async function lookAtOutbox(): Promise<void> {
    let nextInMs: number | undefined;
    try {
      while (!closed && inFlight.size < MAX_IN_FLIGHT) {
        const wanted = MAX_IN_FLIGHT - inFlight.size;
        const claimed = await claimDueDeliveries(db, wanted, leaseMs);
        for (const delivery of claimed) {
          if (closed) await releaseClaim(db, { webhookId: delivery.webhook_id, eventId: delivery.event_id, attemptCount: delivery.attempt_count });
          else start(delivery);
        }
        if (claimed.length < wanted) break;
      }
      const { nextDueAt, hasWebhooks } = await outboxState(db);
      if (nextDueAt) nextInMs = Math.min(POLL_MS, Math.max(0, nextDueAt.getTime() - Date.now()));
      else if (hasWebhooks) nextInMs = POLL_MS;
      if (hasWebhooks && Date.now() - prunedAt > PRUNE_EVERY_MS) {
        prunedAt = Date.now();
        await deleteFinishedDeliveries(db, new Date(Date.now() - DELIVERY_RETENTION_MS));
      }
      if (databaseDown) logger.info('webhook deliveries resumed: the database answers again');
      databaseDown = false;
    } catch (error) {
      // The database is down or refused: look again shortly, and say so once per outage.
      if (!databaseDown) logger.warn({ err: { name: (error as Error)?.name, message: (error as Error)?.message } }, 'webhook deliveries paused: the database did not answer');
      databaseDown = true;
      nextInMs = RETRY_AFTER_DATABASE_ERROR_MS;
    }
    if (scanAgain) {
      scanAgain = false;
      nextInMs = 0;
    }
    if (nextInMs !== undefined) schedule(nextInMs);
  }

  function start(delivery: ClaimedDelivery): void {
    const controller = new AbortController();
    const attempt = deliver(delivery, controller.signal)
      .catch((error: unknown) => {
        // Recording failed (the database went away): the lease runs out and it is tried again.
        logger.warn({ webhookId: delivery.webhook_id, eventId: delivery.event_id, err: { message: (error as Error)?.message } }, 'could not record a webhook delivery attempt');
      })
      .finally(() => {
        inFlight.delete(attempt);
        // A slot is free: more may be waiting.
        if (!closed) schedule(0);
      });
    inFlight.set(attempt, controller);
  }

  async function deliver(delivery: ClaimedDelivery, stop: AbortSignal): Promise<void> {
    const ref = { webhookId: delivery.webhook_id, eventId: delivery.event_id, attemptCount: delivery.attempt_count };
    const attemptedAt = new Date();
    const started = performance.now();
    let responseStatus: number | null = null;
    let error: string | null = null;
    try {
      const secret = openWebhookSecret(deps.keyring, delivery.webhook_id, delivery.secret);
      const response = await deps.egress.fetch(delivery.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': `Switchboard-Webhooks/${SWITCHBOARD_VERSION}`,
          ...signedHeaders(secret, delivery.event_id, delivery.payload, attemptedAt),
        },
        body: delivery.payload,
        // A redirect is a failed attempt: following it would sign a request to a place nobody registered.
        redirect: 'manual',
        signal: AbortSignal.any([stop, AbortSignal.timeout(deps.timeoutMs)]),
      });
      responseStatus = response.status;
      // Only the status matters; what the receiver said is neither read nor kept.
      await response.body?.cancel().catch(() => {});
      if (responseStatus >= 300 && responseStatus < 400) error = `Redirected (HTTP ${responseStatus}): webhooks do not follow redirects`;
      else if (responseStatus < 200 || responseStatus >= 300) error = `The receiver answered HTTP ${responseStatus}`;
    } catch (caught) {
      if (stop.aborted) {
        // This process is stopping: the attempt does not count, and is due again at once.
        await releaseClaim(db, ref);
        return;
      }
      error = describeDeliveryFailure(caught, new URL(delivery.url), deps.timeoutMs);
    }
    const succeeded = error === null;
    const number = delivery.attempt_count + 1;
    const retryInMs = succeeded ? null : retryDelayMs(deps.retry, number);
    await recordAttempt(
      db,
      ref,
      { attempt: number, attemptedAt: attemptedAt.toISOString(), durationMs: Math.round(performance.now() - started), responseStatus, error },
      { succeeded, retryInMs },
    );
    // Ids and outcome only: the URL's path and query may hold what the app considers secret.
    const facts = { webhookId: delivery.webhook_id, eventId: delivery.event_id, eventType: delivery.event_type, attempt: number, responseStatus };
    if (succeeded) logger.info(facts, 'webhook delivered');
    else logger.info({ ...facts, error, retryInMs }, retryInMs === null ? 'webhook delivery failed for good' : 'webhook delivery failed; will retry');
  }

  deps.changes.subscribe({ onChange: (change) => change.kind === 'webhook_deliveries_queued' && schedule(WAKE_COALESCE_MS), onReset: () => schedule(0) });
  schedule(0);

  return {
    wake: () => schedule(WAKE_COALESCE_MS),
    async close() {
      closed = true;
      clearTimeout(timer);
      await scanning;
      for (const controller of inFlight.values()) controller.abort();
      await Promise.all(inFlight.keys());
    },
  };
}

/** Why a receiver could not be reached, naming its host only (its path and query may hold secrets). */
function describeDeliveryFailure(error: unknown, url: URL, timeoutMs: number): string {
  const unreachable = unreachableHostName(error);
  if (unreachable !== undefined) return unreachableHostMessage(unreachable || url.hostname, 'The receiver host');
  const blocked = blockedCause(error);
  if (blocked) return `The receiver address ${blocked.hostname} is a blocked (${blocked.kind}) address; set ${ALLOWLIST_VARIABLE} to allow it`;
  const failure = describeUpstreamFailure(error, url, timeoutMs);
  return failure.kind === 'failed' ? failure.message : `Could not deliver to ${url.host}`;
}
