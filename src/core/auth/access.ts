import { AppError } from '../../errors.ts';
import type { TokenOperation } from '../tokens/constraints.ts';
import { decide, UNRESTRICTED, type AccessRequest, type Scope } from '../tokens/policy.ts';
import type { Principal } from './authenticate.ts';

/**
 * What a request may reach, once decided: the account it acts for and, for a service
 * token, the scope its policy leaves. Core functions take this instead of a bare account,
 * and consult the scope where the answer depends on the connection itself.
 */
export type Access = {
  accountId: string;
  principal: Principal;
  scope: Scope;
};

/** What a route declares it needs (its procedure meta). */
export type AccessDeclaration = {
  resource: 'namespaces' | 'connections' | 'tokens' | 'oauthClients' | 'auditEvents' | 'webhooks';
  operation: TokenOperation;
  /** Only an API key may do this, never a service token (e.g. revoking tokens). */
  apiKeyOnly?: true;
};

/**
 * The one decision on access by resource, operation and namespace, for every surface (tRPC,
 * REST and the MCP endpoint). A namespace outside a token's reach answers 404, exactly as a
 * missing one; an operation it does not allow answers 403.
 */
export function decideAccess(principal: Principal, declared: AccessDeclaration, namespace: string | undefined): Access {
  if (principal.kind === 'account') return { accountId: principal.accountId, principal, scope: UNRESTRICTED };
  if (declared.apiKeyOnly) throw new AppError('forbidden', 'This needs an API key; a service token cannot do it');
  // Minting from a token only ever narrows it: every token may.
  if (declared.resource === 'tokens') return { accountId: principal.accountId, principal, scope: UNRESTRICTED };
  if (declared.resource === 'oauthClients' || declared.resource === 'auditEvents' || declared.resource === 'webhooks') throw new AppError('forbidden', 'This needs an API key; a service token cannot do it');
  const request: AccessRequest = { resource: declared.resource as AccessRequest['resource'], operation: declared.operation, namespace };
  const decision = decide(principal.blocks, request);
  if (decision.ok) return { accountId: principal.accountId, principal, scope: decision.scope };
  if (decision.reason === 'hidden' && namespace !== undefined) throw new AppError('not_found', `Namespace "${namespace}" not found`);
  throw new AppError('forbidden', `This token does not allow ${declared.operation} on ${declared.resource}${namespace ? ` in "${namespace}"` : ''}`);
}
