import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStrictPageHeaders } from '../helpers/pages.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { createAuthorizationLinks } from '../../src/core/oauth/authorization-links.ts';
import { deliverCallback, openInterstitial, startAuthorizationWithFetch, submitInterstitial, type Interstitial } from '../helpers/authorization-link.ts';
import { completeLoginWithFetch, startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * An authorization link is a bearer capability, so it is held short: it expires in minutes,
 * works once (a newer link supersedes it), is refused while the connection is connected
 * unless the app asked for re-authorization, opens an interstitial that names who asks (and
 * spends nothing), continues only by a post from that page, and binds the flow to the browser
 * that continued it. Dynamically registered clients belong to one account. Every page sends
 * the strict headers.
 */
const secret = randomBytes(32).toString('base64url');

let server: TestServer;
let upstream: OAuthUpstream;
let plain: Upstream;
let owner: { key: string; accountId: string };
let ns: string;

beforeAll(async () => {
  [upstream, plain, server] = await Promise.all([startOAuthUpstream({ accessTokenTtlSeconds: 60 }), startFixtureUpstream('sessions'), startTestServer({ SWITCHBOARD_SECRET: secret })]);
  owner = await server.newAccount('links-owner');
  ns = ((await (await send('POST', '/namespaces')).json()) as { name: string }).name;
});
afterAll(async () => {
  await upstream?.stop();
  await plain?.stop();
  await server?.close();
});

type Connection = { connectionId: string; name: string; status: { state: string; authorizationUrl?: string } };
type AuditEvent = { type: string; connectionId: string | null; actor: { type: string }; details: Record<string, unknown> };

function send(method: string, pathname: string, body?: unknown, bearer = owner.key): Promise<Response> {
  return server.request(pathname, {
    method,
    bearer,
    ...(body === undefined ? {} : { headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) }),
  });
}

async function createConnection(extra: Record<string, unknown> = {}, namespace = ns, bearer = owner.key): Promise<Connection> {
  const response = await send('POST', `/${namespace}`, { mcpUrl: upstream.mcpUrl, ...extra }, bearer);
  const body = (await response.json()) as Connection;
  expect(response.status, JSON.stringify(body)).toBe(201);
  expect(body.status.state).toBe('auth_required');
  return body;
}

async function getConnection(id: string): Promise<Connection> {
  return (await (await send('GET', `/${ns}/${id}`)).json()) as Connection;
}

async function authorizeFully(link: string, login = 'alice'): Promise<Response> {
  return deliverCallback(await completeLoginWithFetch(await startAuthorizationWithFetch(link), login));
}

async function whoami(id: string): Promise<string | undefined> {
  const response = await send('POST', `/${ns}/${id}/.tools/whoami`, {});
  const body = (await response.json()) as { content?: { text?: string }[] };
  expect(response.status, JSON.stringify(body)).toBe(200);
  return (JSON.parse(body.content?.[0]?.text ?? '{}') as { sub?: string }).sub;
}

async function reauthorize(id: string, bearer = owner.key, namespace = ns): Promise<Response> {
  return send('POST', `/${namespace}/${id}/.reauthorize`, undefined, bearer);
}

async function eventsFor(connectionId: string, type: string): Promise<AuditEvent[]> {
  const response = await send('GET', `/audit-events?type=${type}&connectionId=${connectionId}&limit=100`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { events: AuditEvent[] }).events;
}

async function countFlows(): Promise<number> {
  return Number((await server.db.selectFrom('oauth_flows').select((eb) => eb.fn.countAll().as('n')).executeTakeFirstOrThrow()).n);
}

function expectStrictHeaders(response: Response): void {
  expectStrictPageHeaders(response.headers);
}

/** A page with the strict headers; an interstitial (already read) or a response. */
async function expectPage(answer: Response | Interstitial, status: number, text: RegExp): Promise<string> {
  const response = answer instanceof Response ? answer : answer.response;
  const body = answer instanceof Response ? await answer.text() : answer.html;
  expect(response.status, body).toBe(status);
  expect(response.headers.get('content-type')).toMatch(/^text\/html/);
  expect(response.headers.get('location')).toBeNull();
  expectStrictHeaders(response);
  expect(body).toMatch(text);
  return body;
}

describe('the interstitial', () => {
  it('names the namespace, the connection and the upstream host, escaped, and asks to continue with a post', async () => {
    const connection = await createConnection({ name: '<b>Mail</b> "bot"' });
    const page = await openInterstitial(connection.status.authorizationUrl!);
    const body = await expectPage(page, 200, /Continue to/);
    const host = new URL(upstream.mcpUrl).host;
    expect(body).toContain(`<strong>${ns}</strong>`);
    expect(body).toContain('&#60;b&#62;Mail&#60;/b&#62; &#34;bot&#34;');
    expect(body).not.toContain('<b>Mail</b>');
    expect(body).toContain(`Server: <strong>${host}</strong>`);
    expect(body).toMatch(/<form method="post">/);
    expect(page.fields.get('continue')).toBeTruthy();
    // The browser's secret: only for /oauth, never readable by script, sent back on the top-level callback.
    const cookie = page.response.headers.getSetCookie()[0]!;
    expect(cookie).toMatch(/^switchboard_oauth=[\w-]+\.[\w-]+; /);
    expect(cookie).toContain('Path=/oauth;');
    expect(cookie).toContain('HttpOnly');
    expect(cookie).toContain('SameSite=Lax');
    expect(cookie).not.toContain('Secure');
  });

  it('opening it (twice, or a HEAD from a link previewer) starts nothing and spends nothing', async () => {
    const connection = await createConnection();
    const link = connection.status.authorizationUrl!;
    const flowsBefore = await countFlows();
    await openInterstitial(link);
    expect((await fetch(link, { method: 'HEAD', redirect: 'manual' })).status).toBe(200);
    await openInterstitial(link);
    expect(await countFlows()).toBe(flowsBefore);
    expect(await eventsFor(connection.connectionId, 'oauth.started')).toEqual([]);
    expect((await authorizeFully(link)).status).toBe(200);
  });

  it.each([
    ['without its form token', (page: { fields: URLSearchParams }) => page.fields.delete('continue'), {}],
    ['without the browser cookie', (page: { cookie?: string }) => (page.cookie = undefined), {}],
    ['with another browser’s cookie', (page: { cookie?: string }) => (page.cookie = `switchboard_oauth=${randomBytes(32).toString('base64url')}`), {}],
    ['with two values of the cookie', (page: { cookie?: string }) => (page.cookie = `${page.cookie}; ${page.cookie}`), {}],
    ['from another site', () => undefined, { 'sec-fetch-site': 'cross-site' }],
  ])('a continue %s is refused (403) and starts nothing', async (_label, tamper, headers: Record<string, string>) => {
    const connection = await createConnection();
    const link = connection.status.authorizationUrl!;
    const page = await openInterstitial(link);
    tamper(page as never);
    const flowsBefore = await countFlows();
    const response = await fetch(link, {
      method: 'POST',
      redirect: 'manual',
      headers: { 'content-type': 'application/x-www-form-urlencoded', ...(page.cookie ? { cookie: page.cookie } : {}), ...headers },
      body: page.fields,
    });
    await expectPage(response, 403, /cannot continue/i);
    expect(await countFlows()).toBe(flowsBefore);
    // The link itself is not spent by a refused post.
    expect((await authorizeFully(link)).status).toBe(200);
  });
});

describe('single use, expiry, supersession', () => {
  it('a link continued once is refused the second time, with a clear page and an audit event', async () => {
    const connection = await createConnection();
    const link = connection.status.authorizationUrl!;
    const page = await openInterstitial(link);
    expect((await submitInterstitial(link, page)).status).toBe(303);
    const flowsAfterFirst = await countFlows();
    await expectPage(await submitInterstitial(link, page), 410, /already used[\s\S]*works only once/);
    await expectPage(await openInterstitial(link), 410, /already used/);
    expect(await countFlows()).toBe(flowsAfterFirst);
    const failed = await eventsFor(connection.connectionId, 'oauth.failed');
    expect(failed.map((event) => event.details.reason)).toEqual(['link_spent']);
  });

  it('continuing one link supersedes every link minted before it; the link shown afterwards works', async () => {
    const connection = await createConnection();
    const older = connection.status.authorizationUrl!;
    const olderPage = await openInterstitial(older);
    const newer = (await getConnection(connection.connectionId)).status.authorizationUrl!;
    expect(newer).not.toBe(older);
    const toAs = await startAuthorizationWithFetch(newer);
    await expectPage(await submitInterstitial(older, olderPage), 410, /already used/);
    // The user gives up at the authorization server; the app shows its link again.
    const afterwards = (await getConnection(connection.connectionId)).status.authorizationUrl!;
    expect((await authorizeFully(afterwards, 'alice')).status).toBe(200);
    expect(toAs.origin).toBe(upstream.issuer);
  });

  it('reading the connection again and again does not break the link the app handed out', async () => {
    const connection = await createConnection();
    const handedOut = connection.status.authorizationUrl!;
    for (let i = 0; i < 3; i++) expect((await getConnection(connection.connectionId)).status.state).toBe('auth_required');
    expect((await authorizeFully(handedOut)).status).toBe(200);
  });

  it('an expired link answers a clear page, not a flow', async () => {
    const connection = await createConnection();
    const row = await server.db.selectFrom('connections').select(['revision', 'created_at']).where('id', '=', connection.connectionId).executeTakeFirstOrThrow();
    const mintedLongAgo = createAuthorizationLinks(createKeyring([secret]), server.url, 900, () => Date.now() - 3600_000);
    const link = mintedLongAgo.urlFor({ namespace: ns, id: connection.connectionId, revision: row.revision, createdAt: new Date(row.created_at) });
    const flowsBefore = await countFlows();
    await expectPage(await openInterstitial(link), 410, /expired[\s\S]*15 minutes/);
    expect(await countFlows()).toBe(flowsBefore);
  });

  it('a link of the default lifetime expires after 15 minutes', async () => {
    const connection = await createConnection();
    const payload = connection.status.authorizationUrl!.split('/').pop()!.split('.')[0]!;
    const claims = JSON.parse(Buffer.from(payload, 'base64url').toString('utf8')) as { e: number };
    const lifetime = claims.e - Math.floor(Date.now() / 1000);
    expect(lifetime).toBeGreaterThan(840);
    expect(lifetime).toBeLessThanOrEqual(900);
  });
});

describe('a connected connection', () => {
  let connection: Connection;
  /** Minted and opened while the connection needed authorization, unused when it got connected. */
  let staleLink: string;
  let stalePage: Interstitial;

  beforeAll(async () => {
    connection = await createConnection({ name: 'connected-one' });
    const toAs = await startAuthorizationWithFetch(connection.status.authorizationUrl!);
    staleLink = (await getConnection(connection.connectionId)).status.authorizationUrl!;
    stalePage = await openInterstitial(staleLink);
    expect(stalePage.response.status).toBe(200);
    expect((await deliverCallback(await completeLoginWithFetch(toAs, 'alice'))).status).toBe(200);
    expect(await whoami(connection.connectionId)).toBe('alice');
  });

  it('refuses an authorization link, opened or continued: nothing replaces its tokens', async () => {
    await expectPage(await openInterstitial(staleLink), 409, /Already connected/);
    const flowsBefore = await countFlows();
    await expectPage(await submitInterstitial(staleLink, stalePage), 409, /Already connected[\s\S]*Nothing was changed/);
    expect(await countFlows()).toBe(flowsBefore);
    expect(await whoami(connection.connectionId)).toBe('alice');
    const failed = await eventsFor(connection.connectionId, 'oauth.failed');
    expect(failed.map((event) => event.details.reason)).toEqual(['already_connected']);
  });

  it('a flow started before the connection got connected (from another link) cannot complete', async () => {
    const other = await createConnection();
    const toAsFirst = await startAuthorizationWithFetch(other.status.authorizationUrl!);
    const toAsSecond = await startAuthorizationWithFetch((await getConnection(other.connectionId)).status.authorizationUrl!);
    expect((await deliverCallback(await completeLoginWithFetch(toAsFirst, 'alice'))).status).toBe(200);
    await expectPage(await deliverCallback(await completeLoginWithFetch(toAsSecond, 'mallory')), 409, /authorized meanwhile/);
    const sub = await (async () => {
      const response = await send('POST', `/${ns}/${other.connectionId}/.tools/whoami`, {});
      return (JSON.parse(((await response.json()) as { content: { text: string }[] }).content[0]!.text) as { sub: string }).sub;
    })();
    expect(sub).toBe('alice');
    const failed = await eventsFor(other.connectionId, 'oauth.failed');
    expect(failed.map((event) => event.details.reason)).toContain('already_connected');
  });

  it('re-authorization the app asks for explicitly works, once, and supersedes older links', async () => {
    const first = await reauthorize(connection.connectionId);
    const minted = (await first.json()) as { authorizationUrl: string; expiresAt: string };
    expect(first.status, JSON.stringify(minted)).toBe(200);
    expect(minted.authorizationUrl).toMatch(new RegExp(`^${server.url}/oauth/authorize/`));
    expect(Date.parse(minted.expiresAt) - Date.now()).toBeLessThanOrEqual(900_000);
    const second = (await (await reauthorize(connection.connectionId)).json()) as { authorizationUrl: string };
    await expectPage(await openInterstitial(minted.authorizationUrl), 410, /already used/);
    const page = await openInterstitial(second.authorizationUrl);
    await expectPage(page, 200, /already signed in: continuing replaces the account/);
    expect((await authorizeFully(second.authorizationUrl, 'bob')).status).toBe(200);
    expect(await whoami(connection.connectionId)).toBe('bob');
    await expectPage(await openInterstitial(second.authorizationUrl), 410, /already used/);
    const started = await eventsFor(connection.connectionId, 'oauth.started');
    expect(started.map((event) => event.details.reauthorization)).toEqual([true, false]);
  });

  it('re-authorization needs write on the connection; another account gets 404; a connection without OAuth 409', async () => {
    const readOnly = (await (await send('POST', '/tokens', { policy: [{ namespaces: ns, resources: 'connections', operations: 'read' }] })).json()) as { token: string };
    expect((await reauthorize(connection.connectionId, readOnly.token)).status).toBe(403);
    const writer = (await (await send('POST', '/tokens', { policy: [{ namespaces: ns, resources: 'connections', operations: 'write' }] })).json()) as { token: string };
    expect((await reauthorize(connection.connectionId, writer.token)).status).toBe(200);
    const stranger = await server.newAccount('stranger');
    const answer = await reauthorize(connection.connectionId, stranger.key);
    expect(answer.status).toBe(404);
    const withoutOAuth = (await (await send('POST', `/${ns}`, { mcpUrl: plain.url })).json()) as Connection;
    expect(withoutOAuth.status.state).toBe('connected');
    const refused = await reauthorize(withoutOAuth.connectionId);
    expect(refused.status).toBe(409);
    expect(refused.headers.get('x-should-retry')).toBe('false');
    expect(await refused.json()).toMatchObject({ error: 'conflict', message: expect.stringMatching(/does not use OAuth/) });
  });
});

describe('browser binding', () => {
  it('a callback without the cookie of the browser that continued the link is refused, audited, and connects nothing', async () => {
    const connection = await createConnection();
    const callback = await completeLoginWithFetch(await startAuthorizationWithFetch(connection.status.authorizationUrl!), 'mallory');
    await expectPage(await fetch(callback, { redirect: 'manual' }), 403, /started in another browser/);
    expect((await getConnection(connection.connectionId)).status.state).toBe('auth_required');
    const failed = await eventsFor(connection.connectionId, 'oauth.failed');
    expect(failed).toHaveLength(1);
    expect(failed[0]).toMatchObject({ actor: { type: 'end_user' }, details: { reason: 'browser_mismatch' } });
    expect(JSON.stringify(failed)).not.toContain(callback.searchParams.get('state')!);
    expect(JSON.stringify(failed)).not.toContain(callback.searchParams.get('code')!);
  });

  it('a callback with another browser’s cookie is refused too', async () => {
    const connection = await createConnection();
    const callback = await completeLoginWithFetch(await startAuthorizationWithFetch(connection.status.authorizationUrl!), 'mallory');
    const elsewhere = await openInterstitial((await createConnection()).status.authorizationUrl!);
    await expectPage(await fetch(callback, { redirect: 'manual', headers: { cookie: elsewhere.cookie! } }), 403, /another browser/);
    expect((await getConnection(connection.connectionId)).status.state).toBe('auth_required');
  });

  it('a callback carrying two values of the cookie (one planted) is refused, audited, and connects nothing', async () => {
    const connection = await createConnection();
    const link = connection.status.authorizationUrl!;
    const page = await openInterstitial(link);
    const continued = await submitInterstitial(link, page);
    expect(continued.status).toBe(303);
    const callback = await completeLoginWithFetch(new URL(continued.headers.get('location')!), 'alice');
    // Ours first, then another valid one: which one is this browser's cannot be told.
    const other = await openInterstitial((await createConnection()).status.authorizationUrl!);
    await expectPage(await fetch(callback, { redirect: 'manual', headers: { cookie: `${page.cookie}; ${other.cookie}` } }), 403, /another browser/);
    expect((await getConnection(connection.connectionId)).status.state).toBe('auth_required');
    expect(await eventsFor(connection.connectionId, 'oauth.failed')).toMatchObject([{ details: { reason: 'browser_mismatch' } }]);
  });

  it('a cookie value planted in the browser is not adopted: the flow is bound to a value Switchboard issued', async () => {
    // Mallory plants a value she chose in Alice's browser, and holds it in her own too.
    const planted = `switchboard_oauth=${randomBytes(32).toString('base64url')}`;
    const connection = await createConnection();
    const link = connection.status.authorizationUrl!;
    const page = await openInterstitial(link, { cookie: planted });
    expect(page.cookie).not.toBe(planted);
    const continued = await submitInterstitial(link, page);
    expect(continued.status).toBe(303);
    // She sends Alice the authorization server's URL; Alice signs in, her browser brings back the planted value.
    const callback = await completeLoginWithFetch(new URL(continued.headers.get('location')!), 'alice');
    await expectPage(await fetch(callback, { redirect: 'manual', headers: { cookie: planted } }), 403, /another browser/);
    expect((await getConnection(connection.connectionId)).status.state).toBe('auth_required');
    expect(await eventsFor(connection.connectionId, 'oauth.failed')).toMatchObject([{ details: { reason: 'browser_mismatch' } }]);
  });

  it('on https the cookie is __Host-: Secure, Path=/, no Domain (a sibling subdomain cannot set it); a plain-named one is ignored', async () => {
    const https = await startTestServer({ PUBLIC_URL: 'https://switchboard.test' });
    try {
      const account = await https.newAccount('https-links');
      const namespace = ((await (await https.request('/namespaces', { method: 'POST', bearer: account.key })).json()) as { name: string }).name;
      const created = await https.request(`/${namespace}`, {
        method: 'POST',
        bearer: account.key,
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ mcpUrl: upstream.mcpUrl }),
      });
      const connection = (await created.json()) as Connection;
      expect(created.status, JSON.stringify(connection)).toBe(201);
      const link = connection.status.authorizationUrl!.replace('https://switchboard.test', https.url);
      const page = await openInterstitial(link);
      expect(page.response.status).toBe(200);
      const [cookie, ...more] = page.response.headers.getSetCookie();
      expect(more).toEqual([]);
      expect(cookie).toMatch(/^__Host-switchboard_oauth=[\w-]+\.[\w-]+; /);
      expect(cookie).toContain('Path=/;');
      expect(cookie).toContain('Secure');
      expect(cookie).not.toMatch(/Domain/i);
      // A plain-named cookie (settable by a sibling subdomain) is not the browser's secret.
      const value = page.cookie!.slice(page.cookie!.indexOf('=') + 1);
      const refused = await submitInterstitial(link, { ...page, cookie: `switchboard_oauth=${value}` });
      expect(refused.status).toBe(403);
    } finally {
      await https.close();
    }
  });

  it('the whole walk is audited: started, completed', async () => {
    const connection = await createConnection();
    expect((await authorizeFully(connection.status.authorizationUrl!)).status).toBe(200);
    const [started] = await eventsFor(connection.connectionId, 'oauth.started');
    expect(started).toMatchObject({ actor: { type: 'end_user' }, details: { issuer: upstream.issuer, reauthorization: false } });
    expect(await eventsFor(connection.connectionId, 'oauth.completed')).toHaveLength(1);
  });
});

describe('dynamically registered clients', () => {
  it('belong to one account: another account at the same issuer registers its own', async () => {
    const mine = await createConnection();
    const myClient = (await startAuthorizationWithFetch(mine.status.authorizationUrl!)).searchParams.get('client_id')!;
    const other = await server.newAccount('dcr-other');
    const theirNs = ((await (await send('POST', '/namespaces', undefined, other.key)).json()) as { name: string }).name;
    const theirs = await createConnection({}, theirNs, other.key);
    const theirClient = (await startAuthorizationWithFetch(theirs.status.authorizationUrl!)).searchParams.get('client_id')!;
    expect(theirClient).not.toBe(myClient);
    // Each account reuses its own.
    const again = await createConnection();
    expect((await startAuthorizationWithFetch(again.status.authorizationUrl!)).searchParams.get('client_id')).toBe(myClient);
    const rows = await server.db.selectFrom('oauth_clients').select(['account_id', 'client_id']).where('kind', '=', 'registered').where('issuer', '=', upstream.issuer).execute();
    expect(rows.every((row) => row.account_id !== null)).toBe(true);
    expect(rows.find((row) => row.client_id === theirClient)?.account_id).toBe(other.accountId);
  });
});

describe('strict headers on every page', () => {
  it.each([
    ['a refused link', () => fetch(`${server.url}/oauth/authorize/not-a-link`, { redirect: 'manual' }), 404],
    ['a callback without state', () => fetch(`${server.url}/oauth/callback`, { redirect: 'manual' }), 400],
    ['a method not allowed', () => fetch(`${server.url}/oauth/callback`, { method: 'POST', redirect: 'manual' }), 405],
    ['the client metadata document’s absence (http)', () => fetch(`${server.url}/oauth/client-metadata.json`, { redirect: 'manual' }), 404],
  ])('%s', async (_label, request, status) => {
    const response = await request();
    expect(response.status).toBe(status);
    expectStrictHeaders(response);
  });

  it('the API reference page', async () => {
    const response = await fetch(`${server.url}/docs`);
    expect(response.status).toBe(200);
    expectStrictHeaders(response);
  });
});
