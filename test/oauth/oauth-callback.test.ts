import { createHash, randomBytes } from 'node:crypto';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canary } from '../helpers/canary.ts';
import { completeLoginWithFetch, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { deliverCallback, startAuthorizationWithFetch, withReturnUrl } from '../helpers/authorization-link.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';

/**
 * What reaches `/oauth/authorize/{link}` and `/oauth/callback` from outside: return URLs (only to
 * an allowed origin, never an open redirect) and every way to tamper with an authorization in
 * flight — missing, forged, replayed, expired or swapped state, a foreign `iss`, a denial, a
 * doctored link, a link outliving the connection it was minted for.
 */
const APP = 'http://app.example';
const ACCESS_TOKEN_TTL_SECONDS = 2;

let server: TestServer;
let upstream: OAuthUpstream;
let owner: { key: string; accountId: string };
let ns: string;

beforeAll(async () => {
  [upstream, server] = await Promise.all([startOAuthUpstream({ accessTokenTtlSeconds: ACCESS_TOKEN_TTL_SECONDS }), startTestServer({ OAUTH_RETURN_ORIGINS: APP })]);
  owner = await server.newAccount('oauth-owner');
  ns = ((await (await server.request('/namespaces', { method: 'POST', bearer: owner.key })).json()) as { name: string }).name;
});
afterAll(async () => {
  await upstream?.stop();
  await server?.close();
});

type Connection = { connectionId: string; status: { state: string; authorizationUrl?: string } };

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
  expect(body.status.state).toBe('auth_required');
  return body;
}

async function stateOf(id: string, namespace = ns, bearer = owner.key): Promise<string> {
  const response = await send('GET', `/${namespace}/${id}`, undefined, bearer);
  expect(response.status).toBe(200);
  return ((await response.json()) as Connection).status.state;
}

/** Opens our link and continues it as a browser would: where it sends the browser (the authorization server, `state` inside). */
async function openLink(link: string, returnUrl?: string): Promise<URL> {
  const location = await startAuthorizationWithFetch(link, returnUrl);
  expect(location.origin).toBe(upstream.issuer);
  return location;
}

/** Link → login at the AS → the callback URL carrying code, state and iss (not yet delivered). */
async function callbackFor(link: string, login = 'alice', returnUrl?: string): Promise<URL> {
  return completeLoginWithFetch(await openLink(link, returnUrl), login);
}

/** A URL opened by the browser that continued the links (a callback carries its cookie). */
const deliver = (url: URL | string) => deliverCallback(url);

/** An HTML page with this status (or any error status) and text, and no redirect anywhere. */
async function expectPage(response: Response, status: number | 'error', text: string | RegExp): Promise<void> {
  const body = await response.text();
  if (status === 'error') expect(response.status >= 400 && response.status < 600, `HTTP ${response.status}: ${body}`).toBe(true);
  else expect(response.status, body).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  expect(response.headers.get('location')).toBeNull();
  expect(body).toMatch(text);
}

const callbackWith = (params: Record<string, string>) => `${server.url}/oauth/callback?${new URLSearchParams(params)}`;

describe('return URLs', () => {
  it('a returnUrl on the link receives the outcome instead of the page', async () => {
    const connection = await createConnection();
    const response = await deliver(await callbackFor(connection.status.authorizationUrl!, 'alice', `${APP}/done`));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${APP}/done?connectionId=${connection.connectionId}&status=connected`);
    expect(response.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await stateOf(connection.connectionId)).toBe('connected');
  });

  it('the returnUrl given at create is used when the link has none; the link’s own wins', async () => {
    const stored = await createConnection({ returnUrl: `${APP}/from-create?tab=2` });
    const first = await deliver(await callbackFor(stored.status.authorizationUrl!));
    expect(first.headers.get('location')).toBe(`${APP}/from-create?tab=2&connectionId=${stored.connectionId}&status=connected`);

    const overridden = await createConnection({ returnUrl: `${APP}/from-create` });
    const second = await deliver(await callbackFor(overridden.status.authorizationUrl!, 'alice', `${APP}/from-link`));
    expect(second.headers.get('location')).toBe(`${APP}/from-link?connectionId=${overridden.connectionId}&status=connected`);
  });

  it('the returnUrl given with PUT is used', async () => {
    const connection = await createConnection();
    const updated = await send('PUT', `/${ns}/${connection.connectionId}`, { returnUrl: `${APP}/from-put` });
    expect(updated.status).toBe(200);
    const link = ((await updated.json()) as Connection).status.authorizationUrl!;
    const response = await deliver(await callbackFor(link));
    expect(response.headers.get('location')).toBe(`${APP}/from-put?connectionId=${connection.connectionId}&status=connected`);
  });

  it.each([
    ['another origin', 'https://evil.example', /not an allowed origin/],
    ['a scheme-relative URL', '//evil.example', /absolute http\(s\) URL/],
    ['a look-alike host', `${APP}.evil.example/`, /not an allowed origin/],
    ['userinfo before another host', 'http://app.example@evil.example/', /without credentials/],
    ['javascript:', 'javascript:alert(1)', /absolute http\(s\) URL/],
    ['data:', 'data:text/html,<script>alert(1)</script>', /absolute http\(s\) URL/],
    ['the allowed host over https', 'https://app.example/done', /not an allowed origin/],
    ['the allowed host on another port', 'http://app.example:8080/done', /not an allowed origin/],
    ['a relative path', '/done', /absolute http\(s\) URL/],
  ])('a link returnUrl of %s is refused with 400 before any flow starts', async (_label, returnUrl, message) => {
    const connection = await createConnection();
    const flowsBefore = await countFlows();
    await expectPage(await deliver(withReturnUrl(connection.status.authorizationUrl!, returnUrl)), 400, message);
    expect(await countFlows()).toBe(flowsBefore);
  });

  it('http://APP.example:80 is the allowed origin, spelled otherwise (WHATWG URL normalisation): accepted', async () => {
    const connection = await createConnection();
    const response = await deliver(await callbackFor(connection.status.authorizationUrl!, 'alice', 'http://APP.example:80/done'));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${APP}/done?connectionId=${connection.connectionId}&status=connected`);
  });

  it('a returnUrl on a disallowed origin at create or PUT is a validation error', async () => {
    const created = await send('POST', `/${ns}`, { mcpUrl: upstream.mcpUrl, returnUrl: 'https://evil.example/done' });
    expect(created.status).toBe(400);
    expect(await created.json()).toMatchObject({ error: 'validation_error', message: expect.stringContaining('not an allowed origin') });
    const connection = await createConnection();
    const updated = await send('PUT', `/${ns}/${connection.connectionId}`, { returnUrl: 'javascript:alert(1)' });
    expect(updated.status).toBe(400);
    expect(await updated.json()).toMatchObject({ error: 'validation_error' });
  });
});

async function countFlows(): Promise<number> {
  const row = await server.db.selectFrom('oauth_flows').select((eb) => eb.fn.countAll<string>().as('n')).executeTakeFirstOrThrow();
  return Number(row.n);
}

describe('attacks on the callback', () => {
  it('an answer without state is refused', async () => {
    await expectPage(await deliver(callbackWith({ code: 'x', iss: upstream.issuer })), 400, /carries no state/);
  });

  it('a forged state is refused as one Switchboard never asked for', async () => {
    const forged = callbackWith({ code: 'x', state: randomBytes(32).toString('base64url'), iss: upstream.issuer });
    await expectPage(await deliver(forged), 400, /not one Switchboard asked for/);
  });

  it('a replayed answer is refused; the connection stays connected', async () => {
    const connection = await createConnection();
    const callback = await callbackFor(connection.status.authorizationUrl!);
    await expectPage(await deliver(callback), 200, /Connected/);
    await expectPage(await deliver(callback), 400, /already completed/);
    expect(await stateOf(connection.connectionId)).toBe('connected');
  });

  it('an expired state is refused', async () => {
    const connection = await createConnection();
    const callback = await callbackFor(connection.status.authorizationUrl!);
    const stateHash = createHash('sha256').update(callback.searchParams.get('state')!, 'utf8').digest();
    await sql`update oauth_flows set expires_at = now() - interval '1 minute' where state_hash = ${stateHash}`.execute(server.db);
    await expectPage(await deliver(callback), 400, /already completed or has expired/);
    expect(await stateOf(connection.connectionId)).toBe('auth_required');
  });

  it('A’s code with B’s state fails the exchange (PKCE) and connects neither', async () => {
    const [a, b] = [await createConnection(), await createConnection()];
    const toA = await openLink(a.status.authorizationUrl!);
    const toB = await openLink(b.status.authorizationUrl!);
    const callbackA = await completeLoginWithFetch(toA, 'alice');
    const swapped = new URL(callbackA);
    swapped.searchParams.set('state', toB.searchParams.get('state')!);
    await expectPage(await deliver(swapped), 'error', /refused the exchange/);
    expect(await stateOf(a.connectionId)).toBe('auth_required');
    expect(await stateOf(b.connectionId)).toBe('auth_required');
    // A's own flow was untouched and the AS did not spend the code on the failed PKCE check
    // (oidc-provider verifies PKCE before consuming the code): A's answer still completes A.
    await expectPage(await deliver(callbackA), 200, /Connected/);
    expect(await stateOf(a.connectionId)).toBe('connected');
    expect(await stateOf(b.connectionId)).toBe('auth_required');
  });

  it.each([
    ['another issuer', (url: URL) => url.searchParams.set('iss', 'http://evil.example')],
    ['the issuer with a trailing slash', (url: URL) => url.searchParams.set('iss', `${upstream.issuer}/`)],
  ])('an answer naming %s as iss is refused; the connection stays auth_required', async (_label, tamper) => {
    const connection = await createConnection();
    const callback = await callbackFor(connection.status.authorizationUrl!);
    tamper(callback);
    await expectPage(await deliver(callback), 400, /iss/);
    expect(await stateOf(connection.connectionId)).toBe('auth_required');
  });

  it('an answer without iss, from an authorization server that sends it, is refused (RFC 9207)', async () => {
    const connection = await createConnection();
    const callback = await callbackFor(connection.status.authorizationUrl!);
    callback.searchParams.delete('iss');
    await expectPage(await deliver(callback), 'error', /could not be completed/);
    expect(await stateOf(connection.connectionId)).toBe('auth_required');
  });

  it('a denial shows "Not authorized"; the connection stays auth_required', async () => {
    const connection = await createConnection();
    const state = (await openLink(connection.status.authorizationUrl!)).searchParams.get('state')!;
    await expectPage(await deliver(callbackWith({ error: 'access_denied', state, iss: upstream.issuer })), 200, /Not authorized[\s\S]*access_denied/);
    expect(await stateOf(connection.connectionId)).toBe('auth_required');
  });

  it('a denial with markup in the error code shows no markup', async () => {
    const connection = await createConnection();
    const state = (await openLink(connection.status.authorizationUrl!)).searchParams.get('state')!;
    const response = await deliver(callbackWith({ error: '<script>alert(1)</script>', state }));
    const page = await response.text();
    expect(response.status).toBe(200);
    expect(page).not.toContain('<script>');
    expect(page).toContain('access_denied');
  });

  it('a denial with a return URL goes back with status=denied', async () => {
    const connection = await createConnection();
    const state = (await openLink(connection.status.authorizationUrl!, `${APP}/done`)).searchParams.get('state')!;
    const response = await deliver(callbackWith({ error: 'access_denied', state, iss: upstream.issuer }));
    expect(response.status).toBe(302);
    expect(response.headers.get('location')).toBe(`${APP}/done?connectionId=${connection.connectionId}&status=denied`);
    expect(await stateOf(connection.connectionId)).toBe('auth_required');
  });
});

describe('doctored and outdated links', () => {
  const swapChar = (text: string, at: number) => `${text.slice(0, at)}${text[at] === 'A' ? 'B' : 'A'}${text.slice(at + 1)}`;
  /** The link with its claims changed and the original signature kept. */
  const withClaims = (link: string, change: (claims: Record<string, unknown>) => Record<string, unknown>) => {
    const cut = link.lastIndexOf('/') + 1;
    const [payload, signature] = link.slice(cut).split('.') as [string, string];
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as Record<string, unknown>;
    return `${link.slice(0, cut)}${Buffer.from(JSON.stringify(change(claims))).toString('base64url')}.${signature}`;
  };

  it.each([
    ['payload names another connection', (link: string, otherId: string) => withClaims(link, (claims) => ({ ...claims, c: otherId }))],
    ['payload claims a later expiry', (link: string) => withClaims(link, (claims) => ({ ...claims, e: Number(claims.e) + 3600 }))],
    ['signature changed', (link: string) => swapChar(link, link.length - 10)],
    ['signature is gone', (link: string) => link.slice(0, link.lastIndexOf('.'))],
    ['token is not a link at all', (link: string) => `${link.slice(0, link.lastIndexOf('/') + 1)}not-a-link`],
  ])('a link whose %s leads to a 404 page', async (_label, doctor) => {
    const [connection, other] = [await createConnection(), await createConnection()];
    const flowsBefore = await countFlows();
    await expectPage(await deliver(doctor(connection.status.authorizationUrl!, other.connectionId)), 404, /not valid/);
    expect(await countFlows()).toBe(flowsBefore);
  });

  it('a link minted before the connection’s credentials changed no longer starts a flow; a flow started before cannot complete', async () => {
    const connection = await createConnection();
    const oldLink = connection.status.authorizationUrl!;
    const callback = await callbackFor(oldLink);
    const updated = await send('PUT', `/${ns}/${connection.connectionId}`, { headers: { 'x-api-key': canary('upstream-key') } });
    expect(updated.status).toBe(200);
    await expectPage(await deliver(oldLink), 404, /not valid/);
    await expectPage(await deliver(callback), 400, /changed while it was being authorized/);
    expect(await stateOf(connection.connectionId)).toBe('auth_required');
    // The link shown now works.
    const fresh = ((await updated.json()) as Connection).status.authorizationUrl!;
    await expectPage(await deliver(await callbackFor(fresh)), 200, /Connected/);
  });

  it('a link minted before the connection was deleted and created again with the same id no longer starts a flow', async () => {
    const id = `reused-${randomBytes(4).toString('hex')}`;
    const first = await send('PUT', `/${ns}/${id}`, { mcpUrl: upstream.mcpUrl, metadata: { user: 'first' } });
    expect(first.status).toBe(201);
    const oldLink = ((await first.json()) as Connection).status.authorizationUrl!;
    expect((await send('DELETE', `/${ns}/${id}`)).status).toBe(200);
    const second = await send('PUT', `/${ns}/${id}`, { mcpUrl: upstream.mcpUrl, metadata: { user: 'second' } });
    expect(second.status).toBe(201);
    await expectPage(await deliver(oldLink), 404, /not valid/);
  });

  it('a link minted before its namespace was deleted and taken by another account no longer starts a flow', async () => {
    const name = `oauth-ns-${randomBytes(3).toString('hex')}`;
    const id = 'same-id';
    expect((await send('PUT', `/namespaces/${name}`)).status).toBe(201);
    const created = await send('PUT', `/${name}/${id}`, { mcpUrl: upstream.mcpUrl });
    const oldLink = ((await created.json()) as Connection).status.authorizationUrl!;
    expect((await send('DELETE', `/namespaces/${name}`)).status).toBe(200);
    const other = await server.newAccount('other');
    expect((await send('PUT', `/namespaces/${name}`, undefined, other.key)).status).toBe(201);
    expect((await send('PUT', `/${name}/${id}`, { mcpUrl: upstream.mcpUrl }, other.key)).status).toBe(201);
    await expectPage(await deliver(oldLink), 404, /not valid/);
  });
});

describe('another account’s OAuth client for the same issuer', () => {
  it('a failed exchange with it does not cost other accounts the client their connections use', async () => {
    // The owner's connection, authorized with the client Switchboard registered at the issuer.
    const mine = await createConnection();
    const toAs = await openLink(mine.status.authorizationUrl!);
    await expectPage(await deliver(await completeLoginWithFetch(toAs, 'alice')), 200, /Connected/);
    const sharedClientId = toAs.searchParams.get('client_id')!;
    const before = (await upstream.stats()).as;

    // Another tenant configures that (public, visible) client id with a secret: the authorization
    // server refuses the exchange (invalid_client), and nothing else may change.
    const other = await server.newAccount('other-tenant');
    const configured = await send('PUT', '/oauth-clients', { issuer: upstream.issuer, clientId: sharedClientId, clientSecret: canary('client-secret') }, other.key);
    expect(configured.status).toBe(200);
    const theirNs = ((await (await send('POST', '/namespaces', undefined, other.key)).json()) as { name: string }).name;
    const theirs = (await (await send('POST', `/${theirNs}`, { mcpUrl: upstream.mcpUrl }, other.key)).json()) as Connection;
    await expectPage(await deliver(await callbackFor(theirs.status.authorizationUrl!, 'mallory')), 'error', /invalid_client/);
    expect(await stateOf(theirs.connectionId, theirNs, other.key)).toBe('auth_required');

    // The owner's connection still refreshes past its token's expiry.
    await new Promise((resolve) => setTimeout(resolve, ACCESS_TOKEN_TTL_SECONDS * 1000 + 400));
    const call = await send('POST', `/${ns}/${mine.connectionId}/.tools/whoami`, {});
    const body = await call.text();
    expect(call.status, body).toBe(200);
    expect(body).toContain('alice');
    const after = (await upstream.stats()).as;
    expect(after.refreshGrants - before.refreshGrants).toBe(1);
    expect(await stateOf(mine.connectionId)).toBe('connected');
  });
});
