import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

let server: TestServer;
let key: string;

beforeAll(async () => {
  server = await startTestServer({ MAX_BODY_BYTES: '4096' });
  key = (await server.newAccount()).key;
});
afterAll(() => server?.close());

async function expectError(response: Response, status: number, error: string) {
  expect(response.status).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^application\/json/);
  const body = (await response.json()) as Record<string, unknown>;
  expect(body).toEqual({ error, message: expect.any(String) });
  expect((body.message as string).length).toBeGreaterThan(5);
  return body;
}

describe('namespace names', () => {
  it.each([
    ['too short', 'ab'],
    ['too long', 'a'.repeat(40)],
    ['uppercase', 'Team-One'],
    ['underscore', 'team_one'],
    ['leading hyphen', '-team'],
    ['trailing hyphen', 'team-'],
    ['a dot', 'team.one'],
    ['unicode', 'tëam'],
    ['an encoded slash', 'team%2Fone'],
    ['an encoded traversal', '..%2F..%2Fetc'],
    ['spaces', 'team%20one'],
  ])('refuses %s with 400', async (_label, name) => {
    await expectError(await server.request(`/namespaces/${name}`, { method: 'PUT', bearer: key }), 400, 'validation_error');
  });

  it.each(['health', 'namespaces', 'tokens', 'connect', 'oauth', 'docs', 'trpc', 'metrics', 'setup'])(
    'refuses the reserved name %s',
    async (name) => {
      const body = await expectError(await server.request(`/namespaces/${name}`, { method: 'PUT', bearer: key }), 400, 'validation_error');
      expect(body.message).toContain('reserved');
    },
  );

  it.each(['abc', 'a-b', '123', 'my-team-2', 'x'.repeat(39)])('accepts %s', async (name) => {
    expect((await server.request(`/namespaces/${name}`, { method: 'PUT', bearer: key })).status).toBe(201);
  });
});

describe('request bodies', () => {
  it('answers 413 for a body over the limit', async () => {
    const body = JSON.stringify({ padding: 'x'.repeat(10_000) });
    await expectError(
      await server.request('/namespaces', { method: 'POST', bearer: key, headers: { 'content-type': 'application/json' }, body }),
      413,
      'payload_too_large',
    );
  });

  it('answers 413 for a chunked body that grows over the limit', async () => {
    const chunks = new ReadableStream({
      start(controller) {
        for (let i = 0; i < 10; i++) controller.enqueue(new TextEncoder().encode(`"${'y'.repeat(1000)}",`));
        controller.close();
      },
    });
    const response = await server.request('/namespaces', {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: chunks,
      duplex: 'half',
    } as RequestInit);
    await expectError(response, 413, 'payload_too_large');
  });

  it.each([
    ['text/plain', 'hello'],
    ['application/x-www-form-urlencoded', 'a=b'],
    ['multipart/form-data; boundary=x', '--x--'],
  ])('answers 415 for %s', async (contentType, body) => {
    await expectError(
      await server.request('/namespaces', { method: 'POST', bearer: key, headers: { 'content-type': contentType }, body }),
      415,
      'unsupported_media_type',
    );
  });

  it.each([
    ['malformed JSON', '{"a":'],
    ['a JSON array', '[1,2]'],
    ['a JSON string', '"text"'],
    ['JSON null', 'null'],
  ])('answers 400 for %s', async (_label, body) => {
    await expectError(
      await server.request('/namespaces', { method: 'POST', bearer: key, headers: { 'content-type': 'application/json' }, body }),
      400,
      'validation_error',
    );
  });

  it('accepts JSON with a charset parameter', async () => {
    const response = await server.request('/namespaces', {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json; charset=utf-8' },
      body: '{}',
    });
    expect(response.status).toBe(201);
  });
});

describe('query parameters', () => {
  it.each([
    ['pageSize=0'],
    ['pageSize=51'],
    ['pageSize=abc'],
    ['page=0'],
    ['page=-1'],
    ['page=1.5'],
  ])('answers 400 for %s', async (query) => {
    const body = await expectError(await server.request(`/namespaces?${query}`, { bearer: key }), 400, 'validation_error');
    expect(body.message).toMatch(/page/i);
  });
});

describe('routes', () => {
  it('answers 404 with {error, message} for an unknown route', async () => {
    const body = await expectError(await server.request('/no/such/route', { bearer: key }), 404, 'not_found');
    expect(body.message).toContain('/no/such/route');
  });

  it('never answers 5xx to odd paths', async () => {
    const paths = ['/namespaces/%', '/namespaces/%00', '/namespaces/..%2f..', '//namespaces', '/namespaces/a/b/c', `/${'x'.repeat(5000)}`];
    for (const path of paths) {
      const response = await server.request(path, { bearer: key });
      expect(response.status, path).toBeLessThan(500);
      await response.arrayBuffer();
    }
  });
});

/**
 * Input the format allows but PostgreSQL does not (year 0, NUL, unpaired surrogates): a 400
 * naming the field, never a 500 from the database, and nothing stored. Run on both databases.
 */
describe('values the database cannot take', () => {
  it.each([
    ['until in the year 0', 'until=0000-01-01T00:00:00Z'],
    ['since in the year 0', 'since=0000-01-01T00:00:00Z'],
    ['since pushed into the year 0 by its offset', 'since=0001-01-01T00:00:00%2B01:00'],
    ['until pushed past 9999 by its offset', 'until=9999-12-31T23:30:00-01:00'],
    ['since in the year +275760', 'since=%2B275760-09-13T00:00:00Z'],
    ['since in a negative year', 'since=-000001-01-01T00:00:00Z'],
    ['a day that does not exist', 'since=2023-02-29T00:00:00Z'],
  ])('GET /audit-events with %s: 400', async (_label, query) => {
    const body = await expectError(await server.request(`/audit-events?${query}`, { bearer: key }), 400, 'validation_error');
    expect(body.message).toMatch(/since|until/);
  });

  it.each([
    ['the first and last years it takes', 'since=0001-01-01T00:00:00Z&until=9999-12-31T23:59:59Z'],
    ['an offset within them', 'since=1969-12-31T23:00:00-01:00'],
  ])('GET /audit-events with %s: 200', async (_label, query) => {
    const response = await server.request(`/audit-events?${query}`, { bearer: key });
    expect(response.status, await response.clone().text()).toBe(200);
  });

  const issuer = 'https://auth.example.com';
  it.each([
    ['a NUL in issuer', { issuer: `${issuer}/\u0000`, clientId: 'c' }, 'issuer'],
    ['an unpaired surrogate in issuer', { issuer: `${issuer}/\ud800`, clientId: 'c' }, 'issuer'],
    ['a NUL in clientId', { issuer, clientId: 'c\u0000' }, 'clientId'],
    ['an unpaired surrogate in clientId', { issuer, clientId: 'c\udc00' }, 'clientId'],
    ['a NUL in clientSecret', { issuer, clientId: 'c', clientSecret: 's\u0000' }, 'clientSecret'],
    ['a NUL in scope', { issuer, clientId: 'c', scope: 'read\u0000' }, 'scope'],
    ['an unpaired surrogate in scope', { issuer, clientId: 'c', scope: 'read \ud83d' }, 'scope'],
  ])('PUT /oauth-clients with %s: 400, nothing stored', async (_label, fields, field) => {
    // JSON.stringify writes NUL and unpaired surrogates as \u escapes: the body is valid JSON.
    const body = JSON.stringify(fields);
    const refused = await expectError(
      await server.request('/oauth-clients', { method: 'PUT', bearer: key, headers: { 'content-type': 'application/json' }, body }),
      400,
      'validation_error',
    );
    expect(refused.message).toContain(field);
    const listed = (await (await server.request('/oauth-clients', { bearer: key })).json()) as { clients: unknown[] };
    expect(listed.clients).toEqual([]);
  });

  it.each([
    ['DELETE /oauth-clients/{id}', '/oauth-clients/oac%00x'],
    ['DELETE /oauth-clients/{id} (unpaired surrogate)', '/oauth-clients/oac%ED%A0%80'],
    ['DELETE /namespaces/{name}/webhooks/{id}', '/namespaces/nul-bytes/webhooks/wh%00x'],
  ])('%s with a NUL in the id: 4xx, not 500', async (_label, path) => {
    expect((await server.request('/namespaces/nul-bytes', { method: 'PUT', bearer: key })).status).toBeLessThan(300);
    const response = await server.request(path, { method: 'DELETE', bearer: key });
    expect([400, 404], await response.clone().text()).toContain(response.status);
    await expectError(response, response.status, response.status === 400 ? 'validation_error' : 'not_found');
  });
});

/**
 * Metadata keys are data: `__proto__`, `constructor` and `prototype` name JavaScript's object
 * machinery instead (`__proto__` vanished in validation, so a filter on it matched everything
 * and a connection's metadata lost it). Refused by name, in bodies and in filters.
 */
describe('reserved metadata keys', () => {
  const NS = 'reserved-keys';
  beforeAll(async () => {
    expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBeLessThan(300);
  });

  it.each([
    ['metadata[__proto__]=x', 'metadata%5B__proto__%5D=x'],
    ['metadata.__proto__=x', 'metadata.__proto__=x'],
    ['metadata[constructor]=x', 'metadata%5Bconstructor%5D=x'],
    ['metadata.prototype=x beside a valid filter', 'metadata.userId=alice&metadata.prototype=x'],
  ])('GET /{ns}?%s: 400 naming the key', async (_label, query) => {
    const body = await expectError(await server.request(`/${NS}?${query}`, { bearer: key }), 400, 'validation_error');
    expect(body.message).toMatch(/metadata.*(__proto__|constructor|prototype).*reserved/);
  });

  it.each([
    ['__proto__ (an object)', '{"__proto__":{"admin":true},"userId":"alice"}'],
    ['__proto__ (a string)', '{"__proto__":"x"}'],
    ['constructor', '{"constructor":"x"}'],
    ['prototype', '{"prototype":{"a":1}}'],
  ])('POST and PUT a connection with the metadata key %s: 400, nothing stored', async (_label, metadata) => {
    const json = { 'content-type': 'application/json' };
    const created = await server.request(`/${NS}`, { method: 'POST', bearer: key, headers: json, body: `{"mcpUrl":"https://mcp.example.com/mcp","metadata":${metadata}}` });
    expect((await expectError(created, 400, 'validation_error')).message).toMatch(/metadata.*reserved/);
    const put = await server.request(`/${NS}/reserved`, { method: 'PUT', bearer: key, headers: json, body: `{"mcpUrl":"https://mcp.example.com/mcp","metadata":${metadata}}` });
    expect((await expectError(put, 400, 'validation_error')).message).toMatch(/metadata.*reserved/);
    const listed = (await (await server.request(`/${NS}`, { bearer: key })).json()) as { connections: unknown[] };
    expect(listed.connections).toEqual([]);
  });
});
