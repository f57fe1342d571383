import type { EventEmitter } from 'node:events';
import type { Readable } from 'node:stream';
import { Pool } from 'undici';
import type { EgressConnector } from '../network/guarded-dispatcher.ts';
import { lostToKeepAliveRace, noticingUsedSockets } from '../network/keep-alive-race.ts';
import { classifyUpstreamError, type UpstreamCallObserver } from '../network/upstream-observer.ts';

/**
 * What aborts an upstream request: an AbortSignal, or (as undici also accepts) any emitter of
 * an `abort` event, which costs far less to make on every proxied call.
 */
export type AbortSource = AbortSignal | EventEmitter;

/** Whether `source` has aborted by now: an AbortSignal says so; an emitter is listened to from here on. */
export function abortHeard(source: AbortSource): { (): boolean; stop(): void } {
  if ('aborted' in source && typeof source.aborted === 'boolean') {
    const signal = source;
    return Object.assign(() => signal.aborted, { stop() {} });
  }
  const emitter = source as EventEmitter;
  let heard = false;
  const hear = () => (heard = true);
  emitter.once('abort', hear);
  return Object.assign(() => heard, { stop: () => void emitter.off('abort', hear) });
}

export type UpstreamRequest = {
  url: URL;
  method: 'POST' | 'GET' | 'DELETE';
  headers: Record<string, string>;
  body?: Buffer;
  /**
   * The longest the upstream may stay silent: until the response headers arrive, and then
   * between chunks of the body (a tool may stream progress for as long as it runs).
   */
  timeoutMs: number;
  /** The longest silence between chunks of the body, when not `timeoutMs`: 0 for none (a session's GET stream may idle for long). */
  bodyTimeoutMs?: number;
  /** Aborts the request, e.g. when the client went away. */
  signal?: AbortSource;
  /** Opens the connections: the egress guard, which refuses addresses Switchboard may not reach. */
  connect: EgressConnector;
  /** Hears the call (metrics, traces). */
  observer?: UpstreamCallObserver;
};

export type UpstreamResponse = {
  statusCode: number;
  headers: Record<string, string | string[] | undefined>;
  body: Readable;
};

/** Sends requests upstream over pools this instance owns, and closes them: see createUpstreamHttp. */
export type UpstreamHttp = {
  send(request: UpstreamRequest): Promise<UpstreamResponse>;
  /** Closes this instance's pools (never another instance's): requests in flight finish first. */
  close(): Promise<void>;
};

const MAX_POOLS = 10_000;

/**
 * The forwarding hot path's HTTP client: undici connection pools, one per upstream origin,
 * kept alive — measurably cheaper per request than node:http's ClientRequest. The response
 * body is handed over unread, so a stream (SSE) flows through as it arrives. Each gateway
 * makes its own: two service instances in one process (tests, an embedding host) never share
 * or close each other's sockets.
 */
export function createUpstreamHttp(): UpstreamHttp {
  const pools = new Map<string, Pool>();
  // Pools are per egress policy too: a socket opened under one policy never serves another's request.
  const connectorIds = new WeakMap<EgressConnector, number>();
  let connectorCount = 0;

  function poolFor(origin: string, connect: EgressConnector): Pool {
    let id = connectorIds.get(connect);
    if (id === undefined) connectorIds.set(connect, (id = connectorCount++));
    const key = `${id} ${origin}`;
    let pool = pools.get(key);
    if (!pool) {
      if (pools.size >= MAX_POOLS) {
        const [oldest, stale] = pools.entries().next().value as [string, Pool];
        pools.delete(oldest);
        void stale.close();
      }
      pool = new Pool(origin, { connections: 256, keepAliveTimeout: 60_000, pipelining: 1, connect: noticingUsedSockets(connect) });
      pools.set(key, pool);
    }
    return pool;
  }

  async function sendThroughPool(request: UpstreamRequest): Promise<UpstreamResponse> {
    const pool = poolFor(request.url.origin, request.connect);
    const options = {
      path: `${request.url.pathname}${request.url.search}`,
      method: request.method,
      headers: request.headers,
      body: request.body,
      signal: request.signal,
      headersTimeout: request.timeoutMs,
      bodyTimeout: request.bodyTimeoutMs ?? request.timeoutMs,
    };
    try {
      const { statusCode, headers, body } = await pool.request(options);
      return { statusCode, headers, body };
    } catch (error) {
      if (!lostToKeepAliveRace(error)) throw error;
      // Sent again on a fresh connection, as browsers do in the same case. If that fails too,
      // the upstream went away (killed mid-call, say): the first failure tells what happened.
      const retried = await pool.request(options).catch(() => undefined);
      if (!retried) throw error;
      return { statusCode: retried.statusCode, headers: retried.headers, body: retried.body };
    }
  }

  return {
    async send(request) {
      if (!request.observer) return sendThroughPool(request);
      const done = request.observer.start(request.url, request.method);
      try {
        const response = await sendThroughPool(request);
        done({ status: response.statusCode });
        return response;
      } catch (error) {
        done({ error: classifyUpstreamError(error) });
        throw error;
      }
    },
    async close() {
      const all = [...pools.values()];
      pools.clear();
      await Promise.all(all.map((pool) => pool.close().catch(() => {})));
    },
  };
}

/** Reads a small body whole (error answers), refusing more than `limit` bytes. */
export async function readSmallBody(body: Readable, limit = 64 * 1024): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of body as AsyncIterable<Buffer>) {
    size += chunk.length;
    if (size > limit) {
      // undici errors a body destroyed before its end: heard here, so it cannot go unhandled.
      body.on('error', () => {});
      body.destroy();
      throw Object.assign(new Error('Upstream reply too large'), { code: 'UPSTREAM_TOO_LARGE' });
    }
    chunks.push(chunk);
  }
  return Buffer.concat(chunks);
}
