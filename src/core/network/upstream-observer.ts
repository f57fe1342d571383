export type UpstreamOutcome = { status: number } | { error: 'timeout' | 'network' | 'aborted' };

/**
 * Hears outbound calls: `start` as one is sent, and the function it returns once, when the
 * response headers arrived or the call failed. It gets the URL for its host only: paths and
 * query strings may carry credentials (query config) and stay out of metrics and traces.
 */
export type UpstreamCallObserver = {
  start(url: URL, method: string): (outcome: UpstreamOutcome) => void;
};

/** What kind of failure an outbound call met, for a bounded label. */
export function classifyUpstreamError(error: unknown): 'timeout' | 'network' | 'aborted' {
  const { name, code } = (error ?? {}) as { name?: unknown; code?: unknown };
  const cause = (error as { cause?: { code?: unknown; name?: unknown } } | null)?.cause;
  const codes = [code, cause?.code];
  if (name === 'TimeoutError' || codes.some((c) => typeof c === 'string' && c.includes('TIMEOUT'))) return 'timeout';
  if (name === 'AbortError' || cause?.name === 'AbortError' || codes.includes('UND_ERR_ABORTED')) return 'aborted';
  return 'network';
}
