import type { ServerResponse } from 'node:http';
import { errorResponse } from '../api/error-mapping.ts';
import type { AppError } from '../errors.ts';

export function sendJson(res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
  sendJsonText(res, status, JSON.stringify(body), headers);
}

/** Sends already-serialized JSON (an empty string sends no body). */
export function sendJsonText(res: ServerResponse, status: number, payload: string, headers: Record<string, string> = {}): void {
  res.statusCode = status;
  for (const [name, value] of Object.entries(headers)) res.setHeader(name, value);
  res.setHeader('content-type', 'application/json; charset=utf-8');
  res.setHeader('content-length', Buffer.byteLength(payload));
  res.end(payload);
}

export function sendError(res: ServerResponse, error: AppError): void {
  const { status, headers, body } = errorResponse(error);
  sendJson(res, status, body, headers);
}
