import type { CallToolResult, Tool } from '@modelcontextprotocol/client';
import { AppError } from '../../errors.ts';
import { connectionNotFound, listConnectionsIn, type ConnectionListQuery, type ConnectionServices } from '../connections/connections.ts';
import { needsSetup } from '../connections/connection-status.ts';
import type { ConnectionRecord, ConnectionStore } from '../connections/connection-store.ts';
import type { Connection } from '../connections/connection-view.ts';
import type { ConnectionRef } from '../connections/credentials.ts';
import type { Access } from '../auth/access.ts';
import { allowsCall, allowsConnection } from '../tokens/policy.ts';
import type { UpstreamGateway } from '../upstream/gateway.ts';
import { MAX_JSON_DEPTH, nestsDeeperThan } from '../json-depth.ts';
import type { ListedTools } from '../upstream/tool-list-cache.ts';
import type { UpstreamSession } from '../upstream/upstream-session.ts';
import { saysToolUnknown } from './unknown-tool.ts';

/** What the tool functions need: the gateway's `call` for every upstream request they make. */
export type ToolServices = ConnectionServices & {
  gateway: Pick<UpstreamGateway, 'call'>;
  connections: ConnectionStore;
  config: { upstreamTimeoutMs: number };
};

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
  return services.gateway.call(connection, async (session) => {
    let listed = await listedTools(services, session, 'use');
    const found = (tools: Tool[]) => {
      const tool = findTool(tools, toolPath);
      if (tool) return tool;
      const category = toolsUnder(tools, toolPath);
      return category.length > 0 ? { tools: category } : undefined;
    };
    // The cached list may predate a tool the server added since.
    if (!found(listed.tools) && !listed.fetched) listed = await listedTools(services, session, 'refresh');
    const answer = found(listed.tools);
    if (!answer) throw toolNotFound(toolPath, ref.id);
    return answer;
  });
}

/**
 * Calls the tool on the connection's upstream session: one `tools/call`, the tool list coming
 * from the session's cache. The list is asked for again at most once per call: when the cached
 * one lacks the tool, or the upstream answers that it has no such tool (then the call is sent
 * once more if the new list has it); a tool still missing is a 404.
 */
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
  const call: ToolCall = {
    toolPath,
    args,
    connectionId: ref.id,
    // Policies match the JSON-RPC request a REST call stands for.
    checkAllowed(name) {
      if (!allowsCall(access.scope, connection.metadata, { jsonrpc: '2.0', method: 'tools/call', params: { name, arguments: args } })) {
        throw new AppError('forbidden', `This token does not allow calling "${name}"`);
      }
    },
  };
  return services.gateway.call(connection, async (session) => {
    const held = session.tools.fresh();
    if (held && findTool(held, toolPath)) return callFromList(services, session, call, { tools: held, fetched: false });
    if (!held && session.era === 'sessions-2025' && !toolPath.includes('/')) return callWhileListing(services, session, call);
    // The cached list may predate a tool the server added since.
    return callFromList(services, session, call, await listedTools(services, session, held ? 'refresh' : 'use'));
  });
}

type ToolCall = {
  toolPath: string;
  args: Record<string, unknown>;
  connectionId: string;
  /** Throws unless the caller's token allows calling the tool of this name. */
  checkAllowed(name: string): void;
};

/** The call of a tool the list names (or a 404), refreshing the list once if the upstream says the tool is gone. */
async function callFromList(services: ToolServices, session: UpstreamSession, call: ToolCall, listed: ListedTools): Promise<CallToolResult> {
  const allowedTool = (tools: Tool[]): Tool => {
    const tool = findTool(tools, call.toolPath);
    if (!tool) throw toolNotFound(call.toolPath, call.connectionId);
    call.checkAllowed(tool.name);
    return tool;
  };
  let tool = allowedTool(listed.tools);
  let answer = await callOnce(services, session, tool.name, tool, call.args);
  if (saysToolUnknown(answer, tool.name)) {
    // The list named a tool the server no longer has (or renamed).
    if (listed.fetched) throw toolNotFound(call.toolPath, call.connectionId);
    tool = allowedTool((await listedTools(services, session, 'refresh')).tools);
    answer = await callOnce(services, session, tool.name, tool, call.args);
    if (saysToolUnknown(answer, tool.name)) throw toolNotFound(call.toolPath, call.connectionId);
  }
  if ('error' in answer) throw answer.error;
  return answer.result;
}

/**
 * No list is held (the first call on a session, or the list expired or changed), and the name
 * can mean only one tool (no `/` to read as a dot): the call goes out alongside the list's
 * fetch rather than after it, so it costs one round trip of time. The list still decides what
 * a failed call means: a tool it lacks is a 404, as when listed first. A list that is held but
 * lacks the tool is refreshed before any call (a tool the server just said it lacks is not
 * called blind). Not in the 2026 era, where the SDK needs the tool's definition before
 * calling (it mirrors arguments into headers).
 */
async function callWhileListing(services: ToolServices, session: UpstreamSession, call: ToolCall): Promise<CallToolResult> {
  const name = call.toolPath;
  call.checkAllowed(name);
  const listing = listedTools(services, session, 'use');
  listing.catch(() => {});
  const answer = await callOnce(services, session, name, undefined, call.args);
  if (!('error' in answer) && answer.result.isError !== true) return answer.result;
  const listed = await listing.catch(() => undefined);
  if (saysToolUnknown(answer, name) || (listed && !findTool(listed.tools, name))) throw toolNotFound(name, call.connectionId);
  if ('error' in answer) throw answer.error;
  return answer.result;
}

type CallAnswer = { result: CallToolResult } | { error: unknown };

function callOnce(services: ToolServices, session: UpstreamSession, name: string, definition: Tool | undefined, args: Record<string, unknown>): Promise<CallAnswer> {
  return session.client
    .callTool(
      { name, arguments: args },
      // A definition from our list spares the SDK keeping (or looking in) its own.
      { timeout: services.config.upstreamTimeoutMs, resetTimeoutOnProgress: true, ...(definition ? { toolDefinition: definition } : {}) },
    )
    .then(
      (result) => ({ result: result as CallToolResult }),
      (error: unknown) => ({ error }),
    );
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

/** The connection's tools: the session's cached list while fresh (`use`), or asked for anew (`refresh`). */
export function fetchTools(services: ToolServices, connection: ConnectionRecord, cacheMode: 'use' | 'refresh'): Promise<Tool[]> {
  return services.gateway.call(connection, async (session) => (await listedTools(services, session, cacheMode)).tools);
}

/**
 * The SDK client keeps a list cache of its own, but serves from it only for as long as the
 * server's `ttlMs` says (2026-07-28 servers; 0 by default) or `defaultCacheTtlMs` (0): with
 * 2025 servers it never serves, and a REST call cost a `tools/list` every time. Ours lives on
 * the session (tool-list-cache.ts); the SDK's is bypassed so the list is not held twice.
 */
function listedTools(services: ToolServices, session: UpstreamSession, cacheMode: 'use' | 'refresh'): Promise<ListedTools> {
  const fetchList = async () =>
    (await session.client.listTools(undefined, { timeout: services.config.upstreamTimeoutMs, cacheMode: 'bypass' })).tools;
  return cacheMode === 'use' ? session.tools.get(fetchList) : session.tools.refresh(fetchList);
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
