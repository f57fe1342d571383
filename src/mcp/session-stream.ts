import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../api/context.ts';
import type { ConnectionRecord } from '../core/connections/connection-store.ts';
import type { ClientSession } from '../core/upstream/client-sessions.ts';
import { describeUpstreamFailure } from '../core/upstream/upstream-failure.ts';
import { sendUpstream, type UpstreamResponse } from '../core/upstream/upstream-http.ts';
import { sessionHeaders } from './forward.ts';
import { JsonRpcCode, sendJsonRpcError } from './json-rpc.ts';
import { streamThrough } from './stream-through.ts';

/** Longer is not an event id any server issues (SDK servers use stream id + sequence). */
const MAX_EVENT_ID_LENGTH = 1024;

/**
 * `GET` with a session of the client's own: opens that session's standalone stream upstream
 * and relays it as it arrives, so what the server sends on its own (log messages,
 * list_changed, resources/updated, its requests) reaches this client, and this client only.
 * `Last-Event-ID` goes along, so the upstream resumes where it can. The stream lasts while
 * the client listens and the session lives; an upstream without one answers 405, passed on.
 */
export async function relaySessionStream(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, connection: ConnectionRecord, session: ClientSession): Promise<void> {
  const lastEventId = req.headers['last-event-id'];
  if (lastEventId !== undefined && (typeof lastEventId !== 'string' || lastEventId.length > MAX_EVENT_ID_LENGTH)) {
    sendJsonRpcError(res, 400, null, { code: JsonRpcCode.invalidRequest, message: 'Bad Request: Last-Event-ID is not an event id' });
    return;
  }
  const upstream = session.upstream;
  const stop = new AbortController();
  const stopWithSession = () => stop.abort();
  if (session.streamsEnd.aborted) stop.abort();
  session.streamsEnd.addEventListener('abort', stopWithSession, { once: true });
  res.once('close', () => stop.abort());
  const release = session.hold();
  try {
    const open = async (bearer: string | undefined) =>
      sendUpstream({
        url: upstream.url,
        method: 'GET',
        headers: { ...sessionHeaders(upstream, connection, bearer), accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
        timeoutMs: ctx.config.upstreamTimeoutMs,
        // Quiet for hours is normal for this stream: it ends when the client or the session does.
        bodyTimeoutMs: 0,
        signal: stop.signal,
        connect: upstream.egress.connect,
        observer: upstream.egress.observer,
      });
    let bearer = await ctx.oauth.bearerFor(connection);
    let response: UpstreamResponse = await open(bearer);
    if (response.statusCode === 401 && bearer) {
      response.body.resume();
      bearer = await ctx.oauth.refreshAfterRejection(connection, bearer);
      response = await open(bearer);
    }
    if (response.statusCode === 401 || response.statusCode === 403) {
      response.body.resume();
      sendJsonRpcError(res, 502, null, { code: JsonRpcCode.internalError, message: `Upstream MCP server error: ${upstream.url.host} refused the session's stream (HTTP ${response.statusCode})` });
      return;
    }
    await streamThrough(res, response, null, {
      host: upstream.url.host,
      describe: (error) => {
        const failure = describeUpstreamFailure(error, upstream.url, ctx.config.upstreamTimeoutMs);
        return failure.kind === 'failed' ? failure.message : `${upstream.url.host} closed the stream`;
      },
    });
  } catch (error) {
    if (stop.signal.aborted) {
      if (!res.headersSent) res.destroy();
      return;
    }
    if (res.headersSent) {
      res.destroy();
      return;
    }
    const failure = describeUpstreamFailure(error, upstream.url, ctx.config.upstreamTimeoutMs);
    const message = failure.kind === 'failed' ? failure.message : `${upstream.url.host} refused the session's stream`;
    sendJsonRpcError(res, 502, null, { code: JsonRpcCode.internalError, message: `Upstream MCP server error: ${message}` });
  } finally {
    session.streamsEnd.removeEventListener('abort', stopWithSession);
    release();
  }
}
