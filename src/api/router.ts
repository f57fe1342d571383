import { auditEventsRouter } from './routers/audit-events.ts';
import { connectionsRouter } from './routers/connections.ts';
import { healthRouter } from './routers/health.ts';
import { namespacesRouter } from './routers/namespaces.ts';
import { oauthClientsRouter } from './routers/oauth-clients.ts';
import { tokensRouter } from './routers/tokens.ts';
import { toolsRouter } from './routers/tools.ts';
import { webhooksRouter } from './routers/webhooks.ts';
import { router } from './trpc.ts';

// REST routes match in the order procedures appear here: fixed paths before `/{ns}` ones.
export const appRouter = router({
  health: healthRouter,
  namespaces: namespacesRouter,
  tokens: tokensRouter,
  oauthClients: oauthClientsRouter,
  auditEvents: auditEventsRouter,
  webhooks: webhooksRouter,
  // `/{namespace}/.tools` before `/{namespace}/{connectionId}`.
  tools: toolsRouter,
  connections: connectionsRouter,
});

export type AppRouter = typeof appRouter;
