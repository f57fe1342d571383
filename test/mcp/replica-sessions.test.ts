import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { ElicitRequestSchema, LoggingMessageNotificationSchema, type ClientCapabilities } from '@modelcontextprotocol/sdk/types.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startServerEverything, startSessionUpstream, type Upstream } from '../helpers/upstreams.ts';
import { createConnectionsTo, textOf } from '../helpers/mcp-clients.ts';

/**
 * One client's session split across two replicas on one PostgreSQL database, with no
 * stickiness (docs/mcp-sessions.md, "Several replicas"): the MCP SDK client's requests are
 * routed by a fetch of its own, some to replica A (which answered `initialize`), others to B.
 * Real upstreams in child processes: server-everything (elicitation) and
 * test/fixtures/session-upstream.ts (log messages outside any request, its open sessions).
 */

const IDLE_SECONDS = 3;

let a: TestServer;
let b: TestServer;
let owner: { key: string; accountId: string };
let ns: string;
const upstream = {} as Record<'everything' | 'logs', Upstream>;
const conn = {} as Record<'everything' | 'logs', string>;
const clients: Client[] = [];

type Replica = 'A' | 'B';
/** Which replica a request of the client goes to: by method, and for a POST by what it carries. */
type Route = (method: string, body: unknown) => Replica;

/** GET streams to B, everything else to A. */
const streamsToB: Route = (method) => (method === 'GET' ? 'B' : 'A');

const path = (id: string) => `/connect/${ns}/${id}/mcp`;

async function connect(connectionId: string, route: Route, capabilities: ClientCapabilities = {}) {
  const seen: { replica: Replica; method: string; body: unknown }[] = [];
  const routed = (input: string | URL, init?: RequestInit) => {
    const method = (init?.method ?? 'GET').toUpperCase();
    const body = typeof init?.body === 'string' ? (JSON.parse(init.body) as unknown) : undefined;
    const replica = route(method, body);
    seen.push({ replica, method, body });
    const url = new URL(String(input));
    return fetch(`${(replica === 'A' ? a : b).url}${url.pathname}${url.search}`, init);
  };
  const transport = new StreamableHTTPClientTransport(new URL(`${a.url}${path(connectionId)}`), {
    requestInit: { headers: { authorization: `Bearer ${owner.key}` } },
    fetch: routed,
  });
  const client = new Client({ name: 'replica-test', version: '1.0.0' }, { capabilities });
  clients.push(client);
  await client.connect(transport);
  return { client, transport, seen };
}

async function openUpstreamSessions(): Promise<string[]> {
  const response = await fetch(upstream.logs.url.replace(/\/mcp$/, '/stats'));
  return ((await response.json()) as { sessions: string[] }).sessions;
}

function post(server: TestServer, connectionId: string, sessionId: string | undefined, bearer = owner.key, message: unknown = { jsonrpc: '2.0', id: 1, method: 'tools/list' }) {
  return fetch(`${server.url}${path(connectionId)}`, {
    method: 'POST',
    headers: {
      authorization: `Bearer ${bearer}`,
      'content-type': 'application/json',
      accept: 'application/json, text/event-stream',
      ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } : {}),
    },
    body: JSON.stringify(message),
  });
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.skipIf(testDatabaseKind !== 'postgres')('a client session across two replicas', () => {
  beforeAll(async () => {
    const env = { UPSTREAM_TIMEOUT_MS: '5000', MCP_SESSION_IDLE_SECONDS: String(IDLE_SECONDS) };
    const [started] = await Promise.all([
      startTestServer(env),
      startServerEverything().then((u) => (upstream.everything = u)),
      startSessionUpstream().then((u) => (upstream.logs = u)),
    ]);
    a = started;
    b = await startTestServer(env, { replicaOf: a });
    owner = await a.newAccount('owner');
    const created = await a.request('/namespaces', { method: 'POST', bearer: owner.key });
    ns = ((await created.json()) as { name: string }).name;
    Object.assign(conn, await createConnectionsTo(a, owner.key, ns, { everything: upstream.everything.url, logs: upstream.logs.url }));
  }, 120_000);

  afterAll(async () => {
    await Promise.all(clients.map((client) => client.close().catch(() => {})));
    await b?.close();
    await a?.close();
    await Promise.all(Object.values(upstream).map((u) => u.stop()));
  });

  it('log messages the upstream sends on its own reach the client’s GET stream on B', async () => {
    const { client, seen } = await connect(conn.logs, streamsToB);
    const heard = new Promise<string>((resolve) => {
      client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => resolve(String(n.params.data)));
    });
    await client.setLoggingLevel('error');
    expect(textOf(await client.callTool({ name: 'start-logs', arguments: { label: 'split' } }))).toBe('started');
    expect(await heard).toBe('error from split');
    expect(seen.some((request) => request.replica === 'B' && request.method === 'GET')).toBe(true);
  });

  it('a call whose elicitation answer is POSTed to B completes', async () => {
    // A JSON-RPC response (no method): the client's answer to the upstream's request.
    const answersToB: Route = (method, body) => (method === 'GET' || (method === 'POST' && !(body as { method?: string }).method) ? 'B' : 'A');
    const { client, seen } = await connect(conn.everything, answersToB, { elicitation: {} });
    client.setRequestHandler(ElicitRequestSchema, async () => ({ action: 'accept', content: { name: 'Ada Lovelace' } }));
    const elicited = await client.callTool({ name: 'trigger-elicitation-request', arguments: {} });
    expect(JSON.stringify(elicited)).toContain('Ada Lovelace');
    expect(seen.some((request) => request.replica === 'B' && request.method === 'POST')).toBe(true);
  });

  it('DELETE sent to B ends the session on A and its upstream session', async () => {
    const deleteToB: Route = (method) => (method === 'GET' || method === 'DELETE' ? 'B' : 'A');
    const { client, transport } = await connect(conn.logs, deleteToB);
    const upstreamSession = textOf(await client.callTool({ name: 'session-id', arguments: {} }));
    expect(await openUpstreamSessions()).toContain(upstreamSession);
    const sessionId = transport.sessionId!;
    await transport.terminateSession();
    expect(await openUpstreamSessions()).not.toContain(upstreamSession);
    for (const replica of [a, b]) {
      const response = await post(replica, conn.logs, sessionId);
      expect(response.status).toBe(404);
      await response.arrayBuffer();
    }
  });

  it('another API key, of the same account or another, gets 404 on B, and the session lives on', async () => {
    const { client, transport } = await connect(conn.logs, streamsToB);
    const sameAccount = (await a.addKey(owner.accountId)).key;
    const stranger = (await a.newAccount('stranger')).key;
    for (const bearer of [sameAccount, stranger]) {
      const response = await post(b, conn.logs, transport.sessionId!, bearer);
      expect(response.status).toBe(404);
      await response.arrayBuffer();
      const stream = await fetch(`${b.url}${path(conn.logs)}`, {
        headers: { authorization: `Bearer ${bearer}`, accept: 'text/event-stream', 'mcp-session-id': transport.sessionId! },
      });
      expect(stream.status).toBe(404);
      await stream.arrayBuffer();
    }
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'still mine' } }))).toBe('Echo: still mine');
  });

  it('a session idle on A is not expired while B uses it (its GET stream); one used nowhere is', async () => {
    const { client } = await connect(conn.logs, streamsToB);
    // Initialized on A and never used again, anywhere (no GET stream either).
    const initialized = await post(a, conn.logs, undefined, owner.key, {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'raw', version: '1' } },
    });
    const unusedId = initialized.headers.get('mcp-session-id')!;
    await initialized.arrayBuffer();
    expect(unusedId).toBeTruthy();
    // Long enough for A to sweep several times past the idle time (a lower bound: a slow machine only waits longer).
    await sleep(3 * IDLE_SECONDS * 1000);
    expect(textOf(await client.callTool({ name: 'echo', arguments: { message: 'alive' } }))).toBe('Echo: alive');
    const expired = await post(a, conn.logs, unusedId);
    expect(expired.status).toBe(404);
    await expired.arrayBuffer();
  });
});
