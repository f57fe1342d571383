import http from 'node:http';
import { hash, randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertApiKey } from '../../src/db/queries/api-keys.ts';
import { notifyChange } from '../../src/db/queries/changes.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Failed authentication is limited per client address, and unknown key ids are remembered
 * briefly, so a flood of guesses costs neither time nor database queries (issue 15).
 */

const BASE32 = 'abcdefghijklmnopqrstuvwxyz234567';
const base32 = (length: number) => Array.from(randomBytes(length), (byte) => BASE32[byte % 32]).join('');
/** Well-formed, so each one is looked up: what a guessing flood sends. */
const randomApiKey = () => `sk_${base32(16)}_${base32(52)}`;

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

/** One request from a chosen local address (127.0.0.2 is "another client" on loopback). */
function requestFrom(
  server: TestServer,
  localAddress: string,
  pathname: string,
  init: { method?: string; bearer?: string; headers?: Record<string, string>; body?: string } = {},
): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      `${server.url}${pathname}`,
      {
        method: init.method ?? 'GET',
        localAddress,
        agent: false,
        headers: {
          ...(init.bearer ? { authorization: `Bearer ${init.bearer}` } : {}),
          ...(init.body === undefined ? {} : { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(init.body)) }),
          ...init.headers,
        },
      },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (body += chunk));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body }));
      },
    );
    req.on('error', reject);
    req.end(init.body);
  });
}

describe('failed authentication, per client address', () => {
  let server: TestServer;
  let cachedKey: string;
  let token: string;
  const flood = { statuses: [] as number[], queriesAfterBlock: 0, last: undefined as unknown as Answer };

  beforeAll(async () => {
    server = await startTestServer({ AUTH_FAILURES_PER_MINUTE: '10' });
    cachedKey = (await server.newAccount('warm')).key;
    // Used once, so this process holds its row; and a token minted with it.
    expect((await requestFrom(server, '127.0.0.1', '/namespaces', { bearer: cachedKey })).status).toBe(200);
    const minted = await requestFrom(server, '127.0.0.1', '/tokens', { method: 'POST', bearer: cachedKey, body: '{}' });
    token = (JSON.parse(minted.body) as { token: string }).token;
    // The flood every test below meets: 15 guesses from one address.
    for (let i = 0; i < 15; i++) {
      const before = server.requestQueryCount;
      flood.last = await requestFrom(server, '127.0.0.1', '/namespaces', { bearer: randomApiKey() });
      flood.statuses.push(flood.last.status);
      if (flood.last.status === 429) flood.queriesAfterBlock += server.requestQueryCount - before;
    }
  });
  afterAll(() => server?.close());

  it('gets 401 up to the limit, then 429 with Retry-After, and the refused ones cost no query', () => {
    expect(flood.statuses).toEqual([...Array<number>(10).fill(401), ...Array<number>(5).fill(429)]);
    expect(JSON.parse(flood.last.body)).toEqual({ error: 'rate_limited', message: expect.stringMatching(/Too many failed authentications/) });
    expect(Number(flood.last.headers['retry-after'])).toBeGreaterThanOrEqual(1);
    expect(Number(flood.last.headers['retry-after'])).toBeLessThanOrEqual(60);
    expect(flood.queriesAfterBlock).toBe(0);
  });

  it.each([
    ['REST', 'GET', '/namespaces', undefined],
    ['REST with a body', 'POST', '/some-namespace', '{"mcpUrl":"http://127.0.0.1:1/mcp"}'],
    ['token mint', 'POST', '/tokens', '{}'],
    ['tRPC', 'GET', '/trpc/namespaces.list', undefined],
    ['a connection’s MCP endpoint', 'POST', '/connect/some-namespace/some-id/mcp', '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'],
    ['the namespace toolbox', 'POST', '/connect/some-namespace/mcp', '{"jsonrpc":"2.0","id":1,"method":"tools/list"}'],
  ])('once over the limit, %s answers 429 rate_limited with Retry-After', async (_surface, method, pathname, body) => {
    const answer = await requestFrom(server, '127.0.0.1', pathname, {
      method,
      bearer: randomApiKey(),
      body,
      headers: pathname.endsWith('/mcp') ? { accept: 'application/json, text/event-stream' } : {},
    });
    expect(answer.status).toBe(429);
    expect(answer.headers['retry-after']).toMatch(/^\d+$/);
    if (!pathname.startsWith('/trpc')) expect(JSON.parse(answer.body)).toMatchObject({ error: 'rate_limited' });
  });

  it('another address is not affected: its valid key works and its bad one gets 401', async () => {
    const { key } = await server.newAccount('elsewhere');
    expect((await requestFrom(server, '127.0.0.2', '/namespaces', { bearer: key })).status).toBe(200);
    expect((await requestFrom(server, '127.0.0.2', '/namespaces', { bearer: randomApiKey() })).status).toBe(401);
  });

  it('the blocked address keeps what can be checked without the database: a warm key, a service token', async () => {
    expect((await requestFrom(server, '127.0.0.1', '/namespaces', { bearer: cachedKey })).status).toBe(200);
    expect((await requestFrom(server, '127.0.0.1', '/namespaces', { bearer: token })).status).toBe(200);
    // A key this process has not loaded would take a query: it waits out the window like a guess.
    const { key: coldKey } = await server.newAccount('cold');
    expect((await requestFrom(server, '127.0.0.1', '/namespaces', { bearer: coldKey })).status).toBe(429);
  });

  it('a request without any credential is still told to authenticate (401)', async () => {
    expect((await requestFrom(server, '127.0.0.1', '/namespaces')).status).toBe(401);
  });
});

describe('client addresses behind a proxy', () => {
  it('ignores X-Forwarded-For unless TRUST_PROXY says how many proxies to believe', async () => {
    const direct = await startTestServer({ AUTH_FAILURES_PER_MINUTE: '3' });
    const proxied = await startTestServer({ AUTH_FAILURES_PER_MINUTE: '3', TRUST_PROXY: '1' });
    try {
      const flood = async (target: TestServer) => {
        const statuses: number[] = [];
        // A fresh forwarded address each time: believed, each one is a new client.
        for (let i = 0; i < 5; i++) {
          const headers = { 'x-forwarded-for': `198.51.100.7, 203.0.113.${i + 1}` };
          statuses.push((await requestFrom(target, '127.0.0.1', '/namespaces', { bearer: randomApiKey(), headers })).status);
        }
        return statuses;
      };
      expect(await flood(direct)).toEqual([401, 401, 401, 429, 429]);
      expect(await flood(proxied)).toEqual([401, 401, 401, 401, 401]);
      // Behind the proxy, one forwarded client over its limit is refused; the entry left of the proxy's is the client's own say.
      const statuses: number[] = [];
      for (let i = 0; i < 4; i++) {
        const headers = { 'x-forwarded-for': `10.9.9.${i}, 203.0.113.200` };
        statuses.push((await requestFrom(proxied, '127.0.0.1', '/namespaces', { bearer: randomApiKey(), headers })).status);
      }
      expect(statuses).toEqual([401, 401, 401, 429]);
    } finally {
      await Promise.all([direct.close(), proxied.close()]);
    }
  });
});

describe('unknown API key ids', () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer();
  });
  afterAll(() => server?.close());

  it('are remembered briefly: the same unknown id costs one query, not one per request', async () => {
    const key = randomApiKey();
    const first = server.requestQueryCount;
    expect((await server.request('/namespaces', { bearer: key })).status).toBe(401);
    expect(server.requestQueryCount - first).toBe(1);
    const before = server.requestQueryCount;
    for (let i = 0; i < 5; i++) expect((await server.request('/namespaces', { bearer: key })).status).toBe(401);
    expect(server.requestQueryCount - before).toBe(0);
  });

  it('are forgotten when a key with that id is announced', async () => {
    const id = base32(16);
    const secret = base32(52);
    const key = `sk_${id}_${secret}`;
    expect((await server.request('/namespaces', { bearer: key })).status).toBe(401);
    const { accountId } = await server.newAccount('owner');
    await insertApiKey(server.db, { id, accountId, name: 'late', secretHash: hash('sha256', secret, 'buffer') });
    await notifyChange(server.db, { kind: 'api_key', id });
    // The notification comes back through LISTEN; the memory of the id lasts far longer than this wait.
    const deadline = Date.now() + 10_000;
    let status = 401;
    while (status === 401 && Date.now() < deadline) {
      status = (await server.request('/namespaces', { bearer: key })).status;
      if (status === 401) await new Promise((resolve) => setTimeout(resolve, 50));
    }
    expect(status).toBe(200);
  });
});
