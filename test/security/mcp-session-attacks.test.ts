import { createHash } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startRecordingProxy, type RecordingProxy } from '../helpers/recording-proxy.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Another tenant who has learnt a victim's `mcp-session-id` (a proxy log, a shared terminal)
 * names it on a replica that did not open it, against a connection of its own. It must be
 * refused, and it must leave nothing behind on that replica that bends the victim's next
 * request there: not the attacker's upstream URL, not a terminate sent to it with the victim's
 * upstream session id. Two replicas on one PostgreSQL database.
 */
describe.skipIf(testDatabaseKind !== 'postgres')('a session id named by another tenant on another replica', () => {
  let a: TestServer;
  let b: TestServer;
  let upstreams: Upstream[] = [];
  let victimsUpstream: RecordingProxy;
  let attackersUpstream: RecordingProxy;
  const victimKey = canary('victim-upstream-key');
  const attackerKey = canary('attacker-upstream-key');
  let victim: string;
  let attacker: string;

  beforeAll(async () => {
    const [victimsServer, attackersServer] = await Promise.all([
      startFixtureUpstream('sessions', { requireApiKey: victimKey }),
      startFixtureUpstream('sessions', { requireApiKey: attackerKey }),
    ]);
    upstreams = [victimsServer, attackersServer];
    [victimsUpstream, attackersUpstream] = await Promise.all([startRecordingProxy(victimsServer.url), startRecordingProxy(attackersServer.url)]);
    a = await startTestServer();
    b = await startTestServer({}, { replicaOf: a });
    victim = (await a.newAccount('victim')).key;
    attacker = (await a.newAccount('attacker')).key;
  }, 120_000);
  afterAll(async () => {
    await b?.close();
    await a?.close();
    await Promise.all([victimsUpstream?.close(), attackersUpstream?.close(), ...upstreams.map((upstream) => upstream.stop())]);
  });

  const send = (server: TestServer, bearer: string, pathname: string, method: string, body?: unknown, sessionId?: string) =>
    server.request(pathname, {
      method,
      bearer,
      headers: {
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        ...(sessionId ? { 'mcp-session-id': sessionId, 'mcp-protocol-version': '2025-11-25' } : {}),
      },
      ...(body === undefined ? {} : { body: JSON.stringify(body) }),
    });
  async function until(check: () => Promise<boolean>): Promise<void> {
    const deadline = Date.now() + 60_000;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error('not within 60 s');
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  const echo = (message: string) => ({ jsonrpc: '2.0', id: 2, method: 'tools/call', params: { name: 'echo', arguments: { message } } });

  it.each(['POST', 'GET', 'DELETE'])('a %s naming the id first leaves the victim’s session on the replica untouched', async (method) => {
    const ns = { victim: `victim-${method.toLowerCase()}`, attacker: `attacker-${method.toLowerCase()}` };
    expect((await send(a, victim, `/namespaces/${ns.victim}`, 'PUT')).status).toBe(201);
    expect((await send(a, victim, `/${ns.victim}/c`, 'PUT', { mcpUrl: victimsUpstream.url, headers: { 'x-api-key': victimKey } })).status).toBe(201);
    expect((await send(a, attacker, `/namespaces/${ns.attacker}`, 'PUT')).status).toBe(201);
    expect((await send(a, attacker, `/${ns.attacker}/c`, 'PUT', { mcpUrl: attackersUpstream.url, headers: { 'x-api-key': attackerKey } })).status).toBe(201);

    const initialized = await send(a, victim, `/connect/${ns.victim}/c/mcp`, 'POST', {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'victim', version: '1' } },
    });
    expect(initialized.status).toBe(200);
    const sessionId = initialized.headers.get('mcp-session-id')!;
    expect(sessionId).toBeTruthy();
    const attackerHeardBefore = attackersUpstream.seen.length;

    // The attacker names the victim's id on B, which did not open it, at the attacker's own connection.
    const attempt = await send(b, attacker, `/connect/${ns.attacker}/c/mcp`, method, method === 'POST' ? echo('attacker') : undefined, sessionId);
    expect(attempt.status).toBe(404);
    await attempt.body?.cancel();

    // The victim's next request lands on B: it reaches the victim's upstream, and nothing of it the attacker's.
    const marker = `victim-${method}-${Date.now()}`;
    const call = await send(b, victim, `/connect/${ns.victim}/c/mcp`, 'POST', echo(marker), sessionId);
    const answer = await call.text();
    const heard = attackersUpstream.seen.slice(attackerHeardBefore);
    expect(heard.filter((request) => request.apiKey === victimKey || request.body.includes(marker)), 'the attacker’s upstream heard the victim').toEqual([]);
    expect(answer).toContain(marker);
    expect(call.status).toBe(200);
    expect(victimsUpstream.seen.some((request) => request.body.includes(marker))).toBe(true);
    const ended = await send(b, victim, `/connect/${ns.victim}/c/mcp`, 'DELETE', undefined, sessionId);
    expect(ended.status).toBe(200);
    expect(attackersUpstream.seen.slice(attackerHeardBefore), 'the attacker’s upstream heard the victim').toEqual([]);
  });

  it('a service token’s rpcReqMatch holds for every message on the replica that did not open its session; a narrower child of it gets 404', async () => {
    expect((await send(a, victim, '/namespaces/policy-ns', 'PUT')).status).toBe(201);
    expect((await send(a, victim, '/policy-ns/c', 'PUT', { mcpUrl: victimsUpstream.url, headers: { 'x-api-key': victimKey } })).status).toBe(201);
    const minted = await send(a, victim, '/tokens', 'POST', { policy: [{ rpcReqMatch: { method: '^(initialize|notifications/initialized|tools/list)$' } }] });
    expect(minted.status).toBe(200);
    const listOnly = ((await minted.json()) as { token: string }).token;
    const initialized = await send(a, listOnly, '/connect/policy-ns/c/mcp', 'POST', {
      jsonrpc: '2.0',
      id: 1,
      method: 'initialize',
      params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'list-only', version: '1' } },
    });
    expect(initialized.status).toBe(200);
    const sessionId = initialized.headers.get('mcp-session-id')!;
    expect(sessionId).toBeTruthy();

    const marker = `forbidden-${Date.now()}`;
    const forbidden = await send(b, listOnly, '/connect/policy-ns/c/mcp', 'POST', echo(marker), sessionId);
    expect(forbidden.status).toBe(403);
    const batch = await send(b, listOnly, '/connect/policy-ns/c/mcp', 'POST', [{ jsonrpc: '2.0', id: 3, method: 'tools/list' }, echo(`${marker}-batched`)], sessionId);
    expect(batch.status).toBe(403);
    expect(victimsUpstream.seen.some((request) => request.body.includes(marker))).toBe(false);
    const listed = await send(b, listOnly, '/connect/policy-ns/c/mcp', 'POST', { jsonrpc: '2.0', id: 4, method: 'tools/list' }, sessionId);
    expect(listed.status).toBe(200);
    expect(await listed.text()).toContain('echo');

    // A child token is another caller, however it was narrowed: not its parent's session, for any method.
    const child = await send(a, listOnly, '/tokens', 'POST', { policy: [{ namespaces: 'policy-ns' }] });
    expect(child.status).toBe(200);
    const childToken = ((await child.json()) as { token: string }).token;
    for (const method of ['POST', 'GET', 'DELETE']) {
      const response = await send(b, childToken, '/connect/policy-ns/c/mcp', method, method === 'POST' ? { jsonrpc: '2.0', id: 5, method: 'tools/list' } : undefined, sessionId);
      expect(response.status, method).toBe(404);
      await response.body?.cancel();
    }
    const still = await send(b, listOnly, '/connect/policy-ns/c/mcp', 'DELETE', undefined, sessionId);
    expect(still.status).toBe(200);
  });

  it('a session of a connection deleted and created again under the same id is 404 on the other replica, its handle there cached or not', async () => {
    const other = await startFixtureUpstream('sessions');
    upstreams.push(other);
    const othersUpstream = await startRecordingProxy(other.url);
    try {
      expect((await send(a, victim, '/namespaces/recreated-ns', 'PUT')).status).toBe(201);
      expect((await send(a, victim, '/recreated-ns/c', 'PUT', { mcpUrl: victimsUpstream.url, headers: { 'x-api-key': victimKey } })).status).toBe(201);
      const initialized = await send(a, victim, '/connect/recreated-ns/c/mcp', 'POST', {
        jsonrpc: '2.0',
        id: 1,
        method: 'initialize',
        params: { protocolVersion: '2025-11-25', capabilities: {}, clientInfo: { name: 'recreated', version: '1' } },
      });
      const sessionId = initialized.headers.get('mcp-session-id')!;
      expect(sessionId).toBeTruthy();
      // B caches its handle on the session.
      const warm = await send(b, victim, '/connect/recreated-ns/c/mcp', 'POST', echo('warm'), sessionId);
      expect(warm.status).toBe(200);
      await warm.body?.cancel();

      // The record as it stood, put back after the owner deleted it: an owner that missed the
      // change (or failed to delete) leaves such a record, and only the binding check on B stands.
      const idHash = createHash('sha256').update(sessionId).digest('hex');
      const record = await sql<Record<string, unknown>>`select * from client_sessions where id_hash = ${idHash}`.execute(a.db);
      expect(record.rows).toHaveLength(1);
      expect((await send(a, victim, '/recreated-ns/c', 'DELETE')).status).toBe(200);
      expect((await send(a, victim, '/recreated-ns/c', 'PUT', { mcpUrl: othersUpstream.url })).status).toBe(201);
      await until(async () => (await sql`select 1 from client_sessions where id_hash = ${idHash}`.execute(a.db)).rows.length === 0);
      const row = record.rows[0]!;
      const columns = Object.keys(row);
      await sql`insert into client_sessions (${sql.join(columns.map((column) => sql.id(column)))}) values (${sql.join(columns.map((column) => row[column]))})`.execute(a.db);
      const marker = `recreated-${Date.now()}`;
      for (const method of ['POST', 'GET', 'DELETE']) {
        const response = await send(b, victim, '/connect/recreated-ns/c/mcp', method, method === 'POST' ? echo(marker) : undefined, sessionId);
        expect(response.status, method).toBe(404);
        await response.body?.cancel();
      }
      expect(othersUpstream.seen.some((request) => request.body.includes(marker) || request.apiKey === victimKey)).toBe(false);
      expect(victimsUpstream.seen.some((request) => request.body.includes(marker))).toBe(false);
    } finally {
      await othersUpstream.close();
    }
  });
});
