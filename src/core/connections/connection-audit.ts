import type { AuditActor } from '../audit/audit-event-types.ts';
import type { AuditEvent } from '../audit/record-audit-event.ts';
import { auditActorOf } from '../auth/audit-actor.ts';
import type { Access } from '../auth/access.ts';
import type { ConnectionRef } from './credentials.ts';

/**
 * The audit events of connection changes. Credentials are named, never shown: the header
 * names the connection now carries, the query parameters of its URL that were set or changed
 * (configuration a server reads from the URL, often a key).
 */
export function credentialsSetEvent(
  /** The API caller, or (on a setup page) the account and the end user acting for it. */
  who: { access: Access; requestId?: string } | { accountId: string; actor: AuditActor; requestId?: string },
  ref: ConnectionRef,
  change: { created: boolean; headers?: Record<string, string>; mcpUrl?: string; previousMcpUrl?: string },
): AuditEvent | undefined {
  const headerNames = change.headers === undefined ? undefined : Object.keys(change.headers).sort();
  const queryParameterNames = change.mcpUrl === undefined ? [] : changedQueryParameters(change.previousMcpUrl, change.mcpUrl);
  // A new connection without credentials sets none; an update says so only when they changed.
  const setsHeaders = headerNames !== undefined && (headerNames.length > 0 || !change.created);
  if (!setsHeaders && queryParameterNames.length === 0) return undefined;
  return {
    type: 'connection.credentials_set',
    accountId: 'access' in who ? who.access.accountId : who.accountId,
    actor: 'access' in who ? auditActorOf(who.access.principal) : who.actor,
    requestId: who.requestId,
    namespace: ref.namespace,
    connectionId: ref.id,
    details: {
      created: change.created,
      ...(setsHeaders ? { headerNames } : {}),
      ...(queryParameterNames.length > 0 ? { queryParameterNames } : {}),
    },
  };
}

export function connectionDeletedEvent(who: { access: Access; requestId?: string }, ref: ConnectionRef, hadOAuthTokens: boolean): AuditEvent {
  return {
    type: 'connection.deleted',
    accountId: who.access.accountId,
    actor: auditActorOf(who.access.principal),
    requestId: who.requestId,
    namespace: ref.namespace,
    connectionId: ref.id,
    details: { hadOAuthTokens },
  };
}

/** Names of the query parameters that differ between two URLs (all of `next`'s when there was none before). */
function changedQueryParameters(previous: string | undefined, next: string): string[] {
  const before = previous === undefined ? new URLSearchParams() : new URL(previous).searchParams;
  const after = new URL(next).searchParams;
  const names = new Set([...before.keys(), ...after.keys()]);
  return [...names].filter((name) => JSON.stringify(before.getAll(name)) !== JSON.stringify(after.getAll(name))).sort();
}
