import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFirstKeyWins, startFirstKeyWinsFront, type FirstKeyWinsFront } from '../helpers/first-key-wins.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * What the MCP endpoint forwards is what the token's policies judged. JSON.parse keeps the last
 * of duplicate keys; an upstream may keep the first. Each upstream here sits behind a front that
 * reads JSON first-key-wins, and the token allows only `tools/call` of `echo` with the message
 * `hi`: a body that spells something else first must not run it upstream. Bodies nested deeper
 * than any request needs are refused before anything is forwarded.
 */

type JsonRpcAnswer = { id?: unknown; result?: { content?: { text: string }[] }; error?: { code: number; message: string } };

let server: TestServer;
let key: string;
let echoOnly: string;
const upstreams: Upstream[] = [];
const fronts = {} as Record<'sessions' | 'modern', FirstKeyWinsFront>;
const connections = {} as Record<'sessions' | 'modern', string>;
const NS = 'forwarded-message';

beforeAll(async () => {
  server = await startTestServer({ UPSTREAM_TIMEOUT_MS: '10000' });
  key = (await server.newAccount()).key;
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
  for (const era of ['sessions', 'modern'] as const) {
    const upstream = await startFixtureUpstream(era);
    upstreams.push(upstream);
    fronts[era] = await startFirstKeyWinsFront(upstream.port);
    const created = await server.request(`/${NS}/${era}`, {
      method: 'PUT',
      bearer: key,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ mcpUrl: fronts[era].url }),
    });
    expect(created.status).toBe(201);
    expect(((await created.json()) as { status: { state: string } }).status.state).toBe('connected');
    connections[era] = era;
  }
  const minted = await server.request('/tokens', {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ policy: [{ rpcReqMatch: { method: '^tools/call$', 'params.name': '^echo$', 'params.arguments.message': '^hi$' } }] }),
  });
  expect(minted.status).toBe(200);
  echoOnly = ((await minted.json()) as { token: string }).token;
});

afterAll(async () => {
  await Promise.allSettled(Object.values(fronts).map((front) => front.close()));
  await Promise.allSettled(upstreams.map((upstream) => upstream.stop()));
  await server?.close();
});

function post(era: 'sessions' | 'modern', body: string, bearer = echoOnly): Promise<Response> {
  return server.request(`/connect/${NS}/${connections[era]}/mcp`, {
    method: 'POST',
    bearer,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' },
    body,
  });
}

async function answersOf(response: Response): Promise<JsonRpcAnswer[]> {
  const text = await response.text();
  if ((response.headers.get('content-type') ?? '').startsWith('text/event-stream')) {
    return text
      .split(/\r?\n/)
      .filter((line) => line.startsWith('data:') && line.slice(5).trim() !== '')
      .map((line) => JSON.parse(line.slice(5)) as JsonRpcAnswer);
  }
  return [JSON.parse(text) as JsonRpcAnswer | JsonRpcAnswer[]].flat();
}

/** The envelope a 2026-era client sends itself (forwarded to a 2026 upstream as it is). */
const META =
  '"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28","io.modelcontextprotocol/clientCapabilities":{},"io.modelcontextprotocol/clientInfo":{"name":"t","version":"1"}}';

const call = (params: string, method = '"method":"tools/call"') => `{"jsonrpc":"2.0","id":7,${method},"params":${params}}`;

/** Each body passes the policy as JSON.parse reads it; read first-key-wins, it asks for something else. */
const smuggled: [string, string][] = [
  ['a duplicate params', call('{"name":"add","arguments":{"a":1,"b":2}},"params":{"name":"echo","arguments":{"message":"hi"}}')],
  ['a duplicate params.name', call('{"name":"add","name":"echo","arguments":{"message":"hi","a":1,"b":2}}')],
  ['a duplicate method', call('{"name":"echo","arguments":{"message":"hi"}}', '"method":"tools/list","method":"tools/call"')],
  ['a duplicate method spelled with an escape', call('{"name":"echo","arguments":{"message":"hi"}}', '"met\\u0068od":"tools/list","method":"tools/call"')],
  ['a duplicate key deep in arguments', call('{"name":"echo","arguments":{"message":"smuggled","message":"hi"}}')],
  ['a duplicate params in a 2026-era envelope', call(`{"name":"add","arguments":{"a":1,"b":2},${META}},"params":{"name":"echo","arguments":{"message":"hi"},${META}}`)],
  ['a duplicate name spelled with an escape', call('{"n\\u0061me":"add","name":"echo","arguments":{"message":"hi","a":1,"b":2}}')],
];

describe.each(['sessions', 'modern'] as const)('duplicate keys, %s upstream reading first-key-wins', (era) => {
  it.each(smuggled)('%s: the upstream runs what was allowed (echo "hi")', async (_label, body) => {
    const before = fronts[era].bodies.length;
    const response = await post(era, body);
    const answers = await answersOf(response);
    expect(response.status, JSON.stringify(answers)).toBe(200);
    const answer = answers.find((one) => one.id === 7);
    expect(answer?.error, JSON.stringify(answer)).toBeUndefined();
    expect(answer?.result?.content?.[0]?.text).toBe('Echo: hi');
    // What went upstream has one reading, whichever key wins.
    const forwarded = fronts[era].bodies.slice(before).find((one) => one.includes('"tools/'))!;
    expect(forwarded).toBeDefined();
    expect(parseFirstKeyWins(forwarded)).toEqual(JSON.parse(forwarded));
  });

  it('a message the policy refuses is not forwarded at all', async () => {
    const before = fronts[era].bodies.length;
    const response = await post(era, call('{"name":"echo","arguments":{"message":"hi"}}', '"method":"tools/call","method":"tools/list"'));
    expect(response.status).toBe(403);
    expect(fronts[era].bodies.length).toBe(before);
  });
});

describe('batches (2025-era upstream)', () => {
  it('every message of a batch goes upstream as it was checked', async () => {
    const before = fronts.sessions.bodies.length;
    const response = await post('sessions', `[${smuggled[0]![1]}]`);
    await response.text();
    const forwarded = fronts.sessions.bodies.slice(before).find((one) => one.startsWith('['));
    // However the upstream answers a batch, it was sent nothing the policy did not see.
    if (forwarded !== undefined) {
      expect(parseFirstKeyWins(forwarded)).toEqual(JSON.parse(forwarded));
      expect((parseFirstKeyWins(forwarded) as { params: { name: string } }[])[0]!.params.name).toBe('echo');
    } else {
      expect(response.status).toBeGreaterThanOrEqual(400);
      expect(response.status).toBeLessThan(500);
    }
  });
});

describe('nesting depth', () => {
  const nested = (depth: number) => `{"jsonrpc":"2.0","id":9,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hi","deep":${'['.repeat(depth)}${']'.repeat(depth)}}}}`;

  it.each([
    ['400,000 levels (a stack-breaker for a Node upstream)', 400_000],
    ['just over the limit (65 levels in all)', 62],
  ])('%s: 400 with a JSON-RPC error, nothing forwarded', async (_label, depth) => {
    const before = fronts.sessions.bodies.length;
    const response = await post('sessions', nested(depth), key);
    expect(response.status).toBe(400);
    const [answer] = await answersOf(response);
    expect(answer).toMatchObject({ error: { code: -32600, message: expect.stringMatching(/nests more than 64 levels/) } });
    expect(fronts.sessions.bodies.length).toBe(before);
  });

  it('a body at the limit (64 levels) is forwarded', async () => {
    const response = await post('sessions', nested(61), key);
    const answers = await answersOf(response);
    expect(answers.find((one) => one.id === 9)?.result?.content?.[0]?.text).toBe('Echo: hi');
  });
});

describe('the 2026 envelope’s headers (modern upstream)', () => {
  /** The headers and body the upstream got for the one message `body` sent (the API key allows anything). */
  async function forwardedFor(body: string): Promise<{ headers: Record<string, unknown>; body: { params: Record<string, unknown> } }> {
    const before = fronts.modern.bodies.length;
    await (await post('modern', body, key)).text();
    const index = fronts.modern.bodies.findIndex((one, at) => at >= before && one.includes('"id":7'));
    expect(index, 'the message went upstream').toBeGreaterThanOrEqual(0);
    return { headers: fronts.modern.headers[index]!, body: JSON.parse(fronts.modern.bodies[index]!) };
  }

  it.each([
    ['resources/read names its uri, not a name it also carries', 'resources/read', '{"name":"other","uri":"file:///asked"}', 'file:///asked'],
    ['tools/call names its name, not a uri it also carries', 'tools/call', '{"uri":"file:///other","name":"echo","arguments":{"message":"hi"}}', 'echo'],
    ['prompts/get names its name', 'prompts/get', '{"uri":"file:///other","name":"greeting"}', 'greeting'],
    ['tools/list names nothing', 'tools/list', '{"name":"echo","uri":"file:///other"}', undefined],
  ])('%s', async (_label, method, params, named) => {
    const forwarded = await forwardedFor(call(params, `"method":"${method}"`));
    expect(forwarded.headers['mcp-method']).toBe(method);
    expect(forwarded.headers['mcp-name']).toBe(named);
  });

  it('a known protocol version the client names in _meta is what the header says', async () => {
    const forwarded = await forwardedFor(call(`{"name":"echo","arguments":{"message":"hi"},${META}}`));
    expect(forwarded.headers['mcp-protocol-version']).toBe('2026-07-28');
    expect((forwarded.body.params._meta as Record<string, unknown>)['io.modelcontextprotocol/protocolVersion']).toBe('2026-07-28');
  });

  it.each([
    ['a version nobody knows', '"1999-01-01"'],
    ['a header-shaped string', '"2026-07-28, 1999-01-01"'],
    ['a number', '20260728'],
    ['null', 'null'],
  ])('a protocol version in _meta that is %s is refused with invalid params, and nothing is forwarded', async (_label, version) => {
    const before = fronts.modern.bodies.length;
    const response = await post('modern', call(`{"name":"echo","arguments":{"message":"hi"},"_meta":{"io.modelcontextprotocol/protocolVersion":${version}}}`), key);
    const [answer] = await answersOf(response);
    expect(response.status, JSON.stringify(answer)).toBe(400);
    expect(answer).toMatchObject({ id: 7, error: { code: -32602, message: expect.stringMatching(/protocol version/) } });
    expect(fronts.modern.bodies.slice(before).some((one) => one.includes('"id":7'))).toBe(false);
  });
});
