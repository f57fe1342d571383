import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { expectStrictPageHeaders } from '../helpers/pages.ts';
import { createKeyring } from '../../src/core/crypto/keyring.ts';
import { createAuthorizationLinks } from '../../src/core/oauth/authorization-links.ts';
import { createSetupLinks } from '../../src/core/setup/setup-links.ts';
import { startHostileConfigUpstream } from '../fixtures/hostile-config-upstream.ts';
import { canary } from '../helpers/canary.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort, startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';

/**
 * The setup pages' refusals over plain HTTP: links that were forged, tampered with, signed for
 * another purpose or with another secret, expired, or name a connection that is gone; posts
 * from elsewhere (no form token, another page's token, another origin); return URLs the operator
 * did not allow; a hostile config schema. Each answer is a 4xx HTML page, never a 500, and says
 * nothing about whether a connection exists.
 */
const NS = 'setup-links-app';
const APP = 'https://app.example.com';
const secret = randomBytes(32).toString('base64url');
const upstreamKey = canary('setup-link-key');

let server: TestServer;
let configured: Upstream;
let hostile: Awaited<ReturnType<typeof startHostileConfigUpstream>>;
let apiKey: string;
/** Every status a setup page answered in this file: none may be a 5xx. */
const statuses: number[] = [];

type Connection = { connectionId: string; status: { state: string; setupUrl?: string } };

beforeAll(async () => {
  [server, configured, hostile] = await Promise.all([
    startTestServer({ OAUTH_RETURN_ORIGINS: APP, SWITCHBOARD_SECRET: secret }),
    startFixtureUpstream('sessions', { requireApiKey: upstreamKey, configSchema: true }),
    startHostileConfigUpstream(),
  ]);
  ({ key: apiKey } = await server.newAccount('setup-links'));
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: apiKey })).status).toBe(201);
});

afterAll(async () => {
  try {
    expect(statuses.filter((status) => status >= 500)).toEqual([]);
    await hostile?.close();
    await server?.close();
  } finally {
    await configured?.stop();
  }
});

async function createConnection(body: Record<string, unknown>, id?: string): Promise<Connection> {
  const made = await server.request(id ? `/${NS}/${id}` : `/${NS}`, {
    method: id ? 'PUT' : 'POST',
    bearer: apiKey,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(made.status).toBe(201);
  return (await made.json()) as Connection;
}

async function state(id: string): Promise<string> {
  return ((await (await server.request(`/${NS}/${id}`, { bearer: apiKey })).json()) as Connection).status.state;
}

type Page = { status: number; headers: Headers; body: string };

async function open(pathname: string, init: RequestInit = {}): Promise<Page> {
  const response = await server.request(pathname, { redirect: 'manual', ...init });
  const page = { status: response.status, headers: response.headers, body: await response.text() };
  statuses.push(page.status);
  return page;
}

/** A form post as a browser sends it from the page itself (same origin, no referrer: Origin null). */
function post(pathname: string, fields: Record<string, string>, headers: Record<string, string> = {}): Promise<Page> {
  return open(pathname, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded', origin: 'null', 'sec-fetch-site': 'same-origin', ...headers },
    body: new URLSearchParams(fields).toString(),
  });
}

const pathOf = (url: string) => new URL(url).pathname + new URL(url).search;
const tokenOf = (setupUrl: string) => new URL(setupUrl).pathname.slice('/setup/'.length);
const formTokenOf = (body: string) => /name="formToken" value="([^"]+)"/.exec(body)![1]!;

/**
 * The token with one character of its signature changed. Not the last character: base64url's
 * last character carries bits a decoder ignores, so some changes there decode to the same bytes
 * (the genuine token, about once in a thousand runs).
 */
const forged = (token: string) => {
  const at = token.length - 5;
  return `${token.slice(0, at)}${token[at] === 'A' ? 'B' : 'A'}${token.slice(at + 1)}`;
};

function expectSafePage(page: Page): void {
  expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
  expectStrictPageHeaders(page.headers);
  const csp = page.headers.get('content-security-policy') ?? '';
  expect(csp).toContain("default-src 'none'");
  expect(csp).toContain("frame-ancestors 'none'");
  expect(csp).not.toContain('unsafe-inline');
  expect(page.body).not.toMatch(/<script/i);
}

describe('links that do not open a setup page', () => {
  let connection: Connection;
  let forgedBody: string;

  beforeAll(async () => {
    connection = await createConnection({ mcpUrl: configured.url, name: 'links' });
    expect(connection.status.state).toBe('input_required');
    forgedBody = (await open('/setup/not-a-link')).body;
  });

  const keyring = () => createKeyring([secret]);
  const target = () => ({ namespace: NS, id: connection.connectionId, revision: 1, createdAt: new Date() });
  const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);

  const cases: { name: string; path: () => string | Promise<string>; message: RegExp }[] = [
    { name: 'garbage', path: () => '/setup/not-a-link', message: /not valid/ },
    { name: 'a tampered payload', path: () => `/setup/${flip(tokenOf(connection.status.setupUrl!), 5)}`, message: /not valid/ },
    { name: 'a tampered signature', path: () => { const t = tokenOf(connection.status.setupUrl!); return `/setup/${flip(t, t.length - 3)}`; }, message: /not valid/ },
    { name: 'an authorization link (signed for another purpose)', path: () => `/setup/${new URL(createAuthorizationLinks(keyring(), server.url, 900).urlFor(target())).pathname.split('/').pop()}`, message: /not valid/ },
    { name: 'a link signed with another secret', path: () => pathOf(createSetupLinks(createKeyring([randomBytes(32).toString('base64url')]), server.url, 3600).setupUrlFor(target())), message: /not valid/ },
    {
      name: 'an expired link',
      path: async () => {
        const createdAt = new Date((await server.db.selectFrom('connections').select('created_at').where('id', '=', connection.connectionId).executeTakeFirstOrThrow()).created_at);
        return pathOf(createSetupLinks(keyring(), server.url, 60, () => Date.now() - 2 * 3600_000).setupUrlFor({ ...target(), createdAt }));
      },
      message: /expired/,
    },
    { name: 'a nested path', path: () => '/setup/a/b', message: /not valid/ },
    { name: 'a link with broken percent-encoding', path: () => '/setup/%E0%A4%A', message: /not valid/ },
  ];

  it.each(cases)('refuses $name with a 404 page', async ({ path, message }) => {
    const page = await open(await path());
    expect(page.status).toBe(404);
    expectSafePage(page);
    expect(page.body).toMatch(message);
  });

  it('opens the genuine link (the cases above are refusals, not a broken page)', async () => {
    const page = await open(pathOf(connection.status.setupUrl!));
    expect(page.status).toBe(200);
    expectSafePage(page);
    expect(page.body).toContain('Set up “links”');
  });

  it('answers a deleted connection, and one recreated under the same id, exactly like a forged link', async () => {
    const doomed = await createConnection({ mcpUrl: configured.url }, 'doomed-one');
    expect((await open(pathOf(doomed.status.setupUrl!))).status).toBe(200);
    expect((await server.request(`/${NS}/doomed-one`, { method: 'DELETE', bearer: apiKey })).status).toBe(200);
    const deleted = await open(pathOf(doomed.status.setupUrl!));
    expect(deleted.status).toBe(404);
    expect(deleted.body).toBe(forgedBody);
    await createConnection({ mcpUrl: configured.url }, 'doomed-one');
    const recreated = await open(pathOf(doomed.status.setupUrl!));
    expect(recreated.status).toBe(404);
    expect(recreated.body).toBe(forgedBody);
  });

  it('answers other methods 405, and HEAD without acting', async () => {
    const put = await open(pathOf(connection.status.setupUrl!), { method: 'PUT' });
    expect(put.status).toBe(405);
    expect(put.headers.get('allow')).toBe('GET, HEAD, POST');
    expect((await open(pathOf(connection.status.setupUrl!), { method: 'HEAD' })).status).toBe(200);
  });

  it('never logs the link: the request line names the route template', async () => {
    const token = tokenOf(connection.status.setupUrl!);
    const setupLines = server.logs.filter((line) => String(line.route ?? '').startsWith('/setup'));
    expect(setupLines.length).toBeGreaterThan(5);
    expect(new Set(setupLines.map((line) => line.route))).toEqual(new Set(['/setup/{link}']));
    expect(server.rawLogs.join('')).not.toContain(token.split('.')[1]);
  });
});

describe('posts that are not acted on (CSRF)', () => {
  let target: Connection;
  let other: Connection;
  let formToken: string;
  let otherToken: string;

  beforeAll(async () => {
    [target, other] = await Promise.all([
      createConnection({ mcpUrl: configured.url, name: 'target' }),
      createConnection({ mcpUrl: configured.url, name: 'other' }),
    ]);
    formToken = formTokenOf((await open(pathOf(target.status.setupUrl!))).body);
    otherToken = formTokenOf((await open(pathOf(other.status.setupUrl!))).body);
  });

  const filled = () => ({ 'header.x-api-key': upstreamKey, 'query.region': 'eu' });

  const cases: { name: string; fields: () => Record<string, string>; headers: Record<string, string>; status: number }[] = [
    { name: 'without the form token', fields: () => filled(), headers: {}, status: 403 },
    { name: 'with a forged form token', fields: () => ({ ...filled(), formToken: forged(formToken) }), headers: {}, status: 403 },
    { name: "with another connection's form token", fields: () => ({ ...filled(), formToken: otherToken }), headers: {}, status: 403 },
    { name: 'from another origin', fields: () => ({ ...filled(), formToken }), headers: { origin: 'https://evil.example' }, status: 403 },
    { name: 'from another site (fetch metadata)', fields: () => ({ ...filled(), formToken }), headers: { 'sec-fetch-site': 'cross-site', origin: 'null' }, status: 403 },
    { name: 'as JSON', fields: () => ({ ...filled(), formToken }), headers: { 'content-type': 'application/json' }, status: 415 },
  ];

  it.each(cases)('refuses a post $name, and changes nothing', async ({ fields, headers, status }) => {
    const page = await post(pathOf(target.status.setupUrl!), fields(), headers);
    expect(page.status).toBe(status);
    expectSafePage(page);
    expect(page.body).not.toContain(upstreamKey);
    expect(await state(target.connectionId)).toBe('input_required');
  });

  it('shows errors without echoing the secret, then accepts the genuine post', async () => {
    const partial = await post(pathOf(target.status.setupUrl!), { formToken, 'header.x-api-key': upstreamKey, 'query.region': '' });
    expect(partial.status).toBe(400);
    expect(partial.body).toContain('This field is required.');
    expect(partial.body).not.toContain(upstreamKey);
    const accepted = await post(pathOf(target.status.setupUrl!), { formToken, ...filled() });
    expect(accepted.status).toBe(303);
    expect(accepted.headers.get('location')).toBe(target.status.setupUrl);
    expect(accepted.headers.get('referrer-policy')).toBe('no-referrer');
    expect(await state(target.connectionId)).toBe('connected');
    // The same form again: the connection has moved on, so the user is shown where it stands and nothing changes.
    const replay = await post(pathOf(target.status.setupUrl!), { formToken, 'header.x-api-key': 'other', 'query.region': 'us' });
    expect(replay.status).toBe(303);
    expect(replay.headers.get('location')).toBe(target.status.setupUrl);
    const after = (await (await server.request(`/${NS}/${target.connectionId}`, { bearer: apiKey })).json()) as { mcpUrl: string };
    expect(new URL(after.mcpUrl).searchParams.get('region')).toBe('eu');
    expect(await state(target.connectionId)).toBe('connected');
  });

  it('asks again when the connection changed while the page was open', async () => {
    const page = await open(pathOf(other.status.setupUrl!));
    const update = await server.request(`/${NS}/${other.connectionId}`, {
      method: 'PUT',
      bearer: apiKey,
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ headers: { 'x-api-key': 'changed-by-the-app' } }),
    });
    expect(update.status).toBe(200);
    const stale = await post(pathOf(other.status.setupUrl!), { formToken: formTokenOf(page.body), 'header.x-api-key': upstreamKey, 'query.region': 'eu' });
    expect(stale.status).toBe(409);
    expect(stale.body).toContain('The connection changed while this page was open');
    expect(stale.body).not.toContain(upstreamKey);
    expect(await state(other.connectionId)).toBe('input_required');
  });
});

describe('return URLs', () => {
  let connection: Connection;
  beforeAll(async () => {
    connection = await createConnection({ mcpUrl: configured.url, name: 'returns' });
  });

  it.each([
    { returnUrl: 'https://evil.example/back', message: /not an allowed origin \(the operator sets OAUTH_RETURN_ORIGINS\)/ },
    { returnUrl: 'javascript:alert(1)', message: /absolute http\(s\) URL/ },
    { returnUrl: 'https://user:pw@app.example.com/back', message: /without credentials/ },
    { returnUrl: '/relative', message: /absolute http\(s\) URL/ },
  ])('refuses $returnUrl with a 400 page', async ({ returnUrl, message }) => {
    const page = await open(`${pathOf(connection.status.setupUrl!)}?returnUrl=${encodeURIComponent(returnUrl)}`);
    expect(page.status).toBe(400);
    expectSafePage(page);
    expect(page.body).toMatch(message);
  });

  it('keeps an allowed return URL through the form and sends the user there with the outcome', async () => {
    const link = `${pathOf(connection.status.setupUrl!)}?returnUrl=${encodeURIComponent(`${APP}/back?x=1`)}`;
    const page = await open(link);
    expect(page.status).toBe(200);
    const done = await post(link, { formToken: formTokenOf(page.body), 'header.x-api-key': upstreamKey, 'query.region': 'eu' });
    expect(done.status).toBe(303);
    expect(done.headers.get('location')).toBe(`${APP}/back?x=1&connectionId=${connection.connectionId}&status=connected`);
  });
});

describe('after the form, a server that asks for authorization', () => {
  it('leads straight on into the authorization link, carrying the return URL', async () => {
    const connection = await createConnection({ mcpUrl: configured.url, name: 'then-auth' });
    const back = `${APP}/after`;
    const link = `${pathOf(connection.status.setupUrl!)}?returnUrl=${encodeURIComponent(back)}`;
    const page = await open(link);
    // A key the fixture refuses: it answers 401, which is how a server asks for OAuth.
    const saved = await post(link, { formToken: formTokenOf(page.body), 'header.x-api-key': 'not-the-key', 'query.region': 'eu' });
    expect(saved.status).toBe(303);
    const location = new URL(saved.headers.get('location')!);
    expect(`${location.origin}${location.pathname}`).toMatch(new RegExp(`^${server.url}/oauth/authorize/[\\w-]+\\.[\\w-]+$`));
    expect(location.searchParams.get('returnUrl')).toBe(back);
    expect(await state(connection.connectionId)).toBe('auth_required');
    // The setup link now shows the authorization step.
    const next = await open(link);
    expect(next.status).toBe(200);
    expect(next.body).toContain('Authorize “then-auth”');
  });

  it('opens the authorization step only from a link as fresh as an authorization link (OAUTH_LINK_TTL_SECONDS)', async () => {
    const connection = await createConnection({ mcpUrl: configured.url, name: 'stale-auth' });
    const link = pathOf(connection.status.setupUrl!);
    const page = await open(link);
    await post(link, { formToken: formTokenOf(page.body), 'header.x-api-key': 'not-the-key', 'query.region': 'eu' });
    expect(await state(connection.connectionId)).toBe('auth_required');
    // A setup link minted 16 minutes ago, still within its own day: no authorization link from it.
    const createdAt = (await server.db.selectFrom('connections').select('created_at').where('id', '=', connection.connectionId).executeTakeFirstOrThrow()).created_at;
    const minted = createSetupLinks(createKeyring([secret]), server.url, 24 * 3600, () => Date.now() - 16 * 60_000);
    const stale = await open(pathOf(minted.setupUrlFor({ namespace: NS, id: connection.connectionId, createdAt: new Date(createdAt) })));
    expect(stale.status).toBe(410);
    expect(stale.body).toContain('expired');
    expect(stale.body).not.toContain('/oauth/authorize/');
    // The connection's own setupUrl, read now, still leads on.
    const fresh = (await (await server.request(`/${NS}/${connection.connectionId}`, { bearer: apiKey })).json()) as Connection;
    const current = await open(pathOf(fresh.status.setupUrl!));
    expect(current.status).toBe(200);
    expect(current.body).toContain('/oauth/authorize/');
  });
});

describe('a hostile config schema', () => {
  it('renders every piece of it as text', async () => {
    const connection = await createConnection({ mcpUrl: hostile.mcpUrl, name: '<b>name</b>' });
    expect(connection.status.state).toBe('input_required');
    const page = await open(pathOf(connection.status.setupUrl!));
    expect(page.status).toBe(200);
    expectSafePage(page);
    for (const raw of ['<img', '<b>', '</label><b>']) expect(page.body).not.toContain(raw);
    expect(page.body).toContain('&#60;script&#62;alert(1)&#60;/script&#62;');
    expect(page.body).toContain('name="query.q&#34;&#62;&#60;script&#62;alert(4)&#60;/script&#62;"');
    expect(page.body).toContain('Set up “&#60;b&#62;name&#60;/b&#62;”');
  });
});

describe('a connection whose server cannot be reached', () => {
  it('says so, and checks again only on a post from its own page', async () => {
    const connection = await createConnection({ mcpUrl: `http://127.0.0.1:${await freePort()}/mcp`, name: 'down' });
    expect(connection.status.state).toBe('error');
    expect(connection.status.setupUrl).toBeUndefined();
    // The app may still hold a setup link from before; mint one as the API would.
    const createdAt = (await server.db.selectFrom('connections').select('created_at').where('id', '=', connection.connectionId).executeTakeFirstOrThrow()).created_at;
    const link = pathOf(createSetupLinks(createKeyring([secret]), server.url, 3600).setupUrlFor({ namespace: NS, id: connection.connectionId, createdAt: new Date(createdAt) }));
    const page = await open(link);
    expect(page.status).toBe(200);
    expect(page.body).toContain('cannot be set up right now');
    expect((await post(link, { action: 'recheck' })).status).toBe(403);
    const recheck = await post(link, { action: 'recheck', formToken: formTokenOf(page.body) });
    expect(recheck.status).toBe(303);
    expect(await state(connection.connectionId)).toBe('error');
  });
});
