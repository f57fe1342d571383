import type { ServerResponse } from 'node:http';
import type { RequestContext } from '../api/context.ts';
import type { ConnectionRecord } from '../core/connections/connection-store.ts';
import { authorizationRequiredError, type SetupNeededError } from '../core/connections/setup-needed.ts';
import { type JsonRpcId, sendJsonRpcError } from './json-rpc.ts';

/** The upstream wants the end user to authorize: HTTP 401 with JSON-RPC -32001 and where they do it (docs/mcp-endpoint.md). */
export function sendAuthorizationRequired(res: ServerResponse, ctx: Pick<RequestContext, 'links'>, connection: ConnectionRecord, id: JsonRpcId): void {
  sendSetupNeeded(res, authorizationRequiredError(connection, ctx.links), id);
}

export function sendSetupNeeded(res: ServerResponse, error: SetupNeededError, id: JsonRpcId): void {
  sendJsonRpcError(res, error.httpStatus, id, { code: error.code, message: error.message, data: error.data });
}
