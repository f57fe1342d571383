import type { Command } from 'commander';
import { collectRaw, positiveInteger, toPairs } from '../arguments.ts';
import { type Connection, printConnection, printConnectionTable } from '../connection-display.ts';
import { httpContext } from '../context.ts';
import { segment, type Query } from '../http-client.ts';
import { printJson, printLine, withProgress } from '../output.ts';

type ConnectionPage = { connections: Connection[]; nextCursor: string | null };
type AddOptions = { url: string; id?: string; name?: string; header?: string[]; metadata?: string[] };
type ListOptions = { metadata?: string[]; limit?: number; cursor?: string; all?: boolean };

export function registerConnectionCommands(program: Command): void {
  const connections = program.command('connections').description('Add, list, inspect and remove connections to MCP servers (over HTTP)');

  connections
    .command('add')
    .argument('<namespace>', 'the namespace')
    .requiredOption('--url <mcp-url>', 'the upstream MCP server')
    .option('--id <id>', 'a connection id of your choice (creates or updates it); generated when left out')
    .option('--name <name>', 'a human-readable name')
    .option('--header <key=value>', 'a credential header sent upstream, stored encrypted (repeatable)', collectRaw)
    .option('--metadata <key=value>', 'metadata for your own bookkeeping, filterable (repeatable)', collectRaw)
    .description('Add a connection (or, with --id, create or update it) and show its status')
    .addHelpText(
      'after',
      `
Here --url is the upstream; the server is SWITCHBOARD_URL, or: switchboard --url URL connections add …

Examples:
  switchboard connections add my-team --url https://mcp.example.com/mcp --header "x-api-key=$UPSTREAM_KEY"
  switchboard connections add my-team --id github --url https://api.githubcopilot.com/mcp/ --metadata userId=alice`,
    )
    .action(async (namespace: string, options: AddOptions, command: Command) => {
      const headers = toPairs(options.header, '--header');
      const metadata = toPairs(options.metadata, '--metadata');
      const { client, json } = httpContext(command);
      const body = {
        mcpUrl: options.url,
        ...(options.name === undefined ? {} : { name: options.name }),
        ...(headers ? { headers } : {}),
        ...(metadata ? { metadata } : {}),
      };
      const path = options.id === undefined ? `/${segment(namespace)}` : `/${segment(namespace)}/${segment(options.id)}`;
      const connection = await withProgress(`Connecting to ${options.url}`, () => client.request<Connection>(options.id === undefined ? 'POST' : 'PUT', path, { body }));
      if (json) return printJson(connection);
      printConnection(connection);
    });

  connections
    .command('list')
    .argument('<namespace>', 'the namespace')
    .option('--metadata <key=value>', 'only connections whose metadata holds this pair (repeatable, ANDed)', collectRaw)
    .option('--limit <n>', 'connections per page (1–100)', positiveInteger(100))
    .option('--cursor <cursor>', 'continue from a previous page')
    .option('--all', 'follow nextCursor through every page')
    .description('List connections, oldest first')
    .addHelpText('after', `
Examples:
  switchboard connections list my-team
  switchboard connections list my-team --metadata userId=alice --all --json`)
    .action(async (namespace: string, options: ListOptions, command: Command) => {
      const metadata = toPairs(options.metadata, '--metadata');
      const { client, json } = httpContext(command);
      const filters = Object.fromEntries(Object.entries(metadata ?? {}).map(([key, value]) => [`metadata.${key}`, value]));
      const found: Connection[] = [];
      let cursor = options.cursor;
      let page: ConnectionPage;
      do {
        const query: Query = { ...filters, limit: options.limit, cursor };
        page = await client.request<ConnectionPage>('GET', `/${segment(namespace)}`, { query });
        found.push(...page.connections);
        cursor = page.nextCursor ?? undefined;
      } while (options.all && cursor);
      if (json) return printJson({ connections: found, nextCursor: page.nextCursor });
      if (found.length === 0) printLine('No connections.');
      else printConnectionTable(found);
      if (page.nextCursor) printLine(`More: --cursor ${page.nextCursor} (or --all)`);
    });

  connections
    .command('get')
    .argument('<namespace>', 'the namespace')
    .argument('<id>', 'the connection id')
    .description('Show a connection and its status (where to authorize, what input is missing)')
    .addHelpText('after', `
Example:
  switchboard connections get my-team github`)
    .action(async (namespace: string, id: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const connection = await withProgress(`Checking ${id}`, () => client.request<Connection>('GET', `/${segment(namespace)}/${segment(id)}`));
      if (json) return printJson(connection);
      printConnection(connection);
    });

  connections
    .command('remove')
    .argument('<namespace>', 'the namespace')
    .argument('<id>', 'the connection id')
    .description('Remove a connection (ends its upstream session)')
    .addHelpText('after', `
Example:
  switchboard connections remove my-team github`)
    .action(async (namespace: string, id: string, _options, command: Command) => {
      const { client, json } = httpContext(command);
      const answer = await client.request<{ success: true }>('DELETE', `/${segment(namespace)}/${segment(id)}`);
      if (json) return printJson(answer);
      printLine(`Removed connection ${id}.`);
    });
}
