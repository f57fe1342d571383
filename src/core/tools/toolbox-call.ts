import { ProtocolError, ProtocolErrorCode, type CallToolResult, type Progress } from '@modelcontextprotocol/client';
import { AppError } from '../../errors.ts';
import type { Access } from '../auth/access.ts';
import type { ConnectionRecord } from '../connections/connection-store.ts';
import { authorizationRequiredError, setupNeededError, type SetupNeededError } from '../connections/setup-needed.ts';
import { allowsConnection } from '../tokens/policy.ts';
import { replyFailureOf } from '../upstream/reply-guards.ts';
import { fetchTools, type ToolServices } from './tools.ts';
import { connectionSegment, parseToolboxName, toolBudget, toolSegment } from './toolbox-names.ts';
import { hashedSegments, visibleConnections } from './toolbox-listing.ts';
import { saysToolUnknown } from './unknown-tool.ts';

/** A JSON-RPC error for the caller: the upstream's own, or one Switchboard answers with. */
export class ToolboxCallError extends Error {
  constructor(
    readonly code: number,
    message: string,
    readonly data?: unknown,
  ) {
    super(message);
  }
}

export type ToolboxTarget = { connection: ConnectionRecord; toolName: string };

/**
 * The connection and upstream tool a toolbox name stands for, among the connections the caller
 * may see; undefined when it names none (a connection out of reach is as missing). Plain names
 * need no search; hashed segments are looked up among the visible connections and that
 * connection's tools, and a name two of them could carry routes nowhere.
 */
export async function resolveToolboxTool(services: ToolServices, access: Access, namespace: string, name: string): Promise<ToolboxTarget | undefined> {
  const parsed = parseToolboxName(name);
  if (!parsed) return undefined;
  const connectionId = parsed.connectionId ?? (await findHashedConnection(services, access, namespace, parsed.connectionSegment));
  if (connectionId === undefined) return undefined;
  const owned = await services.namespaces.requireOwned(access, namespace);
  const connection = await services.connections.get(owned, connectionId);
  if (!connection || !allowsConnection(access.scope, connection.metadata)) return undefined;
  if (parsed.toolName !== undefined) return { connection, toolName: parsed.toolName };
  // A connection needing setup is refused before any tool matters; its segment stands in for the name.
  if (connection.status.state === 'auth_required' || connection.status.state === 'input_required') return { connection, toolName: parsed.toolSegment };
  const toolName = await findHashedTool(services, connection, parsed.toolSegment);
  return toolName === undefined ? undefined : { connection, toolName };
}

async function findHashedConnection(services: ToolServices, access: Access, namespace: string, segment: string): Promise<string | undefined> {
  const remembered = hashedSegments.get(`${namespace}/${segment}`);
  if (remembered !== undefined) return remembered;
  const owned = await services.namespaces.confirmOwned(access, namespace);
  const matches = (await visibleConnections(services, access, owned)).filter((c) => connectionSegment(c.connectionId) === segment);
  return matches.length === 1 ? matches[0]!.connectionId : undefined;
}

async function findHashedTool(services: ToolServices, connection: ConnectionRecord, segment: string): Promise<string | undefined> {
  const key = `${connection.namespace}/${connection.id}/${segment}`;
  const remembered = hashedSegments.get(key);
  if (remembered !== undefined) return remembered;
  const budget = toolBudget(connectionSegment(connection.id));
  const matches = (await fetchTools(services, connection, 'use').catch(rethrowAsCallError(services, connection))).filter(
    (tool) => toolSegment(tool.name, budget) === segment,
  );
  return matches.length === 1 ? matches[0]!.name : undefined;
}

export type ToolboxCallOptions = { onprogress?: (progress: Progress) => void; signal?: AbortSignal };

/**
 * Calls the tool on its connection's upstream session, as a REST tool call does (same session,
 * renewal, OAuth refresh, status bookkeeping). The upstream's JSON-RPC errors come back as
 * they were; failures to reach it as -32603 with a message naming the host; connections that
 * need setup are refused without calling upstream.
 */
export async function callToolboxTool(
  services: ToolServices,
  target: ToolboxTarget,
  args: Record<string, unknown> | undefined,
  options: ToolboxCallOptions,
): Promise<CallToolResult> {
  const { connection, toolName } = target;
  const needed = setupNeeded(services, connection);
  if (needed) throw needed;
  const outcome = await services.gateway.call(connection, (session) =>
    session.client
      .callTool(
        { name: toolName, ...(args ? { arguments: args } : {}) },
        {
          timeout: services.config.upstreamTimeoutMs,
          resetTimeoutOnProgress: true,
          ...(options.onprogress ? { onprogress: options.onprogress } : {}),
          ...(options.signal ? { signal: options.signal } : {}),
        },
      )
      .then(
        (result) => {
          // The listing that offered this tool is out of date: the next one asks the upstream.
          if (saysToolUnknown({ result: result as CallToolResult }, toolName)) session.tools.invalidate();
          return { result: result as CallToolResult };
        },
        (error: unknown) => {
          // The upstream answered with a JSON-RPC error: the connection works, the caller gets the error.
          if (error instanceof ProtocolError && !replyFailureOf(error)) {
            if (saysToolUnknown({ error }, toolName)) session.tools.invalidate();
            return { upstreamError: error };
          }
          throw error;
        },
      ),
  ).catch(rethrowAsCallError(services, connection));
  if ('upstreamError' in outcome) throw new ToolboxCallError(outcome.upstreamError.code, outcome.upstreamError.message, outcome.upstreamError.data);
  return outcome.result;
}

/** The error a call to a connection needing setup answers with, without calling upstream (as on the connection's own endpoint). */
function setupNeeded(services: ToolServices, connection: ConnectionRecord): ToolboxCallError | undefined {
  const needed = setupNeededError(connection, services.links);
  return needed && toCallError(needed);
}

const toCallError = (error: SetupNeededError) => new ToolboxCallError(error.code, error.message, error.data);

/** The gateway call's outcomes as JSON-RPC errors: a conflict there means the upstream wants authorization. */
function rethrowAsCallError(services: ToolServices, connection: ConnectionRecord) {
  return (error: unknown): never => {
    if (error instanceof ToolboxCallError) throw error;
    if (error instanceof AppError && error.code === 'conflict') throw toCallError(authorizationRequiredError(connection, services.links));
    const message = error instanceof AppError ? error.message : 'The upstream MCP server failed';
    throw new ToolboxCallError(ProtocolErrorCode.InternalError, `Upstream MCP server error: ${message}`);
  };
}
