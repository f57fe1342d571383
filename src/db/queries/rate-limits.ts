import { sql } from 'kysely';
import type { Db } from '../open.ts';

export type RateLimitLease = {
  /** Requests leased in the window so far, this lease included; may pass the limit. */
  used: number;
  /** Milliseconds until the window ends, by the database's clock. */
  resetMs: number;
};

/**
 * Leases `amount` requests of `subject`'s current window in one atomic statement: the row
 * lock of the upsert orders concurrent leases from every process, and a window that has ended
 * starts afresh at this lease. `used` counts what was asked for, so a lease may carry it past
 * the limit; the caller keeps only the part below it.
 */
export async function leaseRateLimit(db: Db, lease: { subject: string; amount: number; windowMs: number }): Promise<RateLimitLease> {
  const window = sql`(${lease.windowMs}::integer * interval '1 millisecond')`;
  const result = await sql<{ used: number; reset_ms: number | string }>`
    insert into rate_limit_windows as w (subject, window_start, used)
    values (${lease.subject}, now(), ${lease.amount}::integer)
    on conflict (subject) do update set
      window_start = case when w.window_start + ${window} <= now() then now() else w.window_start end,
      used = case when w.window_start + ${window} <= now() then excluded.used else w.used + excluded.used end
    returning used, ceil(extract(epoch from (window_start + ${window} - now())) * 1000) as reset_ms`.execute(db);
  const row = result.rows[0]!;
  return { used: row.used, resetMs: Number(row.reset_ms) };
}

/** Deletes windows that ended at least one window length ago (a later lease would restart them anyway). */
export async function deleteEndedRateLimitWindows(db: Db, windowMs: number): Promise<number> {
  const result = await db
    .deleteFrom('rate_limit_windows')
    .where('window_start', '<', sql<Date>`now() - (${2 * windowMs}::integer * interval '1 millisecond')`)
    .executeTakeFirst();
  return Number(result.numDeletedRows);
}
