import { randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary, CANARY_PREFIX, findLeaks, serviceTokenId, watchedSecrets } from '../helpers/canary.ts';
import { completeLoginWithFetch, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { deliverCallback, startAuthorizationWithFetch } from '../helpers/authorization-link.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * The audit log, fed by the real flows: keys made and revoked, tokens minted and revoked over
 * REST, credentials set by create and update, connections deleted, and upstream OAuth at a real
 * authorization server (completed, denied, a foreign issuer, refreshed, refresh refused). Each
 * event names its actor and time; none holds a secret (the table itself is scanned); only the
 * account's own API keys read it.
 */
const ACCESS_TOKEN_TTL_SECONDS = 2;
const PAST_EXPIRY_MS = ACCESS_TOKEN_TTL_SECONDS * 1000 + 400;

type AuditEvent = {
  id: string;
  type: string;
  occurredAt: string;
  actor: { type: string; id: string | null };
  namespace: string | null;
  connectionId: string | null;
  requestId: string | null;
  details: Record<string, unknown>;
};
type Page = { events: AuditEvent[]; nextCursor: string | null };
type Connection = { connectionId: string; status: { state: string; authorizationUrl?: string } };

let server: TestServer;
let oauthUpstream: OAuthUpstream;
let keyedUpstream: Upstream;
let owner: { key: string; keyId: string; accountId: string };
let stranger: { key: string; keyId: string; accountId: string };
let ns: string;
const upstreamApiKey = canary('upstream-api-key');
/** Everything secret this file handled: none of it may be in the audit table. */
const secrets: string[] = [];
let startedAt: number;

beforeAll(async () => {
  startedAt = Date.now();
  [oauthUpstream, keyedUpstream, server] = await Promise.all([
    startOAuthUpstream({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS }),
    startFixtureUpstream('sessions', { requireApiKey: upstreamApiKey, configSchema: true }),
    startTestServer(),
  ]);
  owner = await server.newAccount('audit-owner');
  stranger = await server.newAccount('audit-stranger');
  secrets.push(owner.key, stranger.key, upstreamApiKey);
  ns = ((await (await send('POST', '/namespaces')).json()) as { name: string }).name;
});
afterAll(async () => {
  await Promise.all([oauthUpstream?.stop(), keyedUpstream?.stop()]);
  await server?.close();
});

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

function send(method: string, pathname: string, body?: unknown, bearer = owner.key): Promise<Response> {
  return server.request(pathname, {
    method,
    bearer,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
}

async function listEvents(query: Record<string, string> = {}, bearer = owner.key): Promise<{ status: number; body: Page & { error?: string; message?: string } }> {
  const response = await send('GET', `/audit-events?${new URLSearchParams(query)}`, undefined, bearer);
  return { status: response.status, body: (await response.json()) as never };
}

async function eventsOf(type: string, query: Record<string, string> = {}): Promise<AuditEvent[]> {
  const { status, body } = await listEvents({ type, limit: '100', ...query });
  expect(status, JSON.stringify(body)).toBe(200);
  return body.events;
}

/** Background events (refreshes) arrive shortly after the call that caused them. */
async function eventuallyEvents(type: string, until: (events: AuditEvent[]) => boolean, query: Record<string, string> = {}): Promise<AuditEvent[]> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    const events = await eventsOf(type, query);
    if (until(events) || Date.now() > deadline) return events;
    await sleep(100);
  }
}

function expectWellFormed(event: AuditEvent): void {
  expect(event.id).toMatch(/^evt_[a-z2-7]{16}$/);
  const at = Date.parse(event.occurredAt);
  // Written while this file ran (a generous margin for clocks, not a timing bound).
  expect(at).toBeGreaterThanOrEqual(startedAt - 60_000);
  expect(at).toBeLessThanOrEqual(Date.now() + 60_000);
  expect(['api_key', 'service_token', 'cli', 'system', 'end_user']).toContain(event.actor.type);
  if (event.actor.type === 'api_key' || event.actor.type === 'service_token') expect(event.actor.id).toBeTruthy();
}

async function createConnection(body: Record<string, unknown>): Promise<Connection> {
  const response = await send('POST', `/${ns}`, body);
  const created = (await response.json()) as Connection;
  expect(response.status, JSON.stringify(created)).toBe(201);
  return created;
}

async function stateOf(id: string): Promise<string> {
  return ((await (await send('GET', `/${ns}/${id}`)).json()) as Connection).status.state;
}

describe('API keys', () => {
  it('api_key.created: recorded by the function every way of creating a key goes through, with the new account', async () => {
    const events = await eventsOf('api_key.created');
    expect(events).toHaveLength(1);
    const [event] = events as [AuditEvent];
    expectWellFormed(event);
    expect(event).toMatchObject({
      type: 'api_key.created',
      actor: { type: 'cli', id: null },
      namespace: null,
      connectionId: null,
      details: { apiKeyId: owner.keyId, name: 'audit-owner', newAccount: true },
    });
  });

  it('api_key.revoked: with the number of tokens revoked along; revoking again records nothing more', async () => {
    const extra = await server.addKey(owner.accountId);
    secrets.push(extra.key);
    const minted = await send('POST', '/tokens', {}, extra.key);
    expect(minted.status).toBe(200);
    secrets.push(((await minted.json()) as { token: string }).token);
    await server.revokeKey(extra.keyId);
    await server.revokeKey(extra.keyId);
    const created = (await eventsOf('api_key.created')).find((event) => event.details.apiKeyId === extra.keyId);
    expect(created?.details).toEqual({ apiKeyId: extra.keyId, name: 'extra', newAccount: false });
    const revoked = await eventsOf('api_key.revoked');
    expect(revoked).toHaveLength(1);
    expectWellFormed(revoked[0]!);
    expect(revoked[0]).toMatchObject({ actor: { type: 'cli', id: null }, details: { apiKeyId: extra.keyId, tokensRevoked: 1 } });
  });
});

describe('service tokens', () => {
  let token: string;

  it('token.minted: by the API key, with the request id, expiry and policy shape (never the token, nor the patterns)', async () => {
    const response = await send('POST', '/tokens', {
      policy: [{ namespaces: ns, operations: 'read', metadata: { userId: 'alice' }, rpcReqMatch: { 'params.name': '^secret-pattern-[0-9]+$' }, ttl: '30m' }],
    });
    expect(response.status).toBe(200);
    const minted = (await response.json()) as { token: string; expiresAt: string };
    token = minted.token;
    secrets.push(token);
    const [event] = (await eventsOf('token.minted')).filter((e) => e.details.tokenId === serviceTokenId(token));
    expect(event).toBeDefined();
    expectWellFormed(event!);
    expect(event).toMatchObject({
      actor: { type: 'api_key', id: owner.keyId },
      requestId: response.headers.get('x-request-id'),
      details: {
        tokenId: serviceTokenId(token),
        parentTokenId: null,
        expiresAt: minted.expiresAt,
        policy: [{ namespaces: [ns], operations: ['read'], metadata: [{ userId: 'alice' }], rpcReqMatchPaths: ['params.name'] }],
      },
    });
    expect(JSON.stringify(event)).not.toContain('secret-pattern');
  });

  it('token.minted from a token: the actor is the parent token', async () => {
    const response = await send('POST', '/tokens', { policy: [{ operations: 'read' }] }, token);
    expect(response.status).toBe(200);
    const child = ((await response.json()) as { token: string }).token;
    secrets.push(child);
    const event = (await eventsOf('token.minted')).find((e) => e.details.tokenId === serviceTokenId(child));
    expect(event).toMatchObject({
      actor: { type: 'service_token', id: serviceTokenId(token) },
      details: { parentTokenId: serviceTokenId(token), policy: [{ operations: ['read'] }] },
    });
  });

  it('token.revoked: by the API key', async () => {
    const response = await send('POST', '/tokens/revoke', { id: serviceTokenId(token) });
    expect(response.status, await response.clone().text()).toBe(200);
    const [event] = await eventsOf('token.revoked');
    expectWellFormed(event!);
    expect(event).toMatchObject({ actor: { type: 'api_key', id: owner.keyId }, details: { tokenId: serviceTokenId(token) }, requestId: response.headers.get('x-request-id') });
  });
});

describe('connection credentials and deletion', () => {
  let created: Connection;

  it('connection.credentials_set on create with headers: the header names, never their values', async () => {
    const other = canary('second-header');
    secrets.push(other);
    created = await createConnection({ mcpUrl: keyedUpstream.url, headers: { 'X-Api-Key': upstreamApiKey, 'x-tenant-secret': other } });
    const events = await eventsOf('connection.credentials_set', { connectionId: created.connectionId });
    expect(events).toHaveLength(1);
    expectWellFormed(events[0]!);
    expect(events[0]).toMatchObject({
      actor: { type: 'api_key', id: owner.keyId },
      namespace: ns,
      connectionId: created.connectionId,
      details: { created: true, headerNames: ['x-api-key', 'x-tenant-secret'] },
    });
    expect(events[0]!.details).not.toHaveProperty('queryParameterNames');
  });

  it('an update that changes the headers is recorded; one that leaves them (or changes only the name) is not', async () => {
    const ref = `/${ns}/${created.connectionId}`;
    expect((await send('PUT', ref, { headers: { 'x-api-key': upstreamApiKey } })).status).toBe(200);
    expect((await send('PUT', ref, { headers: { 'x-api-key': upstreamApiKey } })).status).toBe(200);
    expect((await send('PUT', ref, { name: 'renamed' })).status).toBe(200);
    const events = await eventsOf('connection.credentials_set', { connectionId: created.connectionId });
    expect(events.map((event) => event.details)).toEqual([
      { created: false, headerNames: ['x-api-key'] },
      { created: true, headerNames: ['x-api-key', 'x-tenant-secret'] },
    ]);
  });

  it('a connection created without credentials records none; query configuration added later names its parameters', async () => {
    const bare = await createConnection({ mcpUrl: keyedUpstream.url });
    expect(bare.status.state).toBe('input_required');
    expect(await eventsOf('connection.credentials_set', { connectionId: bare.connectionId })).toEqual([]);
    const region = `eu-${randomBytes(6).toString('hex')}`;
    const response = await send('PUT', `/${ns}/${bare.connectionId}`, { mcpUrl: `${keyedUpstream.url}?region=${region}`, headers: { 'x-api-key': upstreamApiKey } });
    expect(response.status, await response.clone().text()).toBe(200);
    expect(await stateOf(bare.connectionId)).toBe('connected');
    const [event] = await eventsOf('connection.credentials_set', { connectionId: bare.connectionId });
    expect(event?.details).toEqual({ created: false, headerNames: ['x-api-key'], queryParameterNames: ['region'] });
    expect(JSON.stringify(event)).not.toContain(region);
  });

  it('a PUT that creates the connection with headers records created: true', async () => {
    const response = await send('PUT', `/${ns}/chosen-id`, { mcpUrl: keyedUpstream.url, headers: { 'x-api-key': upstreamApiKey } });
    expect(response.status).toBe(201);
    const [event] = await eventsOf('connection.credentials_set', { connectionId: 'chosen-id' });
    expect(event).toMatchObject({ namespace: ns, details: { created: true, headerNames: ['x-api-key'] } });
  });

  it('connection.deleted: with the request id; a second delete (404) records nothing', async () => {
    const response = await send('DELETE', `/${ns}/${created.connectionId}`);
    expect(response.status).toBe(200);
    expect((await send('DELETE', `/${ns}/${created.connectionId}`)).status).toBe(404);
    const events = await eventsOf('connection.deleted', { connectionId: created.connectionId });
    expect(events).toHaveLength(1);
    expectWellFormed(events[0]!);
    expect(events[0]).toMatchObject({
      actor: { type: 'api_key', id: owner.keyId },
      namespace: ns,
      requestId: response.headers.get('x-request-id'),
      details: { hadOAuthTokens: false },
    });
  });
});

describe('upstream OAuth', () => {
  let connection: Connection;
  /** A connection that is never authorized. */
  let pending: Connection;
  /** What went through the browser: codes and states must not be in the log. */
  const callbacks: URL[] = [];

  const openLink = (link: string) => startAuthorizationWithFetch(link);

  it('oauth.completed: by the end user at the link, with the issuer and the granted scope', async () => {
    connection = await createConnection({ mcpUrl: oauthUpstream.mcpUrl });
    expect(connection.status.state).toBe('auth_required');
    const callback = await completeLoginWithFetch(await openLink(connection.status.authorizationUrl!), 'alice');
    callbacks.push(callback);
    const response = await deliverCallback(callback);
    expect(response.status, await response.text()).toBe(200);
    const [event] = await eventsOf('oauth.completed', { connectionId: connection.connectionId });
    expect(event).toBeDefined();
    expectWellFormed(event!);
    expect(event).toMatchObject({ actor: { type: 'end_user', id: null }, namespace: ns, details: { issuer: oauthUpstream.issuer } });
    expect(String(event!.details.scope)).toContain('mcp:tools');
    expect(event!.requestId).toBe(response.headers.get('x-request-id'));
  });

  it('oauth.refreshed: by Switchboard on a tool call after expiry, written in the background', async () => {
    await sleep(PAST_EXPIRY_MS);
    const call = await send('POST', `/${ns}/${connection.connectionId}/.tools/whoami`, {});
    expect(call.status, await call.text()).toBe(200);
    const events = await eventuallyEvents('oauth.refreshed', (found) => found.length > 0, { connectionId: connection.connectionId });
    expect(events).toHaveLength(1);
    expectWellFormed(events[0]!);
    expect(events[0]).toMatchObject({ actor: { type: 'system', id: null }, namespace: ns, details: { issuer: oauthUpstream.issuer } });
  });

  it('connection.deleted says it held OAuth tokens', async () => {
    const fresh = await createConnection({ mcpUrl: oauthUpstream.mcpUrl });
    const callback = await completeLoginWithFetch(await openLink(fresh.status.authorizationUrl!), 'bob');
    callbacks.push(callback);
    expect((await deliverCallback(callback)).status).toBe(200);
    expect((await send('DELETE', `/${ns}/${fresh.connectionId}`)).status).toBe(200);
    const [event] = await eventsOf('connection.deleted', { connectionId: fresh.connectionId });
    expect(event?.details).toEqual({ hadOAuthTokens: true });
  });

  it('oauth.refresh_failed: the authorization server refuses the refresh (invalid_grant)', async () => {
    expect(await oauthUpstream.revokeAllGrants()).toBeGreaterThan(0);
    await sleep(PAST_EXPIRY_MS);
    const call = await send('POST', `/${ns}/${connection.connectionId}/.tools/whoami`, {});
    expect(call.status, await call.text()).toBe(409);
    const events = await eventuallyEvents('oauth.refresh_failed', (found) => found.length > 0, { connectionId: connection.connectionId });
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      actor: { type: 'system', id: null },
      details: { issuer: oauthUpstream.issuer, reason: 'refused', error: 'invalid_grant' },
    });
  });

  it('oauth.failed: a denial, with the error code', async () => {
    const link = (await (await send('GET', `/${ns}/${connection.connectionId}`)).json()) as Connection;
    const state = (await openLink(link.status.authorizationUrl!)).searchParams.get('state')!;
    const denial = new URL(`${server.url}/oauth/callback?${new URLSearchParams({ error: 'access_denied', state, iss: oauthUpstream.issuer })}`);
    callbacks.push(denial);
    expect((await deliverCallback(denial)).status).toBe(200);
    const [event] = await eventsOf('oauth.failed', { connectionId: connection.connectionId });
    expectWellFormed(event!);
    expect(event).toMatchObject({ actor: { type: 'end_user', id: null }, details: { issuer: oauthUpstream.issuer, reason: 'denied', error: 'access_denied' } });
  });

  it('oauth.failed: an answer naming another issuer', async () => {
    const link = (await (await send('GET', `/${ns}/${connection.connectionId}`)).json()) as Connection;
    const callback = await completeLoginWithFetch(await openLink(link.status.authorizationUrl!), 'alice');
    callbacks.push(new URL(callback));
    callback.searchParams.set('iss', 'http://evil.example');
    expect((await deliverCallback(callback)).status).toBe(400);
    const events = await eventsOf('oauth.failed', { connectionId: connection.connectionId });
    expect(events.map((event) => event.details.reason)).toEqual(['issuer_mismatch', 'denied']);
    expect(events[0]!.details).toEqual({ issuer: oauthUpstream.issuer, reason: 'issuer_mismatch', error: null });
  });

  it('no code or state that went through the browser is in the log', async () => {
    for (const callback of callbacks) {
      for (const name of ['code', 'state']) {
        const value = callback.searchParams.get(name);
        if (value) secrets.push(value);
      }
    }
    expect(secrets.length).toBeGreaterThan(10);
  });
});

describe('reading the log', () => {
  it('every event has its actor and time; filters by type, namespace, connection and time', async () => {
    const { status, body } = await listEvents({ limit: '100' });
    expect(status).toBe(200);
    const all = body.events;
    expect(new Set(all.map((event) => event.type))).toEqual(
      new Set([
        'api_key.created',
        'api_key.revoked',
        'token.minted',
        'token.revoked',
        'connection.credentials_set',
        'connection.deleted',
        'oauth.started',
        'oauth.completed',
        'oauth.failed',
        'oauth.refreshed',
        'oauth.refresh_failed',
      ]),
    );
    all.forEach(expectWellFormed);
    // Newest first.
    const times = all.map((event) => Date.parse(event.occurredAt));
    expect([...times].sort((a, b) => b - a)).toEqual(times);

    const inNamespace = (await listEvents({ namespace: ns, limit: '100' })).body.events;
    expect(inNamespace.length).toBeGreaterThan(0);
    expect(inNamespace.every((event) => event.namespace === ns)).toBe(true);
    expect(inNamespace).toEqual(all.filter((event) => event.namespace === ns));

    const pivot = all[Math.floor(all.length / 2)]!;
    const since = (await listEvents({ since: pivot.occurredAt, limit: '100' })).body.events;
    const until = (await listEvents({ until: pivot.occurredAt, limit: '100' })).body.events;
    expect(since.every((event) => event.occurredAt >= pivot.occurredAt)).toBe(true);
    expect(until.every((event) => event.occurredAt < pivot.occurredAt)).toBe(true);
    expect(since.length + until.length).toBe(all.length);
  });

  it('pages walk the whole log once, in order, with REST and tRPC alike', async () => {
    const all = (await listEvents({ limit: '100' })).body.events;
    expect(all.length).toBeGreaterThan(5);
    const walked: AuditEvent[] = [];
    let cursor: string | null = null;
    let pages = 0;
    do {
      const { status, body }: { status: number; body: Page } = await listEvents({ limit: '3', ...(cursor ? { cursor } : {}) });
      expect(status).toBe(200);
      expect(body.events.length).toBeLessThanOrEqual(3);
      walked.push(...body.events);
      cursor = body.nextCursor;
      pages++;
    } while (cursor && pages < 100);
    expect(walked.map((event) => event.id)).toEqual(all.map((event) => event.id));

    const input = encodeURIComponent(JSON.stringify({ type: 'token.minted', limit: 1 }));
    const trpc = await send('GET', `/trpc/auditEvents.list?input=${input}`);
    expect(trpc.status).toBe(200);
    const page = ((await trpc.json()) as { result: { data: Page } }).result.data;
    expect(page.events).toHaveLength(1);
    expect(page.events[0]!.type).toBe('token.minted');
    expect(page.nextCursor).toEqual(expect.any(String));
  });

  it('another account sees only its own events, none of these, whatever the filter', async () => {
    const theirs = await listEvents({ limit: '100' }, stranger.key);
    expect(theirs.status).toBe(200);
    expect(theirs.body.events).toHaveLength(1);
    expect(theirs.body.events[0]).toMatchObject({ type: 'api_key.created', details: { apiKeyId: stranger.keyId } });
    expect((await listEvents({ namespace: ns }, stranger.key)).body.events).toEqual([]);
    // A cursor taken from the owner's log pages through nothing of the owner's.
    const ownerPage = (await listEvents({ limit: '1' })).body;
    const through = await listEvents({ cursor: ownerPage.nextCursor! }, stranger.key);
    expect(through.status).toBe(200);
    expect(through.body.events.every((event) => event.details.apiKeyId === stranger.keyId)).toBe(true);
  });

  it('a service token is refused (403), even an unrestricted one; no credential is 401', async () => {
    const minted = (await (await send('POST', '/tokens', {})).json()) as { token: string };
    secrets.push(minted.token);
    const refused = await listEvents({}, minted.token);
    expect(refused.status).toBe(403);
    expect(refused.body).toMatchObject({ error: 'forbidden' });
    const anonymous = await server.request('/audit-events');
    expect(anonymous.status).toBe(401);
    const trpc = await send('GET', '/trpc/auditEvents.list', undefined, minted.token);
    expect(trpc.status).toBe(403);
  });

  it.each([
    ['an unknown type', { type: 'api_key.stolen' }],
    ['a namespace that is not a name', { namespace: 'Not A Name' }],
    ['a connection id with a slash', { connectionId: 'a/b' }],
    ['a since that is not a time', { since: 'yesterday' }],
    ['an until without a zone', { until: '2025-01-01T00:00:00' }],
    ['a limit of 0', { limit: '0' }],
    ['a limit over 100', { limit: '101' }],
    ['a limit that is not a number', { limit: 'many' }],
    ['a cursor this server never issued', { cursor: 'bm9wZQ' }],
    ['a cursor naming another kind of id', { cursor: Buffer.from(JSON.stringify([new Date().toISOString(), 'conn_abc'])).toString('base64url') }],
    ['an unknown parameter', { actor: 'cli' }],
  ])('refuses %s (400)', async (_label, query) => {
    const { status, body } = await listEvents(query);
    expect(status, JSON.stringify(body)).toBe(400);
    expect(body).toMatchObject({ error: 'validation_error', message: expect.any(String) });
  });

  it('the audit table holds no key, token, credential, code or state, in any column', async () => {
    const rows = await sql<Record<string, unknown>>`select * from audit_events`.execute(server.db);
    expect(rows.rows.length).toBeGreaterThan(15);
    const text = JSON.stringify(rows.rows);
    expect(text).not.toContain(CANARY_PREFIX);
    expect(findLeaks(text, [...secrets, ...(await watchedSecrets())])).toEqual([]);
    // Nor anything shaped like a secret this server hands out.
    expect(text).not.toMatch(/sk_[a-z2-7]{16}_[a-z2-7]{52}/);
    expect(text).not.toMatch(/sbt_[A-Za-z0-9_-]+\./);
  });
});
