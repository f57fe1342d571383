import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/processes.ts';
import { canary } from '../helpers/canary.ts';
import { completeLoginWithFetch, expectOneRefreshPerExpiry, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { deliverCallback, startAuthorizationWithFetch } from '../helpers/authorization-link.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * Upstream OAuth end to end over HTTP, the end user played with fetch: a connection to a protected
 * MCP server asks for authorization, the signed link starts PKCE at a real authorization server
 * (oidc-provider), the callback exchanges the code, and calls then carry the token: refreshed once
 * per expiry, widened on step-up, given up when the refresh is refused, revoked on delete. Then
 * pre-registered clients, by API and CLI. Both servers' counters are the witnesses.
 */
const ACCESS_TOKEN_TTL_SECONDS = 2;
/** Past an access token's expiry, by every clock involved. */
const PAST_EXPIRY_MS = ACCESS_TOKEN_TTL_SECONDS * 1000 + 400;

let server: TestServer;
let upstream: OAuthUpstream;
let owner: { key: string; accountId: string };
let ns: string;
/** Everything the server wrote on its sockets: the AS-generated client secret (not a canary) must never be in it. */
const sent: string[] = [];

beforeAll(async () => {
  [upstream, server] = await Promise.all([startOAuthUpstream({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS }), startTestServer()]);
  server.httpServer.on('connection', (socket) => {
    const write = socket.write.bind(socket) as (...args: unknown[]) => boolean;
    socket.write = ((chunk: unknown, ...rest: unknown[]) => {
      sent.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('latin1'));
      return write(chunk, ...rest);
    }) as typeof socket.write;
  });
  owner = await server.newAccount('oauth-owner');
  ns = ((await (await server.request('/namespaces', { method: 'POST', bearer: owner.key })).json()) as { name: string }).name;
});
afterAll(async () => {
  await upstream?.stop();
  await server?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

type Status = { state: string; authorizationUrl?: string; setupUrl?: string };
type Connection = { connectionId: string; status: Status; serverInfo?: { name: string; version: string } };
type CallResult = { content: { type: string; text?: string }[]; isError?: boolean };
type JsonRpcAnswer = { id?: unknown; result?: CallResult; error?: { code: number; message: string; data?: Record<string, unknown> } };

function send(method: string, pathname: string, body?: unknown, bearer = owner.key): Promise<Response> {
  return server.request(pathname, {
    method,
    bearer,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
}

async function createConnection(extra: Record<string, unknown> = {}): Promise<Connection> {
  const response = await send('POST', `/${ns}`, { mcpUrl: upstream.mcpUrl, ...extra });
  const body = (await response.json()) as Connection;
  expect(response.status, JSON.stringify(body)).toBe(201);
  return body;
}

async function getConnection(id: string): Promise<Connection> {
  const response = await send('GET', `/${ns}/${id}`);
  expect(response.status).toBe(200);
  return (await response.json()) as Connection;
}

/** Opens our authorization link as a browser would and continues it: where it sends the browser (the authorization server). */
const openLink = (link: string): Promise<URL> => startAuthorizationWithFetch(link);

/** The whole walk for a connection needing authorization: link → AS login → our callback's answer. */
async function authorize(link: string, login: string): Promise<{ authorizationRequest: URL; callback: Response }> {
  const authorizationRequest = await openLink(link);
  const callbackUrl = await completeLoginWithFetch(authorizationRequest, login);
  return { authorizationRequest, callback: await deliverCallback(callbackUrl) };
}

async function connectedConnection(login: string): Promise<Connection> {
  const created = await createConnection();
  const { callback } = await authorize(created.status.authorizationUrl!, login);
  expect(callback.status, await callback.text()).toBe(200);
  return getConnection(created.connectionId);
}

async function restCall(id: string, tool: string, args: Record<string, unknown> = {}): Promise<{ status: number; body: CallResult & { error?: string; message?: string } }> {
  const response = await send('POST', `/${ns}/${id}/.tools/${tool}`, args);
  return { status: response.status, body: (await response.json()) as never };
}

let rpcId = 1;
/** tools/call over the MCP endpoint, as the official helper sends it (no handshake). */
async function mcpCall(id: string, tool: string, args: Record<string, unknown> = {}): Promise<{ status: number; answer: JsonRpcAnswer }> {
  const requestId = rpcId++;
  const response = await server.request(`/connect/${ns}/${id}/mcp`, {
    method: 'POST',
    bearer: owner.key,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' },
    body: JSON.stringify({ jsonrpc: '2.0', id: requestId, method: 'tools/call', params: { name: tool, arguments: args } }),
  });
  const text = await response.text();
  const messages: JsonRpcAnswer[] = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? text
        .split('\n')
        .filter((line) => line.startsWith('data:') && line.slice(5).trim() !== '')
        .map((line) => JSON.parse(line.slice(5)) as JsonRpcAnswer)
    : [JSON.parse(text) as JsonRpcAnswer];
  const answer = messages.find((message) => message.id === requestId);
  expect(answer, `HTTP ${response.status}: ${text.slice(0, 300)}`).toBeDefined();
  return { status: response.status, answer: answer! };
}

const subOf = (result: CallResult) => (JSON.parse(result.content[0]?.text ?? '{}') as { sub?: string; scopes?: string[] }).sub;

async function expectWhoami(id: string, login: string): Promise<void> {
  const rest = await restCall(id, 'whoami');
  expect(rest.status, JSON.stringify(rest.body)).toBe(200);
  expect(subOf(rest.body)).toBe(login);
  const mcp = await mcpCall(id, 'whoami');
  expect(mcp.status, JSON.stringify(mcp.answer)).toBe(200);
  expect(subOf(mcp.answer.result!)).toBe(login);
}

async function eventually<T>(read: () => Promise<T>, until: (value: T) => boolean, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (until(value) || Date.now() > deadline) return value;
    await sleep(100);
  }
}

describe('the authorization flow over HTTP', () => {
  let connection: Connection;
  let authorizationRequest: URL;
  let callbackUrl: URL;

  it('a new connection to the protected upstream asks for authorization with a link on this server', async () => {
    connection = await createConnection({ name: 'protected' });
    expect(connection.status.state).toBe('auth_required');
    expect(connection.status.authorizationUrl).toMatch(new RegExp(`^${server.url}/oauth/authorize/[\\w-]+\\.[\\w-]+$`));
    // The setup page explains the step and leads into the same flow (test/browser/setup-pages.test.ts).
    expect(connection.status.setupUrl).toMatch(new RegExp(`^${server.url}/setup/[\\w-]+\\.[\\w-]+$`));
  });

  it('the link, continued, redirects to the authorization server with PKCE S256, state, resource and a client', async () => {
    authorizationRequest = await openLink(connection.status.authorizationUrl!);
    expect(authorizationRequest.origin).toBe(upstream.issuer);
    const params = authorizationRequest.searchParams;
    expect(params.get('response_type')).toBe('code');
    expect(params.get('code_challenge_method')).toBe('S256');
    expect(params.get('code_challenge')).toMatch(/^[\w-]{43}$/);
    expect(params.get('state')?.length).toBeGreaterThanOrEqual(32);
    expect(params.get('resource')).toBe(upstream.mcpUrl);
    expect(params.get('client_id')).toBeTruthy();
    expect(params.get('redirect_uri')).toBe(`${server.url}/oauth/callback`);
  });

  it('the end user logs in; the authorization server sends them to our callback with code, state and iss', async () => {
    callbackUrl = await completeLoginWithFetch(authorizationRequest, 'alice');
    expect(`${callbackUrl.origin}${callbackUrl.pathname}`).toBe(`${server.url}/oauth/callback`);
    expect(callbackUrl.searchParams.get('state')).toBe(authorizationRequest.searchParams.get('state'));
    expect(callbackUrl.searchParams.get('iss')).toBe(upstream.issuer);
    expect(callbackUrl.searchParams.get('code')).toBeTruthy();
  });

  it('the callback exchanges the code and shows a "Connected" page', async () => {
    const response = await deliverCallback(callbackUrl);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^text\/html/);
    expect(response.headers.get('cache-control')).toBe('no-store');
    expect(await response.text()).toContain('Connected');
  });

  it('the connection is connected, with the upstream’s serverInfo and no authorization URL', async () => {
    const shown = await getConnection(connection.connectionId);
    expect(shown.status).toEqual({ state: 'connected' });
    expect(shown.serverInfo).toMatchObject({ name: 'oauth-protected-fixture', version: '1.0.0' });
  });

  it('REST tool calls and the MCP endpoint act as the user who logged in', async () => {
    await expectWhoami(connection.connectionId, 'alice');
    const echo = await mcpCall(connection.connectionId, 'echo', { message: 'hello' });
    expect(echo.answer.result?.content[0]?.text).toBe('Echo: hello');
  });

  it('after each expiry of the access token calls still work, with exactly one refresh per expiry', async () => {
    for (let round = 0; round < 2; round++) {
      const before = (await upstream.stats()).as;
      await sleep(PAST_EXPIRY_MS);
      const started = Date.now();
      // Several calls at once meet the expired token: one refresh serves them all.
      const calls = await Promise.all([
        restCall(connection.connectionId, 'whoami'),
        mcpCall(connection.connectionId, 'whoami'),
        restCall(connection.connectionId, 'whoami'),
        mcpCall(connection.connectionId, 'whoami'),
      ]);
      for (const call of calls) {
        const result = 'answer' in call ? call.answer.result : call.body;
        expect(call.status, JSON.stringify(call)).toBe(200);
        expect(subOf(result!)).toBe('alice');
      }
      await expectWhoami(connection.connectionId, 'alice');
      const after = (await upstream.stats()).as;
      expectOneRefreshPerExpiry(after.refreshGrants - before.refreshGrants, Date.now() - started, ACCESS_TOKEN_TTL_SECONDS);
      expect(after.refreshFailures).toBe(before.refreshFailures);
      expect(after.authorizationCodeGrants).toBe(before.authorizationCodeGrants);
    }
    expect((await getConnection(connection.connectionId)).status.state).toBe('connected');
  });
});

describe('step-up authorization', () => {
  let connection: Connection;

  it('a tool needing a wider scope answers -32001 with a link, and the connection needs authorization again', async () => {
    connection = await connectedConnection('bob');
    const { status, answer } = await mcpCall(connection.connectionId, 'admin-action');
    expect(status).toBe(401);
    expect(answer.error).toMatchObject({ code: -32001, data: { connectionId: connection.connectionId } });
    expect(answer.error?.data?.authorizationUrl).toMatch(new RegExp(`^${server.url}/oauth/authorize/`));
    const shown = await getConnection(connection.connectionId);
    expect(shown.status.state).toBe('auth_required');
    expect(shown.status.authorizationUrl).toMatch(new RegExp(`^${server.url}/oauth/authorize/`));
    // Until the user authorizes again, REST calls are refused with the link.
    const rest = await restCall(connection.connectionId, 'whoami');
    expect(rest.status).toBe(409);
    expect(rest.body.message).toContain(`${server.url}/oauth/authorize/`);
  });

  it('the new authorization asks for both scopes; once granted, the tool works', async () => {
    const link = (await getConnection(connection.connectionId)).status.authorizationUrl!;
    const { authorizationRequest, callback } = await authorize(link, 'bob');
    const scopes = (authorizationRequest.searchParams.get('scope') ?? '').split(' ');
    expect(scopes).toEqual(expect.arrayContaining(['mcp:tools', 'mcp:admin']));
    expect(callback.status, await callback.text()).toBe(200);
    expect((await getConnection(connection.connectionId)).status.state).toBe('connected');
    const admin = await mcpCall(connection.connectionId, 'admin-action');
    expect(admin.status, JSON.stringify(admin.answer)).toBe(200);
    expect(admin.answer.result?.content[0]?.text).toBe('admin action done');
    const rest = await restCall(connection.connectionId, 'admin-action');
    expect(rest.status).toBe(200);
    await expectWhoami(connection.connectionId, 'bob');
  });
});

describe('a refresh the authorization server refuses', () => {
  let connection: Connection;

  it('makes the connection need authorization again, with a fresh link', async () => {
    connection = await connectedConnection('carol');
    await expectWhoami(connection.connectionId, 'carol');
    const before = (await upstream.stats()).as;
    expect(await upstream.revokeAllGrants()).toBeGreaterThan(0);
    await sleep(PAST_EXPIRY_MS);
    const mcp = await mcpCall(connection.connectionId, 'whoami');
    expect(mcp.status, JSON.stringify(mcp.answer)).toBe(401);
    expect(mcp.answer.error?.code).toBe(-32001);
    expect(mcp.answer.error?.data?.authorizationUrl).toMatch(new RegExp(`^${server.url}/oauth/authorize/`));
    const rest = await restCall(connection.connectionId, 'whoami');
    expect(rest.status).toBe(409);
    expect(rest.body).toMatchObject({ error: 'conflict' });
    const shown = await getConnection(connection.connectionId);
    expect(shown.status.state).toBe('auth_required');
    expect(shown.status.authorizationUrl).toMatch(new RegExp(`^${server.url}/oauth/authorize/`));
    const after = (await upstream.stats()).as;
    expect(after.refreshFailures - before.refreshFailures).toBe(1);
    expect(after.refreshGrants).toBe(before.refreshGrants);
  });

  it('a new authorization makes it work again', async () => {
    const { callback } = await authorize((await getConnection(connection.connectionId)).status.authorizationUrl!, 'carol');
    expect(callback.status, await callback.text()).toBe(200);
    expect((await getConnection(connection.connectionId)).status.state).toBe('connected');
    await expectWhoami(connection.connectionId, 'carol');
  });
});

describe('deleting a connected connection', () => {
  it('revokes its tokens at the authorization server, in the background', async () => {
    const connection = await connectedConnection('dave');
    const before = (await upstream.stats()).as.revocations;
    const deleted = await send('DELETE', `/${ns}/${connection.connectionId}`);
    expect(deleted.status).toBe(200);
    const after = await eventually(
      async () => (await upstream.stats()).as.revocations,
      (revocations) => revocations > before,
    );
    expect(after).toBeGreaterThan(before);
  });
});

describe('pre-registered OAuth clients', () => {
  type Summary = { id: string; issuer: string; clientId: string; hasSecret: boolean; tokenEndpointAuthMethod: string | null; accountId: string | null };
  let registered: { client_id: string; client_secret: string };
  let summary: Summary;
  /** Authorized with the dynamically registered client, before the account configured its own. */
  let earlier: Connection;

  it('a client registered at the authorization server by hand is stored with its secret, never shown', async () => {
    earlier = await connectedConnection('frank');
    const metadata = (await (await fetch(`${upstream.issuer}/.well-known/oauth-authorization-server`)).json()) as { registration_endpoint: string };
    const registration = await fetch(metadata.registration_endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        client_name: 'pre-registered',
        redirect_uris: [`${server.url}/oauth/callback`],
        token_endpoint_auth_method: 'client_secret_basic',
        grant_types: ['authorization_code', 'refresh_token'],
        response_types: ['code'],
      }),
    });
    expect(registration.status).toBe(201);
    // The AS chooses the secret (oidc-provider ignores one sent): it cannot be a canary, so this
    // file scans what the server sent and logged for it itself (last test).
    registered = (await registration.json()) as typeof registered;
    expect(registered.client_secret).toBeTruthy();

    const response = await send('PUT', '/oauth-clients', { issuer: upstream.issuer, clientId: registered.client_id, clientSecret: registered.client_secret });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(text).not.toContain(registered.client_secret);
    summary = JSON.parse(text) as Summary;
    expect(summary).toMatchObject({
      issuer: upstream.issuer,
      clientId: registered.client_id,
      hasSecret: true,
      tokenEndpointAuthMethod: 'client_secret_basic',
      accountId: owner.accountId,
    });
    expect(Object.keys(summary)).not.toContain('clientSecret');

    const listed = await send('GET', '/oauth-clients');
    const listedText = await listed.text();
    expect(listed.status).toBe(200);
    expect(listedText).not.toContain(registered.client_secret);
    expect((JSON.parse(listedText) as { clients: Summary[] }).clients).toEqual([summary]);
  });

  it('a new connection authorizes with that client (no registration) and keeps working past a refresh', async () => {
    const before = (await upstream.stats()).as;
    const created = await createConnection();
    const { authorizationRequest, callback } = await authorize(created.status.authorizationUrl!, 'erin');
    expect(authorizationRequest.searchParams.get('client_id')).toBe(registered.client_id);
    expect(callback.status, await callback.text()).toBe(200);
    const whoami = await restCall(created.connectionId, 'whoami');
    expect(JSON.parse(whoami.body.content[0]!.text!)).toMatchObject({ sub: 'erin', clientId: registered.client_id });
    // The refresh authenticates with the secret too.
    await sleep(PAST_EXPIRY_MS);
    await expectWhoami(created.connectionId, 'erin');
    const after = (await upstream.stats()).as;
    expect(after.registrations).toBe(before.registrations);
    expect(after.authorizationCodeGrants - before.authorizationCodeGrants).toBe(1);
    expect(after.refreshGrants - before.refreshGrants).toBe(1);
  });

  it('connections authorized before the client was configured keep refreshing (with the client their tokens belong to)', async () => {
    const before = (await upstream.stats()).as;
    await sleep(PAST_EXPIRY_MS);
    const rest = await restCall(earlier.connectionId, 'whoami');
    expect(rest.status, JSON.stringify(rest.body)).toBe(200);
    expect(subOf(rest.body)).toBe('frank');
    const after = (await upstream.stats()).as;
    expect(after.refreshGrants - before.refreshGrants).toBe(1);
    expect(after.refreshFailures).toBe(before.refreshFailures);
    expect((await getConnection(earlier.connectionId)).status.state).toBe('connected');
  });

  it('service tokens are refused (403); another account cannot remove it (404)', async () => {
    const minted = await send('POST', '/tokens', {});
    const { token } = (await minted.json()) as { token: string };
    expect((await send('GET', '/oauth-clients', undefined, token)).status).toBe(403);
    expect((await send('PUT', '/oauth-clients', { issuer: 'https://auth.example', clientId: 'x' }, token)).status).toBe(403);
    expect((await send('DELETE', `/oauth-clients/${summary.id}`, undefined, token)).status).toBe(403);
    const stranger = await server.newAccount('stranger');
    expect((await send('DELETE', `/oauth-clients/${summary.id}`, undefined, stranger.key)).status).toBe(404);
    const theirs = (await (await send('GET', '/oauth-clients', undefined, stranger.key)).json()) as { clients: Summary[] };
    expect(theirs.clients).toEqual([]);
    expect(((await (await send('GET', '/oauth-clients')).json()) as { clients: Summary[] }).clients).toHaveLength(1);
  });

  it.each([
    ['an unknown field', { issuer: 'https://auth.example', clientId: 'c', clientSecret: canary('client-secret'), extra: true }],
    ['client_secret_basic without a secret', { issuer: 'https://auth.example', clientId: 'c', tokenEndpointAuthMethod: 'client_secret_basic' }],
    ['an issuer that is not a URL', { issuer: 'auth.example', clientId: 'c', clientSecret: canary('client-secret') }],
    ['an issuer that is not http(s)', { issuer: 'ftp://auth.example', clientId: 'c' }],
    ['no clientId', { issuer: 'https://auth.example', clientSecret: canary('client-secret') }],
  ])('refuses %s (400)', async (_label, body) => {
    const response = await send('PUT', '/oauth-clients', body);
    const text = await response.text();
    expect(response.status, text).toBe(400);
    expect(JSON.parse(text)).toMatchObject({ error: 'validation_error', message: expect.any(String) });
  });

  it('a secret planted with PUT never comes back; DELETE removes the client', async () => {
    const planted = await send('PUT', '/oauth-clients', { issuer: 'https://auth.example', clientId: 'other', clientSecret: canary('client-secret') });
    const added = (await planted.json()) as Summary;
    expect(added).toMatchObject({ hasSecret: true, tokenEndpointAuthMethod: 'client_secret_basic' });
    const removed = await send('DELETE', `/oauth-clients/${added.id}`);
    expect(removed.status).toBe(200);
    expect(await removed.json()).toEqual({ success: true });
    expect((await send('DELETE', `/oauth-clients/${added.id}`)).status).toBe(404);
  });

  it('the operator adds one with the CLI, for every account', async () => {
    const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'switchboard-oauth-cli-'));
    try {
      const secret = canary('client-secret');
      const env = { DATA_DIR: dataDir };
      const added = await runCli(['oauth-clients', 'add', '--issuer', 'https://auth.example', '--client-id', 'cli-client', '--client-secret', secret, '--json'], env);
      expect(added.stderr).toBe('');
      expect(added.code).toBe(0);
      expect(`${added.stdout}${added.stderr}`).not.toContain(secret);
      expect(JSON.parse(added.stdout)).toMatchObject({ issuer: 'https://auth.example', clientId: 'cli-client', hasSecret: true, accountId: null });
      const listed = await runCli(['oauth-clients', 'list', '--json'], env);
      expect(listed.code).toBe(0);
      expect(listed.stdout).not.toContain(secret);
      expect(JSON.parse(listed.stdout)).toEqual([JSON.parse(added.stdout)]);
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  it('the secret the authorization server chose never left the server', () => {
    const everything = `${sent.join('')}\n${server.rawLogs.join('')}`;
    expect(everything.length).toBeGreaterThan(0);
    expect(everything.includes(registered.client_secret)).toBe(false);
  });
});
