import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { completeLoginWithFetch, expectOneRefreshPerExpiry, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { testDatabaseKind } from '../helpers/database.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { deliverCallback, startAuthorizationWithFetch } from '../helpers/authorization-link.ts';

/**
 * Many calls hitting an expired upstream access token at once: Switchboard refreshes it exactly
 * once (per process the calls share one refresh; across replicas on one PostgreSQL the row lock
 * makes the second process find the token the first one stored), and no call fails. The
 * authorization server's own counters are the witness.
 */
const ACCESS_TOKEN_TTL_SECONDS = 3;
/** Past the token's expiry, by Switchboard's clock and the upstream's. */
const PAST_EXPIRY_MS = ACCESS_TOKEN_TTL_SECONDS * 1000 + 500;

let upstream: OAuthUpstream;

beforeAll(async () => {
  upstream = await startOAuthUpstream({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS });
});
afterAll(async () => {
  await upstream?.stop();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type CallResult = { content?: { type: string; text?: string }[]; isError?: boolean };
type Via = 'mcp' | 'rest';
type Outcome = { via: Via; server: string; status: number; failure?: string; sub?: string };

/** Creates a namespace and a connection to the upstream; it needs authorization first. */
async function createConnection(server: TestServer, key: string, namespace: string): Promise<{ id: string; authorizationUrl: string }> {
  expect((await server.request(`/namespaces/${namespace}`, { method: 'PUT', bearer: key })).status).toBe(201);
  const created = await server.request(`/${namespace}`, {
    method: 'POST',
    bearer: key,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl: upstream.mcpUrl, name: 'protected' }),
  });
  expect(created.status).toBe(201);
  const connection = (await created.json()) as { connectionId: string; status: { state: string; authorizationUrl?: string } };
  expect(connection.status.state).toBe('auth_required');
  return { id: connection.connectionId, authorizationUrl: connection.status.authorizationUrl! };
}

/** The end user's walk: our link → the AS (login, consent) → our callback, which exchanges the code. */
async function authorize(authorizationUrl: string): Promise<void> {
  const callback = await completeLoginWithFetch(await startAuthorizationWithFetch(authorizationUrl), 'alice');
  const completed = await deliverCallback(callback);
  expect(completed.status, await completed.text()).toBe(200);
}

/** The JSON-RPC message answering request `id`, from a JSON or an event-stream body. */
function jsonRpcAnswer(contentType: string | null, text: string): { result?: CallResult; error?: { code: number; message: string } } | undefined {
  if (!contentType?.startsWith('text/event-stream')) return JSON.parse(text) as never;
  for (const line of text.split('\n')) {
    if (!line.startsWith('data:')) continue;
    const message = JSON.parse(line.slice(5)) as { id?: unknown };
    if (message.id !== undefined) return message as never;
  }
  return undefined;
}

/** `whoami` once, over the MCP endpoint or the REST tool route; never throws, reports what went wrong. */
async function whoami(server: TestServer, key: string, namespace: string, id: string, via: Via, n: number): Promise<Outcome> {
  const outcome: Outcome = { via, server: server.url, status: 0 };
  try {
    let result: CallResult | undefined;
    if (via === 'mcp') {
      const response = await server.request(`/connect/${namespace}/${id}/mcp`, {
        method: 'POST',
        bearer: key,
        headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream' },
        body: JSON.stringify({ jsonrpc: '2.0', id: n, method: 'tools/call', params: { name: 'whoami', arguments: {} } }),
      });
      outcome.status = response.status;
      const text = await response.text();
      const answer = jsonRpcAnswer(response.headers.get('content-type'), text);
      if (response.status !== 200 || !answer?.result) return { ...outcome, failure: text.slice(0, 300) };
      result = answer.result;
    } else {
      const response = await server.request(`/${namespace}/${id}/.tools/whoami`, {
        method: 'POST',
        bearer: key,
        headers: { 'content-type': 'application/json' },
        body: '{}',
      });
      outcome.status = response.status;
      const text = await response.text();
      if (response.status !== 200) return { ...outcome, failure: text.slice(0, 300) };
      result = JSON.parse(text) as CallResult;
    }
    if (result.isError) return { ...outcome, failure: JSON.stringify(result).slice(0, 300) };
    outcome.sub = (JSON.parse(result.content?.[0]?.text ?? '{}') as { sub?: string }).sub;
    return outcome;
  } catch (error) {
    return { ...outcome, failure: (error as Error).message };
  }
}

const failed = (outcomes: Outcome[]) => outcomes.filter((o) => o.failure !== undefined || o.sub !== 'alice');
const refreshCounts = async () => {
  const { as } = await upstream.stats();
  return { refreshGrants: as.refreshGrants, refreshFailures: as.refreshFailures, authorizationCodeGrants: as.authorizationCodeGrants };
};

describe.skipIf(testDatabaseKind !== 'postgres')('two replicas on one PostgreSQL, many calls at one expiry', () => {
  let primary: TestServer;
  let replica: TestServer;
  let key: string;
  let connectionId: string;
  const NS = 'refresh-race';

  beforeAll(async () => {
    primary = await startTestServer();
    // Replicas behind one load balancer share PUBLIC_URL (the OAuth callback, the client's redirect_uri).
    replica = await startTestServer({ PUBLIC_URL: primary.url }, { replicaOf: primary });
    ({ key } = await primary.newAccount());
    const { id, authorizationUrl } = await createConnection(primary, key, NS);
    connectionId = id;
    await authorize(authorizationUrl);
  });
  afterAll(async () => {
    await replica?.close();
    await primary?.close();
  });

  it('serves the authorized connection on both replicas (one call each opens their sessions)', async () => {
    const warm = await Promise.all([whoami(primary, key, NS, connectionId, 'mcp', 1), whoami(replica, key, NS, connectionId, 'rest', 2)]);
    expect(failed(warm)).toEqual([]);
    expect(await refreshCounts()).toMatchObject({ refreshGrants: 0, refreshFailures: 0, authorizationCodeGrants: 1 });
  });

  it.each([['first'], ['second']])('refreshes exactly once when 50 calls across both replicas meet the %s expiry', async () => {
    const before = await refreshCounts();
    await sleep(PAST_EXPIRY_MS);
    const started = Date.now();
    const outcomes = await Promise.all(
      Array.from({ length: 50 }, (_, n) =>
        whoami(n % 2 === 0 ? primary : replica, key, NS, connectionId, Math.floor(n / 2) % 2 === 0 ? 'mcp' : 'rest', 100 + n),
      ),
    );
    expect(failed(outcomes)).toEqual([]);
    // Both replicas and both routes were in the race.
    expect(new Set(outcomes.map((o) => `${o.server} ${o.via}`)).size).toBe(4);
    const after = await refreshCounts();
    expectOneRefreshPerExpiry(after.refreshGrants - before.refreshGrants, Date.now() - started, ACCESS_TOKEN_TTL_SECONDS);
    expect(after).toMatchObject({ refreshFailures: before.refreshFailures, authorizationCodeGrants: before.authorizationCodeGrants });
  });
});

describe('one server, many calls at one expiry', () => {
  let server: TestServer;
  let key: string;
  let connectionId: string;
  const NS = 'refresh-single';

  beforeAll(async () => {
    server = await startTestServer();
    ({ key } = await server.newAccount());
    const { id, authorizationUrl } = await createConnection(server, key, NS);
    connectionId = id;
    await authorize(authorizationUrl);
    expect(failed([await whoami(server, key, NS, connectionId, 'mcp', 1)])).toEqual([]);
  });
  afterAll(async () => {
    await server?.close();
  });

  it('refreshes exactly once when 30 calls (MCP and REST) meet the expired token', async () => {
    const before = await refreshCounts();
    await sleep(PAST_EXPIRY_MS);
    const started = Date.now();
    const outcomes = await Promise.all(Array.from({ length: 30 }, (_, n) => whoami(server, key, NS, connectionId, n % 2 === 0 ? 'mcp' : 'rest', 200 + n)));
    expect(failed(outcomes)).toEqual([]);
    const after = await refreshCounts();
    expectOneRefreshPerExpiry(after.refreshGrants - before.refreshGrants, Date.now() - started, ACCESS_TOKEN_TTL_SECONDS);
    expect(after.refreshFailures).toBe(before.refreshFailures);
  });
});
