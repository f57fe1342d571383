import { initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { decideAccess, type AccessDeclaration } from '../core/auth/access.ts';
import { rateLimitedMessage, rateLimitHeaders, retryAfterHeaders } from '../core/rate-limits/rate-limit-headers.ts';
import { AppError, httpStatusByErrorCode, RateLimitedError, type AppErrorCode } from '../errors.ts';
import type { RequestContext } from './context.ts';
import { appErrorFromUnknown } from './error-mapping.ts';

export type Meta = OpenApiMeta<{
  /**
   * What the caller must be allowed to do, and which input field names the namespace the
   * request is about; procedures without it are public.
   */
  access?: AccessDeclaration & { namespaceFrom?: 'namespace' | 'name' };
  /** The REST status of a success when it is not 200. */
  successStatus?: 201 | 202;
  /** REST only: the whole JSON body is this input field (tool arguments may use any key). */
  bodyAs?: 'arguments';
  /** The input takes `metadata[key]=value` filters, which the OpenAPI generator cannot see. */
  metadataFilters?: true;
}>;

const t = initTRPC
  .context<RequestContext>()
  .meta<Meta>()
  .create({
    // Stack traces never leave the process.
    isDev: false,
    errorFormatter({ shape, error }) {
      const appError = appErrorFromUnknown(error);
      return { ...shape, message: appError.message, data: { ...shape.data, error: appError.code } };
    },
  });

const trpcCodeByStatus: Record<number, TRPCError['code']> = {
  400: 'BAD_REQUEST',
  401: 'UNAUTHORIZED',
  403: 'FORBIDDEN',
  404: 'NOT_FOUND',
  405: 'METHOD_NOT_SUPPORTED',
  409: 'CONFLICT',
  413: 'PAYLOAD_TOO_LARGE',
  415: 'UNSUPPORTED_MEDIA_TYPE',
  429: 'TOO_MANY_REQUESTS',
  500: 'INTERNAL_SERVER_ERROR',
  502: 'BAD_GATEWAY',
  503: 'SERVICE_UNAVAILABLE',
};

function toTrpcError(error: AppError): TRPCError {
  const status = httpStatusByErrorCode[error.code as AppErrorCode];
  return new TRPCError({ code: trpcCodeByStatus[status] ?? 'INTERNAL_SERVER_ERROR', message: error.message, cause: error });
}

/** Core code throws AppError; tRPC needs its own error type to pick the right HTTP status. */
const translateAppErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (!result.ok && result.error.cause instanceof AppError) throw toTrpcError(result.error.cause);
  return result;
});

/**
 * The one place access is decided: the procedure's meta names what it needs, the bearer
 * says who is asking. A procedure that forgets to declare its access is refused (fail closed).
 */
const enforceAccess = t.middleware(async ({ ctx, meta, next, getRawInput }) => {
  const declared = meta?.access;
  if (!declared) throw toTrpcError(new AppError('internal_error', 'This operation declares no access rule'));
  try {
    const principal = ctx.principal ?? (await ctx.auth.authenticate(ctx.bearer, ctx.client));
    // Every authenticated request spends the caller's budget; REST and tRPC both pass here.
    const limited = ctx.rateLimits.check(principal);
    if (limited) {
      const decision = await limited;
      ctx.response.headers = { ...ctx.response.headers, ...rateLimitHeaders(decision) };
      if (!decision.allowed) throw new AppError('rate_limited', rateLimitedMessage(decision));
    }
    // The raw input is enough to name the namespace: validation comes after, and a value
    // that is not a namespace name matches no policy anyway.
    const raw = declared.namespaceFrom ? ((await getRawInput()) as Record<string, unknown> | undefined)?.[declared.namespaceFrom] : undefined;
    const access = decideAccess(principal, declared, typeof raw === 'string' ? raw : undefined);
    return next({ ctx: { ...ctx, access } });
  } catch (error) {
    if (error instanceof RateLimitedError) ctx.response.headers = { ...ctx.response.headers, ...retryAfterHeaders(error.retryAfterMs) };
    throw error instanceof AppError ? toTrpcError(error) : error;
  }
});

export const router = t.router;
export const publicProcedure = t.procedure.use(translateAppErrors);
export const protectedProcedure = publicProcedure.use(enforceAccess);
export const createCallerFactory = t.createCallerFactory;
