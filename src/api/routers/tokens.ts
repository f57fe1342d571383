import { z } from 'zod';
import { auditActorOf } from '../../core/auth/audit-actor.ts';
import { constraintInput } from '../../core/tokens/constraints.ts';
import { protectedProcedure, router } from '../trpc.ts';

const tags = ['tokens'];

const mintInput = z
  .object({
    policy: z
      .array(constraintInput)
      .min(1, 'policy needs at least one constraint; leave it out for the caller’s full reach')
      .max(20)
      .optional()
      .meta({
        description:
          'Constraints, each an independent grant (OR); within one, every field must hold (AND). Leave out for the caller’s full reach for 1 hour.',
      }),
    // Smithery's clients send these to pick the tenant a token is minted for; here the
    // credential already names the account, so they are accepted for compatibility and ignored.
    profileSlug: z
      .string()
      .max(200)
      .optional()
      .meta({ description: 'Accepted and ignored (sent by @smithery/api 0.45/0.50): the token belongs to the caller’s account' }),
    organizationId: z
      .string()
      .max(200)
      .optional()
      .meta({ description: 'Accepted and ignored (sent by @smithery/api 0.68): the token belongs to the caller’s account' }),
  })
  .strict();

export const tokensRouter = router({
  create: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/tokens',
        summary: 'Mint a service token (from an API key, or narrower from a service token)',
        description:
          'TTL: 1 hour by default, at most 24 hours, the shortest of the constraints’ `ttl`. A token minted with a token never reaches more than its parent, nor outlives it.',
        tags,
      },
      access: { resource: 'tokens', operation: 'write' },
    })
    .input(mintInput.optional())
    .output(z.object({ token: z.string(), expiresAt: z.iso.datetime() }).meta({ id: 'CreatedToken' }))
    .mutation(({ ctx, input }) =>
      ctx.tokens.mint(
        ctx.access.principal.kind === 'token'
          ? { accountId: ctx.access.accountId, parentToken: ctx.bearer, requestId: ctx.requestId }
          : { accountId: ctx.access.accountId, apiKeyId: ctx.access.principal.apiKeyId, requestId: ctx.requestId },
        input?.policy,
      ),
    ),

  revoke: protectedProcedure
    .meta({
      openapi: { method: 'POST', path: '/tokens/revoke', summary: 'Revoke a service token before it expires (API key only)', tags },
      access: { resource: 'tokens', operation: 'write', apiKeyOnly: true },
    })
    .input(
      z
        .object({
          id: z.string().min(1).max(100).optional().meta({ description: 'The token id, as minted (`tok_…`)' }),
          token: z.string().min(1).max(16_384).optional().meta({ description: 'Or the token itself' }),
        })
        .strict()
        .refine((body) => (body.id === undefined) !== (body.token === undefined), 'give exactly one of id and token'),
    )
    .output(z.object({ success: z.literal(true), id: z.string() }))
    .mutation(async ({ ctx, input }) => {
      const target = input.token !== undefined ? { token: input.token } : { id: input.id! };
      return { success: true as const, ...(await ctx.tokens.revoke(ctx.access.accountId, target, { actor: auditActorOf(ctx.access.principal), requestId: ctx.requestId })) };
    }),
});
