import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  ListRootsRequestSchema,
  LoggingMessageNotificationSchema,
  ToolListChangedNotificationSchema,
  type ClientCapabilities,
} from '@modelcontextprotocol/sdk/types.js';
import { Client as ClientV2, StreamableHTTPClientTransport as TransportV2 } from '@modelcontextprotocol/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startServerEverything, startSessionUpstream, type Upstream } from '../helpers/upstreams.ts';
import { createConnectionsTo, eventually, textOf } from '../helpers/mcp-clients.ts';

/**
 * A session per client on `/connect/{ns}/{id}/mcp` (docs/mcp-sessions.md), with the MCP SDK 1.x
 * client through the endpoint, against real upstreams in child processes: the reference server
 * (`server-everything`) and test/fixtures/session-upstream.ts, which sends log messages and
 * list_changed outside any request.
 */

let server: TestServer;
let owner: { key: string; accountId: string };
let secondKey: string;
let ns: string;
const upstream = {} as Record<'everything' | 'logs', Upstream>;
const conn = {} as Record<'everything' | 'logs', string>;
const clients: { close(): Promise<void> }[] = [];
let serverClosed = false;

const endpoint = (id: string) => `${server.url}/connect/${ns}/${id}/mcp`;

async function connect(connectionId: string, capabilities: ClientCapabilities = {}, key = owner.key): Promise<{ client: Client; transport: StreamableHTTPClientTransport }> {
  const transport = new StreamableHTTPClientTransport(new URL(endpoint(connectionId)), { requestInit: { headers: { authorization: `Bearer ${key}` } } });
  const client = new Client({ name: 'session-test', version: '1.0.0' }, { capabilities });
  clients.push(client);
  await client.connect(transport);
  return { client, transport };
}

/** The ids of the sessions open on the logs upstream. */
async function openUpstreamSessions(): Promise<string[]> {
  const response = await fetch(upstream.logs.url.replace(/\/mcp$/, '/stats'));
  return ((await response.json()) as { sessions: string[] }).sessions;
}

beforeAll(async () => {
  const [started] = await Promise.all([
    // A grace period longer than any test: a GET stream left open would hold the shutdown test up past its timeout.
    startTestServer({ UPSTREAM_TIMEOUT_MS: '5000', SHUTDOWN_GRACE_MS: '600000' }),
    startServerEverything().then((u) => (upstream.everything = u)),
    startSessionUpstream().then((u) => (upstream.logs = u)),
  ]);
  server = started;
  owner = await server.newAccount('owner');
  secondKey = (await server.addKey(owner.accountId)).key;
  const created = await server.request('/namespaces', { method: 'POST', bearer: owner.key });
  ns = ((await created.json()) as { name: string }).name;
  Object.assign(conn, await createConnectionsTo(server, owner.key, ns, { everything: upstream.everything.url, logs: upstream.logs.url }));
}, 60_000);

afterAll(async () => {
  await Promise.all(clients.map((client) => client.close().catch(() => {})));
  if (!serverClosed) await server?.close();
  await Promise.all(Object.values(upstream).map((u) => u.stop()));
});

describe('what the upstream sends on its own', () => {
  it('reaches the client’s GET stream: log messages at its own level, never another client’s, and list_changed', async () => {
    const a = await connect(conn.logs);
    const b = await connect(conn.logs);
    expect(a.transport.sessionId).toBeDefined();
    expect(b.transport.sessionId).not.toBe(a.transport.sessionId);
    const heardByA: string[] = [];
    const heardByB: string[] = [];
    a.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heardByA.push(`${n.params.level}: ${String(n.params.data)}`));
    b.client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heardByB.push(`${n.params.level}: ${String(n.params.data)}`));

    await a.client.setLoggingLevel('debug');
    await b.client.setLoggingLevel('error');
    expect(textOf(await a.client.callTool({ name: 'start-logs', arguments: { label: 'A' } }))).toBe('started');
    expect(textOf(await b.client.callTool({ name: 'start-logs', arguments: { label: 'B' } }))).toBe('started');

    // B's level (error) must not be A's: A hears debug messages after B set it.
    await eventually(heardByA, (m) => m === 'debug: debug from A');
    await eventually(heardByB, (m) => m === 'error: error from B');
    expect(heardByA.every((m) => m.endsWith('from A'))).toBe(true);
    expect(heardByB.every((m) => m === 'error: error from B')).toBe(true);

    const changes: string[] = [];
    a.client.setNotificationHandler(ToolListChangedNotificationSchema, () => void changes.push('tools'));
    const added = textOf(await a.client.callTool({ name: 'add-tool', arguments: {} }));
    expect(added).toMatch(/^added-\d+$/);
    // The server announces it on the session's standalone stream, not in the call's reply.
    await eventually(changes, (c) => c === 'tools');
  });
});

describe('the GET stream, raw', () => {
  it('passes Last-Event-ID upstream, where the upstream resumes if it keeps events', async () => {
    const headers = { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream' };
    const init = await fetch(endpoint(conn.logs), {
      method: 'POST',
      headers,
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'initialize', params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } } }),
    });
    const sessionId = init.headers.get('mcp-session-id')!;
    await init.arrayBuffer();
    const stream = await fetch(endpoint(conn.logs), {
      headers: { ...headers, accept: 'text/event-stream', 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25', 'last-event-id': '_GET_stream_42' },
    });
    await stream.body?.cancel();
    const stats = (await (await fetch(upstream.logs.url.replace(/\/mcp$/, '/stats'))).json()) as { lastEventId?: string };
    expect(stats.lastEventId).toBe('_GET_stream_42');
  });
});

describe('what the client can do, declared upstream', () => {
  it('offers elicitation, sampling and roots to a client that declares them, and they complete through its handlers', async () => {
    const { client } = await connect(conn.everything, { elicitation: {}, sampling: {}, roots: { listChanged: true } });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada Lovelace' } }));
    client.setRequestHandler(CreateMessageRequestSchema, async (request) => ({
      model: 'test-model',
      role: 'assistant',
      content: { type: 'text', text: `sampled: ${JSON.stringify(request.params.messages[0]?.content)}` },
    }));
    client.setRequestHandler(ListRootsRequestSchema, async () => ({ roots: [{ uri: 'file:///work/project', name: 'project' }] }));

    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toEqual(expect.arrayContaining(['trigger-elicitation-request', 'trigger-sampling-request', 'get-roots-list']));

    const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(JSON.stringify(elicited)).toContain('Ada Lovelace');
    const sampled = await client.callTool({ name: 'trigger-sampling-request', arguments: { prompt: 'hello there', maxTokens: 10 } });
    expect(JSON.stringify(sampled)).toContain('sampled:');
    const roots = await client.callTool({ name: 'get-roots-list', arguments: {} });
    expect(JSON.stringify(roots)).toContain('file:///work/project');
  });

  it('offers none of them to a client that declares none', async () => {
    const { client } = await connect(conn.everything);
    const names = (await client.listTools()).tools.map((tool) => tool.name);
    expect(names).toContain('echo');
    expect(names).not.toContain('trigger-elicitation-request');
    expect(names).not.toContain('trigger-sampling-request');
  });
});

describe('the v2 SDK client', () => {
  it('gets its own session: elicitation offered and answered, log messages on its GET stream', async () => {
    const connectV2 = async (connectionId: string, capabilities: Record<string, unknown>) => {
      const transport = new TransportV2(new URL(endpoint(connectionId)), { requestInit: { headers: { authorization: `Bearer ${owner.key}` } } });
      const client = new ClientV2({ name: 'session-test-v2', version: '1.0.0' }, { capabilities, versionNegotiation: { mode: 'auto' } });
      clients.push(client);
      await client.connect(transport);
      expect(transport.sessionId).toMatch(/^[0-9a-f]{12}\./);
      return client;
    };
    const everything = await connectV2(conn.everything, { elicitation: {} });
    everything.setRequestHandler('elicitation/create', async () => ({ action: 'accept', content: { name: 'Grace Hopper' } }));
    const elicited = await everything.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(JSON.stringify(elicited)).toContain('Grace Hopper');

    const logs = await connectV2(conn.logs, {});
    const heard: string[] = [];
    logs.setNotificationHandler('notifications/message', (n) => void heard.push(String(n.params.data)));
    await logs.setLoggingLevel('error');
    await logs.callTool({ name: 'start-logs', arguments: { label: 'V2' } });
    await eventually(heard, (m) => m === 'error from V2');
    expect(heard.every((m) => m === 'error from V2')).toBe(true);
  });
});

describe('the session’s end and who may use it', () => {
  it('DELETE ends the session and its upstream session; the id is 404 afterwards', async () => {
    const { client, transport } = await connect(conn.logs);
    const upstreamSession = textOf(await client.callTool({ name: 'session-id', arguments: {} }));
    expect(await openUpstreamSessions()).toContain(upstreamSession);
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    expect(await openUpstreamSessions()).not.toContain(upstreamSession);
    await client.close();

    const response = await fetch(endpoint(conn.logs), {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': sessionId },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/Session not found/);
  });

  it.each(['POST', 'GET', 'DELETE'])('another API key of the same account cannot %s with the session id (404), and the session lives on', async (method) => {
    const { client, transport } = await connect(conn.logs);
    const response = await fetch(endpoint(conn.logs), {
      method,
      headers: {
        authorization: `Bearer ${secondKey}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': transport.sessionId!,
      },
      ...(method === 'POST' ? { body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) } : {}),
    });
    expect(response.status).toBe(404);
    await response.arrayBuffer();
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'still mine' } }))).toBe('Echo: still mine');
  });

  it('GET without a session of its own answers 405', async () => {
    for (const headers of [{}, { 'mcp-session-id': 'smithery-stateless' }] as Record<string, string>[]) {
      const response = await fetch(endpoint(conn.logs), { headers: { authorization: `Bearer ${owner.key}`, accept: 'text/event-stream', ...headers } });
      expect(response.status).toBe(405);
      await response.arrayBuffer();
    }
  });

  it.each(['GET', 'DELETE'])('%s with the session id is refused for a bad key, another account, a token for another namespace or a read-only one; the session lives on', async (method) => {
    const { client, transport } = await connect(conn.logs);
    const stranger = (await server.newAccount('stranger')).key;
    const mint = async (policy: unknown[]) => {
      const minted = await server.request('/tokens', { method: 'POST', bearer: owner.key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ policy }) });
      expect(minted.status).toBe(200);
      return ((await minted.json()) as { token: string }).token;
    };
    const otherNamespace = await mint([{ namespaces: `${ns}-elsewhere` }]);
    const readOnly = await mint([{ namespaces: ns, operations: ['read'] }]);
    const refusals: [string, number][] = [];
    for (const bearer of ['sk_not_a_real_key', stranger, otherNamespace, readOnly]) {
      const response = await fetch(endpoint(conn.logs), {
        method,
        headers: { authorization: `Bearer ${bearer}`, accept: 'text/event-stream', 'mcp-session-id': transport.sessionId! },
      });
      refusals.push([response.headers.get('content-type') ?? '', response.status]);
      await response.arrayBuffer();
    }
    // Another namespace is hidden (404), as it is on every route; a read-only token is forbidden to execute (403).
    expect(refusals.map(([, status]) => status)).toEqual([401, 404, 404, 403]);
    expect(refusals.every(([type]) => type.startsWith('application/json'))).toBe(true);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'still mine' } }))).toBe('Echo: still mine');
  });

  it('GET with a session id but no credentials is refused like a POST (401)', async () => {
    const { transport } = await connect(conn.logs);
    const headers: Record<string, string> = { accept: 'text/event-stream', 'mcp-session-id': transport.sessionId! };
    const response = await fetch(endpoint(conn.logs), { headers });
    expect(response.status).toBe(401);
    await response.arrayBuffer();
  });
});

describe('stateless traffic', () => {
  it.each([
    ['no session id', {}],
    ['smithery-stateless', { 'mcp-session-id': 'smithery-stateless' }],
    ['a session id not in Switchboard’s format', { 'mcp-session-id': 'ffffffffffff.not-issued-by-switchboard' }],
  ])('a client that never initializes still works: %s', async (_label, headers) => {
    const response = await fetch(endpoint(conn.logs), {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', ...headers },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { message: 'stateless' } } }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('Echo: stateless');
  });
});

describe('a session id in Switchboard’s format that no replica holds', () => {
  it('is 404 (initialize again), not stateless traffic', async () => {
    const response = await fetch(endpoint(conn.logs), {
      method: 'POST',
      headers: { authorization: `Bearer ${owner.key}`, 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': `ffffffffffff.${'A'.repeat(32)}` },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'echo', arguments: { message: 'stateless' } } }),
    });
    expect(response.status).toBe(404);
    expect(((await response.json()) as { error: { message: string } }).error.message).toMatch(/Session not found/);
  });
});

// Last: it closes the server.
describe('shutdown', () => {
  it('ends the GET streams at once, however long the grace period, and terminates the clients’ upstream sessions', async () => {
    const { client } = await connect(conn.logs);
    const heard: string[] = [];
    client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => void heard.push(String(n.params.data)));
    await client.callTool({ name: 'start-logs', arguments: { label: 'S' } });
    // The client's GET stream is open (as are those of the clients before): messages arrive on it.
    await eventually(heard, (m) => m === 'error from S');
    const upstreamSession = textOf(await client.callTool({ name: 'session-id', arguments: {} }));
    expect(await openUpstreamSessions()).toContain(upstreamSession);
    serverClosed = true;
    await server.close();
    expect(await openUpstreamSessions()).not.toContain(upstreamSession);
  });
});
