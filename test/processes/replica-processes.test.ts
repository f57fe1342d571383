import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli, startServerProcess, type ServerProcess } from '../helpers/processes.ts';
import { createScratchDatabase } from '../helpers/scratch-database.ts';
import { CANARY_PREFIX, canary } from '../helpers/canary.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Two Switchboard processes started as `npm start` would, on one PostgreSQL, behind an imagined
 * round-robin load balancer: every request of a connection's life goes to the other process
 * than the one before. Whatever one process changes, the other must follow (its caches are
 * invalidated through LISTEN/NOTIFY, asynchronously: each such check polls for up to 2 s).
 */

type JsonRpcMessage = {
  jsonrpc: '2.0';
  id?: string | number | null;
  method?: string;
  result?: { content?: { type: string; text: string }[] };
  error?: { code: number; message: string; data?: Record<string, unknown> };
};

/** The JSON-RPC messages of an MCP answer, JSON or SSE. */
async function messagesOf(response: Response): Promise<JsonRpcMessage[]> {
  const type = response.headers.get('content-type') ?? '';
  const text = await response.text();
  if (type.startsWith('application/json')) return [JSON.parse(text) as JsonRpcMessage | JsonRpcMessage[]].flat();
  if (!type.startsWith('text/event-stream')) throw new Error(`HTTP ${response.status} ${type}: ${text.slice(0, 300)}`);
  return text
    .split(/\r?\n\r?\n/)
    .map((event) =>
      event
        .split(/\r?\n/)
        .filter((line) => line.startsWith('data:'))
        .map((line) => line.slice(5).trim())
        .join('\n'),
    )
    .filter((data) => data !== '')
    .map((data) => JSON.parse(data) as JsonRpcMessage);
}

/** Cross-process invalidation is asynchronous: give it up to two seconds. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + 2_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`${what}: not within 2 s`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(testDatabaseKind !== 'postgres')('two Switchboard processes on one PostgreSQL', () => {
  const rightKey = canary('upstream-key');
  const wrongKey = canary('wrong-key');
  let scratch: { url: string; drop(): Promise<void> };
  const dataDirs: string[] = [];
  let upstream: Upstream;
  let a: ServerProcess;
  let b: ServerProcess;
  let key: string;
  let ns: string;
  let connectionId: string;
  let witnessId: string;

  beforeAll(async () => {
    scratch = await createScratchDatabase(process.env.TEST_DATABASE_URL!, 'sb_replicas');
    const shared = { DATABASE_URL: scratch.url, SWITCHBOARD_SECRET: randomBytes(32).toString('base64url') };
    const envWithDataDir = () => {
      // Unused with DATABASE_URL, but never the working directory's ./data.
      dataDirs.push(fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-replica-')));
      return { ...shared, DATA_DIR: dataDirs.at(-1)! };
    };
    const [fixture, created] = await Promise.all([
      startFixtureUpstream('sessions', { requireApiKey: rightKey }),
      runCli(['api-keys', 'create', '--name', 'r', '--json'], envWithDataDir()),
    ]);
    upstream = fixture;
    expect(created.code, created.stderr).toBe(0);
    key = (JSON.parse(created.stdout) as { key: string }).key;
    // Both start (and migrate) at once, as replicas rolled out together do.
    [a, b] = await Promise.all([startServerProcess(envWithDataDir()), startServerProcess(envWithDataDir())]);
  });

  afterAll(async () => {
    try {
      const exits = await Promise.all([a?.stop('SIGTERM'), b?.stop('SIGTERM')]);
      for (const server of [a, b]) {
        if (!server) continue;
        expect(server.output()).toContain('shutting down');
        expect(server.output()).not.toContain(CANARY_PREFIX);
        expect(server.output()).not.toContain(key);
      }
      if (a && b) expect(exits).toEqual([0, 0]);
    } finally {
      a?.child.kill('SIGKILL');
      b?.child.kill('SIGKILL');
      await upstream?.stop();
      await scratch?.drop();
      for (const dir of dataDirs) fs.rmSync(dir, { recursive: true, force: true });
    }
  });

  function request(server: ServerProcess, pathname: string, init: { method?: string; body?: unknown; bearer?: string } = {}): Promise<Response> {
    return fetch(`${server.url}${pathname}`, {
      method: init.method ?? 'GET',
      headers: {
        authorization: `Bearer ${init.bearer ?? key}`,
        ...(init.body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: init.body === undefined ? undefined : JSON.stringify(init.body),
    });
  }

  function restCall(server: ServerProcess, id: string, tool: string, args: unknown, bearer?: string): Promise<Response> {
    return request(server, `/${ns}/${id}/.tools/${tool}`, { method: 'POST', body: args, bearer });
  }

  /** A tools/call as the official helper sends it: no handshake, the preset session id. */
  function mcpCall(server: ServerProcess, id: string, tool: string, args: unknown): Promise<Response> {
    return fetch(`${server.url}/connect/${ns}/${id}/mcp`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${key}`,
        'content-type': 'application/json',
        accept: 'application/json, text/event-stream',
        'mcp-session-id': 'smithery-stateless',
      },
      body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/call', params: { name: tool, arguments: args } }),
    });
  }

  async function mcpText(response: Response): Promise<string> {
    expect(response.status).toBe(200);
    const answer = (await messagesOf(response)).find((m) => m.id === 1);
    expect(answer?.result, JSON.stringify(answer)).toBeDefined();
    return answer!.result!.content![0]!.text;
  }

  async function restText(response: Response): Promise<string> {
    const body = (await response.json()) as { content: { text: string }[] };
    expect(response.status, JSON.stringify(body)).toBe(200);
    return body.content[0]!.text;
  }

  /** Upstream sessions open at the fixture, asked through the witness connection (which stays). */
  async function upstreamSessions(): Promise<number> {
    return Number(await restText(await restCall(a, witnessId, 'session-count', {})));
  }

  const update = (server: ServerProcess, headers: Record<string, string>) =>
    request(server, `/${ns}/${connectionId}`, { method: 'PUT', body: { headers } });

  it('A creates a namespace; B creates a connection in it with the right credentials', async () => {
    const namespace = await request(a, '/namespaces', { method: 'POST' });
    expect(namespace.status).toBe(201);
    ns = ((await namespace.json()) as { name: string }).name;

    const created = await request(b, `/${ns}`, {
      method: 'POST',
      body: { mcpUrl: upstream.url, headers: { 'x-api-key': rightKey }, metadata: { userId: 'alice' } },
    });
    const connection = (await created.json()) as { connectionId: string; status: { state: string } };
    expect(created.status, JSON.stringify(connection)).toBe(201);
    expect(connection.status).toEqual({ state: 'connected' });
    connectionId = connection.connectionId;

    const witness = await request(b, `/${ns}`, {
      method: 'POST',
      body: { mcpUrl: upstream.url, headers: { 'x-api-key': rightKey }, metadata: { userId: 'witness' } },
    });
    expect(witness.status).toBe(201);
    witnessId = ((await witness.json()) as { connectionId: string }).connectionId;
  });

  it('A calls a tool over REST, B over the MCP endpoint', async () => {
    expect(await restText(await restCall(a, connectionId, 'echo', { message: 'via A' }))).toBe('Echo: via A');
    expect(await mcpText(await mcpCall(b, connectionId, 'echo', { message: 'via B' }))).toBe('Echo: via B');
  });

  it('wrong credentials stored through A are used by B too (auth required), and A refuses over REST', async () => {
    expect((await update(a, { 'x-api-key': wrongKey })).status).toBe(200);
    let refused: Response | undefined;
    await eventually('B drops the credentials it cached', async () => {
      refused = await mcpCall(b, connectionId, 'echo', { message: 'stale?' });
      if (refused.status === 200) await refused.body?.cancel();
      return refused.status !== 200;
    });
    expect(refused!.status).toBe(401);
    const [answer] = await messagesOf(refused!);
    expect(answer!.error).toMatchObject({ code: -32001, data: { connectionId } });

    const rest = await restCall(a, connectionId, 'echo', { message: 'refused' });
    expect(rest.status).toBe(409);
    expect(rest.headers.get('x-should-retry')).toBe('false');
    expect(await rest.json()).toMatchObject({ error: 'conflict' });
  });

  it('the right credentials stored through B work on A, then on B', async () => {
    const restored = await update(b, { 'x-api-key': rightKey });
    expect(restored.status).toBe(200);
    expect(((await restored.json()) as { status: unknown }).status).toEqual({ state: 'connected' });
    let text = '';
    await eventually('A follows the credentials B stored', async () => {
      const response = await restCall(a, connectionId, 'echo', { message: 'back on A' });
      if (response.status !== 200) {
        await response.body?.cancel();
        return false;
      }
      text = await restText(response);
      return true;
    });
    expect(text).toBe('Echo: back on A');
    expect(await mcpText(await mcpCall(b, connectionId, 'echo', { message: 'back on B' }))).toBe('Echo: back on B');
  });

  it.each([
    ['A', 'metadata.userId=alice'],
    ['B', 'metadata%5BuserId%5D=alice'],
  ] as const)('%s lists the connection by its metadata (%s)', async (which, query) => {
    const server = which === 'A' ? a : b;
    const response = await request(server, `/${ns}?${query}`);
    expect(response.status).toBe(200);
    const body = (await response.json()) as { connections: { connectionId: string; metadata: unknown }[] };
    expect(body.connections.map((c) => [c.connectionId, c.metadata])).toEqual([[connectionId, { userId: 'alice' }]]);
  });

  it('A deletes it: B answers 404, and the upstream sessions both processes held are ended', async () => {
    // The connection has a session in each process (the witness, in each too, stays).
    const before = await upstreamSessions();
    const deleted = await request(a, `/${ns}/${connectionId}`, { method: 'DELETE' });
    expect(await deleted.json()).toEqual({ success: true });
    await eventually('B forgets the deleted connection', async () => {
      const response = await request(b, `/${ns}/${connectionId}`);
      await response.body?.cancel();
      return response.status === 404;
    });
    const call = await mcpCall(b, connectionId, 'echo', { message: 'gone' });
    expect(call.status).toBe(404);
    await call.body?.cancel();
    // The upstream DELETEs go out in the background.
    await eventually('the upstream sees both sessions end', async () => (await upstreamSessions()) === before - 2);
  });

  it('a service token minted on A works on B; revoked on B, A refuses it', async () => {
    const minted = await request(a, '/tokens', {
      method: 'POST',
      body: { policy: [{ namespaces: ns, metadata: { userId: 'witness' }, operations: ['read', 'execute'] }] },
    });
    expect(minted.status).toBe(200);
    const { token } = (await minted.json()) as { token: string };

    const listed = await request(b, `/${ns}`, { bearer: token });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { connections: { connectionId: string }[] }).connections.map((c) => c.connectionId)).toEqual([witnessId]);
    expect(await restText(await restCall(a, witnessId, 'echo', { message: 'token on A' }, token))).toBe('Echo: token on A');

    const revoked = await request(b, '/tokens/revoke', { method: 'POST', body: { token } });
    expect(revoked.status).toBe(200);
    await eventually('A learns of the revocation', async () => {
      const response = await request(a, `/${ns}`, { bearer: token });
      await response.body?.cancel();
      return response.status === 401;
    });
    const call = await restCall(a, witnessId, 'echo', { message: 'revoked' }, token);
    expect(call.status).toBe(401);
    expect(await call.json()).toMatchObject({ error: 'unauthorized' });
    // The key that minted it is untouched.
    expect((await request(b, `/${ns}`)).status).toBe(200);
  });
});
