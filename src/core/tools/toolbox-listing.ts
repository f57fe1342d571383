import type { Tool } from '@modelcontextprotocol/client';
import { AppError } from '../../errors.ts';
import type { Access } from '../auth/access.ts';
import { listConnectionsIn } from '../connections/connections.ts';
import type { OwnedNamespace } from '../namespaces/namespace-directory.ts';
import type { Connection } from '../connections/connection-view.ts';
import { createBoundedCache } from '../cache/bounded-cache.ts';
import { allowsCall } from '../tokens/policy.ts';
import { fetchTools, type ToolServices } from './tools.ts';
import { connectionSegment, toolboxToolName } from './toolbox-names.ts';

/** Upstream tool lists fetched at once by one toolbox listing. */
export const TOOLBOX_LIST_CONCURRENCY = 8;
/** The most connections one toolbox serves; a namespace with more lists the oldest ones. */
export const MAX_TOOLBOX_CONNECTIONS = 500;

export type UnavailableConnection = {
  connectionId: string;
  reason: 'auth_required' | 'input_required' | 'failed';
  message?: string;
};

export type ToolboxListing = { tools: Tool[]; unavailable: UnavailableConnection[] };

/**
 * Hashed name segments seen in listings, back to what they stand for. Only a shortcut: the
 * mapping is a pure function, so a replica that never listed finds the same answer by search.
 */
export const hashedSegments = createBoundedCache<string, string>({ maxEntries: 50_000, maxAgeMs: 60 * 60_000 });

/**
 * The connections of the namespace the caller may see, oldest first (the scope filters them in
 * the database). `owned` comes from `confirmOwned`: a stale cached owner must not list them.
 */
export async function visibleConnections(services: ToolServices, access: Access, owned: OwnedNamespace): Promise<Connection[]> {
  const seen: Connection[] = [];
  let cursor: string | undefined;
  do {
    const page = await listConnectionsIn(services, access, owned, { limit: 100, ...(cursor ? { cursor } : {}) });
    seen.push(...page.connections);
    cursor = page.nextCursor ?? undefined;
  } while (cursor && seen.length < MAX_TOOLBOX_CONNECTIONS);
  return seen.slice(0, MAX_TOOLBOX_CONNECTIONS);
}

/**
 * The tools of every connection the caller may see, named `<connectionId>.<tool>`. At most
 * one upstream `tools/list` per connection (none while its session holds the list, see
 * core/upstream/tool-list-cache.ts), a bounded number at once. Connections needing setup are
 * not called; one whose upstream fails is left out. Both are reported in `unavailable`, never
 * failing the listing.
 */
export async function listToolboxTools(services: ToolServices, access: Access, namespace: string, listRequest: unknown): Promise<ToolboxListing> {
  const owned = await services.namespaces.confirmOwned(access, namespace);
  const connections = await visibleConnections(services, access, owned);
  const unavailable: UnavailableConnection[] = [];
  const callable = connections.filter((connection) => {
    const state = connection.status.state;
    if (state === 'auth_required' || state === 'input_required') {
      unavailable.push({ connectionId: connection.connectionId, reason: state });
      return false;
    }
    // rpcReqMatch within the constraint that grants this connection: tools/list must be allowed on it.
    return allowsCall(access.scope, connection.metadata, listRequest);
  });
  const listed = await mapWithConcurrency(callable, TOOLBOX_LIST_CONCURRENCY, async (connection) => {
    try {
      const record = await services.connections.get(owned, connection.connectionId);
      if (!record) throw new AppError('not_found', 'The connection was deleted meanwhile');
      return { connection, tools: await fetchTools(services, record, 'use') };
    } catch (error) {
      const message = error instanceof AppError ? error.message : 'The upstream server failed';
      services.logger.warn({ connectionId: connection.connectionId, err: { message } }, 'toolbox: a connection’s tools could not be listed');
      unavailable.push({ connectionId: connection.connectionId, reason: 'failed', message });
      return { connection, tools: [] };
    }
  });

  const named = listed.flatMap(({ connection, tools: upstreamTools }) =>
    upstreamTools.map((tool) => ({ connection, tool, name: toolboxToolName(connection.connectionId, tool.name) })),
  );
  const counts = countOf(named.map(({ name }) => name));
  const segments = countOf(listed.map(({ connection }) => connectionSegment(connection.connectionId)));
  const tools: Tool[] = [];
  for (const { connection, tool, name } of named) {
    // Only a hash collision could do this (a call would find two candidates and route nowhere):
    // neither tool is shown, so none can be misrouted.
    if (counts.get(name)! > 1 || segments.get(connectionSegment(connection.connectionId))! > 1) {
      services.logger.warn({ connectionId: connection.connectionId }, 'toolbox: two tools map to one name; both left out');
      continue;
    }
    rememberHashedSegments(namespace, connection.connectionId, tool.name, name);
    tools.push(asToolboxTool(tool, name, connection));
  }
  return { tools, unavailable };
}

function rememberHashedSegments(namespace: string, connectionId: string, toolName: string, name: string): void {
  const segment = connectionSegment(connectionId);
  if (segment !== connectionId) hashedSegments.set(`${namespace}/${segment}`, connectionId);
  const toolPart = name.slice(segment.length + 1);
  if (toolPart !== toolName) hashedSegments.set(`${namespace}/${connectionId}/${toolPart}`, toolName);
}

/** The upstream tool under its toolbox name, everything else kept; the description says which connection serves it. */
function asToolboxTool(tool: Tool, name: string, connection: Connection): Tool {
  const label = connection.name === connection.connectionId ? connection.connectionId : `${connection.name} (${connection.connectionId})`;
  return {
    ...tool,
    name,
    description: tool.description ? `[${label}] ${tool.description}` : `[${label}] ${tool.name}`,
    _meta: { ...tool._meta, 'switchboard/connectionId': connection.connectionId, 'switchboard/toolName': tool.name },
  };
}

function countOf(values: string[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const value of values) counts.set(value, (counts.get(value) ?? 0) + 1);
  return counts;
}

async function mapWithConcurrency<T, R>(items: readonly T[], limit: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
