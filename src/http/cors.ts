import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Config } from '../config.ts';

/** Request headers a browser may send: what the official client and MCP clients use. */
const ALLOWED_HEADERS = new Set([
  'authorization',
  'content-type',
  'accept',
  'mcp-session-id',
  'mcp-protocol-version',
  // 2026-07-28 clients mirror the method and the tool or resource name in headers.
  'mcp-method',
  'mcp-name',
  'last-event-id',
  'x-request-id',
]);
const EXPOSED_HEADERS =
  'mcp-session-id, mcp-protocol-version, x-request-id, x-should-retry, retry-after, retry-after-ms, ratelimit-limit, ratelimit-remaining, ratelimit-reset, www-authenticate';
const ALLOWED_METHODS = 'GET, POST, PUT, PATCH, DELETE, OPTIONS';

function isAllowedHeader(name: string): boolean {
  return ALLOWED_HEADERS.has(name) || name.startsWith('x-stainless-') || name.startsWith('mcp-param-');
}

/**
 * Browsers call us with bearer tokens, never cookies, so any allowed origin may read answers;
 * credentials mode stays off. Returns true when the request was a preflight and is answered.
 */
export function applyCors(req: IncomingMessage, res: ServerResponse, origins: Config['corsOrigins']): boolean {
  const origin = req.headers.origin;
  if (!origin) return false;
  const allowed = origins === '*' || origins.includes(origin);
  if (allowed) {
    res.setHeader('access-control-allow-origin', origins === '*' ? '*' : origin);
    if (origins !== '*') res.setHeader('vary', 'Origin');
  }
  const isPreflight = req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined;
  if (!isPreflight) {
    if (allowed) res.setHeader('access-control-expose-headers', EXPOSED_HEADERS);
    return false;
  }
  if (allowed) {
    const requested = (req.headers['access-control-request-headers'] ?? '')
      .split(',')
      .map((h) => h.trim().toLowerCase())
      .filter(Boolean);
    const granted = [...new Set([...ALLOWED_HEADERS, ...requested.filter(isAllowedHeader)])];
    res.setHeader('access-control-allow-methods', ALLOWED_METHODS);
    res.setHeader('access-control-allow-headers', granted.join(', '));
    res.setHeader('access-control-max-age', '600');
  }
  res.statusCode = 204;
  res.end();
  return true;
}
