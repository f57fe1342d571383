import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../api/context.ts';
import { decideAccess, type Access } from '../core/auth/access.ts';
import { rateLimitedMessage, rateLimitHeaders } from '../core/rate-limits/rate-limit-headers.ts';
import type { RateLimitDecision } from '../core/rate-limits/rate-limiter.ts';
import type { OwnedNamespace } from '../core/namespaces/namespace-directory.ts';
import { sendJsonRpcError, SERVER_ERROR } from './json-rpc.ts';

/** The methods of a client's own session (its GET stream, its DELETE), besides POST. */
export const SESSION_METHODS: readonly string[] = ['POST', 'GET', 'DELETE'];

/**
 * What every MCP endpoint (a connection's, the namespace toolbox) decides before reading a
 * body: the method (POST only, unless the request names a session of a client's own), who is calling, their rate limit, and `execute` on a namespace they own.
 * Undefined when the request was answered here (405, 429); refusals of the caller are thrown.
 * The namespace comes back as the ownership check saw it: connections are looked up in that incarnation.
 */
export async function admitMcpCaller(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  namespace: string,
  methods: readonly string[] = ['POST'],
): Promise<{ access: Access; namespace: OwnedNamespace } | undefined> {
  if (!methods.includes(req.method ?? '')) {
    const message = methods.length === 1
      ? 'Method not allowed: this endpoint takes POST only (no standalone stream outside a session)'
      : `Method not allowed: a session takes ${methods.join(', ')}`;
    sendJsonRpcError(res, 405, null, { code: SERVER_ERROR, message }, { allow: methods.join(', ') });
    return undefined;
  }
  const principal = await ctx.auth.authenticate(ctx.bearer, ctx.client);
  const limited = ctx.rateLimits.check(principal);
  if (limited) {
    const decision = await limited;
    if (!decision.allowed) {
      answerRateLimited(res, decision);
      return undefined;
    }
    setRateLimitHeaders(res, decision);
  }
  const access = decideAccess(principal, { resource: 'connections', operation: 'execute' }, namespace);
  return { access, namespace: await ctx.namespaces.requireOwned(access, namespace) };
}

/** A spent budget is answered here, 429 with the caller's rate-limit headers, before any other work. */
function answerRateLimited(res: ServerResponse, decision: RateLimitDecision): void {
  sendJsonRpcError(res, 429, null, { code: SERVER_ERROR, message: rateLimitedMessage(decision) }, rateLimitHeaders(decision));
}

/** The caller's rate-limit headers go on every answer it gets. */
function setRateLimitHeaders(res: ServerResponse, decision: RateLimitDecision): void {
  const headers = rateLimitHeaders(decision);
  for (const name in headers) res.setHeader(name, headers[name]!);
}
