import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import Smithery045 from 'smithery-api-045';
import { createConnection as createConnection045, SmitheryAuthorizationError as AuthorizationError045 } from 'smithery-api-045/mcp';
import Smithery068 from 'smithery-api-068';
import { createConnection as createConnection068, SmitheryAuthorizationError as AuthorizationError068 } from 'smithery-api-068/mcp';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml } from '../../src/http/setup-html.ts';
import { startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../setup/chromium.ts';

/**
 * Issue 5 as an end user lives it: an app's backend creates a connection to an OAuth-protected
 * MCP server, hands the user Switchboard's authorization link, and the user signs in and consents
 * on the real authorization server in headless Chromium. The browser, not the test, carries the
 * code to Switchboard's callback and is sent on to the app's own page; afterwards the app (and
 * the official client) use the connection's tools without ever seeing a token.
 */
const NS = 'oauth-browser-app';
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

let server: TestServer;
let upstream: OAuthUpstream;
let browser: Browser;
let app: http.Server;
let appOrigin: string;
let apiKey: string;
/** Every request the app's server received, in order. */
const appVisits: URL[] = [];

type Connection = {
  connectionId: string;
  status: { state: string; authorizationUrl?: string; setupUrl?: string; message?: string };
};

/**
 * The app's landing page after authorization. Its backend reads the outcome Switchboard put in
 * the query and asks Switchboard (with its API key) for the connection, as a real app would before
 * telling its user anything: the query string alone is not proof.
 */
async function startApp(): Promise<http.Server> {
  const host = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', appOrigin);
    appVisits.push(url);
    if (req.method !== 'GET' || url.pathname !== '/oauth-done') {
      res.writeHead(404).end();
      return;
    }
    void (async () => {
      const connectionId = url.searchParams.get('connectionId') ?? '';
      const looked = await fetch(`${server.url}/${NS}/${encodeURIComponent(connectionId)}`, { headers: { authorization: `Bearer ${apiKey}` } });
      const state = looked.ok ? ((await looked.json()) as Connection).status.state : `unknown (${looked.status})`;
      const body = `<!doctype html><html><head><meta charset="utf-8"><title>Example app</title></head>
<body style="font: 16px system-ui, sans-serif; margin: 3rem">
<h1>Example app</h1>
<p>Authorization outcome: <strong id="outcome">${escapeHtml(url.searchParams.get('status') ?? 'none')}</strong></p>
<p>Connection <code id="connection">${escapeHtml(connectionId)}</code> is now <strong id="state">${escapeHtml(state)}</strong>.</p>
</body></html>`;
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store' }).end(body);
    })().catch((error: unknown) => res.writeHead(500).end(String(error)));
  });
  await new Promise<void>((resolve) => host.listen(0, '127.0.0.1', resolve));
  return host;
}

beforeAll(async () => {
  app = await startApp();
  appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  [server, upstream, browser] = await Promise.all([
    startTestServer({ OAUTH_RETURN_ORIGINS: appOrigin }),
    // Long-lived access tokens: refreshing is another file's subject, not this walk's.
    startOAuthUpstream({ accessTokenTtlSeconds: 300 }),
    chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS }),
  ]);
  ({ key: apiKey } = await server.newAccount('oauth-browser-app'));
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: apiKey })).status).toBe(201);
  fs.mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  try {
    await browser?.close();
    await new Promise<void>((resolve) => {
      if (!app) return resolve();
      app.close(() => resolve());
      app.closeAllConnections();
    });
  } finally {
    try {
      await server?.close();
    } finally {
      await upstream?.stop();
    }
  }
});

/** The app's backend creating a connection over REST. */
async function createOAuthConnection(body: Record<string, unknown> = {}): Promise<Connection> {
  const made = await server.request(`/${NS}`, {
    method: 'POST',
    bearer: apiKey,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ mcpUrl: upstream.mcpUrl, ...body }),
  });
  expect(made.status).toBe(201);
  return (await made.json()) as Connection;
}

async function getConnection(namespace: string, id: string): Promise<Connection> {
  const got = await server.request(`/${namespace}/${id}`, { bearer: apiKey });
  expect(got.status).toBe(200);
  return (await got.json()) as Connection;
}

async function callToolOverRest(id: string, tool: string, args: Record<string, unknown> = {}): Promise<Response> {
  return server.request(`/${NS}/${id}/.tools/${tool}`, {
    method: 'POST',
    bearer: apiKey,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
}

/** One JSON-RPC request to the MCP endpoint, as the official helper sends its first one. */
async function callMcp(id: string, message: Record<string, unknown>): Promise<{ status: number; body: Record<string, unknown> }> {
  const response = await server.request(`/connect/${NS}/${id}/mcp`, {
    method: 'POST',
    bearer: apiKey,
    headers: { 'content-type': 'application/json', accept: 'application/json, text/event-stream', 'mcp-session-id': 'smithery-stateless' },
    body: JSON.stringify({ jsonrpc: '2.0', ...message }),
  });
  const text = await response.text();
  const json = (response.headers.get('content-type') ?? '').startsWith('text/event-stream')
    ? text
        .split(/\r?\n\r?\n/)
        .map((event) => event.split(/\r?\n/).filter((l) => l.startsWith('data:')).map((l) => l.slice(5).trimStart()).join('\n'))
        .filter(Boolean)
        .map((data) => JSON.parse(data) as Record<string, unknown>)
        .find((m) => 'result' in m || 'error' in m)
    : (JSON.parse(text) as Record<string, unknown>);
  return { status: response.status, body: json ?? {} };
}

/** The JSON text whoami answers with (a CallToolResult of any client's typing). */
const whoamiOf = (result: unknown) => JSON.parse((result as { content: { text: string }[] }).content[0]!.text) as { sub: string; scopes: string[] };

const isLoopback = (url: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

type Walk = {
  /** Where the browser ended, once that page loaded. */
  final: URL;
  /** Every top-level navigation request, redirects included, in order. */
  navigations: URL[];
  /** Requests off loopback that were refused (the login page's web font). */
  blocked: string[];
  page: Page;
};

/**
 * The user in a fresh browser profile (no session at the authorization server yet): opens the
 * link, types a login on the sign-in page, then on the consent page either continues or clicks
 * its "[ Cancel ]" link, and ends wherever the redirects lead. Mirrors completeLoginWithBrowser,
 * step by step so each page can be checked and photographed.
 */
async function walk(
  context: BrowserContext,
  link: string,
  options: { login: string; decision: 'consent' | 'cancel'; screenshots?: { interstitial: string; login: string; consent: string } },
): Promise<Walk> {
  const blocked: string[] = [];
  await context.route(
    (url) => !isLoopback(url),
    (route) => {
      blocked.push(route.request().url());
      return route.abort();
    },
  );
  const page = await context.newPage();
  const navigations: URL[] = [];
  page.on('request', (request) => {
    if (request.isNavigationRequest() && request.frame() === page.mainFrame()) navigations.push(new URL(request.url()));
  });

  await page.goto(link);
  // Switchboard's interstitial: who asks, for which server; nothing starts until the user continues.
  const host = new URL(upstream.mcpUrl).host;
  expect(await page.locator('h1').innerText()).toBe(`Let an app use your ${host} account?`);
  if (options.screenshots) await page.screenshot({ path: path.join(artifacts, options.screenshots.interstitial), fullPage: true });
  await page.getByRole('button', { name: `Continue to ${host}` }).click();
  await page.locator('form input[name="prompt"][value="login"]').waitFor({ state: 'attached' });
  expect(new URL(page.url()).origin).toBe(upstream.issuer);
  if (options.screenshots) await page.screenshot({ path: path.join(artifacts, options.screenshots.login), fullPage: true });
  await page.fill('input[name="login"]', options.login);
  await page.fill('input[name="password"]', 'any-password');
  await page.click('form button[type="submit"]');

  await page.locator('form input[name="prompt"][value="consent"]').waitFor({ state: 'attached' });
  expect(await page.locator('body').innerText()).toContain('mcp:tools');
  if (options.screenshots) await page.screenshot({ path: path.join(artifacts, options.screenshots.consent), fullPage: true });
  const leaving = page.waitForURL((url) => url.origin !== upstream.issuer, { waitUntil: 'load' });
  if (options.decision === 'consent') await page.click('form button[type="submit"]');
  else await page.getByRole('link', { name: '[ Cancel ]' }).click();
  await leaving;
  return { final: new URL(page.url()), navigations, blocked, page };
}

/** Runs a walk in its own browser context and closes it afterwards. */
async function inFreshBrowser<T>(run: (context: BrowserContext) => Promise<T>): Promise<T> {
  const context = await browser.newContext({ viewport: { width: 1000, height: 760 } });
  try {
    return await run(context);
  } finally {
    await context.close();
  }
}

const callbackPath = () => `${server.url}/oauth/callback`;
const linkPrefix = () => `${server.url}/oauth/authorize/`;

describe('an app sends its user through the authorization, with a return URL', () => {
  let connection: Connection;
  let walked: Omit<Walk, 'page'> & { title: string; texts: Record<string, string>; replay: { status: number; text: string } };

  beforeAll(async () => {
    connection = await createOAuthConnection({ name: "carol's notes", returnUrl: `${appOrigin}/oauth-done` });
  });

  it('creates the connection as auth_required with a Switchboard authorization link', () => {
    expect(connection.status.state).toBe('auth_required');
    expect(connection.status.authorizationUrl?.startsWith(linkPrefix())).toBe(true);
    expect(connection.status.setupUrl?.startsWith(`${server.url}/setup/`)).toBe(true);
  });

  it('answers the MCP endpoint with 401 -32001 and REST tool calls with 409 until the user authorizes', async () => {
    const mcp = await callMcp(connection.connectionId, { id: 1, method: 'tools/list' });
    expect(mcp.status).toBe(401);
    expect(mcp.body).toMatchObject({
      error: { code: -32001, data: { connectionId: connection.connectionId, authorizationUrl: expect.stringMatching(/\/oauth\/authorize\//) } },
    });
    const rest = await callToolOverRest(connection.connectionId, 'whoami');
    expect(rest.status).toBe(409);
    expect(((await rest.json()) as { message: string }).message).toContain(linkPrefix());
  });

  it('walks the browser through sign-in and consent, the callback, and on to the app', async () => {
    walked = await inFreshBrowser(async (context) => {
      const result = await walk(context, connection.status.authorizationUrl!, {
        login: 'carol',
        decision: 'consent',
        screenshots: { interstitial: 'oauth-interstitial.png', login: 'oauth-login.png', consent: 'oauth-consent.png' },
      });
      await result.page.screenshot({ path: path.join(artifacts, 'oauth-app-landing.png'), fullPage: true });
      const texts: Record<string, string> = {};
      for (const id of ['outcome', 'connection', 'state']) texts[id] = await result.page.locator(`#${id}`).innerText();
      const title = await result.page.title();
      // The user reloads the callback (or goes back to it): the state was single-use.
      const callback = result.navigations.find((url) => url.href.startsWith(callbackPath()))!;
      const again = await result.page.goto(callback.href);
      const replay = { status: again!.status(), text: await result.page.locator('body').innerText() };
      return { ...result, title, texts, replay };
    });

    expect(`${walked.final.origin}${walked.final.pathname}`).toBe(`${appOrigin}/oauth-done`);
    expect(Object.fromEntries(walked.final.searchParams)).toEqual({ connectionId: connection.connectionId, status: 'connected' });
    expect(walked.title).toBe('Example app');
    // The app's backend saw the connection connected as soon as the user arrived.
    expect(walked.texts).toEqual({ outcome: 'connected', connection: connection.connectionId, state: 'connected' });
    expect(appVisits.filter((url) => url.pathname === '/oauth-done').map((url) => url.href)).toContain(walked.final.href);
  });

  it('went Switchboard link → its interstitial’s continue → authorization server → Switchboard callback (code, state, iss) → app, all in the browser', () => {
    const origins = walked.navigations.map((url) => url.origin);
    expect(walked.navigations[0]!.href).toBe(connection.status.authorizationUrl);
    expect(walked.navigations[1]!.href).toBe(connection.status.authorizationUrl);
    expect(origins[2]).toBe(upstream.issuer);
    const callbackAt = walked.navigations.findIndex((url) => url.href.startsWith(callbackPath()));
    expect(callbackAt).toBeGreaterThan(2);
    expect(origins.slice(2, callbackAt).every((origin) => origin === upstream.issuer)).toBe(true);
    const callback = walked.navigations[callbackAt]!;
    expect(callback.searchParams.get('code')).toEqual(expect.any(String));
    expect(callback.searchParams.get('state')).toEqual(expect.any(String));
    expect(callback.searchParams.get('iss')).toBe(upstream.issuer);
    expect(walked.navigations[callbackAt + 1]!.href).toBe(walked.final.href);
    // The first leg carried the PKCE S256 challenge and the resource to the authorization server.
    expect(Object.fromEntries(walked.navigations[2]!.searchParams)).toMatchObject({
      response_type: 'code',
      code_challenge_method: 'S256',
      resource: upstream.mcpUrl,
      redirect_uri: callbackPath(),
      state: callback.searchParams.get('state'),
    });
  });

  it('refused nothing but requests off loopback (the sign-in page\'s web font)', () => {
    expect(walked.blocked.every((url) => !isLoopback(new URL(url)))).toBe(true);
    expect(walked.blocked.map((url) => new URL(url).hostname)).toContain('fonts.googleapis.com');
  });

  it('refuses the same callback when the browser opens it again', () => {
    expect(walked.replay.status).toBe(400);
    expect(walked.replay.text).toMatch(/already completed or has expired/);
  });

  it('leaves the connection connected', async () => {
    expect((await getConnection(NS, connection.connectionId)).status).toEqual({ state: 'connected' });
  });

  it('calls whoami over REST as carol', async () => {
    const response = await callToolOverRest(connection.connectionId, 'whoami');
    expect(response.status).toBe(200);
    expect(whoamiOf(await response.json())).toMatchObject({ sub: 'carol', scopes: ['mcp:tools'] });
  });

  /** What each answer must hold: the tool names, or who the upstream says is calling. */
  const mcpCases: { name: string; message: Record<string, unknown>; read: (result: unknown) => unknown; expected: unknown }[] = [
    {
      name: 'tools/list',
      message: { id: 2, method: 'tools/list' },
      read: (result) => (result as { tools: { name: string }[] }).tools.map((tool) => tool.name).sort(),
      expected: ['admin-action', 'echo', 'whoami'],
    },
    {
      name: 'tools/call whoami',
      message: { id: 3, method: 'tools/call', params: { name: 'whoami', arguments: {} } },
      read: (result) => whoamiOf(result).sub,
      expected: 'carol',
    },
  ];

  it.each(mcpCases)('answers $name over the MCP endpoint', async ({ message, read, expected }) => {
    const { status, body } = await callMcp(connection.connectionId, message);
    expect(status).toBe(200);
    expect(read(body.result)).toEqual(expected);
  });
});

type HelperOptions = { namespace: string; mcpUrl?: string; connectionId?: string };
const clientOptions = () => ({ apiKey, baseURL: server.url, connectBaseURL: server.url, maxRetries: 0 });

/**
 * The official helper's documented recipe: catch SmitheryAuthorizationError, send the user to its
 * authorizationUrl, then retry with its connectionId. 0.68.0's user opens the link as it is (and
 * ends on Switchboard's completion page); 0.45.0's app adds `?returnUrl=` to the link.
 */
const helpers = [
  {
    version: '0.68.0',
    login: 'dave',
    errorClass: AuthorizationError068,
    viaApp: false,
    createConnection: (o: HelperOptions) => createConnection068({ client: new Smithery068(clientOptions()), ...o }),
  },
  {
    version: '0.45.0',
    login: 'erin',
    errorClass: AuthorizationError045,
    viaApp: true,
    createConnection: (o: HelperOptions) => createConnection045({ client: new Smithery045(clientOptions()), ...o }),
  },
];

describe.each(helpers)('createConnection() of @smithery/api $version', ({ version, login, errorClass, viaApp, createConnection }) => {
  const namespace = `oauth-helper-${version.replaceAll('.', '')}`;
  let refused: InstanceType<typeof errorClass>;

  beforeAll(async () => {
    expect((await server.request(`/namespaces/${namespace}`, { method: 'PUT', bearer: apiKey })).status).toBe(201);
  });

  it('throws SmitheryAuthorizationError with our link and the new connection', async () => {
    const error = await createConnection({ namespace, mcpUrl: upstream.mcpUrl }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(errorClass);
    refused = error as InstanceType<typeof errorClass>;
    expect(refused.authorizationUrl.startsWith(linkPrefix())).toBe(true);
    const stored = await getConnection(namespace, refused.connectionId);
    expect(stored.status).toMatchObject({ state: 'auth_required', authorizationUrl: expect.stringContaining(linkPrefix()) });
    // Retrying before the user went through the link still says so.
    const retried = await createConnection({ namespace, connectionId: refused.connectionId }).catch((e: unknown) => e);
    expect(retried).toBeInstanceOf(errorClass);
    expect((retried as InstanceType<typeof errorClass>).connectionId).toBe(refused.connectionId);
  });

  it(`completes the link in the browser, ending on ${viaApp ? "the app's page" : "Switchboard's completion page"}`, async () => {
    const link = viaApp ? `${refused.authorizationUrl}?returnUrl=${encodeURIComponent(`${appOrigin}/oauth-done`)}` : refused.authorizationUrl;
    const { final, heading } = await inFreshBrowser(async (context) => {
      const result = await walk(context, link, { login, decision: 'consent' });
      return { final: result.final, heading: await result.page.locator('h1').innerText() };
    });
    if (viaApp) {
      expect(`${final.origin}${final.pathname}`).toBe(`${appOrigin}/oauth-done`);
      expect(Object.fromEntries(final.searchParams)).toEqual({ connectionId: refused.connectionId, status: 'connected' });
      expect(heading).toBe('Example app');
    } else {
      expect(`${final.origin}${final.pathname}`).toBe(callbackPath());
      expect(heading).toBe('Connected');
    }
  });

  it('then connects by connectionId, and the v1 MCP SDK client lists tools and calls whoami', async () => {
    const connected = await createConnection({ namespace, connectionId: refused.connectionId });
    expect(connected.connectionId).toBe(refused.connectionId);
    expect(connected.url).toBe(`${server.url}/connect/${namespace}/${refused.connectionId}/mcp`);
    const mcp = new Client({ name: 'oauth-browser-test', version: '1.0.0' }, { capabilities: {} });
    await mcp.connect(connected.transport);
    try {
      expect((await mcp.listTools()).tools.map((tool) => tool.name).sort()).toEqual(['admin-action', 'echo', 'whoami']);
      expect(whoamiOf(await mcp.callTool({ name: 'whoami', arguments: {} }))).toMatchObject({ sub: login, scopes: ['mcp:tools'] });
    } finally {
      await mcp.close();
    }
  });
});

describe('a user who cancels on the consent page', () => {
  it.each([
    { returnTo: 'the app', returnUrl: true },
    { returnTo: 'the Switchboard page', returnUrl: false },
  ])('lands on $returnTo as denied, and the connection stays auth_required', async ({ returnUrl }) => {
    const connection = await createOAuthConnection(returnUrl ? { returnUrl: `${appOrigin}/oauth-done` } : {});
    expect(connection.status.state).toBe('auth_required');
    const { final, navigations, heading, text } = await inFreshBrowser(async (context) => {
      const result = await walk(context, connection.status.authorizationUrl!, { login: 'frank', decision: 'cancel' });
      return { ...result, heading: await result.page.locator('h1').innerText(), text: await result.page.locator('body').innerText() };
    });

    const callback = navigations.find((url) => url.href.startsWith(callbackPath()))!;
    expect(callback.searchParams.get('error')).toBe('access_denied');
    expect(callback.searchParams.get('code')).toBeNull();
    if (returnUrl) {
      expect(`${final.origin}${final.pathname}`).toBe(`${appOrigin}/oauth-done`);
      expect(Object.fromEntries(final.searchParams)).toEqual({ connectionId: connection.connectionId, status: 'denied' });
      expect(heading).toBe('Example app');
      expect(text).toMatch(/outcome: denied/);
      expect(text).toMatch(/is now auth_required/);
    } else {
      expect(`${final.origin}${final.pathname}`).toBe(callbackPath());
      expect(heading).toBe('Not authorized');
      expect(text).toContain('access_denied');
    }
    expect((await getConnection(NS, connection.connectionId)).status).toMatchObject({
      state: 'auth_required',
      authorizationUrl: expect.stringContaining(linkPrefix()),
    });
    expect((await callToolOverRest(connection.connectionId, 'whoami')).status).toBe(409);
  });
});
