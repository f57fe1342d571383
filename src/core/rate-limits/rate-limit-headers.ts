import type { RateLimitDecision } from './rate-limiter.ts';

/**
 * The headers every limited answer carries: `ratelimit-*` as in the IETF draft (limit, what is
 * left, seconds until the window ends), and on a refusal `retry-after` in whole seconds (at
 * least 1) plus `retry-after-ms`, which the official client prefers when present.
 */
export function rateLimitHeaders(decision: RateLimitDecision): Record<string, string> {
  const resetSeconds = String(Math.max(1, Math.ceil(decision.resetMs / 1000)));
  const headers: Record<string, string> = {
    'ratelimit-limit': String(decision.limit),
    'ratelimit-remaining': String(Math.max(0, decision.remaining)),
    'ratelimit-reset': resetSeconds,
  };
  return decision.allowed ? headers : { ...headers, ...retryAfterHeaders(decision.resetMs) };
}

/** `retry-after` in whole seconds (at least 1), and `retry-after-ms`, which the official client prefers. */
export function retryAfterHeaders(waitMs: number): Record<string, string> {
  return { 'retry-after': String(Math.max(1, Math.ceil(waitMs / 1000))), 'retry-after-ms': String(Math.max(1, Math.ceil(waitMs))) };
}

export function rateLimitedMessage(decision: RateLimitDecision): string {
  return `Rate limit exceeded: ${decision.limit} requests per window; try again in ${Math.max(1, Math.ceil(decision.resetMs / 1000))} s`;
}
