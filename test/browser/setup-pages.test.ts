import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { HOSTILE_TITLE, startHostileConfigUpstream } from '../fixtures/hostile-config-upstream.ts';
import { canary } from '../helpers/canary.ts';
import { startOAuthUpstream, type OAuthUpstream } from '../helpers/oauth-upstream.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { startFixtureUpstream, type Upstream } from '../helpers/upstreams.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../setup/chromium.ts';

/**
 * The setup pages as an end user meets them: the app hands its user a connection's setupUrl
 * (with where to come back to), the user fills in the form generated from the server's config
 * schema — or is led into the OAuth flow — and lands back in the app with the connection
 * connected. Real Chromium, real upstreams, real authorization server.
 */
const NS = 'setup-pages-app';
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');
const upstreamKey = canary('setup-page-key');

let server: TestServer;
let configured: Upstream;
let oauthUpstream: OAuthUpstream;
let browser: Browser;
let app: http.Server;
let appOrigin: string;
let apiKey: string;

type Connection = { connectionId: string; mcpUrl: string; status: { state: string; setupUrl?: string; authorizationUrl?: string } };

beforeAll(async () => {
  app = http.createServer((req, res) => {
    const url = new URL(req.url ?? '/', appOrigin);
    res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
    res.end(`<!doctype html><title>Example app</title><h1>Example app</h1><p id="where">${url.pathname === '/done' ? 'back in the app' : 'elsewhere'}</p>`);
  });
  await new Promise<void>((resolve) => app.listen(0, '127.0.0.1', resolve));
  appOrigin = `http://127.0.0.1:${(app.address() as AddressInfo).port}`;
  [server, configured, oauthUpstream, browser] = await Promise.all([
    startTestServer({ OAUTH_RETURN_ORIGINS: appOrigin }),
    startFixtureUpstream('sessions', { requireApiKey: upstreamKey, configSchema: true }),
    startOAuthUpstream({ accessTokenTtlSeconds: 300 }),
    chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS }),
  ]);
  ({ key: apiKey } = await server.newAccount('setup-pages'));
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: apiKey })).status).toBe(201);
  fs.mkdirSync(artifacts, { recursive: true });
});

afterAll(async () => {
  try {
    await browser?.close();
    await new Promise<void>((resolve) => (app ? app.close(() => resolve()) : resolve()));
    app?.closeAllConnections();
  } finally {
    try {
      await server?.close();
    } finally {
      await Promise.all([configured?.stop(), oauthUpstream?.stop()]);
    }
  }
});

async function createConnection(body: Record<string, unknown>): Promise<Connection> {
  const made = await server.request(`/${NS}`, {
    method: 'POST',
    bearer: apiKey,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  expect(made.status).toBe(201);
  return (await made.json()) as Connection;
}

async function getConnection(id: string): Promise<Connection> {
  const got = await server.request(`/${NS}/${id}`, { bearer: apiKey });
  expect(got.status).toBe(200);
  return (await got.json()) as Connection;
}

async function callTool(id: string, tool: string, args: Record<string, unknown> = {}) {
  const response = await server.request(`/${NS}/${id}/.tools/${tool}`, {
    method: 'POST',
    bearer: apiKey,
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(args),
  });
  return { status: response.status, body: (await response.json()) as { content?: { text: string }[] } };
}

/** A fresh profile that may reach loopback only; CSP violations and dialogs are collected. */
async function inBrowser<T>(run: (page: Page, seen: { cspViolations: string[]; dialogs: string[] }) => Promise<T>): Promise<T> {
  const context: BrowserContext = await browser.newContext({ viewport: { width: 900, height: 900 } });
  await context.route(
    (url) => !['127.0.0.1', 'localhost'].includes(url.hostname),
    (route) => route.abort(),
  );
  const page = await context.newPage();
  const seen = { cspViolations: [] as string[], dialogs: [] as string[] };
  page.on('console', (message) => {
    if (/Content Security Policy/i.test(message.text())) seen.cspViolations.push(message.text());
  });
  page.on('dialog', (dialog) => {
    seen.dialogs.push(dialog.message());
    void dialog.dismiss();
  });
  try {
    return await run(page, seen);
  } finally {
    await context.close();
  }
}

const withReturn = (setupUrl: string) => `${setupUrl}?returnUrl=${encodeURIComponent(`${appOrigin}/done`)}`;

describe('an input_required connection, set up through its form', () => {
  let connection: Connection;

  beforeAll(async () => {
    connection = await createConnection({ mcpUrl: configured.url, name: 'Fixture tools' });
  });

  it('is input_required with a setup link on this server', () => {
    expect(connection.status.state).toBe('input_required');
    expect(connection.status.setupUrl).toMatch(new RegExp(`^${server.url}/setup/[\\w-]+\\.[\\w-]+$`));
  });

  it('shows the form, refuses it empty, never echoes the secret, then stores both and lands on the return URL', async () => {
    const outcome = await inBrowser(async (page, seen) => {
      const first = await page.goto(withReturn(connection.status.setupUrl!));
      expect(first!.status()).toBe(200);
      await expect(page.locator('h1').innerText()).resolves.toBe('Set up “Fixture tools”');
      // Labels bound to their inputs, with descriptions, required marks and the secret masked.
      const apiKeyInput = page.getByLabel('API Key');
      const region = page.getByLabel('Region');
      const verbose = page.getByLabel('verbose');
      expect(await apiKeyInput.getAttribute('type')).toBe('password');
      expect(await apiKeyInput.getAttribute('aria-required')).toBe('true');
      expect(await region.getAttribute('type')).toBe('text');
      expect(await region.getAttribute('aria-required')).toBe('true');
      expect(await verbose.getAttribute('type')).toBe('checkbox');
      expect(await verbose.getAttribute('aria-required')).toBeNull();
      const text = await page.locator('main').innerText();
      for (const shown of ['Your fixture API key', 'Where to run', 'Chatty output', 'header x-api-key', 'query parameter region']) expect(text).toContain(shown);
      expect(await page.locator('label .req').count()).toBe(2);
      await page.screenshot({ path: path.join(artifacts, 'setup-input-form.png'), fullPage: true });

      // Empty: an error next to each required field.
      const empty = page.waitForResponse((r) => r.request().method() === 'POST');
      await page.getByRole('button', { name: 'Save and continue' }).click();
      expect((await empty).status()).toBe(400);
      await page.waitForLoadState();
      expect(await page.locator('[role=alert]').innerText()).toContain('Please correct the 2 fields');
      for (const label of ['API Key', 'Region']) {
        const input = page.getByLabel(label);
        expect(await input.getAttribute('aria-invalid')).toBe('true');
        const errorId = (await input.getAttribute('aria-describedby'))!.split(' ').find((id) => id.endsWith('-error'))!;
        expect(await page.locator(`#${errorId}`).innerText()).toBe('This field is required.');
      }
      await page.screenshot({ path: path.join(artifacts, 'setup-input-errors.png'), fullPage: true });

      // The key alone: region still missing; the key is not written back into the page.
      await page.getByLabel('API Key').fill(upstreamKey);
      const partial = page.waitForResponse((r) => r.request().method() === 'POST');
      await page.getByRole('button', { name: 'Save and continue' }).click();
      const partialResponse = await partial;
      expect(partialResponse.status()).toBe(400);
      expect(await partialResponse.text()).not.toContain(upstreamKey);
      await page.waitForLoadState();
      expect(await page.getByLabel('API Key').inputValue()).toBe('');
      expect(await page.getByLabel('API Key').getAttribute('aria-invalid')).toBeNull();
      expect(await page.getByLabel('Region').getAttribute('aria-invalid')).toBe('true');

      await page.getByLabel('API Key').fill(upstreamKey);
      await page.getByLabel('Region').fill('eu-west');
      await page.getByLabel('verbose').check();
      const landed = page.waitForURL((url) => url.origin === appOrigin, { waitUntil: 'load' });
      await page.getByRole('button', { name: 'Save and continue' }).click();
      await landed;
      const final = new URL(page.url());
      const where = await page.locator('#where').innerText();

      // The link again, now that it is done.
      await page.goto(connection.status.setupUrl!);
      const doneHeading = await page.locator('h1').innerText();
      await page.screenshot({ path: path.join(artifacts, 'setup-done.png'), fullPage: true });
      return { final, where, doneHeading, seen };
    });

    expect(`${outcome.final.origin}${outcome.final.pathname}`).toBe(`${appOrigin}/done`);
    expect(Object.fromEntries(outcome.final.searchParams)).toEqual({ connectionId: connection.connectionId, status: 'connected' });
    expect(outcome.where).toBe('back in the app');
    expect(outcome.doneHeading).toBe('Connected');
    expect(outcome.seen).toEqual({ cspViolations: [], dialogs: [] });
  });

  it('left the connection connected, with the query configuration in its URL and the key as a credential', async () => {
    const stored = await getConnection(connection.connectionId);
    expect(stored.status).toEqual({ state: 'connected' });
    expect(Object.fromEntries(new URL(stored.mcpUrl).searchParams)).toEqual({ region: 'eu-west', verbose: 'true' });
    // The fixture answers only with the right x-api-key: a tool call proves the header reached it.
    const echo = await callTool(connection.connectionId, 'echo', { message: 'hello' });
    expect(echo.status).toBe(200);
    expect(echo.body.content?.[0]?.text).toBe('Echo: hello');
    const info = await callTool(connection.connectionId, 'request-info');
    const seenUpstream = JSON.parse(info.body.content![0]!.text) as { headerNames: string[]; path: string };
    expect(seenUpstream.headerNames).toContain('x-api-key');
    expect(seenUpstream.path).toContain('region=eu-west');
  });

  it('recorded the change in the audit log as the end user, by name only', async () => {
    const response = await server.request(`/audit-events?type=connection.credentials_set&connectionId=${connection.connectionId}`, { bearer: apiKey });
    const { events } = (await response.json()) as { events: { actor: { type: string }; details: Record<string, unknown> }[] };
    expect(events[0]).toMatchObject({ actor: { type: 'end_user' }, details: { created: false, headerNames: ['x-api-key'], queryParameterNames: ['region', 'verbose'] } });
  });
});

describe('an auth_required connection, through the setup page into the OAuth flow', () => {
  it('explains the step, then sign-in and consent lead back to the return URL, connected', async () => {
    const connection = await createConnection({ mcpUrl: oauthUpstream.mcpUrl, name: 'Notes' });
    expect(connection.status.state).toBe('auth_required');
    expect(connection.status.setupUrl).toMatch(new RegExp(`^${server.url}/setup/`));
    expect(connection.status.authorizationUrl).toMatch(new RegExp(`^${server.url}/oauth/authorize/`));
    const host = new URL(oauthUpstream.mcpUrl).host;

    let interstitial = '';
    const outcome = await inBrowser(async (page, seen) => {
      await page.goto(withReturn(connection.status.setupUrl!));
      const heading = await page.locator('h1').innerText();
      const text = await page.locator('main').innerText();
      await page.screenshot({ path: path.join(artifacts, 'setup-auth.png'), fullPage: true });
      await page.getByRole('button', { name: `Continue to ${host}` }).click();
      // The authorization link's interstitial asks once more, naming the app and the server.
      await page.locator('h1', { hasText: `Let an app use your ${host} account?` }).waitFor();
      interstitial = await page.locator('main').innerText();
      await page.getByRole('button', { name: `Continue to ${host}` }).click();
      await page.locator('input[name="login"]').waitFor();
      expect(new URL(page.url()).origin).toBe(oauthUpstream.issuer);
      await page.fill('input[name="login"]', 'grace');
      await page.fill('input[name="password"]', 'any-password');
      await page.click('form button[type="submit"]');
      await page.locator('form input[name="prompt"][value="consent"]').waitFor({ state: 'attached' });
      const landed = page.waitForURL((url) => url.origin === appOrigin, { waitUntil: 'load' });
      await page.click('form button[type="submit"]');
      await landed;
      return { heading, text, final: new URL(page.url()), seen };
    });

    expect(outcome.heading).toBe('Authorize “Notes”');
    expect(outcome.text).toContain(host);
    expect(outcome.text).toContain(`then back to ${appOrigin}`);
    expect(interstitial).toContain('Connection: Notes');
    expect(interstitial).toContain(`then back to ${appOrigin}`);
    expect(`${outcome.final.origin}${outcome.final.pathname}`).toBe(`${appOrigin}/done`);
    expect(Object.fromEntries(outcome.final.searchParams)).toEqual({ connectionId: connection.connectionId, status: 'connected' });
    expect(outcome.seen).toEqual({ cspViolations: [], dialogs: [] });
    expect((await getConnection(connection.connectionId)).status).toEqual({ state: 'connected' });
    const whoami = await callTool(connection.connectionId, 'whoami');
    expect(whoami.status).toBe(200);
    expect(JSON.parse(whoami.body.content![0]!.text)).toMatchObject({ sub: 'grace' });
  });
});

describe('a hostile config schema', () => {
  it('renders as text in the browser: no script runs, the title reads as typed', async () => {
    const hostile = await startHostileConfigUpstream();
    try {
      const connection = await createConnection({ mcpUrl: hostile.mcpUrl, name: '<img src=x onerror=alert(0)>' });
      expect(connection.status.state).toBe('input_required');
      const outcome = await inBrowser(async (page, seen) => {
        await page.goto(connection.status.setupUrl!);
        return {
          heading: await page.locator('h1').innerText(),
          firstLabel: await page.locator('label').first().innerText(),
          secretType: await page.getByLabel(HOSTILE_TITLE).getAttribute('type'),
          elements: await page.locator('main script, main img, main b').count(),
          seen,
        };
      });
      expect(outcome.heading).toBe('Set up “<img src=x onerror=alert(0)>”');
      expect(outcome.firstLabel).toContain(HOSTILE_TITLE);
      expect(outcome.secretType).toBe('password');
      expect(outcome.elements).toBe(0);
      expect(outcome.seen).toEqual({ cspViolations: [], dialogs: [] });
    } finally {
      await hostile.close();
    }
  });
});
