import {
  CLIENT_CAPABILITIES_META_KEY,
  CLIENT_INFO_META_KEY,
  PROTOCOL_VERSION_META_KEY,
  SUPPORTED_PROTOCOL_VERSIONS,
} from '@modelcontextprotocol/client';
import { SWITCHBOARD_VERSION } from '../../version.ts';

/**
 * Requests to a 2026-07-28 upstream carry the protocol version, client info and capabilities
 * in `params._meta`, mirrored by the MCP-Protocol-Version, Mcp-Method and Mcp-Name headers.
 * A client of the 2025 protocol sends none of that: Switchboard adds it. A 2026 client's
 * envelope is kept as it is.
 */
/**
 * The body field Mcp-Name mirrors, by method (the SDK's table, SEP-2243 and SEP-2663): the
 * header must name what the body names, or an intermediary routing by the header and the
 * upstream reading the body act on different things. Other methods carry no Mcp-Name.
 */
const MCP_NAME_SOURCE: Readonly<Record<string, 'name' | 'uri' | 'taskId'>> = {
  'tools/call': 'name',
  'prompts/get': 'name',
  'resources/read': 'uri',
  'tasks/get': 'taskId',
  'tasks/update': 'taskId',
  'tasks/cancel': 'taskId',
};

export type Envelope2026Request = { body: unknown; headers: Record<string, string> };

/**
 * The protocol version a client names in `params._meta`, if any: only a version the SDK knows
 * (or the one negotiated with the upstream) may reach the MCP-Protocol-Version header; anything
 * else there (another string, a number) is refused, never forwarded.
 */
export function claimedProtocolVersion(
  params: Record<string, unknown> | undefined,
  negotiated: string,
): { ok: true; version: string | undefined } | { ok: false } {
  const meta = params?._meta;
  if (meta === null || typeof meta !== 'object' || !Object.hasOwn(meta, PROTOCOL_VERSION_META_KEY)) return { ok: true, version: undefined };
  const claimed = (meta as Record<string, unknown>)[PROTOCOL_VERSION_META_KEY];
  const known = typeof claimed === 'string' && (claimed === negotiated || SUPPORTED_PROTOCOL_VERSIONS.includes(claimed));
  return known ? { ok: true, version: claimed } : { ok: false };
}

/**
 * `message` is the parsed JSON-RPC message (the one the policies saw); it is left as it is.
 * The caller has refused a claimed protocol version that `claimedProtocolVersion` does not accept.
 */
export function withEnvelope2026(
  message: unknown,
  call: { method: string; params: Record<string, unknown> | undefined },
  protocolVersion: string,
): Envelope2026Request {
  const params = (message as { params?: Record<string, unknown> }).params;
  const meta = (params?._meta ?? {}) as Record<string, unknown>;
  const claimed = claimedProtocolVersion(params, protocolVersion);
  if (!claimed.ok) throw new Error('An unknown protocol version reached the 2026 envelope');
  let body = message;
  let version = protocolVersion;
  if (claimed.version !== undefined) {
    version = claimed.version;
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
  const source = Object.hasOwn(MCP_NAME_SOURCE, call.method) ? MCP_NAME_SOURCE[call.method] : undefined;
  const name = source && call.params?.[source];
  if (typeof name === 'string') headers['mcp-name'] = encodeHeaderValue(name);
  return { body, headers };
}

/** Plain visible ASCII goes as it is; anything else as `=?base64?…?=` (the spec's rule). */
export function encodeHeaderValue(value: string): string {
  const plain = value.length > 0 && value === value.trim() && /^[\t\x20-\x7e]*$/.test(value) && !/^=\?base64\?.*\?=$/.test(value);
  return plain ? value : `=?base64?${Buffer.from(value, 'utf8').toString('base64')}?=`;
}
