import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { rawRequest } from '../helpers/raw-http.ts';
import { startTestServer, type TestServer } from '../helpers/server.ts';
import { freePort } from '../helpers/upstreams.ts';
import { CHROMIUM_ARGS, CHROMIUM_PATH } from '../setup/chromium.ts';

/**
 * The API reference at /docs in headless Chromium: Swagger UI, served by Switchboard itself,
 * renders our OpenAPI document, and a user who enters an API key under "Authorize" can try
 * an operation (without one it is refused). Every request the page makes stays on loopback,
 * and the page's Content-Security-Policy reports no violation.
 */
const NS = 'docs-demo';
const artifacts = path.join(path.dirname(fileURLToPath(import.meta.url)), '..', 'artifacts');

let server: TestServer;
let key: string;
let browser: Browser;

beforeAll(async () => {
  [server, browser] = await Promise.all([
    startTestServer(),
    chromium.launch({ executablePath: CHROMIUM_PATH, headless: true, args: CHROMIUM_ARGS }),
  ]);
  ({ key } = await server.newAccount());
  expect((await server.request(`/namespaces/${NS}`, { method: 'PUT', bearer: key })).status).toBe(201);
});

afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** Opens /docs, recording every URL the page requests and every CSP complaint it logs. */
async function openDocs(): Promise<{ page: Page; requested: string[]; apiCalls: (string | undefined)[]; violations: string[] }> {
  const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
  const requested: string[] = [];
  const violations: string[] = [];
  /** The Authorization header of each call to GET /namespaces. */
  const apiCalls: (string | undefined)[] = [];
  page.on('request', (request) => {
    requested.push(request.url());
    if (new URL(request.url()).pathname === '/namespaces') apiCalls.push(request.headers().authorization);
  });
  page.on('console', (message) => {
    if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
  });
  await page.goto(`${server.url}/docs`);
  await page.locator('#operations-namespaces-namespaces-list').waitFor();
  return { page, requested, apiCalls, violations };
}

/** Expands GET /namespaces, presses Try it out and Execute; returns the status and body shown. */
async function tryListNamespaces(page: Page): Promise<{ status: string; body: string }> {
  const operation = page.locator('#operations-namespaces-namespaces-list');
  if (!(await operation.locator('.opblock-body').isVisible())) await operation.locator('.opblock-summary').first().click();
  const tryOut = operation.locator('button.try-out__btn');
  if ((await tryOut.textContent())?.trim() === 'Try it out') await tryOut.click();
  // A result of an earlier try is cleared first, so what is read below is this one's.
  const clear = operation.locator('button.btn-clear');
  if (await clear.isVisible()) await clear.click();
  await operation.locator('button.execute').click();
  const live = operation.locator('.live-responses-table .response');
  await live.first().waitFor();
  return {
    status: (await live.first().locator('.response-col_status').innerText()).trim(),
    body: await live.first().locator('.response-col_description').innerText(),
  };
}

describe('/docs in a browser', () => {
  it('renders the operations, tries one without and then with an API key, and stays on loopback', async () => {
    const { page, requested, apiCalls, violations } = await openDocs();
    try {
      await expect.poll(() => page.locator('.opblock-summary-path').allInnerTexts()).toContain('/namespaces');
      const listing = page.locator('#operations-namespaces-namespaces-list .opblock-summary');
      expect(await listing.locator('.opblock-summary-method').innerText()).toBe('GET');
      expect(await page.locator('#operations-connections-connections-list .opblock-summary-path').innerText()).toBe('/{namespace}');
      expect(await page.locator('#operations-connections-connections-get .opblock-summary-path').innerText()).toBe('/{namespace}/{connectionId}');
      expect(await page.locator('.btn.authorize').count()).toBe(1);
      // PUBLIC_URL is this page's origin: the one server offered.
      expect(await page.locator('.servers select option').allInnerTexts()).toEqual([server.url]);
      await page.screenshot({ path: path.join(artifacts, 'docs-page.png'), fullPage: false });

      const anonymous = await tryListNamespaces(page);
      expect(anonymous.status).toBe('401');
      expect(anonymous.body).toContain('unauthorized');

      await page.locator('.btn.authorize').first().click();
      const dialog = page.locator('.modal-ux');
      await dialog.locator('input').first().fill(key);
      await dialog.locator('button.authorize').click();
      await dialog.locator('button.btn-done').click();

      const authorized = await tryListNamespaces(page);
      expect(authorized.status).toBe('200');
      expect(authorized.body).toContain(`"name": "${NS}"`);
      await page.locator('#operations-namespaces-namespaces-list').scrollIntoViewIfNeeded();
      await page.screenshot({ path: path.join(artifacts, 'docs-try-it.png'), fullPage: false });

      // The key was sent as a bearer to the API, and never kept by the page.
      expect(await page.evaluate(() => JSON.stringify({ ...localStorage }))).not.toContain(key);
      expect(requested.length).toBeGreaterThan(4);
      for (const url of requested) {
        if (url.startsWith('data:')) continue;
        expect(new URL(url).hostname).toBe('127.0.0.1');
      }
      expect(apiCalls).toEqual([undefined, `Bearer ${key}`]);
      // More of the UI under the CSP: an operation with path parameters, and the schemas.
      const get = page.locator('#operations-connections-connections-get');
      await get.locator('.opblock-summary').first().click();
      await expect.poll(() => get.locator('.parameters tr[data-param-name]').count()).toBe(2);
      const schema = page.locator('section.models article[data-json-schema-level="0"]').first();
      await schema.locator('button.json-schema-2020-12-expand-deep-button').click();
      await schema.locator('.json-schema-2020-12-property').first().waitFor();
      expect(violations).toEqual([]);
    } finally {
      await page.close();
    }
  });
});

describe('/docs reached at another address than PUBLIC_URL', () => {
  it('offers the page\'s own origin first, so that "Try it out" reaches this server', async () => {
    const port = await freePort();
    const elsewhere = await startTestServer({ PORT: String(port), PUBLIC_URL: `http://localhost:${port}` });
    const page = await browser.newPage();
    try {
      const calls: string[] = [];
      page.on('request', (request) => calls.push(request.url()));
      await page.goto(`http://127.0.0.1:${port}/docs`);
      await page.locator('#operations-namespaces-namespaces-list').waitFor();
      expect(await page.locator('.servers select option').allInnerTexts()).toEqual([`http://127.0.0.1:${port} - the address of this page`, `http://localhost:${port}`]);
      expect((await tryListNamespaces(page)).status).toBe('401');
      expect(calls.filter((url) => new URL(url).pathname === '/namespaces').map((url) => new URL(url).origin)).toEqual([`http://127.0.0.1:${port}`]);
    } finally {
      await page.close();
      await elsewhere.close();
    }
  });
});

describe('/docs over HTTP', () => {
  it('serves the page with a strict CSP, no inline script and no external URL', async () => {
    const response = await server.request('/docs');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/html; charset=utf-8');
    const csp = response.headers.get('content-security-policy') ?? '';
    expect(csp).toContain("default-src 'none'");
    expect(csp).toContain("script-src 'self'");
    expect(csp).toContain("style-src 'self'");
    expect(csp).not.toContain('unsafe-');
    expect(csp).toContain("frame-ancestors 'none'");
    const html = await response.text();
    expect(html).not.toMatch(/https?:\/\//);
    expect(html).not.toMatch(/<script>|<script(?![^>]*\bsrc=)[^>]*>/);
    expect(html).not.toMatch(/\son[a-z]+=/);
  });

  it.each([
    ['/docs/swagger-ui-bundle.js', 'text/javascript; charset=utf-8'],
    ['/docs/swagger-ui.css', 'text/css; charset=utf-8'],
    ['/docs/init.js', 'text/javascript; charset=utf-8'],
    ['/docs/favicon-32x32.png', 'image/png'],
  ])('serves %s as %s, cacheable and revalidated by ETag', async (file, type) => {
    const response = await server.request(file);
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe(type);
    expect(response.headers.get('cache-control')).toBe('public, max-age=3600');
    expect(response.headers.get('x-content-type-options')).toBe('nosniff');
    expect((await response.arrayBuffer()).byteLength).toBeGreaterThan(100);
    const etag = response.headers.get('etag')!;
    expect(etag).toMatch(/^"[\w-]+"$/);
    const again = await server.request(file, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
  });

  it('compresses the bundle for clients that accept gzip', async () => {
    const raw = await rawRequest(server.port, { method: 'GET', target: '/docs/swagger-ui-bundle.js', headers: [['accept-encoding', 'gzip']] });
    expect(raw.status).toBe(200);
    expect(raw.headers['content-encoding']).toEqual(['gzip']);
    const length = Number(raw.headers['content-length']?.[0]);
    expect(length).toBeGreaterThan(100_000);
    expect(length).toBeLessThan(1_000_000);
  });

  it.each([
    '/docs/index.html',
    '/docs/swagger-initializer.js',
    '/docs/package.json',
    '/docs/%2e%2e/package.json',
    '/docs/..%2fpackage.json',
    '/docs/swagger-ui.css.map',
    '/docs/constructor',
    '/docs/__proto__',
  ])('answers 404 to %s (only the listed files are served)', async (target) => {
    const raw = await rawRequest(server.port, { method: 'GET', target });
    expect([404, 400]).toContain(raw.status);
    expect(JSON.parse(raw.body)).toMatchObject({ error: expect.stringMatching(/^(not_found|validation_error)$/) });
  });

  it('answers 405 to other methods', async () => {
    const response = await server.request('/docs', { method: 'POST' });
    expect(response.status).toBe(405);
    expect(await response.json()).toMatchObject({ error: 'method_not_allowed' });
  });
});
