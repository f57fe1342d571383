/**
 * A typed tRPC client for Switchboard: every procedure, input and output is checked by
 * TypeScript against the server's own router type.
 *
 *   SWITCHBOARD_URL=http://127.0.0.1:8080 SWITCHBOARD_API_KEY=sk_... \
 *     node --import tsx examples/trpc-client.ts https://mcp.example.com/mcp echo '{"message":"hi"}'
 *
 * Arguments: the MCP server's URL, then optionally a tool to call and its arguments as JSON.
 * Prints one JSON object per step. (An example, not part of the service: it reads its own
 * environment.)
 */
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '../src/api/router.ts';

const baseUrl = process.env.SWITCHBOARD_URL ?? 'http://127.0.0.1:8080';
const apiKey = process.env.SWITCHBOARD_API_KEY;
const [mcpUrl, tool = 'echo', argumentsJson = '{"message":"hello from tRPC"}'] = process.argv.slice(2);
if (!apiKey || !mcpUrl) {
  console.error('Usage: SWITCHBOARD_API_KEY=sk_... node --import tsx examples/trpc-client.ts <mcpUrl> [tool] [arguments as JSON]');
  process.exit(2);
}

const switchboard = createTRPCClient<AppRouter>({
  // One HTTP request carries the calls made in the same tick.
  links: [httpBatchLink({ url: `${baseUrl}/trpc`, headers: { authorization: `Bearer ${apiKey}` } })],
});

const show = (step: string, result: unknown) => console.log(JSON.stringify({ step, result }));

try {
  const namespace = await switchboard.namespaces.create.mutate();
  show('namespace', namespace);

  const connection = await switchboard.connections.create.mutate({
    namespace: namespace.name,
    mcpUrl,
    name: 'trpc-example',
    metadata: { client: 'trpc' },
  });
  show('connection', connection);

  const { connections } = await switchboard.connections.list.query({ namespace: namespace.name, metadata: { client: 'trpc' } });
  show('connections', connections.map((c) => c.connectionId));

  const { tools } = await switchboard.tools.list.query({ namespace: namespace.name, connectionId: connection.connectionId });
  show('tools', tools.map((t) => t.name));

  const result = await switchboard.tools.invoke.mutate({
    namespace: namespace.name,
    connectionId: connection.connectionId,
    toolPath: tool,
    arguments: JSON.parse(argumentsJson) as Record<string, unknown>,
  });
  show('call', result);
} catch (error) {
  // Our error code and HTTP status travel in `data`: { error: 'not_found', httpStatus: 404, ... }.
  if (error instanceof TRPCClientError) {
    const { data } = error as TRPCClientError<AppRouter>;
    console.error(JSON.stringify({ error: data?.error, status: data?.httpStatus, message: error.message }));
  } else {
    console.error(String(error));
  }
  process.exit(1);
}
