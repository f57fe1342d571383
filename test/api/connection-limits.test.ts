import http from 'node:http';
import net from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openInterstitial } from '../helpers/authorization-link.ts';
import { startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { parseResponse, type RawResponse } from '../helpers/raw-http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * What a stranger can hold open: a body is waited for only once its sender is authenticated
 * (or briefly, on the routes that take none), and the server caps its open connections (issue 15).
 */

type Answer = { status: number; headers: http.IncomingHttpHeaders; body: string };

/**
 * Sends a request head announcing `contentLength` bytes and only the first `sent` of them, then
 * waits for an answer without sending more. Resolves with the answer and how much of the body
 * had gone out by then; rejects if none comes within the deadline.
 */
function answerToPartialBody(
  port: number,
  request: { method: string; target: string; headers: [string, string][]; contentLength: number; sent: number },
  deadlineMs = 20_000,
): Promise<RawResponse & { bodyBytesSent: number }> {
  return new Promise((resolve, reject) => {
    const socket = net.connect(port, '127.0.0.1');
    const received: Buffer[] = [];
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${deadlineMs} ms while the body was incomplete`));
    }, deadlineMs);
    const head =
      `${request.method} ${request.target} HTTP/1.1\r\nhost: 127.0.0.1:${port}\r\n` +
      `${request.headers.map(([name, value]) => `${name}: ${value}\r\n`).join('')}content-length: ${request.contentLength}\r\n\r\n`;
    socket.on('connect', () => socket.write(Buffer.concat([Buffer.from(head, 'latin1'), Buffer.alloc(request.sent, 0x20)])));
    socket.on('data', (chunk) => received.push(chunk));
    socket.on('error', () => {});
    socket.on('close', () => {
      clearTimeout(timer);
      try {
        resolve({ ...parseResponse(Buffer.concat(received)), closed: true, bodyBytesSent: request.sent });
      } catch (error) {
        reject(error as Error);
      }
    });
  });
}

describe('bodies are read only after authentication', () => {
  let server: TestServer;
  let upstream: Upstream;
  let key: string;

  beforeAll(async () => {
    [server, upstream] = await Promise.all([
      startTestServer({ UNAUTHENTICATED_BODY_TIMEOUT_MS: '300' }),
      startFixtureUpstream('sessions', { requireApiKey: 'upstream-secret', configSchema: true }),
    ]);
    key = (await server.newAccount()).key;
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.stop();
  });

  const MEGABYTE = 1024 * 1024;
  it.each([
    ['REST, a bad key', 'POST', '/some-namespace', 'Bearer sk_aaaaaaaaaaaaaaaa_aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 401],
    ['REST, no credential', 'PUT', '/some-namespace/some-id', undefined, 401],
    ['token mint, no credential', 'POST', '/tokens', undefined, 401],
    ['tRPC, no credential', 'POST', '/trpc/namespaces.create', undefined, 401],
    ['a connection’s MCP endpoint, a bad token', 'POST', '/connect/some-namespace/some-id/mcp', 'Bearer sb_forged', 401],
    ['the namespace toolbox, no credential', 'POST', '/connect/some-namespace/mcp', undefined, 401],
  ])('%s: refused while the 1 MB body is still coming, and the connection closed', async (_what, method, target, authorization, status) => {
    const answer = await answerToPartialBody(server.port, {
      method,
      target,
      headers: [['content-type', 'application/json'], ['accept', 'application/json, text/event-stream'], ...(authorization ? [['authorization', authorization] as [string, string]] : [])],
      contentLength: MEGABYTE,
      sent: 1024,
    });
    expect(answer.status).toBe(status);
    expect(answer.bodyBytesSent).toBeLessThan(MEGABYTE);
    if (!target.startsWith('/trpc')) expect(JSON.parse(answer.body)).toMatchObject({ error: 'unauthorized', message: expect.any(String) });
  });

  it('a request with no route of its own gets little time to send its body (408), then the connection is closed', async () => {
    const answer = await answerToPartialBody(server.port, {
      method: 'POST',
      target: '/no/such/route/here',
      headers: [['content-type', 'application/json']],
      contentLength: 1000,
      sent: 10,
    });
    expect(answer.status).toBe(408);
    expect(JSON.parse(answer.body)).toEqual({ error: 'request_timeout', message: expect.any(String) });
  });

  it('a setup form sent slowly is cut after the short body timeout; a forged link is refused before any body', async () => {
    const created = await server.request('/namespaces/setup-ns', { method: 'PUT', bearer: key });
    expect(created.status).toBe(201);
    const connection = (await (
      await server.request('/setup-ns', { method: 'POST', bearer: key, headers: { 'content-type': 'application/json' }, body: JSON.stringify({ mcpUrl: upstream.url }) })
    ).json()) as { status: { state: string; setupUrl?: string } };
    expect(connection.status.state).toBe('input_required');
    const setupPath = new URL(connection.status.setupUrl!).pathname;
    const form = (target: string) =>
      answerToPartialBody(server.port, {
        method: 'POST',
        target,
        headers: [['content-type', 'application/x-www-form-urlencoded']],
        contentLength: 1000,
        sent: 10,
      });
    const slow = await form(setupPath);
    expect(slow.status).toBe(408);
    expect(slow.body).toContain('took too long');
    const forged = await form('/setup/forged.link');
    expect(forged.status).toBe(404);
  });

  it.each([
    ['GET', '/health'],
    ['GET', '/docs'],
    ['GET', '/openapi.json'],
    ['GET', '/metrics'],
    ['GET', '/namespaces'],
    ['GET', '/oauth/callback?state=some-state&code=some-code'],
    ['GET', '/oauth/client-metadata.json'],
    ['GET', '/oauth/authorize/forged.link'],
    ['HEAD', '/oauth/authorize/forged.link'],
    ['DELETE', '/oauth/authorize/forged.link'],
    ['GET', '/setup/forged.link'],
  ])('%s %s with a body nobody reads: answered, and the connection closed rather than drained at the sender’s pace', async (method, target) => {
    const answer = await answerToPartialBody(server.port, { method, target, headers: [['content-type', 'application/json']], contentLength: MEGABYTE, sent: 1024 });
    expect(answer.status).toBeGreaterThanOrEqual(200);
    expect(answer.closed).toBe(true);
  });

  it('an authenticated request still sends its body at its own pace', async () => {
    const body = JSON.stringify({ mcpUrl: upstream.url, name: 'patient' });
    const answer = await new Promise<Answer>((resolve, reject) => {
      const req = http.request(`${server.url}/setup-ns/patient`, {
        method: 'PUT',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) },
      }, (res) => {
        let text = '';
        res.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
        res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: text }));
      });
      req.on('error', reject);
      // Longer than the unauthenticated body timeout between the two halves.
      req.write(body.slice(0, 5));
      setTimeout(() => req.end(body.slice(5)), 600);
    });
    expect(answer.status).toBe(201);
  });
});

describe('the OAuth interstitial’s post', () => {
  let server: TestServer;
  let upstream: OAuthUpstream;
  let key: string;

  beforeAll(async () => {
    [server, upstream] = await Promise.all([startTestServer({ UNAUTHENTICATED_BODY_TIMEOUT_MS: '300' }), startOAuthUpstream()]);
    key = (await server.newAccount()).key;
  });
  afterAll(async () => {
    await server?.close();
    await upstream?.stop();
  });

  const post = (target: string, contentLength: number, cookie?: string) =>
    answerToPartialBody(server.port, {
      method: 'POST',
      target,
      headers: [['content-type', 'application/x-www-form-urlencoded'], ...(cookie ? [['cookie', cookie] as [string, string]] : [])],
      contentLength,
      sent: 10,
    });

  it('a forged link is refused at once, whatever body it announces, and the connection closed', async () => {
    for (const contentLength of [1024 * 1024, 1000]) {
      const forged = await post('/oauth/authorize/forged.link', contentLength, 'switchboard_oauth=' + 'a'.repeat(43));
      expect(forged.status).toBe(404);
      expect(forged.body).toContain('not valid');
    }
  });

  it('a real link whose form arrives slowly is cut after the short body timeout', async () => {
    const created = await server.request('/namespaces/oauth-post-ns', { method: 'PUT', bearer: key });
    expect(created.status).toBe(201);
    const response = await server.request('/oauth-post-ns', {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: upstream.mcpUrl }),
    });
    const connection = (await response.json()) as { status: { state: string; authorizationUrl?: string } };
    expect(connection.status.state).toBe('auth_required');
    const link = connection.status.authorizationUrl!;
    const page = await openInterstitial(link);
    expect(page.response.status).toBe(200);
    const slow = await post(new URL(link).pathname, 1000, page.cookie);
    expect(slow.status).toBe(408);
    expect(slow.body).toContain('took too long');
  });
});

describe('open connections', () => {
  it('beyond MAX_CONNECTIONS a new connection is closed on arrival; those open carry on', async () => {
    const server = await startTestServer({ MAX_CONNECTIONS: '5' });
    const sockets: net.Socket[] = [];
    let sixth: net.Socket | undefined;
    try {
      for (let i = 0; i < 5; i++) {
        const socket = net.connect(server.port, '127.0.0.1');
        await new Promise((resolve) => socket.once('connect', resolve));
        sockets.push(socket);
      }
      // Accepted by the server (not only by the kernel) before the sixth arrives.
      for (;;) {
        const open = await new Promise<number>((resolve, reject) => server.httpServer.getConnections((error, count) => (error ? reject(error) : resolve(count))));
        if (open >= 5) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      const refused = net.connect(server.port, '127.0.0.1');
      sixth = refused;
      const sixthReceived: Buffer[] = [];
      refused.on('data', (chunk) => sixthReceived.push(chunk));
      refused.on('error', () => {});
      refused.once('connect', () => refused.write(`GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n`));
      await new Promise((resolve, reject) => {
        const deadline = setTimeout(() => reject(new Error('the sixth connection was kept open')), 20_000);
        refused.once('close', () => resolve(clearTimeout(deadline)));
      });
      expect(Buffer.concat(sixthReceived).length).toBe(0);

      const answers = await Promise.all(
        sockets.map(
          (socket) =>
            new Promise<number>((resolve, reject) => {
              const received: Buffer[] = [];
              socket.on('data', (chunk) => received.push(chunk));
              socket.on('error', reject);
              socket.on('close', () => resolve(parseResponse(Buffer.concat(received)).status));
              socket.write(`GET /health HTTP/1.1\r\nhost: 127.0.0.1\r\nconnection: close\r\n\r\n`);
            }),
        ),
      );
      expect(answers).toEqual([200, 200, 200, 200, 200]);
    } finally {
      for (const socket of [...sockets, sixth]) socket?.destroy();
      await server.close();
    }
  });
});
