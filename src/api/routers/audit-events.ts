import { z } from 'zod';
import { auditDetailsByType, AUDIT_ACTOR_TYPES, AUDIT_EVENT_TYPES, type AuditEventType } from '../../core/audit/audit-event-types.ts';
import { listAuditEvents } from '../../core/audit/audit-log.ts';
import { isConnectionId } from '../../core/connections/connection-input.ts';
import { isoTimestampParam, namespaceNameParam } from '../schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const tags = ['audit'];

const listInput = z
  .object({
    type: z.enum(AUDIT_EVENT_TYPES, { error: `must be one of ${AUDIT_EVENT_TYPES.join(', ')}` }).meta({ description: 'Only events of this type' }).optional(),
    namespace: namespaceNameParam.meta({ description: 'Only events about this namespace' }).optional(),
    connectionId: z.string().refine(isConnectionId, 'is not a valid connection id').meta({ description: 'Only events about this connection' }).optional(),
    since: isoTimestampParam.meta({ description: 'Only events at or after this time (ISO 8601)' }).optional(),
    until: isoTimestampParam.meta({ description: 'Only events before this time (ISO 8601)' }).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(50).meta({ description: 'Page size, 1 to 100' }),
    cursor: z.string().max(1024).meta({ description: 'nextCursor from the previous page' }).optional(),
  })
  .strict();

/** Every field of an event is listed: nothing stored can slip into an answer. */
function eventSchema<T extends AuditEventType>(type: T) {
  return z.object({
    id: z.string().meta({ example: 'evt_3k7q2m5x9v4h6c8b' }),
    type: z.literal(type),
    occurredAt: z.iso.datetime(),
    actor: z.object({
      type: z.enum(AUDIT_ACTOR_TYPES),
      id: z.string().nullable().meta({ description: 'The API key or service token id; null for cli, system and end_user' }),
    }),
    namespace: z.string().nullable(),
    connectionId: z.string().nullable(),
    requestId: z.string().nullable().meta({ description: 'The request that caused it (as in the x-request-id header and the logs)' }),
    details: auditDetailsByType[type],
  });
}

const auditEventSchema = z
  .discriminatedUnion('type', [
    eventSchema('api_key.created'),
    eventSchema('api_key.revoked'),
    eventSchema('token.minted'),
    eventSchema('token.revoked'),
    eventSchema('connection.credentials_set'),
    eventSchema('connection.deleted'),
    eventSchema('oauth.started'),
    eventSchema('oauth.completed'),
    eventSchema('oauth.failed'),
    eventSchema('oauth.refreshed'),
    eventSchema('oauth.refresh_failed'),
    eventSchema('webhook.created'),
    eventSchema('webhook.deleted'),
  ])
  .meta({ id: 'AuditEvent' });

export const auditEventsRouter = router({
  list: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/audit-events',
        summary: 'List your account’s security events, newest first (API key only)',
        description:
          'API keys created and revoked, service tokens minted and revoked, connection credentials set, connections deleted, upstream OAuth started, completed, failed and refreshed: who, when, and facts that are not secret (never a key, token, credential value or OAuth code).',
        tags,
      },
      access: { resource: 'auditEvents', operation: 'read', apiKeyOnly: true },
    })
    .input(listInput)
    .output(
      z.object({
        events: z.array(auditEventSchema),
        nextCursor: z.string().nullable().meta({ description: 'Cursor of the next (older) page, null on the last one' }),
      }),
    )
    .query(({ ctx, input }) => listAuditEvents(ctx.db, ctx.access.accountId, input)),
});
