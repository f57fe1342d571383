import { z } from 'zod';
import { callConnectionTool, getConnectionTool, listConnectionTools, listNamespaceTools } from '../../core/tools/tools.ts';
import { connectionPath, connectionStatusSchema, listConnectionsInput, toolPathParam } from '../connection-schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const tags = ['tools'];
const read = { resource: 'connections', operation: 'read', namespaceFrom: 'namespace' } as const;
const execute = { resource: 'connections', operation: 'execute', namespaceFrom: 'namespace' } as const;

// Tools are the upstream's own JSON: passed through whole, never narrowed by our schemas.
const toolSchema = z
  .looseObject({ name: z.string(), inputSchema: z.record(z.string(), z.unknown()), description: z.string().optional() })
  .meta({ id: 'Tool', description: 'An MCP tool, as the upstream server describes it' });
const toolListSchema = z.object({ tools: z.array(toolSchema) }).meta({ id: 'ToolList' });
const callToolResultSchema = z
  .looseObject({ content: z.array(z.record(z.string(), z.unknown())).optional(), isError: z.boolean().optional() })
  .meta({ id: 'CallToolResult', description: 'The MCP CallToolResult; a tool that failed has isError: true' });

// `.` is escaped because trpc-to-openapi turns paths into regular expressions as they are;
// the OpenAPI document shows the plain path.
export const toolsRouter = router({
  listNamespace: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/{namespace}/\\.tools',
        summary: 'List the tools of every connection in a namespace, one envelope per connection',
        tags,
      },
      access: read,
      metadataFilters: true,
    })
    .input(listConnectionsInput)
    .output(
      z.object({
        connections: z.array(
          z.object({
            connectionId: z.string(),
            name: z.string(),
            status: connectionStatusSchema,
            tools: z.array(toolSchema).nullable(),
            error: z.string().nullable(),
          }),
        ),
        nextCursor: z.string().nullable(),
      }),
    )
    .query(({ ctx, input: { namespace, ...query } }) => listNamespaceTools(ctx, ctx.access, namespace, query)),

  list: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/{namespace}/{connectionId}/\\.tools', summary: 'List the tools of a connection', tags },
      access: read,
    })
    .input(z.object(connectionPath))
    .output(toolListSchema)
    .query(({ ctx, input }) => listConnectionTools(ctx, ctx.access, { namespace: input.namespace, id: input.connectionId })),

  get: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/{namespace}/{connectionId}/\\.tools/{toolPath}',
        summary: 'Get one tool, or the tools under a category prefix',
        tags,
      },
      access: read,
    })
    .input(z.object({ ...connectionPath, toolPath: toolPathParam }))
    .output(z.union([toolSchema, toolListSchema]))
    .query(({ ctx, input }) =>
      getConnectionTool(ctx, ctx.access, { namespace: input.namespace, id: input.connectionId }, input.toolPath),
    ),

  invoke: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/{namespace}/{connectionId}/\\.tools/{toolPath}',
        summary: 'Call a tool; the JSON body is its arguments',
        tags,
      },
      access: execute,
      bodyAs: 'arguments',
    })
    .input(z.object({ ...connectionPath, toolPath: toolPathParam, arguments: z.record(z.string(), z.unknown()).default({}) }))
    .output(callToolResultSchema)
    .mutation(({ ctx, input }) =>
      callConnectionTool(ctx, ctx.access, { namespace: input.namespace, id: input.connectionId }, input.toolPath, input.arguments),
    ),
});
