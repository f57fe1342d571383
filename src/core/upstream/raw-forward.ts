import type { ConnectionRecord } from '../connections/connection-store.ts';
import type { OAuthChallenge } from '../oauth/oauth-state.ts';
import { challengeOf } from './upstream-failure.ts';
import { readSmallBody, type AbortSource, type UpstreamHttp, type UpstreamResponse } from './upstream-http.ts';
import type { SessionWire } from './upstream-session.ts';
import { withEnvelope2026 } from './envelope-2026.ts';

/**
 * One raw HTTP exchange with an upstream on a session: a client's message as bytes (POST), or
 * the session's standalone stream (GET). No policy here: the gateway decides the bearer, and
 * what to do about a lost session or a refused token (gateway.ts).
 */

/** What the upstream answered: a response still to be streamed, one already read whole, or a demand for authorization. */
export type UpstreamAnswer =
  | { kind: 'stream'; response: UpstreamResponse }
  | { kind: 'read'; status: number; contentType: string | undefined; body: Buffer }
  | { kind: 'auth_required'; challenge: OAuthChallenge }
  | { kind: 'insufficient_scope'; challenge: OAuthChallenge };

export type OutgoingMessage = {
  /**
   * The parsed message, exactly as the token's policies judged it. It is serialized again
   * rather than the client's bytes forwarded: a parser that reads JSON differently (the first
   * of duplicate keys, say) must not see a different request from the one that was allowed.
   */
  json: unknown;
  /** Set for requests and notifications; responses to the server's own requests have none. */
  call?: { method: string; params: Record<string, unknown> | undefined };
};

export type RawExchange = {
  http: UpstreamHttp;
  timeoutMs: number;
  /** The longest silence within the answer's body when not `timeoutMs`: 0 for none (see upstream-http.ts). */
  bodyTimeoutMs?: number;
  signal: AbortSource;
};

/**
 * What every request on the session carries: the stored credentials, the bearer, the session's
 * id and version. The client's own headers (Authorization above all) never go along.
 */
function sessionHeaders(session: SessionWire, connection: ConnectionRecord, bearer: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...connection.credentials, 'mcp-protocol-version': session.protocolVersion };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
  return headers;
}

export async function postMessage(
  session: SessionWire,
  connection: ConnectionRecord,
  message: OutgoingMessage,
  bearer: string | undefined,
  exchange: RawExchange,
): Promise<UpstreamAnswer> {
  const headers: Record<string, string> = {
    ...sessionHeaders(session, connection, bearer),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  let json = message.json;
  if (session.era === 'stateless-2026' && message.call) {
    const enveloped = withEnvelope2026(message.json, message.call, session.protocolVersion);
    json = enveloped.body;
    Object.assign(headers, enveloped.headers);
  }
  const body = Buffer.from(JSON.stringify(json), 'utf8');
  const response = await exchange.http.send({
    url: session.url,
    method: 'POST',
    headers,
    body,
    timeoutMs: exchange.timeoutMs,
    ...(exchange.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: exchange.bodyTimeoutMs } : {}),
    signal: exchange.signal,
    connect: session.egress.connect,
    observer: session.egress.observer,
  });
  const status = response.statusCode;
  if (status === 401 || status === 403) {
    const challenge = challengeOf(new Response(null, { headers: { 'www-authenticate': String(response.headers['www-authenticate'] ?? '') } }));
    if (status === 401) {
      response.body.resume();
      return { kind: 'auth_required', challenge };
    }
    if (challenge.error === 'insufficient_scope') {
      response.body.resume();
      return { kind: 'insufficient_scope', challenge };
    }
  }
  // Small error answers are read here: they may say the session is gone.
  if (status === 404 || status === 400 || status === 403) {
    const contentType = response.headers['content-type'];
    return { kind: 'read', status, contentType: typeof contentType === 'string' ? contentType : undefined, body: await readSmallBody(response.body) };
  }
  return { kind: 'stream', response };
}

/** Opens the session's standalone stream (GET), resuming after `lastEventId` where the upstream can. */
export function getSessionStream(
  session: SessionWire,
  connection: ConnectionRecord,
  bearer: string | undefined,
  lastEventId: string | undefined,
  exchange: RawExchange,
): Promise<UpstreamResponse> {
  return exchange.http.send({
    url: session.url,
    method: 'GET',
    headers: { ...sessionHeaders(session, connection, bearer), accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
    timeoutMs: exchange.timeoutMs,
    // Quiet for hours is normal for this stream: it ends when the client or the session does.
    bodyTimeoutMs: 0,
    signal: exchange.signal,
    connect: session.egress.connect,
    observer: session.egress.observer,
  });
}

/**
 * Terminates the session upstream (DELETE), for a session this process holds no SDK client for
 * (another replica opened it). Any answer will do: the session is over for Switchboard either way.
 */
export async function deleteSession(session: SessionWire, connection: ConnectionRecord, bearer: string | undefined, exchange: RawExchange): Promise<number> {
  const response = await exchange.http.send({
    url: session.url,
    method: 'DELETE',
    headers: sessionHeaders(session, connection, bearer),
    timeoutMs: exchange.timeoutMs,
    signal: exchange.signal,
    connect: session.egress.connect,
    observer: session.egress.observer,
  });
  response.body.resume();
  return response.statusCode;
}
