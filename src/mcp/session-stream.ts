import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { RequestContext } from '../api/context.ts';
import type { ConnectionRecord } from '../core/connections/connection-store.ts';
import type { ClientSession } from '../core/upstream/client-sessions.ts';
import { sendJsonRpcError } from './json-rpc.ts';
import { streamThrough } from './stream-through.ts';
import { sendAuthorizationRequired } from './setup-needed-answer.ts';

/** Longer is not an event id any server issues (SDK servers use stream id + sequence). */
const MAX_EVENT_ID_LENGTH = 1024;

/**
 * `GET` with a session of the client's own: the gateway opens that session's standalone stream
 * upstream (with the connection's bearer, refreshed as for any request), relayed here as it
 * arrives, so what the server sends on its own (log messages, list_changed, resources/updated,
 * its requests) reaches this client, and this client only. `Last-Event-ID` goes along, so the
 * upstream resumes where it can. The stream lasts while the client listens and the session
 * lives; an upstream without one answers 405, passed on.
 */
export async function relaySessionStream(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, connection: ConnectionRecord, session: ClientSession): Promise<void> {
  const lastEventId = req.headers['last-event-id'];
  if (lastEventId !== undefined && (typeof lastEventId !== 'string' || lastEventId.length > MAX_EVENT_ID_LENGTH)) {
    sendJsonRpcError(res, 400, null, { code: ProtocolErrorCode.InvalidRequest, message: 'Bad Request: Last-Event-ID is not an event id' });
    return;
  }
  const stop = new AbortController();
  const stopWithSession = () => stop.abort();
  if (session.streamsEnd.aborted) stop.abort();
  session.streamsEnd.addEventListener('abort', stopWithSession, { once: true });
  res.once('close', () => stop.abort());
  const release = session.hold();
  const fail = (message: string) => sendJsonRpcError(res, 502, null, { code: ProtocolErrorCode.InternalError, message: `Upstream MCP server error: ${message}` });
  // How a failure reads once the stream is open; before that, the gateway says what failed.
  let describe: ((error: unknown) => string) | undefined;
  try {
    const outcome = await ctx.gateway.openStream(connection, session, lastEventId, stop.signal);
    if (outcome.kind === 'failed') {
      fail(outcome.message);
      return;
    }
    if (outcome.kind === 'authorization_required') {
      sendAuthorizationRequired(res, ctx, connection, null);
      return;
    }
    describe = outcome.describe;
    await streamThrough(res, outcome.response, null, { host: session.upstream.url.host, describe });
  } catch (error) {
    // Stopped (client gone, session ended, shutdown), or failed mid-stream: nobody to tell, or too late to.
    if (stop.signal.aborted || res.headersSent || !describe) {
      if (!res.headersSent || !stop.signal.aborted) res.destroy();
      return;
    }
    fail(describe(error));
  } finally {
    session.streamsEnd.removeEventListener('abort', stopWithSession);
    release();
  }
}
