import type { Egress } from './guarded-dispatcher.ts';

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

/** `egress` with its fetch reported to `observer` (and the observer handed on to undici Pool users). */
export function observedEgress(egress: Egress, observer: UpstreamCallObserver | undefined): Egress {
  if (!observer) return egress;
  const inner = egress.fetch;
  const fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = input instanceof URL ? input : new URL(typeof input === 'string' ? input : input.url);
    const method = init?.method ?? (input instanceof Request ? input.method : 'GET');
    const done = observer.start(url, method.toUpperCase());
    try {
      const response = await inner(input, init);
      done({ status: response.status });
      return response;
    } catch (error) {
      done({ error: classifyUpstreamError(error) });
      throw error;
    }
  };
  return {
    allowlist: egress.allowlist,
    connect: egress.connect,
    fetch: fetch as typeof globalThis.fetch,
    observer,
    close: () => egress.close(),
  };
}
