import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startTcpGate } from '../helpers/tcp-gate.ts';

let server: TestServer;
let key: string;

beforeAll(async () => {
  server = await startTestServer();
  key = (await server.newAccount()).key;
});
afterAll(() => server?.close());

describe('CORS', () => {
  it('answers a preflight for the official client’s and MCP clients’ headers', async () => {
    const response = await server.request('/namespaces', {
      method: 'OPTIONS',
      headers: {
        origin: 'https://app.example.com',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'authorization, content-type, x-stainless-os, x-stainless-retry-count, mcp-session-id, mcp-protocol-version',
      },
    });
    expect(response.status).toBe(204);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    const allowed = response.headers.get('access-control-allow-headers')!.split(', ');
    for (const header of ['authorization', 'content-type', 'x-stainless-os', 'x-stainless-retry-count', 'mcp-session-id', 'mcp-protocol-version']) {
      expect(allowed).toContain(header);
    }
    expect(response.headers.get('access-control-allow-methods')).toContain('PUT');
  });

  it('lets a browser read answers, errors included', async () => {
    const response = await server.request('/namespaces', { headers: { origin: 'https://app.example.com' } });
    expect(response.status).toBe(401);
    expect(response.headers.get('access-control-allow-origin')).toBe('*');
    expect(response.headers.get('access-control-expose-headers')).toContain('www-authenticate');
  });

  it('honours an explicit origin list', async () => {
    const strict = await startTestServer({ CORS_ORIGINS: 'https://good.example' });
    try {
      const good = await strict.request('/health', { headers: { origin: 'https://good.example' } });
      expect(good.headers.get('access-control-allow-origin')).toBe('https://good.example');
      expect(good.headers.get('vary')).toBe('Origin');
      const bad = await strict.request('/health', { headers: { origin: 'https://evil.example' } });
      expect(bad.headers.get('access-control-allow-origin')).toBeNull();
    } finally {
      await strict.close();
    }
  });
});

describe('request logs', () => {
  it('writes one JSON line per request with method, route template, status, duration and request id', async () => {
    const response = await server.request('/namespaces/log-check', { method: 'PUT', bearer: key, headers: { 'x-request-id': 'trace-123' } });
    expect(response.headers.get('x-request-id')).toBe('trace-123');
    await new Promise((resolve) => setTimeout(resolve, 20));
    const line = server.logs.find((l) => l.reqId === 'trace-123');
    expect(line).toMatchObject({ msg: 'request', method: 'PUT', route: '/namespaces/{name}', status: 201 });
    expect(typeof line?.durationMs).toBe('number');
  });

  it('replaces a request id that is not safe to log', async () => {
    const response = await server.request('/health', { headers: { 'x-request-id': 'bad id\twith spaces' } });
    expect(response.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/);
  });
});

describe('health', () => {
  it('reports ok with a timestamp, without a credential', async () => {
    const response = await server.request('/health');
    expect(response.status).toBe(200);
    const body = await response.json();
    expect(body).toEqual({ status: 'ok', timestamp: expect.any(String) });
    expect(Math.abs(Date.parse(body.timestamp) - Date.now())).toBeLessThan(60_000);
  });

  it('answers 503 when the database is gone', async () => {
    const { doomed, loseDatabase, cleanUp } = await serverAboutToLoseItsDatabase();
    try {
      expect((await doomed.request('/health')).status).toBe(200);
      await loseDatabase();
      const response = await doomed.request('/health');
      expect(response.status).toBe(503);
      expect(await response.json()).toEqual({ error: 'service_unavailable', message: expect.any(String) });
    } finally {
      await cleanUp();
    }
  });
});

/**
 * A server whose database can be taken away. PostgreSQL goes away behind a TCP gate, as a
 * network partition or a stopped server would; ending the pool from inside instead waits without
 * end for a connection a background task still holds. The embedded database is simply closed.
 */
async function serverAboutToLoseItsDatabase(): Promise<{ doomed: TestServer; loseDatabase: () => Promise<void>; cleanUp: () => Promise<void> }> {
  if (!server.databaseUrl) {
    const doomed = await startTestServer();
    return { doomed, loseDatabase: () => doomed.database.db.destroy(), cleanUp: () => doomed.close().catch(() => {}) };
  }
  const direct = new URL(server.databaseUrl);
  const gate = await startTcpGate({ host: direct.hostname, port: Number(direct.port || 5432) });
  const gated = new URL(direct);
  gated.hostname = '127.0.0.1';
  gated.port = String(gate.port);
  const doomed = await startTestServer({}, { replicaOf: server, databaseUrl: gated.href });
  return {
    doomed,
    loseDatabase: async () => gate.cutAll(),
    cleanUp: async () => {
      await doomed.close().catch(() => {});
      await gate.close();
    },
  };
}
