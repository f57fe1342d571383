import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import Smithery045 from 'smithery-api-045';
import { createConnection as createConnection045 } from 'smithery-api-045/mcp';
import Smithery050 from 'smithery-api-050';
import Smithery068 from 'smithery-api-068';
import { createConnection as createConnection068 } from 'smithery-api-068/mcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Service tokens through the official `@smithery/api` client, unchanged (0.68.0 and 0.45.0):
 * an app's backend mints a token for one of its users with `tokens.create({policy})`, and a
 * second client built with `apiKey: <token>` (what a browser would hold) sees and uses only
 * that user's connections, over REST and through `createConnection` + the v1 MCP SDK client.
 */
let server: TestServer;
let upstream: Upstream;

beforeAll(async () => {
  [server, upstream] = await Promise.all([startTestServer(), startFixtureUpstream('sessions')]);
});
afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await upstream?.stop();
  }
});

type ClientOptions = { apiKey: string; baseURL: string; connectBaseURL: string; maxRetries: number };
type HelperOptions = { namespace: string; connectionId: string };

// Each version's own client, connection resource and MCP helper, so every call runs that version's code.
const versions = [
  [
    '0.68.0',
    Smithery068,
    (options: ClientOptions) => {
      const client = new Smithery068(options);
      return {
        client,
        connections: client.connections,
        tools: client.connections.tools as Smithery068['connections']['tools'] | undefined,
        createConnection: (o: HelperOptions) => createConnection068({ client, ...o }),
      };
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
        // 0.45.0 has no REST tool calls.
        tools: undefined as Smithery068['connections']['tools'] | undefined,
        createConnection: (o: HelperOptions) => createConnection045({ client, ...o }),
      };
    },
  ],
] as const;

/** Neither version declares metadata filters; the query stringifier sends `{metadata: {userId}}` as `metadata[userId]=…`. */
function withMetadataFilter<T>(filter: Record<string, string>): T {
  return { metadata: filter } as unknown as T;
}

/** Policies as the wire takes them; 0.45.0's types predate `rpcReqMatch`. */
type Policy = Record<string, unknown>[];

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error);

describe.each(versions)('@smithery/api %s with a service token', (version, Smithery, open) => {
  // Namespace names are global: keep each version's apart.
  const tag = version.replace(/\./g, '');
  const ns = `tok${tag}-main`;
  const elsewhere = `tok${tag}-elsewhere`;
  let sdk: ReturnType<typeof open>;
  const conn = { alice: '', alicePro: '', bob: '', elsewhereAlice: '' };

  const asToken = (token: string) => open({ apiKey: token, baseURL: server.url, connectBaseURL: server.url, maxRetries: 0 });
  const mint = (policy?: Policy) => (policy ? sdk.client.tokens.create({ policy } as never) : sdk.client.tokens.create());
  const listIds = async (client: ReturnType<typeof open>, namespace: string, query?: object) =>
    (await client.connections.list(namespace, query as never)).connections.map((c) => c.connectionId).sort();

  beforeAll(async () => {
    const { key } = await server.newAccount();
    sdk = open({ apiKey: key, baseURL: server.url, connectBaseURL: server.url, maxRetries: 0 });
    await sdk.client.namespaces.set(ns);
    await sdk.client.namespaces.set(elsewhere);
    const create = async (namespace: string, metadata: Record<string, string>) => {
      const created = await sdk.connections.create(namespace, {
        mcpUrl: upstream.url,
        metadata,
        headers: { 'x-extra-credential': canary('token-client') },
      });
      expect(created.status).toEqual({ state: 'connected' });
      return created.connectionId;
    };
    conn.alice = await create(ns, { userId: 'alice' });
    conn.alicePro = await create(ns, { userId: 'alice', plan: 'pro' });
    conn.bob = await create(ns, { userId: 'bob' });
    conn.elsewhereAlice = await create(elsewhere, { userId: 'alice' });
  });

  /** Alice's token as her browser would hold it: her connections in one namespace, read and call only. */
  const aliceReadExecute = (): Policy => [{ namespaces: ns, metadata: { userId: 'alice' }, operations: ['read', 'execute'] }];

  it('a token for alice lists, filters and gets only her connections', async () => {
    const minted = await mint(aliceReadExecute());
    expect(minted.token).toMatch(/^sbt_/);
    const alice = asToken(minted.token);

    expect(await listIds(alice, ns)).toEqual([conn.alice, conn.alicePro].sort());
    expect(await listIds(alice, ns, withMetadataFilter({ plan: 'pro' }))).toEqual([conn.alicePro]);
    expect(await listIds(alice, ns, withMetadataFilter({ userId: 'alice' }))).toEqual([conn.alice, conn.alicePro].sort());
    // A filter cannot widen the token's reach.
    expect(await listIds(alice, ns, withMetadataFilter({ userId: 'bob' }))).toEqual([]);

    const own = await alice.connections.get(conn.alice, { namespace: ns });
    expect(own).toEqual(await sdk.connections.get(conn.alice, { namespace: ns }));
    expect(own).toMatchObject({ connectionId: conn.alice, metadata: { userId: 'alice' }, status: { state: 'connected' } });
    expect(own).not.toHaveProperty('headers');

    expect(await failure(alice.connections.get(conn.bob, { namespace: ns }))).toBeInstanceOf(Smithery.NotFoundError);
    expect(await failure(alice.connections.list(elsewhere))).toBeInstanceOf(Smithery.NotFoundError);
    expect(await failure(alice.connections.get(conn.elsewhereAlice, { namespace: elsewhere }))).toBeInstanceOf(Smithery.NotFoundError);
    // Metadata grants connections only, never the namespace routes.
    expect(await failure(alice.client.namespaces.list())).toBeInstanceOf(Smithery.PermissionDeniedError);
  });

  it('a read-and-call token cannot create or delete (PermissionDeniedError), not even its own user’s', async () => {
    const alice = asToken((await mint(aliceReadExecute())).token);
    const create = failure(alice.connections.create(ns, { mcpUrl: upstream.url, metadata: { userId: 'alice' } }));
    expect(await create).toBeInstanceOf(Smithery.PermissionDeniedError);
    expect(await failure(alice.connections.delete(conn.alice, { namespace: ns }))).toBeInstanceOf(Smithery.PermissionDeniedError);
    expect(await failure(alice.connections.delete(conn.bob, { namespace: ns }))).toBeInstanceOf(Smithery.PermissionDeniedError);
    expect(await failure(alice.connections.set(conn.alice, { namespace: ns, name: 'renamed' }))).toBeInstanceOf(
      Smithery.PermissionDeniedError,
    );
    expect(await listIds(sdk, ns)).toEqual([conn.alice, conn.alicePro, conn.bob].sort());
    expect((await sdk.connections.get(conn.alice, { namespace: ns })).name).toBe(conn.alice);
  });

  it('a token that may write creates and deletes only its user’s connections (others: NotFoundError)', async () => {
    const alice = asToken((await mint([{ namespaces: ns, metadata: { userId: 'alice' } }])).token);
    const forBob = failure(alice.connections.create(ns, { mcpUrl: upstream.url, metadata: { userId: 'bob' } }));
    expect(await forBob).toBeInstanceOf(Smithery.PermissionDeniedError);
    expect(await failure(alice.connections.delete(conn.bob, { namespace: ns }))).toBeInstanceOf(Smithery.NotFoundError);
    expect(await failure(alice.connections.set(conn.bob, { namespace: ns, name: 'taken' }))).toBeInstanceOf(Smithery.NotFoundError);
    expect((await sdk.connections.get(conn.bob, { namespace: ns })).name).toBe(conn.bob);

    const made = await alice.connections.create(ns, { mcpUrl: upstream.url, metadata: { userId: 'alice', device: 'laptop' } });
    expect(made).toMatchObject({ metadata: { userId: 'alice', device: 'laptop' }, status: { state: 'connected' } });
    expect(await listIds(alice, ns)).toContain(made.connectionId);
    expect(await alice.connections.delete(made.connectionId, { namespace: ns })).toEqual({ success: true });
    expect(await failure(sdk.connections.get(made.connectionId, { namespace: ns }))).toBeInstanceOf(Smithery.NotFoundError);
    expect(await failure(alice.connections.create(elsewhere, { mcpUrl: upstream.url, metadata: { userId: 'alice' } }))).toBeInstanceOf(
      Smithery.NotFoundError,
    );
  });

  it.runIf(version === '0.68.0')('calls tools over REST with connections.tools (0.68.0)', async () => {
    const alice = asToken((await mint(aliceReadExecute())).token);
    const tools = alice.tools!;
    const { tools: listed } = await tools.list(conn.alice, { namespace: ns });
    expect(listed.map((t) => t.name)).toContain('echo');
    const result = await tools.call('echo', { namespace: ns, connectionId: conn.alice, body: { message: 'from a token' } });
    expect(result).toMatchObject({ content: [{ type: 'text', text: 'Echo: from a token' }] });
    const bobs = failure(tools.call('echo', { namespace: ns, connectionId: conn.bob, body: { message: 'x' } }));
    expect(await bobs).toBeInstanceOf(Smithery068.NotFoundError);
  });

  it('lists and calls tools through createConnection() and the MCP SDK client', async () => {
    const alice = asToken((await mint(aliceReadExecute())).token);
    const connection = await alice.createConnection({ namespace: ns, connectionId: conn.alicePro });
    expect(connection.url).toBe(`${server.url}/connect/${ns}/${conn.alicePro}/mcp`);
    const mcp = new Client({ name: 'token-client-test', version: '1.0.0' }, { capabilities: {} });
    await mcp.connect(connection.transport);
    try {
      expect((await mcp.listTools()).tools.map((t) => t.name)).toEqual(expect.arrayContaining(['echo', 'add']));
      const result = await mcp.callTool({ name: 'add', arguments: { a: 40, b: 2 } });
      expect(result.content).toEqual([{ type: 'text', text: '42' }]);
    } finally {
      await mcp.close();
    }
    expect(await failure(alice.createConnection({ namespace: ns, connectionId: conn.bob }))).toBeInstanceOf(Smithery.NotFoundError);
  });

  it('an rpcReqMatch token over MCP: only the requests it matches', async () => {
    const mine = { namespaces: ns, metadata: { userId: 'alice' } };
    const minted = await mint([
      { ...mine, operations: 'read' },
      { ...mine, rpcReqMatch: { method: '^tools/list$' } },
      { ...mine, rpcReqMatch: { method: '^tools/call$', 'params.name': '^echo$' } },
    ]);
    const alice = asToken(minted.token);
    const connection = await alice.createConnection({ namespace: ns, connectionId: conn.alice });
    const mcp = new Client({ name: 'token-client-test', version: '1.0.0' }, { capabilities: {} });
    await mcp.connect(connection.transport);
    try {
      expect((await mcp.listTools()).tools.map((t) => t.name)).toContain('echo');
      expect((await mcp.callTool({ name: 'echo', arguments: { message: 'allowed' } })).content).toEqual([{ type: 'text', text: 'Echo: allowed' }]);
      const refused = (await failure(mcp.callTool({ name: 'add', arguments: { a: 1, b: 1 } }))) as { code?: number; message?: string };
      expect(refused).toBeInstanceOf(Error);
      expect(refused.code).toBe(403);
    } finally {
      await mcp.close();
    }
  });

  it('a token mints a narrower token through the client', async () => {
    const parent = await mint(aliceReadExecute());
    const child = await asToken(parent.token).client.tokens.create({ policy: [{ metadata: { plan: 'pro' }, ttl: '20h' }] });
    expect(Date.parse(child.expiresAt)).toBeLessThanOrEqual(Date.parse(parent.expiresAt));
    const pro = asToken(child.token);
    expect(await listIds(pro, ns)).toEqual([conn.alicePro]);
    expect(await failure(pro.connections.get(conn.alice, { namespace: ns }))).toBeInstanceOf(Smithery.NotFoundError);
  });

  it('tokens.create() without arguments: the account’s full reach, for about an hour', async () => {
    const before = Date.now();
    const minted = await sdk.client.tokens.create();
    const lifetime = Date.parse(minted.expiresAt) - before;
    expect(lifetime).toBeGreaterThan(3_590_000);
    expect(lifetime).toBeLessThanOrEqual(3_601_000);
    const full = asToken(minted.token);
    expect(await listIds(full, ns)).toEqual([conn.alice, conn.alicePro, conn.bob].sort());
    const { namespaces } = await full.client.namespaces.list();
    expect(namespaces.map((n) => n.name)).toEqual(expect.arrayContaining([ns, elsewhere]));
    const made = await full.connections.create(elsewhere, { mcpUrl: upstream.url });
    expect(await full.connections.delete(made.connectionId, { namespace: elsewhere })).toEqual({ success: true });
  });

  it('tokens.create({policy: [{ttl: "25h"}]}) is a BadRequestError', async () => {
    const error = await failure(sdk.client.tokens.create({ policy: [{ ttl: '25h' }] }));
    expect(error).toBeInstanceOf(Smithery.BadRequestError);
    expect((error as Error).message).toMatch(/24 hours/);
  });

  it('tokens.create with the tenant field this version sends (profileSlug, organizationId) is accepted and ignored', async () => {
    // Each version's own parameter type, so the field is one the client really declares.
    const minted =
      version === '0.68.0'
        ? await (sdk.client as Smithery068).tokens.create({ organizationId: 'org_elsewhere', policy: aliceReadExecute() as never })
        : await (sdk.client as Smithery045).tokens.create({ profileSlug: 'someone-else' });
    const expected = version === '0.68.0' ? [conn.alice, conn.alicePro] : [conn.alice, conn.alicePro, conn.bob];
    expect(await listIds(asToken(minted.token), ns)).toEqual(expected.sort());
  });

  it('a revoked token is an AuthenticationError', async () => {
    const minted = await mint(aliceReadExecute());
    const alice = asToken(minted.token);
    expect(await listIds(alice, ns)).toHaveLength(2);
    const revoked = await sdk.client.post('/tokens/revoke', { body: { token: minted.token } });
    expect(revoked).toMatchObject({ success: true });
    expect(await failure(alice.connections.list(ns))).toBeInstanceOf(Smithery.AuthenticationError);
  });
});

describe('@smithery/api 0.50.0 tokens.create', () => {
  it('accepts profileSlug and ignores it: the token has the caller’s reach', async () => {
    const { key } = await server.newAccount();
    const client = new Smithery050({ apiKey: key, baseURL: server.url, maxRetries: 0 });
    await client.namespaces.set('tok050-slug');
    const minted = await client.tokens.create({ profileSlug: 'another-profile' });
    const asToken = new Smithery050({ apiKey: minted.token, baseURL: server.url, maxRetries: 0 });
    const { namespaces } = await asToken.namespaces.list();
    expect(namespaces.map((n) => n.name)).toContain('tok050-slug');
  });
});
