import { z } from 'zod';
import {
  createConnection,
  deleteConnection,
  getConnection,
  listConnections,
  upsertConnection,
} from '../../core/connections/connections.ts';
import { requestReauthorization } from '../../core/oauth/link-admission.ts';
import {
  connectionPageSchema,
  connectionPath,
  connectionSchema,
  createConnectionInput,
  listConnectionsInput,
  upsertConnectionInput,
} from '../connection-schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const tags = ['connections'];
const read = { resource: 'connections', operation: 'read', namespaceFrom: 'namespace' } as const;
const write = { resource: 'connections', operation: 'write', namespaceFrom: 'namespace' } as const;

export const connectionsRouter = router({
  create: protectedProcedure
    .meta({
      openapi: { method: 'POST', path: '/{namespace}', summary: 'Create a connection with a generated id', tags },
      access: write,
      successStatus: 201,
    })
    .input(createConnectionInput)
    .output(connectionSchema)
    .mutation(({ ctx, input: { namespace, ...fields } }) => createConnection(ctx, ctx.access, namespace, fields)),

  list: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/{namespace}', summary: 'List connections, oldest first, filtered by name, URL or metadata', tags },
      access: read,
      metadataFilters: true,
    })
    .input(listConnectionsInput)
    .output(connectionPageSchema)
    .query(({ ctx, input: { namespace, ...query } }) => listConnections(ctx, ctx.access, namespace, query)),

  get: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/{namespace}/{connectionId}', summary: 'Get a connection and its status', tags },
      access: read,
    })
    .input(z.object(connectionPath))
    .output(connectionSchema)
    .query(({ ctx, input }) => getConnection(ctx, ctx.access, { namespace: input.namespace, id: input.connectionId })),

  set: protectedProcedure
    .meta({
      openapi: {
        method: 'PUT',
        path: '/{namespace}/{connectionId}',
        summary: 'Create a connection with a chosen id (201), or update it (200)',
        description:
          'A different mcpUrl than the stored one is refused (409), except while the connection is input_required and the new URL keeps the same host and path.',
        tags,
      },
      access: write,
      successStatus: 201,
    })
    .input(upsertConnectionInput)
    .output(connectionSchema)
    .mutation(async ({ ctx, input: { namespace, connectionId, ...fields } }) => {
      const { connection, created } = await upsertConnection(ctx, ctx.access, { namespace, id: connectionId }, fields);
      ctx.response.status = created ? 201 : 200;
      return connection;
    }),

  delete: protectedProcedure
    .meta({
      openapi: { method: 'DELETE', path: '/{namespace}/{connectionId}', summary: 'Delete a connection and end its upstream session', tags },
      access: write,
    })
    .input(z.object(connectionPath))
    .output(z.object({ success: z.literal(true) }))
    .mutation(({ ctx, input }) => deleteConnection(ctx, ctx.access, { namespace: input.namespace, id: input.connectionId })),

  reauthorize: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/{namespace}/{connectionId}/\\.reauthorize',
        summary: 'Get an authorization link that may replace the upstream account of a connected connection',
        description:
          'The authorizationUrl a connection shows is refused while it is connected. This link is not: the end user who completes it replaces the tokens the connection uses. It works once, for OAUTH_LINK_TTL_SECONDS, and supersedes every authorization link minted before. 409 for a connection whose upstream does not use OAuth.',
        tags,
      },
      access: write,
    })
    .input(z.object(connectionPath))
    .output(
      z.object({
        authorizationUrl: z.string().meta({ description: 'Where the end user re-authorizes access upstream (single use)' }),
        expiresAt: z.iso.datetime().meta({ description: 'When the link stops working' }),
      }),
    )
    .mutation(({ ctx, input }) => requestReauthorization(ctx, ctx.access, { namespace: input.namespace, id: input.connectionId })),
});
