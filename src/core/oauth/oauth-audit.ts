import { OAuthError, RegistrationRejectedError } from '@modelcontextprotocol/client';
import type { AuditEventDetails } from '../audit/audit-event-types.ts';
import { END_USER_ACTOR, SYSTEM_ACTOR } from '../audit/audit-event-types.ts';
import type { AuditEvent } from '../audit/record-audit-event.ts';
import type { ConnectionRef } from '../connections/credentials.ts';

/**
 * The audit events of upstream OAuth. An authorization is completed by whoever holds the link
 * (the end user, unauthenticated); refreshes are Switchboard's own doing. Only the issuer, the
 * granted scope and error codes are kept: never a code, a state or a token.
 */
type Who = { accountId: string; requestId?: string };

export function authorizationStartedEvent(who: Who, ref: ConnectionRef, details: AuditEventDetails<'oauth.started'>): AuditEvent {
  return { type: 'oauth.started', actor: END_USER_ACTOR, ...who, namespace: ref.namespace, connectionId: ref.id, details };
}

export function authorizationCompletedEvent(who: Who, ref: ConnectionRef, details: AuditEventDetails<'oauth.completed'>): AuditEvent {
  return { type: 'oauth.completed', actor: END_USER_ACTOR, ...who, namespace: ref.namespace, connectionId: ref.id, details };
}

export function authorizationFailedEvent(who: Who, ref: ConnectionRef, details: AuditEventDetails<'oauth.failed'>): AuditEvent {
  return { type: 'oauth.failed', actor: END_USER_ACTOR, ...who, namespace: ref.namespace, connectionId: ref.id, details };
}

export function refreshedEvent(accountId: string, ref: ConnectionRef, issuer: string | undefined): AuditEvent {
  return { type: 'oauth.refreshed', accountId, actor: SYSTEM_ACTOR, namespace: ref.namespace, connectionId: ref.id, details: { issuer: issuer ?? null } };
}

export function refreshFailedEvent(accountId: string, ref: ConnectionRef, details: AuditEventDetails<'oauth.refresh_failed'>): AuditEvent {
  return { type: 'oauth.refresh_failed', accountId, actor: SYSTEM_ACTOR, namespace: ref.namespace, connectionId: ref.id, details };
}

/** The OAuth error code an authorization server answered, if it looks like one (it is the server's text, kept short). */
export function oauthErrorCode(error: unknown): string | null {
  const code =
    error instanceof OAuthError ? error.code : error instanceof RegistrationRejectedError ? registrationErrorCode(error.body) : typeof error === 'string' ? error : undefined;
  return code !== undefined && /^[\w.-]{1,64}$/.test(code) ? code : null;
}

/** A refused registration carries the server's RFC 7591 error document as text; its `error` field, if any. */
function registrationErrorCode(body: string): string | undefined {
  try {
    const parsed = JSON.parse(body) as { error?: unknown };
    return typeof parsed.error === 'string' ? parsed.error : undefined;
  } catch {
    return undefined;
  }
}
