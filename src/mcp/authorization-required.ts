import type { ServerResponse } from 'node:http';
import { SetupNeededCode } from '../core/connections/setup-needed-codes.ts';
import type { RequestContext } from '../api/context.ts';
import type { ConnectionRecord } from '../core/connections/connection-store.ts';
import { type JsonRpcId, sendJsonRpcError } from './json-rpc.ts';

/** The upstream wants the end user to authorize: HTTP 401 with JSON-RPC -32001 and where they do it (docs/mcp-endpoint.md). */
export function sendAuthorizationRequired(res: ServerResponse, ctx: Pick<RequestContext, 'links'>, connection: ConnectionRecord, id: JsonRpcId): void {
  const authorizationUrl = ctx.links.urlFor(connection);
  sendJsonRpcError(res, 401, id, {
    code: SetupNeededCode.authorizationRequired,
    message: 'Authorization required',
    data: { connectionId: connection.id, authorizationUrl, setupUrl: ctx.links.setupUrlFor(connection) },
  });
}
