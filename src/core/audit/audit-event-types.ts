import { z } from 'zod';

/**
 * The closed set of security events and, for each, the facts it keeps. Only what is listed
 * here is stored (anything else is stripped on the way in) and shown (on the way out), so a
 * secret cannot slip in through a careless caller: header and query parameter names, never
 * values; a token's id, expiry and policy, never the token; an OAuth issuer and error code,
 * never a code or a token. Stored events outlive code changes: fields may be added, optional,
 * never removed or narrowed.
 */
const nullableText = z.string().nullable();

const policyConstraintSummary = z.object({
  namespaces: z.array(z.string()).optional(),
  resources: z.array(z.string()).optional(),
  operations: z.array(z.string()).optional(),
  metadata: z.array(z.record(z.string(), z.string())).optional(),
  /** The dot-paths a JSON-RPC request must match (the patterns themselves are left out). */
  rpcReqMatchPaths: z.array(z.string()).optional(),
});

export const auditDetailsByType = {
  'api_key.created': z.object({
    apiKeyId: z.string(),
    name: z.string(),
    /** Whether the key came with a new account. */
    newAccount: z.boolean(),
  }),
  'api_key.revoked': z.object({
    apiKeyId: z.string(),
    /** Service tokens minted with the key, revoked with it. */
    tokensRevoked: z.number().int(),
  }),
  'token.minted': z.object({
    tokenId: z.string(),
    /** The token it was narrowed from, when minted with a token. */
    parentTokenId: nullableText,
    expiresAt: z.iso.datetime(),
    /** null: the caller's full reach. */
    policy: z.array(policyConstraintSummary).nullable(),
  }),
  'token.revoked': z.object({ tokenId: z.string() }),
  'connection.credentials_set': z.object({
    /** Whether the connection was created by this request (else updated). */
    created: z.boolean(),
    /** The credential headers the connection now carries (empty: all removed). Names only. */
    headerNames: z.array(z.string()).optional(),
    /** Query parameters of the URL that were set or changed. Names only. */
    queryParameterNames: z.array(z.string()).optional(),
  }),
  'connection.deleted': z.object({
    /** Whether it held upstream OAuth tokens (revoked at the authorization server in the background). */
    hadOAuthTokens: z.boolean(),
  }),
  /** An end user continued an authorization link: the browser went to the authorization server. */
  'oauth.started': z.object({
    issuer: nullableText,
    /** Whether the app asked for it on a connected connection (its tokens are replaced on completion). */
    reauthorization: z.boolean(),
  }),
  'oauth.completed': z.object({ issuer: nullableText, scope: nullableText }),
  'oauth.failed': z.object({
    issuer: nullableText,
    /**
     * link_spent: a link continued again, or one a newer link superseded; already_connected: a
     * link (not a re-authorization) for a connected connection; browser_mismatch: the callback
     * came to another browser than the one that continued the link. discovery_failed,
     * registration_failed, start_failed: continuing the link led to no authorization page (the
     * metadata could not be read, no client could be registered, or the rest of the start failed).
     */
    reason: z.enum([
      'denied',
      'connection_changed',
      'no_code',
      'issuer_mismatch',
      'exchange_refused',
      'no_tokens',
      'link_spent',
      'already_connected',
      'browser_mismatch',
      'discovery_failed',
      'registration_failed',
      'start_failed',
    ]),
    /** The OAuth error code, when the authorization server gave one (e.g. access_denied). */
    error: nullableText,
  }),
  'oauth.refreshed': z.object({ issuer: nullableText }),
  'oauth.refresh_failed': z.object({
    issuer: nullableText,
    reason: z.enum(['no_refresh_token', 'client_gone', 'refused']),
    error: nullableText,
  }),
  /** The URL's host only: a path or query may carry something the app considers secret. */
  'webhook.created': z.object({ webhookId: z.string(), host: z.string(), events: z.array(z.string()).nullable() }),
  'webhook.deleted': z.object({ webhookId: z.string() }),
} as const;

export type AuditEventType = keyof typeof auditDetailsByType;
export const AUDIT_EVENT_TYPES = Object.keys(auditDetailsByType) as [AuditEventType, ...AuditEventType[]];

export type AuditEventDetails<T extends AuditEventType> = z.output<(typeof auditDetailsByType)[T]>;

/** One event's type with its details, checked against each other. */
export type AuditEventBody = { [T in AuditEventType]: { type: T; details: AuditEventDetails<T> } }[AuditEventType];

/**
 * Who did it: an API key or a service token (by id), the operator's command line, Switchboard
 * itself (e.g. a token refresh on a tool call), or the end user who followed an authorization
 * link (unauthenticated: the signed link was their only credential).
 */
export const AUDIT_ACTOR_TYPES = ['api_key', 'service_token', 'cli', 'system', 'end_user'] as const;
export type AuditActorType = (typeof AUDIT_ACTOR_TYPES)[number];
export type AuditActor = { type: AuditActorType; id: string | null };

export const CLI_ACTOR: AuditActor = { type: 'cli', id: null };
export const SYSTEM_ACTOR: AuditActor = { type: 'system', id: null };
export const END_USER_ACTOR: AuditActor = { type: 'end_user', id: null };
