import { EventEmitter } from 'node:events';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { RequestContext } from '../api/context.ts';
import { connectionNotFound } from '../core/connections/connections.ts';
import { allowsCall, allowsConnection } from '../core/tokens/policy.ts';
import type { ConnectionRecord } from '../core/connections/connection-store.ts';
import { setupNeededError } from '../core/connections/setup-needed.ts';
import type { ForwardOutcome, GatewayFailure, OutgoingMessage } from '../core/upstream/gateway.ts';
import type { SessionWire, UpstreamSession } from '../core/upstream/upstream-session.ts';
import { AppError } from '../errors.ts';
import { classifyMessage, type JsonRpcId, sendJsonRpcError, sendJsonRpcResult, SERVER_ERROR } from './json-rpc.ts';
import { admitMcpCaller, SESSION_METHODS } from './mcp-admission.ts';
import { readPostedJson } from './posted-json.ts';
import { acceptsEventStream, type JsonOnlyClient, type ServerRequest } from './event-stream-answer.ts';
import type { ClientSession } from '../core/upstream/client-sessions.ts';
import type { Principal } from '../core/auth/authenticate.ts';
import type { ClientCapabilities } from '@modelcontextprotocol/client';
import { relaySessionStream } from './session-stream.ts';
import { sendAuthorizationRequired, sendSetupNeeded } from './setup-needed-answer.ts';
import { streamThrough } from './stream-through.ts';
import { claimedProtocolVersion } from '../core/upstream/envelope-2026.ts';

export type McpTarget = { namespace: string; connectionId: string };

/** `/connect/{namespace}/{connectionId}/mcp`, the path the official helper builds. */
export function matchMcpPath(pathname: string): McpTarget | undefined {
  const match = /^\/connect\/([^/]+)\/([^/]+)\/mcp\/?$/.exec(pathname);
  if (!match) return undefined;
  try {
    return { namespace: decodeURIComponent(match[1]!), connectionId: decodeURIComponent(match[2]!) };
  } catch {
    return undefined;
  }
}

/**
 * The MCP endpoint of a connection (Streamable HTTP). A client that initializes (2025 era) gets
 * a session of its own, on an upstream session opened for it (docs/mcp-sessions.md): its POSTs,
 * its GET stream and its DELETE name it by `mcp-session-id`, on whichever replica they land (the
 * session is recorded in the database). Every other message (no handshake, the official helper's
 * `smithery-stateless`, any id not in Switchboard's format) is forwarded on the connection's
 * pooled upstream session, as is the 2026 era, which has no sessions.
 */
export async function handleMcpRequest(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, target: McpTarget): Promise<void> {
  const sessionId = req.headers['mcp-session-id'];
  const namesOwnSession = typeof sessionId === 'string' && ctx.gateway.isClientSessionId(sessionId);
  const admitted = await admitMcpCaller(req, res, ctx, target.namespace, namesOwnSession ? SESSION_METHODS : undefined);
  if (!admitted) return;
  const { access } = admitted;
  const connection = await ctx.connections.get(admitted.namespace, target.connectionId);
  if (!connection || !allowsConnection(access.scope, connection.metadata)) throw connectionNotFound(target.connectionId);

  let own: ClientSession | undefined;
  if (namesOwnSession) {
    own = await ctx.gateway.findClientSession(sessionId, connection, access.principal);
    if (!own) {
      // Ended, expired, another caller's, or of the connection before it was deleted (on this
      // replica or any other): the spec's answer, on which the client initializes again.
      sendJsonRpcError(res, 404, null, { code: SERVER_ERROR, message: 'Session not found: initialize again' });
      return;
    }
    if (req.method === 'DELETE') {
      await ctx.gateway.endClientSession(own);
      res.statusCode = 200;
      res.end();
      return;
    }
    if (req.method === 'GET') {
      if (answeredWhileNeedingSetup(res, ctx, connection, null)) return;
      await relaySessionStream(req, res, ctx, connection, own);
      return;
    }
  }

  const posted = await readPostedJson(req, res, ctx.config.maxBodyBytes);
  if (!posted) return;
  const { body } = posted;
  const message = classifyMessage(body);
  const id: JsonRpcId = message.kind === 'request' ? message.id : null;
  if (message.kind === 'invalid') {
    sendJsonRpcError(res, 400, null, { code: ProtocolErrorCode.InvalidRequest, message: 'Invalid Request: not a JSON-RPC 2.0 request, notification or response' });
    return;
  }
  // Every message must be one the token allows: its rpcReqMatch patterns see the JSON-RPC as sent.
  const messages = message.kind === 'batch' ? message.messages : [body];
  if (!messages.every((one) => allowsCall(access.scope, connection.metadata, one))) {
    sendJsonRpcError(res, 403, id, { code: SERVER_ERROR, message: 'Forbidden: this token does not allow this request' });
    return;
  }
  if (answeredWhileNeedingSetup(res, ctx, connection, id)) return;

  try {
    if (message.kind === 'notification' && message.method === 'notifications/initialized') {
      // Switchboard initialized the upstream session itself.
      res.statusCode = 202;
      res.end();
      return;
    }
    if (message.kind === 'request' && message.method === 'initialize') {
      const session = await ctx.gateway.handshake(connection);
      // A session id the client chose (`smithery-stateless`, any id not in Switchboard's format)
      // keeps the shared session; the 2026 era has none to give.
      if (session.era === 'sessions-2025' && (sessionId === undefined || namesOwnSession)) {
        await initializeOwnSession(res, ctx, connection, access.principal, id, message.params);
        return;
      }
      sendJsonRpcResult(res, id, initializeResult(session, message.params));
      return;
    }
    const session = own?.upstream ?? (await ctx.gateway.session(connection));
    if (message.kind === 'batch' && (session.era === 'stateless-2026' || message.messages.some(isInitialize))) {
      sendJsonRpcError(res, 400, null, { code: ProtocolErrorCode.InvalidRequest, message: 'Invalid Request: batches are not accepted here' });
      return;
    }
    if (session.era === 'sessions-2025' && message.kind === 'request' && message.method === 'server/discover') {
      // The 2025-era answer to a 2026 probe: the client falls back to `initialize`, which we serve.
      sendJsonRpcError(res, 400, id, { code: SERVER_ERROR, message: 'Bad Request: Server not initialized' });
      return;
    }
    if (session.era === 'stateless-2026' && message.kind === 'request' && !claimedProtocolVersion(message.params, session.protocolVersion).ok) {
      sendJsonRpcError(res, 400, id, { code: ProtocolErrorCode.InvalidParams, message: 'Invalid params: _meta names a protocol version that is not known' });
      return;
    }
    if (session.era === 'stateless-2026' && message.kind === 'request' && message.method === 'ping') {
      sendJsonRpcResult(res, id, {});
      return;
    }
    if (session.era === 'stateless-2026' && (message.kind === 'notification' || message.kind === 'response')) {
      // 2026-07-28 has no client notifications over HTTP (cancellation is closing the stream).
      res.statusCode = 202;
      res.end();
      return;
    }
    const outgoing: OutgoingMessage = {
      json: body,
      ...(message.kind === 'request' || message.kind === 'notification'
        ? { call: { method: message.method, params: message.kind === 'request' ? message.params : undefined } }
        : {}),
    };
    const clientGone = new EventEmitter();
    res.once('close', () => {
      if (!res.writableFinished) clientGone.emit('abort');
    });
    const release = own?.hold();
    // A 2026 listen stream is that era's GET stream: quiet for hours is normal, and it ends when
    // the client closes it, or when a shutdown begins (it would never finish by itself and hold
    // the shutdown for its whole grace period; the client listens again, elsewhere if need be).
    // Its answer's headers still come within the upstream timeout.
    const listens = outgoing.call?.method === 'subscriptions/listen';
    const endListening = () => {
      clientGone.emit('abort');
      if (res.headersSent) res.end();
      else res.destroy();
    };
    if (listens) {
      if (ctx.gateway.streamsEnd.aborted) endListening();
      else ctx.gateway.streamsEnd.addEventListener('abort', endListening, { once: true });
    }
    try {
      const outcome = await ctx.gateway.forward(connection, outgoing, {
        ...(own ? { own } : {}),
        ...(listens ? { bodyTimeoutMs: 0 } : {}),
        signal: clientGone,
      });
      const jsonOnly = acceptsEventStream(req.headers.accept) || !('session' in outcome) ? undefined : jsonOnlyClient(ctx, connection, outcome.session, own);
      await relay(res, ctx, connection, outcome, id, jsonOnly);
    } finally {
      if (listens) ctx.gateway.streamsEnd.removeEventListener('abort', endListening);
      release?.();
    }
  } catch (error) {
    if (error instanceof AppError) throw error;
    if (res.headersSent) {
      res.destroy();
      return;
    }
    answerFailure(res, ctx, connection, id, await ctx.gateway.failure(connection, error));
  }
}

/**
 * Opens the client's own session: an upstream session declaring what the client declared, and
 * an `mcp-session-id` of Switchboard's own. Bounded per process and per caller.
 */
async function initializeOwnSession(
  res: ServerResponse,
  ctx: RequestContext,
  connection: ConnectionRecord,
  principal: Principal,
  id: JsonRpcId,
  params: Record<string, unknown> | undefined,
): Promise<void> {
  const capabilities = params?.capabilities !== null && typeof params?.capabilities === 'object' && !Array.isArray(params.capabilities) ? (params.capabilities as ClientCapabilities) : {};
  const protocolVersion = typeof params?.protocolVersion === 'string' ? params.protocolVersion : undefined;
  const opened = await ctx.gateway.openClientSession(connection, principal, { capabilities, protocolVersion });
  if (!opened.ok) {
    const [status, message] = opened.reason === 'full'
      ? [503, 'Too many MCP sessions on this server: end unused ones (DELETE) or try again later']
      : [429, 'Too many MCP sessions for this API key or token: end unused ones (DELETE) first'];
    sendJsonRpcError(res, status, id, { code: SERVER_ERROR, message }, { 'retry-after': '60' });
    return;
  }
  res.setHeader('mcp-session-id', opened.session.id);
  sendJsonRpcResult(res, id, initializeResult(opened.upstream, params));
}

/** A connection needing setup is answered without calling upstream (docs/contract.md, Connection needs its end user). */
function answeredWhileNeedingSetup(res: ServerResponse, ctx: RequestContext, connection: ConnectionRecord, id: JsonRpcId): boolean {
  const needed = setupNeededError(connection, ctx.links);
  if (needed) sendSetupNeeded(res, needed, id);
  return needed !== undefined;
}

/**
 * The client's initialize, answered from the upstream session: the upstream's capabilities,
 * identity and instructions, at the client's protocol version when it is one we know not
 * newer than the upstream's.
 */
function initializeResult(session: UpstreamSession, params: Record<string, unknown> | undefined) {
  const requested = typeof params?.protocolVersion === 'string' ? params.protocolVersion : undefined;
  const upstreamVersion = session.era === 'stateless-2026' ? '2025-11-25' : session.protocolVersion;
  const protocolVersion = requested && /^\d{4}-\d{2}-\d{2}$/.test(requested) && requested <= upstreamVersion ? requested : upstreamVersion;
  const { capabilities, serverInfo, instructions } = session.identity;
  return {
    protocolVersion,
    capabilities,
    serverInfo: serverInfo ?? { name: new URL(session.url).host, version: '0.0.0' },
    ...(instructions ? { instructions } : {}),
  };
}

/** The gateway's outcome, framed for the client: passed through, or a JSON-RPC error. */
async function relay(res: ServerResponse, ctx: RequestContext, connection: ConnectionRecord, outcome: ForwardOutcome, id: JsonRpcId, jsonOnly: JsonOnlyClient | undefined): Promise<void> {
  if (outcome.kind === 'read') {
    res.statusCode = outcome.status;
    if (outcome.contentType) res.setHeader('content-type', outcome.contentType);
    res.end(outcome.body);
    return;
  }
  if (outcome.kind === 'stream') {
    await streamThrough(res, outcome.response, id, { host: outcome.session.url.host, describe: outcome.describe }, jsonOnly);
    return;
  }
  answerFailure(res, ctx, connection, id, outcome);
}

/**
 * A client that takes only JSON cannot be asked anything mid-call (elicitation, sampling,
 * roots). Its upstream is told so at once, as a client without the capability would answer
 * (method not found; a ping is answered), rather than left waiting for an answer that never
 * comes, which would hold the call until the upstream's deadline. A 2026-07-28 upstream takes
 * no answers over HTTP: there is nothing to send it.
 */
function jsonOnlyClient(ctx: RequestContext, connection: ConnectionRecord, session: SessionWire, own: ClientSession | undefined): JsonOnlyClient {
  const cannotAsk = (request: ServerRequest) => {
    if (session.era === 'stateless-2026') return;
    const json = request.method === 'ping'
      ? { jsonrpc: '2.0', id: request.id, result: {} }
      : { jsonrpc: '2.0', id: request.id, error: { code: ProtocolErrorCode.MethodNotFound, message: `Method not found: this client takes JSON answers only and cannot be sent ${request.method}` } };
    ctx.gateway.decline(connection, own, json);
  };
  return { maxBytes: ctx.config.maxUpstreamResponseBytes, cannotAsk };
}

/** The gateway's failures (recorded there), framed for the client: 401 -32001, or 502 -32603. */
function answerFailure(res: ServerResponse, ctx: RequestContext, connection: ConnectionRecord, id: JsonRpcId, failure: GatewayFailure): void {
  if (failure.kind === 'authorization_required') {
    sendAuthorizationRequired(res, ctx, connection, id);
    return;
  }
  const message = failure.status !== undefined ? `The upstream MCP server failed (HTTP ${failure.status})` : `Upstream MCP server error: ${failure.message}`;
  sendJsonRpcError(res, 502, id, { code: ProtocolErrorCode.InternalError, message });
}

function isInitialize(message: unknown): boolean {
  return (message as { method?: unknown } | null)?.method === 'initialize';
}
