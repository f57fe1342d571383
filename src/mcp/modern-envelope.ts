import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
} from '@modelcontextprotocol/client';
import { SWITCHBOARD_VERSION } from '../version.ts';

/**
 * Requests to a 2026-07-28 upstream carry the protocol version, client info and capabilities
 * in `params._meta`, mirrored by the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers.
 * A client of the 2025 protocol sends none of that: Switchboard adds it. A modern client's
 * envelope is kept as it is.
 */
const NAMED_METHODS = new Set(['tools/call', 'resources/read', 'prompts/get']);

export type ModernRequest = { body: unknown; headers: Record<string, string> };

/** `message` is the parsed JSON-RPC message (the one the policies saw); it is left as it is. */
export function toModernRequest(
  message: unknown,
  call: { method: string; params: Record<string, unknown> | undefined },
  protocolVersion: string,
): ModernRequest {
  const params = (message as { params?: Record<string, unknown> }).params;
  const meta = (params?._meta ?? {}) as Record<string, unknown>;
  const claimed = meta[PROTOCOL_VERSION_META_KEY];
  let body = message;
  let version = protocolVersion;
  if (typeof claimed === 'string') {
    version = claimed;
  } else {
    body = {
      ...(message as Record<string, unknown>),
      params: {
        ...params,
        _meta: {
          [PROTOCOL_VERSION_META_KEY]: protocolVersion,
          [CLIENT_CAPABILITIES_META_KEY]: {},
          [CLIENT_INFO_META_KEY]: { name: 'switchboard', version: SWITCHBOARD_VERSION },
          ...meta,
        },
      },
    };
  }
  const headers: Record<string, string> = { 'mcp-protocol-version': version, 'mcp-method': call.method };
  const name = call.params?.name ?? call.params?.uri;
  if (NAMED_METHODS.has(call.method) && typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  return { body, headers };
}

/** Plain visible ASCII goes as it is; anything else as `=?base64?…?=` (the spec's rule). */
export function encodeHeaderValue(value: string): string {
  const plain = value.length > 0 && value === value.trim() && /^[\t\x20-\x7e]*$/.test(value) && !/^=\?base64\?.*\?=$/.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
