import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startCountingUpstream, type CountingUpstream } from '../helpers/counting-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * What a REST tool call costs upstream, counted by an upstream that writes down every request
 * it gets (real HTTP, the official SDK server): one `tools/call` in steady state, the tool
 * list coming from the session's cache, which `list_changed`, its TTL and an "unknown tool"
 * answer renew. Requests are counted, never timed.
 */
let server: TestServer;
let key: string;
const NS = 'round-trips';
const upstreams: CountingUpstream[] = [];

async function upstream(options: Parameters<typeof startCountingUpstream>[0] = {}): Promise<CountingUpstream> {
  const started = await startCountingUpstream(options);
  upstreams.push(started);
  return started;
}

async function createConnection(on: TestServer, mcpUrl: string, id?: string): Promise<string> {
  const response = await on.request(id ? `/${NS}/${id}` : `/${NS}`, {
    method: id ? 'PUT' : 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl }),
  });
  expect(response.status).toBe(201);
  const created = (await response.json()) as { connectionId: string; status: { state: string } };
  expect(created.status.state).toBe('connected');
  return created.connectionId;
}

function call(on: TestServer, id: string, tool: string, args: Record<string, unknown> = {}): Promise<Response> {
  return on.request(`/${NS}/${id}/.tools/${tool}`, {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
}

/** The upstream requests `work` caused (the session's GET stream, if it reopens, left out). */
async function requestsDuring(counted: CountingUpstream, work: () => Promise<unknown>): Promise<string[]> {
  const before = counted.requests.length;
  await work();
  return counted.requests.slice(before).filter((request) => request !== 'GET /mcp');
}

async function expectAnswer(response: Response, text: string): Promise<void> {
  expect(response.status).toBe(200);
  expect(await response.json()).toEqual({ content: [{ type: 'text', text }] });
}

beforeAll(async () => {
  server = await startTestServer();
  key = (await server.newAccount()).key;
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
});
afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await Promise.all(upstreams.map((u) => u.close()));
  }
});

describe('creating a connection', () => {
  it('costs the handshake, with the config schema asked for alongside it rather than before it', async () => {
    // Each request takes a while, so requests sent side by side overlap.
    const slow = await upstream({ delayMs: 100 });
    await createConnection(server, slow.url);
    // The GET opens the session's stream (how list_changed arrives); nothing waits for it.
    await vi.waitFor(() =>
      expect([...slow.requests].sort()).toEqual(
        ['GET /.well-known/mcp-config', 'server/discover', 'initialize', 'notifications/initialized', 'GET /mcp'].sort(),
      ),
    );
    expect(slow.peakConcurrency).toBe(2);
  });
});

describe('a REST tool call', () => {
  it('costs one tools/call in steady state; the first one on a new connection also lists the tools', async () => {
    const counted = await upstream();
    const id = await createConnection(server, counted.url);
    expect(await requestsDuring(counted, async () => expectAnswer(await call(server, id, 'echo', { n: 0 }), 'echo: {"n":0}'))).toEqual(
      expect.arrayContaining(['tools/list', 'tools/call']),
    );
    for (let n = 1; n <= 3; n++) {
      expect(await requestsDuring(counted, async () => expectAnswer(await call(server, id, 'echo', { n }), `echo: {"n":${n}}`))).toEqual(['tools/call']);
    }
  });

  it('sends the first call alongside the tools/list, not after it: one round trip of time', async () => {
    // Each request takes a while, so requests sent side by side overlap; one after the other never do.
    const slow = await upstream({ delayMs: 300 });
    const id = await createConnection(server, slow.url);
    slow.resetPeakConcurrency();
    const seen = await requestsDuring(slow, async () => expectAnswer(await call(server, id, 'echo', { n: 1 }), 'echo: {"n":1}'));
    expect(seen.sort()).toEqual(['tools/call', 'tools/list']);
    expect(slow.peakConcurrency).toBe(2);
  });

  it('a name with a slash waits for the list, which tells whether it means a/b or a.b', async () => {
    const slow = await upstream({ delayMs: 300 });
    slow.addTool('repo.find');
    const id = await createConnection(server, slow.url);
    expect(await requestsDuring(slow, async () => expectAnswer(await call(server, id, 'repo/find'), 'repo.find: {}'))).toEqual(['tools/list', 'tools/call']);
  });

  it('a first call of a tool the server lacks is a clean 404 (the list, fetched alongside, decides)', async () => {
    const counted = await upstream({ listChanged: false, unknownToolAs: 'result' });
    const id = await createConnection(server, counted.url);
    const response = await call(server, id, 'missing');
    expect(response.status).toBe(404);
    expect(await response.json()).toEqual({ error: 'not_found', message: `Connection "${id}" has no tool "missing"` });
  });

  it('lists again after the upstream announces list_changed, and finds the tool it added', async () => {
    const counted = await upstream({ listChanged: true });
    const id = await createConnection(server, counted.url);
    await expectAnswer(await call(server, id, 'echo'), 'echo: {}');
    counted.addTool('added');
    await counted.announceToolsChanged();
    // The notification travels on the session's stream: once it arrived, a call lists first.
    await vi.waitFor(async () => expect((await requestsDuring(counted, () => call(server, id, 'echo'))).sort()).toEqual(['tools/call', 'tools/list']));
    expect(await requestsDuring(counted, async () => expectAnswer(await call(server, id, 'added', { a: 1 }), 'added: {"a":1}'))).toEqual(['tools/call']);
  });

  it('without list_changed, finds a tool added upstream on the first call for it', async () => {
    const counted = await upstream({ listChanged: false });
    const id = await createConnection(server, counted.url);
    await expectAnswer(await call(server, id, 'echo'), 'echo: {}');
    counted.addTool('later');
    expect(await requestsDuring(counted, async () => expectAnswer(await call(server, id, 'later'), 'later: {}'))).toEqual(['tools/list', 'tools/call']);
    expect(await requestsDuring(counted, async () => expectAnswer(await call(server, id, 'later'), 'later: {}'))).toEqual(['tools/call']);
  });

  it.each(['error', 'result'] as const)('a tool removed upstream (unknown tool answered as a JSON-RPC %s) is a clean 404 after one refresh', async (unknownToolAs) => {
    const counted = await upstream({ listChanged: false, unknownToolAs });
    counted.addTool('doomed');
    const id = await createConnection(server, counted.url);
    await expectAnswer(await call(server, id, 'doomed'), 'doomed: {}');
    counted.removeTool('doomed');
    let response: Response | undefined;
    expect(await requestsDuring(counted, async () => (response = await call(server, id, 'doomed')))).toEqual(['tools/call', 'tools/list']);
    expect(response!.status).toBe(404);
    expect(await response!.json()).toEqual({ error: 'not_found', message: `Connection "${id}" has no tool "doomed"` });
    // The refreshed list already says so: no call goes out.
    expect(await requestsDuring(counted, async () => expect((await call(server, id, 'doomed')).status).toBe(404))).toEqual(['tools/list']);
  });

  it('a tool renamed upstream is called once more under its new name after one refresh', async () => {
    const counted = await upstream({ listChanged: false });
    counted.addTool('repo.search');
    const id = await createConnection(server, counted.url);
    await expectAnswer(await call(server, id, 'repo/search'), 'repo.search: {}');
    counted.removeTool('repo.search');
    counted.addTool('repo/search');
    expect(await requestsDuring(counted, async () => expectAnswer(await call(server, id, 'repo/search'), 'repo/search: {}'))).toEqual([
      'tools/call',
      'tools/list',
      'tools/call',
    ]);
  });

  it('a connection deleted and created again under its id never sees the old list', async () => {
    const counted = await upstream({ listChanged: false });
    const id = await createConnection(server, counted.url, 'recreated');
    await expectAnswer(await call(server, id, 'echo'), 'echo: {}');
    expect((await server.request(`/${NS}/${id}`, { method: 'DELETE', bearer: key })).status).toBe(200);
    await createConnection(server, counted.url, 'recreated');
    expect((await requestsDuring(counted, () => call(server, id, 'echo'))).sort()).toEqual(['tools/call', 'tools/list']);
  });
});

describe('the tool list TTL', () => {
  let shortLived: TestServer;
  beforeAll(async () => {
    shortLived = await startTestServer({ TOOL_LIST_TTL_SECONDS: '1' });
    const account = await shortLived.newAccount();
    key = account.key;
    expect((await shortLived.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
  });
  afterAll(async () => {
    await shortLived?.close();
    key = (await server.newAccount()).key;
  });

  it('lists again once the list is older than TOOL_LIST_TTL_SECONDS', async () => {
    const counted = await upstream({ listChanged: false });
    const id = await createConnection(shortLived, counted.url);
    expect((await requestsDuring(counted, () => call(shortLived, id, 'echo'))).sort()).toEqual(['tools/call', 'tools/list']);
    expect(await requestsDuring(counted, () => call(shortLived, id, 'echo'))).toEqual(['tools/call']);
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await requestsDuring(counted, () => call(shortLived, id, 'echo'))).sort()).toEqual(['tools/call', 'tools/list']);
  });
});

describe('the namespace toolbox', () => {
  it('lists from the same cache: one tools/list for several listings and the REST calls after them', async () => {
    const counted = await upstream({ listChanged: false });
    await server.request(`/namespaces/${NS}-box`, { method: 'PUT', bearer: key });
    const made = await server.request(`/${NS}-box`, {
      method: 'POST',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: counted.url }),
    });
    const { connectionId } = (await made.json()) as { connectionId: string };
    const listToolbox = async () => {
      const response = await server.request(`/connect/${NS}-box/mcp`, {
        method: 'POST',
        bearer: key,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: 1, method: 'tools/list' }),
      });
      expect(response.status).toBe(200);
      const text = await response.text();
      expect(text).toContain(`${connectionId}.echo`);
    };
    const seen = await requestsDuring(counted, async () => {
      for (let i = 0; i < 3; i++) await listToolbox();
      const response = await server.request(`/${NS}-box/${connectionId}/.tools/echo`, {
        method: 'POST',
        bearer: key,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      expect(response.status).toBe(200);
    });
    expect(seen).toEqual(['tools/list', 'tools/call']);
  });
});
