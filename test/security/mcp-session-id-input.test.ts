import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw-http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Hostile `mcp-session-id` values on POST, GET and DELETE of a connection's MCP endpoint: each
 * is answered with a clear status below 500 (404 for an id in Switchboard's format that names
 * no session of the caller; stateless traffic or 405 for any other id), and none hangs.
 * Sent over a bare socket so that the header's bytes are exactly these (UTF-8 included).
 */
let server: TestServer;
let upstream: Upstream;
let key: string;

beforeAll(async () => {
  [server, upstream] = await Promise.all([startTestServer(), startFixtureUpstream('sessions')]);
  key = (await server.newAccount('hostile-ids')).key;
  expect((await server.request('/namespaces/hostile', { method: 'PUT', bearer: key })).status).toBe(201);
  const created = await server.request('/hostile/c', {
    method: 'PUT',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl: upstream.url }),
  });
  expect(created.status).toBe(201);
}, 120_000);
afterAll(async () => {
  await server?.close();
  await upstream?.stop();
});

/** One request, the header's bytes as they are, with a deadline (a hang fails the test). */
async function send(method: string, sessionId: string): Promise<{ status: number; body: string }> {
  const body = method === 'POST' ? JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }) : undefined;
  const { status, body: answer } = await rawRequest(Number(new URL(server.url).port), {
    method,
    target: '/connect/hostile/c/mcp',
    headers: [
      ['authorization', `Bearer ${key}`],
      ['accept', 'application/json, text/event-stream'],
      ['mcp-protocol-version', '2025-11-25'],
      ['mcp-session-id', sessionId],
      ...(body ? ([['content-type', 'application/json']] as [string, string][]) : []),
    ],
    ...(body ? { body } : {}),
  });
  return { status, body: answer };
}

const inFormat = `${'0'.repeat(12)}.${'A'.repeat(32)}`;
/** UTF-8 bytes written as they are (the raw request sends a string's latin1 code units). */
const utf8Bytes = (text: string) => Buffer.from(text, 'utf8').toString('latin1');

const cases: [string, string][] = [
  ['in our format, issued by nobody', inFormat],
  ['in our format, this process’s length with a bad character', `${'0'.repeat(12)}.${'A'.repeat(31)}!`],
  ['in our format, then more', `${inFormat}${'A'.repeat(100)}`],
  ['unicode (UTF-8 bytes)', utf8Bytes(`${'é'.repeat(12)}.${'😀'.repeat(8)}`)],
  ['unicode look-alike of our format', utf8Bytes(`${'０'.repeat(12)}.${'A'.repeat(32)}`)],
  ['two ids (the header repeated, joined by a comma)', `${inFormat}, ${inFormat}`],
  ['8 KB', 'x'.repeat(8 * 1024)],
  ['64 KB (over the header limit)', 'x'.repeat(64 * 1024)],
];

describe.each(['POST', 'GET', 'DELETE'])('%s with a hostile mcp-session-id', (method) => {
  it.each(cases)('%s: a clear answer below 500', async (_label, sessionId) => {
    const { status, body } = await send(method, sessionId);
    expect(status).toBeGreaterThanOrEqual(200);
    expect(status).toBeLessThan(500);
    // Never echoed back: a header value may be someone's secret pasted in the wrong place.
    if (sessionId.length > 40) expect(body).not.toContain(sessionId.slice(0, 40));
    if (sessionId === inFormat) expect(status).toBe(404);
  });
});
