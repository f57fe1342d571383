import type { ServerResponse } from 'node:http';

/** JSON-RPC error codes Switchboard answers with itself. */
export const JsonRpcCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  internalError: -32603,
  serverError: -32000,
  /** The upstream needs the end user to authorize (CONTRACT: with data.authorizationUrl). */
  authorizationRequired: -32001,
  /** The upstream needs configuration the connection lacks (CONTRACT: with data.http, data.missing). */
  inputRequired: -32002,
} as const;

export type JsonRpcId = string | number | null;

/** The shapes a posted body can take, told apart without trusting anything else in it. */
export type IncomingMessageKind =
  | { kind: 'request'; id: string | number; method: string; params: Record<string, unknown> | undefined }
  | { kind: 'notification'; method: string }
  | { kind: 'response' }
  | { kind: 'batch'; messages: unknown[] }
  | { kind: 'invalid' };

export function classifyMessage(body: unknown): IncomingMessageKind {
  if (Array.isArray(body)) return body.length > 0 ? { kind: 'batch', messages: body } : { kind: 'invalid' };
  if (body === null || typeof body !== 'object') return { kind: 'invalid' };
  const message = body as Record<string, unknown>;
  if (message.jsonrpc !== '2.0') return { kind: 'invalid' };
  const hasId = typeof message.id === 'string' || typeof message.id === 'number';
  if (typeof message.method === 'string') {
    const params = message.params;
    if (params !== undefined && (params === null || typeof params !== 'object' || Array.isArray(params))) return { kind: 'invalid' };
    if (hasId) return { kind: 'request', id: message.id as string | number, method: message.method, params: params as Record<string, unknown> | undefined };
    return message.id === undefined ? { kind: 'notification', method: message.method } : { kind: 'invalid' };
  }
  if (hasId && ('result' in message || 'error' in message)) return { kind: 'response' };
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
