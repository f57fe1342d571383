import { z } from 'zod';
import { TEST_EVENT_TYPE, WEBHOOK_EVENT_TYPES } from '../../core/webhooks/webhook-events.ts';
import { createWebhook, deleteWebhook, getWebhook, listDeliveries, listWebhooks, sendTestEvent } from '../../core/webhooks/webhooks.ts';
import { namespaceNameParam } from '../schemas.ts';
import { protectedProcedure, router } from '../trpc.ts';

const tags = ['webhooks'];
const read = { resource: 'webhooks', operation: 'read', apiKeyOnly: true, namespaceFrom: 'name' } as const;
const write = { resource: 'webhooks', operation: 'write', apiKeyOnly: true, namespaceFrom: 'name' } as const;

// Checked in core (404 for a malformed one, as for a missing one), so only bounded here.
const webhookIdParam = z.string().min(1).max(200).meta({ description: 'The webhook id (`wh_…`)' });
const webhookRef = z.object({ name: namespaceNameParam, webhookId: webhookIdParam });

/** Every field listed: the signing secret is never part of it. */
const webhookSchema = z
  .object({
    webhookId: z.string().meta({ example: 'wh_k3q7m2x9v4h6c8bd' }),
    url: z.string(),
    events: z.array(z.string()).nullable().meta({ description: 'The event types it receives; null: all of them, those added later too' }),
    description: z.string().nullable(),
    createdAt: z.iso.datetime(),
  })
  .meta({ id: 'Webhook' });

const attemptSchema = z.object({
  attempt: z.number().int().meta({ description: '1 for the first attempt' }),
  attemptedAt: z.iso.datetime(),
  durationMs: z.number().int(),
  responseStatus: z.number().int().nullable().meta({ description: 'The receiver’s HTTP status; null when there was no answer' }),
  error: z.string().nullable().meta({ description: 'Why the attempt failed (null: it succeeded); never the receiver’s body' }),
});

const deliverySchema = z
  .object({
    eventId: z.string().meta({ description: 'The event id, sent as `webhook-id`: the same on every attempt' }),
    eventType: z.string(),
    status: z.enum(['pending', 'succeeded', 'failed']),
    payload: z.unknown().meta({ description: 'The event as sent: `{type, timestamp, data}`' }),
    attemptCount: z.number().int(),
    nextAttemptAt: z.iso.datetime().nullable().meta({ description: 'When the next attempt is due (pending only)' }),
    createdAt: z.iso.datetime(),
    attempts: z.array(attemptSchema),
  })
  .meta({ id: 'WebhookDelivery' });

export const webhooksRouter = router({
  create: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/namespaces/{name}/webhooks',
        summary: 'Register a webhook for connection events of a namespace (API key only)',
        description: `Events are signed as Standard Webhooks specify (webhook-id, webhook-timestamp, webhook-signature). The answer carries the signing secret (\`whsec_…\`), shown this once. Event types: ${WEBHOOK_EVENT_TYPES.join(', ')}.`,
        tags,
      },
      access: write,
      successStatus: 201,
    })
    .input(
      z.object({
        name: namespaceNameParam,
        url: z.string().max(4096).meta({ description: 'Where events are POSTed: http(s), reachable under the egress policy' }),
        events: z.array(z.string().max(200)).max(20).optional().meta({ description: `Event types to receive (${WEBHOOK_EVENT_TYPES.join(', ')}); all when left out` }),
        description: z.string().max(1000).optional(),
      }),
    )
    .output(webhookSchema.extend({ secret: z.string().meta({ description: 'The signing secret, shown only in this answer' }) }))
    .mutation(({ ctx, input }) => createWebhook(ctx, ctx.access, input.name, input)),

  list: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/namespaces/{name}/webhooks', summary: 'List the webhooks of a namespace (API key only)', tags },
      access: read,
    })
    .input(z.object({ name: namespaceNameParam }))
    .output(z.object({ webhooks: z.array(webhookSchema) }))
    .query(({ ctx, input }) => listWebhooks(ctx, ctx.access, input.name)),

  get: protectedProcedure
    .meta({
      openapi: { method: 'GET', path: '/namespaces/{name}/webhooks/{webhookId}', summary: 'Get a webhook (API key only)', tags },
      access: read,
    })
    .input(webhookRef)
    .output(webhookSchema)
    .query(({ ctx, input }) => getWebhook(ctx, ctx.access, { namespace: input.name, id: input.webhookId })),

  delete: protectedProcedure
    .meta({
      openapi: { method: 'DELETE', path: '/namespaces/{name}/webhooks/{webhookId}', summary: 'Delete a webhook and its deliveries (API key only)', tags },
      access: write,
    })
    .input(webhookRef)
    .output(z.object({ success: z.literal(true) }))
    .mutation(({ ctx, input }) => deleteWebhook(ctx, ctx.access, { namespace: input.name, id: input.webhookId })),

  test: protectedProcedure
    .meta({
      openapi: {
        method: 'POST',
        path: '/namespaces/{name}/webhooks/{webhookId}/test',
        summary: `Send a ${TEST_EVENT_TYPE} event to a webhook (API key only)`,
        description: 'Queued and delivered like any event (signed, retried); its attempts show in the deliveries.',
        tags,
      },
      access: write,
      successStatus: 202,
    })
    .input(webhookRef)
    .output(z.object({ eventId: z.string(), type: z.string() }))
    .mutation(({ ctx, input }) => sendTestEvent(ctx, ctx.access, { namespace: input.name, id: input.webhookId })),

  deliveries: protectedProcedure
    .meta({
      openapi: {
        method: 'GET',
        path: '/namespaces/{name}/webhooks/{webhookId}/deliveries',
        summary: 'List a webhook’s deliveries with every attempt, newest first (API key only)',
        tags,
      },
      access: read,
    })
    .input(
      webhookRef.extend({
        limit: z.coerce.number().int().min(1).max(100).default(20).meta({ description: 'Page size, 1 to 100' }),
        cursor: z.string().max(1024).meta({ description: 'nextCursor from the previous page' }).optional(),
      }),
    )
    .output(z.object({ deliveries: z.array(deliverySchema), nextCursor: z.string().nullable() }))
    .query(({ ctx, input }) => listDeliveries(ctx, ctx.access, { namespace: input.name, id: input.webhookId }, input)),
});
