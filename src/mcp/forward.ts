import type { IncomingMessage } from 'node:http';
import type { ConnectionRecord } from '../core/connections/connection-store.ts';
import { isSessionLoss } from '../core/upstream/upstream-failure.ts';
import { readSmallBody, sendUpstream } from '../core/upstream/upstream-http.ts';
import type { UpstreamPool } from '../core/upstream/upstream-pool.ts';
import type { UpstreamSession } from '../core/upstream/upstream-session.ts';
import { toModernRequest } from './modern-envelope.ts';

/** What the upstream answered: a response still to be streamed, or one already read whole. */
export type UpstreamAnswer =
  | { kind: 'stream'; response: IncomingMessage }
  | { kind: 'read'; status: number; contentType: string | undefined; body: Buffer };

export type OutgoingMessage = {
  raw: Buffer;
  /** Set for requests and notifications; responses to the server's own requests have none. */
  call?: { method: string; params: Record<string, unknown> | undefined };
};

/**
 * Sends one client message to the upstream on the connection's session, with the stored
 * credentials and the session's id and protocol version; the client's own headers
 * (Authorization above all) never go along. If the upstream no longer knows the session, a
 * fresh one is opened and the message sent once more.
 */
export async function forwardMessage(
  pool: UpstreamPool,
  connection: ConnectionRecord,
  message: OutgoingMessage,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<{ session: UpstreamSession; answer: UpstreamAnswer }> {
  let session = await pool.session(connection);
  let answer = await send(session, connection, message, options);
  if (answer.kind === 'read' && session.sessionId && isSessionLoss(answer.status, answer.body.toString('utf8'))) {
    session = await pool.renew(connection, session);
    answer = await send(session, connection, message, options);
  }
  return { session, answer };
}

async function send(
  session: UpstreamSession,
  connection: ConnectionRecord,
  message: OutgoingMessage,
  options: { timeoutMs: number; signal: AbortSignal },
): Promise<UpstreamAnswer> {
  const headers: Record<string, string> = {
    ...connection.credentials,
    'content-type': 'application/json',
    accept: 'application/json, text/event-stream',
    'mcp-protocol-version': session.protocolVersion,
  };
  let body = message.raw;
  if (session.sessionId) headers['mcp-session-id'] = session.sessionId;
  if (session.era === 'modern' && message.call) {
    const modern = toModernRequest(message.raw, message.call, session.protocolVersion);
    body = modern.body;
    Object.assign(headers, modern.headers);
  }
  const response = await sendUpstream({ url: session.url, method: 'POST', headers, body, timeoutMs: options.timeoutMs, signal: options.signal });
  const status = response.statusCode ?? 502;
  // Small error answers are read here: they may say the session is gone.
  if (status === 404 || status === 400) {
    return { kind: 'read', status, contentType: response.headers['content-type'], body: await readSmallBody(response) };
  }
  return { kind: 'stream', response };
}
