import type { IncomingMessage, ServerResponse } from 'node:http';
import { ProtocolErrorCode } from '@modelcontextprotocol/server';
import type { RequestContext } from '../api/context.ts';
import type { Access } from '../core/auth/access.ts';
import { setupNeededError } from '../core/connections/setup-needed.ts';
import { resolveToolboxTool, ToolboxCallError } from '../core/tools/toolbox-call.ts';
import { allowsCall, allowsRequest } from '../core/tokens/policy.ts';
import type { Logger } from '../logger.ts';
import { classifyMessage, sendJsonRpcError, SERVER_ERROR } from './json-rpc.ts';
import { admitMcpCaller } from './mcp-admission.ts';
import { readPostedJson } from './posted-json.ts';
import { createToolboxHandler, exchangeAuthInfo, type ToolboxExchange } from './toolbox-server.ts';
import { sendWebResponse } from './web-response.ts';

export type ToolboxPath = { namespace: string };

/** `/connect/{namespace}/mcp`: one segment fewer than a connection's `/connect/{namespace}/{id}/mcp`. */
export function matchToolboxPath(pathname: string): ToolboxPath | undefined {
  const match = /^\/connect\/([^/]+)\/mcp\/?$/.exec(pathname);
  if (!match) return undefined;
  try {
    return { namespace: decodeURIComponent(match[1]!) };
  } catch {
    return undefined;
  }
}

/**
 * The same path is the legacy REST route of a connection whose id is `mcp`
 * (`GET|PUT|DELETE /connect/{namespace}/mcp`): those stay REST. The toolbox takes POST (which
 * that route has not), and answers 405 to what only an MCP client sends: the GET of a standalone
 * event stream and the DELETE of a session.
 */
export function isToolboxRequest(req: IncomingMessage): boolean {
  if (req.method === 'POST') return true;
  if (req.method === 'GET') return /text\/event-stream/i.test(req.headers.accept ?? '');
  if (req.method === 'DELETE') return req.headers['mcp-session-id'] !== undefined;
  return false;
}

/**
 * The namespace toolbox `POST /connect/{namespace}/mcp`: one MCP endpoint for the tools of
 * every connection of the namespace the caller may see. Authentication, rate limits, namespace
 * ownership and policies are decided here as on a connection's endpoint; the protocol itself
 * is the SDK's (toolbox-server.ts).
 */
export function createToolboxEndpoint(logger: Logger) {
  const handler = createToolboxHandler((error) => logger.debug({ err: { message: error.message } }, 'toolbox: request refused by the MCP layer'));

  return async function handleToolboxRequest(req: IncomingMessage, res: ServerResponse, ctx: RequestContext, path: ToolboxPath): Promise<void> {
    const admitted = await admitMcpCaller(req, res, ctx, path.namespace);
    if (!admitted) return;
    const { access } = admitted;

    const read = await readJsonRpc(req, res, ctx.config.maxBodyBytes);
    if (!read) return;
    const { body, message } = read;
    const id = message.kind === 'request' ? message.id : null;
    if (message.kind === 'request' && message.method === 'subscriptions/listen') {
      // The tool list changes with the namespace, which no stream here follows (nor is listChanged offered).
      sendJsonRpcError(res, 200, id, { code: ProtocolErrorCode.MethodNotFound, message: 'Method not found' });
      return;
    }

    const exchange: ToolboxExchange = { ctx, access, namespace: path.namespace, message: body };
    const callName = message.kind === 'request' && message.method === 'tools/call' ? message.params?.name : undefined;
    if (typeof callName === 'string') {
      exchange.call = await resolveCall(ctx, access, path.namespace, callName);
      const target = 'target' in exchange.call ? exchange.call.target : undefined;
      // Policies match the call as the upstream receives it: params.name is the upstream's tool name.
      if (target && !allowsCall(access.scope, target.connection.metadata, withToolName(body, target.toolName))) {
        sendJsonRpcError(res, 403, id, { code: SERVER_ERROR, message: 'Forbidden: this token does not allow this request' });
        return;
      }
      // Answered here rather than by the SDK, which turns every -32002 into -32602. HTTP 200: it is
      // one tool's state, and a 401 would send an MCP client after credentials of its own.
      const needed = target && setupNeededError(target.connection, ctx.links);
      if (needed) {
        sendJsonRpcError(res, 200, id, { code: needed.code, message: needed.message, data: needed.data });
        return;
      }
    } else if (!allowsRequest(access.scope, body)) {
      sendJsonRpcError(res, 403, id, { code: SERVER_ERROR, message: 'Forbidden: this token does not allow this request' });
      return;
    }

    const aborted = new AbortController();
    res.once('close', () => {
      if (!res.writableFinished) aborted.abort();
    });
    const response = await handler.fetch(toWebRequest(req, read.text, aborted.signal), { authInfo: exchangeAuthInfo(exchange), parsedBody: body });
    await sendWebResponse(res, response);
  };
}

/** The body as one JSON-RPC request or notification; anything else is answered here (undefined). */
async function readJsonRpc(req: IncomingMessage, res: ServerResponse, maxBodyBytes: number) {
  const posted = await readPostedJson(req, res, maxBodyBytes);
  if (!posted) return undefined;
  const { text, body } = posted;
  const message = classifyMessage(body);
  if (message.kind === 'invalid' || message.kind === 'batch') {
    const why = message.kind === 'batch' ? 'batches are not accepted here' : 'not a JSON-RPC 2.0 request, notification or response';
    sendJsonRpcError(res, 400, null, { code: ProtocolErrorCode.InvalidRequest, message: `Invalid Request: ${why}` });
    return undefined;
  }
  if (message.kind === 'response') {
    // The toolbox never asks the client anything: there is nothing to answer.
    res.statusCode = 202;
    res.end();
    return undefined;
  }
  return { text, body, message };
}

async function resolveCall(ctx: RequestContext, access: Access, namespace: string, name: string): Promise<NonNullable<ToolboxExchange['call']>> {
  try {
    return { name, target: await resolveToolboxTool(ctx, access, namespace, name) };
  } catch (error) {
    if (error instanceof ToolboxCallError) return { name, error };
    throw error;
  }
}

function withToolName(body: unknown, toolName: string): unknown {
  const message = body as { params: Record<string, unknown> };
  return { ...message, params: { ...message.params, name: toolName } };
}

function toWebRequest(req: IncomingMessage, body: string, signal: AbortSignal): Request {
  const headers = new Headers();
  for (const [name, value] of Object.entries(req.headers)) {
    // The caller's credential stays here: the SDK has no use for it.
    if (name === 'authorization' || value === undefined) continue;
    headers.set(name, Array.isArray(value) ? value.join(', ') : value);
  }
  return new Request(`http://switchboard.invalid${req.url ?? '/'}`, { method: 'POST', headers, body, signal });
}
