import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Smithery045 from 'smithery-api-045';
import { createConnection as createConnection045 } from 'smithery-api-045/mcp';
import Smithery068 from 'smithery-api-068';
import { createConnection as createConnection068 } from 'smithery-api-068/mcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, startServerEverything, type Upstream } from '../helpers/upstreams.ts';

/**
 * The official `@smithery/api` client, unchanged, on the connection routes and through its
 * MCP helper (`createConnection` + the v1 MCP SDK client), in the two versions apps have in
 * the field: 0.68.0 (`client.connections`, at the Connect base URL) and 0.45.0
 * (`client.experimental.connect.connections`, under `/connect`).
 */
let server: TestServer;
let upstreams: Record<'sessions' | 'modern' | 'everything' | 'guarded', Upstream>;

beforeAll(async () => {
  const [started, sessions, modern, everything, guarded] = await Promise.all([
    startTestServer(),
    startFixtureUpstream('sessions'),
    startFixtureUpstream('modern'),
    startServerEverything(),
    // Answers 401 to anyone without this key, and the connections below never have it.
    startFixtureUpstream('sessions', { requireApiKey: canary('guarded-upstream') }),
  ]);
  server = started;
  upstreams = { sessions, modern, everything, guarded };
});
afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await Promise.all(Object.values(upstreams ?? {}).map((upstream) => upstream.stop()));
  }
});

type ClientOptions = { apiKey: string; baseURL: string; connectBaseURL: string; maxRetries: number };
type HelperOptions = { namespace: string; mcpUrl?: string; connectionId?: string; handshake?: boolean };

// Each version's own client, connection resource and MCP helper, so every call runs that version's code.
const versions = [
  [
    '0.68.0',
    Smithery068,
    (options: ClientOptions) => {
      const client = new Smithery068(options);
      return { client, connections: client.connections, createConnection: (o: HelperOptions) => createConnection068({ client, ...o }) };
    },
  ],
  [
    '0.45.0',
    Smithery045,
    (options: ClientOptions) => {
      const client = new Smithery045(options);
      return {
        client,
        connections: client.experimental.connect.connections,
        createConnection: (o: HelperOptions) => createConnection045({ client, ...o }),
      };
    },
  ],
] as const;

/**
 * Neither version declares metadata filters in its list parameters; apps pass them anyway,
 * and the client's query stringifier sends `{metadata: {userId}}` as `metadata[userId]=…`.
 */
function withMetadataFilter<T>(filter: Record<string, string>): T {
  return { metadata: filter } as unknown as T;
}

const echoTargets = [
  { upstream: 'sessions', serverName: 'fixture-sessions' },
  { upstream: 'modern', serverName: 'fixture-modern' },
  { upstream: 'everything', serverName: 'mcp-servers/everything' },
] as const;

const progressTargets = [
  { upstream: 'sessions', tool: 'progress', args: { steps: 4, delayMs: 250 } },
  { upstream: 'modern', tool: 'progress', args: { steps: 4, delayMs: 250 } },
  { upstream: 'everything', tool: 'trigger-long-running-operation', args: { duration: 1, steps: 4 } },
] as const;

describe.each(versions)('@smithery/api %s', (version, Smithery, open) => {
  // Namespace names are global: keep each version's apart.
  const tag = version.replace(/\./g, '');
  let key: string;
  let sdk: ReturnType<typeof open>;

  beforeAll(async () => {
    key = (await server.newAccount()).key;
    sdk = open({ apiKey: key, baseURL: server.url, connectBaseURL: server.url, maxRetries: 0 });
  });

  it('creates, lists with filters, gets, sets, deletes connections', async () => {
    const ns = `conn${tag}-crud`;
    await sdk.client.namespaces.set(ns);
    const { sessions, modern } = upstreams;

    const alice = await sdk.connections.create(ns, {
      mcpUrl: sessions.url,
      name: 'alice-conn',
      metadata: { userId: 'alice', plan: 'pro' },
      headers: { 'x-extra-credential': canary('sdk-header') },
    });
    expect(alice).toMatchObject({
      name: 'alice-conn',
      mcpUrl: sessions.url,
      metadata: { userId: 'alice', plan: 'pro' },
      transport: 'http',
      status: { state: 'connected' },
      serverInfo: { name: 'fixture-sessions', version: '1.2.3' },
    });
    expect(alice.connectionId).toEqual(expect.any(String));
    expect(alice).not.toHaveProperty('headers');
    const bob = await sdk.connections.create(ns, { mcpUrl: modern.url, metadata: { userId: 'bob' } });
    expect(bob).toMatchObject({ name: bob.connectionId, status: { state: 'connected' }, serverInfo: { name: 'fixture-modern' } });

    const all = await sdk.connections.list(ns);
    expect(all.connections.map((c) => c.connectionId)).toEqual([alice.connectionId, bob.connectionId]);
    expect(all.nextCursor).toBeNull();

    const byMetadata = await sdk.connections.list(ns, withMetadataFilter({ userId: 'alice' }));
    expect(byMetadata.connections.map((c) => c.connectionId)).toEqual([alice.connectionId]);
    const noMatch = await sdk.connections.list(ns, withMetadataFilter({ userId: 'alice', plan: 'free' }));
    expect(noMatch.connections).toEqual([]);
    const byName = await sdk.connections.list(ns, { name: 'alice-conn' });
    expect(byName.connections.map((c) => c.connectionId)).toEqual([alice.connectionId]);
    const byUrl = await sdk.connections.list(ns, { mcpUrl: modern.url });
    expect(byUrl.connections.map((c) => c.connectionId)).toEqual([bob.connectionId]);

    const first = await sdk.connections.list(ns, { limit: 1 });
    expect(first.connections.map((c) => c.connectionId)).toEqual([alice.connectionId]);
    expect(first.nextCursor).toEqual(expect.any(String));
    const second = await sdk.connections.list(ns, { limit: 1, cursor: first.nextCursor! });
    expect(second.connections.map((c) => c.connectionId)).toEqual([bob.connectionId]);
    expect(second.nextCursor).toBeNull();

    expect(await sdk.connections.get(alice.connectionId, { namespace: ns })).toEqual(alice);

    // Upsert: 201 when it creates, 200 when it updates.
    const created = await sdk.connections.set('chosen-id', { namespace: ns, mcpUrl: sessions.url, name: 'first' }).withResponse();
    expect(created.response.status).toBe(201);
    expect(created.data).toMatchObject({ connectionId: 'chosen-id', name: 'first', mcpUrl: sessions.url, status: { state: 'connected' } });
    const renamed = await sdk.connections.set('chosen-id', { namespace: ns, mcpUrl: sessions.url, name: 'second' }).withResponse();
    expect(renamed.response.status).toBe(200);
    expect(renamed.data).toMatchObject({ connectionId: 'chosen-id', name: 'second', createdAt: created.data.createdAt });
    expect((await sdk.connections.get('chosen-id', { namespace: ns })).name).toBe('second');

    const moved = await sdk.connections.set('chosen-id', { namespace: ns, mcpUrl: modern.url }).catch((e: unknown) => e);
    expect(moved).toBeInstanceOf(Smithery.ConflictError);
    expect((await sdk.connections.get('chosen-id', { namespace: ns })).mcpUrl).toBe(sessions.url);

    expect(await sdk.connections.delete('chosen-id', { namespace: ns })).toEqual({ success: true });
    const gone = await sdk.connections.get('chosen-id', { namespace: ns }).catch((e: unknown) => e);
    expect(gone).toBeInstanceOf(Smithery.NotFoundError);
    const goneAgain = await sdk.connections.delete('chosen-id', { namespace: ns }).catch((e: unknown) => e);
    expect(goneAgain).toBeInstanceOf(Smithery.NotFoundError);
  });

  it('does not retry the 409 of a set to another URL (x-should-retry: false)', async () => {
    const ns = `conn${tag}-retry`;
    await sdk.client.namespaces.set(ns);
    await sdk.connections.set('pinned', { namespace: ns, mcpUrl: upstreams.sessions.url });
    const retrying = open({ apiKey: key, baseURL: server.url, connectBaseURL: server.url, maxRetries: 2 });
    const conflicts = () =>
      server.logs.filter((l) => l.method === 'PUT' && l.route === '/{namespace}/{connectionId}' && l.status === 409).length;
    const before = conflicts();
    await expect(retrying.connections.set('pinned', { namespace: ns, mcpUrl: upstreams.modern.url })).rejects.toBeInstanceOf(
      Smithery.ConflictError,
    );
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(conflicts() - before).toBe(1);
  });

  describe('createConnection() and the MCP SDK client', () => {
    const ns = `mcp${tag}-helper`;
    beforeAll(async () => {
      await sdk.client.namespaces.set(ns);
    });

    async function connectClient(mcpUrl: string, handshake: boolean) {
      const connection = await sdk.createConnection({ namespace: ns, mcpUrl, handshake });
      expect(connection.url).toBe(`${server.url}/connect/${ns}/${connection.connectionId}/mcp`);
      const mcp = new Client({ name: 'official-client-test', version: '1.0.0' }, { capabilities: {} });
      await mcp.connect(connection.transport);
      return { mcp, connectionId: connection.connectionId };
    }

    it.each(echoTargets.flatMap((target) => [false, true].map((handshake) => ({ ...target, handshake }))))(
      'lists and calls tools of $upstream (handshake: $handshake)',
      async ({ upstream, serverName, handshake }) => {
        const { mcp } = await connectClient(upstreams[upstream].url, handshake);
        try {
          if (handshake) expect(mcp.getServerVersion()).toMatchObject({ name: serverName });
          else expect(mcp.getServerVersion()).toBeUndefined();
          const { tools } = await mcp.listTools();
          expect(tools.map((t) => t.name)).toContain('echo');
          const result = await mcp.callTool({ name: 'echo', arguments: { message: `hello ${upstream}` } });
          expect(result.isError ?? false).toBe(false);
          expect(result.content).toEqual([{ type: 'text', text: `Echo: hello ${upstream}` }]);
        } finally {
          await mcp.close();
        }
      },
    );

    it('reuses an existing connection by id', async () => {
      const first = await connectClient(upstreams.sessions.url, false);
      await first.mcp.close();
      const again = await sdk.createConnection({ namespace: ns, connectionId: first.connectionId });
      expect(again.connectionId).toBe(first.connectionId);
      const mcp = new Client({ name: 'official-client-test', version: '1.0.0' }, { capabilities: {} });
      await mcp.connect(again.transport);
      try {
        const result = await mcp.callTool({ name: 'add', arguments: { a: 20, b: 22 } });
        expect(result.content).toEqual([{ type: 'text', text: '42' }]);
      } finally {
        await mcp.close();
      }
    });

    it.each(progressTargets)('streams the progress of $tool on $upstream as it happens', async ({ upstream, tool, args }) => {
      const { mcp } = await connectClient(upstreams[upstream].url, false);
      try {
        const events: { progress: number; at: number }[] = [];
        const result = await mcp.callTool({ name: tool, arguments: args }, undefined, {
          onprogress: ({ progress }) => void events.push({ progress, at: Date.now() }),
        });
        const resolvedAt = Date.now();
        expect(result.isError ?? false).toBe(false);
        expect(events.map((e) => e.progress)).toEqual([1, 2, 3, 4]);
        // Relayed as they were sent, not collected and delivered together with the result.
        for (let i = 1; i < events.length; i++) expect(events[i]!.at).toBeGreaterThan(events[i - 1]!.at);
        expect(resolvedAt).toBeGreaterThanOrEqual(events.at(-1)!.at);
      } finally {
        await mcp.close();
      }
    });

    it('throws when the upstream needs authorization', async () => {
      const error = await sdk.createConnection({ namespace: ns, mcpUrl: upstreams.guarded.url }).catch((e: unknown) => e);
      // SmitheryAuthorizationError when we send an authorizationUrl, a plain Error otherwise.
      expect(error).toBeInstanceOf(Error);
      expect((error as Error).message).toMatch(/authoriz/i);
      const { connections } = await sdk.connections.list(ns, { mcpUrl: upstreams.guarded.url });
      expect(connections).toHaveLength(1);
      expect(connections[0]!.status).toMatchObject({ state: 'auth_required' });
    });
  });
});

describe('@smithery/api 0.68.0 connections.tools', () => {
  const ns = 'conn068-tools';
  let client: Smithery068;
  let connectionId: string;

  beforeAll(async () => {
    const { key } = await server.newAccount();
    client = new Smithery068({ apiKey: key, baseURL: server.url, connectBaseURL: server.url, maxRetries: 0 });
    await client.namespaces.set(ns);
    connectionId = (await client.connections.create(ns, { mcpUrl: upstreams.sessions.url })).connectionId;
  });

  it('lists the tools', async () => {
    const { tools } = await client.connections.tools.list(connectionId, { namespace: ns });
    expect(tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add', 'repo.search', 'github/create_issue']));
  });

  it.each([
    ['echo', 'echo'],
    // The client percent-encodes the slash: one path segment, github%2Fcreate_issue.
    ['github/create_issue', 'github/create_issue'],
    ['repo.search', 'repo.search'],
  ])('gets the tool %s', async (toolPath, name) => {
    const tool = await client.connections.tools.get(toolPath, { namespace: ns, connectionId });
    expect(tool).toMatchObject({ name, inputSchema: { type: 'object' } });
  });

  it.each([
    ['repo', ['repo.search']],
    ['github', ['github/create_issue', 'github/list_issues']],
  ])('gets the category %s', async (prefix, names) => {
    const category = await client.connections.tools.get(prefix, { namespace: ns, connectionId });
    expect('tools' in category).toBe(true);
    expect((category as Smithery068.Connections.ToolList).tools.map((t) => t.name).sort()).toEqual(names);
  });

  it.each([
    ['echo', { message: 'from the sdk' }, 'Echo: from the sdk'],
    ['github/create_issue', { title: 'slashed' }, 'created slashed'],
    ['repo.search', { query: 'dotted' }, 'searched dotted'],
  ])('calls %s', async (toolPath, body, text) => {
    const result = await client.connections.tools.call(toolPath, { namespace: ns, connectionId, body });
    expect(result).toMatchObject({ content: [{ type: 'text', text }] });
    expect(result.isError ?? false).toBe(false);
  });

  it('returns a failed tool as a result and an unknown tool as NotFoundError', async () => {
    expect(await client.connections.tools.call('fail', { namespace: ns, connectionId, body: {} })).toMatchObject({ isError: true });
    const missing = await client.connections.tools.get('no-such-tool', { namespace: ns, connectionId }).catch((e: unknown) => e);
    expect(missing).toBeInstanceOf(Smithery068.NotFoundError);
    const uncallable = await client.connections.tools.call('no-such-tool', { namespace: ns, connectionId, body: {} }).catch((e: unknown) => e);
    expect(uncallable).toBeInstanceOf(Smithery068.NotFoundError);
  });
});
