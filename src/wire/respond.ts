import type { ServerResponse } from 'node:http';
import { retryAfterHeaders } from '../core/rate-limits/rate-limit-headers.ts';
import { httpStatusByErrorCode, RateLimitedError, type AppError, type ErrorBody } from '../errors.ts';

/**
 * How every surface that answers HTTP writes JSON, and an AppError as `{error, message}` with its
 * status and headers (the one rendering of the closed error codes). It lives in src/wire/, below
 * the surfaces and the API, so that REST, the pages, the MCP endpoints and the metrics listener
 * all render errors the same way without importing one another (docs/architecture.md).
 */
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

/** An AppError as the HTTP answer it becomes: status, headers, and the `{error, message}` body. */
export type ErrorResponse = { status: number; headers: Record<string, string>; body: ErrorBody };

export function errorResponse(error: AppError): ErrorResponse {
  const headers: Record<string, string> = {};
  // A 409 carries `x-should-retry: false` on every surface: see markConflictsFinal.
  if (error.code === 'unauthorized') headers['www-authenticate'] = 'Bearer realm="switchboard"';
  // What is unavailable now (the database restarting) usually is back within seconds.
  if (error.code === 'service_unavailable') headers['retry-after'] = '2';
  if (error instanceof RateLimitedError) Object.assign(headers, retryAfterHeaders(error.retryAfterMs));
  return { status: httpStatusByErrorCode[error.code], headers, body: { error: error.code, message: error.message } };
}
