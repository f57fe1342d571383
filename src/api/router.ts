import { healthRouter } from './routers/health.ts';
import { namespacesRouter } from './routers/namespaces.ts';
import { router } from './trpc.ts';

// REST routes match in the order procedures appear here: fixed paths before `/{ns}` ones.
export const appRouter = router({
  health: healthRouter,
  namespaces: namespacesRouter,
});

export type AppRouter = typeof appRouter;
