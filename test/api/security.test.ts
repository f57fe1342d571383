import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import openapi from '../../openapi.json' with { type: 'json' };
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * The shared security suite: every protected route in the committed OpenAPI document, so a
 * new route is covered the moment it is added. Path parameters are filled with a namespace
 * that belongs to another account, so "other owner" cases exercise real rows.
 */
type Operation = { security?: unknown[] };
const protectedRoutes = Object.entries(openapi.paths as Record<string, Record<string, Operation>>).flatMap(
  ([path, item]) =>
    Object.entries(item)
      .filter(([, operation]) => Array.isArray(operation.security) && operation.security.length > 0)
      .map(([method, operation]) => ({ method: method.toUpperCase(), path, operation })),
);
const publicRoutes = Object.entries(openapi.paths as Record<string, Record<string, Operation>>).flatMap(([path, item]) =>
  Object.entries(item)
    .filter(([, operation]) => !operation.security)
    .map(([method]) => `${method.toUpperCase()} ${path}`),
);

let server: TestServer;
let owner: { key: string; keyId: string; accountId: string };
let stranger: { key: string; keyId: string };
let revoked: { key: string };

const OWNED = 'owned-by-owner';

function concrete(path: string): string {
  return path.replace(/\{[^}]+\}/g, OWNED);
}

function send(route: { method: string; path: string }, bearer?: string, authorization?: string) {
  const headers: Record<string, string> = {};
  if (authorization) headers.authorization = authorization;
  const hasBody = route.method === 'POST' || route.method === 'PUT' || route.method === 'PATCH';
  if (hasBody) headers['content-type'] = 'application/json';
  // A body every write route accepts, so a refusal is about access, never about input.
  const body = hasBody ? JSON.stringify(route.path.includes('/webhooks') ? { url: 'http://127.0.0.1:9/hook' } : { mcpUrl: 'http://127.0.0.1:9/mcp' }) : undefined;
  return server.request(concrete(route.path), { method: route.method, bearer, headers, body });
}

beforeAll(async () => {
  server = await startTestServer();
  owner = await server.newAccount('owner');
  stranger = await server.newAccount('stranger');
  const doomed = await server.newAccount('doomed');
  await server.revokeKey(doomed.keyId);
  revoked = doomed;
  expect((await server.request(`/namespaces/${OWNED}`, { method: 'PUT', bearer: owner.key })).status).toBe(201);
});
afterAll(() => server?.close());

describe('security cases for every protected route', () => {
  it('covers the routes we expect', () => {
    expect(protectedRoutes.map((r) => `${r.method} ${r.path}`)).toEqual(
      expect.arrayContaining([
        'POST /namespaces',
        'GET /namespaces',
        'PUT /namespaces/{name}',
        'DELETE /namespaces/{name}',
        'POST /{namespace}',
        'GET /{namespace}',
        'GET /{namespace}/{connectionId}',
        'PUT /{namespace}/{connectionId}',
        'DELETE /{namespace}/{connectionId}',
        'GET /{namespace}/.tools',
        'GET /{namespace}/{connectionId}/.tools',
        'GET /{namespace}/{connectionId}/.tools/{toolPath}',
        'POST /{namespace}/{connectionId}/.tools/{toolPath}',
      ]),
    );
    expect(publicRoutes).toEqual(['GET /health']);
  });

  const badCredentials: [string, (r: (typeof protectedRoutes)[number]) => Promise<Response>][] = [
    ['no Authorization header', (r) => send(r)],
    ['an empty bearer', (r) => send(r, undefined, 'Bearer ')],
    ['a non-bearer scheme', (r) => send(r, undefined, `Basic ${Buffer.from('a:b').toString('base64')}`)],
    ['a malformed key', (r) => send(r, 'sk_not-a-key')],
    ['a well-formed key that does not exist', (r) => send(r, `sk_${'a'.repeat(16)}_${'b'.repeat(52)}`)],
    ['a real key id with the wrong secret', (r) => send(r, `${owner.key.slice(0, 20)}${'c'.repeat(52)}`)],
    ['a revoked key', (r) => send(r, revoked.key)],
  ];

  describe.each(protectedRoutes)('$method $path', (route) => {
    it.each(badCredentials)('answers 401 with WWW-Authenticate for %s', async (_label, call) => {
      const response = await call(route);
      expect(response.status).toBe(401);
      expect(response.headers.get('www-authenticate')).toMatch(/^Bearer /);
      const body = await response.json();
      expect(body).toEqual({ error: 'unauthorized', message: expect.any(String) });
    });

    if (route.path.includes('{')) {
      it('treats another account’s namespace as missing (404), or taken (409) when claiming its name', async () => {
        const response = await send(route, stranger.key);
        const expected = route.method === 'PUT' && route.path === '/namespaces/{name}' ? 409 : 404;
        expect(response.status).toBe(expected);
        const body = (await response.json()) as { error: string; message: string };
        expect(body.error).toBe(expected === 409 ? 'conflict' : 'not_found');
        // Still there for its owner afterwards.
        expect((await server.request(`/namespaces/${OWNED}`, { bearer: owner.key })).status).toBe(200);
      });
    }
  });

  it('never writes a key into a log line', async () => {
    const secrets = [owner.key, stranger.key, revoked.key];
    // Keys in places a careless logger would pick up: headers and the query string.
    await server.request(`/namespaces?token=${encodeURIComponent(owner.key)}`, { bearer: owner.key });
    const everything = server.rawLogs.join('');
    expect(everything.length).toBeGreaterThan(0);
    for (const secret of secrets) {
      expect(everything).not.toContain(secret);
      expect(everything).not.toContain(secret.split('_')[2]);
    }
  });
});
