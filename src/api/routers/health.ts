import { z } from 'zod';
import { checkHealth } from '../../core/health.ts';
import { publicProcedure, router } from '../trpc.ts';

export const healthRouter = router({
  check: publicProcedure
    .meta({
      openapi: { method: 'GET', path: '/health', summary: 'Check that the service and its database are up', tags: ['platform'], protect: false },
    })
    .input(z.void())
    .output(z.object({ status: z.literal('ok'), timestamp: z.iso.datetime() }))
    .query(({ ctx }) => checkHealth(ctx.db)),
});
