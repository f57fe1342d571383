import { describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { startTestServer } from '../helpers/server.ts';

/** The scan every test server runs at close() is what the credential tests rely on: it must bite. */
describe('the canary scan', () => {
  it('fails a test whose server sends a planted credential', async () => {
    const server = await startTestServer();
    const { key } = await server.newAccount();
    await server.request('/namespaces/leaky', { method: 'PUT', bearer: key });
    // Metadata is returned by design, so a canary planted there must be caught on the way out.
    const response = await server.request('/leaky', {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: 'http://127.0.0.1:9/mcp', metadata: { oops: canary('metadata') } }),
    });
    expect(response.status).toBe(201);
    await expect(server.close()).rejects.toThrow(/A secret left the server/);
  });

  it('fails a test whose server sends an API key', async () => {
    const server = await startTestServer();
    const { key } = await server.newAccount();
    await server.request('/namespaces/echoing', { method: 'PUT', bearer: key });
    // "Connection "<id>" not found" echoes the path: a key pasted there comes back out.
    expect((await server.request(`/echoing/${key}`, { bearer: key })).status).toBe(404);
    await expect(server.close()).rejects.toThrow(/A secret left the server/);
  });

  it('passes a server that keeps its secrets', async () => {
    const server = await startTestServer();
    const { key } = await server.newAccount();
    await server.request('/namespaces/tidy', { method: 'PUT', bearer: key });
    await expect(server.close()).resolves.toBeUndefined();
  });
});
