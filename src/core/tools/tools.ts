import type { CallToolResult, Tool } from '@modelcontextprotocol/client';
import { AppError } from '../../errors.ts';
import { connectionNotFound, listConnectionsIn, type ConnectionListQuery, type ConnectionServices } from '../connections/connections.ts';
import { needsSetup } from '../connections/connection-status.ts';
import type { ConnectionRecord, ConnectionStore } from '../connections/connection-store.ts';
import type { Connection } from '../connections/connection-view.ts';
import type { ConnectionRef } from '../connections/credentials.ts';
import type { Access } from '../auth/access.ts';
import { allowsCall, allowsConnection } from '../tokens/policy.ts';
import { withUpstreamSession, type UpstreamCallServices } from './upstream-call.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth.ts';

export type ToolServices = ConnectionServices & UpstreamCallServices & { connections: ConnectionStore };

export async function listConnectionTools(services: ToolServices, access: Access, ref: ConnectionRef): Promise<{ tools: Tool[] }> {
  const connection = await findOwnedConnection(services, access, ref);
  return { tools: await fetchTools(services, connection, 'refresh') };
}

/** One tool, or every tool under a category prefix (`github` for `github/create_issue`, `repo` for `repo.search`). */
export async function getConnectionTool(
  services: ToolServices,
  access: Access,
  ref: ConnectionRef,
  toolPath: string,
): Promise<Tool | { tools: Tool[] }> {
  const connection = await findOwnedConnection(services, access, ref);
  const tools = await fetchTools(services, connection, 'use');
  const tool = findTool(tools, toolPath);
  if (tool) return tool;
  const category = toolsUnder(tools, toolPath);
  if (category.length > 0) return { tools: category };
  throw toolNotFound(toolPath, ref.id);
}

export async function callConnectionTool(
  services: ToolServices,
  access: Access,
  ref: ConnectionRef,
  toolPath: string,
  args: Record<string, unknown>,
): Promise<CallToolResult> {
  const connection = await findOwnedConnection(services, access, ref);
  if (nestsDeeperThan(args, MAX_JSON_DEPTH)) {
    throw new AppError('validation_error', `Tool arguments must not nest more than ${MAX_JSON_DEPTH} levels deep`);
  }
  let tool = findTool(await fetchTools(services, connection, 'use'), toolPath);
  // The cached list may predate a tool the server added since.
  tool ??= findTool(await fetchTools(services, connection, 'refresh'), toolPath);
  if (!tool) throw toolNotFound(toolPath, ref.id);
  const name = tool.name;
  // Policies match the JSON-RPC request a REST call stands for.
  if (!allowsCall(access.scope, connection.metadata, { jsonrpc: '2.0', method: 'tools/call', params: { name, arguments: args } })) {
    throw new AppError('forbidden', `This token does not allow calling "${name}"`);
  }
  return withUpstreamSession(services, connection, (session) =>
    session.client.callTool({ name, arguments: args }, { timeout: services.config.upstreamTimeoutMs, resetTimeoutOnProgress: true }),
  ) as Promise<CallToolResult>;
}

export type ConnectionTools = {
  connectionId: string;
  name: string;
  status: Connection['status'];
  /** The connection's tools; null when it needs setup or its server failed. */
  tools: Tool[] | null;
  error: string | null;
};

/**
 * Tools of every connection in a namespace (one page of them), each in its own envelope so
 * one failing upstream does not fail the rest. Connections needing setup are not called.
 */
export async function listNamespaceTools(
  services: ToolServices,
  access: Access,
  namespace: string,
  query: ConnectionListQuery,
): Promise<{ connections: ConnectionTools[]; nextCursor: string | null }> {
  const owned = await services.namespaces.confirmOwned(access, namespace);
  const page = await listConnectionsIn(services, access, owned, query);
  const connections = await Promise.all(
    page.connections.map(async (listed): Promise<ConnectionTools> => {
      const envelope = { connectionId: listed.connectionId, name: listed.name, status: listed.status };
      if (needsSetup(listed.status)) return { ...envelope, tools: null, error: null };
      try {
        const connection = await services.connections.get(owned, listed.connectionId);
        if (!connection) return { ...envelope, tools: null, error: 'The connection was deleted meanwhile' };
        return { ...envelope, tools: await fetchTools(services, connection, 'use'), error: null };
      } catch (error) {
        return { ...envelope, tools: null, error: error instanceof AppError ? error.message : 'The upstream server failed' };
      }
    }),
  );
  return { connections, nextCursor: page.nextCursor };
}

async function findOwnedConnection(services: ToolServices, access: Access, ref: ConnectionRef): Promise<ConnectionRecord> {
  const owned = await services.namespaces.requireOwned(access, ref.namespace);
  const connection = await services.connections.get(owned, ref.id);
  if (!connection || !allowsConnection(access.scope, connection.metadata)) throw connectionNotFound(ref.id);
  return connection;
}

export function fetchTools(services: ToolServices, connection: ConnectionRecord, cacheMode: 'use' | 'refresh'): Promise<Tool[]> {
  return withUpstreamSession(services, connection, async (session) => {
    const { tools } = await session.client.listTools(undefined, { timeout: services.config.upstreamTimeoutMs, cacheMode });
    return tools;
  });
}

/** `a/b` names the tool `a/b`, or `a.b` for servers that group tools with dots. */
function findTool(tools: Tool[], toolPath: string): Tool | undefined {
  const dotted = toolPath.replaceAll('/', '.');
  return tools.find((tool) => tool.name === toolPath) ?? tools.find((tool) => tool.name === dotted);
}

function toolsUnder(tools: Tool[], prefix: string): Tool[] {
  const dotted = prefix.replaceAll('/', '.');
  return tools.filter((tool) => tool.name.startsWith(`${prefix}/`) || tool.name.startsWith(`${dotted}.`));
}

function toolNotFound(toolPath: string, connectionId: string): AppError {
  return new AppError('not_found', `Connection "${connectionId}" has no tool "${toolPath}"`);
}
