import { ProtocolError, type CallToolResult } from '@modelcontextprotocol/client';
import { describe, expect, it } from 'vitest';
import { saysToolUnknown } from '../../src/core/tools/unknown-tool.ts';

const failed = (text: string): { result: CallToolResult } => ({ result: { content: [{ type: 'text', text }], isError: true } });

describe('recognising an "unknown tool" answer (the tool did not run)', () => {
  it.each([
    ['the 2.x SDK error', { error: new ProtocolError(-32602, 'Tool search not found') }, true],
    ['an "Unknown tool" error', { error: new ProtocolError(-32602, 'Unknown tool: search') }, true],
    ['the 1.x SDK result', failed('MCP error -32602: Tool search not found'), true],
    ['another tool named in the error', { error: new ProtocolError(-32602, 'Tool other not found') }, false],
    ['invalid arguments', { error: new ProtocolError(-32602, 'Invalid arguments for tool search') }, false],
    ['another error code', { error: new ProtocolError(-32603, 'Tool search not found') }, false],
    ['a network failure', { error: new Error('Tool search not found') }, false],
    ['a tool failing in its own words', failed('Tool search not found in index: retry later'), false],
    ['a success that says so', { result: { content: [{ type: 'text' as const, text: 'Tool search not found' }] } }, false],
  ])('%s → %s', (_label, answer, expected) => {
    expect(saysToolUnknown(answer, 'search')).toBe(expected);
  });
});
