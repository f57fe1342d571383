import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, startServerEverything, type Upstream } from '../helpers/upstreams.ts';

/**
 * The MCP endpoint `POST /connect/{ns}/{id}/mcp`, spoken to with raw fetch (Streamable HTTP)
 * the way the official helper does, and with the v2 SDK client. Every upstream is a real MCP
 * server in a child process.
 */

type JsonRpcMessage = {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  params?: Record<string, unknown>;
  result?: Record<string, unknown>;
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

/** The JSON-RPC messages in an SSE body; events without data (priming, keep-alive) are skipped. */
function parseSse(text: string): JsonRpcMessage[] {
  const messages: JsonRpcMessage[] = [];
  for (const event of text.split(/\r?\n\r?\n/)) {
    const data = event
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:'))
      .map((line) => line.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data.trim() !== '') messages.push(JSON.parse(data) as JsonRpcMessage);
  }
  return messages;
}

async function readMessages(response: Response): Promise<JsonRpcMessage[]> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (type.startsWith('text/event-stream')) return parseSse(text);
  if (type.startsWith('application/json')) return [JSON.parse(text) as JsonRpcMessage | JsonRpcMessage[]].flat();
  throw new Error(`HTTP ${response.status} with content-type "${type}": ${text.slice(0, 300)}`);
}

/** The answer to request `id` (JSON or SSE), after checking the HTTP status. */
async function answerTo(response: Response, id: string | number, status = 200): Promise<JsonRpcMessage> {
  const messages = await readMessages(response);
  expect(response.status, JSON.stringify(messages)).toBe(status);
  const answer = messages.find((m) => m.id === id && (m.result !== undefined || m.error !== undefined));
  expect(answer, JSON.stringify(messages)).toBeDefined();
  return answer!;
}

let server: TestServer;
let owner: { key: string };
let stranger: { key: string };
let ns: string;
const upstream = {} as Record<'sessions' | 'modern' | 'everything' | 'keyed' | 'config' | 'flaky' | 'counting', Upstream>;
const apiKey = canary('fixture-api-key');
const conn = {} as Record<'sessions' | 'modern' | 'everything' | 'keyed' | 'withAuthorization' | 'inputRequired' | 'authRequired' | 'flaky', string>;

type PostOptions = { bearer?: string | null; headers?: Record<string, string>; body?: BodyInit; method?: string };

const endpoint = (id: string, namespace = ns) => `/connect/${namespace}/${id}/mcp`;

/** A POST as the official helper sends it: no handshake, the preset `smithery-stateless` session id. */
function post(id: string, message: unknown, options: PostOptions = {}, namespace = ns): Promise<Response> {
  return server.request(endpoint(id, namespace), {
    method: options.method ?? 'POST',
    bearer: options.bearer === null ? undefined : (options.bearer ?? owner.key),
    headers: {
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      'mcp-session-id': 'smithery-stateless',
      ...options.headers,
    },
    body: options.body ?? (message === undefined ? undefined : JSON.stringify(message)),
  });
}

let nextId = 1;
async function callTool(id: string, name: string, args: Record<string, unknown> = {}): Promise<JsonRpcMessage> {
  const requestId = nextId++;
  return answerTo(await post(id, { jsonrpc: '2.0', id: requestId, method: 'tools/call', params: { name, arguments: args } }), requestId);
}

function textOf(answer: JsonRpcMessage): string {
  expect(answer.error, JSON.stringify(answer.error)).toBeUndefined();
  return ((answer.result!.content as { type: string; text: string }[])[0]!).text;
}

async function createConnection(mcpUrl: string, headers?: Record<string, string>): Promise<{ connectionId: string; status: { state: string } }> {
  const response = await server.request(`/${ns}`, {
    method: 'POST',
    bearer: owner.key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl, ...(headers ? { headers } : {}) }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { connectionId: string; status: { state: string } };
}

async function connected(mcpUrl: string, headers?: Record<string, string>): Promise<string> {
  const created = await createConnection(mcpUrl, headers);
  expect(created.status).toEqual({ state: 'connected' });
  return created.connectionId;
}

beforeAll(async () => {
  const [started] = await Promise.all([
    startTestServer({ MAX_BODY_BYTES: '65536', UPSTREAM_TIMEOUT_MS: '5000' }),
    ...(
      [
        ['sessions', () => startFixtureUpstream('sessions')],
        ['modern', () => startFixtureUpstream('modern')],
        ['everything', () => startServerEverything()],
        ['keyed', () => startFixtureUpstream('sessions', { requireApiKey: apiKey })],
        ['config', () => startFixtureUpstream('sessions', { requireApiKey: canary('config-key'), configSchema: true })],
        ['flaky', () => startFixtureUpstream('sessions')],
        ['counting', () => startFixtureUpstream('sessions')],
      ] as const
    ).map(async ([name, start]) => {
      upstream[name] = await start();
    }),
  ]);
  server = started;
  owner = await server.newAccount('owner');
  stranger = await server.newAccount('stranger');
  const created = await server.request('/namespaces', { method: 'POST', bearer: owner.key });
  ns = ((await created.json()) as { name: string }).name;

  const [sessions, modern, everything, keyed, withAuthorization, flaky, inputRequired, authRequired] = await Promise.all([
    connected(upstream.sessions.url),
    connected(upstream.modern.url),
    connected(upstream.everything.url),
    connected(upstream.keyed.url, { 'x-api-key': apiKey }),
    connected(upstream.sessions.url, { authorization: canary('upstream-authorization') }),
    connected(upstream.flaky.url),
    createConnection(upstream.config.url),
    createConnection(upstream.keyed.url),
  ]);
  expect(inputRequired.status.state).toBe('input_required');
  expect(authRequired.status.state).toBe('auth_required');
  Object.assign(conn, {
    sessions,
    modern,
    everything,
    keyed,
    withAuthorization,
    flaky,
    inputRequired: inputRequired.connectionId,
    authRequired: authRequired.connectionId,
  });
});

afterAll(async () => {
  await Promise.allSettled(Object.values(upstream).map((u) => u.stop()));
  await server?.close();
});

describe('the first request needs no handshake', () => {
  it.each([
    ['fixture sessions (2025-11-25)', 'sessions', 'echo'],
    ['fixture modern (2026-07-28 only)', 'modern', 'echo'],
    ['server-everything', 'everything', 'get-sum'],
  ] as const)('tools/list with mcp-session-id smithery-stateless, no protocol version: %s', async (_label, which, expectedTool) => {
    const response = await post(conn[which], { jsonrpc: '2.0', id: 1, method: 'tools/list' });
    const answer = await answerTo(response, 1);
    const names = (answer.result!.tools as { name: string }[]).map((t) => t.name);
    expect(names).toContain(expectedTool);
    expect(names).toContain('echo');
  });
});

describe('the full handshake', () => {
  it.each([
    ['sessions', '2025-11-25'],
    ['sessions', '2025-06-18'],
    ['modern', '2025-11-25'],
    ['modern', '2025-06-18'],
  ] as const)('%s upstream, client at %s: initialize, notifications, tools/call', async (which, protocolVersion) => {
    const id = conn[which];
    const init = await server.request(endpoint(id), {
      method: 'POST',
      bearer: owner.key,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({
        jsonrpc: '2.0',
        id: 'init',
        method: 'initialize',
        params: { protocolVersion, capabilities: {}, clientInfo: { name: 'raw-test', version: '1.0.0' } },
      }),
    });
    const answer = await answerTo(init, 'init');
    // A 2025-era upstream gives the client a session of its own (client-sessions.test.ts); the 2026 era has none.
    const sessionId = init.headers.get('mcp-session-id');
    if (which === 'sessions') expect(sessionId).toMatch(/^[0-9a-f]{12}\.[\w-]{32}$/);
    else expect(sessionId).toBeNull();
    expect(answer.result).toMatchObject({
      protocolVersion,
      serverInfo: { name: `fixture-${which}`, version: '1.2.3', title: 'Test fixture' },
      capabilities: { tools: expect.any(Object) },
    });
    expect(answer.result!.instructions).toMatch(new RegExp(`^fixture ${which}`));

    const headers = { 'mcp-protocol-version': protocolVersion, ...(sessionId ? { 'mcp-session-id': sessionId } : {}) };
    const notifications = [
      { jsonrpc: '2.0', method: 'notifications/initialized' },
      { jsonrpc: '2.0', method: 'notifications/cancelled', params: { requestId: 12345, reason: 'test' } },
      { jsonrpc: '2.0', method: 'notifications/roots/list_changed' },
    ];
    for (const notification of notifications) {
      const response = await post(id, notification, { headers });
      expect(response.status, notification.method).toBe(202);
      await response.arrayBuffer();
    }

    const call = await post(id, { jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }, { headers });
    expect(textOf(await answerTo(call, 2))).toBe('Echo: hi');
  });

  it('answers a client newer than the upstream with the upstream’s version', async () => {
    const response = await post(conn.sessions, {
      jsonrpc: '2.0',
      id: 'init',
      method: 'initialize',
      params: { protocolVersion: '2099-01-01', capabilities: {}, clientInfo: { name: 'future', version: '9' } },
    });
    const answer = await answerTo(response, 'init');
    expect(answer.result!.protocolVersion).toBe('2025-11-25');
  });
});

describe('methods other than POST', () => {
  it.each(['GET', 'DELETE', 'PUT'])('%s answers 405 with allow: POST', async (method) => {
    const response = await post(conn.sessions, method === 'PUT' ? { jsonrpc: '2.0', id: 1, method: 'ping' } : undefined, { method });
    expect(response.status).toBe(405);
    expect(response.headers.get('allow')).toBe('POST');
    await response.arrayBuffer();
  });
});

describe('credentials sent upstream', () => {
  async function upstreamHeaderNames(id: string): Promise<string[]> {
    const requestId = nextId++;
    const response = await post(
      id,
      { jsonrpc: '2.0', id: requestId, method: 'tools/call', params: { name: 'request-info', arguments: {} } },
      { headers: { 'x-client-only': 'not-for-upstream', cookie: 'session=app' } },
    );
    return (JSON.parse(textOf(await answerTo(response, requestId))) as { headerNames: string[] }).headerNames;
  }

  it('sends the stored credential, never the app’s Authorization or other client headers', async () => {
    const names = await upstreamHeaderNames(conn.keyed);
    expect(names).toContain('x-api-key');
    expect(names).not.toContain('authorization');
    expect(names).not.toContain('x-client-only');
    expect(names).not.toContain('cookie');
  });

  it('sends a stored authorization credential (the stored one: the app’s is never forwarded)', async () => {
    const names = await upstreamHeaderNames(conn.withAuthorization);
    expect(names).toContain('authorization');
  });
});

describe('streaming', () => {
  it.each(['sessions', 'modern'] as const)('%s upstream: passes SSE progress notifications through as they are sent, before the result', async (which) => {
    const response = await post(conn[which], {
      jsonrpc: '2.0',
      id: 'p',
      method: 'tools/call',
      params: { name: 'progress', arguments: { steps: 4, delayMs: 300 }, _meta: { progressToken: 'tok-1' } },
    });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);

    // Each message with the time and index of the chunk that completed it.
    const arrivals: { message: JsonRpcMessage; at: number; chunk: number }[] = [];
    const reader = response.body!.pipeThrough(new TextDecoderStream()).getReader();
    let buffer = '';
    for (let chunk = 0; ; chunk++) {
      const { done, value } = await reader.read();
      if (done) break;
      const at = performance.now();
      buffer += value;
      const complete = buffer.lastIndexOf('\n\n');
      if (complete === -1) continue;
      for (const message of parseSse(buffer.slice(0, complete))) arrivals.push({ message, at, chunk });
      buffer = buffer.slice(complete + 2);
    }
    for (const message of parseSse(buffer)) arrivals.push({ message, at: performance.now(), chunk: -1 });

    const progress = arrivals.filter((a) => a.message.method === 'notifications/progress');
    const result = arrivals.filter((a) => a.message.id === 'p');
    expect(progress.map((a) => a.message.params)).toEqual([1, 2, 3, 4].map((step) => ({ progressToken: 'tok-1', progress: step, total: 4 })));
    expect(result).toHaveLength(1);
    expect(textOf(result[0]!.message)).toBe('done after 4 steps');
    // Ordering facts only: progress came first, in other chunks than the result, at different times.
    expect(arrivals.at(-1)!.message.id).toBe('p');
    expect(progress[0]!.chunk).not.toBe(result[0]!.chunk);
    expect(progress[0]!.at).toBeLessThan(result[0]!.at);
    expect(new Set(progress.map((a) => a.chunk)).size).toBeGreaterThan(1);
    expect(new Set(arrivals.map((a) => a.at)).size).toBeGreaterThan(1);
  });
});

describe('connections needing setup are answered without calling upstream', () => {
  it('input_required: 409 with -32002 "Input required", data.http and data.missing', async () => {
    const response = await post(conn.inputRequired, { jsonrpc: '2.0', id: 7, method: 'tools/list' });
    const answer = await answerTo(response, 7, 409);
    expect(answer.error).toMatchObject({
      code: -32002,
      message: 'Input required',
      data: {
        http: { headers: { 'x-api-key': expect.objectContaining({ required: true }) }, query: { region: expect.any(Object) } },
        missing: { headers: ['x-api-key'], query: ['region'] },
      },
    });
  });

  it('auth_required: 401 with -32001', async () => {
    const response = await post(conn.authRequired, { jsonrpc: '2.0', id: 8, method: 'tools/list' });
    const answer = await answerTo(response, 8, 401);
    expect(answer.error).toMatchObject({ code: -32001, message: 'Authorization required' });
  });
});

describe('an upstream that goes away and comes back', () => {
  type Outcome = { status: number; text?: string; message?: string };
  const callers: [string, () => Promise<Outcome>][] = [
    [
      'the MCP endpoint',
      async () => {
        const response = await post(conn.flaky, { jsonrpc: '2.0', id: 'f', method: 'tools/call', params: { name: 'echo', arguments: { message: 'back' } } });
        const answer = await answerTo(response, 'f', response.status);
        if (response.status !== 200) {
          expect(answer.error!.code).toBe(-32603);
          return { status: response.status, message: answer.error!.message };
        }
        return { status: 200, text: textOf(answer) };
      },
    ],
    [
      'a REST tool call',
      async () => {
        const response = await server.request(`/${ns}/${conn.flaky}/.tools/echo`, {
          method: 'POST',
          bearer: owner.key,
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ message: 'back' }),
        });
        const body = (await response.json()) as { content?: { text: string }[]; error?: string; message?: string };
        if (response.status !== 200) {
          expect(body.error).toBe('bad_gateway');
          return { status: response.status, message: body.message };
        }
        return { status: 200, text: body.content![0]!.text };
      },
    ],
  ];

  it.each(callers)('%s: 502 while it is down, then works again after a transparent re-initialize', async (_label, call) => {
    expect(await call()).toEqual({ status: 200, text: 'Echo: back' });
    await upstream.flaky.stop();
    const down = await call();
    expect(down.status).toBe(502);
    expect(down.message).toMatch(new RegExp(`refused.*127\\.0\\.0\\.1:${upstream.flaky.port}`, 'i'));
    // The restarted upstream has no memory of the session Switchboard held.
    await upstream.flaky.restart();
    expect(await call()).toEqual({ status: 200, text: 'Echo: back' });
    // What the calls observed is recorded in the background; the connection ends up connected again.
    let state: string | undefined;
    for (let attempt = 0; attempt < 50 && state !== 'connected'; attempt++) {
      if (attempt > 0) await new Promise((resolve) => setTimeout(resolve, 100));
      const shown = await server.request(`/${ns}/${conn.flaky}`, { bearer: owner.key });
      state = ((await shown.json()) as { status: { state: string } }).status.state;
    }
    expect(state).toBe('connected');
  });
});

describe('bad input is refused, never with a 500', () => {
  const ping = JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' });
  type Case = [string, () => Promise<Response>, number, number | undefined];
  const cases: Case[] = [
    ['a body that is not JSON', () => post(conn.sessions, undefined, { body: '{"jsonrpc": "2.0", ' }), 400, -32700],
    ['a JSON object that is not JSON-RPC', () => post(conn.sessions, { foo: 1 }), 400, -32600],
    ['an empty array', () => post(conn.sessions, []), 400, -32600],
    ['jsonrpc alone', () => post(conn.sessions, { jsonrpc: '2.0' }), 400, -32600],
    ['a wrong content-type', () => post(conn.sessions, undefined, { body: ping, headers: { 'content-type': 'text/plain' } }), 415, undefined],
    [
      'a body over MAX_BODY_BYTES',
      () => post(conn.sessions, { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'x'.repeat(70_000) } } }),
      413,
      undefined,
    ],
    ['an unknown namespace', () => post(conn.sessions, undefined, { body: ping }, 'no-such-namespace'), 404, undefined],
    ['an unknown connection', () => post('no-such-connection', undefined, { body: ping }), 404, undefined],
    ['another account’s key', () => post(conn.sessions, undefined, { body: ping, bearer: stranger.key }), 404, undefined],
    ['a bad token', () => post(conn.sessions, undefined, { body: ping, bearer: `sk_${'a'.repeat(16)}_${'b'.repeat(52)}` }), 401, undefined],
  ];

  it.each(cases)('%s', async (_label, send, status, code) => {
    const response = await send();
    const body = (await response.json()) as JsonRpcMessage & { error: unknown };
    expect(response.status, JSON.stringify(body)).toBe(status);
    if (code !== undefined) expect(body.error).toMatchObject({ code, message: expect.any(String) });
  });

  it('no token: 401 with WWW-Authenticate', async () => {
    const response = await post(conn.sessions, undefined, { body: ping, bearer: null });
    expect(response.status).toBe(401);
    expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
    await response.arrayBuffer();
  });
});

describe('the hot path', () => {
  it.each(['sessions', 'modern'] as const)('%s upstream: no database query per proxied tools/call once warm', async (which) => {
    expect(textOf(await callTool(conn[which], 'add', { a: 1, b: 2 }))).toBe('3');
    const before = server.requestQueryCount;
    for (let i = 0; i < 20; i++) expect(textOf(await callTool(conn[which], 'add', { a: i, b: 1 }))).toBe(String(i + 1));
    expect(server.requestQueryCount - before).toBe(0);
  });
});

describe('deleting a connection', () => {
  it('ends its upstream session', async () => {
    const [a, b] = await Promise.all([connected(upstream.counting.url), connected(upstream.counting.url)]);
    const count = async () => Number(textOf(await callTool(b, 'session-count')));
    const before = await count();
    expect(before).toBeGreaterThanOrEqual(2);
    const deleted = await server.request(`/${ns}/${a}`, { method: 'DELETE', bearer: owner.key });
    expect(await deleted.json()).toEqual({ success: true });
    // The upstream DELETE goes out in the background.
    let after = await count();
    for (let attempt = 0; attempt < 50 && after >= before; attempt++) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      after = await count();
    }
    expect(after).toBe(before - 1);
  });
});

describe('the v2 SDK client', () => {
  it.each([
    ['legacy', 'sessions'],
    ['modern', 'modern'],
  ] as const)('works against a %s upstream: listTools, callTool', async (era, which) => {
    const client = new Client({ name: 'sdk-v2-test', version: '1.0.0' }, { versionNegotiation: { mode: 'auto' } });
    const transport = new StreamableHTTPClientTransport(new URL(`${server.url}${endpoint(conn[which])}`), {
      requestInit: { headers: { authorization: `Bearer ${owner.key}` } },
    });
    await client.connect(transport);
    try {
      expect(client.getProtocolEra()).toBe(era);
      const { tools } = await client.listTools();
      expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'progress']));
      const result = await client.callTool({ name: 'add', arguments: { a: 2, b: 40 } });
      expect(result.content).toEqual([{ type: 'text', text: '42' }]);
    } finally {
      await client.close();
    }
  });
});
