import type { ConnectionRecord } from '../core/connections/connection-store.ts';
import { AuthorizationRequiredError, type OAuthChallenge } from '../core/oauth/oauth-state.ts';
import type { OAuthTokenKeeper } from '../core/oauth/oauth-tokens.ts';
import { challengeOf, isSessionLoss } from '../core/upstream/upstream-failure.ts';
import { readSmallBody, sendUpstream, type AbortSource, type UpstreamResponse } from '../core/upstream/upstream-http.ts';
import type { UpstreamPool } from '../core/upstream/upstream-pool.ts';
import type { UpstreamSession } from '../core/upstream/upstream-session.ts';
import { toModernRequest } from './modern-envelope.ts';

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

type Deps = {
  pool: UpstreamPool;
  oauth: OAuthTokenKeeper;
  /**
   * The client's own upstream session (client-sessions.ts), instead of the pooled one. It is
   * never renewed behind the client's back: what it held (log level, subscriptions) would be
   * lost unseen, so the upstream's 404 reaches the client, which initializes again.
   */
  own?: UpstreamSession;
};
type Options = {
  timeoutMs: number;
  /** The longest silence within the answer's body when not `timeoutMs`: 0 for none (see upstream-http.ts). */
  bodyTimeoutMs?: number;
  signal: AbortSource;
};

/**
 * Sends one client message to the upstream on the connection's session, with the stored
 * credentials (and OAuth bearer), the session's id and protocol version; the client's own
 * headers (Authorization above all) never go along. If the upstream no longer knows the
 * session, a fresh one is opened; if it refuses the access token, the token is refreshed
 * (once across all processes); either way the message is sent once more.
 */
export async function forwardMessage(
  deps: Deps,
  connection: ConnectionRecord,
  message: OutgoingMessage,
  options: Options,
): Promise<{ session: UpstreamSession; answer: UpstreamAnswer }> {
  let session = deps.own ?? (await deps.pool.session(connection));
  let bearer = await deps.oauth.bearerFor(connection);
  let answer = await send(session, connection, message, bearer, options);
  if (!deps.own && answer.kind === 'read' && session.sessionId && isSessionLoss(answer.status, answer.body.toString('utf8'))) {
    session = await deps.pool.renew(connection, session);
    answer = await send(session, connection, message, bearer, options);
  }
  if (answer.kind === 'auth_required' && bearer) {
    try {
      bearer = await deps.oauth.refreshAfterRejection(connection, bearer);
    } catch (error) {
      if (error instanceof AuthorizationRequiredError) return { session, answer };
      throw error;
    }
    answer = await send(session, connection, message, bearer, options);
  }
  return { session, answer };
}

/** What every request on the session carries: the stored credentials, the bearer, the session's id and version. */
export function sessionHeaders(session: UpstreamSession, connection: ConnectionRecord, bearer: string | undefined): Record<string, string> {
  const headers: Record<string, string> = { ...connection.credentials, 'mcp-protocol-version': session.protocolVersion };
  if (bearer) headers.authorization = `Bearer ${bearer}`;
  if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
  return headers;
}

async function send(
  session: UpstreamSession,
  connection: ConnectionRecord,
  message: OutgoingMessage,
  bearer: string | undefined,
  options: Options,
): Promise<UpstreamAnswer> {
  const headers: Record<string, string> = {
    ...sessionHeaders(session, connection, bearer),
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
  };
  let json = message.json;
  if (session.era === 'modern' && message.call) {
    const modern = toModernRequest(message.json, message.call, session.protocolVersion);
    json = modern.body;
    Object.assign(headers, modern.headers);
  }
  const body = Buffer.from(JSON.stringify(json), 'utf8');
  const response = await sendUpstream({
    url: session.url,
    method: 'POST',
    headers,
    body,
    timeoutMs: options.timeoutMs,
    ...(options.bodyTimeoutMs !== undefined ? { bodyTimeoutMs: options.bodyTimeoutMs } : {}),
    signal: options.signal,
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
