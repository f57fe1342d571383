/**
 * When a failed delivery is tried again. With the default base of 10 s the waits after each
 * failed attempt are 10 s, 1 min, 5 min, 30 min, 2 h, 5 h and 10 h (about 18 h in all), each
 * lengthened by up to 20% at random so that receivers coming back are not hit by every retry
 * at once. Never earlier than the schedule says.
 */
const MULTIPLIERS = [1, 6, 30, 180, 720, 1800, 3600] as const;
const JITTER = 0.2;

export type RetryPolicy = { baseMs: number; maxAttempts: number };

/** How long to wait after failed attempt number `attempt` (1-based); null: that was the last one. */
export function retryDelayMs(policy: RetryPolicy, attempt: number, random: () => number = Math.random): number | null {
  if (attempt >= policy.maxAttempts) return null;
  const multiplier = MULTIPLIERS[Math.min(attempt, MULTIPLIERS.length) - 1]!;
  return Math.round(policy.baseMs * multiplier * (1 + JITTER * random()));
}
