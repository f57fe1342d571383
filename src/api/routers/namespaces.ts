import { z } from 'zod';
import {
  createNamespace,
  deleteNamespace,
  getNamespace,
  listNamespaces,
  putNamespace,
} from '../../core/namespaces/namespaces.ts';
import { namespaceNameParam, namespaceSchema } from '../schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const tags = ['namespaces'];
const read = { resource: 'namespaces', operation: 'read', namespaceFrom: 'name' } as const;
const write = { resource: 'namespaces', operation: 'write', namespaceFrom: 'name' } as const;

export const namespacesRouter = router({
  create: protectedProcedure
    .meta({
      openapi: { method: 'POST', path: '/namespaces', summary: 'Create a namespace with a generated name', tags },
      access: write,
      successStatus: 201,
    })
    .input(z.void())
    .output(namespaceSchema)
    .mutation(({ ctx }) => createNamespace(ctx.db, ctx.access)),

  list: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/namespaces', summary: 'List your namespaces, newest first', tags },
      access: read,
    })
    .input(
      z.object({
        page: z.coerce.number().int().min(1).max(1_000_000).default(1).meta({ description: 'Page number, from 1' }),
        pageSize: z.coerce.number().int().min(1).max(50).default(10).meta({ description: 'Items per page (1 to 50)' }),
      }),
    )
    .output(
      z.object({
        namespaces: z.array(namespaceSchema),
        pagination: z.object({
          currentPage: z.number().int(),
          pageSize: z.number().int(),
          totalPages: z.number().int(),
          totalCount: z.number().int(),
        }),
      }),
    )
    .query(({ ctx, input }) => listNamespaces(ctx.db, ctx.access, input)),

  get: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/namespaces/{name}', summary: 'Get one of your namespaces', tags },
      access: read,
    })
    .input(z.object({ name: namespaceNameParam }))
    .output(namespaceSchema)
    .query(({ ctx, input }) => getNamespace(ctx.db, ctx.access, input.name)),

  set: protectedProcedure
    .meta({
      openapi: {
        method: 'PUT',
        path: '/namespaces/{name}',
        summary: 'Create a namespace with a chosen name (idempotent for its owner)',
        tags,
      },
      access: write,
      successStatus: 201,
    })
    .input(z.object({ name: namespaceNameParam }))
    .output(namespaceSchema)
    .mutation(({ ctx, input }) => putNamespace(ctx.db, ctx.access, input.name)),

  delete: protectedProcedure
    .meta({
      openapi: { method: 'DELETE', path: '/namespaces/{name}', summary: 'Delete a namespace and its connections', tags },
      access: write,
    })
    .input(z.object({ name: namespaceNameParam }))
    .output(z.object({ success: z.literal(true), name: z.string() }))
    .mutation(({ ctx, input }) => deleteNamespace(ctx.db, ctx.changes, ctx.access, input.name)),
});
