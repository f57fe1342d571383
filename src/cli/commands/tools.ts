import type { Command } from 'commander';
import { isPlainObject, readJsonArgument } from '../arguments.ts';
import { httpContext } from '../context.ts';
import { ApiError, UsageError } from '../errors.ts';
import { segment } from '../http-client.ts';
import { cell, printJson, printLine, printTable, withProgress } from '../output.ts';

type Tool = { name: string; description?: string; inputSchema: { properties?: Record<string, unknown>; required?: string[] } };
type Content = { type: string; text?: string; mimeType?: string; data?: string; uri?: string; resource?: { uri?: string; text?: string } };
type CallToolResult = { content?: Content[]; structuredContent?: unknown; isError?: boolean };

/** A tool's arguments as `name` for required ones and `[name]` for optional ones: enough to write a call. */
function argumentSummary(tool: Tool): string {
  const required = new Set(tool.inputSchema.required ?? []);
  return Object.keys(tool.inputSchema.properties ?? {})
    .map((name) => (required.has(name) ? name : `[${name}]`))
    .join(' ');
}

/** Text content as it is; other kinds named, since a terminal cannot show an image. */
function printContent(content: Content[]): void {
  for (const item of content) {
    if (item.type === 'text') printLine(item.text ?? '');
    else if (item.type === 'resource') printLine(item.resource?.text ?? `[resource ${item.resource?.uri ?? ''}]`);
    else if (item.type === 'resource_link') printLine(`[resource link ${item.uri ?? ''}]`);
    else printLine(`[${item.type}${item.mimeType ? ` ${item.mimeType}` : ''}${item.data ? `, ${Math.floor((item.data.length * 3) / 4)} bytes` : ''}]`);
  }
}

export function registerToolCommands(program: Command): void {
  const tools = program.command('tools').description('List and call the tools of a connection (over HTTP)');

  tools
    .command('list')
    .argument('<namespace>', 'the namespace')
    .argument('<id>', 'the connection id')
    .description('List the tools of a connection')
    .addHelpText('after', `
Examples:
  switchboard tools list my-team github
  switchboard tools list my-team github --json | jq -r '.tools[].name'`)
    .action(async (namespace: string, id: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const answer = await withProgress(`Listing the tools of ${id}`, () =>
        client.request<{ tools: Tool[] }>('GET', `/${segment(namespace)}/${segment(id)}/.tools`),
      );
      if (json) return printJson(answer);
      if (answer.tools.length === 0) return printLine('No tools.');
      printTable(['TOOL', 'ARGUMENTS', 'DESCRIPTION'], answer.tools.map((tool) => [tool.name, cell(argumentSummary(tool), 40), cell(tool.description, 70)]));
    });

  tools
    .command('call')
    .argument('<namespace>', 'the namespace')
    .argument('<id>', 'the connection id')
    .argument('<tool>', 'the tool name')
    .argument('[arguments]', "the tool's arguments as a JSON object, or - to read them from stdin", '{}')
    .description('Call a tool; prints its text content (exit 1 when the tool reports an error)')
    .addHelpText(
      'after',
      `
Examples:
  switchboard tools call my-team github create_issue '{"title":"Bug","body":"…"}'
  echo '{"query":"mcp"}' | switchboard tools call my-team search search -
  switchboard tools call my-team github list_issues --json | jq '.content[0].text'`,
    )
    .action(async (namespace: string, id: string, tool: string, raw: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const args = await readJsonArgument(raw, 'the tool arguments');
      if (!isPlainObject(args)) throw new UsageError('the tool arguments must be a JSON object, e.g. \'{"message":"hi"}\'');
      const result = await withProgress(`Calling ${tool}`, () =>
        client.request<CallToolResult>('POST', `/${segment(namespace)}/${segment(id)}/.tools/${segment(tool)}`, { body: args }),
      );
      if (json) printJson(result);
      else if (result.content?.length) printContent(result.content);
      else if (result.structuredContent !== undefined) printJson(result.structuredContent);
      // The call went through but the tool failed: scripts must see it in the exit code.
      if (result.isError) throw new ApiError(`the tool ${tool} reported an error${json ? '' : ' (shown above)'}`);
    });
}
