import { createHash } from 'node:crypto';
import { encodeBase32LowerCaseNoPadding } from '@oslojs/encoding';

/**
 * Names of the namespace toolbox: `<connectionId>.<tool>`, within the MCP rule for tool names
 * (1 to 64 characters of `A-Z a-z 0-9 _ . -`). The mapping is a pure function of the connection
 * id and the upstream tool name, so any replica maps a name back without shared state:
 *
 * - The connection segment never contains `.`, so the first `.` splits a name in two.
 * - A segment is the id or tool name itself when it fits and keeps to the allowed characters;
 *   otherwise a sanitized, truncated prefix, `--` and a 50-bit hash of the whole original.
 *   A plain segment never contains `--` (names that do are always hashed), so a plain and a
 *   hashed segment can never be equal: two tools share a name only if two hashes collide.
 */
export const MAX_TOOL_NAME_LENGTH = 64;

/** Room for the connection segment: at least 31 characters are always left for the tool. */
const MAX_CONNECTION_SEGMENT = 32;
const HASH_MARK = '--';
const HASH_LENGTH = 10;
const HASHED_SUFFIX = HASH_MARK.length + HASH_LENGTH;

const PLAIN_CONNECTION = /^[A-Za-z0-9_-]+$/;
const PLAIN_TOOL = /^[A-Za-z0-9_.-]+$/;
export const TOOL_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,64}$/;

export function connectionSegment(connectionId: string): string {
  if (isPlain(connectionId, PLAIN_CONNECTION, MAX_CONNECTION_SEGMENT)) return connectionId;
  return hashed(connectionId, /[^A-Za-z0-9_-]/g, MAX_CONNECTION_SEGMENT);
}

export function toolSegment(toolName: string, budget: number): string {
  if (isPlain(toolName, PLAIN_TOOL, budget)) return toolName;
  return hashed(toolName, /[^A-Za-z0-9_.-]/g, budget);
}

/** The name a tool has in the toolbox. */
export function toolboxToolName(connectionId: string, toolName: string): string {
  const connection = connectionSegment(connectionId);
  return `${connection}.${toolSegment(toolName, toolBudget(connection))}`;
}

/** How long the tool segment may be after a connection segment (at least 31). */
export function toolBudget(connectionSegment: string): number {
  return MAX_TOOL_NAME_LENGTH - connectionSegment.length - 1;
}

/** What a toolbox name says by itself: its connection id and upstream tool name when those are plain. */
export type ParsedToolboxName = {
  connectionSegment: string;
  toolSegment: string;
  /** The connection id, unless the segment is hashed (then the visible connections must be searched). */
  connectionId: string | undefined;
  /** The upstream tool name, unless the segment is hashed (then the connection's tools must be searched). */
  toolName: string | undefined;
};

export function parseToolboxName(name: string): ParsedToolboxName | undefined {
  if (!TOOL_NAME_PATTERN.test(name)) return undefined;
  const dot = name.indexOf('.');
  if (dot <= 0 || dot === name.length - 1) return undefined;
  const connection = name.slice(0, dot);
  const tool = name.slice(dot + 1);
  const connectionId = connection.includes(HASH_MARK) ? undefined : connection;
  const toolName = tool.includes(HASH_MARK) ? undefined : tool;
  // A plain segment is only ever produced for names that stay plain: anything else names nothing.
  if (connectionId !== undefined && connectionSegment(connectionId) !== connection) return undefined;
  if (toolName !== undefined && toolSegment(toolName, toolBudget(connection)) !== tool) return undefined;
  return { connectionSegment: connection, toolSegment: tool, connectionId, toolName };
}

function isPlain(value: string, allowed: RegExp, budget: number): boolean {
  return value.length > 0 && value.length <= budget && allowed.test(value) && !value.includes(HASH_MARK);
}

function hashed(value: string, disallowed: RegExp, budget: number): string {
  const prefix = value.replace(disallowed, '_').slice(0, Math.max(0, budget - HASHED_SUFFIX));
  return `${prefix}${HASH_MARK}${hashOf(value)}`;
}

function hashOf(value: string): string {
  return encodeBase32LowerCaseNoPadding(createHash('sha256').update(value, 'utf8').digest()).slice(0, HASH_LENGTH);
}
