import dns, { type LookupAddress } from 'node:dns';
import { isIP, type LookupFunction } from 'node:net';
import { Agent, buildConnector, fetch as undiciFetch } from 'undici';
import type { Logger } from '../../logger.ts';
import { lostToKeepAliveRace, noticingUsedSockets } from './keep-alive-race.ts';
import { classifyUpstreamError, type UpstreamCallObserver } from './upstream-observer.ts';
import type { EgressAllowlist } from '../../egress-allowlist.ts';
import { checkAddress, checkResolvedHost, EgressBlockedError } from './egress-policy.ts';

/** undici's connector: how a Pool or Agent opens its sockets. */
export type EgressConnector = buildConnector.connector;

/**
 * Every outbound request to a user-supplied URL goes through here. The check runs at the
 * moment of connecting, on the addresses actually connected to — so a DNS answer that changes
 * between a check and the connection (rebinding), or a redirect to another host, cannot slip
 * past it: each new connection, whatever led to it, is judged anew.
 */
export type Egress = {
  readonly allowlist: EgressAllowlist;
  /** For undici Pools and Clients (`connect` option). */
  readonly connect: EgressConnector;
  /** undici's fetch over the guarded connector; every redirect hop connects through it too. */
  readonly fetch: typeof globalThis.fetch;
  /** Hears every outbound call (metrics, traces); `fetch` reports on its own, undici Pools must call it. */
  readonly observer?: UpstreamCallObserver;
  close(): Promise<void>;
};

/**
 * A DNS lookup that resolves every address of the name and refuses them all if any is
 * refused on `port`; otherwise answers as net.connect asked (one address, or all for happy eyeballs).
 */
function guardedLookup(allowlist: EgressAllowlist, port: number, log?: RefusalLog): LookupFunction {
  return (hostname, options, callback) => {
    dns.lookup(hostname, { ...options, all: true }, (error, addresses: LookupAddress[]) => {
      if (error) return callback(error, '', 0);
      const verdict = checkResolvedHost(hostname, port, addresses.map((a) => a.address), allowlist);
      if (!verdict.allowed) {
        const refusal = new EgressBlockedError(hostname, verdict.kind);
        // The tenant reads "could not be reached"; the operator learns why (a host name and port, no path).
        log?.warn({ host: refusal.hostname, port, kind: verdict.kind }, `egress refused: ${refusal.detail}`);
        return callback(refusal, '', 0);
      }
      if (options.all) return (callback as unknown as (e: null, all: LookupAddress[]) => void)(null, addresses);
      const first = addresses[0];
      if (!first) return callback(Object.assign(new Error(`No address for ${hostname}`), { code: 'ENOTFOUND' }), '', 0);
      callback(null, first.address, first.family);
    });
  };
}

type RefusalLog = Pick<Logger, 'warn'>;

export function createGuardedConnector(allowlist: EgressAllowlist, options: { timeoutMs?: number; logger?: RefusalLog } = {}): EgressConnector {
  // net.connect tells its lookup the name but not the port: one connector per port reached,
  // each with a lookup that knows its port (a handful in practice).
  const byPort = new Map<number, EgressConnector>();
  const connectorFor = (port: number) => {
    let connector = byPort.get(port);
    if (!connector) {
      connector = buildConnector({ lookup: guardedLookup(allowlist, port, options.logger), ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}) });
      byPort.set(port, connector);
    }
    return connector;
  };
  return (target, callback) => {
    const port = Number(target.port) || (target.protocol === 'https:' ? 443 : 80);
    // net.connect never looks up an IP literal: judge it here.
    if (isIP(target.hostname)) {
      const verdict = checkAddress(target.hostname, port, allowlist);
      if (!verdict.allowed) {
        process.nextTick(callback, new EgressBlockedError(target.hostname, verdict.kind), null);
        return;
      }
    }
    return connectorFor(port)(target, callback);
  };
}

export function createEgress(allowlist: EgressAllowlist, options: { logger?: RefusalLog } = {}): Egress {
  const connect = createGuardedConnector(allowlist, options);
  const dispatcher = new Agent({ connect: noticingUsedSockets(connect) });
  const fetchOnce = async (input: string | URL | Request, init?: RequestInit) =>
    asGlobalResponse(await undiciFetch(input as Parameters<typeof undiciFetch>[0], { ...(init as object), dispatcher }));
  const guardedFetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    try {
      return await fetchOnce(input, init);
    } catch (error) {
      // Sent again, once, when a kept-alive connection was closed under it (see keep-alive-race.ts).
      const retried = lostToKeepAliveRace((error as Error).cause) && replayable(input, init) ? await fetchOnce(input, init).catch(() => undefined) : undefined;
      if (retried) return retried;
      // fetch wraps connection errors in TypeError("fetch failed"); the MCP SDK reads a
      // TypeError during discovery as a CORS failure and moves on, so a refusal is rethrown as itself.
      throw blockedCause(error) ?? error;
    }
  };
  return {
    allowlist,
    connect,
    fetch: guardedFetch as typeof globalThis.fetch,
    async close() {
      await dispatcher.destroy();
    },
  };
}

/** Whether the request can be sent again as it was: its body is not a stream read by the first try. */
function replayable(input: string | URL | Request, init?: RequestInit): boolean {
  if (typeof input !== 'string' && !(input instanceof URL)) return false;
  const body = init?.body;
  return body === undefined || body === null || typeof body === 'string' || body instanceof URLSearchParams || body instanceof Uint8Array || body instanceof ArrayBuffer;
}

/**
 * undici's Response is not Node's global one (Node bundles another undici), and the MCP SDK
 * tells a Response from a string with `instanceof Response`: hand it a global Response over
 * the same body stream, keeping where the response came from.
 */
function asGlobalResponse(response: Awaited<ReturnType<typeof undiciFetch>>): Response {
  const wrapped = new Response(response.body as ReadableStream<Uint8Array> | null, {
    status: response.status,
    statusText: response.statusText,
    headers: response.headers as unknown as Headers,
  });
  Object.defineProperties(wrapped, { url: { value: response.url }, redirected: { value: response.redirected } });
  return wrapped;
}

/** The egress refusal behind an error, if that is what it is. */
export function blockedCause(error: unknown): EgressBlockedError | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    if (current instanceof EgressBlockedError) return current;
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

const LOOKUP_FAILURES = new Set(['ENOTFOUND', 'EAI_AGAIN', 'EAI_NODATA', 'EAI_NONAME']);

/**
 * The host name behind an error that must read as "could not be reached": a name the guard
 * refused after DNS, or a name DNS did not resolve ('' when the lookup error does not say
 * which). undefined for anything else, IP-literal refusals included.
 */
export function unreachableHostName(error: unknown): string | undefined {
  let current: unknown = error;
  for (let depth = 0; current && depth < 6; depth++) {
    if (current instanceof EgressBlockedError) return isIP(normalizeIp(current.hostname)) ? undefined : current.hostname;
    const { code, hostname } = current as { code?: unknown; hostname?: unknown };
    if (typeof code === 'string' && LOOKUP_FAILURES.has(code)) return typeof hostname === 'string' ? hostname : '';
    current = (current as { cause?: unknown }).cause;
  }
  return undefined;
}

function normalizeIp(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
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
