import fs from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  hostileJson,
  hostileString,
  invalidRequest,
  minimalValue,
  operationsOf,
  percentEncode,
  textFieldPaths,
  validShapedRequest,
  withValueAt,
  type FuzzRequest,
  type KnownValues,
  type Operation,
} from '../helpers/openapi-arbitraries.ts';
import { rawRequest, type RawResponse } from '../helpers/raw-http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * Every REST route that openapi.json lists, fuzzed over real HTTP against a real server and a
 * real upstream: requests shaped like the spec and requests that break it, as the owner's API
 * key, a service token, nobody and a bad credential. No answer may be a 5xx, every error is
 * JSON `{error, message}`, nothing hangs, and nothing of another account's namespace leaks.
 * The route list comes from the document at run time, so new routes are fuzzed too.
 */
const document = JSON.parse(fs.readFileSync(path.join(import.meta.dirname, '..', '..', 'openapi.json'), 'utf8'));
const components = document.components?.schemas ?? {};
// Deleting is saved for last, the namespace itself very last, so earlier routes find rows.
const operations = operationsOf(document).sort((a, b) => rank(a) - rank(b));
function rank(op: Operation): number {
  return op.method === 'DELETE' ? 1000 - op.path.length : 0;
}

/** Property runs per operation, each a batch of BATCH requests on average: ~20 × RUNS × BATCH cases. */
const RUNS = Number(process.env.FUZZ_RUNS ?? 30);
const BATCH = 5;
// The seed varies from run to run; fast-check prints it (and the path) on a failure, and
// FUZZ_SEED=<seed> replays that run.
if (process.env.FUZZ_SEED) fc.configureGlobal({ seed: Number(process.env.FUZZ_SEED) });
const REQUEST_DEADLINE_MS = 20_000;
const MAX_BODY_BYTES = 256 * 1024;

const HOME = 'fuzz-home';
const OTHER = 'fuzz-other';
const HOME_CONNECTION = 'home-conn';
const OTHER_CONNECTION = 'secret-conn';
/** Appears only in the other account's connection: no answer to this account may carry it. */
const otherTenantMarker = `tenant-b-${randomBytes(6).toString('hex')}`;

let server: TestServer;
let fixture: Upstream;
let refusedPort: number;
let homeKey: string;
let homeToken: string;
let otherKey: string;
let known: KnownValues;

type Auth = 'key' | 'token' | 'none' | 'bad';
/** Text PostgreSQL cannot store (NUL) or JSON cannot carry faithfully (a lone surrogate). */
const UNSTORABLE = ['a\u0000b', '\ud800x'];
const tally = { requests: 0, byStatus: new Map<number, number>(), byShape: { valid: 0, invalid: 0 }, badGateway: 0 };
const reachedProcedure = new Map<string, number>();
const mcpTally = { requests: 0, byStatus: new Map<number, number>() };

beforeAll(async () => {
  fixture = await startFixtureUpstream('sessions');
  refusedPort = await freePort();
  server = await startTestServer({
    MAX_BODY_BYTES: String(MAX_BODY_BYTES),
    UPSTREAM_TIMEOUT_MS: '5000',
    ALLOWED_UPSTREAM_HOSTS: '127.0.0.1',
    // The fuzzer's token must reach the routes, not the rate limiter.
    RATE_LIMIT_TOKEN_PER_MINUTE: '0',
  });
  homeKey = (await server.newAccount('fuzz-home')).key;
  otherKey = (await server.newAccount('fuzz-other')).key;
  const json = (bearer: string, method: string, body?: unknown) => ({
    method,
    bearer,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  expect((await server.request(`/namespaces/${HOME}`, json(homeKey, 'PUT'))).status).toBe(201);
  expect((await server.request(`/${HOME}/${HOME_CONNECTION}`, json(homeKey, 'PUT', { mcpUrl: fixture.url, metadata: { team: 'home' } }))).status).toBe(201);
  expect((await server.request(`/namespaces/${OTHER}`, json(otherKey, 'PUT'))).status).toBe(201);
  const other = await server.request(
    `/${OTHER}/${OTHER_CONNECTION}`,
    json(otherKey, 'PUT', { mcpUrl: fixture.url, name: otherTenantMarker, metadata: { team: otherTenantMarker } }),
  );
  expect(other.status).toBe(201);
  const homeWebhook = await server.request(`/namespaces/${HOME}/webhooks`, json(homeKey, 'POST', { url: `http://127.0.0.1:${refusedPort}/hook` }));
  const otherWebhook = await server.request(`/namespaces/${OTHER}/webhooks`, json(otherKey, 'POST', { url: `http://127.0.0.1:${refusedPort}/hook`, description: otherTenantMarker }));
  expect([homeWebhook.status, otherWebhook.status]).toEqual([201, 201]);
  const webhookIds = [((await homeWebhook.json()) as { webhookId: string }).webhookId, ((await otherWebhook.json()) as { webhookId: string }).webhookId];
  const minted = await server.request('/tokens', json(homeKey, 'POST', {}));
  homeToken = ((await minted.json()) as { token: string }).token;

  const namespaces = [HOME, OTHER, 'fuzz-scratch'];
  known = {
    byName: {
      namespace: namespaces,
      name: [...namespaces, HOME_CONNECTION],
      connectionId: [HOME_CONNECTION, OTHER_CONNECTION, 'fuzz-new-conn'],
      toolPath: ['echo', 'add', 'fail', 'repo.search', 'repo/search', 'github/create_issue', 'github', 'request-info', 'no-such-tool'],
      mcpUrl: [
        fixture.url,
        `http://127.0.0.1:${refusedPort}/mcp`,
        'http://fuzz.invalid/mcp',
        'ftp://127.0.0.1/mcp',
        'javascript:alert(1)',
        'http://user:pw@127.0.0.1/mcp',
        'http://[::1',
        `${fixture.url}?region=eu#frag`,
      ],
      returnUrl: ['https://app.example.com/back', 'javascript:alert(1)', '//evil.example'],
      issuer: ['https://issuer.invalid', 'http://127.0.0.1:1'],
      cursor: ['eyJ0IjoxfQ', 'null', '0'],
      webhookId: [...webhookIds, 'wh_aaaaaaaaaaaaaaaa'],
      url: [`http://127.0.0.1:${refusedPort}/hook`, 'http://fuzz.invalid/hook', 'ftp://127.0.0.1/hook', 'http://10.0.0.1/hook', 'http://[::1'],
      events: ['connection.status_changed', 'connection.deleted', 'webhook.test', 'nope'],
    },
    toolArguments: [{ message: 'hi' }, { message: '\u0000\ud800' }, { a: 1, b: 2 }, { a: 'x', b: null }, {}, { title: 'x' }, { query: 'q' }],
  };
});

afterAll(async () => {
  const statuses = [...tally.byStatus.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}:${count}`);
  console.log(
    `fuzz: ${tally.requests} requests over ${operations.length} operations (${tally.byShape.valid} spec-shaped, ${tally.byShape.invalid} spec-breaking); statuses ${statuses.join(' ')}; 502 from fuzz-made connections to a refused port: ${tally.badGateway}`,
  );
  const mcpStatuses = [...mcpTally.byStatus.entries()].sort(([a], [b]) => a - b).map(([status, count]) => `${status}:${count}`);
  console.log(`fuzz: ${mcpTally.requests} requests to the MCP endpoint; statuses ${mcpStatuses.join(' ')}`);
  await server?.close();
  await fixture?.stop();
});

function bearerFor(auth: Auth): string | undefined {
  if (auth === 'key') return homeKey;
  if (auth === 'token') return homeToken;
  if (auth === 'bad') return 'sk_live_not-a-real-key';
  return undefined;
}

async function send(request: FuzzRequest, auth: Auth): Promise<RawResponse> {
  const bearer = bearerFor(auth);
  return rawRequest(server.port, {
    method: request.method,
    target: request.target,
    headers: [...(bearer ? [['authorization', `Bearer ${bearer}`] as [string, string]] : []), ...request.headers],
    body: request.body,
    timeoutMs: REQUEST_DEADLINE_MS,
  });
}

/** What must hold for every answer; throws with the request and answer so shrinking can show them. */
function checkAnswer(op: Operation, request: FuzzRequest, auth: Auth, response: RawResponse): void {
  const where = `${request.method} ${request.target.slice(0, 300)} as ${auth} -> ${response.status} ${response.body.slice(0, 300)}`;
  tally.requests++;
  tally.byShape[request.shape]++;
  tally.byStatus.set(response.status, (tally.byStatus.get(response.status) ?? 0) + 1);
  // 502 only where the route itself calls an upstream that the fuzzer pointed at a refused
  // port (a connection it created with such an mcpUrl): the healthy connection never yields it.
  const callsUpstream = op.path.includes('.tools');
  const isBrokenUpstream = response.status === 502 && callsUpstream && request.params.connectionId !== HOME_CONNECTION;
  if (isBrokenUpstream) tally.badGateway++;
  if (response.status >= 500 && !isBrokenUpstream) throw new Error(`5xx: ${where}`);
  if (response.status < 100 || response.status > 599) throw new Error(`no status: ${where}`);
  if (response.status >= 400) {
    const contentType = response.headers['content-type']?.[0] ?? '';
    if (!contentType.startsWith('application/json')) throw new Error(`error without JSON content type: ${where}`);
    const body = JSON.parse(response.body) as Record<string, unknown>;
    if (typeof body.error !== 'string' || typeof body.message !== 'string') throw new Error(`error body is not {error, message}: ${where}`);
  } else if (response.body.length > 0) {
    JSON.parse(response.body);
  }
  if (response.status !== 401 && response.status !== 404) reachedProcedure.set(opName(op), (reachedProcedure.get(opName(op)) ?? 0) + 1);
  if (response.body.includes(otherTenantMarker)) throw new Error(`another account's data leaked: ${where}`);
  const aboutOther = request.params.namespace === OTHER || request.params.name === OTHER;
  if (aboutOther && response.status < 300) throw new Error(`reached another account's namespace: ${where}`);
}

function opName(op: Operation): string {
  return `${op.method} ${op.path}`;
}

const auths = fc.constantFrom<Auth>('key', 'key', 'key', 'key', 'token', 'token', 'none', 'bad');

/**
 * The MCP endpoint is not in openapi.json: its own property, with JSON-RPC shaped messages
 * (any method, params, id; notifications, responses, batches) and garbage, over the healthy
 * connection. Errors there are JSON-RPC error objects or `{error, message}`, never a 5xx.
 */
const jsonRpcId = fc.oneof(fc.integer(), hostileString, fc.constant(null), fc.constant({}), fc.double());
const jsonRpcMessage = fc.oneof(
  fc.record(
    {
      jsonrpc: fc.oneof({ weight: 5, arbitrary: fc.constant('2.0') }, { weight: 1, arbitrary: hostileJson }),
      id: fc.oneof({ weight: 4, arbitrary: fc.nat() }, { weight: 1, arbitrary: jsonRpcId }),
      method: fc.oneof(fc.constantFrom('tools/list', 'tools/call', 'initialize', 'ping', 'resources/list', 'prompts/get', 'server/discover', 'notifications/initialized'), hostileString),
      params: fc.oneof(
        hostileJson,
        fc.record({ name: fc.constantFrom('echo', 'add', 'fail', 'nope'), arguments: fc.dictionary(fc.constantFrom('message', 'a', 'b', 'x'), hostileJson) }),
        fc.record({ name: fc.constantFrom('echo', 'add', 'fail', 'nope'), arguments: fc.dictionary(fc.constantFrom('message', 'a', 'b', 'x'), hostileJson) }),
        fc.record({ protocolVersion: fc.constantFrom('2025-11-25', '2025-03-26', '1999-01-01'), capabilities: hostileJson, clientInfo: hostileJson }),
      ),
    },
    { requiredKeys: ['jsonrpc', 'method'] },
  ),
  fc.record({ jsonrpc: fc.constant('2.0'), id: jsonRpcId, result: hostileJson }),
  hostileJson,
);
const mcpBody = fc.oneof(
  { weight: 6, arbitrary: jsonRpcMessage.map((m) => JSON.stringify(m) ?? 'null') },
  { weight: 1, arbitrary: fc.array(jsonRpcMessage, { minLength: 0, maxLength: 3 }).map((m) => JSON.stringify(m)) },
  { weight: 1, arbitrary: fc.constantFrom('{', '', 'null', '[]', '{"jsonrpc":"2.0","method":"tools/list","id":1}{}') },
);

describe('fuzzing the MCP endpoint', () => {
  it('never answers 5xx to JSON-RPC shaped messages or garbage', async () => {
    const mcp = fc.record({
      body: mcpBody,
      contentType: fc.oneof({ weight: 8, arbitrary: fc.constant('application/json') }, { weight: 1, arbitrary: fc.constantFrom('text/plain', 'application/json; charset=latin1') }),
      accept: fc.constantFrom('application/json, text/event-stream', 'application/json', 'text/event-stream', '*/*'),
      session: fc.option(fc.constantFrom('smithery-stateless', 'x', ''), { nil: undefined }),
      protocol: fc.option(fc.constantFrom('2025-11-25', '2026-07-28', 'garbage'), { nil: undefined }),
      method: fc.oneof({ weight: 8, arbitrary: fc.constant('POST') }, { weight: 1, arbitrary: fc.constantFrom('GET', 'DELETE', 'PUT') }),
      auth: auths,
    });
    await fc.assert(
      fc.asyncProperty(fc.array(mcp, { minLength: 1, maxLength: BATCH * 2 - 1 }), async (requests) => {
        const answers = await Promise.all(
          requests.map((r) => {
            const bearer = bearerFor(r.auth);
            const headers: [string, string][] = [['content-type', r.contentType], ['accept', r.accept]];
            if (bearer) headers.push(['authorization', `Bearer ${bearer}`]);
            if (r.session !== undefined) headers.push(['mcp-session-id', r.session]);
            if (r.protocol !== undefined) headers.push(['mcp-protocol-version', r.protocol]);
            return rawRequest(server.port, { method: r.method, target: `/connect/${HOME}/${HOME_CONNECTION}/mcp`, headers, body: r.body, timeoutMs: REQUEST_DEADLINE_MS });
          }),
        );
        answers.forEach((answer, i) => {
          const where = `${requests[i]!.method} ${requests[i]!.body.slice(0, 200)} as ${requests[i]!.auth} -> ${answer.status} ${answer.body.slice(0, 200)}`;
          mcpTally.requests++;
          mcpTally.byStatus.set(answer.status, (mcpTally.byStatus.get(answer.status) ?? 0) + 1);
          if (answer.status >= 500) throw new Error(`5xx: ${where}`);
          if (answer.status >= 400 && answer.body.length > 0) JSON.parse(answer.body);
          if (answer.body.includes(otherTenantMarker)) throw new Error(`another account's data leaked: ${where}`);
        });
      }),
      { numRuns: RUNS * 2 },
    );
  }, 120_000);
});

// Before the fuzzing below, which may delete the namespace these use.
describe('text the database cannot hold, in every field the spec names', () => {
  it.each(operations.map((op) => [opName(op), op] as const))(
    '%s: NUL and unpaired surrogates in each field, parameter and map key, one at a time, never reach the database',
    async (_name, op) => {
      const requests: FuzzRequest[] = [];
      const pathValues = Object.fromEntries(op.pathParams.map((p) => [p.name, String(minimalValue(p.schema ?? {}, components, known, p.name))]));
      const target = (values: Record<string, string>, query = '') =>
        op.path.replace(/\{([^}]+)\}/g, (_whole, name: string) => percentEncode(values[name]!)) + query;
      const base = op.body ? minimalValue(op.body.schema, components, known) : undefined;
      const body = (value: unknown) => (value === undefined ? undefined : JSON.stringify(value));
      const headers: [string, string][] = op.body ? [['content-type', 'application/json']] : [];
      for (const bad of UNSTORABLE) {
        for (const param of op.pathParams) {
          requests.push({ method: op.method, target: target({ ...pathValues, [param.name]: bad }), headers, body: body(base), shape: 'invalid', params: pathValues });
        }
        for (const param of op.queryParams) {
          const name = param.style === 'deepObject' ? `${param.name}[${bad}]` : param.name;
          requests.push({ method: op.method, target: target(pathValues, `?${percentEncode(name)}=${percentEncode(bad)}`), headers, body: body(base), shape: 'invalid', params: pathValues });
        }
        for (const field of op.body ? textFieldPaths(op.body.schema, components) : []) {
          requests.push({ method: op.method, target: target(pathValues), headers, body: body(withValueAt(base, field, bad)), shape: 'invalid', params: pathValues });
        }
      }
      const answers = await Promise.all(requests.map((request) => send(request, 'key')));
      answers.forEach((answer, i) => checkAnswer(op, requests[i]!, 'key', answer));
    },
  );
});

describe('fuzzing every route in openapi.json', () => {
  it('finds the routes to fuzz in the document', () => {
    expect(operations.length).toBeGreaterThanOrEqual(15);
  });

  for (const op of operations) {
    it(`${opName(op)} never answers 5xx, always answers errors as JSON`, async () => {
      const request = fc.oneof(validShapedRequest(op, components, known), invalidRequest(op, components, known));
      // Each run sends a small batch at once: more cases in the time, and concurrency besides.
      const batch = fc.array(fc.tuple(request, auths), { minLength: 1, maxLength: BATCH * 2 - 1 });
      await fc.assert(
        fc.asyncProperty(batch, async (requests) => {
          const answers = await Promise.all(requests.map(([request, auth]) => send(request, auth)));
          answers.forEach((answer, i) => checkAnswer(op, requests[i]![0], requests[i]![1], answer));
        }),
        { numRuns: RUNS },
      );
      // The fuzzer must get past authentication and routing, or it tests only the front door.
      expect(reachedProcedure.get(opName(op)) ?? 0, `${opName(op)}: no request got past 401/404`).toBeGreaterThan(0);
    }, 120_000);
  }

  it('leaves the server answering and the other account’s data untouched', async () => {
    const health = await server.request('/health');
    expect(health.status).toBe(200);
    const other = await server.request(`/${OTHER}/${OTHER_CONNECTION}`, { bearer: otherKey });
    expect(other.status).toBe(200);
    expect(await other.json()).toMatchObject({ name: otherTenantMarker, metadata: { team: otherTenantMarker } });
    expect(tally.requests).toBeGreaterThan(operations.length * RUNS * 2);
    // Every fuzz request asked to close its socket: none may be left open on the server (a few
    // kept-alive ones from the setup's fetch calls may remain).
    const deadline = Date.now() + 15_000;
    let open = Infinity;
    while (Date.now() < deadline) {
      open = await new Promise<number>((resolve) => server.httpServer.getConnections((_error, count) => resolve(count)));
      if (open <= 5) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(open).toBeLessThanOrEqual(5);
  });
});
