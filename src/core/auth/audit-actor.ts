import type { AuditActor } from '../audit/audit-event-types.ts';
import type { Principal } from './authenticate.ts';

/*
 * Here, with the authenticator's types, rather than beside the audit recorder: the recorder takes
 * a plain actor, so that what records events (API keys, tokens) does not depend on the
 * authenticator, which depends on them.
 */

/** The caller behind a request, as the audit log names it. */
export function auditActorOf(principal: Principal): AuditActor {
  return principal.kind === 'account'
    ? { type: 'api_key', id: principal.apiKeyId }
    : { type: 'service_token', id: principal.tokenIds.at(-1) ?? null };
}
