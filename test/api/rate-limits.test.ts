import { sql } from 'kysely';
import Smithery045 from 'smithery-api-045';
import Smithery068 from 'smithery-api-068';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.ts';
import { createRateLimiter } from '../../src/core/rate-limits/rate-limiter.ts';
import { attenuateToken } from '../../src/core/tokens/token-format.ts';
import { openDb } from '../../src/db/open.ts';
import { createLogger } from '../../src/logger.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Rate limits per API key and per service token, on every surface (REST, tRPC, the MCP
 * endpoint): the budget, the 429 with `retry-after` and `ratelimit-*` headers, one budget per
 * subject, one budget across replicas (PostgreSQL), the window ending, failing open when the
 * database cannot lease, and the official client waiting out a 429.
 */
const NS = 'limited';
/** The fixture upstreams listen on loopback, which only the operator's allowlist opens. */
const LOOPBACK = { ALLOWED_UPSTREAM_HOSTS: '127.0.0.1' };
const TOKEN_LIMIT = 5;
const KEY_LIMIT = 40;

let upstream: Upstream;
/** One-minute windows: token 5, API key 40. */
let server: TestServer;
let owner: { key: string; accountId: string };
let connectionId: string;

beforeAll(async () => {
  [upstream, server] = await Promise.all([
    startFixtureUpstream('sessions'),
    startTestServer({ ...LOOPBACK, RATE_LIMIT_TOKEN_PER_MINUTE: String(TOKEN_LIMIT), RATE_LIMIT_API_KEY_PER_MINUTE: String(KEY_LIMIT) }),
  ]);
  owner = await server.newAccount();
  connectionId = await setUp(server, owner.key);
});
afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await upstream?.stop();
  }
});

/** A namespace with one connection to the fixture upstream; returns the connection id. */
async function setUp(target: TestServer, key: string, namespace = NS): Promise<string> {
  expect((await target.request(`/namespaces/${namespace}`, { method: 'PUT', bearer: key })).status).toBe(201);
  const made = await target.request(`/${namespace}/upstream`, {
    method: 'PUT',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl: upstream.url }),
  });
  expect(made.status, await made.clone().text()).toBe(201);
  return 'upstream';
}

async function mint(target: TestServer, key: string, policy: unknown[] = [{ namespaces: NS }]): Promise<string> {
  const response = await target.request('/tokens', {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ policy }),
  });
  expect(response.status, await response.clone().text()).toBe(200);
  return ((await response.json()) as { token: string }).token;
}

const surfaces = {
  rest: (target: TestServer, bearer: string, namespace = NS) =>
    target.request(`/${namespace}/${connectionId}/.tools/add`, {
      method: 'POST',
      bearer,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ a: 1, b: 2 }),
    }),
  trpc: (target: TestServer, bearer: string, namespace = NS) =>
    target.request(`/trpc/connections.get?input=${encodeURIComponent(JSON.stringify({ namespace, connectionId }))}`, { bearer }),
  mcp: (target: TestServer, bearer: string, namespace = NS) =>
    target.request(`/connect/${namespace}/${connectionId}/mcp`, {
      method: 'POST',
      bearer,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: 'add', arguments: { a: 1, b: 2 } } }),
    }),
  toolbox: (target: TestServer, bearer: string, namespace = NS) =>
    target.request(`/connect/${namespace}/mcp`, {
      method: 'POST',
      bearer,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 7, method: 'tools/call', params: { name: `${connectionId}.add`, arguments: { a: 1, b: 2 } } }),
    }),
} as const;

type Surface = keyof typeof surfaces;

function limitHeaders(response: Response) {
  const number = (name: string) => (response.headers.has(name) ? Number(response.headers.get(name)) : undefined);
  return {
    limit: number('ratelimit-limit'),
    remaining: number('ratelimit-remaining'),
    reset: number('ratelimit-reset'),
    retryAfter: number('retry-after'),
  };
}

/** What a 429 must look like on each surface: status, headers, and the surface's own error body. */
async function expectRateLimited(surface: Surface, response: Response, limit: number, windowSeconds = 60): Promise<void> {
  const body = (await response.json()) as Record<string, any>;
  expect(response.status, JSON.stringify(body)).toBe(429);
  const headers = limitHeaders(response);
  expect(headers.limit).toBe(limit);
  expect(headers.remaining).toBe(0);
  expect(Number.isInteger(headers.retryAfter)).toBe(true);
  expect(headers.retryAfter).toBeGreaterThanOrEqual(1);
  expect(headers.retryAfter).toBeLessThanOrEqual(windowSeconds);
  expect(headers.reset).toBe(headers.retryAfter);
  if (surface === 'rest') expect(body).toEqual({ error: 'rate_limited', message: expect.stringMatching(/^Rate limit exceeded/) });
  if (surface === 'trpc') expect(body.error).toMatchObject({ message: expect.stringMatching(/^Rate limit exceeded/), data: { error: 'rate_limited', httpStatus: 429 } });
  if (surface === 'mcp' || surface === 'toolbox') expect(body).toEqual({ jsonrpc: '2.0', id: null, error: { code: -32000, message: expect.stringMatching(/^Rate limit exceeded/) } });
}

describe('a service token', () => {
  it.each(['rest', 'trpc', 'mcp', 'toolbox'] as const)('gets exactly its limit over %s, then 429 with retry-after and ratelimit headers', async (surface) => {
    const token = await mint(server, owner.key);
    const call = () => surfaces[surface](server, token);
    for (let i = 1; i <= TOKEN_LIMIT; i++) {
      const response = await call();
      expect(response.status, await response.clone().text()).toBe(200);
      // One process: its estimate of what is left is exact.
      expect(limitHeaders(response)).toEqual({ limit: TOKEN_LIMIT, remaining: TOKEN_LIMIT - i, reset: expect.any(Number), retryAfter: undefined });
      await response.arrayBuffer();
    }
    for (let i = 0; i < 3; i++) await expectRateLimited(surface, await call(), TOKEN_LIMIT);
  });

  it('shares its budget across surfaces and with every token derived from it; a sibling token has its own', async () => {
    const token = await mint(server, owner.key);
    const sibling = await mint(server, owner.key);
    const order: Surface[] = ['rest', 'trpc', 'mcp', 'rest', 'mcp'];
    for (const surface of order) expect((await surfaces[surface](server, token)).status).toBe(200);
    await expectRateLimited('trpc', await surfaces.trpc(server, token), TOKEN_LIMIT);
    // Appending a block offline, or minting a child through the API, makes a new token id: not a new budget.
    const offline = attenuateToken(token, { id: 'offline-child', exp: Math.floor(Date.now() / 1000) + 600, policy: [{ operations: ['execute'] }] });
    await expectRateLimited('mcp', await surfaces.mcp(server, offline), TOKEN_LIMIT);
    expect((await server.request('/tokens', { method: 'POST', bearer: token, headers: { 'content-type': 'application/json' }, body: '{}' })).status).toBe(429);
    expect((await surfaces.mcp(server, sibling)).status).toBe(200);
  });

  it('browsers may read the headers (CORS)', async () => {
    const token = await mint(server, owner.key);
    const response = await server.request(`/${NS}/${connectionId}`, { bearer: token, headers: { origin: 'https://app.example.com' } });
    expect(response.status).toBe(200);
    const exposed = (response.headers.get('access-control-expose-headers') ?? '').split(/,\s*/);
    expect(exposed).toEqual(expect.arrayContaining(['retry-after', 'ratelimit-limit', 'ratelimit-remaining', 'ratelimit-reset']));
  });
});

describe('an API key', () => {
  it('gets exactly its limit, then 429; another key of the account and a token it minted are unaffected', async () => {
    const { key, keyId } = await server.addKey(owner.accountId);
    const token = await mint(server, key);
    for (let i = 2; i <= KEY_LIMIT; i++) {
      const response = await server.request('/namespaces', { bearer: key });
      expect(response.status).toBe(200);
      expect(limitHeaders(response).remaining).toBe(KEY_LIMIT - i);
    }
    await expectRateLimited('rest', await surfaces.rest(server, key), KEY_LIMIT);
    await expectRateLimited('trpc', await surfaces.trpc(server, key), KEY_LIMIT);
    await expectRateLimited('mcp', await surfaces.mcp(server, key), KEY_LIMIT);
    const rows = await server.db.selectFrom('rate_limit_windows').select(['subject', 'used']).where('subject', '=', `key:${keyId}`).execute();
    expect(rows).toEqual([{ subject: `key:${keyId}`, used: KEY_LIMIT }]);

    const other = await server.addKey(owner.accountId);
    expect((await surfaces.rest(server, other.key)).status).toBe(200);
    expect((await surfaces.mcp(server, token)).status).toBe(200);
  });

  it('leases in chunks: a limited key adds one query per chunk to the hot path, not one per call', async () => {
    const { key, keyId } = await server.addKey(owner.accountId);
    expect((await surfaces.mcp(server, key)).status).toBe(200);
    const before = server.requestQueryCount;
    for (let i = 0; i < 20; i++) expect((await surfaces.mcp(server, key)).status).toBe(200);
    // A chunk is 40 / 20 = 2 requests: 21 calls leased 11 chunks, 10 of them in the loop (one
    // sweep of ended windows, or a cache reload by the change feed, may fall in between).
    const row = await server.db.selectFrom('rate_limit_windows').select('used').where('subject', '=', `key:${keyId}`).executeTakeFirstOrThrow();
    expect(row.used).toBe(22);
    expect(server.requestQueryCount - before).toBeGreaterThanOrEqual(10);
    expect(server.requestQueryCount - before).toBeLessThanOrEqual(15);
  });
});

describe('short windows', () => {
  const WINDOW_MS = 1_000;
  let quick: TestServer;
  let quickOwner: { key: string; accountId: string };

  beforeAll(async () => {
    // API keys unlimited (the default); tokens 3 per one-second window.
    quick = await startTestServer({ ...LOOPBACK, RATE_LIMIT_TOKEN_PER_MINUTE: '3', RATE_LIMIT_WINDOW_MS: String(WINDOW_MS) });
    quickOwner = await quick.newAccount();
    await setUp(quick, quickOwner.key);
  });
  afterAll(() => quick?.close());

  /** Calls until the first 429 (bounded); returns it. */
  async function untilRefused(call: () => Promise<Response>): Promise<Response> {
    for (let i = 0; i < 50; i++) {
      const response = await call();
      if (response.status === 429) return response;
      expect(response.status).toBe(200);
      await response.arrayBuffer();
    }
    throw new Error('never rate limited in 50 calls');
  }

  it('the window ends: after retry-after, calls pass again', async () => {
    const token = await mint(quick, quickOwner.key);
    for (const surface of ['mcp', 'rest'] as const) {
      const refused = await untilRefused(() => surfaces[surface](quick, token));
      const wait = Number(refused.headers.get('retry-after-ms'));
      expect(wait).toBeGreaterThan(0);
      expect(wait).toBeLessThanOrEqual(WINDOW_MS);
      await expectRateLimited(surface, refused, 3, 1);
      await new Promise((resolve) => setTimeout(resolve, wait + 20));
      const again = await surfaces[surface](quick, token);
      expect(again.status, await again.clone().text()).toBe(200);
      expect(limitHeaders(again)).toMatchObject({ limit: 3, remaining: 2 });
    }
  });

  it('unlimited API keys add no database query per call', async () => {
    expect((await surfaces.mcp(quick, quickOwner.key)).status).toBe(200);
    // On PostgreSQL the change feed's listening connection may (re)connect in the background
    // and reload caches once: a batch of calls proves the point when nothing else ran in it.
    const added: number[] = [];
    for (let batch = 0; batch < 3 && added.at(-1) !== 0; batch++) {
      const before = quick.requestQueryCount;
      for (let i = 0; i < 20; i++) {
        const response = await surfaces.mcp(quick, quickOwner.key);
        expect(response.status).toBe(200);
        expect(response.headers.has('ratelimit-limit')).toBe(false);
      }
      added.push(quick.requestQueryCount - before);
    }
    expect(added.at(-1), `queries per batch of 20: ${added.join(', ')}`).toBe(0);
  });

  it.each([
    ['0.68.0', Smithery068],
    ['0.45.0', Smithery045],
  ] as const)('the official client %s waits out a 429 and retries', async (_version, Smithery) => {
    const token = await mint(quick, quickOwner.key);
    const options = { apiKey: token, baseURL: quick.url, connectBaseURL: quick.url };
    const patient = new Smithery({ ...options, maxRetries: 2 }) as InstanceType<typeof Smithery068>;
    const refusals = () => quick.logs.filter((line) => line.msg === 'request' && line.status === 429).length;
    const before = refusals();
    // Until the server has refused one of its calls (bounded): every call still resolves.
    for (let i = 0; i < 30 && refusals() === before; i++) {
      const got = await (patient as any).namespaces.list({ pageSize: 10 });
      expect(got).toBeDefined();
    }
    expect(refusals()).toBeGreaterThan(before);

    // Without retries, the 429 reaches the caller as the client's RateLimitError.
    const impatient = new Smithery({ ...options, maxRetries: 0 }) as InstanceType<typeof Smithery068>;
    let caught: any;
    for (let i = 0; i < 30 && !caught; i++) caught = await (impatient as any).namespaces.list({ pageSize: 10 }).then(() => undefined, (error: unknown) => error);
    expect(caught?.status).toBe(429);
    expect(caught?.constructor?.name).toBe('RateLimitError');
    expect(caught?.error).toMatchObject({ error: 'rate_limited' });
    expect(Number(caught?.headers?.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('fails open with a warning while the database cannot lease, and enforces again once it can', async () => {
    const token = await mint(quick, quickOwner.key);
    await sql`alter table rate_limit_windows rename to rate_limit_windows_away`.execute(quick.db);
    try {
      for (let i = 0; i < 6; i++) expect((await surfaces.mcp(quick, token)).status).toBe(200);
      expect(quick.logs.some((line) => line.level === 40 && line.msg === 'rate limits not enforced: the database could not lease budget')).toBe(true);
    } finally {
      await sql`alter table rate_limit_windows_away rename to rate_limit_windows`.execute(quick.db);
    }
    // The database is retried after a second; then the limit holds again.
    const deadline = Date.now() + 30_000;
    let refused = false;
    while (!refused && Date.now() < deadline) {
      const response = await surfaces.mcp(quick, token);
      refused = response.status === 429;
      await response.arrayBuffer();
      if (!refused) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(refused).toBe(true);
    expect(quick.logs.some((line) => line.msg === 'rate limits enforced again')).toBe(true);
  });
});

describe('two limiters on one database (as two processes would be)', () => {
  it('grant exactly the limit in all, also when it is not a multiple of the chunk', async () => {
    const logger = createLogger(loadConfig({ LOG_LEVEL: 'silent' }));
    // 45 per window: chunks of 2, the last lease granting only 1.
    const settings = { apiKeyPerWindow: 45, tokenPerWindow: 0, windowMs: 60_000 };
    const limiters = [createRateLimiter(server.db, settings, logger), createRateLimiter(server.db, settings, logger)];
    const principal = { kind: 'account' as const, accountId: 'acc_shared', apiKeyId: 'key_shared_by_two' };
    const allowed = [0, 0];
    for (let wave = 0; wave < 10; wave++) {
      await Promise.all(
        Array.from({ length: 12 }, async (_, i) => {
          const decision = await limiters[i % 2]!.check(principal);
          if (decision?.allowed) allowed[i % 2]!++;
        }),
      );
    }
    expect(allowed[0]! + allowed[1]!).toBe(45);
    expect(allowed[0]).toBeGreaterThan(0);
    expect(allowed[1]).toBeGreaterThan(0);
  });
});

describe('a database nobody answers on', () => {
  it('lets requests through and says so once', async () => {
    const port = await freePort();
    const database = await openDb({ kind: 'postgres', url: `postgres://postgres@127.0.0.1:${port}/nowhere`, poolSize: 1 });
    const lines: string[] = [];
    const logger = createLogger(loadConfig({ LOG_LEVEL: 'info' }), { write: (line: string) => void lines.push(line) });
    try {
      const limiter = createRateLimiter(database.db, { apiKeyPerWindow: 1, tokenPerWindow: 1, windowMs: 60_000 }, logger);
      for (let i = 0; i < 3; i++) {
        const decision = await limiter.check({ kind: 'account', accountId: 'acc_x', apiKeyId: 'key_x' });
        expect(decision).toMatchObject({ allowed: true, limit: 1 });
      }
      const warnings = lines.join('').split('\n').filter((line) => line.includes('rate limits not enforced'));
      expect(warnings).toHaveLength(1);
    } finally {
      await database.close();
    }
  });
});

describe.skipIf(testDatabaseKind !== 'postgres')('two replicas on one PostgreSQL', () => {
  const LIMIT = 200;
  let primary: TestServer;
  let replica: TestServer;
  let token: string;

  beforeAll(async () => {
    const env = { ...LOOPBACK, RATE_LIMIT_TOKEN_PER_MINUTE: String(LIMIT) };
    primary = await startTestServer(env);
    replica = await startTestServer(env, { replicaOf: primary });
    const { key } = await primary.newAccount();
    await setUp(primary, key, 'shared-limit');
    token = await mint(primary, key, [{ namespaces: 'shared-limit' }]);
  });
  afterAll(async () => {
    await replica?.close();
    await primary?.close();
  });

  it('spend one budget: together exactly the limit, both serving some, then 429 on both', async () => {
    const served = new Map<TestServer, number>([[primary, 0], [replica, 0]]);
    const refused = new Map<TestServer, number>([[primary, 0], [replica, 0]]);
    // Waves of concurrent calls on both until both have refused (bounded).
    for (let wave = 0; wave < 40 && [...refused.values()].some((n) => n === 0); wave++) {
      await Promise.all(
        [primary, replica].flatMap((target) =>
          Array.from({ length: 8 }, async () => {
            const response = await surfaces.mcp(target, token, 'shared-limit');
            await response.arrayBuffer();
            if (response.status === 200) served.set(target, served.get(target)! + 1);
            else if (response.status === 429) refused.set(target, refused.get(target)! + 1);
            else throw new Error(`unexpected ${response.status}`);
          }),
        ),
      );
    }
    expect(refused.get(primary)).toBeGreaterThan(0);
    expect(refused.get(replica)).toBeGreaterThan(0);
    expect(served.get(primary)).toBeGreaterThan(0);
    expect(served.get(replica)).toBeGreaterThan(0);
    // The database grants only what is below the limit, and a process refuses only once its
    // lease is spent: once both refused, every granted request was served.
    expect(served.get(primary)! + served.get(replica)!).toBe(LIMIT);
    // Asked-for budget may pass the limit by at most one chunk (10) per process.
    const row = await primary.db.selectFrom('rate_limit_windows').select('used').where('subject', 'like', 'token:%').executeTakeFirstOrThrow();
    expect(row.used).toBeGreaterThanOrEqual(LIMIT);
    expect(row.used).toBeLessThanOrEqual(LIMIT + 2 * (LIMIT / 20));
    for (const target of [primary, replica]) await expectRateLimited('mcp', await surfaces.mcp(target, token, 'shared-limit'), LIMIT);
  });
});
