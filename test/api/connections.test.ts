import { createTRPCClient, httpBatchLink } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../src/api/router.ts';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, startServerEverything, type Upstream } from '../helpers/upstreams.ts';

/**
 * Connections over REST and tRPC, against real upstream MCP servers: what a Connection
 * looks like, listing and its filters, upserts and the 409 rule, statuses that say what went
 * wrong, deletion, validation, and credentials that never come back out.
 */

type Status = { state: string; message?: string; http?: Record<string, Record<string, Record<string, unknown>>>; missing?: { headers: string[]; query: string[] } };
type Connection = {
  connectionId: string;
  name: string;
  mcpUrl: string;
  metadata: Record<string, unknown> | null;
  createdAt: string;
  transport: string;
  serverInfo?: { name: string; version: string; title?: string };
  status: Status;
};
type Page = { connections: Connection[]; nextCursor: string | null };

let server: TestServer;
/** A second server whose upstreams must answer within 1.5 s, for the timeout case. */
let impatient: TestServer;
let key: string;
let impatientKey: string;

const API_KEY = canary('fixture-api-key');
const CONFIG_API_KEY = canary('config-api-key');
let up: {
  sessions: Upstream;
  modern: Upstream;
  everything: Upstream;
  html: Upstream;
  hang: Upstream;
  apiKey: Upstream;
  config: Upstream;
  flaky: Upstream;
};

beforeAll(async () => {
  const [s, i, sessions, modern, everything, html, hang, apiKey, config, flaky] = await Promise.all([
    startTestServer(),
    startTestServer({ UPSTREAM_TIMEOUT_MS: '1500' }),
    startFixtureUpstream('sessions'),
    startFixtureUpstream('modern'),
    startServerEverything(),
    startFixtureUpstream('html'),
    startFixtureUpstream('hang'),
    startFixtureUpstream('sessions', { requireApiKey: API_KEY }),
    startFixtureUpstream('sessions', { requireApiKey: CONFIG_API_KEY, configSchema: true }),
    startFixtureUpstream('sessions'),
  ]);
  server = s;
  impatient = i;
  up = { sessions, modern, everything, html, hang, apiKey, config, flaky };
  key = (await server.newAccount()).key;
  impatientKey = (await impatient.newAccount()).key;
});

afterAll(async () => {
  await Promise.all(Object.values(up ?? {}).map((u) => u.stop()));
  // close() throws when a planted credential left either server: let it fail the file.
  await Promise.all([server?.close(), impatient?.close()]);
});

function call(path: string, init: { method?: string; body?: unknown; raw?: string; on?: TestServer; bearer?: string } = {}) {
  const target = init.on ?? server;
  const hasBody = init.body !== undefined || init.raw !== undefined;
  return target.request(path, {
    method: init.method ?? 'GET',
    bearer: init.bearer ?? (target === impatient ? impatientKey : key),
    headers: hasBody ? { 'content-type': 'application/json' } : {},
    body: init.raw ?? (init.body !== undefined ? JSON.stringify(init.body) : undefined),
  });
}

async function json<T>(response: Response, status: number): Promise<T> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  return JSON.parse(text) as T;
}

async function newNamespace(on: TestServer = server): Promise<string> {
  return (await json<{ name: string }>(await call('/namespaces', { method: 'POST', on }), 201)).name;
}

async function create(ns: string, body: Record<string, unknown>, on: TestServer = server): Promise<Connection> {
  return json<Connection>(await call(`/${ns}`, { method: 'POST', body, on }), 201);
}

async function get(ns: string, id: string): Promise<Connection> {
  return json<Connection>(await call(`/${ns}/${id}`), 200);
}

async function list(ns: string, query = ''): Promise<Page> {
  return json<Page>(await call(`/${ns}${query ? `?${query}` : ''}`), 200);
}

async function expectError(response: Response, status: number, error: string): Promise<{ error: string; message: string }> {
  const text = await response.text();
  expect(response.status, text).toBe(status);
  const body = JSON.parse(text) as { error: string; message: string };
  expect(body).toEqual({ error, message: expect.any(String) });
  expect(body.message.length).toBeGreaterThan(5);
  return body;
}

async function callTool(ns: string, id: string, tool: string, args: Record<string, unknown>) {
  return call(`/${ns}/${id}/.tools/${tool}`, { method: 'POST', body: args });
}

/** The status is written in the background after a call; give it a moment. */
async function waitForState(ns: string, id: string, state: string): Promise<Connection> {
  let connection = await get(ns, id);
  for (let i = 0; i < 100 && connection.status.state !== state; i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
    connection = await get(ns, id);
  }
  return connection;
}

/** A cursor made by hand, in the shape the server's own cursors have today. */
function cursorOf(position: unknown): string {
  return Buffer.from(JSON.stringify(position)).toString('base64url');
}

/** A Connection never carries its credential headers, under any name. */
function expectNoCredentials(connection: Connection, ...values: string[]) {
  expect(Object.keys(connection)).not.toContain('headers');
  const text = JSON.stringify(connection);
  for (const value of values) expect(text).not.toContain(value);
}

describe('creating a connection', () => {
  it.each([
    ['fixture sessions (2025-11-25)', () => up.sessions, { name: 'fixture-sessions', version: '1.2.3', title: 'Test fixture' }],
    ['fixture modern (2026-07-28)', () => up.modern, { name: 'fixture-modern', version: '1.2.3', title: 'Test fixture' }],
    ['server-everything', () => up.everything, { name: expect.any(String), version: expect.any(String) }],
  ])('connects to %s and reports its serverInfo', async (_label, upstream, serverInfo) => {
    const ns = await newNamespace();
    const connection = await create(ns, { mcpUrl: upstream().url });
    expect(connection).toEqual({
      connectionId: expect.stringMatching(/^[A-Za-z0-9_~][A-Za-z0-9._~:@-]{0,127}$/),
      name: connection.connectionId,
      mcpUrl: upstream().url,
      metadata: null,
      createdAt: expect.any(String),
      transport: 'http',
      serverInfo: expect.objectContaining(serverInfo),
      status: { state: 'connected' },
    });
    expect(new Date(connection.createdAt).toISOString()).toBe(connection.createdAt);
    expect(await get(ns, connection.connectionId)).toEqual(connection);
  });

  it('generates a different id each time', async () => {
    const ns = await newNamespace();
    const [a, b] = await Promise.all([create(ns, { mcpUrl: up.sessions.url }), create(ns, { mcpUrl: up.sessions.url })]);
    expect(a.connectionId).not.toBe(b.connectionId);
  });

  it.each([
    ['free-form JSON', { userId: 'alice', count: 3, ratio: 0.5, flag: true, nothing: null, nested: { deep: { list: [1, 'two', { three: 3 }] } } }],
    ['an empty object', {}],
    ['null', null],
  ])('round-trips metadata: %s', async (_label, metadata) => {
    const ns = await newNamespace();
    const created = await create(ns, { mcpUrl: up.sessions.url, name: 'With metadata', metadata });
    expect(created.metadata).toEqual(metadata);
    expect(created.name).toBe('With metadata');
    expect((await get(ns, created.connectionId)).metadata).toEqual(metadata);
    expect((await list(ns)).connections[0]!.metadata).toEqual(metadata);
  });
});

describe('listing connections', () => {
  let ns: string;
  let byLabel: Record<string, Connection>;

  beforeAll(async () => {
    ns = await newNamespace();
    const specs: [string, Record<string, unknown>][] = [
      ['alice-red', { mcpUrl: up.sessions.url, metadata: { userId: 'alice', team: 'red', count: 3 } }],
      ['alice-blue', { mcpUrl: up.sessions.url, metadata: { userId: 'alice', team: 'blue', count: 4, beta: true } }],
      ['bob-red', { mcpUrl: up.sessions.url, metadata: { userId: 'bob', team: 'red', count: '3' } }],
      ['special', { mcpUrl: up.modern.url, name: 'special', metadata: null }],
    ];
    byLabel = {};
    for (const [label, body] of specs) byLabel[label] = await create(ns, body);
  });

  const ids = (page: Page) => page.connections.map((c) => c.connectionId).sort();
  const expected = (...labels: string[]) => labels.map((label) => byLabel[label]!.connectionId).sort();

  it.each([
    ['metadata.userId (dotted)', 'metadata.userId=alice', ['alice-red', 'alice-blue']],
    ['metadata[userId] (bracketed)', 'metadata[userId]=alice', ['alice-red', 'alice-blue']],
    ['metadata%5BuserId%5D (percent-encoded)', 'metadata%5BuserId%5D=alice', ['alice-red', 'alice-blue']],
    ['two keys, both spellings, ANDed', 'metadata.userId=alice&metadata[team]=red', ['alice-red']],
    ['two keys ANDed', 'metadata.team=red&metadata.userId=bob', ['bob-red']],
    ['a numeric value (matches the number and the string "3")', 'metadata.count=3', ['alice-red', 'bob-red']],
    ['a numeric value only stored as a number', 'metadata.count=4', ['alice-blue']],
    ['a boolean value', 'metadata.beta=true', ['alice-blue']],
    ['a value with reserved characters', 'metadata.userId=al%69ce', ['alice-red', 'alice-blue']],
    ['name', 'name=special', ['special']],
    ['mcpUrl', () => `mcpUrl=${encodeURIComponent(up.modern.url)}`, ['special']],
    ['mcpUrl and metadata', () => `mcpUrl=${encodeURIComponent(up.sessions.url)}&metadata.team=blue`, ['alice-blue']],
    ['metadata nobody has', 'metadata.userId=carol', []],
    ['a name nobody has', 'name=nobody', []],
  ] as [string, string | (() => string), string[]][])('filters by %s', async (_label, query, labels) => {
    const page = await list(ns, typeof query === 'function' ? query() : query);
    expect(ids(page)).toEqual(expected(...labels));
    expect(page.nextCursor).toBeNull();
  });

  it('lists everything, oldest first, without a filter', async () => {
    const page = await list(ns);
    expect(page.connections.map((c) => c.connectionId)).toEqual(
      ['alice-red', 'alice-blue', 'bob-red', 'special'].map((label) => byLabel[label]!.connectionId),
    );
    expect(page.connections).toEqual(page.connections.map((c) => expect.objectContaining({ status: { state: 'connected' } })));
    expect(page.nextCursor).toBeNull();
  });

  it('walks every page without duplicates or gaps', async () => {
    const pagesNs = await newNamespace();
    // Created at once, so several share a creation time and only the id orders them.
    const made = await Promise.all(Array.from({ length: 7 }, (_, i) => create(pagesNs, { mcpUrl: up.sessions.url, name: `page-${i}` })));
    const seen: string[] = [];
    const sizes: number[] = [];
    let cursor: string | null = null;
    do {
      const page: Page = await list(pagesNs, `limit=3${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      sizes.push(page.connections.length);
      seen.push(...page.connections.map((c) => c.connectionId));
      cursor = page.nextCursor;
    } while (cursor !== null && sizes.length < 10);
    expect(sizes).toEqual([3, 3, 1]);
    expect(new Set(seen).size).toBe(seen.length);
    expect([...seen].sort()).toEqual(made.map((c) => c.connectionId).sort());
    // The walk is the same order as one big page.
    expect((await list(pagesNs, 'limit=100')).connections.map((c) => c.connectionId)).toEqual(seen);
    // A page that ends exactly at the last connection has no next one.
    expect((await list(pagesNs, 'limit=7')).nextCursor).toBeNull();
    const six = await list(pagesNs, 'limit=6');
    expect(six.nextCursor).not.toBeNull();
    const rest = await list(pagesNs, `limit=6&cursor=${encodeURIComponent(six.nextCursor!)}`);
    expect(rest.connections.map((c) => c.connectionId)).toEqual([seen[6]]);
    expect(rest.nextCursor).toBeNull();
  });

  it.each([
    ['an invalid cursor', 'cursor=not-a-cursor'],
    ['a cursor of the wrong shape', `cursor=${Buffer.from('{"a":1}').toString('base64url')}`],
    ['an unknown parameter', 'colour=blue'],
    ['limit 0', 'limit=0'],
    ['limit 101', 'limit=101'],
    ['a non-numeric limit', 'limit=ten'],
    ['an empty metadata key', 'metadata[]=x'],
    // PostgreSQL text cannot hold NUL, nor timestamptz these years: refused, not a 500.
    ['a metadata value with NUL', 'metadata.userId=%00'],
    ['a metadata key with NUL', 'metadata[user%00Id]=alice'],
    ['a name with NUL', 'name=a%00b'],
    ['an mcpUrl with NUL', 'mcpUrl=http%3A%2F%2Fa%00b%2Fmcp'],
    ['a cursor holding NUL', `cursor=${cursorOf(['2026-01-01T00:00:00.000Z', 'a\u0000b'])}`],
    ['a cursor far in the future', `cursor=${cursorOf(['+275000-01-01T00:00:00.000Z', 'a'])}`],
    ['a cursor far in the past', `cursor=${cursorOf(['-200000-01-01T00:00:00.000Z', 'a'])}`],
  ])('refuses %s with 400', async (_label, query) => {
    await expectError(await call(`/${ns}?${query}`), 400, 'validation_error');
  });
});

describe('upserting with PUT', () => {
  it('creates (201), then updates (200) name and metadata', async () => {
    const ns = await newNamespace();
    const first = await json<Connection>(
      await call(`/${ns}/my-conn`, { method: 'PUT', body: { mcpUrl: up.sessions.url, metadata: { v: 1 } } }),
      201,
    );
    expect(first).toMatchObject({ connectionId: 'my-conn', name: 'my-conn', metadata: { v: 1 }, status: { state: 'connected' } });
    const second = await json<Connection>(
      await call(`/${ns}/my-conn`, { method: 'PUT', body: { name: 'Renamed', metadata: { v: 2, extra: [1] } } }),
      200,
    );
    expect(second).toMatchObject({ connectionId: 'my-conn', name: 'Renamed', mcpUrl: up.sessions.url, metadata: { v: 2, extra: [1] } });
    expect(second.createdAt).toBe(first.createdAt);
    // The same URL again is no conflict; null clears the metadata.
    const third = await json<Connection>(await call(`/${ns}/my-conn`, { method: 'PUT', body: { mcpUrl: up.sessions.url, metadata: null } }), 200);
    expect(third).toMatchObject({ name: 'Renamed', metadata: null, status: { state: 'connected' } });
    expect(await get(ns, 'my-conn')).toEqual(third);
  });

  it('refuses another mcpUrl with 409 and x-should-retry: false', async () => {
    const ns = await newNamespace();
    await json(await call(`/${ns}/pinned`, { method: 'PUT', body: { mcpUrl: up.sessions.url } }), 201);
    for (const mcpUrl of [up.modern.url, `${up.sessions.url}?region=eu`]) {
      const response = await call(`/${ns}/pinned`, { method: 'PUT', body: { mcpUrl } });
      expect(response.headers.get('x-should-retry')).toBe('false');
      await expectError(response, 409, 'conflict');
    }
    expect((await get(ns, 'pinned')).mcpUrl).toBe(up.sessions.url);
  });

  it('takes the same URL spelled differently as the same URL (no 409)', async () => {
    const ns = await newNamespace();
    await json(await call(`/${ns}/spelled`, { method: 'PUT', body: { mcpUrl: up.sessions.url } }), 201);
    const respelled = up.sessions.url.replace('http://', 'HTTP://');
    const updated = await json<Connection>(await call(`/${ns}/spelled`, { method: 'PUT', body: { mcpUrl: respelled, name: 'Same' } }), 200);
    expect(updated).toMatchObject({ mcpUrl: up.sessions.url, name: 'Same' });
  });

  it('answers concurrent PUTs of one new id with one 201 and the rest 200', async () => {
    const ns = await newNamespace();
    const responses = await Promise.all(
      Array.from({ length: 5 }, (_, i) => call(`/${ns}/raced`, { method: 'PUT', body: { mcpUrl: up.sessions.url, metadata: { i } } })),
    );
    // An upsert is idempotent: losing the race to create is an update, not a conflict (and
    // a 409 the client is told not to retry would be one retrying could fix).
    const outcomes = responses.map((r) => `${r.status} x-should-retry=${r.headers.get('x-should-retry')}`).sort();
    await Promise.all(responses.map((r) => r.body?.cancel()));
    expect(outcomes).toEqual([...Array(4).fill('200 x-should-retry=null'), '201 x-should-retry=null']);
    expect((await list(ns)).connections).toHaveLength(1);
    expect((await waitForState(ns, 'raced', 'connected')).status).toEqual({ state: 'connected' });
  });

  it('refuses a PUT on a missing id without mcpUrl (400)', async () => {
    const ns = await newNamespace();
    await expectError(await call(`/${ns}/nothing-here`, { method: 'PUT', body: { name: 'x' } }), 400, 'validation_error');
    await expectError(await call(`/${ns}/nothing-here`), 404, 'not_found');
  });

  it('replaces the credential headers, which decide what the upstream says', async () => {
    const ns = await newNamespace();
    const extra = canary('extra-header');
    const wrong = canary('wrong-api-key');
    const created = await create(ns, { mcpUrl: up.apiKey.url, headers: { 'X-Api-Key': API_KEY, 'x-extra': extra } });
    expect(created.status).toEqual({ state: 'connected' });
    expectNoCredentials(created, API_KEY, extra);
    const id = created.connectionId;
    const echoed = await json<{ content: { text: string }[] }>(await callTool(ns, id, 'echo', { message: 'hello' }), 200);
    expect(echoed.content[0]!.text).toBe('Echo: hello');
    const info = await json<{ content: { text: string }[] }>(await callTool(ns, id, 'request-info', {}), 200);
    expect(JSON.parse(info.content[0]!.text).headerNames).toEqual(expect.arrayContaining(['x-api-key', 'x-extra']));

    // Wrong key: the upstream refuses, the status says so and tools are refused.
    const broken = await json<Connection>(await call(`/${ns}/${id}`, { method: 'PUT', body: { headers: { 'x-api-key': wrong } } }), 200);
    expectNoCredentials(broken, wrong, API_KEY, extra);
    expect(broken.status.state).toBe('auth_required');
    const refused = await callTool(ns, id, 'echo', { message: 'hello' });
    expect(refused.status).toBeGreaterThanOrEqual(400);
    await refused.body?.cancel();
    expect((await get(ns, id)).status.state).toBe('auth_required');

    // The right key again, alone: x-extra is gone, since headers are replaced, not merged.
    const fixed = await json<Connection>(await call(`/${ns}/${id}`, { method: 'PUT', body: { headers: { 'x-api-key': API_KEY } } }), 200);
    expectNoCredentials(fixed, API_KEY, wrong);
    expect(fixed.status).toEqual({ state: 'connected' });
    expect((await json<{ content: { text: string }[] }>(await callTool(ns, id, 'echo', { message: 'again' }), 200)).content[0]!.text).toBe(
      'Echo: again',
    );
    const after = await json<{ content: { text: string }[] }>(await callTool(ns, id, 'request-info', {}), 200);
    const names = JSON.parse(after.content[0]!.text).headerNames as string[];
    expect(names).toContain('x-api-key');
    expect(names).not.toContain('x-extra');
  });

  it('lets an input_required connection add its query configuration, then pins the URL again', async () => {
    const ns = await newNamespace();
    const created = await create(ns, { mcpUrl: up.config.url });
    expect(created.status.state).toBe('input_required');
    expect(created.status.http?.headers?.['x-api-key']).toMatchObject({ label: 'API Key', required: true });
    expect(created.status.missing?.headers).toContain('x-api-key');
    expect(created.status.missing?.query).toContain('region');
    expect(created.status.missing?.query).not.toContain('verbose');
    expectNoCredentials(created, CONFIG_API_KEY);
    const id = created.connectionId;

    // Needing setup, its tools are refused without calling upstream.
    const early = await callTool(ns, id, 'echo', { message: 'too early' });
    expect(early.status).toBe(409);
    await early.body?.cancel();

    const configured = await json<Connection>(
      await call(`/${ns}/${id}`, { method: 'PUT', body: { mcpUrl: `${up.config.url}?region=eu`, headers: { 'x-api-key': CONFIG_API_KEY } } }),
      200,
    );
    expectNoCredentials(configured, CONFIG_API_KEY);
    expect(configured.status).toEqual({ state: 'connected' });
    expect(configured.mcpUrl).toBe(`${up.config.url}?region=eu`);
    expect(configured.serverInfo?.name).toBe('fixture-sessions');
    const echoed = await json<{ content: { text: string }[] }>(await callTool(ns, id, 'echo', { message: 'configured' }), 200);
    expect(echoed.content[0]!.text).toBe('Echo: configured');

    const response = await call(`/${ns}/${id}`, { method: 'PUT', body: { mcpUrl: `${up.config.url}?region=us` } });
    expect(response.headers.get('x-should-retry')).toBe('false');
    await expectError(response, 409, 'conflict');
  });

  it('keeps the 409 for another host or path even while input_required', async () => {
    const ns = await newNamespace();
    const created = await create(ns, { mcpUrl: up.config.url });
    expect(created.status.state).toBe('input_required');
    for (const mcpUrl of [up.sessions.url, `${up.config.url.replace(/\/mcp$/, '/other')}?region=eu`]) {
      await expectError(await call(`/${ns}/${created.connectionId}`, { method: 'PUT', body: { mcpUrl } }), 409, 'conflict');
    }
  });
});

describe('a status that tells the truth', () => {
  // A query marker checks that messages never name the query (only a wrong path names the path).
  const cases: [string, () => Promise<string>, RegExp, TestServer | 'impatient' | undefined][] = [
    // Worded like a name refused after DNS, so that tenants cannot map internal names (docs/security.md).
    ['a name that does not resolve', async () => 'http://does-not-exist.invalid/mcp?q=qmarker', /does-not-exist\.invalid could not be reached \(not found/, undefined],
    ['a port nobody listens on', async () => `http://127.0.0.1:${await freePort()}/mcp?q=qmarker`, /refused/i, undefined],
    ['TLS to a plain-HTTP server', async () => `https://127.0.0.1:${up.sessions.port}/mcp?q=qmarker`, /TLS|SSL/i, undefined],
    ['a web page, not MCP', async () => `${up.html.url}?q=qmarker`, /not .*MCP/i, undefined],
    ['a server that never answers', async () => `${up.hang.url}?q=qmarker`, /within/i, 'impatient'],
    // An MCP server asked at a path it does not serve: the status and the path, not a lost session.
    ['an MCP server at the wrong path', async () => `${up.sessions.url.replace(/\/mcp$/, '/sse')}?q=qmarker`, /^127\.0\.0\.1:\d+ answered HTTP 404 at \/sse: check the server's MCP path$/, undefined],
  ];

  it.each(cases)('reports %s as an error with a useful message', async (_label, url, message, where) => {
    const on = where === 'impatient' ? impatient : server;
    const ns = await newNamespace(on);
    const created = await create(ns, { mcpUrl: await url() }, on);
    expect(created.status).toEqual({ state: 'error', message: expect.stringMatching(message) });
    expect(created.status.message).not.toContain('qmarker');
    expect(created).not.toHaveProperty('serverInfo');
    const stored = await json<Connection>(await call(`/${ns}/${created.connectionId}`, { on }), 200);
    expect(stored.status).toEqual(created.status);
  });

  it('reports auth_required when the upstream wants credentials it was not given', async () => {
    const ns = await newNamespace();
    const created = await create(ns, { mcpUrl: up.apiKey.url });
    expect(created.status.state).toBe('auth_required');
    expect((await get(ns, created.connectionId)).status.state).toBe('auth_required');
  });

  it('is not poisoned by a failed probe: the upstream coming back makes it connected again', async () => {
    const ns = await newNamespace();
    const created = await create(ns, { mcpUrl: up.flaky.url });
    expect(created.status).toEqual({ state: 'connected' });
    const id = created.connectionId;
    await up.flaky.stop();
    // New credentials make the update probe again, and there is nobody to answer.
    const down = await json<Connection>(await call(`/${ns}/${id}`, { method: 'PUT', body: { headers: { 'x-trace': canary('trace') } } }), 200);
    expect(down.status).toEqual({ state: 'error', message: expect.stringMatching(/refused/i) });
    await up.flaky.restart();
    const echoed = await json<{ content: { text: string }[] }>(await callTool(ns, id, 'echo', { message: 'back' }), 200);
    expect(echoed.content[0]!.text).toBe('Echo: back');
    expect((await waitForState(ns, id, 'connected')).status).toEqual({ state: 'connected' });
  });
});

describe('deleting', () => {
  it('deletes a connection once; then it is gone (404)', async () => {
    const ns = await newNamespace();
    const { connectionId } = await create(ns, { mcpUrl: up.sessions.url });
    expect(await json(await call(`/${ns}/${connectionId}`, { method: 'DELETE' }), 200)).toEqual({ success: true });
    await expectError(await call(`/${ns}/${connectionId}`), 404, 'not_found');
    await expectError(await call(`/${ns}/${connectionId}`, { method: 'DELETE' }), 404, 'not_found');
    await expectError(await callTool(ns, connectionId, 'echo', { message: 'x' }), 404, 'not_found');
    expect((await list(ns)).connections).toEqual([]);
  });

  it.each([
    ['deleting the connection', (ns: string, id: string) => call(`/${ns}/${id}`, { method: 'DELETE' })],
    ['deleting its namespace', (ns: string) => call(`/namespaces/${ns}`, { method: 'DELETE' })],
  ])('ends the upstream session when %s', async (_label, remove) => {
    // A witness connection elsewhere asks the fixture how many sessions it holds.
    const witnessNs = await newNamespace();
    const witness = await create(witnessNs, { mcpUrl: up.sessions.url });
    const sessionCount = async () =>
      Number((await json<{ content: { text: string }[] }>(await callTool(witnessNs, witness.connectionId, 'session-count', {}), 200)).content[0]!.text);
    const ns = await newNamespace();
    const doomed = await create(ns, { mcpUrl: up.sessions.url });
    await json(await callTool(ns, doomed.connectionId, 'echo', { message: 'alive' }), 200);
    const before = await sessionCount();
    expect((await remove(ns, doomed.connectionId)).status).toBe(200);
    let after = await sessionCount();
    for (let i = 0; i < 50 && after !== before - 1; i++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await sessionCount();
    }
    expect(after).toBe(before - 1);
  });

  it('deletes the connections of a deleted namespace', async () => {
    const ns = await newNamespace();
    await json(await call(`/${ns}/kept`, { method: 'PUT', body: { mcpUrl: up.sessions.url } }), 201);
    await json(await call(`/namespaces/${ns}`, { method: 'DELETE' }), 200);
    await expectError(await call(`/${ns}/kept`), 404, 'not_found');
    // Claimed again, the name starts empty.
    await json(await call(`/namespaces/${ns}`, { method: 'PUT' }), 201);
    await expectError(await call(`/${ns}/kept`), 404, 'not_found');
    expect((await list(ns)).connections).toEqual([]);
  });
});

describe('validation (400, never 500)', () => {
  let ns: string;
  beforeAll(async () => {
    ns = await newNamespace();
  });

  // Invalid header values are canaries too: an error message that echoed one would fail the file.
  const badBodies: [string, () => unknown][] = [
    ['mcpUrl that is not a URL', () => ({ mcpUrl: 'not a url' })],
    ['a relative mcpUrl', () => ({ mcpUrl: '/mcp' })],
    ['an ftp:// mcpUrl', () => ({ mcpUrl: 'ftp://example.com/mcp' })],
    ['a file:// mcpUrl', () => ({ mcpUrl: 'file:///etc/passwd' })],
    ['a javascript: mcpUrl', () => ({ mcpUrl: 'javascript:alert(1)' })],
    ['an mcpUrl with user:pass@', () => ({ mcpUrl: 'https://user:pass@example.com/mcp' })],
    ['an mcpUrl over 2048 characters', () => ({ mcpUrl: `https://example.com/${'a'.repeat(2048)}` })],
    ['a non-string mcpUrl', () => ({ mcpUrl: 42 })],
    ['a header name with a space', () => ({ mcpUrl: up.sessions.url, headers: { 'x api key': canary('bad-name') } })],
    ['a header name with a colon', () => ({ mcpUrl: up.sessions.url, headers: { 'x-key:': canary('bad-name') } })],
    ['CRLF in a header value', () => ({ mcpUrl: up.sessions.url, headers: { 'x-api-key': `${canary('crlf')}\r\nx-injected: 1` } })],
    ['a NUL in a header value', () => ({ mcpUrl: up.sessions.url, headers: { 'x-api-key': `${canary('nul')}\u0000` } })],
    ['the reserved header mcp-session-id', () => ({ mcpUrl: up.sessions.url, headers: { 'mcp-session-id': canary('session') } })],
    ['the reserved header Host', () => ({ mcpUrl: up.sessions.url, headers: { Host: canary('host') } })],
    ['a non-string header value', () => ({ mcpUrl: up.sessions.url, headers: { 'x-api-key': 12345 } })],
    ['headers that are not an object', () => ({ mcpUrl: up.sessions.url, headers: ['x-api-key'] })],
    ['an unknown body field', () => ({ mcpUrl: up.sessions.url, colour: 'blue' })],
    ['a server field', () => ({ mcpUrl: up.sessions.url, server: 'github' })],
    ['a transport other than http', () => ({ mcpUrl: up.sessions.url, transport: 'stdio' })],
    ['metadata over 16 KiB', () => ({ mcpUrl: up.sessions.url, metadata: { blob: 'x'.repeat(17 * 1024) } })],
    ['metadata that is an array', () => ({ mcpUrl: up.sessions.url, metadata: [1, 2] })],
    ['metadata that is a string', () => ({ mcpUrl: up.sessions.url, metadata: 'alice' })],
    ['an empty name', () => ({ mcpUrl: up.sessions.url, name: '' })],
    ['a blank name', () => ({ mcpUrl: up.sessions.url, name: '   ' })],
    ['a name over 200 characters', () => ({ mcpUrl: up.sessions.url, name: 'n'.repeat(201) })],
    // PostgreSQL text and jsonb cannot hold NUL: refused, not a 500.
    ['a name with NUL', () => ({ mcpUrl: up.sessions.url, name: 'a\u0000b' })],
    ['a metadata value with NUL', () => ({ mcpUrl: up.sessions.url, metadata: { userId: 'a\u0000b' } })],
    ['a metadata key with NUL', () => ({ mcpUrl: up.sessions.url, metadata: { 'user\u0000Id': 'alice' } })],
    ['nested metadata with NUL', () => ({ mcpUrl: up.sessions.url, metadata: { deep: { list: ['ok', '\u0000'] } } })],
  ];

  it.each(badBodies)('refuses %s on create', async (_label, body) => {
    await expectError(await call(`/${ns}`, { method: 'POST', body: body() }), 400, 'validation_error');
  });

  it.each(badBodies)('refuses %s on upsert', async (_label, body) => {
    await expectError(await call(`/${ns}/fresh-id`, { method: 'PUT', body: body() }), 400, 'validation_error');
  });

  it('refuses create without mcpUrl', async () => {
    await expectError(await call(`/${ns}`, { method: 'POST', body: { name: 'no url' } }), 400, 'validation_error');
  });

  it.each([
    ['not JSON', () => '{"mcpUrl": '],
    ['a JSON array', () => '["http://127.0.0.1/mcp"]'],
    ['a JSON string', () => '"http://127.0.0.1/mcp"'],
    ['a JSON number', () => '42'],
    ['JSON null', () => 'null'],
    ['metadata with a lone surrogate (not storable as UTF-8)', () => `{"mcpUrl":"${up.sessions.url}","metadata":{"a":"\\ud800"}}`],
  ])('refuses a body that is %s', async (_label, raw) => {
    await expectError(await call(`/${ns}`, { method: 'POST', raw: raw() }), 400, 'validation_error');
    await expectError(await call(`/${ns}/fresh-id`, { method: 'PUT', raw: raw() }), 400, 'validation_error');
  });

  it.each([
    ['GET /{ns}/{id}', 'GET', (id: string) => `/${id}`],
    ['DELETE /{ns}/{id}', 'DELETE', (id: string) => `/${id}`],
    ['GET /{ns}/{id}/.tools', 'GET', (id: string) => `/${id}/.tools`],
    ['POST /{ns}/{id}/.tools/echo', 'POST', (id: string) => `/${id}/.tools/echo`],
  ])('answers %s for an id with NUL as missing or invalid, never 500', async (_label, method, path) => {
    const response = await call(`/${ns}${path('a%00b')}`, { method, body: method === 'POST' ? {} : undefined });
    const text = await response.text();
    expect([400, 404], text).toContain(response.status);
    expect(JSON.parse(text)).toEqual({ error: expect.stringMatching(/^(validation_error|not_found)$/), message: expect.any(String) });
  });

  it.each([
    ['starting with a dot', '.hidden'],
    ['named .tools', '.tools'],
    ['starting with a hyphen', '-dash'],
    ['containing a space', 'with%20space'],
    ['containing an encoded slash', 'a%2Fb'],
    ['129 characters long', 'c'.repeat(129)],
    ['badly percent-encoded', 'bad%zz'],
  ])('refuses a connection id %s on PUT', async (_label, id) => {
    await expectError(await call(`/${ns}/${id}`, { method: 'PUT', body: { mcpUrl: up.sessions.url } }), 400, 'validation_error');
  });

  it('accepts a connection id of 128 characters and the allowed punctuation', async () => {
    for (const id of ['c'.repeat(128), 'user_1.work~x:y@z-2']) {
      const created = await json<Connection>(await call(`/${ns}/${encodeURIComponent(id)}`, { method: 'PUT', body: { mcpUrl: up.sessions.url } }), 201);
      expect(created.connectionId).toBe(id);
      expect((await get(ns, encodeURIComponent(id))).connectionId).toBe(id);
    }
  });

  it('stored nothing for any refused request', async () => {
    await expectError(await call(`/${ns}/fresh-id`), 404, 'not_found');
    const names = (await list(ns)).connections.map((c) => c.connectionId);
    expect(names).not.toContain('fresh-id');
    expect(names).toHaveLength(2);
  });
});

describe('credentials are write-only', () => {
  it('never come back from create, get, list or upsert', async () => {
    const ns = await newNamespace();
    const secret = canary('write-only');
    const replaced = canary('write-only-2');
    const responses: Response[] = [];
    const created = await call(`/${ns}`, { method: 'POST', body: { mcpUrl: up.apiKey.url, headers: { 'x-api-key': API_KEY, 'x-secret': secret } } });
    responses.push(created.clone());
    const { connectionId } = await json<Connection>(created, 201);
    responses.push(await call(`/${ns}/${connectionId}`));
    responses.push(await call(`/${ns}`));
    responses.push(await call(`/${ns}?metadata.x=y`));
    responses.push(await call(`/${ns}/${connectionId}`, { method: 'PUT', body: { headers: { 'x-api-key': API_KEY, 'x-secret': replaced } } }));
    responses.push(await call(`/${ns}/by-put`, { method: 'PUT', body: { mcpUrl: up.apiKey.url, headers: { 'x-api-key': API_KEY } } }));
    responses.push(await call(`/${ns}/by-put`, { method: 'PUT', body: { name: 'only a name' } }));
    responses.push(await call(`/${ns}/.tools`));
    for (const response of responses) {
      expect(response.status).toBeLessThan(300);
      const text = await response.text();
      for (const value of [API_KEY, secret, replaced]) expect(text).not.toContain(value);
      expect(text).not.toMatch(/"headers"\s*:\s*\{\s*"x-(api-key|secret)"\s*:\s*"/);
      const body = JSON.parse(text) as Connection | Page;
      const connections = 'connections' in body ? body.connections : [body];
      for (const connection of connections as Connection[]) expect(Object.keys(connection)).not.toContain('headers');
    }
  });
});

describe('the tRPC twin', () => {
  it('creates, lists by metadata, gets, lists tools and invokes one', async () => {
    const trpc = createTRPCClient<AppRouter>({
      links: [httpBatchLink({ url: `${server.url}/trpc`, headers: () => ({ authorization: `Bearer ${key}` }) })],
    });
    const namespace = (await trpc.namespaces.create.mutate()).name;
    const secret = canary('trpc-header');
    const created = await trpc.connections.create.mutate({
      namespace,
      mcpUrl: up.sessions.url,
      name: 'From tRPC',
      metadata: { userId: 'x', count: 1 },
      headers: { 'x-trpc-secret': secret },
    });
    expect(created).toMatchObject({ name: 'From tRPC', transport: 'http', metadata: { userId: 'x', count: 1 }, status: { state: 'connected' } });
    expect(Object.keys(created)).not.toContain('headers');
    await trpc.connections.create.mutate({ namespace, mcpUrl: up.sessions.url, metadata: { userId: 'y' } });

    const listed = await trpc.connections.list.query({ namespace, metadata: { userId: 'x' } });
    expect(listed.connections.map((c) => c.connectionId)).toEqual([created.connectionId]);
    expect(listed.nextCursor).toBeNull();
    expect(JSON.stringify(listed)).not.toContain(secret);

    const got = await trpc.connections.get.query({ namespace, connectionId: created.connectionId });
    expect(got).toEqual(created);

    const { tools } = await trpc.tools.list.query({ namespace, connectionId: created.connectionId });
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'repo.search', 'github/create_issue']));

    const result = await trpc.tools.invoke.mutate({ namespace, connectionId: created.connectionId, toolPath: 'add', arguments: { a: 2, b: 40 } });
    expect(result.content).toEqual([{ type: 'text', text: '42' }]);
    expect(result.isError).toBeFalsy();

    // REST sees what tRPC made.
    expect((await get(namespace, created.connectionId)).name).toBe('From tRPC');
  });
});
