import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../api/context.ts';
import type { ConnectionRecord } from '../core/connections/connection-store.ts';
import { JsonRpcCode, sendJsonRpcError, type JsonRpcId } from './json-rpc.ts';

/** The upstream wants the end user to authorize: HTTP 401 with JSON-RPC -32001 and where they do it (docs/mcp-endpoint.md). */
export function sendAuthorizationRequired(res: ServerResponse, ctx: Pick<RequestContext, 'links'>, connection: ConnectionRecord, id: JsonRpcId): void {
  const authorizationUrl = ctx.links.urlFor(connection);
  sendJsonRpcError(res, 401, id, {
    code: JsonRpcCode.authorizationRequired,
    message: 'Authorization required',
    data: { connectionId: connection.id, authorizationUrl, setupUrl: ctx.links.setupUrlFor(connection) },
  });
}
