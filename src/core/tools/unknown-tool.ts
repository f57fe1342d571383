import { ProtocolError, ProtocolErrorCode, type CallToolResult } from '@modelcontextprotocol/client';

/**
 * Whether the upstream's answer to a call of `name` says it has no such tool, so the tool did
 * not run and the call may be sent again once the tool list is refreshed. Two forms are
 * recognised: the JSON-RPC error -32602 naming the tool (the spec's form, and the 2.x SDK
 * servers': "Tool x not found"), and the tool result the 1.x SDK servers wrap that error in
 * (`isError`, text "MCP error -32602: Tool x not found"). A result is matched exactly, since a
 * tool that ran may fail with any text of its own and must never run twice.
 */
export function saysToolUnknown(answer: { error: unknown } | { result: CallToolResult }, name: string): boolean {
  if ('error' in answer) {
    const { error } = answer;
    return error instanceof ProtocolError && error.code === ProtocolErrorCode.InvalidParams && mentionsUnknownTool(error.message, name);
  }
  const { result } = answer;
  if (result.isError !== true || result.content.length !== 1) return false;
  const [content] = result.content;
  return content?.type === 'text' && unknownToolTexts(name).includes(content.text.trim());
}

function mentionsUnknownTool(message: string, name: string): boolean {
  return message.includes(name) && /\btool\b.*\bnot found\b|\bunknown tool\b/i.test(message);
}

function unknownToolTexts(name: string): string[] {
  return [`MCP error -32602: Tool ${name} not found`, `Tool ${name} not found`, `Unknown tool: ${name}`];
}
