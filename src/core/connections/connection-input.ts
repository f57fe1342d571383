import { AppError } from '../../errors.ts';
import type { EgressAllowlist } from '../../egress-allowlist.ts';
import { checkOutboundUrl, type OutboundUrlField } from '../network/outbound-url.ts';

/**
 * Checks on what callers send about a connection: its id, its upstream URL and its
 * credential headers. Each returns the normalized value or throws `validation_error` with a
 * message that says what to fix.
 */

const CONNECTION_ID_PATTERN = /^[A-Za-z0-9_~][A-Za-z0-9._~:@-]{0,127}$/;
const MAX_HEADERS = 32;
const MAX_HEADER_VALUE_LENGTH = 8192;
const HEADER_NAME_PATTERN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]{1,128}$/;
// Visible ASCII and tabs/spaces only: no CR/LF (header injection), no control characters.
const HEADER_VALUE_PATTERN = /^[\t\x20-\x7e\x80-\xff]*$/;

/** Headers Switchboard sets itself on every upstream request, or that HTTP reserves. */
const RESERVED_HEADERS = new Set([
  'host',
  'connection',
  'content-length',
  'content-type',
  'transfer-encoding',
  'te',
  'trailer',
  'upgrade',
  'keep-alive',
  'proxy-connection',
  'accept',
  'accept-encoding',
  'expect',
  'mcp-session-id',
  'mcp-protocol-version',
  'last-event-id',
]);

export function isConnectionId(id: string): boolean {
  return CONNECTION_ID_PATTERN.test(id);
}

export function checkConnectionId(id: string): string {
  if (!isConnectionId(id)) {
    throw new AppError(
      'validation_error',
      'A connection id is 1 to 128 characters: letters, digits and . _ ~ : @ -, not starting with a dot or hyphen',
    );
  }
  return id;
}

const MCP_URL_FIELD: OutboundUrlField = {
  name: 'mcpUrl',
  example: 'https://mcp.example.com/mcp',
  credentialsInstead: 'send credentials in headers',
};

/** The upstream's URL, checked as every outbound URL is (see core/network/outbound-url.ts). */
export function checkMcpUrl(raw: string, allowlist: EgressAllowlist): string {
  return checkOutboundUrl(raw, allowlist, MCP_URL_FIELD);
}

/** Header names are case-insensitive: stored lowercased, so a later update replaces cleanly. */
export function checkCredentialHeaders(headers: Record<string, string>): Record<string, string> {
  const entries = Object.entries(headers);
  if (entries.length > MAX_HEADERS) throw new AppError('validation_error', `At most ${MAX_HEADERS} headers are accepted`);
  const checked: Record<string, string> = {};
  for (const [rawName, value] of entries) {
    const name = rawName.toLowerCase();
    if (!HEADER_NAME_PATTERN.test(rawName)) throw new AppError('validation_error', `"${rawName}" is not a valid HTTP header name`);
    if (RESERVED_HEADERS.has(name)) {
      throw new AppError('validation_error', `The header "${rawName}" is managed by Switchboard and cannot be set on a connection`);
    }
    if (typeof value !== 'string' || value.length > MAX_HEADER_VALUE_LENGTH || !HEADER_VALUE_PATTERN.test(value)) {
      // Never echo the value: it is a credential.
      throw new AppError('validation_error', `The value of header "${rawName}" must be a single line of at most ${MAX_HEADER_VALUE_LENGTH} characters`);
    }
    if (name in checked) throw new AppError('validation_error', `The header "${rawName}" is given twice`);
    checked[name] = value;
  }
  return checked;
}

/** Same host and path, so only the query string differs: the `input_required` exception to the 409 rule. */
export function sameEndpoint(a: string, b: string): boolean {
  const left = new URL(a);
  const right = new URL(b);
  return left.protocol === right.protocol && left.host === right.host && left.pathname === right.pathname;
}
