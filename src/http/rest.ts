import type { IncomingMessage, ServerResponse } from 'node:http';
import { TRPCError } from '@trpc/server';
import { createOpenApiNodeHttpHandler } from 'trpc-to-openapi';
import type { RequestContext } from '../api/context.ts';
import { appErrorFromUnknown } from '../api/error-mapping.ts';
import { procedureMetas } from '../api/procedure-meta.ts';
import type { AppRouter } from '../api/router.ts';
import { AppError } from '../errors.ts';
import type { Logger } from '../logger.ts';
import { readJsonObjectBody, UNAUTHENTICATED_BODY_BYTES } from '../wire/body.ts';
import { sendError, sendJsonText } from '../wire/respond.ts';

/** A route that takes no credential (or none matched) has no use for a large body. */

/** What the adapter tells us about one request, through its callbacks. */
type Outcome = { procedurePath?: string; error?: TRPCError };

export type RestRequest = { req: IncomingMessage; res: ServerResponse; ctx: RequestContext; pathname: string };

/**
 * The REST surface: trpc-to-openapi matches the route, assembles the input and calls the
 * procedure. We own the edge around it: body limits, content types and JSON parsing before,
 * and after, the response itself, so that every answer has our status and `{error, message}`.
 */
export function createRestHandler(options: { router: AppRouter; maxBodyBytes: number; unauthenticatedBodyTimeoutMs: number; logger: Logger }) {
  const metas = procedureMetas(options.router);
  const outcomes = new WeakMap<object, Outcome>();
  const contexts = new WeakMap<IncomingMessage, RequestContext>();

  const adapter = createOpenApiNodeHttpHandler({
    router: options.router,
    createContext: ({ req }) => contexts.get(req as IncomingMessage)!,
    responseMeta: ({ ctx, paths }) => {
      const outcome = ctx && outcomes.get(ctx);
      if (outcome && paths?.[0]) outcome.procedurePath = paths[0];
      return {};
    },
    onError: ({ req, error, path }) => {
      const outcome = outcomes.get(req);
      if (outcome) Object.assign(outcome, { error, procedurePath: path ?? outcome.procedurePath });
    },
  });

  const routes = [...metas.values()]
    .filter((meta) => meta.openapi)
    .map((meta) => ({
      method: meta.openapi!.method,
      pattern: routePattern(meta.openapi!.path),
      template: meta.openapi!.path.replaceAll('\\.', '.'),
      field: meta.bodyAs,
      authenticated: meta.access !== undefined,
    }));

  return async function handleRest({ req, res, ctx, pathname: requestPath }: RestRequest): Promise<string | undefined> {
    const outcome: Outcome = {};
    outcomes.set(req, outcome);
    outcomes.set(ctx, outcome);
    contexts.set(req, ctx);
    const pathname = normalizeRestPath(requestPath);
    if (pathname !== requestPath) req.url = pathname + (req.url?.slice(requestPath.length) ?? '');

    if (req.method === 'POST' || req.method === 'PUT' || req.method === 'PATCH') {
      const matched = routes.find((route) => route.method === req.method && route.pattern.test(pathname));
      try {
        // The credential is in the headers: who is asking is settled before a byte of the body
        // is waited for, so a stranger cannot hold the connection open by sending it slowly.
        if (matched?.authenticated) ctx.principal = await ctx.auth.authenticate(ctx.bearer, ctx.client);
        const body = await readJsonObjectBody(
          req,
          ctx.principal ? options.maxBodyBytes : Math.min(options.maxBodyBytes, UNAUTHENTICATED_BODY_BYTES),
          ctx.principal ? {} : { timeoutMs: options.unauthenticatedBodyTimeoutMs },
        );
        (req as IncomingMessage & { body?: unknown }).body = matched?.field ? { [matched.field]: body ?? {} } : body;
      } catch (error) {
        // The body may be unread (a refused credential, a timeout, too large): the connection
        // closes with this answer (see http/pending-body.ts).
        sendError(res, appErrorFromUnknown(error));
        return matched?.template;
      }
      // The body is parsed and checked above; the adapter only needs to see it is JSON.
      req.headers['content-type'] = 'application/json';
    }

    (req as IncomingMessage & { query?: unknown }).query = parseQuery(req.url ?? '');
    const captured = captureResponse(res);
    await adapter(req, captured.facade as unknown as ServerResponse);
    const meta = outcome.procedurePath ? metas.get(outcome.procedurePath) : undefined;
    // Templates are written with `\.` for the router's regular expressions; logs and metrics show them plain.
    const route = meta?.openapi ? meta.openapi.path.replaceAll('\\.', '.') : undefined;
    // The adapter's own headers are dropped with its response; ours (rate limits) go on either way.
    if (ctx.response.headers) for (const [name, value] of Object.entries(ctx.response.headers)) res.setHeader(name, value);

    if (outcome.error) {
      const appError =
        outcome.error.code === 'NOT_FOUND' && !outcome.procedurePath
          ? new AppError('not_found', `No route matches ${req.method} ${pathname}`)
          : appErrorFromUnknown(outcome.error);
      if (appError.code === 'internal_error') {
        ctx.logger.error({ err: describeInternalError(outcome.error) }, 'unhandled error');
      }
      sendError(res, appError);
      return route;
    }
    const status = ctx.response.status ?? meta?.successStatus ?? captured.statusCode;
    sendJsonText(res, status, captured.body ?? '');
    return route;
  };
}

/**
 * Clients up to @smithery/api 0.50 send every connection route under `/connect`; tool paths
 * may come as several segments (`repo/search`), which one `{toolPath}` parameter carries as
 * `repo%2Fsearch`.
 */
export function normalizeRestPath(pathname: string): string {
  let path = pathname.startsWith('/connect/') ? pathname.slice('/connect'.length) : pathname;
  const tool = /^(\/[^/]+\/[^/]+\/\.tools\/)(.+)$/.exec(path);
  if (tool) path = tool[1]! + tool[2]!.replace(/\/+$/, '').split('/').join('%2F');
  return path;
}

/**
 * The query string as the adapter reads it (every name to its list of values), but in an object
 * without a prototype: the adapter's own parser breaks on `?constructor=` or `?__proto__=`.
 */
function parseQuery(url: string): Record<string, string[]> {
  const query: Record<string, string[]> = Object.create(null);
  const start = url.indexOf('?');
  if (start < 0) return query;
  for (const [name, value] of new URLSearchParams(url.slice(start + 1))) (query[name] ??= []).push(value);
  return query;
}

/** The same match trpc-to-openapi makes for an OpenAPI path template. */
function routePattern(template: string): RegExp {
  return new RegExp(`^${template.replace(/\{[^}]+\}/g, '[^/]+')}$`, 'i');
}

/** Just enough of a ServerResponse for the adapter to write into, so we can rewrite it. */
function captureResponse(res: ServerResponse) {
  const captured = { statusCode: 200, body: undefined as string | undefined };
  const facade = {
    get statusCode() {
      return captured.statusCode;
    },
    set statusCode(value: number) {
      captured.statusCode = value;
    },
    setHeader() {},
    end(body?: string) {
      captured.body = body;
    },
    // The adapter listens for the client going away to abort the procedure.
    once: res.once.bind(res),
    on: res.on.bind(res),
    off: res.off.bind(res),
    get writableEnded() {
      return res.writableEnded;
    },
  };
  return Object.assign(captured, { facade });
}

/** Name and message only: driver errors can carry row values in their other fields. */
function describeInternalError(error: TRPCError): { name: string; message: string; cause?: { name: string; message: string } } {
  const cause = error.cause instanceof Error ? { name: error.cause.name, message: error.cause.message } : undefined;
  return { name: error.name, message: error.message, cause };
}
