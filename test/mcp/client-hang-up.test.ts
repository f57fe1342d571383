import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCountingUpstream, type CountingUpstream } from '../helpers/counting-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * A client that hangs up while its call is still upstream says nothing about the upstream: the
 * connection must not be recorded as failing ("did not answer within …") because of it.
 */
let server: TestServer;
let upstream: CountingUpstream;
let key: string;
const NS = 'hang-up';

beforeAll(async () => {
  // Every request is answered a while later, so the client hangs up before any answer starts.
  upstream = await startCountingUpstream({ delayMs: 800 });
  server = await startTestServer();
  key = (await server.newAccount()).key;
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
});
afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await upstream?.close();
  }
});

async function connectionState(id: string): Promise<{ state: string; message?: string }> {
  const response = await server.request(`/${NS}/${id}`, { bearer: key });
  return ((await response.json()) as { status: { state: string; message?: string } }).status;
}

describe('a client that hangs up mid-call', () => {
  it.each(['MCP endpoint', 'REST'] as const)('through the %s leaves the connection connected', async (path) => {
    const created = await server.request(`/${NS}`, {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: upstream.url }),
    });
    const { connectionId, status } = (await created.json()) as { connectionId: string; status: { state: string } };
    expect(status.state).toBe('connected');
    const calls = upstream.count('tools/call');
    const hangUp = new AbortController();
    const sent = path === 'REST'
      ? server.request(`/${NS}/${connectionId}/.tools/echo`, {
          method: 'POST',
          bearer: key,
          headers: { 'content-type': 'application/json' },
          body: '{}',
          signal: hangUp.signal,
        })
      : server.request(`/connect/${NS}/${connectionId}/mcp`, {
          method: 'POST',
          bearer: key,
          headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
          body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: {} } }),
          signal: hangUp.signal,
        });
    const settled = sent.catch(() => undefined);
    // Hung up once the call is upstream, before its answer.
    await vi.waitFor(() => expect(upstream.count('tools/call')).toBe(calls + 1), { timeout: 30_000 });
    hangUp.abort();
    await settled;
    // Whatever the server makes of it, it has done by the time the upstream answered.
    await vi.waitFor(() => expect(upstream.inFlight).toBe(0), { timeout: 30_000 });
    expect(await connectionState(connectionId)).toEqual({ state: 'connected' });
  });
});
