import type { ServerResponse } from 'node:http';
import { isJSONRPCNotification, isJSONRPCRequest, isJSONRPCResponse } from '@modelcontextprotocol/server';

/**
 * JSON-RPC's generic server error (-32000, from the range it leaves to servers), for refusals of
 * the endpoint's own: methods, rate and session limits, unknown sessions, token policy. The
 * standard codes come from the SDK (`ProtocolErrorCode`); the SDK names no code for this one.
 */
export const SERVER_ERROR = -32000;

export type JsonRpcId = string | number | null;

/** The shapes a posted body can take, told apart by the SDK's own JSON-RPC schemas. */
export type IncomingMessageKind =
  | { kind: 'request'; id: string | number; method: string; params: Record<string, unknown> | undefined }
  | { kind: 'notification'; method: string }
  | { kind: 'response' }
  | { kind: 'batch'; messages: unknown[] }
  | { kind: 'invalid' };

export function classifyMessage(body: unknown): IncomingMessageKind {
  if (Array.isArray(body)) return body.length > 0 ? { kind: 'batch', messages: body } : { kind: 'invalid' };
  if (isJSONRPCRequest(body)) return { kind: 'request', id: body.id, method: body.method, params: body.params };
  if (isJSONRPCNotification(body)) return { kind: 'notification', method: body.method };
  if (isJSONRPCResponse(body)) return { kind: 'response' };
  return { kind: 'invalid' };
}

export function sendJsonRpcResult(res: ServerResponse, id: JsonRpcId, result: unknown): void {
  send(res, 200, { jsonrpc: '2.0', id, result });
}

export function sendJsonRpcError(
  res: ServerResponse,
  status: number,
  id: JsonRpcId,
  error: { code: number; message: string; data?: unknown },
  headers: Record<string, string> = {},
): void {
  send(res, status, { jsonrpc: '2.0', id, error }, headers);
}

/** One SSE frame carrying a JSON-RPC message. */
export function sseFrame(message: unknown): string {
  return `event: message\ndata: ${JSON.stringify(message)}\n\n`;
}

function send(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  const payload = JSON.stringify(body);
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(payload);
}
