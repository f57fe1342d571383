import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Two Switchboard servers on one PostgreSQL, as two replicas behind a load balancer: what one
 * changes, the other must stop serving from its caches (LISTEN/NOTIFY), with no restart.
 */
describe.skipIf(testDatabaseKind !== 'postgres')('two replicas on one PostgreSQL', () => {
  let primary: TestServer;
  let replica: TestServer;
  let upstream: Upstream;
  let key: string;
  let keyId: string;
  const apiKey = canary('upstream-key');

  beforeAll(async () => {
    upstream = await startFixtureUpstream('sessions', { requireApiKey: apiKey });
    primary = await startTestServer();
    replica = await startTestServer({}, { replicaOf: primary });
    ({ key, keyId } = await primary.newAccount());
    expect((await primary.request('/namespaces/replicated', { method: 'PUT', bearer: key })).status).toBe(201);
  });
  afterAll(async () => {
    await replica?.close();
    await primary?.close();
    await upstream?.stop();
  });

  function put(server: TestServer, id: string, body: unknown) {
    return server.request(`/replicated/${id}`, {
      method: 'PUT',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
    });
  }

  async function echoThrough(server: TestServer, id: string): Promise<Response> {
    return server.request(`/connect/replicated/${id}/mcp`, {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message: 'hi' } } }),
    });
  }

  /** Cross-process invalidation is asynchronous: give it up to two seconds. */
  async function eventually(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 2_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('the other replica did not catch up within 2 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  it('serves a connection made on the other replica, and follows its credential changes and deletion', async () => {
    expect((await put(primary, 'shared', { mcpUrl: upstream.url, headers: { 'x-api-key': apiKey } })).status).toBe(201);
    expect((await echoThrough(replica, 'shared')).status).toBe(200);

    // Wrong credentials stored through the primary: the replica's cached ones must go.
    expect((await put(primary, 'shared', { headers: { 'x-api-key': canary('wrong') } })).status).toBe(200);
    await eventually(async () => (await echoThrough(replica, 'shared')).status === 401);

    expect((await put(primary, 'shared', { headers: { 'x-api-key': apiKey } })).status).toBe(200);
    await eventually(async () => (await echoThrough(replica, 'shared')).status === 200);

    expect((await primary.request('/replicated/shared', { method: 'DELETE', bearer: key })).status).toBe(200);
    await eventually(async () => (await echoThrough(replica, 'shared')).status === 404);
  });

  it('stops accepting an API key on every replica once it is revoked', async () => {
    const { key: doomed, keyId: doomedId } = await primary.addKey((await primary.newAccount()).accountId);
    expect((await replica.request('/namespaces', { bearer: doomed })).status).toBe(200);
    await primary.revokeKey(doomedId);
    await eventually(async () => (await replica.request('/namespaces', { bearer: doomed })).status === 401);
    // The account's other keys are untouched.
    expect((await replica.request('/namespaces', { bearer: key })).status).toBe(200);
    expect(keyId).not.toBe(doomedId);
  });

  it('forgets a deleted namespace on the other replica', async () => {
    expect((await primary.request('/namespaces/short-lived', { method: 'PUT', bearer: key })).status).toBe(201);
    expect((await replica.request('/short-lived', { bearer: key })).status).toBe(200);
    expect((await primary.request('/namespaces/short-lived', { method: 'DELETE', bearer: key })).status).toBe(200);
    await eventually(async () => (await replica.request('/short-lived', { bearer: key })).status === 404);
  });
});
