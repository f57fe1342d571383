import { generateOpenApiDocument, type OpenAPIObject } from 'trpc-to-openapi';
import { httpStatusByErrorCode } from '../errors.ts';
import { metadataFilterParameter } from './connection-schemas.ts';
import { procedureMetas } from './procedure-meta.ts';
import type { Meta } from './trpc.ts';
import type { AppRouter } from './router.ts';

const errorCodes = Object.keys(httpStatusByErrorCode);

const errorResponse = (description: string) => ({
  description,
  content: { 'application/json': { schema: { $ref: '#/components/schemas/Error' } } },
});

const errorDescriptions: Record<string, string> = {
  '400': 'Invalid input',
  '401': 'Missing, malformed, expired or revoked credential',
  '403': 'The credential does not allow this',
  '404': 'Not found, or outside the credential’s reach',
  '409': 'Conflict (carries `x-should-retry: false`)',
  '413': 'Request body too large',
  '415': 'Request body is not JSON',
  '429': 'Rate limit exceeded (carries `retry-after`)',
  '500': 'Internal error',
};

/**
 * The OpenAPI document of the REST surface. trpc-to-openapi describes the routes; we then
 * make it tell the truth about our edge: success statuses other than 200, and the
 * `{error, message}` body every failure carries.
 */
export function buildOpenApiDocument(router: AppRouter, options: { publicUrl: string; version: string }): OpenAPIObject {
  const document = generateOpenApiDocument(router, {
    title: 'Switchboard',
    description:
      'Self-hosted connections to remote MCP servers. Authenticate with `Authorization: Bearer <API key or service token>`.',
    version: options.version,
    baseUrl: options.publicUrl,
    securitySchemes: { bearerAuth: { type: 'http', scheme: 'bearer', description: 'API key (`sk_…`) or service token' } },
  });

  const metaByOperationId = new Map<string, Meta>();
  for (const [path, meta] of procedureMetas(router)) metaByOperationId.set(path.replace(/\./g, '-'), meta);

  // Paths are written with `\.` for the router's regular expressions; clients see them plain.
  document.paths = Object.fromEntries(Object.entries(document.paths ?? {}).map(([path, item]) => [path.replaceAll('\\.', '.'), item]));

  for (const pathItem of Object.values(document.paths ?? {})) {
    for (const operation of Object.values(pathItem as Record<string, Operation>)) {
      if (!operation?.responses) continue;
      const meta = metaByOperationId.get(operation.operationId ?? '');
      if (meta?.bodyAs) describeWholeBody(operation, meta.bodyAs);
      if (meta?.metadataFilters) operation.parameters = [...(operation.parameters ?? []), metadataFilterParameter];
      const responses: Record<string, unknown> = {};
      for (const [status, response] of Object.entries(operation.responses)) {
        if (status === '200') responses[String(meta?.successStatus ?? 200)] = response;
        else responses[status] = errorResponse(errorDescriptions[status] ?? 'Error');
      }
      if (meta?.access) {
        responses['401'] ??= errorResponse(errorDescriptions['401']!);
        responses['404'] ??= errorResponse(errorDescriptions['404']!);
        responses['429'] ??= errorResponse(errorDescriptions['429']!);
      }
      if (meta?.access?.operation === 'write' && meta.openapi?.method === 'PUT') responses['409'] = errorResponse(errorDescriptions['409']!);
      operation.responses = sortByStatus(responses);
    }
  }

  const schemas = Object.fromEntries(
    Object.entries(document.components?.schemas ?? {}).filter(([name]) => !name.startsWith('error.')),
  );
  schemas['Error'] = {
    type: 'object',
    required: ['error', 'message'],
    properties: {
      error: { type: 'string', enum: errorCodes, description: 'Machine-readable error code' },
      message: { type: 'string', description: 'What went wrong, for people' },
    },
  };
  document.components = { ...document.components, schemas };
  return document;
}

type Operation = {
  operationId?: string;
  parameters?: unknown[];
  responses?: Record<string, unknown>;
  requestBody?: { content?: Record<string, { schema?: { properties?: Record<string, unknown> } }> };
};

/** The body *is* the field (e.g. the tool's arguments), not an object holding it. */
function describeWholeBody(operation: Operation, field: string): void {
  const json = operation.requestBody?.content?.['application/json'];
  const schema = json?.schema?.properties?.[field];
  if (json && schema) json.schema = schema as typeof json.schema;
}

function sortByStatus(responses: Record<string, unknown>): Record<string, unknown> {
  return Object.fromEntries(Object.entries(responses).sort(([a], [b]) => Number(a) - Number(b)));
}
