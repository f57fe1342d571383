import { ApiError } from './errors.ts';

export type Query = Record<string, string | number | undefined>;

export type HttpClient = {
  /** The server's address, without credentials: what error messages may name. */
  readonly origin: string;
  request<T>(method: 'GET' | 'POST' | 'PUT' | 'DELETE', path: string, options?: { query?: Query; body?: unknown }): Promise<T>;
};

/** Encodes one path segment (namespace, connection id, tool name: `github/x` becomes `github%2Fx`). */
export const segment = (value: string) => encodeURIComponent(value);

/** The URL without any user:password part, safe to print. */
function printable(url: URL): string {
  const copy = new URL(url);
  copy.username = '';
  copy.password = '';
  return copy.href;
}

/**
 * A plain-fetch client for Switchboard's REST API. Every non-2xx answer becomes an ApiError
 * naming the status and the `{error, message}` the server sent; a network failure names the URL.
 * The API key goes only into the Authorization header, never into a message.
 */
export function createHttpClient(options: { baseUrl: string; apiKey: string; timeoutMs: number }): HttpClient {
  const base = options.baseUrl.replace(/\/+$/, '');
  return {
    origin: printable(new URL(base)),
    async request<T>(method: string, path: string, { query, body }: { query?: Query; body?: unknown } = {}): Promise<T> {
      const url = new URL(`${base}${path}`);
      for (const [name, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.append(name, String(value));
      const headers: Record<string, string> = { authorization: `Bearer ${options.apiKey}`, accept: 'application/json' };
      if (body !== undefined) headers['content-type'] = 'application/json';
      let response: Response;
      try {
        response = await fetch(url, {
          method,
          headers,
          ...(body === undefined ? {} : { body: JSON.stringify(body) }),
          signal: AbortSignal.timeout(options.timeoutMs),
        });
      } catch (error) {
        throw new ApiError(`cannot reach ${printable(url)}: ${describeNetworkError(error, options.timeoutMs)}`);
      }
      const text = await response.text();
      let parsed: unknown;
      try {
        parsed = text === '' ? undefined : JSON.parse(text);
      } catch {
        parsed = undefined;
      }
      if (!response.ok) {
        const { error, message } = (parsed ?? {}) as { error?: unknown; message?: unknown };
        if (typeof error === 'string' && typeof message === 'string') {
          throw new ApiError(`${response.status} ${error}: ${message}`, response.status, error);
        }
        throw new ApiError(`${response.status} ${response.statusText || 'error'} from ${printable(url)} (not a Switchboard answer)`, response.status);
      }
      if (parsed === undefined) throw new ApiError(`${response.status} from ${printable(url)} is not JSON (is --url a Switchboard server?)`, response.status);
      return parsed as T;
    },
  };
}

function describeNetworkError(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${Math.round(timeoutMs / 1000)} s`;
  // undici puts the system error (ECONNREFUSED, ENOTFOUND, …) in `cause`.
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  return cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
}
