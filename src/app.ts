import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createHTTPHandler } from '@trpc/server/adapters/standalone';
import type { RequestContext, Services } from './api/context.ts';
import { appErrorFromUnknown } from './api/error-mapping.ts';
import { buildOpenApiDocument } from './api/openapi.ts';
import { appRouter } from './api/router.ts';
import { AppError } from './errors.ts';
import { applyCors } from './http/cors.ts';
import { requestContexts } from './http/request-context.ts';
import { sendError, sendJsonText } from './wire/respond.ts';
import { createRestHandler } from './http/rest.ts';
import { handleDocs } from './http/docs-page.ts';
import { handleOAuthPage } from './http/oauth-pages.ts';
import { closeConnectionIfAnsweredBeforeBody } from './http/pending-body.ts';
import { markConflictsFinal } from './http/conflicts-final.ts';
import { handleSetupPage } from './http/setup-pages.ts';
import { checkRequestTarget } from './http/request-target.ts';
import { handleMcpRequest, matchMcpPath } from './mcp/mcp-endpoint.ts';
import { createToolboxEndpoint, isToolboxRequest, matchToolboxPath } from './mcp/toolbox-endpoint.ts';
import { serveMetricsOnMainPort } from './telemetry/metrics-endpoint.ts';
import type { RequestObservation } from './telemetry/telemetry.ts';
import { SWITCHBOARD_VERSION } from './version.ts';

const REQUEST_ID_PATTERN = /^[\w.:-]{1,128}$/;

/**
 * The HTTP host: one listener in front of tRPC (`/trpc`), the REST surface and the OpenAPI
 * document. It assigns request ids, answers CORS, and writes one log line per request.
 */
export function createApp(services: Services) {
  const { config, logger } = services;
  const openApiJson = JSON.stringify(
    buildOpenApiDocument(appRouter, { publicUrl: config.publicUrl, version: SWITCHBOARD_VERSION }),
    null,
    2,
  );
  const handleRest = createRestHandler({
    router: appRouter,
    maxBodyBytes: config.maxBodyBytes,
    unauthenticatedBodyTimeoutMs: config.unauthenticatedBodyTimeoutMs,
    logger,
  });
  const trpcContexts = new WeakMap<IncomingMessage, RequestContext>();
  const handleToolbox = createToolboxEndpoint(logger);
  const handleTrpc = createHTTPHandler({
    router: appRouter,
    basePath: '/trpc/',
    maxBodySize: config.maxBodyBytes,
    createContext: ({ req }) => trpcContexts.get(req)!,
    // Headers the access middleware set (rate limits), on successes and errors alike; a refused
    // credential is told how to authenticate, as on REST (RFC 6750).
    responseMeta: ({ ctx, errors }) => {
      const headers = { ...ctx?.response.headers };
      if (errors.some((error) => error.code === 'UNAUTHORIZED')) headers['www-authenticate'] = 'Bearer realm="switchboard"';
      return Object.keys(headers).length > 0 ? { headers } : {};
    },
  });

  const contexts = requestContexts(services);

  async function handle(req: IncomingMessage, res: ServerResponse, observed: RequestObservation): Promise<void> {
    const started = performance.now();
    const incomingId = req.headers['x-request-id'];
    const requestId = typeof incomingId === 'string' && REQUEST_ID_PATTERN.test(incomingId) ? incomingId : randomUUID();
    res.setHeader('x-request-id', requestId);
    closeConnectionIfAnsweredBeforeBody(req, res);
    markConflictsFinal(res);
    let route: string | undefined;
    res.once('close', () => {
      logger.info(
        {
          reqId: requestId,
          method: req.method,
          route: route ?? 'unmatched',
          status: res.statusCode,
          durationMs: Math.round((performance.now() - started) * 100) / 100,
          ...(res.writableFinished ? {} : { aborted: true }),
        },
        'request',
      );
      observed.finish(route ?? 'unmatched', res.statusCode);
    });

    if (applyCors(req, res, config.corsOrigins)) {
      route = 'preflight';
      return;
    }
    const target = checkRequestTarget(req.url);
    if (!target.ok) {
      sendError(res, new AppError('validation_error', target.message));
      return;
    }
    req.url = target.url;
    const pathname = target.pathname;
    const mcpTarget = matchMcpPath(pathname);
    if (mcpTarget) {
      route = '/connect/{namespace}/{connectionId}/mcp';
      await handleMcpRequest(req, res, contexts.forMcpEndpoints(req, requestId), mcpTarget).catch(answerRefusal(res));
      return;
    }
    const toolboxPath = matchToolboxPath(pathname);
    if (toolboxPath && isToolboxRequest(req)) {
      route = '/connect/{namespace}/mcp';
      await handleToolbox(req, res, contexts.forMcpEndpoints(req, requestId), toolboxPath).catch(answerRefusal(res));
      return;
    }
    const ctx = contexts.forRoutersAndPages(req, requestId);
    if (pathname === '/trpc' || pathname.startsWith('/trpc/')) {
      route = '/trpc';
      trpcContexts.set(req, ctx);
      handleTrpc(req, res);
      return;
    }
    if (pathname.startsWith('/oauth/')) {
      const page = await handleOAuthPage(req, res, ctx, pathname);
      if (page) {
        route = page;
        return;
      }
    }
    if (pathname.startsWith('/setup/')) {
      route = await handleSetupPage(req, res, ctx, pathname);
      return;
    }
    const docs = handleDocs(req, res, pathname, { publicUrl: config.publicUrl });
    if (docs) {
      route = docs;
      return;
    }
    if (pathname === '/metrics') {
      route = '/metrics';
      await serveMetricsOnMainPort(req, res, { config: config.telemetry, registry: services.telemetry.metrics?.registry });
      return;
    }
    if (pathname === '/openapi.json' && (req.method === 'GET' || req.method === 'HEAD')) {
      route = '/openapi.json';
      sendJsonText(res, 200, openApiJson);
      return;
    }
    route = await handleRest({ req, res, ctx, pathname });
  }

  return {
    openApiJson,
    handler(req: IncomingMessage, res: ServerResponse): void {
      const observed = services.telemetry.request(req.method);
      observed.run(() => handle(req, res, observed)).catch((error: unknown) => {
        // A database that is down answers 503 (the MCP endpoint reaches it outside tRPC); anything else is a 500.
        const appError = appErrorFromUnknown(error);
        const err = { name: (error as Error)?.name, message: (error as Error)?.message };
        if (appError.code === 'internal_error') logger.error({ err }, 'request failed');
        else logger.warn({ err }, 'request failed');
        if (!res.headersSent) sendError(res, appError);
        else res.destroy();
      });
    },
  };
}

/** An MCP endpoint's refusal (AppError) as the REST error; anything else goes on to the 500 handler. */
function answerRefusal(res: ServerResponse) {
  return (error: unknown) => {
    if (!(error instanceof AppError)) throw error;
    if (res.headersSent) return void res.destroy();
    // Refused before its body was read: closeConnectionIfAnsweredBeforeBody ends the connection.
    sendError(res, error);
  };
}
