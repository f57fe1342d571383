import fc from 'fast-check';

/**
 * fast-check arbitraries driven by an OpenAPI 3.1 document: for every operation, requests
 * shaped like the spec says (path and query parameters, JSON bodies from the request schemas,
 * filled with hostile text and numbers) and requests that break it (wrong types, malformed or
 * mislabelled bodies, duplicate and unknown query parameters). Requests are raw: a method, a
 * request target sent byte for byte, headers and a body.
 */

type Schema = {
  $ref?: string;
  type?: string | string[];
  enum?: unknown[];
  const?: unknown;
  pattern?: string;
  minLength?: number;
  maxLength?: number;
  minimum?: number;
  maximum?: number;
  minItems?: number;
  maxItems?: number;
  items?: Schema;
  properties?: Record<string, Schema>;
  required?: string[];
  additionalProperties?: boolean | Schema;
  anyOf?: Schema[];
  oneOf?: Schema[];
  allOf?: Schema[];
  default?: unknown;
};

type Parameter = { name: string; in: string; required?: boolean; schema?: Schema; style?: string };

export type Operation = {
  method: string;
  /** The path template, e.g. `/{namespace}/{connectionId}`. */
  path: string;
  pathParams: Parameter[];
  queryParams: Parameter[];
  body?: { schema: Schema; required: boolean };
};

type OpenApiDocument = {
  paths: Record<string, Record<string, { parameters?: Parameter[]; requestBody?: { required?: boolean; content?: Record<string, { schema?: Schema }> } }>>;
  components?: { schemas?: Record<string, Schema> };
};

export function operationsOf(document: OpenApiDocument): Operation[] {
  const operations: Operation[] = [];
  for (const [path, methods] of Object.entries(document.paths)) {
    for (const [method, operation] of Object.entries(methods)) {
      if (!['get', 'put', 'post', 'delete', 'patch'].includes(method)) continue;
      const parameters = operation.parameters ?? [];
      const json = operation.requestBody?.content?.['application/json']?.schema;
      operations.push({
        method: method.toUpperCase(),
        path,
        pathParams: parameters.filter((p) => p.in === 'path'),
        queryParams: parameters.filter((p) => p.in === 'query'),
        body: json ? { schema: json, required: operation.requestBody?.required ?? false } : undefined,
      });
    }
  }
  return operations;
}

/** Values the fuzzer mixes in so that some requests reach real rows, not only validation. */
export type KnownValues = {
  /** By parameter or field name: `namespace`, `connectionId`, `toolPath`, `mcpUrl`, … */
  byName: Record<string, string[]>;
  /** Tool arguments that the real upstream's tools accept. */
  toolArguments: Record<string, unknown>[];
};

export type FuzzRequest = {
  method: string;
  target: string;
  headers: [string, string][];
  body?: string;
  /** What the generator meant to produce, for the summary. */
  shape: 'valid' | 'invalid';
  /** The path parameters before encoding, for checks on what the request was about. */
  params: Record<string, string>;
};

// ---------------------------------------------------------------- hostile text and numbers

/** Any UTF-16 code unit, lone surrogates included. */
const codeUnit = fc.integer({ min: 0, max: 0xffff }).map((unit) => String.fromCharCode(unit));

const oddTexts = [
  '',
  ' ',
  '\u0000',
  'a\u0000b',
  '\ud800',
  'x\udfffy',
  '\udc00\ud800',
  '..',
  '../..',
  '..\\..\\',
  '%2e%2e',
  '%00',
  '%ZZ',
  '%',
  '%252F',
  '\u202e\u0644\u0627',
  'e\u0301',
  '\u00e9',
  '\ufb01',
  '\uff0e\uff0e',
  '\u2215',
  '\u200b',
  '\ufeff',
  '😀',
  '\r\n',
  '<script>alert(1)</script>',
  "' or 1=1 --",
  '{"a":1}',
  '__proto__',
  'constructor',
  'toString',
  'null',
  'undefined',
  'NaN',
  '-1',
  '1e309',
];

/** Text of every kind: ordinary, full Unicode, raw code units, the classic troublemakers, long runs. */
export const hostileString: fc.Arbitrary<string> = fc.oneof(
  { weight: 3, arbitrary: fc.string({ maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: 'binary', maxLength: 24 }) },
  { weight: 2, arbitrary: fc.string({ unit: codeUnit, maxLength: 16 }) },
  { weight: 3, arbitrary: fc.constantFrom(...oddTexts) },
  { weight: 1, arbitrary: fc.tuple(fc.constantFrom('a', 'é', '\u0000', '/', '%'), fc.integer({ min: 200, max: 20_000 })).map(([c, n]) => c.repeat(n)) },
);

const oddNumberTexts = ['0', '-0', '-1', '1.5', '1e3', '1e309', '-1e309', 'NaN', 'Infinity', '0x10', '0b1', ' 1', '1 ', '+1', '', '9'.repeat(40), '1,2', 'true', 'null', '[]'];

/** What a number may look like in a query string. */
export const hostileNumberText: fc.Arbitrary<string> = fc.oneof(
  fc.integer().map(String),
  fc.double().map(String),
  fc.bigInt({ min: -(10n ** 30n), max: 10n ** 30n }).map(String),
  fc.constantFrom(...oddNumberTexts),
);

const hostileNumber: fc.Arbitrary<number> = fc.oneof(
  fc.integer(),
  fc.constantFrom(0, -0, -1, 0.5, 1e308, -1e308, Number.MAX_SAFE_INTEGER + 2, Number.MIN_VALUE, 2 ** 31, 2 ** 53, -(2 ** 63)),
  fc.double({ noNaN: true, noDefaultInfinity: true }),
);

/** JSON values of any shape, hostile strings as keys and leaves. */
export const hostileJson: fc.Arbitrary<unknown> = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: 'small', withCrossShrink: true },
    hostileString,
    hostileNumber,
    fc.boolean(),
    fc.constant(null),
    fc.array(tie('value'), { maxLength: 4 }),
    fc.dictionary(hostileString, tie('value'), { maxKeys: 4 }),
  ),
})).value;

// ---------------------------------------------------------------- values from schemas

function resolve(schema: Schema, components: Record<string, Schema>): Schema {
  if (!schema.$ref) return schema;
  const name = schema.$ref.replace('#/components/schemas/', '');
  return components[name] ?? {};
}

function typesOf(schema: Schema): string[] {
  if (Array.isArray(schema.type)) return schema.type;
  if (schema.type) return [schema.type];
  if (schema.properties) return ['object'];
  return [];
}

/**
 * A value of the schema's shape: the right JSON types and required fields, with contents that
 * may break its finer rules (lengths, ranges, patterns) and extra fields now and then.
 */
export function shapedValue(schema: Schema, components: Record<string, Schema>, known: KnownValues, name = ''): fc.Arbitrary<unknown> {
  const s = resolve(schema, components);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return fc.oneof(...alternatives.map((alt) => shapedValue(alt, components, known, name)));
  if (s.allOf) return shapedValue(Object.assign({}, ...s.allOf.map((part) => resolve(part, components))), components, known, name);
  if (s.const !== undefined) return fc.oneof({ weight: 4, arbitrary: fc.constant(s.const) }, { weight: 1, arbitrary: hostileString });
  if (s.enum) return fc.oneof({ weight: 4, arbitrary: fc.constantFrom(...s.enum) }, { weight: 1, arbitrary: hostileString });
  const types = typesOf(s);
  if (types.length === 0) return hostileJson;
  return fc.oneof(...types.map((type) => shapedOfType(type, s, components, known, name)));
}

function shapedOfType(type: string, s: Schema, components: Record<string, Schema>, known: KnownValues, name: string): fc.Arbitrary<unknown> {
  switch (type) {
    case 'string':
      return shapedString(s, known, name);
    case 'integer':
    case 'number': {
      const inRange = fc.integer({ min: Math.max(s.minimum ?? -1e6, -1e9), max: Math.min(s.maximum ?? 1e6, 1e9) });
      return fc.oneof({ weight: 3, arbitrary: inRange }, { weight: 2, arbitrary: hostileNumber });
    }
    case 'boolean':
      return fc.boolean();
    case 'null':
      return fc.constant(null);
    case 'array': {
      const item = s.items ? shapedValue(s.items, components, known, name) : hostileJson;
      return fc.array(item, { minLength: Math.min(s.minItems ?? 0, 3), maxLength: Math.min(s.maxItems ?? 4, 4) + 1 });
    }
    case 'object':
      return shapedObject(s, components, known);
    default:
      return hostileJson;
  }
}

function shapedString(s: Schema, known: KnownValues, name: string): fc.Arbitrary<string> {
  const options: { weight: number; arbitrary: fc.Arbitrary<string> }[] = [{ weight: 3, arbitrary: hostileString }];
  if (s.pattern) options.push({ weight: 3, arbitrary: fc.stringMatching(new RegExp(s.pattern)) });
  const pool = known.byName[name];
  if (pool?.length) options.push({ weight: 4, arbitrary: fc.constantFrom(...pool) });
  if (s.maxLength !== undefined && s.maxLength < 100_000) {
    options.push({ weight: 1, arbitrary: fc.constantFrom('m'.repeat(s.maxLength), 'm'.repeat(s.maxLength + 1)) });
  }
  return fc.oneof(...options);
}

function shapedObject(s: Schema, components: Record<string, Schema>, known: KnownValues): fc.Arbitrary<Record<string, unknown>> {
  const properties = s.properties ?? {};
  const required = new Set(s.required ?? []);
  const fields = Object.fromEntries(Object.entries(properties).map(([key, sub]) => [key, shapedValue(sub, components, known, key)]));
  const record = fc.record(fields, { requiredKeys: [...required].filter((key) => key in fields) });
  const extraValue = typeof s.additionalProperties === 'object' ? shapedValue(s.additionalProperties, components, known) : hostileJson;
  const extras = fc.dictionary(hostileString, extraValue, { maxKeys: s.additionalProperties === false ? 1 : 3 });
  return fc
    .tuple(record, fc.oneof({ weight: 4, arbitrary: fc.constant({}) }, { weight: 1, arbitrary: extras }), fc.integer({ min: 0, max: 6 }))
    .map(([base, extra, dice]) => {
      // Now and then a required field goes missing.
      const value: Record<string, unknown> = { ...extra, ...base };
      if (dice === 0 && required.size > 0) delete value[[...required][0]!];
      return value;
    });
}

// ---------------------------------------------------------------- encoding

/**
 * Percent-encodes text the way a URL carries it: UTF-8 for well-formed text; a lone surrogate
 * becomes its 3-byte WTF-8 form (`%ED%A0%80`), which no decoder accepts. Unreserved characters
 * stay as they are, so `..` remains a dot-segment.
 */
export function percentEncode(text: string): string {
  let out = '';
  for (const char of text) {
    if (/^[A-Za-z0-9\-._~]$/.test(char)) {
      out += char;
      continue;
    }
    const unit = char.codePointAt(0)!;
    const bytes = unit >= 0xd800 && unit <= 0xdfff ? Buffer.from([0xe0 | (unit >> 12), 0x80 | ((unit >> 6) & 0x3f), 0x80 | (unit & 0x3f)]) : Buffer.from(char, 'utf8');
    for (const byte of bytes) out += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  }
  return out;
}

/** A path segment as sent: mostly percent-encoded, sometimes half-encoded or double-encoded. */
const segmentEncoding = fc.constantFrom<'encoded' | 'double' | 'raw-safe'>('encoded', 'encoded', 'encoded', 'double', 'raw-safe');

function encodeSegment(text: string, how: 'encoded' | 'double' | 'raw-safe'): string {
  if (how === 'double') return percentEncode(percentEncode(text));
  // Keeps the characters a request line may carry unencoded (`%` too, so `%ZZ` arrives as is).
  if (how === 'raw-safe') return [...text].map((c) => (/^[\x21-\x7e]$/.test(c) && c !== '?' && c !== '#' ? c : percentEncode(c))).join('');
  return percentEncode(text);
}

// ---------------------------------------------------------------- requests

const jsonContentTypes = ['application/json', 'application/json; charset=utf-8', 'Application/JSON', 'application/vnd.api+json'];
const wrongContentTypes = ['text/plain', 'application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', 'application/jsonx', 'json', ''];
const malformedBodies = ['{', '{"a":', '{"a":1,}', "{'a':1}", '{"a":1}{"b":2}', 'nul', '\u0000', '\ufeff{}', '{"a":"\\ud800"}', '{"__proto__":{"polluted":1}}', '[', ']'];

function deeplyNested(depth: number): string {
  return `${'{"a":'.repeat(depth)}1${'}'.repeat(depth)}`;
}

/** Extra headers of odd but well-formed kinds (values stay latin1 without CR/LF). */
const extraHeaders: fc.Arbitrary<[string, string][]> = fc.array(
  fc.tuple(
    fc.constantFrom('x-request-id', 'accept', 'origin', 'mcp-protocol-version', 'mcp-session-id', 'x-stainless-retry-count', 'x-forwarded-for', 'accept-encoding', 'x-unknown'),
    fc.oneof(fc.string({ unit: 'grapheme-ascii', maxLength: 40 }), fc.constantFrom('*/*', 'null', '2025-11-25', 'gzip, br', 'a'.repeat(1000))),
  ),
  { maxLength: 3 },
);

function pathParamValue(param: Parameter, components: Record<string, Schema>, known: KnownValues): fc.Arbitrary<string> {
  const value = shapedValue(param.schema ?? { type: 'string' }, components, known, param.name).map((v) => (typeof v === 'string' ? v : JSON.stringify(v) ?? ''));
  // Every part of the spec's path must be present: an empty segment would match another route.
  return value.map((v) => (v === '' ? '_' : v));
}

function buildPath(template: string, values: Record<string, string>, encodings: Record<string, 'encoded' | 'double' | 'raw-safe'>, multiSegmentTool: boolean): string {
  return template.replace(/\{([^}]+)\}/g, (_whole, name: string) => {
    const text = values[name] ?? '';
    // Tool paths may also come as several segments (`github/create_issue`).
    if (name === 'toolPath' && multiSegmentTool) return text.split('/').map((part) => encodeSegment(part, encodings[name] ?? 'encoded')).join('/');
    return encodeSegment(text, encodings[name] ?? 'encoded');
  });
}

type QueryPair = [string, string];

function queryPairs(op: Operation, components: Record<string, Schema>, known: KnownValues, valid: boolean): fc.Arbitrary<QueryPair[]> {
  const perParam = op.queryParams.map((param) => {
    const schema = param.schema ?? { type: 'string' };
    if (param.style === 'deepObject') {
      // metadata[k]=v and metadata.k=v filters, odd keys included.
      return fc
        .array(fc.tuple(fc.constantFrom('[]', '.'), hostileString, hostileString), { maxLength: valid ? 3 : 25 })
        .map((filters) => filters.map(([style, key, value]): QueryPair => [style === '.' ? `${param.name}.${key}` : `${param.name}[${key}]`, value]));
    }
    const types = typesOf(resolve(schema, components));
    const scalar = types.includes('integer') || types.includes('number') ? hostileNumberText : shapedString(resolve(schema, components), known, param.name);
    return fc.option(scalar.map((value): QueryPair[] => [[param.name, value]]), { nil: [] as QueryPair[], freq: 2 });
  });
  const base = fc.tuple(...perParam).map((lists) => lists.flat());
  if (valid) return base;
  return fc
    .tuple(
      base,
      fc.array(
        fc.oneof(
          // Duplicates, arrays where scalars are expected, unknown names, nameless values.
          fc.constantFrom(...op.queryParams.map((p) => p.name), 'unknown', '', '[]', 'a[b][c]', '__proto__', 'constructor[prototype]').chain((name) =>
            fc.tuple(fc.constantFrom(name, `${name}[]`, `${name}[0]`, `${name}[x][y]`), hostileString),
          ),
          fc.tuple(hostileString, hostileString),
        ),
        { minLength: 1, maxLength: 4 },
      ),
    )
    .map(([pairs, extra]) => [...pairs, ...extra, ...pairs]);
}

function encodeQuery(pairs: QueryPair[], raw: boolean): string {
  if (pairs.length === 0) return raw ? '?' : '';
  const encoded = pairs.map(([k, v]) => (raw ? `${encodeSegment(k, 'raw-safe')}=${encodeSegment(v, 'raw-safe')}` : `${percentEncode(k)}=${percentEncode(v)}`));
  return `?${encoded.join('&')}`;
}

/** Requests that follow the operation's spec in shape (contents may still be refused). */
export function validShapedRequest(op: Operation, components: Record<string, Schema>, known: KnownValues): fc.Arbitrary<FuzzRequest> {
  const params = fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, pathParamValue(p, components, known)])) as Record<string, fc.Arbitrary<string>>);
  const encodings = fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, segmentEncoding])));
  const isToolCall = op.path.includes('{toolPath}') && op.method === 'POST';
  const bodySchema = op.body?.schema;
  const body: fc.Arbitrary<unknown> = isToolCall
    ? fc.oneof({ weight: 2, arbitrary: fc.constantFrom(...known.toolArguments) }, { weight: 3, arbitrary: bodySchema ? shapedValue(bodySchema, components, known) : hostileJson })
    : bodySchema
      ? shapedValue(bodySchema, components, known)
      : fc.constant(undefined);
  return fc
    .record({
      params,
      encodings,
      multiSegmentTool: fc.boolean(),
      query: queryPairs(op, components, known, true),
      body,
      omitBody: fc.boolean(),
      contentType: fc.constantFrom(...jsonContentTypes),
      headers: extraHeaders,
    })
    .map(({ params, encodings, multiSegmentTool, query, body, omitBody, contentType, headers }) => {
      const sendBody = body !== undefined && !(omitBody && !op.body?.required);
      return {
        method: op.method,
        target: buildPath(op.path, params, encodings, multiSegmentTool) + encodeQuery(query, false),
        headers: sendBody ? [['content-type', contentType] as [string, string], ...headers] : headers,
        body: sendBody ? JSON.stringify(body) : undefined,
        shape: 'valid' as const,
        params,
      };
    });
}

/** Requests that break the operation's spec: wrong types, bad bodies, bad query strings, odd paths. */
export function invalidRequest(op: Operation, components: Record<string, Schema>, known: KnownValues): fc.Arbitrary<FuzzRequest> {
  const params = fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, fc.oneof(pathParamValue(p, components, known), hostileString.map((s) => s || '_'))])) as Record<string, fc.Arbitrary<string>>);
  const encodings = fc.record(Object.fromEntries(op.pathParams.map((p) => [p.name, fc.constantFrom<'encoded' | 'double' | 'raw-safe'>('encoded', 'double', 'raw-safe')])));
  const schemaBody = op.body ? shapedValue(op.body.schema, components, known).map((v) => JSON.stringify(v)) : fc.constant('{}');
  const body = fc.oneof(
    { weight: 3, arbitrary: hostileJson.map((v) => JSON.stringify(v) ?? 'null') },
    { weight: 2, arbitrary: fc.constantFrom(...malformedBodies) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 100_000 }).map(deeplyNested) },
    { weight: 2, arbitrary: schemaBody },
    { weight: 1, arbitrary: fc.string({ unit: codeUnit, maxLength: 40 }) },
  );
  return fc
    .record({
      params,
      encodings,
      multiSegmentTool: fc.boolean(),
      query: queryPairs(op, components, known, false),
      rawQuery: fc.boolean(),
      body: fc.option(body, { freq: 4 }),
      contentType: fc.option(fc.constantFrom(...jsonContentTypes, ...wrongContentTypes), { freq: 5 }),
      trailing: fc.constantFrom('', '', '', '/', '//', '/.', '/..'),
      headers: extraHeaders,
    })
    .map(({ params, encodings, multiSegmentTool, query, rawQuery, body, contentType, trailing, headers }) => {
      const all: [string, string][] = [...headers];
      if (contentType !== null) all.push(['content-type', contentType]);
      return {
        method: op.method,
        target: buildPath(op.path, params, encodings, multiSegmentTool) + trailing + encodeQuery(query, rawQuery),
        headers: all,
        body: body ?? undefined,
        shape: 'invalid' as const,
        params,
      };
    });
}

// ---------------------------------------------------------------- every field, one at a time

type FieldPath = (string | number)[];

/** A small value the schema accepts, from the known values where a field has some. */
export function minimalValue(schema: Schema, components: Record<string, Schema>, known: KnownValues, name = ''): unknown {
  const s = resolve(schema, components);
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return minimalValue(alternatives[0]!, components, known, name);
  if (s.const !== undefined) return s.const;
  if (s.enum) return s.enum[0];
  const type = typesOf(s)[0];
  if (type === 'string') return known.byName[name]?.[0] ?? (s.pattern ? fc.sample(fc.stringMatching(new RegExp(s.pattern)), { numRuns: 1, seed: 1 })[0] : 'x');
  if (type === 'integer' || type === 'number') return s.minimum ?? 1;
  if (type === 'boolean') return true;
  if (type === 'array') return Array.from({ length: Math.max(1, s.minItems ?? 0) }, () => minimalValue(s.items ?? {}, components, known, name));
  if (type === 'object') {
    return Object.fromEntries((s.required ?? []).map((key) => [key, minimalValue(s.properties?.[key] ?? {}, components, known, key)]));
  }
  return null;
}

/**
 * Every place in a body where the schema takes text: named properties, array items, and the
 * keys and values of free-form maps (`[]` stands for "a key of this map").
 */
export function textFieldPaths(schema: Schema, components: Record<string, Schema>, path: FieldPath = [], depth = 0): FieldPath[] {
  const s = resolve(schema, components);
  if (depth > 4) return [];
  const alternatives = s.anyOf ?? s.oneOf;
  if (alternatives) return alternatives.flatMap((alt) => textFieldPaths(alt, components, path, depth + 1)).filter(unique());
  const types = typesOf(s);
  const found: FieldPath[] = [];
  if (types.includes('string') && path.length > 0) found.push(path);
  if (types.includes('array')) found.push(...textFieldPaths(s.items ?? {}, components, [...path, 0], depth + 1));
  if (types.includes('object')) {
    for (const [key, sub] of Object.entries(s.properties ?? {})) found.push(...textFieldPaths(sub, components, [...path, key], depth + 1));
    if (s.additionalProperties !== false && s.additionalProperties !== undefined) {
      found.push([...path, '[]']);
      if (typeof s.additionalProperties === 'object') found.push(...textFieldPaths(s.additionalProperties, components, [...path, 'field'], depth + 1));
    }
  }
  return found;
}

function unique() {
  const seen = new Set<string>();
  return (path: FieldPath) => {
    const key = JSON.stringify(path);
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  };
}

/** `base` with `value` placed at `path`, building the objects and arrays on the way. */
export function withValueAt(base: unknown, path: FieldPath, value: string): unknown {
  if (path.length === 0) return value;
  const [head, ...rest] = path;
  if (head === '[]') return { ...(base as object), [value]: 'v' };
  if (typeof head === 'number') {
    const list = Array.isArray(base) && base.length > 0 ? [...base] : [{}];
    list[0] = withValueAt(list[0], rest, value);
    return list;
  }
  const object = base !== null && typeof base === 'object' && !Array.isArray(base) ? (base as Record<string, unknown>) : {};
  return { ...object, [head!]: withValueAt(object[head!], rest, value) };
}
