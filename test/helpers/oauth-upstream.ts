import { expect } from 'vitest';
import type { ChildProcess } from 'node:child_process';
import path from 'node:path';
import type { Page, Request as BrowserRequest } from 'playwright-core';
import { freePort, projectRoot, spawnUntilReady } from './processes.ts';
import { fixtureArgs } from './compiled-fixtures.ts';
import { addSecretSource, watchForSecret } from './canary.ts';
import type { AuthorizationServerStats } from '../fixtures/oauth/authorization-server.ts';
import type { ProtectedMcpServerStats } from '../fixtures/oauth/protected-mcp-server.ts';

export type { AuthorizationServerStats, ProtectedMcpServerStats };

/**
 * An OAuth-protected MCP upstream: a real authorization server (oidc-provider) and an MCP server
 * that accepts only its JWT access tokens, each in a child process on a loopback port.
 * See test/fixtures/oauth/*.ts for what each one does.
 */
export type OAuthUpstream = {
  /** The MCP endpoint; also the RFC 8707 resource and the tokens' audience. */
  mcpUrl: string;
  /** The authorization server's issuer (no trailing slash), as `iss` in callbacks and tokens. */
  issuer: string;
  /** What both servers counted so far. */
  stats(): Promise<{ as: AuthorizationServerStats; mcp: ProtectedMcpServerStats }>;
  /** Revokes every grant issued so far: their refresh tokens stop working (access tokens live on until they expire). */
  revokeAllGrants(): Promise<number>;
  /** Kills both processes. */
  stop(): Promise<void>;
};

export type OAuthUpstreamOptions = {
  /** Access-token lifetime (default 5 s: tests wait past it to see a refresh). */
  accessTokenTtlSeconds?: number;
  /** Refresh-token (and grant) lifetime (default 3600 s). */
  refreshTokenTtlSeconds?: number;
};

/** A port nobody listens on right now (e.g. for a redirect_uri that is never requested). */
export { freePort };

const fixtures = path.join(projectRoot, 'test', 'fixtures', 'oauth');
const ready = /^listening \d+/m;

/** The scopes the upstream knows: `mcp:tools` for every call, `mcp:admin` on top for `admin-action`. */
export const OAUTH_UPSTREAM_SCOPES = ['mcp:tools', 'mcp:admin'] as const;

export async function startOAuthUpstream(options: OAuthUpstreamOptions = {}): Promise<OAuthUpstream> {
  // A free port is only free when asked: another test file may bind it before the child does.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startOAuthUpstreamOnce(options);
    } catch (error) {
      if (attempt === 3 || !String((error as Error)?.message).includes('EADDRINUSE')) throw error;
    }
  }
}

async function startOAuthUpstreamOnce(options: OAuthUpstreamOptions): Promise<OAuthUpstream> {
  const [asPort, mcpPort] = await Promise.all([freePort(), freePort()]);
  const issuer = `http://127.0.0.1:${asPort}`;
  const mcpUrl = `http://127.0.0.1:${mcpPort}/mcp`;
  // The MCP server reaches the AS only when the first request comes, so both start at once.
  const started = await Promise.allSettled([
    spawnUntilReady(
      [...fixtureArgs(path.join(fixtures, 'authorization-server.ts')), String(asPort)],
      {
        RESOURCE: mcpUrl,
        AT_TTL: String(options.accessTokenTtlSeconds ?? 5),
        RT_TTL: String(options.refreshTokenTtlSeconds ?? 3600),
        SCOPES: OAUTH_UPSTREAM_SCOPES.join(' '),
      },
      ready,
    ),
    spawnUntilReady(
      [...fixtureArgs(path.join(fixtures, 'protected-mcp-server.ts')), String(mcpPort)],
      { ISSUER: issuer, REQUIRED_SCOPE: OAUTH_UPSTREAM_SCOPES[0] },
      ready,
    ),
  ]);
  const children = started.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
  // Every access token the AS issued is a secret the test servers' canary scan looks for (codes,
  // refresh tokens and client secrets carry the canary prefix already). Listed at each scan, and
  // once more before the processes go, so servers closed later still look for them.
  let issued: readonly string[] = [];
  let stopped = false;
  // A listing that fails while the server runs (a kept-alive connection it closed as idle, say)
  // is tried again, then fails the scan: a silent empty list would let an access token through.
  const listIssued = async () => {
    if (stopped) return issued;
    for (let attempt = 1; ; attempt++) {
      try {
        const response = await fetch(`${issuer}/test/issued-secrets`, { signal: AbortSignal.timeout(10_000) });
        if (!response.ok) throw new Error(`answered ${response.status}`);
        issued = ((await response.json()) as { accessTokens: string[] }).accessTokens;
        return issued;
      } catch (error) {
        if (attempt >= 3) throw new Error(`could not list the access tokens the test authorization server issued: ${String(error)}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
  };
  const removeSource = addSecretSource(listIssued);
  const stop = async () => {
    for (const token of await listIssued().catch(() => issued)) watchForSecret(token);
    stopped = true;
    removeSource();
    await Promise.all(children.map(kill));
  };
  const failure = started.find((result) => result.status === 'rejected');
  if (failure) {
    await stop();
    throw failure.reason;
  }
  const getJson = async <T>(url: string, init?: RequestInit): Promise<T> => {
    const response = await fetch(url, init);
    if (!response.ok) throw new Error(`${init?.method ?? 'GET'} ${url} answered ${response.status}`);
    return (await response.json()) as T;
  };
  return {
    mcpUrl,
    issuer,
    async stats() {
      const [as, mcp] = await Promise.all([
        getJson<AuthorizationServerStats>(`${issuer}/test/stats`),
        getJson<ProtectedMcpServerStats>(`http://127.0.0.1:${mcpPort}/test/stats`),
      ]);
      return { as, mcp };
    },
    async revokeAllGrants() {
      return (await getJson<{ revokedGrants: number }>(`${issuer}/test/revoke-all`, { method: 'POST' })).revokedGrants;
    },
    stop,
  };
}

async function kill(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.kill('SIGKILL');
  await exited;
}

/**
 * Registers a confidential client (client_secret_basic) at the upstream's authorization server, as
 * an operator would before configuring it in Switchboard. Its secret carries the canary prefix.
 */
export async function registerConfidentialClient(upstream: OAuthUpstream, redirectUri: string): Promise<{ clientId: string; clientSecret: string }> {
  const response = await fetch(`${upstream.issuer}/reg`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      redirect_uris: [redirectUri],
      token_endpoint_auth_method: 'client_secret_basic',
      grant_types: ['authorization_code', 'refresh_token'],
      response_types: ['code'],
    }),
  });
  if (response.status !== 201) throw new Error(`client registration answered ${response.status}: ${await response.text()}`);
  const client = (await response.json()) as { client_id: string; client_secret: string };
  return { clientId: client.client_id, clientSecret: client.client_secret };
}

/** Where the authorization URL sends the browser back to (its `redirect_uri`). */
function redirectTarget(authorizationUrl: URL): URL {
  const redirectUri = authorizationUrl.searchParams.get('redirect_uri');
  if (!redirectUri) throw new Error('the authorization URL has no redirect_uri');
  return new URL(redirectUri);
}

const sameEndpoint = (url: URL, target: URL) => url.origin === target.origin && url.pathname === target.pathname;

/**
 * Plays the user at the authorization server with plain fetch and a cookie jar: follows the
 * authorization URL, signs in on the devInteractions login page (any login becomes the token's
 * `sub`, any password works), accepts the consent page, and returns the URL the AS finally
 * redirects to: the client's redirect_uri with `code`, `state` and `iss` (or `error`). That URL
 * is NOT requested, so the caller decides who receives the code.
 */
export async function completeLoginWithFetch(authorizationUrl: string | URL, login = 'alice', password = 'any-password'): Promise<URL> {
  let url = new URL(authorizationUrl);
  const target = redirectTarget(url);
  const cookies = new Map<string, string>();
  const cookieHeader = () => [...cookies].map(([name, value]) => `${name}=${value}`).join('; ');
  const keepCookies = (response: Response) => {
    for (const line of response.headers.getSetCookie()) {
      const [pair = '', ...attributes] = line.split(';');
      const separator = pair.indexOf('=');
      const name = pair.slice(0, separator).trim();
      const value = pair.slice(separator + 1).trim();
      const expired = attributes.some((a) => /^\s*max-age=0/i.test(a) || (/^\s*expires=/i.test(a) && Date.parse(a.split('=')[1] ?? '') < Date.now()));
      if (expired || !value) cookies.delete(name);
      else cookies.set(name, value);
    }
  };
  const follow = (response: Response, from: URL) => {
    const location = response.headers.get('location');
    if (response.status < 300 || response.status >= 400 || !location) return undefined;
    return new URL(location, from);
  };

  // The login page, the consent page and the redirects between them: about six hops.
  for (let hop = 0; hop < 20; hop++) {
    if (sameEndpoint(url, target)) return url;
    const response = await fetch(url, { redirect: 'manual', headers: { cookie: cookieHeader() } });
    keepCookies(response);
    const next = follow(response, url);
    if (next) {
      url = next;
      continue;
    }
    const page = await response.text();
    const action = /<form[^>]*\saction="([^"]+)"/.exec(page)?.[1];
    const prompt = /name="prompt" value="([^"]+)"/.exec(page)?.[1];
    if (response.status !== 200 || !action || !prompt) {
      throw new Error(`the authorization server showed no login or consent form (${response.status} at ${url.pathname}): ${pageText(page)}`);
    }
    const form = new URLSearchParams({ prompt });
    if (prompt === 'login') {
      form.set('login', login);
      form.set('password', password);
    }
    const submitted = await fetch(new URL(action, url), {
      method: 'POST',
      redirect: 'manual',
      headers: { cookie: cookieHeader(), 'content-type': 'application/x-www-form-urlencoded' },
      body: form,
    });
    keepCookies(submitted);
    const afterSubmit = follow(submitted, url);
    if (!afterSubmit) throw new Error(`the ${prompt} form answered ${submitted.status}: ${pageText(await submitted.text())}`);
    url = afterSubmit;
  }
  throw new Error('the authorization server kept redirecting');
}

/** The visible text of an HTML page, shortened, for error messages. */
export function pageText(html: string): string {
  return html
    .replace(/<(style|script)[^>]*>[\s\S]*?<\/\1>/g, ' ')
    .replace(/<[^>]+>/g, ' ')
    .replace(/\s+/g, ' ')
    .trim()
    .slice(0, 300);
}

const isLoopback = (url: URL) => ['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname);

/**
 * The same walk in a real browser page (playwright-core over Debian's Chromium, see
 * test/setup/chromium.ts): opens the authorization URL, fills the login form (typing login and
 * password) and clicks through consent, until the browser navigates to `until` (default: the
 * origin of the authorization URL's redirect_uri). The page then really loads that URL, so
 * whatever serves the redirect_uri (Switchboard's callback) receives the code from the browser.
 * Resolves with the first URL the browser asked for on that origin, once its answer arrived (or
 * the request failed). Requests off loopback (the login page's Google Fonts) are aborted.
 */
export async function completeLoginWithBrowser(
  page: Page,
  authorizationUrl: string | URL,
  options: { login?: string; password?: string; until?: string; timeoutMs?: number } = {},
): Promise<URL> {
  const start = new URL(authorizationUrl);
  const origin = options.until ? new URL(options.until).origin : redirectTarget(start).origin;
  const login = options.login ?? 'alice';
  const password = options.password ?? 'any-password';
  const deadline = Date.now() + (options.timeoutMs ?? 15_000);

  const offLoopback = (url: URL) => !isLoopback(url);
  const abort = (route: { abort(): Promise<void> }) => route.abort();
  await page.route(offLoopback, abort);

  let arrived: BrowserRequest | undefined;
  const onRequest = (request: BrowserRequest) => {
    if (!arrived && request.isNavigationRequest() && request.frame() === page.mainFrame() && new URL(request.url()).origin === origin) {
      arrived = request;
    }
  };
  page.on('request', onRequest);
  try {
    // The navigation may end on the callback without any form (an existing session and grant),
    // and the callback may be refused; only `arrived` says whether the walk is over.
    await page.goto(start.href, { waitUntil: 'domcontentloaded' }).catch(() => undefined);
    const handled = new Set<string>();
    while (!arrived) {
      if (Date.now() > deadline) throw new Error(`the browser did not reach ${origin} (stuck at ${page.url()}): ${await bodyText(page)}`);
      const form = await readInteractionForm(page);
      if (form && !handled.has(form.action)) {
        handled.add(form.action);
        if (form.prompt === 'login') {
          await page.fill('input[name="login"]', login);
          await page.fill('input[name="password"]', password);
        }
        await page.click('form button[type="submit"]');
        continue;
      }
      if (!form && new URL(page.url()).origin === start.origin && /oops/i.test(await bodyText(page))) {
        throw new Error(`the authorization server showed an error: ${await bodyText(page)}`);
      }
      await page.waitForTimeout(50);
    }
    await arrived.response().catch(() => null);
    return new URL(arrived.url());
  } finally {
    page.off('request', onRequest);
    await page.unroute(offLoopback, abort);
  }
}

/** The devInteractions form on the page, if any (undefined while the page is navigating). */
async function readInteractionForm(page: Page): Promise<{ action: string; prompt: string } | undefined> {
  try {
    return await page.evaluate(() => {
      const form = document.querySelector('form[action*="/interaction/"]');
      const prompt = form?.querySelector<HTMLInputElement>('input[name="prompt"]')?.value;
      return form && prompt ? { action: form.getAttribute('action') ?? '', prompt } : undefined;
    });
  } catch {
    return undefined;
  }
}

async function bodyText(page: Page): Promise<string> {
  try {
    return (await page.evaluate(() => document.body?.innerText ?? '')).replace(/\s+/g, ' ').slice(0, 300);
  } catch {
    return '';
  }
}

/**
 * One refresh for the expiry a batch of calls met. On a loaded machine the batch can outlast
 * the refreshed token too, and the next expiry then earns its own refresh: allow one per token
 * lifetime the batch spanned, never one per call. A token is renewed once less than a quarter
 * of its lifetime is left (core/oauth/oauth-state.ts), so a lifetime here lasts three quarters.
 */
export function expectOneRefreshPerExpiry(refreshes: number, batchMs: number, tokenTtlSeconds: number): void {
  const expiriesMet = 1 + Math.floor(batchMs / (tokenTtlSeconds * 750));
  expect(refreshes).toBeGreaterThanOrEqual(1);
  expect(refreshes, `${refreshes} refreshes in a batch of ${batchMs} ms`).toBeLessThanOrEqual(expiriesMet);
}
