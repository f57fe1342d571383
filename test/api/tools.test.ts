import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * The REST tool routes, with raw requests against real upstreams: one connection's tools
 * (listing, one tool, category prefixes, slashed and dotted names, calls), the legacy
 * `/connect` prefix, and the namespace-wide listing with one envelope per connection.
 */
let server: TestServer;
let key: string;
let fixture: Upstream;
let doomed: Upstream;
let configured: Upstream;
let configuredFront: CountingFront;
const fixtureApiKey = canary('fixture-api-key');

const NS = 'tools-rest';
let id: string;

/**
 * A pass-through in front of the configured fixture that counts the MCP requests reaching
 * it, so a test can tell that Switchboard never called it (the config schema is not counted).
 */
type CountingFront = { url: string; mcpRequests: number; close(): Promise<void> };

async function startCountingFront(target: Upstream): Promise<CountingFront> {
  const front = {
    url: '',
    mcpRequests: 0,
    close: () =>
      new Promise<void>((resolve) => {
        proxy.close(() => resolve());
        proxy.closeAllConnections();
      }),
  };
  const proxy = http.createServer((req, res) => {
    if ((req.url ?? '').startsWith('/mcp')) front.mcpRequests++;
    const upstream = http.request(
      { host: '127.0.0.1', port: target.port, method: req.method, path: req.url, headers: req.headers },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        answer.pipe(res);
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve));
  proxy.unref();
  front.url = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}/mcp`;
  return front;
}

function json(body: unknown): RequestInit {
  return { method: 'POST', headers: { 'content-type': 'application/json' }, body: typeof body === 'string' ? body : JSON.stringify(body) };
}

async function createConnection(namespace: string, body: Record<string, unknown>): Promise<{ connectionId: string; status: { state: string } }> {
  const response = await server.request(`/${namespace}`, { ...json(body), bearer: key });
  expect(response.status).toBe(201);
  return (await response.json()) as { connectionId: string; status: { state: string } };
}

type Tool = { name: string; inputSchema: Record<string, unknown> };
type CallResult = { content: { type: string; text?: string }[]; isError?: boolean };

beforeAll(async () => {
  [server, fixture, doomed, configured] = await Promise.all([
    startTestServer(),
    startFixtureUpstream('sessions'),
    startFixtureUpstream('sessions'),
    startFixtureUpstream('sessions', { requireApiKey: fixtureApiKey, configSchema: true }),
  ]);
  configuredFront = await startCountingFront(configured);
  key = (await server.newAccount()).key;
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
  const created = await createConnection(NS, { mcpUrl: fixture.url, name: 'fixture' });
  expect(created.status.state).toBe('connected');
  id = created.connectionId;
});
afterAll(async () => {
  try {
    await server?.close();
  } finally {
    await Promise.all([fixture?.stop(), doomed?.stop(), configured?.stop(), configuredFront?.close()]);
  }
});

describe('tools of one connection', () => {
  it('lists every tool the upstream offers', async () => {
    const response = await server.request(`/${NS}/${id}/.tools`, { bearer: key });
    expect(response.status).toBe(200);
    const { tools } = (await response.json()) as { tools: Tool[] };
    expect(tools.map((t) => t.name).sort()).toEqual(
      ['add', 'echo', 'fail', 'github/create_issue', 'github/list_issues', 'progress', 'repo.search', 'request-info', 'session-count'].sort(),
    );
    const echo = tools.find((t) => t.name === 'echo')!;
    expect(echo.inputSchema).toMatchObject({ type: 'object', properties: { message: { type: 'string' } } });
  });

  it.each([
    ['echo', 'echo'],
    ['github%2Fcreate_issue', 'github/create_issue'],
    ['github/create_issue', 'github/create_issue'],
    ['repo/search', 'repo.search'],
    ['repo.search', 'repo.search'],
  ])('GET .tools/%s answers the tool %s', async (toolPath, name) => {
    const response = await server.request(`/${NS}/${id}/.tools/${toolPath}`, { bearer: key });
    expect(response.status).toBe(200);
    const tool = (await response.json()) as Tool;
    expect(tool.name).toBe(name);
    expect(tool.inputSchema).toMatchObject({ type: 'object' });
  });

  it.each([
    ['github', ['github/create_issue', 'github/list_issues']],
    ['repo', ['repo.search']],
  ])('GET .tools/%s answers the category %j', async (prefix, names) => {
    const response = await server.request(`/${NS}/${id}/.tools/${prefix}`, { bearer: key });
    expect(response.status).toBe(200);
    const body = (await response.json()) as { tools: Tool[] };
    expect(body.tools.map((t) => t.name).sort()).toEqual(names);
  });

  it.each([
    ['add', { a: 2, b: 3 }, '5'],
    // Keys named like the path parameters are still the tool's arguments.
    ['echo', { namespace: 'x', connectionId: 'y', toolPath: 'z', message: 'm' }, 'Echo: m'],
    ['github%2Fcreate_issue', { title: 'one' }, 'created one'],
    ['github/create_issue', { title: 'two' }, 'created two'],
    ['repo/search', { query: 'q' }, 'searched q'],
  ])('POST .tools/%s with %j answers %j', async (toolPath, args, text) => {
    const response = await server.request(`/${NS}/${id}/.tools/${toolPath}`, { ...json(args), bearer: key });
    expect(response.status).toBe(200);
    const result = (await response.json()) as CallResult;
    expect(result.isError ?? false).toBe(false);
    expect(result.content).toEqual([{ type: 'text', text }]);
  });

  it('answers a tool that failed as a result with isError, status 200', async () => {
    const response = await server.request(`/${NS}/${id}/.tools/fail`, { ...json({}), bearer: key });
    expect(response.status).toBe(200);
    expect(await response.json()).toMatchObject({ isError: true, content: [{ type: 'text', text: 'this tool failed on purpose' }] });
  });

  it.each([
    ['no body and no content type', { method: 'POST' }],
    ['an empty JSON body', { method: 'POST', headers: { 'content-type': 'application/json' }, body: '' }],
    ['an empty object', json({})],
  ])('calls the tool with {} given %s', async (_, init) => {
    // request-info takes no arguments: an empty body must reach it as {}, not fail validation.
    const response = await server.request(`/${NS}/${id}/.tools/request-info`, { ...(init as RequestInit), bearer: key });
    expect(response.status).toBe(200);
    const result = (await response.json()) as CallResult;
    expect(result.isError ?? false).toBe(false);
    expect(JSON.parse(result.content[0]!.text!)).toMatchObject({ path: '/mcp' });
  });

  it.each([
    ['GET', undefined],
    ['POST', json({})],
  ])('%s of an unknown tool answers 404', async (method, init) => {
    const response = await server.request(`/${NS}/${id}/.tools/no-such-tool`, { ...init, method, bearer: key });
    expect(response.status).toBe(404);
    expect(await response.json()).toMatchObject({ error: 'not_found', message: expect.stringContaining('no-such-tool') });
  });

  it('answers arguments the tool refuses with a 4xx or an isError result, never a 5xx', async () => {
    const response = await server.request(`/${NS}/${id}/.tools/add`, { ...json({ a: 'two', b: 'three' }), bearer: key });
    const body = (await response.json()) as CallResult & { error?: string; message?: string };
    if (response.status === 200) {
      expect(body.isError).toBe(true);
    } else {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
      expect(body.error).toBe('validation_error');
      expect(body.message).toBeTruthy();
    }
  });

  it.each([
    ['a JSON array', '[1, 2]'],
    ['a JSON string', '"text"'],
    ['invalid JSON', '{"a":'],
  ])('refuses %s as arguments with 400', async (_, raw) => {
    const response = await server.request(`/${NS}/${id}/.tools/echo`, { ...json(raw), bearer: key });
    expect(response.status).toBe(400);
    expect(await response.json()).toMatchObject({ error: 'validation_error' });
  });

  it('works under the legacy /connect prefix', async () => {
    const listed = await server.request(`/connect/${NS}/${id}/.tools`, { bearer: key });
    expect(listed.status).toBe(200);
    expect(((await listed.json()) as { tools: Tool[] }).tools.map((t) => t.name)).toContain('echo');

    const one = await server.request(`/connect/${NS}/${id}/.tools/github/list_issues`, { bearer: key });
    expect(one.status).toBe(200);
    expect(await one.json()).toMatchObject({ name: 'github/list_issues' });

    const called = await server.request(`/connect/${NS}/${id}/.tools/echo`, { ...json({ message: 'legacy' }), bearer: key });
    expect(called.status).toBe(200);
    expect(await called.json()).toMatchObject({ content: [{ type: 'text', text: 'Echo: legacy' }] });
  });
});

describe('tools of every connection in a namespace', () => {
  const WIDE = 'tools-wide';
  let connected: string;
  let stopped: string;
  let unconfigured: string;

  type Envelope = { connectionId: string; name: string; status: { state: string }; tools: Tool[] | null; error: string | null };

  beforeAll(async () => {
    expect((await server.request(`/namespaces/${WIDE}`, { method: 'PUT', bearer: key })).status).toBe(201);
    connected = (await createConnection(WIDE, { mcpUrl: fixture.url, name: 'connected', metadata: { team: 'a' } })).connectionId;
    const doomedConnection = await createConnection(WIDE, { mcpUrl: doomed.url, name: 'stopped', metadata: { team: 'b' } });
    expect(doomedConnection.status.state).toBe('connected');
    stopped = doomedConnection.connectionId;
    await doomed.stop();
    const setup = await createConnection(WIDE, { mcpUrl: configuredFront.url, name: 'unconfigured', metadata: { team: 'a' } });
    expect(setup.status.state).toBe('input_required');
    unconfigured = setup.connectionId;
  });

  it('gives one envelope per connection: tools, an upstream error, or nothing while setup is needed', async () => {
    const before = configuredFront.mcpRequests;
    const response = await server.request(`/${WIDE}/.tools`, { bearer: key });
    expect(response.status).toBe(200);
    const { connections, nextCursor } = (await response.json()) as { connections: Envelope[]; nextCursor: string | null };
    expect(nextCursor).toBeNull();
    expect(connections.map((c) => c.connectionId)).toEqual([connected, stopped, unconfigured]);

    const [ok, failed, skipped] = connections as [Envelope, Envelope, Envelope];
    expect(ok).toMatchObject({ name: 'connected', status: { state: 'connected' }, error: null });
    expect(ok.tools?.map((t) => t.name)).toContain('echo');

    expect(failed.tools).toBeNull();
    expect(failed.error).toEqual(expect.any(String));
    expect(failed.error).toContain(`127.0.0.1:${doomed.port}`);

    expect(skipped).toMatchObject({
      name: 'unconfigured',
      status: { state: 'input_required', missing: { headers: ['x-api-key'], query: ['region'] } },
      tools: null,
      error: null,
    });
    // Skipped without calling the upstream.
    expect(configuredFront.mcpRequests).toBe(before);
  });

  it.each([
    ['', 'metadata.team=a', ['connected', 'unconfigured']],
    ['', 'metadata%5Bteam%5D=b', ['stopped']],
    ['', 'metadata.team=a&name=connected', ['connected']],
    ['', 'metadata.team=c', []],
    ['/connect', 'metadata.team=b', ['stopped']],
  ])('%s/{ns}/.tools?%s lists %j', async (prefix, query, names) => {
    const response = await server.request(`${prefix}/${WIDE}/.tools?${query}`, { bearer: key });
    expect(response.status).toBe(200);
    const { connections } = (await response.json()) as { connections: Envelope[] };
    expect(connections.map((c) => c.name)).toEqual(names);
  });

  it('answers a tool call whose upstream is down with 502 naming the host', async () => {
    const response = await server.request(`/${WIDE}/${stopped}/.tools/echo`, { ...json({ message: 'hi' }), bearer: key });
    expect(response.status).toBe(502);
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe('bad_gateway');
    expect(body.message).toContain(`127.0.0.1:${doomed.port}`);
  });

  it('refuses a tool call on a connection that needs configuration with 409 naming what is missing', async () => {
    const before = configuredFront.mcpRequests;
    const response = await server.request(`/${WIDE}/${unconfigured}/.tools/echo`, { ...json({ message: 'hi' }), bearer: key });
    expect(response.status).toBe(409);
    expect(response.headers.get('x-should-retry')).toBe('false');
    const body = (await response.json()) as { error: string; message: string };
    expect(body.error).toBe('conflict');
    expect(body.message).toContain('x-api-key');
    expect(body.message).toContain('region');
    expect(configuredFront.mcpRequests).toBe(before);
  });

  // Last, as it changes the namespace: shows the counting front does see the calls it counts.
  it('lists and calls its tools once the configuration is given', async () => {
    const before = configuredFront.mcpRequests;
    const set = await server.request(`/${WIDE}/${unconfigured}`, {
      ...json({ mcpUrl: `${configuredFront.url}?region=eu`, headers: { 'x-api-key': fixtureApiKey } }),
      method: 'PUT',
      bearer: key,
    });
    expect(set.status).toBe(200);
    expect(await set.json()).toMatchObject({ status: { state: 'connected' } });

    const called = await server.request(`/${WIDE}/${unconfigured}/.tools/echo`, { ...json({ message: 'configured' }), bearer: key });
    expect(called.status).toBe(200);
    expect(await called.json()).toMatchObject({ content: [{ type: 'text', text: 'Echo: configured' }] });
    expect(configuredFront.mcpRequests).toBeGreaterThan(before);

    const listed = await server.request(`/${WIDE}/.tools?metadata.team=a`, { bearer: key });
    const { connections } = (await listed.json()) as { connections: Envelope[] };
    expect(connections.map((c) => [c.name, c.error, c.tools?.length ?? null])).toEqual([
      ['connected', null, 9],
      ['unconfigured', null, 9],
    ]);
  });
});
