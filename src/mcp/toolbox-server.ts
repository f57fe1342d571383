import { createMcpHandler, ProtocolError, ProtocolErrorCode, Server, type McpHttpHandler } from '@modelcontextprotocol/server';
import type { RequestContext } from '../api/context.ts';
import type { Access } from '../core/auth/access.ts';
import { callToolboxTool, ToolboxCallError, type ToolboxTarget } from '../core/tools/toolbox-call.ts';
import { listToolboxTools } from '../core/tools/toolbox-listing.ts';
import { SWITCHBOARD_VERSION } from '../version.ts';

/** What one HTTP exchange hands the server instance that serves it. */
export type ToolboxExchange = {
  ctx: RequestContext;
  access: Access;
  namespace: string;
  /** The JSON-RPC message as the client sent it (policies match it). */
  message: unknown;
  /** For a tools/call: where its name routes (resolved before policy was checked), or why it routes nowhere. */
  call?: { name: string; target: ToolboxTarget | undefined } | { name: string; error: ToolboxCallError };
};

const EXCHANGE_KEY = 'switchboardToolbox';

/** The `authInfo` that carries an exchange into the SDK's per-request factory (never sent anywhere). */
export function exchangeAuthInfo(exchange: ToolboxExchange) {
  return { token: '', clientId: exchange.access.principal.kind, scopes: [], extra: { [EXCHANGE_KEY]: exchange } };
}

/**
 * The toolbox's MCP server, built by the official SDK per request: it speaks both protocol
 * eras (2025 `initialize` served statelessly, 2026-07-28 `server/discover` and per-request
 * envelopes), answers `ping`, acknowledges notifications and refuses unknown methods. Nothing
 * is kept between requests, so any replica answers any of them.
 */
export function createToolboxHandler(onerror: (error: Error) => void): McpHttpHandler {
  return createMcpHandler(
    ({ authInfo }) => {
      const exchange = authInfo?.extra?.[EXCHANGE_KEY] as ToolboxExchange | undefined;
      if (!exchange) throw new Error('toolbox request without its exchange');
      return toolboxServer(exchange);
    },
    { onerror },
  );
}

function toolboxServer(exchange: ToolboxExchange): Server {
  const { ctx, access, namespace } = exchange;
  const server = new Server(
    { name: 'switchboard-toolbox', title: `Switchboard toolbox of ${namespace}`, version: SWITCHBOARD_VERSION },
    {
      capabilities: { tools: {} },
      instructions: `The tools of every connection in the namespace "${namespace}" that you may use, each named <connectionId>.<tool>.`,
    },
  );

  server.setRequestHandler('tools/list', async () => {
    const { tools, unavailable } = await listToolboxTools(ctx, access, namespace, exchange.message);
    return { tools, ...(unavailable.length > 0 ? { _meta: { 'switchboard/unavailable': unavailable } } : {}) };
  });

  server.setRequestHandler('tools/call', async (request, handlerCtx) => {
    const call = exchange.call;
    if (!call || call.name !== request.params.name) throw unknownTool(request.params.name);
    if ('error' in call) throw asProtocolError(call.error);
    if (!call.target) throw unknownTool(call.name);
    const progressToken = handlerCtx.mcpReq._meta?.progressToken;
    try {
      return await callToolboxTool(ctx, call.target, request.params.arguments, {
        signal: handlerCtx.mcpReq.signal,
        ...(progressToken !== undefined
          ? {
              onprogress: (progress) => {
                handlerCtx.mcpReq
                  .notify({ method: 'notifications/progress', params: { ...progress, progressToken } })
                  .catch(() => {});
              },
            }
          : {}),
      });
    } catch (error) {
      if (error instanceof ToolboxCallError) throw asProtocolError(error);
      throw error;
    }
  });
  return server;
}

function unknownTool(name: string): ProtocolError {
  return new ProtocolError(ProtocolErrorCode.InvalidParams, `Unknown tool: ${name.slice(0, 100)}`);
}

function asProtocolError(error: ToolboxCallError): ProtocolError {
  return new ProtocolError(error.code, error.message, error.data);
}
