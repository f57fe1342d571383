import { z } from 'zod';
import { isConnectionId } from '../core/connections/connection-input.ts';
import { refusingReservedKeys } from '../core/reserved-keys.ts';
import { namespaceNameParam, storableText } from './schemas.ts';

/**
 * Path parameters arrive percent-encoded from REST (`github%2Fcreate_issue`) and plain from
 * tRPC; a `%` never belongs in an id or tool name, so decoding it is safe for both.
 */
const pathSegment = z.string().transform((value, ctx) => {
  if (!value.includes('%')) return value;
  try {
    return decodeURIComponent(value);
  } catch {
    ctx.addIssue({ code: 'custom', message: 'is not validly percent-encoded' });
    return z.NEVER;
  }
});

export const connectionPath = {
  namespace: namespaceNameParam,
  connectionId: pathSegment
    .pipe(z.string().refine(isConnectionId, 'is not a valid connection id'))
    .meta({ description: 'Connection id: 1 to 128 letters, digits and . _ ~ : @ -' }),
};

export const toolPathParam = pathSegment
  .pipe(z.string().min(1).max(512))
  .meta({ description: 'Tool name, or a category prefix; `/` may be sent as `%2F`, and `a/b` also finds the tool `a.b`' });

const configField = z.object({ label: z.string(), description: z.string().optional(), required: z.boolean().optional() });
const configFields = z.object({
  headers: z.record(z.string(), configField).optional(),
  query: z.record(z.string(), configField).optional(),
});

export const connectionStatusSchema = z
  .discriminatedUnion('state', [
    z.object({ state: z.literal('connected') }),
    z.object({ state: z.literal('disconnected') }),
    z.object({
      state: z.literal('auth_required'),
      setupUrl: z.string().optional().meta({ description: 'Where the end user completes setup' }),
      authorizationUrl: z.string().optional().meta({ description: 'Where the end user authorizes access upstream' }),
    }),
    z.object({
      state: z.literal('input_required'),
      setupUrl: z.string().optional(),
      http: configFields.meta({ description: 'The configuration the server declares, by header and query parameter name' }),
      missing: z.object({ headers: z.array(z.string()), query: z.array(z.string()) }),
    }),
    z.object({ state: z.literal('error'), message: z.string() }),
  ])
  .meta({ id: 'ConnectionStatus', description: 'What Switchboard last learned about the upstream server' });

export const serverInfoSchema = z
  .object({
    name: z.string(),
    version: z.string(),
    title: z.string().optional(),
    description: z.string().optional(),
    websiteUrl: z.string().optional(),
    icons: z
      .array(
        z.object({
          src: z.string(),
          mimeType: z.string().optional(),
          sizes: z.array(z.string()).optional(),
          theme: z.enum(['light', 'dark']).optional(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'ServerInfo' });

export const connectionSchema = z
  .object({
    connectionId: z.string(),
    name: z.string(),
    mcpUrl: z.string(),
    metadata: z.record(z.string(), z.unknown()).nullable(),
    createdAt: z.iso.datetime(),
    transport: z.literal('http'),
    serverInfo: serverInfoSchema.optional(),
    status: connectionStatusSchema,
  })
  .meta({ id: 'Connection', description: 'A connection to an upstream MCP server. Its credential headers are never returned.' });

const connectionFields = {
  mcpUrl: z.string().meta({ description: 'The upstream MCP server (http or https); query-string configuration stays in it' }),
  name: z.string().meta({ description: 'Human-readable name (defaults to the connection id)' }),
  metadata: refusingReservedKeys(z.record(z.string(), z.unknown()))
    .nullable()
    .meta({ description: 'Free-form JSON for your own bookkeeping, filterable in listings' }),
  headers: z.record(z.string(), z.string()).meta({
    description: 'Credential headers sent to the upstream on every request; stored encrypted, never returned. Replaces any stored ones.',
  }),
  transport: z.literal('http').meta({ description: 'Only http is supported' }),
  returnUrl: z.string().max(2048).meta({
    description: 'Where the end user is sent back after authorizing the upstream (an origin the operator allowed in OAUTH_RETURN_ORIGINS)',
  }),
  // @smithery/api 0.50 sends it: a webhook for the upstream's server-to-client messages, an
  // unstable Smithery feature. Not the end user's return URL (that is `returnUrl`), so it is
  // not mapped there; core never reads it, and those messages reach the client over the MCP endpoint.
  unstableCallbackUrl: z.string().max(2048).meta({
    description:
      'Accepted and ignored (sent by @smithery/api 0.50): Switchboard does not post server-to-client messages to a webhook; they arrive over the MCP endpoint',
  }),
};

/**
 * Smithery features Switchboard does not serve. Declared (as `never`) rather than left to
 * `.strict()`, so a client that sends them learns the feature is missing, not that it made a
 * typo; the generated types say they cannot be sent.
 */
const smitheryOnlyFields = {
  mock: z.never({ error: 'mock connections (LLM-simulated tool calls) are not supported by Switchboard' }).optional().meta({
    description: 'Not supported by Switchboard: a request that sends it is refused (400)',
  }),
  source: z.never({ error: 'connections hosted from source files are not supported by Switchboard: give mcpUrl' }).optional().meta({
    description: 'Not supported by Switchboard: a request that sends it is refused (400)',
  }),
  server: z.never({ error: 'registry servers (a server named instead of mcpUrl) are not supported by Switchboard: give mcpUrl' }).optional().meta({
    description: 'Not supported by Switchboard: a request that sends it is refused (400)',
  }),
};

export const createConnectionInput = z
  .object({ namespace: namespaceNameParam, ...connectionFields, mcpUrl: connectionFields.mcpUrl, ...smitheryOnlyFields })
  .partial({ name: true, metadata: true, headers: true, transport: true, returnUrl: true, unstableCallbackUrl: true })
  .strict();

export const upsertConnectionInput = z
  .object({ ...connectionPath, ...connectionFields, ...smitheryOnlyFields })
  .partial({ mcpUrl: true, name: true, metadata: true, headers: true, transport: true, returnUrl: true, unstableCallbackUrl: true })
  .strict();

const METADATA_KEY = /^metadata(?:\.([^.[\]]+)|\[([^[\]]+)\])$/;

/**
 * Query strings carry metadata filters as `metadata.userId=alice` (docs) or
 * `metadata[userId]=alice` (what the official client's stringifier sends); both fold into
 * `metadata: {userId: "alice"}` before validation.
 */
function foldMetadataFilters(query: unknown): unknown {
  if (query === null || typeof query !== 'object') return query;
  // Without prototypes: a key such as `__proto__` is kept as data, to be refused by name.
  const folded: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  const metadata: Record<string, unknown> = Object.create(null) as Record<string, unknown>;
  for (const [key, value] of Object.entries(query)) {
    const match = METADATA_KEY.exec(key);
    if (match) metadata[(match[1] ?? match[2])!] = value;
    else folded[key] = value;
  }
  if (Object.keys(metadata).length > 0) {
    folded.metadata = Object.assign(Object.create(null) as Record<string, unknown>, folded.metadata, metadata);
  }
  return folded;
}

const metadataFilterSchema = refusingReservedKeys(
  z
    .record(storableText(100).pipe(z.string().min(1)), z.union([storableText(1000), z.array(storableText(1000)).min(1).max(20)]))
    .refine((filters) => Object.keys(filters).length <= 20, 'at most 20 metadata filters'),
);

/**
 * trpc-to-openapi only describes scalar query parameters, so `metadata` is not a declared key:
 * it is taken from the rest (`catchall`) and checked here; the OpenAPI document describes it
 * separately. Any other unknown parameter is refused.
 */
export const listConnectionsInput = z.preprocess(
  foldMetadataFilters,
  z
    .object({
      namespace: namespaceNameParam,
      limit: z.coerce.number().int().min(1).max(100).default(100).meta({ description: 'Page size, 1 to 100' }),
      cursor: z.string().max(1024).meta({ description: 'nextCursor from the previous page' }).optional(),
      name: storableText(200).meta({ description: 'Only connections with exactly this name' }).optional(),
      mcpUrl: storableText(2048).meta({ description: 'Only connections to exactly this URL' }).optional(),
    })
    .catchall(z.unknown())
    .transform(({ namespace, limit, cursor, name, mcpUrl, metadata, ...unknown }, ctx) => {
      for (const key of Object.keys(unknown)) ctx.addIssue({ code: 'custom', path: [key], message: 'is not a known parameter' });
      const filters = metadataFilterSchema.optional().safeParse(metadata);
      if (!filters.success) {
        for (const issue of filters.error.issues) ctx.addIssue({ ...issue, path: ['metadata', ...issue.path] } as never);
        return z.NEVER;
      }
      return { namespace, limit, cursor, name, mcpUrl, metadata: filters.data };
    }),
);

/** How the OpenAPI document describes the metadata filters that `listConnectionsInput` takes. */
export const metadataFilterParameter = {
  name: 'metadata',
  in: 'query',
  style: 'deepObject',
  explode: true,
  required: false,
  description:
    'Only connections whose metadata holds these values: `metadata[userId]=alice` (or `metadata.userId=alice`); several keys must all match',
  schema: { type: 'object', additionalProperties: { type: 'string' } },
} as const;

export const connectionPageSchema = z.object({
  connections: z.array(connectionSchema),
  nextCursor: z.string().nullable().meta({ description: 'Cursor of the next page, null on the last one' }),
});
