import { Client, StreamableHTTPClientTransport, type Tool } from '@modelcontextprotocol/client';
import { Client as V1Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport as V1Transport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hashedSegments } from '../../src/core/tools/toolbox-listing.ts';
import { canary } from '../helpers/canary.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, startServerEverything, type Upstream } from '../helpers/upstreams.ts';

/**
 * The namespace toolbox `POST /connect/{ns}/mcp`: the tools of every visible connection under
 * `<connectionId>.<tool>`, each call routed to its connection. Real upstreams in child
 * processes (a 2025-era fixture, a 2026-07-28 one, server-everything, one that is down, one
 * needing input, one needing authorization), driven by the v2 SDK client of both eras and by
 * raw fetch for the edges.
 */

type JsonRpcMessage = {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, any>;
  error?: { code: number; message: string; data?: Record<string, any> };
};

const MCP_HEADERS = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
/** A connection id that fits no name: too long, with characters tool names cannot carry. */
const LONG_ID = 'customer-workspace.production:eu-west@team~alpha-0123456789-abcdefghij';

let server: TestServer;
let owner: { key: string };
let stranger: { key: string };
let ns: string;
let otherNs: string;
const upstream = {} as Record<'sessions' | 'modern' | 'everything' | 'down' | 'keyed' | 'config', Upstream>;
const conn = {} as Record<'alice' | 'bob' | 'everything' | 'down' | 'inputRequired' | 'authRequired' | 'long' | 'mcp', string>;

function parseSse(text: string): JsonRpcMessage[] {
  return text
    .split(/\r?\n\r?\n/)
    .map((event) => event.split(/\r?\n/).filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('\n'))
    .filter((data) => data !== '')
    .map((data) => JSON.parse(data) as JsonRpcMessage);
}

async function messagesOf(response: Response): Promise<JsonRpcMessage[]> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (type.startsWith('text/event-stream')) return parseSse(text);
  if (type.startsWith('application/json')) return [JSON.parse(text) as JsonRpcMessage];
  throw new Error(`HTTP ${response.status} with content-type "${type}": ${text.slice(0, 300)}`);
}

type PostOptions = { bearer?: string | null; headers?: Record<string, string>; body?: string; namespace?: string; method?: string };

function post(message: unknown, options: PostOptions = {}): Promise<Response> {
  return server.request(`/connect/${options.namespace ?? ns}/mcp`, {
    method: options.method ?? 'POST',
    bearer: options.bearer === null ? undefined : (options.bearer ?? owner.key),
    headers: { ...MCP_HEADERS, 'mcp-session-id': 'smithery-stateless', ...options.headers },
    body: options.body ?? (message === undefined ? undefined : JSON.stringify(message)),
  });
}

let nextId = 1;
/** Sends one request and returns its answer, checking the HTTP status. */
async function rpc(method: string, params?: Record<string, unknown>, options: PostOptions & { status?: number } = {}): Promise<JsonRpcMessage> {
  const id = nextId++;
  const response = await post({ jsonrpc: '2.0', id, method, ...(params ? { params } : {}) }, options);
  const messages = await messagesOf(response);
  expect(response.status, JSON.stringify(messages)).toBe(options.status ?? 200);
  const answer = messages.find((m) => m.id === id && (m.result !== undefined || m.error !== undefined));
  expect(answer, JSON.stringify(messages)).toBeDefined();
  return answer!;
}

const listTools = async (options: PostOptions = {}) => (await rpc('tools/list', undefined, options)).result!.tools as Tool[];

function textOf(answer: JsonRpcMessage): string {
  expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
  return answer.result!.content[0].text as string;
}

async function createConnection(mcpUrl: string, extra: Record<string, unknown> = {}, id?: string): Promise<{ connectionId: string; status: { state: string } }> {
  const response = await server.request(id ? `/${ns}/${encodeURIComponent(id)}` : `/${ns}`, {
    method: id ? 'PUT' : 'POST',
    bearer: owner.key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl, ...extra }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { connectionId: string; status: { state: string } };
}

async function mint(policy: unknown[], bearer = owner.key): Promise<string> {
  const response = await server.request('/tokens', { method: 'POST', bearer, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ policy }) });
  expect(response.status).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

async function sdkClient(mode: 'legacy' | 'auto', bearer = owner.key): Promise<Client> {
  const client = new Client({ name: 'toolbox-test', version: '1.0.0' }, { versionNegotiation: { mode } });
  await client.connect(
    new StreamableHTTPClientTransport(new URL(`${server.url}/connect/${ns}/mcp`), { requestInit: { headers: { authorization: `Bearer ${bearer}` } } }),
  );
  return client;
}

/** A pass-through in front of a real upstream that counts the JSON-RPC methods it forwards. */
async function countingProxy(target: string): Promise<{ url: string; seen: string[]; server: Server }> {
  const seen: string[] = [];
  const proxy = createServer(async (req, res) => {
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const body = Buffer.concat(chunks);
    if (body.length > 0) seen.push(String((JSON.parse(body.toString('utf8')) as { method?: string }).method));
    const headers = Object.fromEntries(Object.entries(req.headers).filter(([name]) => name !== 'host' && name !== 'content-length')) as Record<string, string>;
    try {
      const answer = await fetch(target, { method: req.method, headers, ...(body.length > 0 ? { body } : {}) });
      res.writeHead(answer.status, Object.fromEntries([...answer.headers].filter(([name]) => name !== 'content-length' && name !== 'content-encoding')));
      const reader = answer.body?.getReader();
      for (let read = await reader?.read(); read && !read.done; read = await reader!.read()) res.write(read.value);
      res.end();
    } catch {
      // The upstream or Switchboard hung up (a session's event stream at teardown).
      res.destroy();
    }
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  return { url: `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`, seen, server: proxy };
}

beforeAll(async () => {
  const [started] = await Promise.all([
    startTestServer({ MAX_BODY_BYTES: '65536', UPSTREAM_TIMEOUT_MS: '5000' }),
    ...(
      [
        ['sessions', () => startFixtureUpstream('sessions')],
        ['modern', () => startFixtureUpstream('modern')],
        ['everything', () => startServerEverything()],
        ['down', () => startFixtureUpstream('sessions')],
        ['keyed', () => startFixtureUpstream('sessions', { requireApiKey: canary('toolbox-key') })],
        ['config', () => startFixtureUpstream('sessions', { requireApiKey: canary('toolbox-config-key'), configSchema: true })],
      ] as const
    ).map(async ([name, start]) => {
      upstream[name] = await start();
    }),
  ]);
  server = started;
  owner = await server.newAccount('owner');
  stranger = await server.newAccount('stranger');
  const named = async (bearer: string) => ((await (await server.request('/namespaces', { method: 'POST', bearer })).json()) as { name: string }).name;
  [ns, otherNs] = await Promise.all([named(owner.key), named(owner.key)]);

  const [alice, bob, everything, down, inputRequired, authRequired, long, mcp] = await Promise.all([
    createConnection(upstream.sessions.url, { name: 'Alice’s fixture', metadata: { userId: 'alice' } }),
    createConnection(upstream.modern.url, { metadata: { userId: 'bob' } }),
    createConnection(upstream.everything.url, { metadata: { userId: 'bob' } }),
    createConnection(upstream.down.url, { metadata: { userId: 'alice' } }),
    createConnection(upstream.config.url),
    createConnection(upstream.keyed.url),
    createConnection(upstream.sessions.url, {}, LONG_ID),
    createConnection(upstream.modern.url, {}, 'mcp'),
  ]);
  for (const connected of [alice, bob, everything, down, long, mcp]) expect(connected.status).toEqual({ state: 'connected' });
  expect(inputRequired.status.state).toBe('input_required');
  expect(authRequired.status.state).toBe('auth_required');
  Object.assign(conn, {
    alice: alice.connectionId,
    bob: bob.connectionId,
    everything: everything.connectionId,
    down: down.connectionId,
    inputRequired: inputRequired.connectionId,
    authRequired: authRequired.connectionId,
    long: long.connectionId,
    mcp: mcp.connectionId,
  });
  // Connected once, then gone: its listing fails upstream.
  await upstream.down.stop();
});

afterAll(async () => {
  await Promise.allSettled(Object.values(upstream).map((u) => u.stop()));
  await server?.close();
});

describe('tools/list merges the visible connections', () => {
  it.each(['legacy', 'auto'] as const)('the v2 SDK client (%s negotiation) lists every callable connection’s tools, prefixed', async (mode) => {
    const client = await sdkClient(mode);
    try {
      expect(client.getProtocolEra()).toBe(mode === 'auto' ? 'modern' : 'legacy');
      expect(client.getServerVersion()).toMatchObject({ name: 'switchboard-toolbox' });
      expect(client.getServerCapabilities()?.tools).toBeDefined();
      const { tools } = await client.listTools();
      const names = tools.map((tool) => tool.name);
      expect(names).toEqual(expect.arrayContaining([`${conn.alice}.echo`, `${conn.bob}.echo`, `${conn.alice}.repo.search`, `${conn.everything}.get-sum`, 'mcp.add']));
      expect(new Set(names).size).toBe(names.length);
      for (const name of names) expect(name).toMatch(/^[A-Za-z0-9_.-]{1,64}$/);
      // Nothing from the connections needing setup, nor from the one that is down.
      for (const skipped of [conn.inputRequired, conn.authRequired, conn.down]) expect(names.some((name) => name.startsWith(`${skipped}.`))).toBe(false);

      const echo = tools.find((tool) => tool.name === `${conn.alice}.echo`)!;
      expect(echo.description).toBe(`[Alice’s fixture (${conn.alice})] Echoes the message`);
      expect(echo.inputSchema).toMatchObject({ type: 'object', properties: { message: { type: 'string' } }, required: ['message'] });
      expect(echo._meta).toMatchObject({ 'switchboard/connectionId': conn.alice, 'switchboard/toolName': 'echo' });
    } finally {
      await client.close();
    }
  });

  it('the 1.x SDK client (2025-era only) lists and calls too', async () => {
    const client = new V1Client({ name: 'sdk-v1', version: '1.0.0' });
    await client.connect(new V1Transport(new URL(`${server.url}/connect/${ns}/mcp`), { requestInit: { headers: { authorization: `Bearer ${owner.key}` } } }));
    try {
      expect(client.getServerVersion()).toMatchObject({ name: 'switchboard-toolbox' });
      const { tools } = await client.listTools();
      expect(tools.map((tool) => tool.name)).toContain(`${conn.bob}.add`);
      expect(await client.callTool({ name: `${conn.bob}.add`, arguments: { a: 20, b: 22 } })).toMatchObject({ content: [{ type: 'text', text: '42' }] });
    } finally {
      await client.close();
    }
  });

  it('says which connections were left out and why, and logs the failing upstream', async () => {
    const answer = await rpc('tools/list');
    const unavailable = answer.result!._meta['switchboard/unavailable'] as { connectionId: string; reason: string; message?: string }[];
    expect(unavailable).toEqual(
      expect.arrayContaining([
        { connectionId: conn.inputRequired, reason: 'input_required' },
        { connectionId: conn.authRequired, reason: 'auth_required' },
        { connectionId: conn.down, reason: 'failed', message: expect.stringMatching(new RegExp(`refused.*127\\.0\\.0\\.1:${upstream.down.port}`, 'i')) },
      ]),
    );
    expect(server.logs.some((line) => line.msg === 'toolbox: a connection’s tools could not be listed' && line.connectionId === conn.down)).toBe(true);
  });

  it('works as the official helper sends it: no handshake, the smithery-stateless session id, no protocol version', async () => {
    const names = (await listTools()).map((tool) => tool.name);
    expect(names).toContain(`${conn.bob}.add`);
  });
});

describe('tools/call is routed to the connection its name names', () => {
  it.each(['legacy', 'auto'] as const)('the v2 SDK client (%s) calls tools on different upstreams with their arguments', async (mode) => {
    const client = await sdkClient(mode);
    try {
      expect(await client.callTool({ name: `${conn.alice}.add`, arguments: { a: 2, b: 40 } })).toMatchObject({ content: [{ type: 'text', text: '42' }] });
      expect(await client.callTool({ name: `${conn.everything}.get-sum`, arguments: { a: 1, b: 2 } })).toMatchObject({ content: [{ text: expect.stringContaining('3') }] });
      // Which upstream answered: the fixtures report the protocol version they were spoken to in.
      const seen = async (id: string) => JSON.parse(((await client.callTool({ name: `${id}.request-info`, arguments: {} })).content as { text: string }[])[0]!.text);
      expect((await seen(conn.alice)).protocolVersion).toBe('2025-11-25');
      expect((await seen(conn.bob)).protocolVersion).toBe('2026-07-28');
      expect(await client.callTool({ name: `${conn.alice}.repo.search`, arguments: { query: 'mcp' } })).toMatchObject({ content: [{ text: 'searched mcp' }] });
    } finally {
      await client.close();
    }
  });

  it.each(['legacy', 'auto'] as const)('passes progress notifications through, then the result (%s)', async (mode) => {
    const client = await sdkClient(mode);
    try {
      const progress: unknown[] = [];
      const result = await client.callTool(
        { name: `${conn.bob}.progress`, arguments: { steps: 3, delayMs: 50 } },
        { onprogress: (step) => progress.push(step) },
      );
      expect(result.content).toEqual([{ type: 'text', text: 'done after 3 steps' }]);
      expect(progress).toEqual([1, 2, 3].map((step) => expect.objectContaining({ progress: step, total: 3 })));
    } finally {
      await client.close();
    }
  });

  it('passes the upstream’s tool errors and JSON-RPC errors back', async () => {
    const failed = await rpc('tools/call', { name: `${conn.alice}.fail`, arguments: {} });
    expect(failed.result).toMatchObject({ isError: true, content: [{ text: 'this tool failed on purpose' }] });
    const invalid = await rpc('tools/call', { name: `${conn.alice}.add`, arguments: { a: 'two', b: 1 } });
    expect(invalid.result).toMatchObject({ isError: true, content: [{ text: expect.stringMatching(/^Input validation error: Invalid arguments for tool add/) }] });
    // A plain name goes upstream as it is: the upstream's own JSON-RPC error comes back, code and message.
    for (const id of [conn.alice, conn.bob]) {
      const missing = await rpc('tools/call', { name: `${id}.no-such-tool`, arguments: {} });
      expect(missing.error).toEqual({ code: -32602, message: 'Tool no-such-tool not found' });
    }
  });

  it.each([
    ['a name without a connection', 'echo'],
    ['an unknown connection', 'conn_nosuchconnection.echo'],
    ['a hashed connection segment that names none', 'nobody--abcdefghij.echo'],
    ['a name over 64 characters', `${'x'.repeat(60)}.echo`],
  ])('%s: JSON-RPC -32602, nothing called', async (_label, name) => {
    const answer = await rpc('tools/call', { name, arguments: {} });
    expect(answer.error).toMatchObject({ code: -32602, message: expect.stringContaining('Unknown tool') });
  });

  it('a connection needing input answers -32002 with what is missing; one needing authorization -32001 with the link', async () => {
    const input = await rpc('tools/call', { name: `${conn.inputRequired}.echo`, arguments: { message: 'x' } });
    expect(input.error).toMatchObject({ code: -32002, message: 'Input required', data: { connectionId: conn.inputRequired, missing: { headers: ['x-api-key'], query: ['region'] } } });
    const auth = await rpc('tools/call', { name: `${conn.authRequired}.echo`, arguments: { message: 'x' } });
    expect(auth.error).toMatchObject({ code: -32001, message: 'Authorization required', data: { connectionId: conn.authRequired, authorizationUrl: expect.stringMatching(/^http/) } });
  });

  it('a call to the upstream that is down answers -32603 naming its host', async () => {
    const answer = await rpc('tools/call', { name: `${conn.down}.echo`, arguments: { message: 'x' } });
    expect(answer.error).toMatchObject({ code: -32603, message: expect.stringMatching(new RegExp(`refused.*127\\.0\\.0\\.1:${upstream.down.port}`, 'i')) });
  });

  it('no database query per routed call once warm', async () => {
    await rpc('tools/call', { name: `${conn.alice}.add`, arguments: { a: 1, b: 1 } });
    const before = server.requestQueryCount;
    for (let i = 0; i < 10; i++) expect(textOf(await rpc('tools/call', { name: `${conn.alice}.add`, arguments: { a: i, b: 1 } }))).toBe(String(i + 1));
    expect(server.requestQueryCount - before).toBe(0);
  });
});

describe('the fan-out', () => {
  it('asks each connection’s upstream for its tools once (the session caches them), and a routed call costs one tools/call', async () => {
    const proxy = await countingProxy(upstream.sessions.url);
    try {
      const counted = await createConnection(proxy.url);
      expect(counted.status).toEqual({ state: 'connected' });
      const lists = () => proxy.seen.filter((method) => method === 'tools/list').length;
      const before = lists();
      for (let i = 0; i < 3; i++) expect((await listTools()).some((tool) => tool.name === `${counted.connectionId}.echo`)).toBe(true);
      expect(lists() - before).toBe(1);
      const sent = proxy.seen.length;
      expect(textOf(await rpc('tools/call', { name: `${counted.connectionId}.echo`, arguments: { message: 'once' } }))).toBe('Echo: once');
      expect(proxy.seen.slice(sent)).toEqual(['tools/call']);
      const deleted = await server.request(`/${ns}/${counted.connectionId}`, { method: 'DELETE', bearer: owner.key });
      expect(deleted.status).toBe(200);
    } finally {
      proxy.server.closeAllConnections();
      proxy.server.close();
    }
  });
});

describe('names that do not fit are shortened, deterministically', () => {
  it('a long connection id and slashed tool names get hashed segments within 64 characters, and stay callable', async () => {
    const tools = await listTools();
    const ofLong = tools.filter((tool) => tool._meta?.['switchboard/connectionId'] === LONG_ID);
    expect(ofLong.length).toBeGreaterThan(5);
    const segment = ofLong[0]!.name.split('.')[0]!;
    expect(segment).toMatch(/^customer-workspace_p--[a-z2-7]{10}$/);
    const byTool = new Map(ofLong.map((tool) => [tool._meta!['switchboard/toolName'] as string, tool.name]));
    const createIssue = byTool.get('github/create_issue')!;
    expect(createIssue).toMatch(new RegExp(`^${segment}\\.github_create_issue--[a-z2-7]{10}$`));
    expect(byTool.get('echo')).toBe(`${segment}.echo`);
    for (const name of byTool.values()) expect(name.length).toBeLessThanOrEqual(64);

    expect(textOf(await rpc('tools/call', { name: createIssue, arguments: { title: 'hashed' } }))).toBe('created hashed');
    // A replica that never listed finds the same tool by search: the mapping is a pure function.
    hashedSegments.clear();
    expect(textOf(await rpc('tools/call', { name: createIssue, arguments: { title: 'again' } }))).toBe('created again');
    expect(textOf(await rpc('tools/call', { name: `${segment}.echo`, arguments: { message: 'long' } }))).toBe('Echo: long');
  });
});

describe.skipIf(testDatabaseKind !== 'postgres')('two replicas on one PostgreSQL', () => {
  let replica: TestServer;
  beforeAll(async () => {
    replica = await startTestServer({ UPSTREAM_TIMEOUT_MS: '5000' }, { replicaOf: server });
  });
  afterAll(() => replica?.close());

  it('any replica answers any request of one client: nothing is kept between requests', async () => {
    const onReplica = (message: unknown) =>
      replica.request(`/connect/${ns}/mcp`, { method: 'POST', bearer: owner.key, headers: MCP_HEADERS, body: JSON.stringify(message) }).then(messagesOf);
    const init = await rpc('initialize', { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'split', version: '1' } });
    expect(init.result!.protocolVersion).toBe('2025-11-25');
    const [listed] = await onReplica({ jsonrpc: '2.0', id: 'l', method: 'tools/list' });
    const createIssue = (listed!.result!.tools as Tool[]).find((tool) => tool._meta?.['switchboard/toolName'] === 'github/create_issue' && tool._meta['switchboard/connectionId'] === LONG_ID)!;
    hashedSegments.clear();
    const [called] = await onReplica({ jsonrpc: '2.0', id: 'c', method: 'tools/call', params: { name: createIssue.name, arguments: { title: 'replica' } } });
    expect(textOf(called!)).toBe('created replica');
    expect(textOf(await rpc('tools/call', { name: createIssue.name, arguments: { title: 'primary' } }))).toBe('created primary');
  });
});

describe('a connection whose id is `mcp`', () => {
  it('keeps its own endpoint and its legacy REST routes; the toolbox lists it like any other', async () => {
    const own = await server.request(`/connect/${ns}/mcp/mcp`, {
      method: 'POST',
      bearer: owner.key,
      headers: MCP_HEADERS,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'own' } } }),
    });
    expect(textOf((await messagesOf(own))[0]!)).toBe('Echo: own');
    const legacyGet = await server.request(`/connect/${ns}/mcp`, { bearer: owner.key, headers: { accept: 'application/json' } });
    expect(legacyGet.status).toBe(200);
    expect(await legacyGet.json()).toMatchObject({ connectionId: 'mcp' });
    expect(textOf(await rpc('tools/call', { name: 'mcp.echo', arguments: { message: 'boxed' } }))).toBe('Echo: boxed');
  });
});

describe('the protocol edges', () => {
  it('initialize is answered by Switchboard; notifications 202; ping; unknown methods -32601', async () => {
    const init = await rpc('initialize', { protocolVersion: '2025-06-18', capabilities: {}, clientInfo: { name: 'raw', version: '1' } });
    expect(init.result).toMatchObject({ protocolVersion: '2025-06-18', serverInfo: { name: 'switchboard-toolbox' }, capabilities: { tools: {} } });
    const note = await post({ jsonrpc: '2.0', method: 'notifications/initialized' });
    expect(note.status).toBe(202);
    await note.arrayBuffer();
    expect((await rpc('ping')).result).toEqual({});
    expect((await rpc('resources/list')).error).toMatchObject({ code: -32601 });
    expect((await rpc('prompts/list')).error).toMatchObject({ code: -32601 });
  });

  it('browsers may send what MCP clients of both eras send (CORS preflight)', async () => {
    const requested = ['authorization', 'content-type', 'mcp-session-id', 'mcp-protocol-version', 'mcp-method', 'mcp-name', 'mcp-param-region'];
    const response = await server.request(`/connect/${ns}/mcp`, {
      method: 'OPTIONS',
      headers: { origin: 'https://app.example', 'access-control-request-method': 'POST', 'access-control-request-headers': requested.join(', ') },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-headers')!.split(', ')).toEqual(expect.arrayContaining(requested));
  });

  it.each([
    ['GET of a standalone stream', { method: 'GET', headers: { accept: 'text/event-stream' } }],
    ['DELETE of a session', { method: 'DELETE', headers: { 'mcp-session-id': 'anything' } }],
  ])('%s: 405 with allow: POST', async (_label, options) => {
    const response = await post(undefined, options);
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    await response.arrayBuffer();
  });

  const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
  it.each([
    ['a body that is not JSON', { body: '{"jsonrpc": "2.0", ' }, 400, -32700],
    ['JSON that is not JSON-RPC', { body: '{"foo": 1}' }, 400, -32600],
    ['a batch', { body: `[${ping}]` }, 400, -32600],
    ['an empty array', { body: '[]' }, 400, -32600],
    ['nesting past the limit', { body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'a.b', arguments: JSON.parse(`${'['.repeat(100)}${']'.repeat(100)}`) } }) }, 400, -32600],
    ['a wrong content-type', { body: ping, headers: { 'content-type': 'text/plain' } }, 415, undefined],
    ['a body over MAX_BODY_BYTES', { body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping', params: { pad: 'x'.repeat(70_000) } }) }, 413, undefined],
    ['params that are not an object', { body: '{"jsonrpc":"2.0","id":1,"method":"tools/call","params":[1]}' }, 400, -32600],
  ] as const)('%s: %i, never a 500', async (_label, options, status, code) => {
    const response = await post(undefined, options as PostOptions);
    const body = (await response.json()) as JsonRpcMessage;
    expect(response.status, JSON.stringify(body)).toBe(status);
    if (code !== undefined) expect(body.error).toMatchObject({ code });
  });

  it.each([
    ['a name that is not a string', () => ({ name: 42 })],
    ['no name', () => ({})],
    ['arguments that are not an object', () => ({ name: `${conn.alice}.echo`, arguments: 'hi' })],
    ['arguments that are an array', () => ({ name: `${conn.alice}.echo`, arguments: ['hi'] })],
  ])('tools/call with %s: a JSON-RPC error, never a 500', async (_label, params) => {
    const response = await post({ jsonrpc: '2.0', id: 9, method: 'tools/call', params: params() });
    expect(response.status).toBeLessThan(500);
    const answer = (await messagesOf(response)).find((m) => m.id === 9);
    expect(answer?.error?.code).toBeLessThan(0);
  });
});

describe('who may use the toolbox', () => {
  const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' });
  it('no token: 401 with WWW-Authenticate; a bad one: 401', async () => {
    const none = await post(undefined, { body: ping, bearer: null });
    expect(none.status).toBe(401);
    expect(none.headers.get('www-authenticate')).toMatch(/^Bearer /);
    await none.arrayBuffer();
    const bad = await post(undefined, { body: ping, bearer: `sk_${'a'.repeat(16)}_${'b'.repeat(52)}` });
    expect(bad.status).toBe(401);
    await bad.arrayBuffer();
  });

  it('another account’s namespace and a missing one answer the same 404', async () => {
    const foreign = await post(undefined, { body: ping, bearer: stranger.key });
    const missing = await post(undefined, { body: ping, namespace: 'no-such-namespace-here' });
    expect([foreign.status, missing.status]).toEqual([404, 404]);
    expect((await foreign.json()).error).toBe('not_found');
    expect((await missing.json()).error).toBe('not_found');
  });

  it('a token of another namespace: 404; a token without execute: 403', async () => {
    const elsewhere = await mint([{ namespaces: otherNs }]);
    const readOnly = await mint([{ namespaces: ns, operations: ['read'] }]);
    const [hidden, forbidden] = await Promise.all([post(undefined, { body: ping, bearer: elsewhere }), post(undefined, { body: ping, bearer: readOnly })]);
    expect(hidden.status).toBe(404);
    expect(forbidden.status).toBe(403);
    await Promise.all([hidden.arrayBuffer(), forbidden.arrayBuffer()]);
  });

  it('a token scoped by metadata sees and calls only its connections; others are unknown, not forbidden', async () => {
    const alice = await mint([{ namespaces: ns, metadata: { userId: 'alice' } }]);
    const tools = await listTools({ bearer: alice });
    const connections = new Set(tools.map((tool) => tool._meta!['switchboard/connectionId']));
    expect([...connections]).toEqual([conn.alice]);
    expect(textOf(await rpc('tools/call', { name: `${conn.alice}.echo`, arguments: { message: 'mine' } }, { bearer: alice }))).toBe('Echo: mine');
    const other = await rpc('tools/call', { name: `${conn.bob}.echo`, arguments: { message: 'theirs' } }, { bearer: alice });
    expect(other.error).toMatchObject({ code: -32602 });
    const limited = await post({ jsonrpc: '2.0', id: 1, method: 'ping' }, { bearer: alice });
    expect(limited.headers.get('ratelimit-limit')).toBe('600');
    await limited.arrayBuffer();
  });

  it('rpcReqMatch matches the call as the upstream receives it (params.name is the upstream tool name)', async () => {
    const echoOnly = await mint([
      { namespaces: ns, rpcReqMatch: { method: '^(initialize|notifications/.*|tools/list|ping)$' } },
      { namespaces: ns, rpcReqMatch: { method: '^tools/call$', 'params.name': '^echo$' } },
    ]);
    const client = await sdkClient('legacy', echoOnly);
    try {
      expect(await client.callTool({ name: `${conn.bob}.echo`, arguments: { message: 'ok' } })).toMatchObject({ content: [{ text: 'Echo: ok' }] });
    } finally {
      await client.close();
    }
    const refused = await rpc('tools/call', { name: `${conn.bob}.add`, arguments: { a: 1, b: 2 } }, { bearer: echoOnly, status: 403 });
    expect(refused.error).toMatchObject({ code: -32000, message: expect.stringContaining('Forbidden') });
    // A pattern written for the toolbox name does not match: the policy speaks of upstream tools.
    const prefixed = await mint([{ namespaces: ns, rpcReqMatch: { method: '^tools/call$', 'params.name': `^${conn.bob}\\.echo$` } }]);
    await rpc('tools/call', { name: `${conn.bob}.echo`, arguments: { message: 'no' } }, { bearer: prefixed, status: 403 });
    // And requests the toolbox answers itself are matched as sent.
    await rpc('tools/list', undefined, { bearer: prefixed, status: 403 });
  });

  it('the request log names the route', async () => {
    expect(server.logs.some((line) => line.msg === 'request' && line.route === '/connect/{namespace}/mcp' && line.status === 200)).toBe(true);
  });
});
