import { z } from 'zod';
import { checkHealth } from '../../core/health.ts';
import { publicProcedure, router } from '../trpc.ts';

export const healthRouter = router({
  check: publicProcedure
    .meta({
      openapi: { method: 'GET', path: '/health', summary: 'Check that the service and its database are up', tags: ['platform'], protect: false },
    })
    .input(z.void())
    .output(
      z.object({
        status: z.literal('ok'),
        timestamp: z.iso.datetime(),
        configDrift: z
          .object({
            settings: z.array(z.string()).meta({ description: 'The settings (environment variable names) that differ; never their values' }),
            replicas: z.number().int().meta({ description: 'How many other live replicas differ from this one' }),
          })
          .optional()
          .meta({ description: 'Present when replicas sharing the database run with different security-relevant settings' }),
      }),
    )
    .query(({ ctx }) => checkHealth(ctx.db, ctx.replicas)),
});
