import type { ConfigField, ConfigFields } from '../connections/connection-status.ts';

/**
 * A server's declared configuration: the JSON Schema it serves at `/.well-known/mcp-config`,
 * where each property says where its value travels (`x-from: {header}` or `{query}`, the
 * query parameter of the same name when absent).
 */
type SchemaProperty = {
  title?: unknown;
  description?: unknown;
  default?: unknown;
  'x-from'?: unknown;
  type?: unknown;
  enum?: unknown;
  format?: unknown;
  writeOnly?: unknown;
  'x-secret'?: unknown;
};
type ConfigSchema = { properties?: Record<string, SchemaProperty>; required?: unknown };

export type ConfigRequirements = { http: ConfigFields; missing: { headers: string[]; query: string[] } };

const MAX_SCHEMA_BYTES = 64 * 1024;

/** The schema, or undefined when the server offers none (any failure counts as none). */
export async function fetchConfigSchema(mcpUrl: string, fetchImpl: typeof fetch, timeoutMs: number): Promise<ConfigSchema | undefined> {
  const url = new URL('/.well-known/mcp-config', mcpUrl);
  try {
    const response = await fetchImpl(url, {
      headers: { accept: 'application/schema+json, application/json' },
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'error',
    });
    if (!response.ok || !/json/i.test(response.headers.get('content-type') ?? '')) {
      await response.body?.cancel();
      return undefined;
    }
    const text = await response.text();
    if (text.length > MAX_SCHEMA_BYTES) return undefined;
    const schema = JSON.parse(text) as ConfigSchema;
    return schema && typeof schema.properties === 'object' && schema.properties !== null ? schema : undefined;
  } catch {
    return undefined;
  }
}

/**
 * What the schema asks for and which required values the connection lacks: headers it has no
 * credential for, query parameters its URL does not carry. A field with a default is never missing.
 */
export function evaluateConfig(schema: ConfigSchema, have: { headers: Record<string, string>; mcpUrl: string }): ConfigRequirements {
  const required = new Set(Array.isArray(schema.required) ? schema.required.filter((r): r is string => typeof r === 'string') : []);
  const query = new URL(have.mcpUrl).searchParams;
  const http: Required<ConfigFields> = { headers: {}, query: {} };
  const missing = { headers: [] as string[], query: [] as string[] };
  for (const [property, spec] of Object.entries(schema.properties ?? {})) {
    if (!spec || typeof spec !== 'object') continue;
    const isRequired = required.has(property) && spec.default === undefined;
    const field: ConfigField = {
      label: typeof spec.title === 'string' ? spec.title : property,
      ...(typeof spec.description === 'string' ? { description: spec.description } : {}),
      required: isRequired,
      ...formHints(spec),
    };
    const from = (spec['x-from'] ?? {}) as { header?: unknown; query?: unknown };
    if (typeof from.header === 'string') {
      const header = from.header.toLowerCase();
      http.headers[header] = { ...field, secret: true };
      if (isRequired && !(header in have.headers)) missing.headers.push(header);
    } else {
      const parameter = typeof from.query === 'string' ? from.query : property;
      http.query[parameter] = field;
      if (isRequired && !query.has(parameter)) missing.query.push(parameter);
    }
  }
  return {
    http: {
      ...(Object.keys(http.headers).length > 0 ? { headers: http.headers } : {}),
      ...(Object.keys(http.query).length > 0 ? { query: http.query } : {}),
    },
    missing,
  };
}

const VALUE_TYPES = new Set(['string', 'number', 'integer', 'boolean']);
const MAX_OPTIONS = 100;

/** What the setup form needs to render a field well: whether it is secret, its type, its choices. */
function formHints(spec: SchemaProperty): Pick<ConfigField, 'secret' | 'type' | 'options'> {
  const secret = spec.format === 'password' || spec.writeOnly === true || spec['x-secret'] === true;
  const type = typeof spec.type === 'string' && VALUE_TYPES.has(spec.type) ? (spec.type as ConfigField['type']) : undefined;
  const options = Array.isArray(spec.enum)
    ? spec.enum.filter((option) => typeof option === 'string' || typeof option === 'number').map(String).slice(0, MAX_OPTIONS)
    : [];
  return { ...(secret ? { secret } : {}), ...(type ? { type } : {}), ...(options.length > 0 ? { options } : {}) };
}
