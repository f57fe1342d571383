import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import Smithery045 from 'smithery-api-045';
import Smithery050 from 'smithery-api-050';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, startServerEverything, type Upstream } from '../helpers/upstreams.ts';

/**
 * Clients older than the MCP helper: `mcp.call` of the official `@smithery/api` 0.45 and 0.50,
 * unchanged, which posts one JSON-RPC message with `Accept: application/json` and parses a JSON
 * answer (anything else comes back as text). Real upstreams that answer calls with an event
 * stream: our fixture (the SDK's transport), server-everything, and a raw one that asks the
 * client something in the middle of a call.
 */

type JsonRpcMessage = { jsonrpc: '2.0'; id?: string | number | null; method?: string; result?: Record<string, unknown>; error?: { code: number; message: string } };

/**
 * A raw 2025-11-25 upstream: a `tools/call` of `ask` is answered with an event stream that
 * first asks the client for input (`elicitation/create`), and answers once the client's reply
 * arrives, with that reply as its text; `conflict` is answered with a 409.
 */
type AskingUpstream = { url: string; replies: JsonRpcMessage[]; close(): Promise<void> };

async function startAskingUpstream(): Promise<AskingUpstream> {
  const replies: JsonRpcMessage[] = [];
  const waiting = new Map<string | number, (reply: JsonRpcMessage) => void>();
  let asked = 0;
  const json = (res: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}) => {
    res.writeHead(status, { 'content-type': 'application/json', ...headers });
    res.end(JSON.stringify(body));
  };
  const server: Server = createServer(async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST') return void json(res, 405, { error: 'POST only' });
    const chunks: Buffer[] = [];
    for await (const chunk of req) chunks.push(chunk as Buffer);
    const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as JsonRpcMessage & { params?: { name?: string } };
    const sid = req.headers['mcp-session-id'];
    if (message.method === 'initialize') {
      const result = { protocolVersion: '2025-11-25', capabilities: { tools: {} }, serverInfo: { name: 'asking', version: '1.0.0' } };
      return void json(res, 200, { jsonrpc: '2.0', id: message.id, result }, { 'mcp-session-id': 'asking-session' });
    }
    if (sid !== 'asking-session') return void json(res, 400, { jsonrpc: '2.0', id: null, error: { code: -32000, message: 'Bad Request: Server not initialized' } });
    if (message.method === undefined) {
      // The client's reply to something this server asked.
      replies.push(message);
      waiting.get(message.id!)?.(message);
      res.writeHead(202).end();
      return;
    }
    if (message.id === undefined) return void res.writeHead(202).end();
    if (message.method === 'tools/call' && message.params?.name === 'conflict') {
      return void json(res, 409, { jsonrpc: '2.0', id: message.id, error: { code: -32000, message: 'Conflict, from the upstream itself' } });
    }
    if (message.method === 'tools/call' && message.params?.name === 'ask') {
      const askId = `ask-${++asked}`;
      res.writeHead(200, { 'content-type': 'text/event-stream' });
      const elicitation = { message: 'Which colour?', requestedSchema: { type: 'object', properties: { colour: { type: 'string' } } } };
      res.write(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: askId, method: 'elicitation/create', params: elicitation })}\n\n`);
      const reply = await new Promise<JsonRpcMessage>((resolve) => waiting.set(askId, resolve));
      const text = JSON.stringify(reply.error ?? reply.result);
      res.end(`event: message\ndata: ${JSON.stringify({ jsonrpc: '2.0', id: message.id, result: { content: [{ type: 'text', text }] } })}\n\n`);
      return;
    }
    json(res, 200, { jsonrpc: '2.0', id: message.id, result: {} });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/mcp`,
    replies,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

let server: TestServer;
let key: string;
let ns: string;
let asking: AskingUpstream;
const upstreams = {} as Record<'sessions' | 'modern' | 'everything' | 'config' | 'misbehaving', Upstream>;
const conn = {} as Record<'sessions' | 'modern' | 'everything' | 'misbehaving' | 'asking' | 'inputRequired', string>;

async function createConnection(mcpUrl: string): Promise<{ connectionId: string; status: { state: string } }> {
  const response = await server.request(`/${ns}`, {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl }),
  });
  expect(response.status).toBe(201);
  return (await response.json()) as { connectionId: string; status: { state: string } };
}

beforeAll(async () => {
  const [started, sessions, modern, everything, config, misbehaving, raw] = await Promise.all([
    startTestServer({ UPSTREAM_TIMEOUT_MS: '10000', MAX_UPSTREAM_RESPONSE_BYTES: String(1024 * 1024) }),
    startFixtureUpstream('sessions'),
    startFixtureUpstream('modern'),
    startServerEverything(),
    startFixtureUpstream('sessions', { requireApiKey: canary('config-key'), configSchema: true }),
    startFixtureUpstream('sessions', { misbehave: true }),
    startAskingUpstream(),
  ]);
  server = started;
  Object.assign(upstreams, { sessions, modern, everything, config, misbehaving });
  asking = raw;
  key = (await server.newAccount('older')).key;
  ns = ((await (await server.request('/namespaces', { method: 'POST', bearer: key })).json()) as { name: string }).name;
  for (const name of ['sessions', 'modern', 'everything', 'misbehaving'] as const) conn[name] = (await createConnection(upstreams[name].url)).connectionId;
  conn.asking = (await createConnection(asking.url)).connectionId;
  const needsInput = await createConnection(upstreams.config.url);
  expect(needsInput.status.state).toBe('input_required');
  conn.inputRequired = needsInput.connectionId;
}, 60_000);

afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await Promise.all([...Object.values(upstreams).map((upstream) => upstream.stop()), asking?.close()]);
  }
});

type Call = (connectionId: string, body?: unknown, maxRetries?: number) => Promise<unknown>;

// Each version's own client and its own `mcp.call`, so every request runs that version's code.
const versions: [string, { ConflictError: unknown; BadRequestError: unknown }, Call][] = [
  [
    '0.45.0',
    Smithery045,
    (connectionId, body, maxRetries = 0) =>
      new Smithery045({ apiKey: key, baseURL: server.url, maxRetries }).experimental.connect.mcp.call(
        connectionId,
        { namespace: ns },
        body === undefined ? {} : { body },
      ),
  ],
  [
    '0.50.0',
    Smithery050,
    (connectionId, body, maxRetries = 0) =>
      new Smithery050({ apiKey: key, baseURL: server.url, maxRetries }).connections.mcp.call(connectionId, { namespace: ns }, body === undefined ? {} : { body }),
  ],
];

let nextId = 1;
const toolCall = (name: string, args: Record<string, unknown>, meta?: Record<string, unknown>) => {
  const id = nextId++;
  return { id, body: { jsonrpc: '2.0', id, method: 'tools/call', params: { name, arguments: args, ...(meta ? { _meta: meta } : {}) } } };
};
const text = (value: string) => ({ content: [{ type: 'text', text: value }] });

/** What the upstream itself answers a client that takes event streams (the case being converted). */
async function upstreamContentType(url: string, name: string, args: Record<string, unknown>): Promise<string | null> {
  const headers = { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-protocol-version': '2025-11-25' };
  const init = await fetch(url, {
    method: 'POST',
    headers,
    body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 't', version: '1' } } }),
  });
  await init.text();
  const sid = init.headers.get('mcp-session-id');
  const call = await fetch(url, {
    method: 'POST',
    headers: { ...headers, ...(sid ? { 'mcp-session-id': sid } : {}) },
    body: JSON.stringify({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name, arguments: args } }),
  });
  await call.text();
  return call.headers.get('content-type');
}

describe.each(versions)('@smithery/api %s mcp.call', (_version, Smithery, call) => {
  it.each([
    { upstream: 'sessions', tool: 'echo', args: { message: 'hi' }, expected: text('Echo: hi') },
    { upstream: 'everything', tool: 'echo', args: { message: 'hi' }, expected: text('Echo: hi') },
    { upstream: 'modern', tool: 'echo', args: { message: 'hi' }, expected: text('Echo: hi') },
  ] as const)('gets the parsed JSON answer of $upstream', async ({ upstream, tool, args, expected }) => {
    const { id, body } = toolCall(tool, args);
    // A 2026-07-28 result carries more (resultType, _meta): the content is what is compared.
    expect(await call(conn[upstream], body)).toMatchObject({ jsonrpc: '2.0', id, result: expected });
  });

  it('gets the answer alone when the stream carries progress before it', async () => {
    const { id, body } = toolCall('progress', { steps: 3, delayMs: 10 }, { progressToken: 'older-progress' });
    expect(await call(conn.sessions, body)).toEqual({ jsonrpc: '2.0', id, result: text('done after 3 steps') });
  });

  it('gets the answer of a call during which the upstream asked the client something; the upstream is told the client cannot answer', async () => {
    const { id, body } = toolCall('ask', {});
    const before = asking.replies.length;
    const answer = (await call(conn.asking, body)) as JsonRpcMessage;
    expect(answer).toMatchObject({ jsonrpc: '2.0', id });
    const decline = asking.replies[before]!;
    expect(decline).toMatchObject({ jsonrpc: '2.0', id: expect.stringMatching(/^ask-/), error: { code: -32601 } });
    expect(answer.result).toEqual(text(JSON.stringify(decline.error)));
  });

  it('gets a JSON-RPC parse error (400) for a call without a body', async () => {
    const refused = await call(conn.sessions).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Smithery.BadRequestError);
    expect((refused as { error: unknown }).error).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
  });

  it('does not retry a 409 of the MCP endpoint (x-should-retry: false)', async () => {
    const conflicts = () =>
      server.logs.filter((line) => line.route === '/connect/{namespace}/{connectionId}/mcp' && line.status === 409).length;
    const before = conflicts();
    const refused = await call(conn.inputRequired, toolCall('echo', { message: 'x' }).body, 2).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(Smithery.ConflictError);
    expect((refused as { headers: Headers }).headers.get('x-should-retry')).toBe('false');
    // The client retries before it gives up, so a retry's log line precedes the last answer's.
    await vi.waitFor(() => expect(conflicts() - before).toBeGreaterThanOrEqual(1));
    expect(conflicts() - before).toBe(1);
  });
});

describe('the MCP endpoint, and every 409', () => {
  const post = (connectionId: string, body: BodyInit | undefined, headers: Record<string, string>) =>
    server.request(`/connect/${ns}/${connectionId}/mcp`, { method: 'POST', bearer: key, headers, ...(body === undefined ? {} : { body }) });

  it('is answered with an event stream by the upstreams these cases convert', async () => {
    expect(await upstreamContentType(upstreams.sessions.url, 'echo', { message: 'hi' })).toMatch(/^text\/event-stream/);
    expect(await upstreamContentType(upstreams.everything.url, 'echo', { message: 'hi' })).toMatch(/^text\/event-stream/);
  });

  it('keeps streaming to a client that takes event streams', async () => {
    const { id, body } = toolCall('echo', { message: 'stream' });
    const response = await post(conn.sessions, JSON.stringify(body), { 'content-type': 'application/json', accept: 'application/json, text/event-stream' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/event-stream/);
    expect(await response.text()).toContain(JSON.stringify({ result: text('Echo: stream'), jsonrpc: '2.0', id }));
  });

  it.each([
    ['more than MAX_UPSTREAM_RESPONSE_BYTES before its answer', { kind: 'big-sse', megabytes: 2 }, /sent more than 1048576 bytes before answering/],
    ['no answer', { kind: 'bad-sse' }, /ended its event stream without answering/],
  ])('answers a JSON-only client whose upstream streams %s with a JSON-RPC error (502)', async (_name, args, why) => {
    const { id, body } = toolCall('misbehave', args);
    const response = await post(conn.misbehaving, JSON.stringify(body), { 'content-type': 'application/json', accept: 'application/json' });
    expect(response.status).toBe(502);
    expect(response.headers.get('content-type')).toBe('application/json');
    const answer = (await response.json()) as JsonRpcMessage;
    expect(answer).toMatchObject({ jsonrpc: '2.0', id, error: { code: -32603 } });
    expect(answer.error!.message).toMatch(why);
  });

  it.each([
    ['no content-type', {}],
    ['a JSON content-type', { 'content-type': 'application/json' }],
    ['another content-type', { 'content-type': 'text/plain' }],
  ])('answers an empty body with %s: 400, a JSON-RPC parse error', async (_name, headers) => {
    for (const path of [`/connect/${ns}/${conn.sessions}/mcp`, `/connect/${ns}/mcp`]) {
      const response = await server.request(path, { method: 'POST', bearer: key, headers: { accept: 'application/json', ...headers }, body: '' });
      expect(response.status, path).toBe(400);
      expect(await response.json()).toMatchObject({ jsonrpc: '2.0', id: null, error: { code: -32700 } });
    }
  });

  it('still refuses a body of another media type (415)', async () => {
    const response = await post(conn.sessions, JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'ping' }), { 'content-type': 'text/plain' });
    expect(response.status).toBe(415);
  });

  it('passes a 409 of the upstream on with x-should-retry: false', async () => {
    const { body } = toolCall('conflict', {});
    const response = await post(conn.asking, JSON.stringify(body), { 'content-type': 'application/json', accept: 'application/json, text/event-stream' });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-should-retry')).toBe('false');
  });

  it('marks the 409 of an input_required connection with x-should-retry: false', async () => {
    const response = await post(conn.inputRequired, JSON.stringify(toolCall('echo', { message: 'x' }).body), { 'content-type': 'application/json' });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-should-retry')).toBe('false');
  });

  it('marks a 409 of tRPC with x-should-retry: false', async () => {
    const other = (await server.newAccount('other')).key;
    const response = await server.request('/trpc/namespaces.set', {
      method: 'POST',
      bearer: other,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ name: ns }),
    });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-should-retry')).toBe('false');
  });
});
