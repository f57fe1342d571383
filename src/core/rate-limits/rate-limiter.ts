import type { Db } from '../../db/open.ts';
import { deleteEndedRateLimitWindows, leaseRateLimit, type RateLimitLease } from '../../db/queries/rate-limits.ts';
import type { Logger } from '../../logger.ts';
import type { Principal } from '../auth/authenticate.ts';

export type RateLimitSettings = Readonly<{
  /** Requests per window for each API key; 0 = unlimited. */
  apiKeyPerWindow: number;
  /** Requests per window for each service token (with every token derived from it); 0 = unlimited. */
  tokenPerWindow: number;
  windowMs: number;
}>;

export type RateLimitDecision = Readonly<{
  allowed: boolean;
  limit: number;
  /** This process's estimate of what is left in the window, every replica included. */
  remaining: number;
  /** Milliseconds until the window ends (when a refused caller may try again). */
  resetMs: number;
}>;

export type RateLimiter = {
  /**
   * Spends one request of the principal's budget. `undefined` when no limit is in force (the
   * hot path then pays nothing); a plain decision while this process holds leased budget or
   * knows the window is spent; a promise only when it must lease from the database.
   */
  check(principal: Principal): RateLimitDecision | Promise<RateLimitDecision> | undefined;
};

/** Per subject and window, what this process knows. */
type Window = {
  limit: number;
  /** Local clock; 0 until the first lease. */
  endsAt: number;
  /** Leased to this process and not yet spent. */
  held: number;
  /** The subject's whole leased count (every process) at our last lease, capped at the limit. */
  claimed: number;
  /** The database said the window is spent: refuse without asking again until it ends. */
  spent: boolean;
  leasing?: Promise<void>;
};

/** A lease is one chunk: one query per ~5% of the budget, whatever the request rate. */
export function chunkFor(limit: number): number {
  return Math.max(1, Math.floor(limit / 20));
}

/** While the database cannot lease, requests pass (availability over strictness) and it is retried this often. */
const RETRY_DATABASE_MS = 1_000;
const LEASE_TIMEOUT_MS = 2_000;

/**
 * Fixed windows per subject, shared by every process on the database: each process leases
 * budget in chunks with one atomic upsert and spends it locally, so the hot path makes no
 * query for 19 requests out of 20 (and none at all when unlimited). The database never grants
 * more than the limit in a window; a chunk leased by a process that then stops seeing the
 * subject stays unspent until the window ends (at most a chunk less than the limit elsewhere).
 */
export function createRateLimiter(
  db: Db,
  settings: RateLimitSettings,
  logger: Logger,
  options: { now?: () => number; lease?: typeof leaseRateLimit } = {},
): RateLimiter {
  const now = options.now ?? Date.now;
  const lease = options.lease ?? leaseRateLimit;
  const windows = new Map<string, Window>();
  let nextSweep = 0;
  let databaseDownUntil = 0;
  let failingOpen = false;

  function sweep(at: number): void {
    nextSweep = at + settings.windowMs;
    for (const [subject, window] of windows) if (window.endsAt <= at && !window.leasing) windows.delete(subject);
    // Rows of subjects gone quiet: any process may clear them; one sweep per window per process.
    deleteEndedRateLimitWindows(db, settings.windowMs).catch(() => {});
  }

  function decide(window: Window, allowed: boolean, at: number): RateLimitDecision {
    return {
      allowed,
      limit: window.limit,
      remaining: allowed ? window.limit - window.claimed + window.held : 0,
      // Before any lease (the database failing), a whole window is the honest guess.
      resetMs: window.endsAt === 0 ? settings.windowMs : Math.max(0, window.endsAt - at),
    };
  }

  async function leaseInto(subject: string, window: Window): Promise<void> {
    const amount = Math.min(chunkFor(window.limit), window.limit);
    let leased: RateLimitLease;
    try {
      leased = await withTimeout(lease(db, { subject, amount, windowMs: settings.windowMs }), LEASE_TIMEOUT_MS);
    } catch (error) {
      databaseDownUntil = now() + RETRY_DATABASE_MS;
      if (!failingOpen) {
        failingOpen = true;
        logger.warn({ err: { message: (error as Error).message } }, 'rate limits not enforced: the database could not lease budget');
      }
      return;
    }
    if (failingOpen) {
      failingOpen = false;
      logger.info('rate limits enforced again');
    }
    const at = now();
    const before = leased.used - amount;
    window.endsAt = at + leased.resetMs;
    window.held = Math.max(0, Math.min(amount, window.limit - before));
    window.claimed = Math.min(window.limit, leased.used);
    window.spent = leased.used >= window.limit;
  }

  async function leaseThenTake(subject: string, window: Window): Promise<RateLimitDecision> {
    for (;;) {
      window.leasing ??= leaseInto(subject, window).finally(() => (window.leasing = undefined));
      await window.leasing;
      const at = now();
      if (window.held > 0) {
        window.held--;
        return decide(window, true, at);
      }
      if (window.spent) return decide(window, false, at);
      // The database failed: let the request through.
      if (at < databaseDownUntil) return decide(window, true, at);
      // Requests waiting on the same lease took it all: lease again.
    }
  }

  function take(subject: string, limit: number): RateLimitDecision | Promise<RateLimitDecision> {
    const at = now();
    if (at >= nextSweep) sweep(at);
    let window = windows.get(subject);
    if (window === undefined || (at >= window.endsAt && !window.leasing)) {
      window = { limit, endsAt: 0, held: 0, claimed: 0, spent: false };
      windows.set(subject, window);
    }
    if (window.held > 0) {
      window.held--;
      return decide(window, true, at);
    }
    if (window.spent) return decide(window, false, at);
    if (at < databaseDownUntil) return decide(window, true, at);
    return leaseThenTake(subject, window);
  }

  return {
    check(principal) {
      if (principal.kind === 'account') {
        return settings.apiKeyPerWindow > 0 ? take(`key:${principal.apiKeyId}`, settings.apiKeyPerWindow) : undefined;
      }
      // The root id: anyone may append a block to a token offline, and a fresh id must not
      // mean a fresh budget.
      return settings.tokenPerWindow > 0 ? take(`token:${principal.tokenIds[0]}`, settings.tokenPerWindow) : undefined;
    },
  };
}

function withTimeout<T>(promise: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms);
    timer.unref();
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}
