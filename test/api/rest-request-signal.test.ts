import http from 'node:http';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * REST calls build no Fetch `Request` (patches/trpc-to-openapi+3.3.0.patch: trpc-to-openapi built one
 * per call only to take its abort signal, and undici's FinalizationRegistry then held each
 * request's objects until a full collection). Requests are counted where the adapters make
 * them, through the global constructor; the typed client's `/trpc` route, which needs its
 * Request, shows the count works.
 */

let server: TestServer;
let alice: { key: string };
const NativeRequest = globalThis.Request;
let built = 0;

beforeAll(async () => {
  server = await startTestServer();
  alice = await server.newAccount('alice');
  globalThis.Request = class CountedRequest extends NativeRequest {
    constructor(...args: ConstructorParameters<typeof Request>) {
      super(...args);
      built++;
    }
  };
});
afterEach(() => {
  built = 0;
});
afterAll(async () => {
  globalThis.Request = NativeRequest;
  await server?.close();
});

/** node:http, so that the client itself builds no Request either. */
function call(method: string, pathname: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    const request = http.request(`${server.url}${pathname}`, {
      method,
      headers: { authorization: `Bearer ${alice.key}`, ...(payload ? { 'content-type': 'application/json' } : {}) },
    });
    request.once('response', (response) => {
      let text = '';
      response.setEncoding('utf8');
      response.on('data', (chunk: string) => (text += chunk));
      response.once('end', () => resolve({ status: response.statusCode ?? 0, text }));
    });
    request.once('error', reject);
    request.end(payload);
  });
}

describe('REST requests and Fetch Requests', () => {
  it('a REST read, write and error build none', async () => {
    expect((await call('PUT', '/namespaces/signal-test')).status).toBe(201);
    expect((await call('GET', '/namespaces')).status).toBe(200);
    expect((await call('GET', '/namespaces/signal-test/nope')).status).toBe(404);
    expect((await call('POST', '/tokens', { policy: 'not a policy' })).status).toBe(400);
    expect(built).toBe(0);
  });

  it('the same read through /trpc builds its Request (the count sees them)', async () => {
    const answer = await call('GET', '/trpc/namespaces.list?input=%7B%7D');
    expect(answer.status).toBe(200);
    expect(built).toBeGreaterThan(0);
  });
});
