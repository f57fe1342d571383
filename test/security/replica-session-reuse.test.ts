import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startTcpGate, type TcpGate } from '../helpers/tcp-gate.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Issue 15, finding 1. Two replicas; the second loses its LISTEN connection (terminated by the
 * server) and cannot connect again while account A's namespace is deleted and its name taken,
 * with a connection of the same id, by account B: every notification of that is lost to it.
 * Whatever its caches and pooled sessions hold, B's calls through it must never reach A's
 * upstream, and A's stored credential must never go anywhere B's calls go. Once it hears the
 * database again, B is served with B's own connection.
 */
describe.skipIf(testDatabaseKind !== 'postgres')('a replica that missed a delete and recreate', () => {
  let primary: TestServer;
  let replica: TestServer;
  let gate: TcpGate;
  let upstreams: Upstream[] = [];
  let alicesUpstream: RecordingProxy;
  let bobsUpstream: RecordingProxy;
  const aliceKey = canary('alice-upstream-key');
  const bobKey = canary('bob-upstream-key');
  const bobMarker = `bob-call-${randomBytes(6).toString('hex')}`;
  let alice: string;
  let bob: string;

  beforeAll(async () => {
    const [alicesServer, bobsServer] = await Promise.all([startFixtureUpstream('sessions', { requireApiKey: aliceKey }), startFixtureUpstream('sessions', { requireApiKey: bobKey })]);
    upstreams = [alicesServer, bobsServer];
    [alicesUpstream, bobsUpstream] = await Promise.all([startRecordingProxy(alicesServer.url), startRecordingProxy(bobsServer.url)]);
    primary = await startTestServer();
    const direct = new URL(primary.databaseUrl!);
    gate = await startTcpGate({ host: direct.hostname, port: Number(direct.port || 5432) });
    const gated = new URL(direct);
    gated.hostname = '127.0.0.1';
    gated.port = String(gate.port);
    replica = await startTestServer({}, { replicaOf: primary, databaseUrl: gated.href });
    alice = (await primary.newAccount('alice')).key;
    bob = (await primary.newAccount('bob')).key;
  });
  afterAll(async () => {
    gate?.acceptNew();
    await replica?.close();
    await primary?.close();
    await gate?.close();
    await Promise.all([alicesUpstream?.close(), bobsUpstream?.close(), ...upstreams.map((upstream) => upstream.stop())]);
  });

  const send = (server: TestServer, bearer: string, pathname: string, method: string, body?: unknown) =>
    server.request(pathname, {
      method,
      bearer,
      headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  const restEcho = (bearer: string, message: string) => send(replica, bearer, '/recycled/c/.tools/echo', 'POST', { message });
  const mcpEcho = (bearer: string, message: string) =>
    send(replica, bearer, '/connect/recycled/c/mcp', 'POST', { jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: 'echo', arguments: { message } } });

  /** The replica's sessions on the database that are listening (LISTEN was their last statement). */
  async function replicaListeners(): Promise<number[]> {
    const ports = gate.targetSidePorts();
    if (ports.length === 0) return [];
    const rows = await sql<{ pid: number }>`
      select pid from pg_stat_activity
      where datname = current_database() and query ilike 'listen%' and client_port in (${sql.join(ports)})`.execute(primary.db);
    return rows.rows.map((row) => row.pid);
  }

  async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`not within 60 s: ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }

  it('never serves B with A’s session, upstream or credential', async () => {
    expect((await send(primary, alice, '/namespaces/recycled', 'PUT')).status).toBe(201);
    expect((await send(primary, alice, '/recycled/c', 'PUT', { mcpUrl: alicesUpstream.url, headers: { 'x-api-key': aliceKey } })).status).toBe(201);
    // The replica caches A's namespace and connection and holds a session with A's upstream.
    expect((await restEcho(alice, 'warm-up')).status).toBe(200);
    expect((await mcpEcho(alice, 'warm-up')).status).toBe(200);
    expect(alicesUpstream.seen.some((request) => request.body.includes('warm-up'))).toBe(true);

    // Cut the replica off: its listener is terminated and may not connect again.
    await eventually('the replica listens', async () => (await replicaListeners()).length > 0);
    gate.refuseNew();
    for (const pid of await replicaListeners()) await sql`select pg_terminate_backend(${pid})`.execute(primary.db);
    await eventually('the replica’s listener is gone', async () => (await replicaListeners()).length === 0);

    expect((await send(primary, alice, '/namespaces/recycled', 'DELETE')).status).toBe(200);
    expect((await send(primary, bob, '/namespaces/recycled', 'PUT')).status).toBe(201);
    expect((await send(primary, bob, '/recycled/c', 'PUT', { mcpUrl: bobsUpstream.url, headers: { 'x-api-key': bobKey } })).status).toBe(201);
    const seenBeforeBob = alicesUpstream.seen.length;

    // Still cut off, the replica believes A owns the name: B is refused (it cannot know better).
    for (const response of [await restEcho(bob, `${bobMarker}-cut-off-rest`), await mcpEcho(bob, `${bobMarker}-cut-off-mcp`)]) {
      expect(response.status).not.toBe(200);
      expect(response.status).toBeLessThan(600);
    }

    // Reconnected, the replica must reset what the lost notifications kept fresh, then serve B's own connection.
    gate.acceptNew();
    let attempt = 0;
    await eventually('B is served on the replica', async () => (await restEcho(bob, `${bobMarker}-rest-${attempt++}`)).status === 200);
    const mcp = await mcpEcho(bob, `${bobMarker}-mcp`);

    // Only A's own session may still be ended there (DELETE); nothing B did reaches it.
    const heardSinceRecreate = alicesUpstream.seen.slice(seenBeforeBob).filter((request) => request.method !== 'DELETE');
    expect(heardSinceRecreate.map((request) => request.body), 'A’s upstream heard from B’s calls').toEqual([]);
    expect(mcp.status).toBe(200);
    expect(await mcp.text()).toContain(`${bobMarker}-mcp`);
    expect(bobsUpstream.seen.some((request) => request.body.includes(`${bobMarker}-mcp`))).toBe(true);
    // B's upstream got B's credential on every MCP request, and A's on none (the config schema probe carries none).
    expect(bobsUpstream.seen.filter((request) => request.method === 'POST').every((request) => request.apiKey === bobKey)).toBe(true);
    expect(bobsUpstream.seen.some((request) => request.apiKey === aliceKey || request.body.includes(aliceKey))).toBe(false);
  });
});
