import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { AppRouter } from '../../src/api/router.ts';
import { chainRevocationIds } from '../../src/core/tokens/chain-revocation-ids.ts';
import { attenuateToken } from '../../src/core/tokens/token-format.ts';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Service-token policies, as a table: concrete policies (columns) × every route (rows), each
 * cell the exact status, or for a listing exactly what it shows. Then what the table cannot
 * say: attenuation (through POST /tokens and offline), revocation, expiry, forgery, the
 * validation of minted policies, and the typed tRPC client holding a token.
 *
 * The account owns `team-a` (connections alice, bob, alice-x, counted) and `team-b`
 * (alice-b); another account owns `other-owners`. Write cases make and remove their own
 * disposable resources with the API key, so cases never depend on each other.
 */
let server: TestServer;
let foreign: TestServer;
let upstream: Upstream;
let key: string;
let otherKey: string;

const OTHER_NS = 'other-owners';
const MCP_ACCEPT = { 'content-type': 'application/json', accept: 'application/json, text/event-stream' };

let serial = 0;
const fresh = (prefix: string) => `${prefix}-${++serial}`;

type Outcome = { status: number; body: any; headers: Headers };

async function send(method: string, path: string, bearer: string | undefined, body?: unknown): Promise<Outcome> {
  const response = await server.request(path, {
    method,
    bearer,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await response.text();
  return { status: response.status, body: text ? JSON.parse(text) : undefined, headers: response.headers };
}

/** One JSON-RPC message to a connection's MCP endpoint; the answer whether it came as JSON or SSE. */
async function sendMcp(path: string, bearer: string, message: Record<string, unknown>): Promise<Outcome> {
  const response = await server.request(path, { method: 'POST', bearer, headers: MCP_ACCEPT, body: JSON.stringify({ jsonrpc: '2.0', ...message }) });
  const text = await response.text();
  let body: any;
  if (response.headers.get('content-type')?.startsWith('text/event-stream')) {
    const events = text.split('\n').filter((line) => line.startsWith('data:')).map((line) => JSON.parse(line.slice(5)));
    body = events.find((event) => 'result' in event || 'error' in event);
  } else {
    body = text ? JSON.parse(text) : undefined;
  }
  return { status: response.status, body, headers: response.headers };
}

async function mint(bearer: string, policy?: unknown[]): Promise<{ token: string; expiresAt: string }> {
  const minted = await send('POST', '/tokens', bearer, policy === undefined ? {} : { policy });
  expect(minted.status, JSON.stringify(minted.body)).toBe(200);
  expect(minted.body.token).toMatch(/^sbt_[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)+$/);
  return minted.body;
}

/** A token's id is the id of its last block (blocks are base64url JSON, the signature follows). */
function tokenId(token: string): string {
  const parts = token.slice('sbt_'.length).split('.');
  return JSON.parse(Buffer.from(parts.at(-2)!, 'base64url').toString('utf8')).id;
}

/** The id revoking by `token` revokes when one of its blocks was appended offline: its exact chain of ids. */
function chainId(token: string): string {
  const [root, ...blocks] = token.slice('sbt_'.length).split('.').slice(0, -1).map((part) => JSON.parse(Buffer.from(part, 'base64url').toString('utf8')).id as string);
  return chainRevocationIds(root!, blocks).at(-1)!;
}

/** Replaces the character at `index` with another base64url character. */
function flip(token: string, index: number): string {
  const replacement = token[index] === 'A' ? 'B' : 'A';
  return token.slice(0, index) + replacement + token.slice(index + 1);
}

const nowSeconds = () => Math.floor(Date.now() / 1000);
const ids = (outcome: Outcome) => (outcome.body.connections as { connectionId: string }[]).map((c) => c.connectionId).sort();
const names = (outcome: Outcome) => (outcome.body.namespaces as { name: string }[]).map((n) => n.name).sort();

async function putConnection(namespace: string, id: string, metadata: Record<string, unknown>, headers?: Record<string, string>, bearer = key) {
  const created = await send('PUT', `/${namespace}/${id}`, bearer, { mcpUrl: upstream.url, metadata, ...(headers ? { headers } : {}) });
  expect(created.status, JSON.stringify(created.body)).toBe(201);
  expect(created.body.status).toEqual({ state: 'connected' });
}

beforeAll(async () => {
  [server, foreign, upstream] = await Promise.all([startTestServer(), startTestServer(), startFixtureUpstream('sessions')]);
  key = (await server.newAccount('owner')).key;
  otherKey = (await server.newAccount('other')).key;
  for (const name of ['team-a', 'team-b']) expect((await send('PUT', `/namespaces/${name}`, key)).status).toBe(201);
  expect((await send('PUT', `/namespaces/${OTHER_NS}`, otherKey)).status).toBe(201);
  // Created one after the other: listings are oldest first.
  await putConnection('team-a', 'alice', { userId: 'alice' }, { 'x-extra-credential': canary('alice') });
  await putConnection('team-a', 'bob', { userId: 'bob' });
  await putConnection('team-a', 'alice-x', { userId: 'alice', team: 'x' });
  await putConnection('team-a', 'counted', { count: 3 });
  await putConnection('team-b', 'alice-b', { userId: 'alice' });
  await putConnection(OTHER_NS, 'alice', { userId: 'alice' }, undefined, otherKey);
});
afterAll(async () => {
  try {
    await Promise.all([server?.close(), foreign?.close()]);
  } finally {
    await upstream?.stop();
  }
});

// ---------------------------------------------------------------------------------------------
// The table

const columns = [
  { label: 'the API key itself', policy: 'api-key' },
  { label: 'a token without policy', policy: undefined },
  { label: '{namespaces: team-a}', policy: [{ namespaces: 'team-a' }] },
  { label: '{namespaces: [team-a], operations: read}', policy: [{ namespaces: ['team-a'], operations: 'read' }] },
  { label: '{operations: [read, execute]}', policy: [{ operations: ['read', 'execute'] }] },
  { label: '{resources: namespaces}', policy: [{ resources: 'namespaces' }] },
  { label: '{metadata: {userId: alice}}', policy: [{ metadata: { userId: 'alice' } }] },
  { label: '{metadata: [{userId: alice}, {userId: bob}]}', policy: [{ metadata: [{ userId: 'alice' }, { userId: 'bob' }] }] },
  { label: '{metadata: {userId: alice, team: x}}', policy: [{ metadata: { userId: 'alice', team: 'x' } }] },
  { label: '{metadata: {count: "3"}}', policy: [{ metadata: { count: '3' } }] },
  { label: '{rpcReqMatch: {params.name: ^echo$}}', policy: [{ rpcReqMatch: { 'params.name': '^echo$' } }] },
  { label: '{rpcReqMatch: {method: ^tools/(list|call)$}}', policy: [{ rpcReqMatch: { method: '^tools/(list|call)$' } }] },
  {
    label: '[{namespaces: team-b}, {namespaces: team-a, operations: read}]',
    policy: [{ namespaces: 'team-b' }, { namespaces: 'team-a', operations: 'read' }],
  },
] as const;

/** A cell: the status, or (a 200 listing) exactly the names it shows. */
type Cell = number | readonly string[];

const NS = ['team-a', 'team-b'];
const A = ['alice', 'bob', 'alice-x', 'counted'];
const AL = ['alice', 'alice-x'];
const ALB = ['alice', 'bob', 'alice-x'];
const ALX = ['alice-x'];
const C3 = ['counted'];
const B = ['alice-b'];

const echo = { name: 'echo', arguments: { message: 'table' } };
const add = { name: 'add', arguments: { a: 2, b: 3 } };
const mcpPath = '/connect/team-a/alice/mcp';

type Row = { cells: Cell[]; send(bearer: string): Promise<Outcome>; list?(outcome: Outcome): string[]; check200?(outcome: Outcome): void };

/** Creates a connection with the API key, runs the request, and removes whatever is left. */
async function withSpareConnection(metadata: Record<string, unknown>, run: (id: string) => Promise<Outcome>): Promise<Outcome> {
  const id = fresh('spare');
  await putConnection('team-a', id, metadata);
  try {
    return await run(id);
  } finally {
    await send('DELETE', `/team-a/${id}`, key);
  }
}

async function createAndClean(namespace: string, metadata: Record<string, unknown>, bearer: string): Promise<Outcome> {
  const outcome = await send('POST', `/${namespace}`, bearer, { mcpUrl: upstream.url, metadata });
  if (outcome.status === 201) {
    expect(outcome.body).toMatchObject({ metadata, status: { state: 'connected' } });
    await send('DELETE', `/${namespace}/${outcome.body.connectionId}`, key);
  }
  return outcome;
}

/*                                                   key  none nsA  nsAr rx   nsRes al   al|b alX  c3   echo tl|c b|Ar */
const rows: Record<string, Row> = {
  'GET /namespaces': {
    cells: [NS, NS, ['team-a'], ['team-a'], NS, NS, 403, 403, 403, 403, 403, 403, NS],
    send: (bearer) => send('GET', '/namespaces?pageSize=50', bearer),
    list: names,
  },
  'GET /namespaces/team-a': {
    cells: /*                                         */ [200, 200, 200, 200, 200, 200, 403, 403, 403, 403, 403, 403, 200],
    send: (bearer) => send('GET', '/namespaces/team-a', bearer),
  },
  'GET /namespaces/team-b': {
    cells: /*                                         */ [200, 200, 404, 404, 200, 200, 403, 403, 403, 403, 403, 403, 200],
    send: (bearer) => send('GET', '/namespaces/team-b', bearer),
  },
  "GET /namespaces/{another account's}": {
    cells: /*                                         */ [404, 404, 404, 404, 404, 404, 403, 403, 403, 403, 403, 403, 404],
    send: (bearer) => send('GET', `/namespaces/${OTHER_NS}`, bearer),
  },
  'POST /namespaces': {
    cells: /*                                         */ [201, 201, 403, 403, 403, 201, 403, 403, 403, 403, 403, 403, 403],
    async send(bearer) {
      const outcome = await send('POST', '/namespaces', bearer);
      if (outcome.status === 201) await send('DELETE', `/namespaces/${outcome.body.name}`, key);
      return outcome;
    },
  },
  'PUT /namespaces/{new name}': {
    cells: /*                                         */ [201, 201, 404, 404, 403, 201, 403, 403, 403, 403, 403, 403, 404],
    async send(bearer) {
      const name = fresh('fresh-ns');
      const outcome = await send('PUT', `/namespaces/${name}`, bearer);
      await send('DELETE', `/namespaces/${name}`, key);
      return outcome;
    },
  },
  'DELETE /namespaces/{spare}': {
    cells: /*                                         */ [200, 200, 404, 404, 403, 200, 403, 403, 403, 403, 403, 403, 404],
    async send(bearer) {
      const name = fresh('spare-ns');
      expect((await send('PUT', `/namespaces/${name}`, key)).status).toBe(201);
      const outcome = await send('DELETE', `/namespaces/${name}`, bearer);
      await send('DELETE', `/namespaces/${name}`, key);
      return outcome;
    },
  },
  'GET /team-a': {
    cells: [A, A, A, A, A, 403, AL, ALB, ALX, C3, 403, 403, A],
    send: (bearer) => send('GET', '/team-a', bearer),
    list: ids,
  },
  'GET /team-b': {
    cells: [B, B, 404, 404, B, 403, B, B, [], [], 403, 403, B],
    send: (bearer) => send('GET', '/team-b', bearer),
    list: ids,
  },
  "GET /{another account's namespace}": {
    cells: /*                                         */ [404, 404, 404, 404, 404, 403, 404, 404, 404, 404, 403, 403, 404],
    send: (bearer) => send('GET', `/${OTHER_NS}`, bearer),
  },
  'GET /team-a/alice': {
    cells: /*                                         */ [200, 200, 200, 200, 200, 403, 200, 200, 404, 404, 403, 403, 200],
    send: (bearer) => send('GET', '/team-a/alice', bearer),
    check200: (outcome) => expect(outcome.body).toMatchObject({ connectionId: 'alice', metadata: { userId: 'alice' } }),
  },
  'GET /team-a/bob': {
    cells: /*                                         */ [200, 200, 200, 200, 200, 403, 404, 200, 404, 404, 403, 403, 200],
    send: (bearer) => send('GET', '/team-a/bob', bearer),
  },
  'GET /team-a/alice-x': {
    cells: /*                                         */ [200, 200, 200, 200, 200, 403, 200, 200, 200, 404, 403, 403, 200],
    send: (bearer) => send('GET', '/team-a/alice-x', bearer),
  },
  'GET /team-a/counted': {
    cells: /*                                         */ [200, 200, 200, 200, 200, 403, 404, 404, 404, 200, 403, 403, 200],
    send: (bearer) => send('GET', '/team-a/counted', bearer),
  },
  'GET /team-b/alice-b': {
    cells: /*                                         */ [200, 200, 404, 404, 200, 403, 200, 200, 404, 404, 403, 403, 200],
    send: (bearer) => send('GET', '/team-b/alice-b', bearer),
  },
  "GET /{another account's namespace}/alice": {
    cells: /*                                         */ [404, 404, 404, 404, 404, 403, 404, 404, 404, 404, 403, 403, 404],
    send: (bearer) => send('GET', `/${OTHER_NS}/alice`, bearer),
  },
  'POST /team-a {userId: alice, team: x}': {
    cells: /*                                         */ [201, 201, 201, 403, 403, 403, 201, 201, 201, 403, 403, 403, 403],
    send: (bearer) => createAndClean('team-a', { userId: 'alice', team: 'x' }, bearer),
  },
  'POST /team-a {userId: bob}': {
    cells: /*                                         */ [201, 201, 201, 403, 403, 403, 403, 201, 403, 403, 403, 403, 403],
    send: (bearer) => createAndClean('team-a', { userId: 'bob' }, bearer),
  },
  'POST /team-a {count: 3}': {
    cells: /*                                         */ [201, 201, 201, 403, 403, 403, 403, 403, 403, 201, 403, 403, 403],
    send: (bearer) => createAndClean('team-a', { count: 3 }, bearer),
  },
  'POST /team-b {userId: alice, team: x}': {
    cells: /*                                         */ [201, 201, 404, 404, 403, 403, 201, 201, 201, 403, 403, 403, 201],
    send: (bearer) => createAndClean('team-b', { userId: 'alice', team: 'x' }, bearer),
  },
  'PUT /team-a/{new id} {userId: alice, team: x}': {
    cells: /*                                         */ [201, 201, 201, 403, 403, 403, 201, 201, 201, 403, 403, 403, 403],
    async send(bearer) {
      const id = fresh('new');
      const outcome = await send('PUT', `/team-a/${id}`, bearer, { mcpUrl: upstream.url, metadata: { userId: 'alice', team: 'x' } });
      await send('DELETE', `/team-a/${id}`, key);
      return outcome;
    },
  },
  'PUT /team-a/{spare of alice, team x} (rename)': {
    cells: /*                                         */ [200, 200, 200, 403, 403, 403, 200, 200, 200, 404, 403, 403, 403],
    send: (bearer) =>
      withSpareConnection({ userId: 'alice', team: 'x' }, async (id) => {
        const outcome = await send('PUT', `/team-a/${id}`, bearer, { name: 'renamed' });
        if (outcome.status === 200) expect(outcome.body).toMatchObject({ connectionId: id, name: 'renamed' });
        else expect((await send('GET', `/team-a/${id}`, key)).body.name).toBe(id);
        return outcome;
      }),
  },
  'PUT /team-a/{spare of alice, team x} (metadata to bob)': {
    cells: /*                                         */ [200, 200, 200, 403, 403, 403, 403, 200, 403, 404, 403, 403, 403],
    send: (bearer) =>
      withSpareConnection({ userId: 'alice', team: 'x' }, async (id) => {
        const outcome = await send('PUT', `/team-a/${id}`, bearer, { metadata: { userId: 'bob' } });
        const stored = (await send('GET', `/team-a/${id}`, key)).body.metadata;
        expect(stored).toEqual(outcome.status === 200 ? { userId: 'bob' } : { userId: 'alice', team: 'x' });
        return outcome;
      }),
  },
  'DELETE /team-a/{spare of alice, team x}': {
    cells: /*                                         */ [200, 200, 200, 403, 403, 403, 200, 200, 200, 404, 403, 403, 403],
    send: (bearer) =>
      withSpareConnection({ userId: 'alice', team: 'x' }, async (id) => {
        const outcome = await send('DELETE', `/team-a/${id}`, bearer);
        expect((await send('GET', `/team-a/${id}`, key)).status).toBe(outcome.status === 200 ? 404 : 200);
        return outcome;
      }),
  },
  'DELETE /team-a/{spare of bob}': {
    cells: /*                                         */ [200, 200, 200, 403, 403, 403, 404, 200, 404, 404, 403, 403, 403],
    send: (bearer) => withSpareConnection({ userId: 'bob' }, (id) => send('DELETE', `/team-a/${id}`, bearer)),
  },
  'GET /team-a/.tools': {
    cells: [A, A, A, A, A, 403, AL, ALB, ALX, C3, 403, 403, A],
    send: (bearer) => send('GET', '/team-a/.tools', bearer),
    list: ids,
  },
  'GET /team-a/alice/.tools': {
    cells: /*                                         */ [200, 200, 200, 200, 200, 403, 200, 200, 404, 404, 403, 403, 200],
    send: (bearer) => send('GET', '/team-a/alice/.tools', bearer),
    check200: (outcome) => expect(outcome.body.tools.map((t: { name: string }) => t.name)).toContain('echo'),
  },
  'GET /team-a/alice/.tools/echo': {
    cells: /*                                         */ [200, 200, 200, 200, 200, 403, 200, 200, 404, 404, 403, 403, 200],
    send: (bearer) => send('GET', '/team-a/alice/.tools/echo', bearer),
    check200: (outcome) => expect(outcome.body).toMatchObject({ name: 'echo' }),
  },
  'POST /team-a/alice/.tools/echo': {
    cells: /*                                         */ [200, 200, 200, 403, 200, 403, 200, 200, 404, 404, 200, 200, 403],
    send: (bearer) => send('POST', '/team-a/alice/.tools/echo', bearer, echo.arguments),
    check200: (outcome) => expect(outcome.body.content).toEqual([{ type: 'text', text: 'Echo: table' }]),
  },
  'POST /team-a/alice/.tools/add': {
    cells: /*                                         */ [200, 200, 200, 403, 200, 403, 200, 200, 404, 404, 403, 200, 403],
    send: (bearer) => send('POST', '/team-a/alice/.tools/add', bearer, add.arguments),
    check200: (outcome) => expect(outcome.body.content).toEqual([{ type: 'text', text: '5' }]),
  },
  'MCP team-a/alice tools/list': {
    cells: /*                                         */ [200, 200, 200, 403, 200, 403, 200, 200, 404, 404, 403, 200, 403],
    send: (bearer) => sendMcp(mcpPath, bearer, { id: 1, method: 'tools/list' }),
    check200: (outcome) => expect(outcome.body.result.tools.map((t: { name: string }) => t.name)).toContain('echo'),
  },
  'MCP team-a/alice tools/call echo': {
    cells: /*                                         */ [200, 200, 200, 403, 200, 403, 200, 200, 404, 404, 200, 200, 403],
    send: (bearer) => sendMcp(mcpPath, bearer, { id: 2, method: 'tools/call', params: echo }),
    check200: (outcome) => expect(outcome.body.result.content).toEqual([{ type: 'text', text: 'Echo: table' }]),
  },
  'MCP team-a/alice tools/call add': {
    cells: /*                                         */ [200, 200, 200, 403, 200, 403, 200, 200, 404, 404, 403, 200, 403],
    send: (bearer) => sendMcp(mcpPath, bearer, { id: 3, method: 'tools/call', params: add }),
    check200: (outcome) => expect(outcome.body.result.content).toEqual([{ type: 'text', text: '5' }]),
  },
  'MCP team-a/alice ping': {
    cells: /*                                         */ [200, 200, 200, 403, 200, 403, 200, 200, 404, 404, 403, 403, 403],
    send: (bearer) => sendMcp(mcpPath, bearer, { id: 4, method: 'ping' }),
    check200: (outcome) => expect(outcome.body).toMatchObject({ id: 4, result: {} }),
  },
  'POST /tokens': {
    cells: /*                                         */ [200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200],
    send: (bearer) => send('POST', '/tokens', bearer, {}),
    check200: (outcome) => expect(outcome.body.token).toMatch(/^sbt_/),
  },
  'POST /tokens/revoke {id of no token}': {
    cells: /*                                         */ [404, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403, 403],
    send: (bearer) => send('POST', '/tokens/revoke', bearer, { id: 'tok_nosuchtoken0' }),
  },
};

describe.each(columns.map((column, index) => ({ ...column, index })))('$label', ({ policy, index }) => {
  let bearer: string;
  beforeAll(async () => {
    bearer = policy === 'api-key' ? key : (await mint(key, policy as unknown[] | undefined)).token;
  });

  const cases = Object.entries(rows).map(([request, row]) => {
    const cell = row.cells[index]!;
    return { request, row, cell, expected: typeof cell === 'number' ? String(cell) : `200 [${cell.join(', ')}]` };
  });

  it.each(cases)('$request → $expected', async ({ row, cell }) => {
    const outcome = await row.send(bearer);
    const status = typeof cell === 'number' ? cell : 200;
    expect(outcome.status, JSON.stringify(outcome.body)).toBe(status);
    if (typeof cell !== 'number') expect(row.list!(outcome)).toEqual([...cell].sort());
    else if (status === 200 || status === 201) row.check200?.(outcome);
    // REST refusals carry {error, message}; the MCP endpoint refuses an RPC with a JSON-RPC error.
    else if (status >= 400) expect(outcome.body?.error).toEqual(typeof outcome.body?.error === 'string' ? expect.any(String) : expect.objectContaining({ code: expect.any(Number) }));
  });
});

// ---------------------------------------------------------------------------------------------
// Attenuation

describe('attenuation through POST /tokens with a token', () => {
  let parent: { token: string; expiresAt: string };
  beforeAll(async () => {
    parent = await mint(key, [{ namespaces: 'team-a', operations: 'read', ttl: '10m' }]);
  });

  it('a child asking for more than its parent still cannot do it', async () => {
    const child = await mint(parent.token, [{ namespaces: ['team-a', 'team-b'], operations: ['read', 'write', 'execute'] }]);
    expect(ids(await send('GET', '/team-a', child.token))).toEqual([...A].sort());
    expect((await send('GET', '/team-b', child.token)).status).toBe(404);
    expect((await send('POST', '/team-a', child.token, { mcpUrl: upstream.url })).status).toBe(403);
    expect((await send('DELETE', '/team-a/bob', child.token)).status).toBe(403);
    expect((await send('POST', '/team-a/alice/.tools/echo', child.token, { message: 'x' })).status).toBe(403);
    expect((await sendMcp(mcpPath, child.token, { id: 1, method: 'tools/list' })).status).toBe(403);
    expect(names(await send('GET', '/namespaces', child.token))).toEqual(['team-a']);
    expect((await send('GET', '/team-a/bob', key)).status).toBe(200);
  });

  it('a child without policy has exactly its parent’s reach and expiry', async () => {
    const child = await mint(parent.token);
    expect(child.expiresAt).toBe(parent.expiresAt);
    expect(ids(await send('GET', '/team-a', child.token))).toEqual([...A].sort());
    expect((await send('GET', '/team-b', child.token)).status).toBe(404);
    expect((await send('POST', '/team-a', child.token, { mcpUrl: upstream.url })).status).toBe(403);
  });

  it('a child narrower than its parent sees less', async () => {
    const child = await mint(parent.token, [{ metadata: { userId: 'bob' } }]);
    expect(ids(await send('GET', '/team-a', child.token))).toEqual(['bob']);
    expect((await send('GET', '/team-a/alice', child.token)).status).toBe(404);
    // And narrowing again, from the child: bob and team x never both hold.
    const grandchild = await mint(child.token, [{ metadata: { team: 'x' } }]);
    expect(ids(await send('GET', '/team-a', grandchild.token))).toEqual([]);
    expect((await send('GET', '/team-a/bob', grandchild.token)).status).toBe(404);
  });

  it.each([
    ['a longer ttl than the parent’s', '20h', 'equal'],
    ['the default ttl (1 h, longer than the parent’s)', undefined, 'equal'],
    ['a shorter ttl', '30s', 'earlier'],
  ] as const)('a child asking for %s never outlives its parent', async (_label, ttl, relation) => {
    const child = await mint(parent.token, [{ operations: 'read', ...(ttl ? { ttl } : {}) }]);
    if (relation === 'equal') expect(child.expiresAt).toBe(parent.expiresAt);
    else expect(Date.parse(child.expiresAt)).toBeLessThan(Date.parse(parent.expiresAt));
  });

  it('the parent’s expiry is the one asked for (the shortest ttl over its constraints)', async () => {
    const before = Date.now();
    const minted = await mint(key, [{ operations: 'read', ttl: 600 }, { operations: 'execute', ttl: '2m' }]);
    const lifetime = Date.parse(minted.expiresAt) - before;
    expect(lifetime).toBeGreaterThan(100_000);
    expect(lifetime).toBeLessThanOrEqual(121_000);
  });

  it('a token of 16 blocks, the most a token holds, mints no child: 400 saying so', async () => {
    let token = (await mint(key)).token;
    for (let blocks = 1; blocks < 15; blocks++) token = attenuateToken(token, { id: fresh('tok_offline'), exp: nowSeconds() + 600, policy: [{}] });
    const sixteen = (await mint(token, [{ operations: 'read' }])).token;
    expect((await send('GET', '/team-a', sixteen)).status).toBe(200);
    const refused = await send('POST', '/tokens', sixteen, { policy: [{ operations: 'read' }] });
    expect(refused.status).toBe(400);
    expect(refused.body).toMatchObject({ error: 'validation_error', message: expect.stringMatching(/16 blocks/) });
  });

  it('a token validates the policy it mints like a key does', async () => {
    const refused = await send('POST', '/tokens', parent.token, { policy: [{ ttl: '25h' }] });
    expect(refused.status).toBe(400);
    expect(refused.body.message).toMatch(/24 hours/);
  });
});

describe('offline attenuation with attenuateToken', () => {
  let parent: string;
  beforeAll(async () => {
    parent = (await mint(key, [{ namespaces: 'team-a', operations: ['read', 'execute'] }])).token;
  });

  it('appends a block the server honours: a narrower, working token', async () => {
    const narrowed = attenuateToken(parent, { id: fresh('tok_offline'), exp: nowSeconds() + 600, policy: [{ metadata: [{ userId: 'bob' }] }] });
    expect(narrowed.startsWith(parent.slice(0, parent.lastIndexOf('.')))).toBe(true);
    expect(ids(await send('GET', '/team-a', narrowed))).toEqual(['bob']);
    expect((await send('GET', '/team-a/alice', narrowed)).status).toBe(404);
    expect((await send('GET', '/team-a/bob', narrowed)).status).toBe(200);
    // Still bound by the parent: no writes, no other namespace.
    expect((await send('DELETE', '/team-a/bob', narrowed)).status).toBe(403);
    expect((await send('GET', '/team-b', narrowed)).status).toBe(404);
    // An rpcReqMatch block appended offline applies to tool calls.
    const echoOnly = attenuateToken(narrowed, { id: fresh('tok_offline'), exp: nowSeconds() + 600, policy: [{ rpcReqMatch: { 'params.name': '^echo$' } }] });
    expect((await send('POST', '/team-a/bob/.tools/echo', echoOnly, { message: 'offline' })).status).toBe(200);
    expect((await send('POST', '/team-a/bob/.tools/add', echoOnly, { a: 1, b: 2 })).status).toBe(403);
    expect((await sendMcp('/connect/team-a/bob/mcp', echoOnly, { id: 9, method: 'tools/call', params: echo })).status).toBe(200);
    expect((await sendMcp('/connect/team-a/bob/mcp', echoOnly, { id: 9, method: 'tools/call', params: add })).status).toBe(403);
    // A server-side mint from the offline token keeps every block.
    const child = await mint(echoOnly);
    expect((await send('POST', '/team-a/bob/.tools/echo', child.token, { message: 'kept' })).status).toBe(200);
    expect((await send('POST', '/team-a/bob/.tools/add', child.token, { a: 1, b: 2 })).status).toBe(403);
    expect((await send('POST', '/team-a/alice/.tools/echo', child.token, { message: 'hidden' })).status).toBe(404);
    // rpcReqMatch grants only execute: the block appended last forbids reads.
    expect((await send('GET', '/team-a/bob', child.token)).status).toBe(403);
  });

  it.each([
    ['an expiry already past', { exp: nowSeconds() - 5, policy: [{}] }, /expired/],
    ['an unknown operation', { exp: nowSeconds() + 600, policy: [{ operations: ['delete'] }] }, /Invalid service token/],
    ['an unsafe pattern', { exp: nowSeconds() + 600, policy: [{ rpcReqMatch: { 'params.name': '(a+)+' } }] }, /Invalid service token/],
    ['no constraint at all', { exp: nowSeconds() + 600, policy: [] }, /Invalid service token/],
    ['an unknown field', { exp: nowSeconds() + 600, policy: [{ anything: true }] }, /Invalid service token/],
  ])('refuses a block with %s (401)', async (_label, block, message) => {
    const bad = attenuateToken(parent, { id: fresh('tok_offline'), ...(block as { exp: number; policy: [] }) });
    const outcome = await send('GET', '/team-a', bad);
    expect(outcome.status).toBe(401);
    expect(outcome.body.message).toMatch(message);
    expect(outcome.headers.get('www-authenticate')).toMatch(/^Bearer/);
  });
});

// ---------------------------------------------------------------------------------------------
// Revocation, expiry, forgery

describe('revocation', () => {
  it('revoking an API key revokes the tokens minted with it, and those minted from them', async () => {
    const owner = await server.newAccount('key-rotation');
    const spare = await server.addKey(owner.accountId);
    expect((await send('PUT', '/namespaces/rotating-keys', owner.key)).status).toBe(201);
    const fromSpare = (await mint(spare.key)).token;
    const child = (await mint(fromSpare, [{ operations: 'read' }])).token;
    const fromOwner = (await mint(owner.key)).token;
    for (const token of [fromSpare, child, fromOwner]) expect((await send('GET', '/rotating-keys', token)).status).toBe(200);
    await server.revokeKey(spare.keyId);
    // The revocation list reloads from the database on the notification: allow it a moment.
    const deadline = Date.now() + 2_000;
    while ((await send('GET', '/rotating-keys', fromSpare)).status !== 401 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
    expect((await send('GET', '/rotating-keys', fromSpare)).status).toBe(401);
    expect((await send('GET', '/rotating-keys', child)).status).toBe(401);
    // The account's other key, and its tokens, are untouched.
    expect((await send('GET', '/rotating-keys', fromOwner)).status).toBe(200);
  });

  it('by id: effective immediately', async () => {
    const { token } = await mint(key);
    expect((await send('GET', '/team-a', token)).status).toBe(200);
    const id = tokenId(token);
    expect(id).toMatch(/^tok_/);
    const revoked = await send('POST', '/tokens/revoke', key, { id });
    expect(revoked).toMatchObject({ status: 200, body: { success: true, id } });
    const refused = await send('GET', '/team-a', token);
    expect(refused.status).toBe(401);
    expect(refused.body).toMatchObject({ error: 'unauthorized', message: expect.stringMatching(/revoked/) });
    expect((await sendMcp(mcpPath, token, { id: 1, method: 'tools/list' })).status).toBe(401);
    expect((await send('POST', '/tokens', token, {})).status).toBe(401);
  });

  it('by token: effective immediately', async () => {
    const { token } = await mint(key, [{ namespaces: 'team-a' }]);
    expect((await send('GET', '/team-a/alice', token)).status).toBe(200);
    expect(await send('POST', '/tokens/revoke', key, { token })).toMatchObject({ status: 200, body: { success: true, id: tokenId(token) } });
    expect((await send('GET', '/team-a/alice', token)).status).toBe(401);
  });

  it('a revoked parent takes its children (minted and offline) with it; a revoked child leaves its parent', async () => {
    const parent = (await mint(key)).token;
    const child = (await mint(parent, [{ operations: 'read' }])).token;
    const grandchild = (await mint(child, [{ namespaces: 'team-a' }])).token;
    const offline = attenuateToken(child, { id: fresh('tok_offline'), exp: nowSeconds() + 600, policy: [{}] });
    for (const token of [parent, child, grandchild, offline]) expect((await send('GET', '/team-a', token)).status).toBe(200);

    expect((await send('POST', '/tokens/revoke', key, { token: grandchild })).status).toBe(200);
    expect((await send('GET', '/team-a', grandchild)).status).toBe(401);
    for (const token of [parent, child, offline]) expect((await send('GET', '/team-a', token)).status).toBe(200);

    expect((await send('POST', '/tokens/revoke', key, { id: tokenId(parent) })).status).toBe(200);
    for (const token of [parent, child, offline]) expect((await send('GET', '/team-a', token)).status).toBe(401);
  });

  it('an offline-appended token can be revoked by token (its id was never minted here)', async () => {
    const parent = (await mint(key)).token;
    const offline = attenuateToken(parent, { id: fresh('tok_offline'), exp: nowSeconds() + 600, policy: [{ operations: ['read'] }] });
    expect((await send('POST', '/tokens/revoke', key, { id: tokenId(offline) })).status).toBe(404);
    // An id chosen offline is revoked within its own chain only (another account could have copied it).
    expect(await send('POST', '/tokens/revoke', key, { token: offline })).toMatchObject({
      status: 200,
      body: { id: chainId(offline) },
    });
    expect((await send('GET', '/team-a', offline)).status).toBe(401);
    expect((await send('GET', '/team-a', parent)).status).toBe(200);
  });

  it('revoking by a token whose offline block carries another token’s id leaves that token alone', async () => {
    const [first, second] = [(await mint(key)).token, (await mint(key)).token];
    const fromSecond = (await mint(second, [{ operations: 'read' }])).token;
    // (Tokens made from `first` are within its holder's reach anyway: revoking `first` ends them.)
    for (const victim of [second, fromSecond]) {
      const disguised = attenuateToken(first, { id: tokenId(victim), exp: nowSeconds() + 600, policy: [{ operations: ['read'] }] });
      expect(await send('POST', '/tokens/revoke', key, { token: disguised })).toMatchObject({
        status: 200,
        body: { id: chainId(disguised) },
      });
      expect((await send('GET', '/team-a', disguised)).status).toBe(401);
      expect((await send('GET', '/team-a', victim)).status).toBe(200);
    }
    expect((await send('GET', '/team-a', first)).status).toBe(200);
  });

  it('revoking by a token whose offline block carries a sibling’s id (same root) leaves the sibling alone', async () => {
    const root = (await mint(key)).token;
    // The app hands one child to service A and its sibling to service B.
    const [forA, forB] = [(await mint(root, [{ operations: 'read' }])).token, (await mint(root, [{ namespaces: 'team-a' }])).token];
    const disguised = attenuateToken(forA, { id: tokenId(forB), exp: nowSeconds() + 600, policy: [{}] });
    const fromDisguised = attenuateToken(disguised, { id: fresh('tok_offline'), exp: nowSeconds() + 600, policy: [{}] });
    for (const token of [root, forA, forB, disguised, fromDisguised]) expect((await send('GET', '/team-a', token)).status).toBe(200);
    expect(await send('POST', '/tokens/revoke', key, { token: disguised })).toMatchObject({ status: 200, body: { id: chainId(disguised) } });
    // The token revoked, and what is made from it; not the token it extends, nor B's.
    for (const token of [disguised, fromDisguised]) expect((await send('GET', '/team-a', token)).status).toBe(401);
    for (const token of [root, forA, forB]) expect((await send('GET', '/team-a', token)).status).toBe(200);
    // Nor B's tokens made after the revocation, minted or offline.
    const fromB = (await mint(forB, [{ operations: 'read' }])).token;
    const offlineFromB = attenuateToken(forB, { id: fresh('tok_offline'), exp: nowSeconds() + 600, policy: [{}] });
    for (const token of [fromB, offlineFromB]) expect((await send('GET', '/team-a', token)).status).toBe(200);
  });

  it('revoking by a token the server minted block by block revokes its own last id; after an offline block, the id within its chain', async () => {
    const parent = (await mint(key)).token;
    const child = (await mint(parent, [{ operations: 'read' }])).token;
    const grandchild = (await mint(child, [{ namespaces: 'team-a' }])).token;
    expect(await send('POST', '/tokens/revoke', key, { token: grandchild })).toMatchObject({ status: 200, body: { id: tokenId(grandchild) } });
    const offline = attenuateToken(child, { id: fresh('tok_offline'), exp: nowSeconds() + 600, policy: [{}] });
    const mintedAfterOffline = (await mint(offline, [{ operations: 'read' }])).token;
    expect(await send('POST', '/tokens/revoke', key, { token: mintedAfterOffline })).toMatchObject({
      status: 200,
      body: { id: chainId(mintedAfterOffline) },
    });
    expect((await send('GET', '/team-a', mintedAfterOffline)).status).toBe(401);
    for (const token of [parent, child, offline]) expect((await send('GET', '/team-a', token)).status).toBe(200);
  });

  it('a token cannot revoke, not even itself (403)', async () => {
    const { token } = await mint(key);
    for (const body of [{ token }, { id: tokenId(token) }]) {
      const refused = await send('POST', '/tokens/revoke', token, body);
      expect(refused.status).toBe(403);
      expect(refused.body.error).toBe('forbidden');
    }
    expect((await send('GET', '/team-a', token)).status).toBe(200);
  });

  it('another account cannot revoke our tokens, by id, by token, or by an offline block carrying our id', async () => {
    const ours = (await mint(key)).token;
    expect((await send('POST', '/tokens/revoke', otherKey, { id: tokenId(ours) })).status).toBe(404);
    expect((await send('POST', '/tokens/revoke', otherKey, { token: ours })).status).toBe(404);
    // The other account appends a block named like our token to its own token, then revokes that.
    const theirs = (await mint(otherKey)).token;
    const disguised = attenuateToken(theirs, { id: tokenId(ours), exp: nowSeconds() + 600, policy: [{}] });
    await send('POST', '/tokens/revoke', otherKey, { token: disguised });
    expect((await send('GET', '/team-a', ours)).status).toBe(200);
  });

  it.each([
    ['neither id nor token', {}],
    ['both id and token', { id: 'tok_x', token: 'sbt_x.y' }],
    ['an unknown field', { id: 'tok_x', reason: 'leaked' }],
  ])('refuses a revoke body with %s (400)', async (_label, body) => {
    const refused = await send('POST', '/tokens/revoke', key, body);
    expect(refused.status).toBe(400);
    expect(refused.body.error).toBe('validation_error');
  });
});

describe('expiry', () => {
  it('a token minted with ttl 1s, its minted and offline children, all answer 401 once it expired', async () => {
    const short = await mint(key, [{ ttl: '1s' }]);
    const child = await mint(short.token, [{ ttl: '1h' }]);
    expect(Date.parse(child.expiresAt)).toBeLessThanOrEqual(Date.parse(short.expiresAt));
    const offline = attenuateToken(short.token, { id: fresh('tok_offline'), exp: nowSeconds() + 3600, policy: [{}] });
    const numeric = await mint(key, [{ ttl: 1 }]);
    await new Promise((resolve) => setTimeout(resolve, 1500));
    for (const token of [short.token, child.token, offline, numeric.token]) {
      const refused = await send('GET', '/team-a', token);
      expect(refused.status).toBe(401);
      expect(refused.body.message).toMatch(/expired/);
    }
    expect((await send('POST', '/tokens', short.token, {})).status).toBe(401);
    expect((await sendMcp(mcpPath, short.token, { id: 1, method: 'tools/list' })).status).toBe(401);
  });
});

describe('forged and damaged tokens answer 401', () => {
  let token: string;
  let child: string;
  let foreignToken: string;
  beforeAll(async () => {
    token = (await mint(key)).token;
    child = (await mint(token, [{ metadata: { userId: 'bob' } }])).token;
    // Another server, another master secret: same format, signed with a key this one lacks.
    const stranger = await foreign.newAccount('foreign');
    const minted = await fetch(`${foreign.url}/tokens`, { method: 'POST', headers: { authorization: `Bearer ${stranger.key}` } });
    foreignToken = ((await minted.json()) as { token: string }).token;
  });

  const cases: [string, () => string][] = [
    ['a character flipped in the first block', () => flip(token, 'sbt_'.length + 20)],
    ['a character flipped in the signature', () => flip(token, token.lastIndexOf('.') + 10)],
    ['the signature cut off', () => token.slice(0, token.lastIndexOf('.'))],
    ['truncated by five characters', () => token.slice(0, -5)],
    ['an extra character', () => `${token}A`],
    ['a narrowing block removed (the child’s signature kept)', () => `${token.slice(0, token.lastIndexOf('.'))}${child.slice(child.lastIndexOf('.'))}`],
    [
      'a narrowing block swapped for a wider one',
      () => {
        const parts = child.split('.');
        parts[parts.length - 2] = Buffer.from(JSON.stringify({ id: tokenId(child), exp: nowSeconds() + 600, policy: [{}] })).toString('base64url');
        return parts.join('.');
      },
    ],
    ['only the prefix', () => 'sbt_'],
    ['minted by another server (another secret)', () => foreignToken],
  ];

  it.each(cases)('%s', async (_label, damaged) => {
    const bearer = damaged();
    expect(bearer).not.toBe(token);
    for (const outcome of [
      await send('GET', '/team-a', bearer),
      await send('GET', '/namespaces', bearer),
      await send('POST', '/tokens', bearer, {}),
      await sendMcp(mcpPath, bearer, { id: 1, method: 'tools/list' }),
    ]) {
      expect(outcome.status).toBe(401);
      expect(outcome.headers.get('www-authenticate')).toMatch(/^Bearer/);
    }
    // The genuine one still works.
    expect((await send('GET', '/team-a', token)).status).toBe(200);
  });

  it('the other server accepts its own token (the forgery case is not a broken mint)', async () => {
    const response = await fetch(`${foreign.url}/namespaces`, { headers: { authorization: `Bearer ${foreignToken}` } });
    expect(response.status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// Minting: what the body may hold

describe('POST /tokens refuses invalid policies with 400 naming the problem', () => {
  const invalid: [string, unknown, RegExp][] = [
    ['an unknown constraint field', { policy: [{ namespace: 'team-a' }] }, /namespace/],
    ['an unknown top-level field', { policy: [{}], scope: 'all' }, /scope/],
    ['ttl "25h"', { policy: [{ ttl: '25h' }] }, /ttl.*24 hours/],
    ['ttl 90000', { policy: [{ ttl: 90000 }] }, /ttl.*24 hours/],
    ['ttl 0', { policy: [{ ttl: 0 }] }, /ttl.*positive/],
    ['ttl -5', { policy: [{ ttl: -5 }] }, /ttl.*positive/],
    ['ttl 1.5', { policy: [{ ttl: 1.5 }] }, /ttl.*whole/],
    ['ttl "soon"', { policy: [{ ttl: 'soon' }] }, /ttl.*duration/],
    ['a pattern that is not a regular expression', { policy: [{ rpcReqMatch: { method: '(' } }] }, /rpcReqMatch.*not a valid regular expression/],
    ['an unsafe pattern (a+)+', { policy: [{ rpcReqMatch: { 'params.name': '(a+)+' } }] }, /rpcReqMatch.*exponential/],
    ['a pattern with a backreference', { policy: [{ rpcReqMatch: { method: '(a)\\1' } }] }, /backreference/],
    ['an unknown operation', { policy: [{ operations: ['read', 'delete'] }] }, /operations.*(delete|read.*write.*execute)/],
    ['an unknown resource', { policy: [{ resources: 'users' }] }, /resources.*(users|connections)/],
    ['an empty policy', { policy: [] }, /at least one constraint/],
    ['a namespace with uppercase letters', { policy: [{ namespaces: 'Team-A' }] }, /namespaces.*namespace name/],
    ['metadata with a number value', { policy: [{ metadata: { count: 3 } }] }, /metadata.*(count|string)/],
    ['metadata that is empty', { policy: [{ metadata: {} }] }, /metadata/],
    ['metadata with the key __proto__', { policy: [{ metadata: JSON.parse('{"userId":"alice","__proto__":"x"}') }] }, /metadata.*"__proto__" is reserved/],
    ['metadata with the key constructor', { policy: [{ metadata: [{ userId: 'bob' }, { constructor: 'x' }] }] }, /metadata.*"constructor" is reserved/],
    ['an rpcReqMatch key that is not a dot-path', { policy: [{ rpcReqMatch: { 'params..name': '^x$' } }] }, /rpcReqMatch.*dot-path/],
    ['a policy that is not an array', { policy: { namespaces: 'team-a' } }, /policy/],
  ];
  let asToken: string;
  beforeAll(async () => {
    asToken = (await mint(key)).token;
  });

  it.each(invalid.flatMap(([label, body, message]) => [
    { label, body, message, bearer: 'API key' },
    { label, body, message, bearer: 'token' },
  ]))('$label (with a $bearer)', async ({ body, message, bearer }) => {
    const refused = await send('POST', '/tokens', bearer === 'API key' ? key : asToken, body);
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(refused.body.error).toBe('validation_error');
    expect(refused.body.message).toMatch(message);
  });

  it.each([
    ['no body at all', undefined],
    ['an empty object', {}],
  ])('accepts %s: full reach for one hour', async (_label, body) => {
    const before = Date.now();
    const minted = await send('POST', '/tokens', key, body);
    expect(minted.status).toBe(200);
    const lifetime = Date.parse(minted.body.expiresAt) - before;
    expect(lifetime).toBeGreaterThan(3_590_000);
    expect(lifetime).toBeLessThanOrEqual(3_601_000);
    expect(names(await send('GET', '/namespaces', minted.body.token))).toEqual(NS);
  });
});

// ---------------------------------------------------------------------------------------------
// Namespaces the token names

describe('namespaces a token names', () => {
  it('a token limited to namespaces may create and delete exactly those', async () => {
    const own = await server.newAccount('scoped-namespaces');
    const { token } = await mint(own.key, [{ namespaces: ['scoped-one', 'scoped-two'] }]);
    expect(names(await send('GET', '/namespaces', token))).toEqual([]);
    expect((await send('PUT', '/namespaces/scoped-one', token)).status).toBe(201);
    expect((await send('PUT', '/namespaces/scoped-three', token)).status).toBe(404);
    expect((await send('PUT', '/namespaces/scoped-three', own.key)).status).toBe(201);
    const listed = await send('GET', '/namespaces', token);
    expect(names(listed)).toEqual(['scoped-one']);
    expect(listed.body.pagination).toMatchObject({ totalCount: 1, totalPages: 1 });
    expect((await send('DELETE', '/namespaces/scoped-three', token)).status).toBe(404);
    expect((await send('DELETE', '/namespaces/scoped-one', token)).status).toBe(200);
    expect(names(await send('GET', '/namespaces', own.key))).toEqual(['scoped-three']);
  });

  it('naming another account’s namespace reaches nothing of it', async () => {
    const { token } = await mint(key, [{ namespaces: OTHER_NS }]);
    expect(names(await send('GET', '/namespaces', token))).toEqual([]);
    expect((await send('GET', `/namespaces/${OTHER_NS}`, token)).status).toBe(404);
    expect((await send('GET', `/${OTHER_NS}`, token)).status).toBe(404);
    expect((await send('GET', `/${OTHER_NS}/alice`, token)).status).toBe(404);
    expect((await send('DELETE', `/namespaces/${OTHER_NS}`, token)).status).toBe(404);
    expect((await sendMcp(`/connect/${OTHER_NS}/alice/mcp`, token, { id: 1, method: 'tools/list' })).status).toBe(404);
    expect((await send('GET', `/namespaces/${OTHER_NS}`, otherKey)).status).toBe(200);
  });
});

// ---------------------------------------------------------------------------------------------
// The typed tRPC client

describe('typed tRPC client with a token', () => {
  const trpc = (bearer: string) =>
    createTRPCClient<AppRouter>({ links: [httpBatchLink({ url: `${server.url}/trpc`, headers: () => ({ authorization: `Bearer ${bearer}` }) })] });
  const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (error: unknown) => error as TRPCClientError<AppRouter>);

  it('mints with a policy, lists and gets within it, and cannot revoke', async () => {
    const minted = await trpc(key).tokens.create.mutate({ policy: [{ namespaces: 'team-a', metadata: { userId: 'alice' } }] });
    expect(minted.token).toMatch(/^sbt_/);
    const scoped = trpc(minted.token);
    const { connections } = await scoped.connections.list.query({ namespace: 'team-a' });
    expect(connections.map((c) => c.connectionId).sort()).toEqual([...AL].sort());
    expect(await scoped.connections.get.query({ namespace: 'team-a', connectionId: 'alice' })).toMatchObject({ connectionId: 'alice' });

    const hidden = await failure(scoped.connections.get.query({ namespace: 'team-a', connectionId: 'bob' }));
    expect(hidden).toBeInstanceOf(TRPCClientError);
    expect(hidden?.data).toMatchObject({ httpStatus: 404, error: 'not_found' });
    const otherNamespace = await failure(scoped.connections.list.query({ namespace: 'team-b' }));
    expect(otherNamespace?.data).toMatchObject({ httpStatus: 404 });
    const namespaces = await failure(scoped.namespaces.list.query({}));
    expect(namespaces?.data).toMatchObject({ httpStatus: 403, error: 'forbidden' });

    const called = await scoped.tools.invoke.mutate({ namespace: 'team-a', connectionId: 'alice-x', toolPath: 'echo', arguments: { message: 'trpc' } });
    expect(called.content).toEqual([{ type: 'text', text: 'Echo: trpc' }]);

    // A token mints a narrower one through the same procedure.
    const child = await scoped.tokens.create.mutate({ policy: [{ metadata: { team: 'x' } }] });
    expect((await trpc(child.token).connections.list.query({ namespace: 'team-a' })).connections.map((c) => c.connectionId)).toEqual(ALX);

    const revoke = await failure(scoped.tokens.revoke.mutate({ token: minted.token }));
    expect(revoke?.data).toMatchObject({ httpStatus: 403, error: 'forbidden' });
    expect(await trpc(key).tokens.revoke.mutate({ token: minted.token })).toEqual({ success: true, id: tokenId(minted.token) });
    const afterRevoke = await failure(scoped.connections.list.query({ namespace: 'team-a' }));
    expect(afterRevoke?.data).toMatchObject({ httpStatus: 401, error: 'unauthorized' });
  });

  it('refuses an invalid policy with the validation error', async () => {
    const invalid = await failure(trpc(key).tokens.create.mutate({ policy: [{ ttl: '25h' }] }));
    expect(invalid?.data).toMatchObject({ httpStatus: 400, error: 'validation_error' });
    expect(invalid?.message).toMatch(/24 hours/);
  });
});
