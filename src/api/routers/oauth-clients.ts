import { z } from 'zod';
import { configureOAuthClient, listOAuthClients, removeOAuthClient } from '../../core/oauth/oauth-clients.ts';
import { storableText } from '../schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const tags = ['oauth'];
const access = { resource: 'oauthClients', operation: 'write', apiKeyOnly: true } as const;

const summary = z
  .object({
    id: z.string(),
    issuer: z.string(),
    clientId: z.string(),
    hasSecret: z.boolean().meta({ description: 'Whether a client secret is stored (it is never shown)' }),
    tokenEndpointAuthMethod: z.string().nullable(),
    scope: z.string().nullable(),
    accountId: z.string().nullable().meta({ description: 'null: configured by the operator for every account' }),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'OAuthClient' });

export const oauthClientsRouter = router({
  list: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/oauth-clients', summary: 'List your pre-registered OAuth clients (API key only)', tags },
      access: { ...access, operation: 'read' },
    })
    .input(z.void())
    .output(z.object({ clients: z.array(summary) }))
    .query(async ({ ctx }) => ({ clients: await listOAuthClients(ctx.db, ctx.keyring, ctx.access.accountId) })),

  set: protectedProcedure
    .meta({
      openapi: {
        method: 'PUT',
        path: '/oauth-clients',
        summary: 'Use a pre-registered OAuth client for an authorization server (API key only)',
        description:
          'For connections of this account whose upstream is protected by `issuer`, Switchboard presents this client instead of registering one. The secret is stored encrypted and never returned.',
        tags,
      },
      access,
    })
    .input(
      z
        .object({
          issuer: storableText(2048, 1).meta({ description: 'The authorization server’s issuer identifier, exactly' }),
          clientId: storableText(512, 1),
          clientSecret: storableText(4096, 1).optional(),
          tokenEndpointAuthMethod: z.enum(['client_secret_basic', 'client_secret_post', 'none']).optional(),
          scope: storableText(1024).optional(),
        })
        .strict(),
    )
    .output(summary)
    .mutation(({ ctx, input }) => configureOAuthClient(ctx.db, ctx.keyring, ctx.access.accountId, input)),

  remove: protectedProcedure
    .meta({
      openapi: { method: 'DELETE', path: '/oauth-clients/{id}', summary: 'Stop using a pre-registered OAuth client (API key only)', tags },
      access,
    })
    .input(z.object({ id: storableText(100, 1) }))
    .output(z.object({ success: z.literal(true) }))
    .mutation(({ ctx, input }) => removeOAuthClient(ctx.db, ctx.access.accountId, input.id)),
});
