import type { IncomingMessage, ServerResponse } from 'node:http';
import type { RequestContext } from '../api/context.ts';
import { decideAccess, type Access } from '../core/auth/access.ts';
import { rateLimitedMessage, rateLimitHeaders } from '../core/rate-limits/rate-limit-headers.ts';
import type { RateLimitDecision } from '../core/rate-limits/rate-limiter.ts';
import type { OwnedNamespace } from '../core/namespaces/namespace-directory.ts';
import { JsonRpcCode, sendJsonRpcError } from './json-rpc.ts';

/**
 * What every MCP endpoint (a connection's, the namespace toolbox) decides before reading a
 * body: POST only, who is calling, their rate limit, and `execute` on a namespace they own.
 * Undefined when the request was answered here (405, 429); refusals of the caller are thrown.
 * The namespace comes back as the ownership check saw it: connections are looked up in that incarnation.
 */
export async function admitMcpCaller(
  req: IncomingMessage,
  res: ServerResponse,
  ctx: RequestContext,
  namespace: string,
): Promise<{ access: Access; namespace: OwnedNamespace } | undefined> {
  if (req.method !== 'POST') {
    sendJsonRpcError(res, 405, null, { code: JsonRpcCode.serverError, message: 'Method not allowed: this endpoint takes POST only (no sessions, no standalone stream)' }, { allow: 'POST' });
    return undefined;
  }
  const principal = await ctx.auth.authenticate(ctx.bearer, ctx.client);
  const limited = ctx.rateLimits.check(principal);
  if (limited && answeredRateLimited(res, await limited)) return undefined;
  const access = decideAccess(principal, { resource: 'connections', operation: 'execute' }, namespace);
  return { access, namespace: await ctx.namespaces.requireOwned(access, namespace) };
}

/** Sets the caller's rate-limit headers; a spent budget is answered here, 429 before any other work. */
function answeredRateLimited(res: ServerResponse, decision: RateLimitDecision): boolean {
  const headers = rateLimitHeaders(decision);
  if (!decision.allowed) {
    sendJsonRpcError(res, 429, null, { code: JsonRpcCode.serverError, message: rateLimitedMessage(decision) }, headers);
    return true;
  }
  for (const name in headers) res.setHeader(name, headers[name]!);
  return false;
}
