import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * OpenTelemetry traces, exported over OTLP/HTTP to a loopback receiver: a span for the
 * incoming request (route template, status) and a child span per upstream call (host,
 * method), with none of the request's secrets: API key, credential headers, query config,
 * tool arguments.
 */
type Attribute = { key: string; value: { stringValue?: string; intValue?: number | string; boolValue?: boolean } };
type Span = { traceId: string; spanId: string; parentSpanId?: string; name: string; kind: number; attributes: Attribute[] };

const NS = 'traced-ns';
const SERVER_KIND = 2;
const CLIENT_KIND = 3;
const headerSecret = canary('trace-header-secret');
// Query config is returned to its owner in `mcpUrl` (so not a canary, which may never leave): it must still stay out of traces.
const querySecret = `query-config-${Math.random().toString(36).slice(2)}`;
const argument = 'an argument that must stay out of traces';

let receiver: http.Server;
let receiverUrl: string;
const exports: { contentType: string | undefined; body: string }[] = [];
let server: TestServer;
let fixture: Upstream;
let key: string;
let spans: Span[];

function attribute(span: Span, key: string): string | number | undefined {
  const value = span.attributes.find((a) => a.key === key)?.value;
  if (!value) return undefined;
  return value.stringValue ?? (value.intValue !== undefined ? Number(value.intValue) : undefined);
}

beforeAll(async () => {
  receiver = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      if (req.method === 'POST' && req.url === '/v1/traces') {
        exports.push({ contentType: req.headers['content-type'], body: Buffer.concat(chunks).toString('utf8') });
      }
      res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  fixture = await startFixtureUpstream('sessions');
  server = await startTestServer({ OTEL_TRACES_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: receiverUrl });
  ({ key } = await server.newAccount());
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
  const connection = await server.request(`/${NS}/traced`, {
    method: 'PUT',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl: `${fixture.url}?token=${querySecret}`, headers: { 'x-api-key': headerSecret } }),
  });
  expect(connection.status).toBe(201);
  const call = await server.request(`/${NS}/traced/.tools/echo`, {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ message: argument }),
  });
  expect(call.status).toBe(200);
  // Closing flushes the spans still batched.
  await server.close();
  spans = exports.flatMap(
    (exported) =>
      (JSON.parse(exported.body) as { resourceSpans: { scopeSpans: { spans: Span[] }[] }[] }).resourceSpans.flatMap((r) =>
        r.scopeSpans.flatMap((s) => s.spans),
      ),
  );
});

afterAll(async () => {
  await fixture?.stop();
  await new Promise<void>((resolve) => receiver?.close(() => resolve()));
});

describe('OpenTelemetry traces (OTEL_TRACES_ENABLED=true)', () => {
  it('exports OTLP/HTTP JSON with a span per request, named by method and route template', () => {
    expect(exports.length).toBeGreaterThan(0);
    for (const exported of exports) expect(exported.contentType).toBe('application/json');
    const call = spans.find((span) => span.kind === SERVER_KIND && attribute(span, 'http.route') === '/{namespace}/{connectionId}/.tools/{toolPath}');
    expect(call).toBeDefined();
    expect(call!.name).toBe('POST /{namespace}/{connectionId}/.tools/{toolPath}');
    expect(attribute(call!, 'http.request.method')).toBe('POST');
    expect(attribute(call!, 'http.response.status_code')).toBe(200);
    const created = spans.find((span) => span.kind === SERVER_KIND && attribute(span, 'http.route') === '/namespaces/{name}');
    expect(attribute(created!, 'http.response.status_code')).toBe(201);
  });

  it('exports a span per upstream call, child of the request that made it, with host and method', () => {
    const call = spans.find((span) => span.kind === SERVER_KIND && attribute(span, 'http.route') === '/{namespace}/{connectionId}/.tools/{toolPath}')!;
    const upstream = spans.filter((span) => span.kind === CLIENT_KIND && span.parentSpanId === call.spanId);
    expect(upstream.length).toBeGreaterThan(0);
    for (const span of upstream) {
      expect(span.traceId).toBe(call.traceId);
      expect(attribute(span, 'server.address')).toBe('127.0.0.1');
      expect(attribute(span, 'server.port')).toBe(fixture.port);
      expect(['GET', 'POST', 'DELETE']).toContain(attribute(span, 'http.request.method'));
    }
    expect(upstream.some((span) => attribute(span, 'http.request.method') === 'POST' && attribute(span, 'http.response.status_code') === 200)).toBe(true);
  });

  it('carries no secret, argument, path or query string', () => {
    const everything = exports.map((exported) => exported.body).join('\n');
    for (const secret of [key, headerSecret, querySecret, argument, 'token=', '/mcp']) expect(everything).not.toContain(secret);
    const keys = new Set(spans.flatMap((span) => span.attributes.map((a) => a.key)));
    expect([...keys].sort()).toEqual(['error.type', 'http.request.method', 'http.response.status_code', 'http.route', 'server.address', 'server.port'].filter((k) => keys.has(k)));
    expect(keys.has('url.full')).toBe(false);
  });
});

describe('with the collector down', () => {
  it('serves as usual and still shuts down cleanly, with a warning', async () => {
    const down = await startTestServer({ OTEL_TRACES_ENABLED: 'true', OTEL_EXPORTER_OTLP_ENDPOINT: `http://127.0.0.1:${await freePort()}` });
    expect((await down.request('/health')).status).toBe(200);
    await down.close();
    expect(down.logs.filter((line) => line.msg === 'could not export the last trace spans')).toHaveLength(1);
  });
});

describe('with traces off', () => {
  it('loads no OpenTelemetry module: only a dynamic import reaches src/telemetry/tracing.ts', () => {
    const src = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', '..', 'src');
    const staticImports = /^import\s+(?!type\b)[^'"]*?from\s+'([^']+)'|^import\s+'([^']+)'/gm;
    const seen = new Set<string>();
    const reached: string[] = [];
    const visit = (file: string) => {
      if (seen.has(file)) return;
      seen.add(file);
      for (const match of fs.readFileSync(file, 'utf8').matchAll(staticImports)) {
        const specifier = match[1] ?? match[2]!;
        if (specifier.startsWith('.')) visit(path.resolve(path.dirname(file), specifier));
        else reached.push(specifier);
      }
    };
    visit(path.join(src, 'main.ts'));
    expect(seen.has(path.join(src, 'telemetry', 'telemetry.ts'))).toBe(true);
    expect(seen.has(path.join(src, 'telemetry', 'tracing.ts'))).toBe(false);
    expect(reached.filter((specifier) => specifier.startsWith('@opentelemetry/'))).toEqual([]);
  });
});
