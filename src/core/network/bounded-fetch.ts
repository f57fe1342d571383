import type { FetchLike } from '@modelcontextprotocol/client';
import { createReplyGuards, UpstreamReplyTooLargeError } from '../upstream/reply-guards.ts';

/**
 * OAuth discovery, registration, token and revocation requests go to hosts a tenant's MCP
 * server names. The SDK reads their answers whole, so each request gets a deadline that also
 * covers reading the body (an aborted signal errors undici's body stream) and a byte cap
 * (their answers are small JSON): a server that trickles forever or sends gigabytes costs a
 * bounded time and memory.
 */
export const MAX_OAUTH_REPLY_BYTES = 1024 * 1024;

export function boundedFetch(inner: FetchLike, limits: { timeoutMs: number; maxBytes: number }): FetchLike {
  const counted = createReplyGuards(limits.maxBytes).fetch(inner);
  return (input, init) => {
    const deadline = AbortSignal.timeout(limits.timeoutMs);
    const signal = init?.signal ? AbortSignal.any([init.signal, deadline]) : deadline;
    return counted(input, { ...init, signal });
  };
}

/** Plain words for a request the bounds above gave up on, if it is one. */
export function describeBoundedFetchFailure(error: unknown): string | undefined {
  if (error instanceof UpstreamReplyTooLargeError) return `its answer is larger than ${Math.round(error.limitBytes / 1024)} KiB`;
  if ((error as Error | undefined)?.name === 'TimeoutError') return 'it did not answer in time';
  return undefined;
}
